/* tracker: what nfflowd does with each conntrack message. It remembers what
 * an event alone does not give (start times while kernel timestamps are off,
 * connections found by the start-up dump), turns every finished connection
 * into flow records, reconciles dumps, and forgets entries after ttl. Pure:
 * every time is an argument and records leave through a callback. */
#ifndef NFFLOWD_TRACKER_H
#define NFFLOWD_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cttable.h"
#include "flow.h"
#include "interim.h"

/* Receives the records of one connection (1..3, see flow_from_conn): its
 * end, or with interim an active-timeout record of a connection still open.
 * ev's counters are what the records carry: what passed since the previous
 * record of the same connection. */
typedef void (*tracker_emit_fn)(void *ctx, const struct ct_event *ev, const struct flow_rec *recs,
				size_t n, bool interim);

/* Receives each new connection (conntrack NEW) and when it began, Unix ms. */
typedef void (*tracker_new_fn)(void *ctx, const struct ct_event *ev, uint64_t t_ms);

struct tracker_stats {
	uint64_t new_events;	 /* NEW events */
	uint64_t update_events;	 /* UPDATE events and dump entries */
	uint64_t destroy_events; /* DESTROY events */
	uint64_t exported;	 /* connections turned into records */
	uint64_t ended_by_dump;	 /* connections found ended by a dump (no DESTROY came) */
	uint64_t expired;	 /* entries forgotten after ttl */
	uint64_t start_unknown;	 /* exported without a known start: FIRST = LAST */
	uint64_t no_counters;	 /* exported without counters (accounting was off) */
	uint64_t oom;		 /* entries not stored for lack of memory */
	uint64_t interim;	 /* active-timeout records of open connections */
	uint64_t gone_by_dump;	 /* connections forgotten: a dump no longer showed them */
	uint64_t table_full;	 /* entries not stored: max_connections reached */
};

struct tracker {
	struct cttable *table;
	struct cttable *ended; /* keys destroyed while a dump runs */
	/* Connections with an active-timeout record: when the last one ended
	 * and the counters exported so far. */
	struct interim *interim;
	size_t max_conns;   /* most entries in table, and in interim */
	uint64_t active_ns; /* active_timeout; 0: off */
	bool kernel_ts;	    /* nf_conntrack_timestamp is on: NEW needs no entry */
	uint64_t ttl_ns;
	bool dumping;
	bool startup_dump; /* the dump running is the start-up one */
	uint32_t gen;	   /* generation of the dump running or last run */
	tracker_emit_fn emit;
	tracker_new_fn on_new; /* optional */
	void *ctx;
	struct tracker_stats st;
};

/* Set up t: finished connections go to emit, new ones to on_new (may be
 * NULL), both with ctx. Returns 0, or -1 if out of memory. */
int tracker_init(struct tracker *t, uint64_t ttl_ns, bool kernel_ts, tracker_emit_fn emit,
		 tracker_new_fn on_new, void *ctx);

/* Release what t holds. */
void tracker_free(struct tracker *t);

/* Handle one parsed message received at now_ns (Unix epoch ns). Dump entries
 * come as CT_EV_UPDATE between tracker_dump_begin and tracker_dump_end. */
void tracker_event(struct tracker *t, const struct ct_event *ev, uint64_t now_ns);

/* A table dump starts; startup is true for the first one, whose entries are
 * remembered (with a snapshot) until they end. */
void tracker_dump_begin(struct tracker *t, bool startup);

/* The dump finished (NLMSG_DONE) and every event queued before that has been
 * handled. Connections from the start-up dump that neither this dump nor the
 * one before shows, and whose DESTROY never came, are exported from their
 * last snapshot (ending now, or when their timeout would have ended them if
 * that is earlier). Returns how many. After any other dump, the other
 * entries (of table and interim) that existed when the dump before began
 * and that neither dump showed are forgotten: their connection is gone and
 * its DESTROY was lost. Two dumps, not one: with reliable delivery the
 * kernel may hold a DESTROY back, to deliver it again, while a dump runs. */
size_t tracker_dump_end(struct tracker *t, uint64_t now_ns);

/* The dump failed: forget what it was collecting, keep the table and
 * everything in it. It counts as a dump that saw every connection, never as
 * one that missed any. */
void tracker_dump_abort(struct tracker *t);

/* Export connections open longer than active_ns since their start or their
 * last record as dumps show them: set it (0: off) before dumps run. */
void tracker_set_active_timeout(struct tracker *t, uint64_t active_ns);

/* Forget unfinished connections ttl_ns after they started (a reload). */
void tracker_set_ttl(struct tracker *t, uint64_t ttl_ns);

/* Store at most max entries in the table and as many in interim (after
 * tracker_init: no limit); beyond that a new entry is not stored but counted
 * in table_full. Lowering it forgets nothing. */
void tracker_set_limit(struct tracker *t, size_t max);

/* Forget entries whose connection started more than ttl before now_ns.
 * Returns how many. */
size_t tracker_expire(struct tracker *t, uint64_t now_ns);

/* Number of remembered connections that only a dump can see end. */
size_t tracker_pending_snapshots(const struct tracker *t);

#endif
