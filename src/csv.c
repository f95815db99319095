#include "csv.h"

#include <string.h>

#include "timeunit.h"

/* A bounded text writer: appends while it fits, remembers if anything did
 * not. Hand-written rather than snprintf: a copy line is made for every
 * record, and the format is fixed. */
struct tw {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void put_char(struct tw *w, char c)
{
	if (w->len + 1 >= w->cap) {
		w->overflow = true;
		return;
	}
	w->buf[w->len++] = c;
}

static void put_u64(struct tw *w, uint64_t v)
{
	char digits[20];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		put_char(w, digits[--n]);
}

/* A decimal followed by a comma. */
static void field(struct tw *w, uint64_t v)
{
	put_u64(w, v);
	put_char(w, ',');
}

static void field_ip4(struct tw *w, const uint8_t a[4])
{
	for (int i = 0; i < 4; i++) {
		put_u64(w, a[i]);
		put_char(w, i < 3 ? '.' : ',');
	}
}

size_t csv_format_v5(char *buf, size_t cap, const struct nfv5_header *h, const uint8_t exaddr[4],
		     const struct flow_rec *r)
{
	struct tw w = {.buf = buf, .cap = cap};
	static const char nexthop[] = "0.0.0.0,";

	field(&w, h->now_ns / NS_PER_S);			       /* unix_secs */
	field(&w, h->now_ns % NS_PER_S);			       /* unix_nsecs */
	field(&w, timeunit_uptime(h->boot_ms, h->now_ns / NS_PER_MS)); /* sysuptime */
	field_ip4(&w, exaddr);					       /* exaddr */
	field(&w, r->packets);					       /* dpkts */
	field(&w, r->bytes);					       /* doctets */
	field(&w, timeunit_uptime(h->boot_ms, r->first_ms));	       /* first */
	field(&w, timeunit_uptime(h->boot_ms, r->last_ms));	       /* last */
	field_ip4(&w, r->src);					       /* srcaddr */
	field_ip4(&w, r->dst);					       /* dstaddr */
	for (const char *c = nexthop; *c; c++)			       /* nexthop */
		put_char(&w, *c);
	field(&w, r->in_if > UINT16_MAX ? 0 : r->in_if);   /* input, as v5 sends it */
	field(&w, r->out_if > UINT16_MAX ? 0 : r->out_if); /* output */
	field(&w, r->sport);				   /* srcport */
	field(&w, r->dport);				   /* dstport */
	field(&w, r->proto);				   /* prot */
	put_char(&w, '0');				   /* tos */
	put_char(&w, ',');
	put_char(&w, '0'); /* tcp_flags */
	if (w.overflow || cap == 0)
		return 0;
	buf[w.len] = '\0';
	return w.len;
}
