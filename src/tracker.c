#include "tracker.h"

#include <string.h>

#include "timeunit.h"

int tracker_init(struct tracker *t, uint64_t ttl_ns, bool kernel_ts, tracker_emit_fn emit,
		 tracker_new_fn on_new, void *ctx)
{
	memset(t, 0, sizeof *t);
	t->table = cttable_new();
	t->ended = cttable_new();
	t->interim = interim_new();
	if (!t->table || !t->ended || !t->interim) {
		tracker_free(t);
		return -1;
	}
	t->max_conns = SIZE_MAX;
	t->ttl_ns = ttl_ns;
	t->kernel_ts = kernel_ts;
	t->emit = emit;
	t->on_new = on_new;
	t->ctx = ctx;
	return 0;
}

void tracker_free(struct tracker *t)
{
	cttable_free(t->table);
	cttable_free(t->ended);
	interim_free(t->interim);
	t->table = t->ended = NULL;
	t->interim = NULL;
}

void tracker_set_active_timeout(struct tracker *t, uint64_t active_ns)
{
	t->active_ns = active_ns;
}

static uint64_t start_of(const struct ct_event *ev, uint64_t fallback_ns)
{
	return (ev->have & CT_HAVE_TS_START) ? ev->start_ns : fallback_ns;
}

static void emit(struct tracker *t, const struct ct_event *ev, uint64_t first_ns, uint64_t last_ns,
		 bool interim)
{
	struct flow_rec recs[FLOW_MAX_PER_CONN];

	if (first_ns > last_ns)
		first_ns = last_ns;
	size_t n = flow_from_conn(ev, first_ns / NS_PER_MS, last_ns / NS_PER_MS, recs);
	t->emit(t->ctx, ev, recs, n, interim);
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* ev's counters less what earlier records of it carried (prev). */
static void subtract(struct ct_event *ev, const struct interim_rec *prev)
{
	ev->cnt_orig.packets = minus(ev->cnt_orig.packets, prev->orig.packets);
	ev->cnt_orig.bytes = minus(ev->cnt_orig.bytes, prev->orig.bytes);
	ev->cnt_reply.packets = minus(ev->cnt_reply.packets, prev->reply.packets);
	ev->cnt_reply.bytes = minus(ev->cnt_reply.bytes, prev->reply.bytes);
}

/* The final records of a connection: after active-timeout records, only
 * what passed since the last of them, which also starts them. */
static void export_conn(struct tracker *t, const struct ct_event *ev, uint64_t key,
			uint64_t first_ns, uint64_t last_ns)
{
	struct interim_rec prev;
	/* Most connections never had an interim record: no lookup for them. */
	bool had = interim_count(t->interim) && interim_find(t->interim, key, &prev);

	if (!(ev->have & CT_HAVE_COUNTERS))
		t->st.no_counters++;
	t->st.exported++;
	if (!had) {
		emit(t, ev, first_ns, last_ns, false);
		return;
	}
	struct ct_event rest = *ev;
	subtract(&rest, &prev);
	emit(t, &rest, prev.last_ns, last_ns, false);
	interim_remove(t->interim, key);
}

/* Remember that records of key carried ev's counters up to now_ns; false
 * (counted) if that cannot be stored. */
static bool remember_interim(struct tracker *t, uint64_t key, const struct ct_event *ev,
			     uint64_t now_ns)
{
	struct interim_rec r = {
	    .key = key, .last_ns = now_ns, .orig = ev->cnt_orig, .reply = ev->cnt_reply};

	switch (interim_put(t->interim, &r)) {
	case INTERIM_STORED:
		return true;
	case INTERIM_FULL:
		t->st.table_full++;
		return false;
	case INTERIM_NOMEM:
		break;
	}
	t->st.oom++;
	return false;
}

/* A dump shows ev open (prev: its interim entry, or NULL): if its last
 * record (or its start) lies more than active_ns back, export what passed
 * since and remember the counters. Unless they can be remembered there is no
 * interim record: the final one then carries everything. */
static void maybe_interim(struct tracker *t, const struct ct_event *ev, uint64_t key,
			  const struct interim_rec *prev, uint64_t first_ns, uint64_t now_ns)
{
	uint64_t since = prev ? prev->last_ns : first_ns;

	if (!(ev->have & CT_HAVE_COUNTERS) || now_ns < since + t->active_ns)
		return;
	if (!remember_interim(t, key, ev, now_ns))
		return;
	struct ct_event delta = *ev;
	if (prev)
		subtract(&delta, prev);
	emit(t, &delta, since, now_ns, true);
	t->st.interim++;
}

/* When a new connection began: the kernel stamps events since Linux 6.14,
 * a NEW's stamp being within a microsecond of the connection's start. */
static uint64_t new_time(const struct ct_event *ev, uint64_t now_ns)
{
	return start_of(ev, (ev->have & CT_HAVE_TS_EVENT) ? ev->event_ns : now_ns);
}

/* key's table entry, created with first_ns if absent and the table holds
 * less than max_conns; NULL (counted) if it cannot be. A new entry counts as
 * seen by the dump running or last run: a dump running may have passed its
 * place, and one that ran before it cannot have shown it. */
static struct ct_entry *table_insert(struct tracker *t, uint64_t key, uint64_t first_ns)
{
	struct ct_entry *e;
	bool created;

	if (cttable_count(t->table) >= t->max_conns && !(e = cttable_find(t->table, key))) {
		t->st.table_full++;
		return NULL;
	}
	e = cttable_insert(t->table, key, first_ns, &created);
	if (!e)
		t->st.oom++;
	else if (created)
		e->gen = t->gen;
	return e;
}

static void remember(struct tracker *t, const struct ct_event *ev, uint64_t now_ns)
{
	table_insert(t, cttable_key(ev), new_time(ev, now_ns));
}

static void finish(struct tracker *t, const struct ct_event *ev, uint64_t now_ns)
{
	uint64_t key = cttable_key(ev);
	uint64_t last = (ev->have & CT_HAVE_TS_STOP) ? ev->stop_ns : now_ns;
	struct ct_entry *e = cttable_find(t->table, key);
	uint64_t first = last;

	if (ev->have & CT_HAVE_TS_START)
		first = ev->start_ns;
	else if (e)
		first = e->first_ns;
	else
		t->st.start_unknown++;
	export_conn(t, ev, key, first, last); /* touches interim alone: e stays valid */
	if (e)
		cttable_remove_entry(t->table, e);
	if (t->dumping) {
		bool created;
		if (!cttable_insert(t->ended, key, now_ns, &created))
			t->st.oom++;
	}
}

/* A dump entry. The start-up dump remembers every connection with a snapshot
 * whose stop_ns is the time its timeout would end it if nothing more passed;
 * later dumps refresh the entries they find. Returns the entry, or NULL. */
static struct ct_entry *snapshot_entry(struct tracker *t, const struct ct_event *ev, uint64_t key,
				       uint64_t now_ns)
{
	struct ct_entry *e;

	if (t->startup_dump)
		e = table_insert(t, key, start_of(ev, now_ns));
	else
		e = cttable_find(t->table, key);
	if (!e)
		return NULL;
	e->gen = t->gen;
	if (!t->startup_dump && e->snap == 0)
		return e;
	struct ct_event snap = *ev;
	snap.stop_ns = now_ns + (uint64_t)ev->timeout * NS_PER_S;
	if (cttable_set_snapshot(t->table, e, &snap) != 0)
		t->st.oom++;
	return e;
}

static void dump_entry(struct tracker *t, const struct ct_event *ev, uint64_t now_ns)
{
	uint64_t key = cttable_key(ev);

	/* Its DESTROY came first (the event socket is read while a dump runs):
	 * already exported, and a stale entry must not make an interim record. */
	if (cttable_count(t->ended) && cttable_find(t->ended, key))
		return;
	struct ct_entry *e = snapshot_entry(t, ev, key, now_ns);
	struct interim_rec prev;
	/* Marked as seen by this dump, whether or not it is due. */
	bool had = interim_count(t->interim) && interim_seen(t->interim, key, &prev);
	if (t->active_ns)
		maybe_interim(t, ev, key, had ? &prev : NULL,
			      start_of(ev, e ? e->first_ns : now_ns), now_ns);
}

void tracker_event(struct tracker *t, const struct ct_event *ev, uint64_t now_ns)
{
	switch (ev->type) {
	case CT_EV_NEW:
		t->st.new_events++;
		if (!t->kernel_ts)
			remember(t, ev, now_ns);
		if (t->on_new)
			t->on_new(t->ctx, ev, new_time(ev, now_ns) / NS_PER_MS);
		break;
	case CT_EV_UPDATE:
		t->st.update_events++;
		if (t->dumping)
			dump_entry(t, ev, now_ns);
		break;
	case CT_EV_DESTROY:
		t->st.destroy_events++;
		finish(t, ev, now_ns);
		break;
	}
}

void tracker_dump_begin(struct tracker *t, bool startup)
{
	t->dumping = true;
	t->startup_dump = startup;
	t->gen++;
	interim_unmark_all(t->interim);
}

struct reconcile_ctx {
	struct tracker *t;
	uint64_t now_ns;
	size_t ended;
};

/* Shown by the dump that ended or the one before (gen: the entry's): one
 * dump's miss is not enough, as the kernel may hold a DESTROY back, to
 * deliver it again, while a dump runs (reliable delivery). interim's marks
 * keep the same rule for its entries. */
static bool shown_lately(const struct tracker *t, uint32_t gen)
{
	return gen + 1 >= t->gen;
}

/* Missed by the last two dumps (shown_lately), other than the start-up
 * one, and without a snapshot: the connection is gone, its DESTROY lost. */
static bool gone_one(struct tracker *t, const struct ct_entry *e)
{
	if (t->startup_dump)
		return false;
	interim_remove(t->interim, e->key);
	t->st.gone_by_dump++;
	return true;
}

static bool reconcile_one(void *ctx, const struct ct_entry *e, const struct ct_event *snap)
{
	struct reconcile_ctx *rc = ctx;

	if (shown_lately(rc->t, e->gen))
		return false;
	if (!snap)
		return gone_one(rc->t, e);
	/* The table sweeps: export_conn may only touch interim. */
	struct ct_event ev = *snap;
	uint64_t last = ev.stop_ns < rc->now_ns ? ev.stop_ns : rc->now_ns;
	ev.type = CT_EV_DESTROY;
	ev.have &= ~(uint32_t)CT_HAVE_TS_STOP;
	export_conn(rc->t, &ev, e->key, start_of(snap, e->first_ns), last);
	rc->t->st.ended_by_dump++;
	rc->ended++;
	return true;
}

static void clear_ended(struct tracker *t)
{
	struct cttable *fresh = cttable_new();

	if (!fresh)
		return; /* keep the old set; it only suppresses duplicates */
	cttable_free(t->ended);
	t->ended = fresh;
}

/* interim_sweep: an entry neither this dump nor the one before showed
 * (marked: one did). Only dumps make entries, and those they made are
 * marked: the others were there before them. */
static bool interim_gone(void *ctx, const struct interim_rec *r, bool marked)
{
	(void)r;
	if (marked)
		return false;
	((struct tracker *)ctx)->st.gone_by_dump++;
	return true;
}

size_t tracker_dump_end(struct tracker *t, uint64_t now_ns)
{
	struct reconcile_ctx rc = {.t = t, .now_ns = now_ns};

	/* The table first: an ended connection's interim entry starts its record. */
	if (cttable_snapshots(t->table) > 0 || (!t->startup_dump && cttable_count(t->table) > 0))
		cttable_sweep(t->table, reconcile_one, &rc);
	if (!t->startup_dump && interim_count(t->interim) > 0)
		interim_sweep(t->interim, interim_gone, t);
	t->dumping = false;
	t->startup_dump = false;
	clear_ended(t);
	return rc.ended;
}

void tracker_dump_abort(struct tracker *t)
{
	/* A failed dump does not count as one that missed anything: it counts
	 * as one that saw every connection (aborts are rare: a sweep is fine). */
	if (!t->startup_dump) {
		cttable_mark_all(t->table, t->gen);
		interim_mark_all(t->interim);
	}
	t->dumping = false;
	t->startup_dump = false;
	clear_ended(t);
}

struct expire_ctx {
	uint64_t cutoff_ns;
};

static bool expire_one(void *ctx, const struct ct_entry *e, const struct ct_event *snap)
{
	(void)snap;
	return e->first_ns < ((struct expire_ctx *)ctx)->cutoff_ns;
}

static bool expire_interim(void *ctx, const struct interim_rec *r, bool marked)
{
	(void)marked;
	return r->last_ns < ((struct expire_ctx *)ctx)->cutoff_ns;
}

void tracker_set_ttl(struct tracker *t, uint64_t ttl_ns)
{
	t->ttl_ns = ttl_ns;
}

void tracker_set_limit(struct tracker *t, size_t max)
{
	t->max_conns = max;
	interim_set_limit(t->interim, max);
}

size_t tracker_expire(struct tracker *t, uint64_t now_ns)
{
	struct expire_ctx c = {.cutoff_ns = now_ns > t->ttl_ns ? now_ns - t->ttl_ns : 0};
	size_t n = cttable_sweep(t->table, expire_one, &c);

	/* An interim entry is refreshed at each record: one older than ttl
	 * belongs to a connection whose end went unseen. */
	interim_sweep(t->interim, expire_interim, &c);
	t->st.expired += n;
	return n;
}

size_t tracker_pending_snapshots(const struct tracker *t)
{
	return cttable_snapshots(t->table);
}
