/* manual_example.h: the HTTP download of the original nfflowd's manual, the
 * three records of its NAT triplet as the v5 and CSV tests both use them. */
#ifndef NFFLOWD_MANUAL_EXAMPLE_H
#define NFFLOWD_MANUAL_EXAMPLE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "flow.h"

#define MANUAL_NOW_NS  1248952480737235000ull
#define MANUAL_BOOT_MS (1248952480737ull - 279737ull) /* sysUptime 279737 */

static inline struct flow_rec manual_rec(const char *src, uint16_t sport, const char *dst,
					 uint16_t dport, uint64_t pkts, uint64_t bytes)
{
	struct flow_rec r = {.family = AF_INET,
			     .proto = IPPROTO_TCP,
			     .sport = sport,
			     .dport = dport,
			     .packets = pkts,
			     .bytes = bytes,
			     .first_ms = MANUAL_BOOT_MS + 136315,
			     .last_ms = MANUAL_BOOT_MS + 279737};
	inet_pton(AF_INET, src, r.src);
	inet_pton(AF_INET, dst, r.dst);
	return r;
}

static inline void manual_records(struct flow_rec r[3])
{
	r[0] = manual_rec("10.0.195.106", 62380, "74.125.6.225", 80, 720, 38052);
	r[1] = manual_rec("192.76.7.154", 62380, "74.125.6.225", 80, 720, 38052);
	r[2] = manual_rec("74.125.6.225", 80, "192.76.7.154", 62380, 1432, 2027040);
}

#endif
