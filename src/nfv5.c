#include "nfv5.h"

#include <sys/socket.h>

#include "timeunit.h"
#include "wbuf.h"

/* The header, as in Cisco's NetFlow v5 export format. */
static void put_header(struct wbuf *w, const struct nfv5_header *h, size_t n)
{
	uint64_t now_ms = h->now_ns / NS_PER_MS;

	wbuf_put_u16(w, NFV5_VERSION);
	wbuf_put_u16(w, (uint16_t)n);			      /* count */
	wbuf_put_u32(w, timeunit_uptime(h->boot_ms, now_ms)); /* sysUptime */
	wbuf_put_u32(w, (uint32_t)(h->now_ns / NS_PER_S));    /* unix_secs */
	wbuf_put_u32(w, (uint32_t)(h->now_ns % NS_PER_S));    /* unix_nsecs */
	wbuf_put_u32(w, h->flow_sequence);
	wbuf_put_u8(w, h->engine_type);
	wbuf_put_u8(w, h->engine_id);
	wbuf_put_u16(w, 0); /* sampling_interval: not sampled */
}

/* v5's interface fields are 16 bits: an ifIndex beyond them is unknown (0). */
static uint16_t v5_ifindex(uint32_t ifindex)
{
	return ifindex > UINT16_MAX ? 0 : (uint16_t)ifindex;
}

static void put_record(struct wbuf *w, const struct nfv5_header *h, const struct flow_rec *r)
{
	wbuf_put_bytes(w, r->src, 4);		/* srcaddr */
	wbuf_put_bytes(w, r->dst, 4);		/* dstaddr */
	wbuf_put_u32(w, 0);			/* nexthop */
	wbuf_put_u16(w, v5_ifindex(r->in_if));	/* input: SNMP index of the input interface */
	wbuf_put_u16(w, v5_ifindex(r->out_if)); /* output: SNMP index of the output interface */
	wbuf_put_u32(w, (uint32_t)r->packets);
	wbuf_put_u32(w, (uint32_t)r->bytes);
	wbuf_put_u32(w, timeunit_uptime(h->boot_ms, r->first_ms));
	wbuf_put_u32(w, timeunit_uptime(h->boot_ms, r->last_ms));
	wbuf_put_u16(w, r->sport);
	wbuf_put_u16(w, r->dport);
	wbuf_put_u8(w, 0); /* pad1 */
	wbuf_put_u8(w, 0); /* tcp_flags: conntrack does not keep them */
	wbuf_put_u8(w, r->proto);
	wbuf_put_u8(w, 0);  /* tos */
	wbuf_put_u16(w, 0); /* src_as */
	wbuf_put_u16(w, 0); /* dst_as */
	wbuf_put_u8(w, 0);  /* src_mask */
	wbuf_put_u8(w, 0);  /* dst_mask */
	wbuf_put_u16(w, 0); /* pad2 */
}

static bool fits(const struct flow_rec *r)
{
	return r->family == AF_INET && r->packets <= NFV5_COUNTER_MAX &&
	       r->bytes <= NFV5_COUNTER_MAX;
}

size_t nfv5_encode(uint8_t *buf, size_t cap, const struct nfv5_header *h,
		   const struct flow_rec *recs, size_t n)
{
	struct wbuf w;

	if (n == 0 || n > NFV5_MAX_RECORDS)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!fits(&recs[i]))
			return 0;
	wbuf_init(&w, buf, cap);
	put_header(&w, h, n);
	for (size_t i = 0; i < n; i++)
		put_record(&w, h, &recs[i]);
	return w.overflow ? 0 : w.len;
}

size_t nfv5_records_fit(size_t max_len)
{
	size_t n = max_len < NFV5_HEADER_LEN ? 0 : (max_len - NFV5_HEADER_LEN) / NFV5_RECORD_LEN;

	return n < NFV5_MAX_RECORDS ? n : NFV5_MAX_RECORDS;
}
