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
 * while nobody listened) is exported from its last dump. */
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

	/* A refreshed snapshot, then a dump without a. */
	tracker_dump_begin(&t, false);
	a.cnt_orig = (struct ct_counters){7, 700};
	tracker_event(&t, &a, T0 + 10 * S);
	CHECK_EQ_U64(tracker_dump_end(&t, T0 + 10 * S), 0);
	tracker_dump_begin(&t, false);
	CHECK_EQ_U64(tracker_dump_end(&t, T0 + 200 * S), 1);
	CHECK_EQ_U64(s.conns, 2);
	CHECK_EQ_U64(s.last_id, 1);
	CHECK_EQ_U64(s.last[0].packets, 7);
	CHECK_EQ_U64(s.last[0].first_ms, (T0 - 100 * S) / 1000000);
	/* Its end: the last dump plus the timeout it had left. */
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
	CHECK_EQ_U64(cttable_count(t.interim), 0);
	CHECK_EQ_U64(t.st.interim, 2);
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
	CHECK_DONE();
}
