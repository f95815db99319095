/* pcapnl: netlink datagrams in a pcap file (LINKTYPE_NETLINK, 253), the
 * format Wireshark and tcpdump read for netlink captures: each packet is a
 * 16-byte Linux cooked header (ARPHRD_NETLINK, protocol NETLINK_NETFILTER)
 * followed by the datagram. Pure: it formats and parses bytes; the caller
 * reads and writes the file. */
#ifndef NFFLOWD_PCAPNL_H
#define NFFLOWD_PCAPNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAPNL_FILE_HEADER_LEN	 24
#define PCAPNL_RECORD_HEADER_LEN 16 /* pcap record header */
#define PCAPNL_COOKED_LEN	 16 /* Linux cooked header before the datagram */
#define PCAPNL_SNAPLEN		 262144

/* Write the file header (nanosecond timestamps, little-endian) into
 * out[0..24). */
void pcapnl_file_header(uint8_t out[PCAPNL_FILE_HEADER_LEN]);

/* Write the record header and cooked header of a datagram of len bytes
 * received at ts_ns (Unix epoch ns) into out[0..32). len must not exceed
 * PCAPNL_SNAPLEN - PCAPNL_COOKED_LEN. */
void pcapnl_record_header(uint8_t out[PCAPNL_RECORD_HEADER_LEN + PCAPNL_COOKED_LEN], uint64_t ts_ns,
			  size_t len);

struct pcapnl_reader {
	bool swapped; /* the file's byte order is big-endian */
	bool nanosec; /* timestamps in ns, else µs */
};

/* Check a file header: a pcap magic (either byte order, µs or ns) and
 * LINKTYPE_NETLINK. Returns 0, or -1 with a reason in err. */
int pcapnl_open(struct pcapnl_reader *r, const uint8_t *hdr, size_t len, char *err, size_t errlen);

/* Parse a record header: its time (ns) and how many bytes follow it
 * (captured length). Returns 0, or -1 if the length is above the snap
 * length. */
int pcapnl_record(const struct pcapnl_reader *r, const uint8_t hdr[PCAPNL_RECORD_HEADER_LEN],
		  uint64_t *ts_ns, size_t *caplen);

/* The netlink datagram inside a captured packet: skips the cooked header
 * after checking it says netlink. Returns 0 with *dgram and *dlen set, or -1. */
int pcapnl_payload(const uint8_t *pkt, size_t caplen, const uint8_t **dgram, size_t *dlen);

#endif
