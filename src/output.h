/* output: everything that leaves nfflowd for a finished connection or a new
 * NAT mapping: NetFlow v5 triplets (batched, split so that no counter is
 * truncated), v9 and IPFIX records (one per connection, NAT events), the
 * collectors' sockets, and the local copies. */
#ifndef NFFLOWD_OUTPUT_H
#define NFFLOWD_OUTPUT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "copies.h"
#include "exporter.h"
#include "flow.h"
#include "ipfix.h"
#include "nfv5.h"

#define OUTPUT_QUEUE 128 /* v9/IPFIX records held before a flush */

struct output_collector {
	struct exporter ex;
	struct ipfix_state ipfix; /* versions 9 and 10 */
};

struct output_v5_batch {
	struct flow_rec recs[NFV5_MAX_RECORDS];
	size_t n;
	uint64_t due_ns; /* monotonic time by which it must leave */
};

/* A v9/IPFIX record waiting to leave: the connection, copied. */
struct output_conn {
	struct ct_event ev;
	uint64_t first_ms, last_ms;
	uint8_t end_reason; /* flowEndReason; 0 for a NAT create event */
	bool create;	    /* a NAT create event (conntrack NEW) */
};

struct output_stats {
	uint64_t v5_skipped_family; /* connections v5 cannot carry: IPv6 */
	uint64_t v5_skipped_proto;  /* protocols other than TCP, UDP, ICMP */
	uint64_t records_split;	    /* extra v5 records from counters above 2^32-1 */
	uint64_t nat_creates;	    /* NAT create events queued */
};

/* The current time, Unix epoch ns: the clock, or a recording's time. */
typedef uint64_t (*output_clock_fn)(void *ctx);

struct output {
	const struct nf_config *cfg;
	output_clock_fn now;
	void *now_ctx;
	uint64_t boot_ms; /* Unix epoch ms at which v5 and v9 sysUptime was 0 */
	uint8_t exaddr[4];
	struct output_collector col[CONFIG_MAX_COLLECTORS];
	size_t ncol;
	bool v5;	 /* a v5 collector or a local copy wants the triplets */
	bool ipfix;	 /* a v9 or IPFIX collector */
	bool nat_events; /* one of them wants NAT create events */
	struct output_v5_batch batch;
	struct output_conn *queue;
	size_t qlen;
	uint64_t q_due_ns;
	struct copies copies;
	struct output_stats st;
};

/* Open the collectors and local copies of cfg (which must outlive o); now
 * gives the export time of each datagram. Returns 0, or -1 with a message in
 * err and nothing left open. */
int output_open(struct output *o, const struct nf_config *cfg, bool foreground, uint64_t boot_ms,
		output_clock_fn now, void *now_ctx, char *err, size_t errlen);

/* Fill f's own export flows (one per collector, in order) with the local
 * address and port of each collector socket, so that only nfflowd's own
 * traffic is told apart from others' traffic to the same collector. */
void output_own_flows(const struct output *o, struct filter *f);

/* Close everything o opened (pending records are not sent: flush first). */
void output_close(struct output *o);

/* A collector in fresh that was in old (same name, address and version)
 * continues old's sequence numbers, counters and state, and takes over the
 * datagrams waiting for it. */
void output_carry_over(struct output *fresh, struct output *old);

/* A connection's v5 records (flow_from_conn): at its end, or with interim
 * an active-timeout record of a connection still open. */
void output_conn(struct output *o, const struct ct_event *ev, const struct flow_rec *recs, size_t n,
		 bool interim, uint64_t mono_ns);

/* A new connection (conntrack NEW) at Unix epoch ms t_ms: a NAT create event
 * for the v9 and IPFIX collectors that want them, if NAT changed it. */
void output_nat_create(struct output *o, const struct ct_event *ev, uint64_t t_ms,
		       uint64_t mono_ns);

/* Send everything pending now (mono_ns: the monotonic time). */
void output_flush(struct output *o, uint64_t mono_ns);

/* Send what is due by mono_ns, and what waited for room in the sockets. */
void output_tick(struct output *o, uint64_t mono_ns);

/* Hand the datagrams staged for each collector to the kernel (see
 * exporter_push); the event loop calls it before it sleeps. */
void output_push(struct output *o);

/* The monotonic time by which something pending must leave; UINT64_MAX if
 * nothing is pending. */
uint64_t output_due(const struct output *o);

/* Add a pollfd (POLLOUT) for each collector socket with datagrams waiting;
 * returns how many. */
size_t output_pollfds(const struct output *o, struct pollfd *pfd);

/* Format the counters, one line per topic. Returns the length. */
size_t output_format_stats(const struct output *o, char *buf, size_t len);

#endif
