/* nfv5: the NetFlow version 5 encoder. Pure: the time is an argument. */
#ifndef NFFLOWD_NFV5_H
#define NFFLOWD_NFV5_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define NFV5_VERSION	 5
#define NFV5_HEADER_LEN	 24
#define NFV5_RECORD_LEN	 48
#define NFV5_MAX_RECORDS 30 /* the v5 maximum: 24 + 30 * 48 = 1464 bytes */
#define NFV5_MAX_LEN	 (NFV5_HEADER_LEN + NFV5_MAX_RECORDS * NFV5_RECORD_LEN)
#define NFV5_COUNTER_MAX 0xffffffffu /* dPkts and dOctets are 32 bits wide */

/* What the header of one datagram says. */
struct nfv5_header {
	uint64_t now_ns;	/* export time, Unix epoch ns: unix_secs, unix_nsecs */
	uint64_t boot_ms;	/* Unix epoch ms at which sysUptime was 0 */
	uint32_t flow_sequence; /* flows exported before this datagram */
	uint8_t engine_type;
	uint8_t engine_id;
};

/* How many records a datagram of at most max_len bytes holds: as many as
 * fit, at most NFV5_MAX_RECORDS; 0 if not even one does. */
size_t nfv5_records_fit(size_t max_len);

/* Encode one datagram with the n records recs[0..n) (1 <= n <= 30, IPv4, each
 * counter <= NFV5_COUNTER_MAX) into buf[0..cap). Returns the datagram length,
 * or 0 if n is out of range or cap is too small. */
size_t nfv5_encode(uint8_t *buf, size_t cap, const struct nfv5_header *h,
		   const struct flow_rec *recs, size_t n);

#endif
