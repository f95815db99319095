#include <sys/socket.h>

#include "check.h"
#include "cttable.h"

static struct ct_event ev_with(uint32_t id, uint16_t sport)
{
	struct ct_event ev = {.family = AF_INET, .id = id};

	ev.orig.src[0] = 10;
	ev.orig.dst[0] = 203;
	ev.orig.sport = sport;
	ev.orig.dport = 80;
	ev.orig.proto = 6;
	return ev;
}

static void test_key(void)
{
	struct ct_event a = ev_with(7, 1000), b = ev_with(7, 1001);

	CHECK(cttable_key(&a) != cttable_key(&b)); /* same id, other tuple */
	CHECK_EQ_U64(cttable_key(&a) >> 32, 7);
	struct ct_event a2 = ev_with(7, 1000);
	CHECK_EQ_U64(cttable_key(&a), cttable_key(&a2));
}

static void test_insert_find_remove(void)
{
	struct cttable *t = cttable_new();
	bool created;

	CHECK(t != NULL);
	for (uint32_t i = 1; i <= 50000; i++) {
		struct ct_event ev = ev_with(i, (uint16_t)i);
		struct ct_entry *e = cttable_insert(t, cttable_key(&ev), i * 10ull, &created);
		CHECK(e && created);
	}
	CHECK_EQ_U64(cttable_count(t), 50000);
	struct ct_event ev = ev_with(123, 123);
	struct ct_entry *e = cttable_insert(t, cttable_key(&ev), 1, &created);
	CHECK(e && !created && e->first_ns == 1230); /* the first start is kept */
	for (uint32_t i = 1; i <= 50000; i += 2) {
		struct ct_event x = ev_with(i, (uint16_t)i);
		cttable_remove(t, cttable_key(&x));
	}
	CHECK_EQ_U64(cttable_count(t), 25000);
	size_t found = 0;
	for (uint32_t i = 1; i <= 50000; i++) {
		struct ct_event x = ev_with(i, (uint16_t)i);
		e = cttable_find(t, cttable_key(&x));
		if (e) {
			found++;
			CHECK_EQ_U64(e->first_ns, i * 10ull);
		}
		CHECK((e != NULL) == (i % 2 == 0));
	}
	CHECK_EQ_U64(found, 25000);
	cttable_free(t);
}

struct ttl_ctx {
	uint64_t cutoff;
	size_t seen, snaps_seen;
};

static bool expire_old(void *ctx, const struct ct_entry *e, const struct ct_event *snap)
{
	struct ttl_ctx *c = ctx;

	c->seen++;
	if (snap)
		c->snaps_seen++;
	return e->first_ns < c->cutoff;
}

/* The ttl purge as the daemon drives it: a clock injected as numbers. */
static void test_sweep_ttl(void)
{
	struct cttable *t = cttable_new();
	bool created;
	uint64_t ttl_ns = 604800ull * 1000000000ull;

	for (uint32_t i = 1; i <= 3000; i++) {
		struct ct_event ev = ev_with(i, (uint16_t)i);
		/* Every third connection started more than ttl before "now". */
		uint64_t start = i % 3 == 0 ? 1000 : 1000 + ttl_ns;
		struct ct_entry *e = cttable_insert(t, cttable_key(&ev), start, &created);
		if (i % 10 == 0)
			CHECK(cttable_set_snapshot(t, e, &ev) == 0);
	}
	CHECK_EQ_U64(cttable_snapshots(t), 300);
	uint64_t now = 1000 + ttl_ns + 5;
	struct ttl_ctx c = {.cutoff = now - ttl_ns};
	CHECK_EQ_U64(cttable_sweep(t, expire_old, &c), 1000);
	CHECK_EQ_U64(c.seen, 3000);
	CHECK_EQ_U64(c.snaps_seen, 300);
	CHECK_EQ_U64(cttable_count(t), 2000);
	CHECK_EQ_U64(cttable_snapshots(t), 200); /* 100 of them had i % 3 == 0 */
	for (uint32_t i = 1; i <= 3000; i++) {
		struct ct_event ev = ev_with(i, (uint16_t)i);
		CHECK((cttable_find(t, cttable_key(&ev)) != NULL) == (i % 3 != 0));
	}
	c = (struct ttl_ctx){.cutoff = now};
	CHECK_EQ_U64(cttable_sweep(t, expire_old, &c), 2000);
	CHECK_EQ_U64(cttable_count(t), 0);
	CHECK_EQ_U64(cttable_snapshots(t), 0);
	cttable_free(t);
}

static void test_snapshot(void)
{
	struct cttable *t = cttable_new();
	bool created;
	struct ct_event ev = ev_with(9, 9);
	struct ct_entry *e = cttable_insert(t, cttable_key(&ev), 5, &created);

	CHECK(cttable_snapshot(t, e) == NULL);
	ev.cnt_orig.packets = 11;
	CHECK(cttable_set_snapshot(t, e, &ev) == 0);
	ev.cnt_orig.packets = 12;
	CHECK(cttable_set_snapshot(t, e, &ev) == 0);
	CHECK_EQ_U64(cttable_snapshots(t), 1);
	CHECK_EQ_U64(cttable_snapshot(t, e)->cnt_orig.packets, 12);
	cttable_remove(t, cttable_key(&ev));
	CHECK_EQ_U64(cttable_snapshots(t), 0);
	CHECK(cttable_memory(t) > 0);
	cttable_free(t);
}

/* What max_connections costs (nfflowd.conf(5)): bytes per entry at 1M
 * entries without snapshots, the table kept at most half full. */
static void test_memory_per_entry(void)
{
	struct cttable *t = cttable_new();
	bool created;

	for (uint32_t i = 1; i <= 1000000; i++) {
		struct ct_event ev = ev_with(i, (uint16_t)i);
		CHECK(cttable_insert(t, cttable_key(&ev), i, &created) != NULL);
	}
	double per = (double)cttable_memory(t) / (double)cttable_count(t);
	printf("cttable: %zu entries, %zu bytes, %.1f bytes per entry\n", cttable_count(t),
	       cttable_memory(t), per);
	CHECK(per >= 48 && per <= 51);
	cttable_free(t);
}

int main(void)
{
	test_key();
	test_insert_find_remove();
	test_sweep_ttl();
	test_snapshot();
	test_memory_per_entry();
	CHECK_DONE();
}
