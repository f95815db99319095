/* output: everything that leaves nfflowd for a finished connection or a new
 * NAT mapping, fanned out to the collectors (collector.h) that the
 * configuration opens: one per <collector> or <flow_send>, one for the
 * local copies and one for the NAT log. Here the v5 triplets are made ready once for the kinds that
 * take them (IPv4, TCP/UDP/ICMP, split so that no counter is truncated);
 * what each kind then does is its own module's business. */
#ifndef NFFLOWD_OUTPUT_H
#define NFFLOWD_OUTPUT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector.h"
#include "config.h"
#include "flow.h"
#include "portblock.h"
#include "timeunit.h"

/* A v5 record whose counter exceeds 2^32-1 is split into at most this many
 * records (4.4 TB or 4.4 billion packets); beyond that each part carries
 * 2^32-1 and the record is counted as capped. */
#define OUTPUT_SPLIT_MAX 1024

struct output_stats {
	uint64_t v5_skipped_family; /* connections v5 cannot carry: IPv6 */
	uint64_t v5_skipped_proto;  /* protocols other than TCP, UDP, ICMP */
	uint64_t records_split;	    /* extra v5 records from counters above 2^32-1 */
	uint64_t split_capped;	    /* records whose counters exceed OUTPUT_SPLIT_MAX parts */
	uint64_t nat_creates;	    /* NAT create events queued */
	uint64_t block_events;	    /* port block allocations and de-allocations */
};

struct output {
	struct collector
	    col[CONFIG_MAX_COLLECTORS + 2]; /* the configured ones, the copies, the NAT log */
	size_t ncol;
	size_t nnet;	 /* of which network collectors: the first nnet */
	bool triplets;	 /* a collector takes v5 triplets */
	bool nat_events; /* a collector wants NAT create events */
	struct output_stats st;
};

/* Open the collectors and local copies of env->cfg (which must outlive o).
 * Returns 0, or -1 with a message in err and nothing left open. */
int output_open(struct output *o, const struct collector_env *env, char *err, size_t errlen);

/* Fill f's own export flows (one per collector, in order) with the local
 * address and port of each collector socket, so that only nfflowd's own
 * traffic is told apart from others' traffic to the same collector. */
void output_own_flows(const struct output *o, struct filter *f);

/* Close everything o opened (pending records are not sent: flush first). */
void output_close(struct output *o);

/* A collector in fresh that was in old (same kind, name and address)
 * continues old's sequence numbers, counters and state, and takes over the
 * datagrams waiting for it; it knows the port blocks old was told. */
void output_carry_over(struct output *fresh, struct output *old);

/* A connection's records (flow_from_conn, 1..3): at its end, or with
 * interim an active-timeout record of a connection still open. */
void output_conn(struct output *o, const struct ct_event *ev, const struct flow_rec *recs, size_t n,
		 bool interim, const struct nf_now *t);

/* A new connection (conntrack NEW) at Unix epoch ms t_ms: a NAT create event
 * for the collectors that want them, if NAT changed it. */
void output_nat_create(struct output *o, const struct ct_event *ev, uint64_t t_ms,
		       const struct nf_now *t);

/* After a reload: the collectors that were not told the blocks of set in
 * force (new ones, and those that took no NAT events before the reload)
 * get an allocation event for every block, so that they too know them;
 * the local NAT log does not (its lines say when a block was allocated). */
void output_port_blocks_anew(struct output *o, const struct portblock_set *set, uint64_t t_ms,
			     const struct nf_now *t);

/* A port block allocated (alloc) or freed at Unix ms t_ms, for the
 * collectors that take port block events. */
void output_port_block(struct output *o, const struct portblock *b, bool alloc, uint64_t t_ms,
		       const struct nf_now *t);

/* Send everything pending now. */
void output_flush(struct output *o, const struct nf_now *t);

/* Send what is due by t, and what waited for room in the sockets. */
void output_tick(struct output *o, const struct nf_now *t);

/* Hand what is staged for each collector to the kernel (at t); the event
 * loop calls it before it sleeps. */
void output_push(struct output *o, const struct nf_now *t);

/* The monotonic time by which something pending must leave; UINT64_MAX if
 * nothing is pending. */
uint64_t output_due(const struct output *o);

/* Add a pollfd (POLLOUT) for each collector socket or copy with something
 * waiting for room; returns how many (at most one per collector, copy and
 * the NAT log). */
size_t output_pollfds(const struct output *o, struct pollfd *pfd);

/* Datagrams the collectors dropped or still hold (see collector_ops.lost). */
uint64_t output_lost(const struct output *o);

/* Add what the collectors dropped (collector_ops.loss) to *l. */
void output_loss(const struct output *o, struct ipfix_loss *l);

/* Format the counters, one line per topic. Returns the length. */
size_t output_format_stats(const struct output *o, char *buf, size_t len);

#endif
