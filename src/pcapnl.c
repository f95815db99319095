#include "pcapnl.h"

#include <linux/if_arp.h>
#include <linux/netlink.h>
#include <stdio.h>

#include "wbuf.h"

/* The pcap file format (draft-ietf-opsawg-pcap): magic numbers. */
#define MAGIC_USEC	 0xa1b2c3d4u
#define MAGIC_NSEC	 0xa1b23c4du
#define LINKTYPE_NETLINK 253
#define SLL_HOST	 0 /* cooked header packet type: to us */

void pcapnl_file_header(uint8_t out[PCAPNL_FILE_HEADER_LEN])
{
	struct wbuf w;

	wbuf_init(&w, out, PCAPNL_FILE_HEADER_LEN);
	wbuf_put_le32(&w, MAGIC_NSEC);
	wbuf_put_le16(&w, 2); /* version 2.4 */
	wbuf_put_le16(&w, 4);
	wbuf_put_le32(&w, 0); /* reserved (thiszone) */
	wbuf_put_le32(&w, 0); /* reserved (sigfigs) */
	wbuf_put_le32(&w, PCAPNL_SNAPLEN);
	wbuf_put_le32(&w, LINKTYPE_NETLINK);
}

void pcapnl_record_header(uint8_t out[PCAPNL_RECORD_HEADER_LEN + PCAPNL_COOKED_LEN], uint64_t ts_ns,
			  size_t len)
{
	struct wbuf w;
	uint32_t caplen = (uint32_t)(len + PCAPNL_COOKED_LEN);

	wbuf_init(&w, out, PCAPNL_RECORD_HEADER_LEN + PCAPNL_COOKED_LEN);
	wbuf_put_le32(&w, (uint32_t)(ts_ns / 1000000000u));
	wbuf_put_le32(&w, (uint32_t)(ts_ns % 1000000000u));
	wbuf_put_le32(&w, caplen);
	wbuf_put_le32(&w, caplen);
	/* Linux cooked header, in network byte order. */
	wbuf_put_u16(&w, SLL_HOST);
	wbuf_put_u16(&w, ARPHRD_NETLINK);
	wbuf_put_u16(&w, 0); /* link-layer address length */
	wbuf_put_u32(&w, 0); /* link-layer address, 8 bytes */
	wbuf_put_u32(&w, 0);
	wbuf_put_u16(&w, NETLINK_NETFILTER); /* protocol: the netlink family */
}

static uint32_t get32(const uint8_t *p, bool swapped)
{
	if (swapped)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t get16be(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int pcapnl_open(struct pcapnl_reader *r, const uint8_t *hdr, size_t len, char *err, size_t errlen)
{
	if (len < PCAPNL_FILE_HEADER_LEN) {
		snprintf(err, errlen, "too short for a pcap file");
		return -1;
	}
	for (int swapped = 0; swapped < 2; swapped++) {
		uint32_t magic = get32(hdr, swapped);
		if (magic != MAGIC_USEC && magic != MAGIC_NSEC)
			continue;
		r->swapped = swapped;
		r->nanosec = magic == MAGIC_NSEC;
		uint32_t linktype = get32(hdr + 20, swapped) & 0x0fffffffu;
		if (linktype == LINKTYPE_NETLINK)
			return 0;
		snprintf(err, errlen, "link type %u is not netlink (%d)", linktype,
			 LINKTYPE_NETLINK);
		return -1;
	}
	snprintf(err, errlen, "not a pcap file");
	return -1;
}

int pcapnl_record(const struct pcapnl_reader *r, const uint8_t hdr[PCAPNL_RECORD_HEADER_LEN],
		  uint64_t *ts_ns, size_t *caplen)
{
	uint64_t frac = get32(hdr + 4, r->swapped);

	*ts_ns = (uint64_t)get32(hdr, r->swapped) * 1000000000u + (r->nanosec ? frac : frac * 1000);
	*caplen = get32(hdr + 8, r->swapped);
	return *caplen > PCAPNL_SNAPLEN ? -1 : 0;
}

int pcapnl_payload(const uint8_t *pkt, size_t caplen, const uint8_t **dgram, size_t *dlen)
{
	if (caplen < PCAPNL_COOKED_LEN || get16be(pkt + 2) != ARPHRD_NETLINK ||
	    get16be(pkt + 14) != NETLINK_NETFILTER)
		return -1;
	*dgram = pkt + PCAPNL_COOKED_LEN;
	*dlen = caplen - PCAPNL_COOKED_LEN;
	return 0;
}
