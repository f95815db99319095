#include "tracker.h"

#include <string.h>

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

int tracker_init(struct tracker *t, uint64_t ttl_ns, bool kernel_ts, tracker_emit_fn emit,
		 tracker_new_fn on_new, void *ctx)
{
	memset(t, 0, sizeof *t);
	t->table = cttable_new();
	t->ended = cttable_new();
	if (!t->table || !t->ended) {
		tracker_free(t);
		return -1;
	}
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
	t->table = t->ended = NULL;
}

static uint64_t start_of(const struct ct_event *ev, uint64_t fallback_ns)
{
	return (ev->have & CT_HAVE_TS_START) ? ev->start_ns : fallback_ns;
}

static void export_conn(struct tracker *t, const struct ct_event *ev, uint64_t first_ns,
			uint64_t last_ns)
{
	struct flow_rec recs[FLOW_MAX_PER_CONN];

	if (first_ns > last_ns)
		first_ns = last_ns;
	if (!(ev->have & CT_HAVE_COUNTERS))
		t->st.no_counters++;
	size_t n = flow_from_conn(ev, first_ns / NS_PER_MS, last_ns / NS_PER_MS, recs);
	t->st.exported++;
	t->emit(t->ctx, ev, recs, n);
}

/* When a new connection began: the kernel stamps events since Linux 6.14,
 * a NEW's stamp being within a microsecond of the connection's start. */
static uint64_t new_time(const struct ct_event *ev, uint64_t now_ns)
{
	return start_of(ev, (ev->have & CT_HAVE_TS_EVENT) ? ev->event_ns : now_ns);
}

static void remember(struct tracker *t, const struct ct_event *ev, uint64_t now_ns)
{
	bool created;

	if (!cttable_insert(t->table, cttable_key(ev), new_time(ev, now_ns), &created))
		t->st.oom++;
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
	export_conn(t, ev, first, last);
	if (e)
		cttable_remove(t->table, key);
	if (t->dumping) {
		bool created;
		if (!cttable_insert(t->ended, key, now_ns, &created))
			t->st.oom++;
	}
}

/* A dump entry. The start-up dump remembers every connection with a snapshot
 * whose stop_ns is the time its timeout would end it if nothing more passed;
 * later dumps refresh the entries they find. */
static void dump_entry(struct tracker *t, const struct ct_event *ev, uint64_t now_ns)
{
	uint64_t key = cttable_key(ev);
	struct ct_entry *e;
	bool created;

	if (t->startup_dump) {
		if (cttable_find(t->ended, key))
			return; /* its DESTROY came first: already exported */
		e = cttable_insert(t->table, key, start_of(ev, now_ns), &created);
	} else {
		e = cttable_find(t->table, key);
		if (!e || e->snap == 0) {
			if (e)
				e->gen = t->gen;
			return;
		}
	}
	if (!e) {
		t->st.oom++;
		return;
	}
	e->gen = t->gen;
	struct ct_event snap = *ev;
	snap.stop_ns = now_ns + (uint64_t)ev->timeout * NS_PER_S;
	if (cttable_set_snapshot(t->table, e, &snap) != 0)
		t->st.oom++;
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
}

struct reconcile_ctx {
	struct tracker *t;
	uint64_t now_ns;
	size_t ended;
};

static bool reconcile_one(void *ctx, const struct ct_entry *e, const struct ct_event *snap)
{
	struct reconcile_ctx *rc = ctx;

	if (!snap || e->gen == rc->t->gen)
		return false;
	struct ct_event ev = *snap;
	uint64_t last = ev.stop_ns < rc->now_ns ? ev.stop_ns : rc->now_ns;
	ev.type = CT_EV_DESTROY;
	ev.have &= ~(uint32_t)CT_HAVE_TS_STOP;
	export_conn(rc->t, &ev, start_of(snap, e->first_ns), last);
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

size_t tracker_dump_end(struct tracker *t, uint64_t now_ns)
{
	struct reconcile_ctx rc = {.t = t, .now_ns = now_ns};

	if (cttable_snapshots(t->table) > 0)
		cttable_sweep(t->table, reconcile_one, &rc);
	t->dumping = false;
	t->startup_dump = false;
	clear_ended(t);
	return rc.ended;
}

void tracker_dump_abort(struct tracker *t)
{
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

size_t tracker_expire(struct tracker *t, uint64_t now_ns)
{
	struct expire_ctx c = {.cutoff_ns = now_ns > t->ttl_ns ? now_ns - t->ttl_ns : 0};
	size_t n = cttable_sweep(t->table, expire_one, &c);

	t->st.expired += n;
	return n;
}

size_t tracker_pending_snapshots(const struct tracker *t)
{
	return cttable_snapshots(t->table);
}
