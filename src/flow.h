/* flow: turn a finished connection into unidirectional flow records (the
 * original nfflowd's NAT triplet). Pure. */
#ifndef NFFLOWD_FLOW_H
#define NFFLOWD_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctmsg.h"

#define FLOW_MAX_PER_CONN 3

/* Which record of the triplet this is. */
enum flow_role {
	FLOW_ORIG_PRE = 1, /* 1: original direction as the client sent it */
	FLOW_ORIG_POST,	   /* 2: original direction as it left the router (NAT only) */
	FLOW_REPLY,	   /* 3: reply direction as it reached the router */
};

/* One unidirectional flow record. Addresses in network byte order (IPv4 in
 * the first 4 bytes), ports in host order; for ICMP sport is 0 and dport is
 * type * 256 + code. Times are Unix epoch milliseconds. */
struct flow_rec {
	uint8_t family;
	uint8_t proto;
	uint8_t role; /* enum flow_role */
	uint16_t sport;
	uint16_t dport;
	uint8_t src[16];
	uint8_t dst[16];
	uint64_t packets;
	uint64_t bytes;
	uint64_t first_ms;
	uint64_t last_ms;
	uint32_t in_if;	 /* input interface (ifIndex) the record's packets came in by; 0: unknown */
	uint32_t out_if; /* output interface they left by; 0: unknown */
};

/* True if NAT changed the original direction: the reply tuple is not the
 * inverse of the original tuple (SNAT: reply.dst != orig.src; DNAT:
 * reply.src != orig.dst; or a translated port or ICMP identifier). Requires
 * CT_HAVE_REPLY; false without it. */
bool flow_nat_changed(const struct ct_event *ev);

/* Set the interfaces of a connection's records recs[0..n) (from
 * flow_from_conn): client_if is the interface towards the original source,
 * server_if the one towards the original destination after NAT. Records of
 * the original direction come in by client_if and leave by server_if; the
 * reply record the other way round. 0: unknown. */
void flow_set_interfaces(struct flow_rec *recs, size_t n, uint32_t client_if, uint32_t server_if);

/* Build the records of one finished connection into out[0..3): record 1
 * (orig.src -> orig.dst, original counters), record 2 only if NAT changed the
 * original direction (reply.dst -> reply.src, original counters again), and
 * record 3 (reply.src -> reply.dst, reply counters) unless the kernel counted
 * no reply packet (counters present and zero). first_ms/last_ms go into every
 * record. Returns the number of records written (1..3). */
size_t flow_from_conn(const struct ct_event *ev, uint64_t first_ms, uint64_t last_ms,
		      struct flow_rec out[FLOW_MAX_PER_CONN]);

/* The number of records r must be split into so that no record carries more
 * than limit packets or bytes (limit >= 1). 1 when it fits. */
uint64_t flow_split_count(const struct flow_rec *r, uint64_t limit);

/* Part i (0 <= i < n, n from flow_split_count) of r: a copy whose packets and
 * bytes are r's divided into n near-equal shares; the shares add up to r's
 * totals exactly. */
void flow_split_part(const struct flow_rec *r, uint64_t n, uint64_t i, struct flow_rec *part);

#endif
