#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "tracker.h"

#define S  1000000000ull
#define T0 (1700000000ull * S) /* the injected clock starts here */

struct sink {
	size_t conns, recs, interims;
	uint64_t sum_opkts, sum_obytes, sum_rpkts, sum_rbytes;
	struct flow_rec last[FLOW_MAX_PER_CONN];
	uint32_t last_id;
};

static void collect(void *ctx, const struct ct_event *ev, const struct flow_rec *recs, size_t n,
		    bool interim)
{
	struct sink *s = ctx;

	s->interims += interim;
	s->sum_opkts += ev->cnt_orig.packets;
	s->sum_obytes += ev->cnt_orig.bytes;
	s->sum_rpkts += ev->cnt_reply.packets;
	s->sum_rbytes += ev->cnt_reply.bytes;
	s->conns++;
	s->recs += n;
	s->last_id = ev->id;
	memcpy(s->last, recs, n * sizeof *recs);
}

static struct ct_event conn(enum ct_evtype type, uint32_t id, uint16_t sport)
{
	struct ct_event ev = {.type = type, .family = AF_INET, .id = id};

	inet_pton(AF_INET, "10.77.1.2", ev.orig.src);
	inet_pton(AF_INET, "203.0.113.2", ev.orig.dst);
	ev.orig.sport = sport;
	ev.orig.dport = 80;
	ev.orig.proto = IPPROTO_TCP;
	ev.reply = ev.orig;
	inet_pton(AF_INET, "203.0.113.2", ev.reply.src);
	inet_pton(AF_INET, "203.0.113.1", ev.reply.dst);
	ev.reply.sport = 80;
	ev.reply.dport = sport;
	ev.have = CT_HAVE_REPLY | CT_HAVE_ID;
	return ev;
}

static struct ct_event destroy(uint32_t id, uint16_t sport)
{
	struct ct_event ev = conn(CT_EV_DESTROY, id, sport);

	ev.have |= CT_HAVE_COUNTERS;
	ev.cnt_orig = (struct ct_counters){10, 1000};
	ev.cnt_reply = (struct ct_counters){20, 30000};
	return ev;
}

/* Timestamps off: FIRST comes from when nfflowd saw NEW. */
static void test_without_kernel_timestamps(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, false, collect, NULL, &s) == 0);
	struct ct_event ev = conn(CT_EV_NEW, 1, 1000);
	tracker_event(&t, &ev, T0);
	CHECK_EQ_U64(cttable_count(t.table), 1);
	ev = destroy(1, 1000);
	tracker_event(&t, &ev, T0 + 5 * S);
	CHECK_EQ_U64(s.conns, 1);
	CHECK_EQ_U64(s.recs, 3);
	CHECK_EQ_U64(s.last[0].first_ms, T0 / 1000000);
	CHECK_EQ_U64(s.last[0].last_ms, (T0 + 5 * S) / 1000000);
	CHECK_EQ_U64(s.last[2].packets, 20);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	/* A DESTROY nothing announced: exported, its start unknown. */
	ev = destroy(2, 1001);
	tracker_event(&t, &ev, T0 + 6 * S);
	CHECK_EQ_U64(s.conns, 2);
	CHECK_EQ_U64(t.st.start_unknown, 1);
	CHECK_EQ_U64(s.last[0].first_ms, s.last[0].last_ms);
	tracker_free(&t);
}

/* Timestamps on: nothing is remembered, the kernel's times are used. */
static void test_with_kernel_timestamps(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, true, collect, NULL, &s) == 0);
	struct ct_event ev = conn(CT_EV_NEW, 1, 1000);
	tracker_event(&t, &ev, T0);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	ev = destroy(1, 1000);
	ev.have |= CT_HAVE_TS_START | CT_HAVE_TS_STOP;
	ev.start_ns = T0 - 3 * S + 123456789;
	ev.stop_ns = T0 + 7 * S;
	tracker_event(&t, &ev, T0 + 9 * S);
	CHECK_EQ_U64(s.last[1].first_ms, (T0 - 3 * S + 123456789) / 1000000);
	CHECK_EQ_U64(s.last[1].last_ms, (T0 + 7 * S) / 1000000);
	CHECK_EQ_U64(t.st.start_unknown, 0);
	tracker_free(&t);
}

/* A connection open at start that ends without an event (it was created
 * while nobody listened) is exported from its last snapshot once two dumps
 * in a row no longer show it. */
static void test_startup_dump_reconcile(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, true, collect, NULL, &s) == 0);
	tracker_dump_begin(&t, true);
	struct ct_event a = conn(CT_EV_UPDATE, 1, 1000), b = conn(CT_EV_UPDATE, 2, 1001);
	a.have |= CT_HAVE_COUNTERS | CT_HAVE_TS_START | CT_HAVE_TIMEOUT;
	a.start_ns = T0 - 100 * S;
	a.timeout = 120;
	a.cnt_orig = (struct ct_counters){5, 500};
	a.cnt_reply = (struct ct_counters){6, 600};
	b.have |= CT_HAVE_TIMEOUT;
	b.timeout = 30;
	tracker_event(&t, &a, T0);
	tracker_event(&t, &b, T0);
	CHECK_EQ_U64(tracker_dump_end(&t, T0), 0);
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 2);

	/* Its DESTROY does come for b. */
	struct ct_event bd = destroy(2, 1001);
	tracker_event(&t, &bd, T0 + 1 * S);
	CHECK_EQ_U64(s.conns, 1);
	CHECK_EQ_U64(s.last[0].first_ms, T0 / 1000000); /* first seen by the dump */
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 1);

	/* A refreshed snapshot, then two dumps without a: the first keeps it
	 * (its DESTROY may still come), the second exports it. */
	tracker_dump_begin(&t, false);
	a.cnt_orig = (struct ct_counters){7, 700};
	tracker_event(&t, &a, T0 + 10 * S);
	CHECK_EQ_U64(tracker_dump_end(&t, T0 + 10 * S), 0);
	tracker_dump_begin(&t, false);
	CHECK_EQ_U64(tracker_dump_end(&t, T0 + 200 * S), 0);
	CHECK_EQ_U64(s.conns, 1);
	CHECK_EQ_U64(t.st.ended_by_dump, 0);
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 1);
	tracker_dump_begin(&t, false);
	CHECK_EQ_U64(tracker_dump_end(&t, T0 + 300 * S), 1);
	CHECK_EQ_U64(s.conns, 2);
	CHECK_EQ_U64(s.last_id, 1);
	CHECK_EQ_U64(s.last[0].packets, 7);
	CHECK_EQ_U64(s.last[0].first_ms, (T0 - 100 * S) / 1000000);
	/* Its end: the last dump that showed it plus the timeout it had left
	 * (earlier than either dump that missed it). */
	CHECK_EQ_U64(s.last[0].last_ms, (T0 + 130 * S) / 1000000);
	CHECK_EQ_U64(t.st.ended_by_dump, 1);
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 0);
	tracker_free(&t);
}

/* A DESTROY handled before the start-up dump reaches the same connection
 * must not bring it back as open. */
static void test_destroy_during_startup_dump(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, true, collect, NULL, &s) == 0);
	tracker_dump_begin(&t, true);
	struct ct_event d = destroy(5, 5000), u = conn(CT_EV_UPDATE, 5, 5000);
	tracker_event(&t, &d, T0);
	tracker_event(&t, &u, T0);
	tracker_dump_end(&t, T0);
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 0);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	tracker_dump_begin(&t, false);
	CHECK_EQ_U64(tracker_dump_end(&t, T0 + S), 0);
	CHECK_EQ_U64(s.conns, 1);
	tracker_free(&t);
}

/* Unfinished connections are forgotten after ttl, measured by the injected
 * clock; finished ones never linger. */
static void test_ttl(void)
{
	struct tracker t;
	struct sink s = {0};
	uint64_t ttl = 3600 * S;

	CHECK(tracker_init(&t, ttl, false, collect, NULL, &s) == 0);
	for (uint32_t i = 1; i <= 100; i++) {
		struct ct_event ev = conn(CT_EV_NEW, i, (uint16_t)(1000 + i));
		tracker_event(&t, &ev, T0 + i * S);
	}
	CHECK_EQ_U64(tracker_expire(&t, T0 + ttl), 0);
	CHECK_EQ_U64(tracker_expire(&t, T0 + ttl + 50 * S + 1), 50);
	CHECK_EQ_U64(cttable_count(t.table), 50);
	CHECK_EQ_U64(t.st.expired, 50);
	CHECK_EQ_U64(tracker_expire(&t, T0 + ttl + 101 * S), 50);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	CHECK_EQ_U64(s.conns, 0); /* forgotten, not exported */
	tracker_free(&t);
}

static void dump_at(struct tracker *t, struct ct_event *ev, uint64_t now)
{
	tracker_dump_begin(t, false);
	tracker_event(t, ev, now);
	tracker_dump_end(t, now);
}

/* active_timeout: a connection open for several timeouts gets a record per
 * timeout with what passed since the previous one; the records add up to
 * the kernel's totals. */
static void test_active_timeout(void)
{
	struct tracker t;
	struct sink s = {0};
	uint64_t T = 60 * S;

	CHECK(tracker_init(&t, 604800 * S, true, collect, NULL, &s) == 0);
	tracker_set_active_timeout(&t, T);
	struct ct_event u = conn(CT_EV_UPDATE, 7, 7000);
	u.have |= CT_HAVE_COUNTERS | CT_HAVE_TS_START;
	u.start_ns = T0;
	u.cnt_orig = (struct ct_counters){10, 1000};
	u.cnt_reply = (struct ct_counters){20, 20000};
	dump_at(&t, &u, T0 + T - 1); /* not yet */
	CHECK_EQ_U64(s.conns, 0);
	u.cnt_orig = (struct ct_counters){15, 1500};
	dump_at(&t, &u, T0 + T + 5 * S);
	CHECK_EQ_U64(s.interims, 1);
	CHECK_EQ_U64(s.last[0].packets, 15);
	CHECK_EQ_U64(s.last[0].first_ms, T0 / 1000000);
	CHECK_EQ_U64(s.last[0].last_ms, (T0 + T + 5 * S) / 1000000);
	u.cnt_orig = (struct ct_counters){40, 4000};
	u.cnt_reply = (struct ct_counters){50, 50000};
	dump_at(&t, &u, T0 + T + 30 * S); /* less than T since the last record */
	CHECK_EQ_U64(s.interims, 1);
	dump_at(&t, &u, T0 + 2 * T + 6 * S);
	CHECK_EQ_U64(s.interims, 2);
	CHECK_EQ_U64(s.last[0].packets, 25); /* 40 - 15 */
	CHECK_EQ_U64(s.last[2].bytes, 30000);
	CHECK_EQ_U64(s.last[0].first_ms, (T0 + T + 5 * S) / 1000000);
	struct ct_event d = destroy(7, 7000);
	d.have |= CT_HAVE_TS_START | CT_HAVE_TS_STOP;
	d.start_ns = T0;
	d.stop_ns = T0 + 2 * T + 20 * S;
	d.cnt_orig = (struct ct_counters){41, 4100};
	d.cnt_reply = (struct ct_counters){52, 52000};
	tracker_event(&t, &d, T0 + 2 * T + 20 * S);
	CHECK_EQ_U64(s.conns, 3);
	CHECK_EQ_U64(s.interims, 2);
	CHECK_EQ_U64(s.last[0].packets, 1);
	CHECK_EQ_U64(s.last[0].first_ms, (T0 + 2 * T + 6 * S) / 1000000);
	CHECK_EQ_U64(s.sum_opkts, 41);
	CHECK_EQ_U64(s.sum_obytes, 4100);
	CHECK_EQ_U64(s.sum_rpkts, 52);
	CHECK_EQ_U64(s.sum_rbytes, 52000);
	CHECK_EQ_U64(interim_count(t.interim), 0);
	CHECK_EQ_U64(t.st.interim, 2);
	tracker_free(&t);
}

/* A dump at now showing evs[0..n) (NULL entries left out). */
static size_t dump_of(struct tracker *t, struct ct_event *const *evs, size_t n, uint64_t now)
{
	tracker_dump_begin(t, false);
	for (size_t i = 0; i < n; i++) {
		if (evs[i])
			tracker_event(t, evs[i], now);
	}
	return tracker_dump_end(t, now);
}

/* ev as a dump shows it: open, with counters (and its kernel start). */
static struct ct_event open_conn(uint32_t id, uint16_t sport, uint64_t pkts, bool ts)
{
	struct ct_event ev = conn(CT_EV_UPDATE, id, sport);

	ev.have |= CT_HAVE_COUNTERS | (ts ? CT_HAVE_TS_START : 0);
	ev.start_ns = T0;
	ev.cnt_orig = (struct ct_counters){pkts, pkts * 100};
	ev.cnt_reply = (struct ct_counters){pkts, pkts * 1000};
	return ev;
}

/* Whether the table holds ev's connection. */
static bool in_table(const struct tracker *t, const struct ct_event *ev)
{
	return cttable_find(t->table, cttable_key(ev)) != NULL;
}

/* Whether interim holds ev's connection. */
static bool in_interim(const struct tracker *t, const struct ct_event *ev)
{
	struct interim_rec r;

	return interim_find(t->interim, cttable_key(ev), &r);
}

/* Timestamps off: a remembered NEW is forgotten (its DESTROY was lost) only
 * when two dumps in a row no longer show it: with reliable event delivery
 * the kernel may hold a DESTROY back while a dump runs, so one dump missing
 * it proves nothing. Those the dumps show stay. */
static void test_gone_without_kernel_timestamps(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, false, collect, NULL, &s) == 0);
	struct ct_event a = conn(CT_EV_NEW, 1, 1000), b = conn(CT_EV_NEW, 2, 1001);
	tracker_event(&t, &a, T0);
	tracker_event(&t, &b, T0);
	struct ct_event ua = open_conn(1, 1000, 5, false);
	CHECK_EQ_U64(dump_of(&t, (struct ct_event *[]){&ua}, 1, T0 + 10 * S), 0);
	CHECK_EQ_U64(t.st.gone_by_dump, 0); /* b missed once: kept */
	CHECK(in_table(&t, &b));
	CHECK_EQ_U64(dump_of(&t, (struct ct_event *[]){&ua}, 1, T0 + 20 * S), 0);
	CHECK_EQ_U64(t.st.gone_by_dump, 1); /* missed twice in a row: gone */
	CHECK(!in_table(&t, &b));
	CHECK(in_table(&t, &a));
	CHECK_EQ_U64(cttable_count(t.table), 1);
	CHECK_EQ_U64(s.conns, 0); /* forgotten, not exported */
	struct ct_event da = destroy(1, 1000);
	tracker_event(&t, &da, T0 + 30 * S);
	CHECK_EQ_U64(s.last[0].first_ms, T0 / 1000000); /* a kept its start */
	CHECK_EQ_U64(t.st.start_unknown, 0);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	/* b's DESTROY, should it come after all: exported, its start unknown. */
	struct ct_event db = destroy(2, 1001);
	tracker_event(&t, &db, T0 + 31 * S);
	CHECK_EQ_U64(s.conns, 2);
	CHECK_EQ_U64(t.st.start_unknown, 1);
	CHECK_EQ_U64(t.st.gone_by_dump, 1);
	tracker_free(&t);
}

/* Missed by one dump and shown again by the next: nothing is forgotten and
 * what was remembered is intact, the table entry's start and the interim
 * entry's counters and time. Dumps that miss and show a connection by turns
 * never forget it. */
static void test_gone_missed_once(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, false, collect, NULL, &s) == 0);
	tracker_set_active_timeout(&t, 60 * S);
	struct ct_event np = conn(CT_EV_NEW, 12, 1012), nq = conn(CT_EV_NEW, 13, 1013);
	tracker_event(&t, &np, T0);
	tracker_event(&t, &nq, T0 + S);
	/* p gets interim records; q, shown without counters, only a table entry. */
	struct ct_event p = open_conn(12, 1012, 10, false), q = conn(CT_EV_UPDATE, 13, 1013);
	struct ct_event *both[] = {&p, &q};
	dump_of(&t, both, 2, T0 + 61 * S);
	CHECK_EQ_U64(s.interims, 1);
	dump_of(&t, NULL, 0, T0 + 70 * S); /* missed once */
	CHECK(in_table(&t, &p) && in_interim(&t, &p));
	CHECK(in_table(&t, &q));
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	p.cnt_orig.packets = 12;
	dump_of(&t, both, 2, T0 + 80 * S); /* shown again, p not due */
	dump_of(&t, NULL, 0, T0 + 90 * S); /* missed once more */
	CHECK(in_table(&t, &p) && in_interim(&t, &p));
	CHECK(in_table(&t, &q));
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	CHECK_EQ_U64(s.interims, 1);
	/* p's next record: what passed since its last one, from its end on. */
	p = open_conn(12, 1012, 30, false);
	dump_of(&t, both, 2, T0 + 125 * S);
	CHECK_EQ_U64(s.interims, 2);
	CHECK_EQ_U64(s.last_id, 12);
	CHECK_EQ_U64(s.last[0].packets, 20);  /* 30 - 10 */
	CHECK_EQ_U64(s.last[2].bytes, 20000); /* 30000 - 10000 */
	CHECK_EQ_U64(s.last[0].first_ms, (T0 + 61 * S) / 1000000);
	CHECK_EQ_U64(s.last[0].last_ms, (T0 + 125 * S) / 1000000);
	/* Their ends: q from its NEW, p since its last record. */
	struct ct_event dq = destroy(13, 1013), dp = open_conn(12, 1012, 41, false);
	dp.type = CT_EV_DESTROY;
	tracker_event(&t, &dq, T0 + 130 * S);
	CHECK_EQ_U64(s.last_id, 13);
	CHECK_EQ_U64(s.last[0].first_ms, (T0 + S) / 1000000);
	tracker_event(&t, &dp, T0 + 131 * S);
	CHECK_EQ_U64(s.last_id, 12);
	CHECK_EQ_U64(s.last[0].packets, 11); /* 41 - 30 */
	CHECK_EQ_U64(s.last[0].first_ms, (T0 + 125 * S) / 1000000);
	CHECK_EQ_U64(t.st.start_unknown, 0);
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	CHECK_EQ_U64(interim_count(t.interim), 0);
	tracker_free(&t);
}

/* Missed by two dumps in a row: the connection's table entry and interim
 * entry both go, counted once, nothing exported. Its DESTROY, should it come
 * after all, is exported whole (nothing subtracted), its start unknown. */
static void test_gone_missed_twice(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, false, collect, NULL, &s) == 0);
	tracker_set_active_timeout(&t, 60 * S);
	struct ct_event n = conn(CT_EV_NEW, 14, 1014), u = open_conn(14, 1014, 10, false);
	tracker_event(&t, &n, T0);
	dump_of(&t, (struct ct_event *[]){&u}, 1, T0 + 61 * S);
	CHECK_EQ_U64(s.interims, 1);
	CHECK_EQ_U64(dump_of(&t, NULL, 0, T0 + 70 * S), 0);
	CHECK(in_table(&t, &u) && in_interim(&t, &u));
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	CHECK_EQ_U64(dump_of(&t, NULL, 0, T0 + 80 * S), 0);
	CHECK(!in_table(&t, &u));
	CHECK(!in_interim(&t, &u));
	CHECK_EQ_U64(t.st.gone_by_dump, 1);
	CHECK_EQ_U64(t.st.ended_by_dump, 0);
	CHECK_EQ_U64(s.conns, 1); /* the interim record only */
	dump_of(&t, NULL, 0, T0 + 90 * S);
	CHECK_EQ_U64(t.st.gone_by_dump, 1);
	struct ct_event d = open_conn(14, 1014, 25, false);
	d.type = CT_EV_DESTROY;
	tracker_event(&t, &d, T0 + 95 * S);
	CHECK_EQ_U64(s.conns, 2);
	CHECK_EQ_U64(s.last[0].packets, 25);
	CHECK_EQ_U64(t.st.start_unknown, 1);
	tracker_free(&t);
}

/* A NEW handled while a dump runs may come after the dump passed its place:
 * that dump counts as having shown it, so the next dump without it is its
 * first miss and the one after that forgets it. A NEW whose event time lies
 * before the dump began counts the same. */
static void test_gone_created_during_dump(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, false, collect, NULL, &s) == 0);
	dump_of(&t, NULL, 0, T0 - 10 * S);
	tracker_dump_begin(&t, false);
	struct ct_event c = conn(CT_EV_NEW, 3, 1003), d = conn(CT_EV_NEW, 4, 1004);
	d.have |= CT_HAVE_TS_EVENT;
	d.event_ns = T0 - 5 * S;
	tracker_event(&t, &c, T0 + S);
	tracker_event(&t, &d, T0 + S);
	CHECK_EQ_U64(tracker_dump_end(&t, T0 + 2 * S), 0);
	CHECK_EQ_U64(cttable_count(t.table), 2);
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	dump_of(&t, NULL, 0, T0 + 10 * S);
	CHECK_EQ_U64(cttable_count(t.table), 2);
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	dump_of(&t, NULL, 0, T0 + 20 * S);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	CHECK_EQ_U64(t.st.gone_by_dump, 2);
	tracker_free(&t);
}

/* A NEW handled between two dumps: no dump could show it yet, so the next
 * dump without it is its first miss, and only the one after forgets it. */
static void test_gone_created_between_dumps(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, false, collect, NULL, &s) == 0);
	dump_of(&t, NULL, 0, T0);
	dump_of(&t, NULL, 0, T0 + S);
	struct ct_event c = conn(CT_EV_NEW, 15, 1015);
	tracker_event(&t, &c, T0 + 2 * S);
	dump_of(&t, NULL, 0, T0 + 10 * S);
	CHECK(in_table(&t, &c));
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	dump_of(&t, NULL, 0, T0 + 20 * S);
	CHECK(!in_table(&t, &c));
	CHECK_EQ_U64(t.st.gone_by_dump, 1);
	tracker_free(&t);
}

/* An aborted dump forgets nothing, neither in the table nor in interim, and
 * counts as a dump that saw every connection: it can never be one of the two
 * dumps in a row that must miss a connection before it is forgotten (a
 * failed dump proves nothing about what is gone). */
static void test_gone_aborted_dump(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, false, collect, NULL, &s) == 0);
	tracker_set_active_timeout(&t, 60 * S);
	/* a and c: not shown by the aborted dump; b: shown by it before it
	 * failed. All three count as seen by it. */
	struct ct_event na = conn(CT_EV_NEW, 5, 1005), nb = conn(CT_EV_NEW, 16, 1016),
			nc = conn(CT_EV_NEW, 17, 1017);
	struct ct_event a = open_conn(5, 1005, 10, false), b = open_conn(16, 1016, 10, false),
			c = open_conn(17, 1017, 10, false);
	tracker_event(&t, &na, T0);
	tracker_event(&t, &nb, T0);
	tracker_event(&t, &nc, T0);
	dump_of(&t, (struct ct_event *[]){&a, &b, &c}, 3, T0 + 61 * S);
	CHECK_EQ_U64(s.interims, 3);
	CHECK_EQ_U64(interim_count(t.interim), 3);
	tracker_dump_begin(&t, false);
	tracker_event(&t, &b, T0 + 62 * S);
	tracker_dump_abort(&t);
	CHECK_EQ_U64(cttable_count(t.table), 3);
	CHECK_EQ_U64(interim_count(t.interim), 3);
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	/* The aborted dump saw them all: a dump showing only c is the first
	 * miss of a and b, and forgets nothing. */
	dump_of(&t, (struct ct_event *[]){&c}, 1, T0 + 70 * S);
	CHECK(in_table(&t, &a) && in_interim(&t, &a));
	CHECK(in_table(&t, &b) && in_interim(&t, &b));
	CHECK(in_table(&t, &c) && in_interim(&t, &c));
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	/* One without any: a's and b's second miss, c's first. */
	dump_of(&t, NULL, 0, T0 + 80 * S);
	CHECK(!in_table(&t, &a) && !in_interim(&t, &a));
	CHECK(!in_table(&t, &b) && !in_interim(&t, &b));
	CHECK(in_table(&t, &c) && in_interim(&t, &c));
	CHECK_EQ_U64(t.st.gone_by_dump, 2);
	/* An aborted dump between c's misses: it saw c, nothing is forgotten;
	 * then two complete dumps without c forget it. */
	tracker_dump_begin(&t, false);
	tracker_dump_abort(&t);
	CHECK(in_table(&t, &c) && in_interim(&t, &c));
	CHECK_EQ_U64(t.st.gone_by_dump, 2);
	dump_of(&t, NULL, 0, T0 + 90 * S);
	CHECK(in_table(&t, &c) && in_interim(&t, &c));
	dump_of(&t, NULL, 0, T0 + 100 * S);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	CHECK_EQ_U64(interim_count(t.interim), 0);
	CHECK_EQ_U64(t.st.gone_by_dump, 3);
	CHECK_EQ_U64(s.conns, 3); /* the interim records only */
	tracker_free(&t);
}

/* Timestamps on (no table entries): interim entries follow the same rule.
 * One that a dump misses is kept, and shown again it is intact, its next
 * record a delta as before; one that two dumps in a row miss is forgotten. */
static void test_gone_interim(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, true, collect, NULL, &s) == 0);
	tracker_set_active_timeout(&t, 60 * S);
	struct ct_event x = open_conn(6, 1006, 10, true), y = open_conn(7, 1007, 20, true),
			z = open_conn(18, 1018, 30, true);
	dump_of(&t, (struct ct_event *[]){&x, &y, &z}, 3, T0 + 61 * S);
	CHECK_EQ_U64(s.interims, 3);
	CHECK_EQ_U64(interim_count(t.interim), 3);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	x.cnt_orig.packets = 15;
	dump_of(&t, (struct ct_event *[]){&x}, 1, T0 + 70 * S);
	CHECK_EQ_U64(s.interims, 3); /* x not due */
	CHECK_EQ_U64(interim_count(t.interim), 3);
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	dump_of(&t, (struct ct_event *[]){&x, &z}, 2, T0 + 80 * S);
	CHECK_EQ_U64(interim_count(t.interim), 2); /* y missed twice */
	CHECK(!in_interim(&t, &y));
	CHECK_EQ_U64(t.st.gone_by_dump, 1);
	dump_of(&t, (struct ct_event *[]){&x}, 1, T0 + 90 * S);
	CHECK_EQ_U64(interim_count(t.interim), 2); /* z missed once */
	z.cnt_orig.packets = 50;
	dump_of(&t, (struct ct_event *[]){&z}, 1, T0 + 122 * S);
	CHECK_EQ_U64(s.interims, 4);
	CHECK_EQ_U64(s.last_id, 18);
	CHECK_EQ_U64(s.last[0].packets, 20); /* 50 - 30 */
	CHECK_EQ_U64(s.last[0].first_ms, (T0 + 61 * S) / 1000000);
	x.cnt_orig.packets = 25;
	dump_of(&t, (struct ct_event *[]){&x}, 1, T0 + 123 * S); /* x missed once */
	CHECK_EQ_U64(s.interims, 5);
	CHECK_EQ_U64(s.last_id, 6);
	CHECK_EQ_U64(s.last[0].packets, 15); /* 25 - 10 */
	CHECK_EQ_U64(s.last[0].first_ms, (T0 + 61 * S) / 1000000);
	CHECK_EQ_U64(interim_count(t.interim), 2);
	CHECK_EQ_U64(t.st.gone_by_dump, 1);
	tracker_free(&t);
}

/* Connections of the start-up dump that two later dumps in a row do not
 * show are exported (ended-unseen), not merely forgotten; one dump missing
 * them is not enough (reliable delivery may hold their DESTROY back). The
 * start-up dump itself forgets no remembered NEW, but it is a dump that
 * missed n: the next dump, missing n too, forgets it. */
static void test_gone_and_startup(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, false, collect, NULL, &s) == 0);
	struct ct_event n = conn(CT_EV_NEW, 8, 1008), u = open_conn(9, 1009, 3, false);
	tracker_event(&t, &n, T0);
	tracker_dump_begin(&t, true);
	tracker_event(&t, &u, T0 + S);
	CHECK_EQ_U64(tracker_dump_end(&t, T0 + S), 0);
	CHECK_EQ_U64(cttable_count(t.table), 2);
	CHECK_EQ_U64(t.st.gone_by_dump, 0);
	/* u missed once: kept; n missed twice (the start-up dump, this one):
	 * forgotten. */
	CHECK_EQ_U64(dump_of(&t, NULL, 0, T0 + 10 * S), 0);
	CHECK_EQ_U64(s.conns, 0);
	CHECK_EQ_U64(t.st.ended_by_dump, 0);
	CHECK_EQ_U64(t.st.gone_by_dump, 1);
	CHECK(!in_table(&t, &n));
	CHECK(in_table(&t, &u));
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 1);
	/* u missed twice: exported from its snapshot. */
	CHECK_EQ_U64(dump_of(&t, NULL, 0, T0 + 20 * S), 1);
	CHECK_EQ_U64(s.conns, 1);
	CHECK_EQ_U64(s.last_id, 9);
	CHECK_EQ_U64(t.st.ended_by_dump, 1);
	CHECK_EQ_U64(t.st.gone_by_dump, 1);
	CHECK_EQ_U64(cttable_count(t.table), 0);
	tracker_free(&t);
}

/* A start-up connection as the start-up dump shows it: open for 300 s more,
 * with counters and its kernel start. */
static struct ct_event startup_conn(uint32_t id, uint16_t sport, uint64_t pkts)
{
	struct ct_event ev = open_conn(id, sport, pkts, true);

	ev.have |= CT_HAVE_TIMEOUT;
	ev.start_ns = T0 - 50 * S;
	ev.timeout = 300;
	return ev;
}

/* With reliable event delivery (the default) the kernel may hold a DESTROY
 * back while a dump runs and deliver it later. A start-up connection that
 * one dump misses is therefore kept: its late DESTROY, after that dump (p) or
 * while the next one runs (q), exports it once, from the DESTROY. One that
 * two dumps in a row miss (r) is exported once from its snapshot, ending at
 * the second of them (its snapshot's stop lies later). Nothing is exported
 * twice. */
static void test_startup_late_destroy(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, true, collect, NULL, &s) == 0);
	struct ct_event p = startup_conn(21, 1021, 3), q = startup_conn(22, 1022, 4),
			r = startup_conn(23, 1023, 5);
	tracker_dump_begin(&t, true);
	tracker_event(&t, &p, T0);
	tracker_event(&t, &q, T0);
	tracker_event(&t, &r, T0);
	CHECK_EQ_U64(tracker_dump_end(&t, T0), 0);
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 3);

	/* A dump missing all three: none ended-unseen yet. */
	CHECK_EQ_U64(dump_of(&t, NULL, 0, T0 + 10 * S), 0);
	CHECK_EQ_U64(s.conns, 0);
	CHECK_EQ_U64(t.st.ended_by_dump, 0);
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 3);

	/* p's DESTROY, late: exported from it (its counters, its time). */
	struct ct_event dp = destroy(21, 1021);
	tracker_event(&t, &dp, T0 + 12 * S);
	CHECK_EQ_U64(s.conns, 1);
	CHECK_EQ_U64(s.last_id, 21);
	CHECK_EQ_U64(s.last[0].packets, 10); /* the DESTROY's, not the snapshot's 3 */
	CHECK_EQ_U64(s.last[0].first_ms, (T0 - 50 * S) / 1000000);
	CHECK_EQ_U64(s.last[0].last_ms, (T0 + 12 * S) / 1000000);
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 2);

	/* The second dump missing them; q's DESTROY comes while it runs. */
	tracker_dump_begin(&t, false);
	struct ct_event dq = destroy(22, 1022);
	tracker_event(&t, &dq, T0 + 15 * S);
	CHECK_EQ_U64(s.conns, 2);
	CHECK_EQ_U64(s.last_id, 22);
	CHECK_EQ_U64(s.last[0].packets, 10);
	CHECK_EQ_U64(tracker_dump_end(&t, T0 + 20 * S), 1); /* r only */
	CHECK_EQ_U64(s.conns, 3);
	CHECK_EQ_U64(s.last_id, 23);
	CHECK_EQ_U64(s.last[0].packets, 5); /* its snapshot's */
	CHECK_EQ_U64(s.last[0].first_ms, (T0 - 50 * S) / 1000000);
	/* Ended at the second dump that missed it, not at the first (T0 + 10 s)
	 * nor at its snapshot's stop (T0 + 300 s). */
	CHECK_EQ_U64(s.last[0].last_ms, (T0 + 20 * S) / 1000000);
	CHECK_EQ_U64(t.st.ended_by_dump, 1);
	CHECK_EQ_U64(t.st.exported, 3);
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 0);
	CHECK_EQ_U64(cttable_count(t.table), 0);

	/* Later dumps export nothing more. */
	CHECK_EQ_U64(dump_of(&t, NULL, 0, T0 + 30 * S), 0);
	CHECK_EQ_U64(dump_of(&t, NULL, 0, T0 + 40 * S), 0);
	CHECK_EQ_U64(s.conns, 3);
	CHECK_EQ_U64(t.st.ended_by_dump, 1);
	CHECK_EQ_U64(t.st.start_unknown, 0);
	tracker_free(&t);
}

/* max_connections: NEW entries beyond it are not stored (their DESTROY is
 * still exported, its start unknown), nor start-up dump entries. */
static void test_table_limit(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, false, collect, NULL, &s) == 0);
	tracker_set_limit(&t, 3);
	for (uint32_t i = 1; i <= 5; i++) {
		struct ct_event ev = conn(CT_EV_NEW, i, (uint16_t)(2000 + i));
		tracker_event(&t, &ev, T0 + i * S);
	}
	CHECK_EQ_U64(cttable_count(t.table), 3);
	CHECK_EQ_U64(t.st.table_full, 2);
	struct ct_event again = conn(CT_EV_NEW, 2, 2002); /* a key it holds */
	tracker_event(&t, &again, T0 + 9 * S);
	CHECK_EQ_U64(t.st.table_full, 2);
	struct ct_event d = destroy(5, 2005);
	tracker_event(&t, &d, T0 + 10 * S);
	CHECK_EQ_U64(s.conns, 1);
	CHECK_EQ_U64(t.st.start_unknown, 1);
	d = destroy(1, 2001);
	tracker_event(&t, &d, T0 + 11 * S);
	CHECK_EQ_U64(s.last[0].first_ms, (T0 + 1 * S) / 1000000);
	struct ct_event n6 = conn(CT_EV_NEW, 6, 2006); /* room again */
	tracker_event(&t, &n6, T0 + 12 * S);
	CHECK_EQ_U64(cttable_count(t.table), 3);
	CHECK_EQ_U64(t.st.table_full, 2);
	tracker_dump_begin(&t, true);
	struct ct_event u = open_conn(7, 2007, 1, false);
	tracker_event(&t, &u, T0 + 13 * S);
	tracker_dump_end(&t, T0 + 13 * S);
	CHECK_EQ_U64(t.st.table_full, 3);
	CHECK_EQ_U64(tracker_pending_snapshots(&t), 0);
	tracker_free(&t);
}

/* The limit bounds interim too: a connection that cannot be remembered gets
 * no interim record, and its final record carries everything. */
static void test_interim_limit(void)
{
	struct tracker t;
	struct sink s = {0};

	CHECK(tracker_init(&t, 604800 * S, true, collect, NULL, &s) == 0);
	tracker_set_active_timeout(&t, 60 * S);
	tracker_set_limit(&t, 1);
	struct ct_event x = open_conn(10, 1010, 10, true), y = open_conn(11, 1011, 20, true);
	dump_of(&t, (struct ct_event *[]){&x, &y}, 2, T0 + 61 * S);
	CHECK_EQ_U64(s.interims, 1);
	CHECK_EQ_U64(s.last_id, 10);
	CHECK_EQ_U64(t.st.table_full, 1);
	CHECK_EQ_U64(interim_count(t.interim), 1);
	struct ct_event dx = open_conn(10, 1010, 30, true), dy = open_conn(11, 1011, 40, true);
	dx.type = dy.type = CT_EV_DESTROY;
	tracker_event(&t, &dy, T0 + 90 * S);
	CHECK_EQ_U64(s.last[0].packets, 40);
	CHECK_EQ_U64(s.last[0].first_ms, T0 / 1000000);
	tracker_event(&t, &dx, T0 + 91 * S);
	CHECK_EQ_U64(s.last[0].packets, 20); /* 30 - 10 */
	CHECK_EQ_U64(s.sum_opkts, 70);
	CHECK_EQ_U64(s.sum_rbytes, 70000);
	tracker_free(&t);
}

int main(void)
{
	test_without_kernel_timestamps();
	test_with_kernel_timestamps();
	test_startup_dump_reconcile();
	test_destroy_during_startup_dump();
	test_ttl();
	test_active_timeout();
	test_gone_without_kernel_timestamps();
	test_gone_missed_once();
	test_gone_missed_twice();
	test_gone_created_during_dump();
	test_gone_created_between_dumps();
	test_gone_aborted_dump();
	test_gone_interim();
	test_gone_and_startup();
	test_startup_late_destroy();
	test_table_limit();
	test_interim_limit();
	CHECK_DONE();
}
