/* pipeline: what happens to every conntrack message, wherever it comes
 * from (the kernel's event and dump sockets, or a recording):
 *
 *   datagram -> ctmsg_parse -> filter_match -> tracker -> output -> collectors
 *
 * It owns the configuration, the tracker and the output, and reads time
 * only through the clock it is given, so that the daemon (the real clocks),
 * replay (the recording's timestamps) and the tests (a capture sink instead
 * of sockets) drive the same code. It opens no netlink socket and keeps no
 * timer: the caller says when a dump begins and ends and when to expire. */
#ifndef NFFLOWD_PIPELINE_H
#define NFFLOWD_PIPELINE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "exporter.h"
#include "timeunit.h"
#include "tracker.h"

#define PIPELINE_MAX_POLLFDS (CONFIG_MAX_COLLECTORS + CONFIG_MAX_COPIES + 1)

/* Reads both clocks into *now. */
typedef void (*pipeline_clock_fn)(void *ctx, struct nf_now *now);

/* The interface (ifIndex) by which a packet to addr (AF_INET or AF_INET6,
 * network order) leaves: a route lookup (routes.h); 0 if unknown. */
typedef uint32_t (*pipeline_ifindex_fn)(void *ctx, uint8_t family, const uint8_t *addr);

struct pipeline_opts {
	pipeline_clock_fn clock;
	void *clock_ctx;
	uint64_t boot_ms; /* Unix epoch ms at which v5 and v9 sysUptime was 0 */
	bool kernel_ts;	  /* DESTROY events carry start times: NEW needs no entry */
	bool foreground;  /* the screen copy exists only in the foreground */
	const struct exporter_sink *capture; /* NULL, or where datagrams go instead of sockets */
	pipeline_ifindex_fn ifindex;	     /* NULL: records carry interface 0 (unknown) */
	void *ifindex_ctx;
};

struct pipeline_stats {
	uint64_t datagrams;    /* event datagrams handled (dumps not counted) */
	uint64_t parse_errors; /* conntrack messages that did not parse */
	uint64_t filtered;     /* messages of connections the filter leaves out */
	uint64_t dumps;	       /* table dumps begun */
	uint64_t dump_errors;  /* dumps that failed or could not start */
	uint64_t overruns;     /* times the kernel dropped events */
};

struct pipeline;
struct copies_fds;

/* Open a pipeline for cfg (taken over: freed by pipeline_close). Returns
 * it, or NULL with a message in err (cfg is then freed too). */
struct pipeline *pipeline_open(struct nf_config *cfg, const struct pipeline_opts *opts, char *err,
			       size_t errlen);

/* Release everything (what is pending is not sent: flush first). */
void pipeline_close(struct pipeline *p);

/* The configuration in force. */
const struct nf_config *pipeline_config(const struct pipeline *p);

/* Where a datagram came from: the event subscription or a table dump. */
enum pipeline_source { PIPELINE_EVENTS, PIPELINE_DUMP };

/* Handle one netlink datagram (events or dump entries). Returns 1 when it
 * ends a dump (NLMSG_DONE, or an error: then *dump_error is the errno),
 * else 0. */
int pipeline_datagram(struct pipeline *p, enum pipeline_source from, const void *buf, size_t len,
		      int *dump_error);

/* A table dump begins; startup is true for the first one. */
void pipeline_dump_begin(struct pipeline *p, bool startup);

/* The dump ended, and every event queued before its end was handled.
 * Returns the number of connections it found ended without an event. */
size_t pipeline_dump_end(struct pipeline *p);

/* The dump failed (or could not start, if it never began). */
void pipeline_dump_abort(struct pipeline *p);

/* True while a dump is running. */
bool pipeline_dumping(const struct pipeline *p);

/* The kernel dropped events: counted. */
void pipeline_overrun(struct pipeline *p);

/* The kernel dropped n events for the event socket (an overrun, counted
 * from the socket's drops): each may have been a connection's end, so n is
 * an upper bound of the flows lost. Reported to every v9 and IPFIX
 * collector (RFC 7011 §4.3) at its next tick, and every minute after. */
void pipeline_events_lost(struct pipeline *p, uint64_t n);

/* Forget unfinished connections older than ttl; returns how many. */
size_t pipeline_expire(struct pipeline *p);

/* Send what is due now, probe collectors that are down. */
void pipeline_tick(struct pipeline *p);

/* Send everything pending now. */
void pipeline_flush(struct pipeline *p);

struct portblock_set;

/* The port blocks of the ruleset now in force (portblock_scan_json): the
 * changes from the previous ones are exported as allocations and
 * de-allocations (RFC 8158 natEvent 16/17, NAT log lines), and fresh's
 * blocks are taken (fresh is left empty). The blocks also decide which
 * connections nat_sessions outside-blocks leaves out. Returns the number
 * of events. */
size_t pipeline_port_blocks(struct pipeline *p, struct portblock_set *fresh);

/* Hand what is staged (datagrams, copy lines) to the kernel: before the
 * loop sleeps. */
void pipeline_push(struct pipeline *p);

/* The monotonic time by which pipeline_tick must run; UINT64_MAX: none. */
uint64_t pipeline_due(const struct pipeline *p);

/* Add a pollfd (POLLOUT) for each collector socket or local copy with
 * something waiting for room; returns how many (at most
 * PIPELINE_MAX_POLLFDS). */
size_t pipeline_pollfds(const struct pipeline *p, struct pollfd *pfd);

/* Apply cfg (taken over) in place of the running configuration: fresh
 * collectors continue the old ones' sequences and take over what waits for
 * them; pending records leave with the old settings first. File copies use
 * the descriptors in fds (may be NULL: they open their paths), which stay
 * the caller's. Returns 0, or -1 with a message in err, cfg freed and
 * everything as it was. */
int pipeline_reload(struct pipeline *p, struct nf_config *cfg, const struct copies_fds *fds,
		    char *err, size_t errlen);

/* Connections found by the start-up dump that only a dump can see end. */
size_t pipeline_pending_snapshots(const struct pipeline *p);

/* Datagrams the collectors dropped or still hold: lost if closed now. */
uint64_t pipeline_lost(const struct pipeline *p);

/* Network collectors open. */
size_t pipeline_collectors(const struct pipeline *p);

/* The pipeline's and the tracker's counters. */
const struct pipeline_stats *pipeline_stats(const struct pipeline *p);
const struct tracker_stats *pipeline_tracker_stats(const struct pipeline *p);

/* Room for every counter with the most collectors and copies. */
#define PIPELINE_STATS_MAX 12288

/* Format every counter, one line per topic; rcvbuf is the event socket's
 * receive buffer, for the netlink line. Returns the length (< len; cut
 * short if len is below PIPELINE_STATS_MAX). */
size_t pipeline_format_stats(const struct pipeline *p, size_t rcvbuf, char *buf, size_t len);

#endif
