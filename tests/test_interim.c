/* test_interim: the compact set of interim entries (src/interim.h): its
 * operations, its index under collisions, growth and swap-removal, the marks
 * of the last two dumps, a randomized run against a plain reference model,
 * and its memory per entry. */
#include <stdlib.h>

#include "check.h"
#include "interim.h"
#include "timeunit.h"

#define T0	 (1700000000ull * NS_PER_S)
#define PKT_MAX	 ((UINT64_C(1) << 60) - 1)
#define YEARS_17 (17ull * 365 * 86400 * NS_PER_S)

/* A key as cttable_key makes them: CTA_ID high, a tuple hash low. */
static uint64_t key_of(uint32_t id)
{
	return (uint64_t)id << 32 | (id * 2654435761u) | 1u;
}

static struct interim_rec rec(uint64_t key, uint64_t last_ns, uint64_t n)
{
	return (struct interim_rec){
	    .key = key, .last_ns = last_ns, .orig = {n, n * 100}, .reply = {n * 2, n * 300}};
}

static bool same(const struct interim_rec *a, const struct interim_rec *b)
{
	return a->key == b->key && a->last_ns == b->last_ns && a->orig.packets == b->orig.packets &&
	       a->orig.bytes == b->orig.bytes && a->reply.packets == b->reply.packets &&
	       a->reply.bytes == b->reply.bytes;
}

/* key is present with exactly r. */
static bool holds(const struct interim *s, const struct interim_rec *r)
{
	struct interim_rec got;

	return interim_find(s, r->key, &got) && same(&got, r);
}

static void test_put_find_remove(void)
{
	struct interim *s = interim_new();
	struct interim_rec a = rec(key_of(1), T0, 10), b = rec(key_of(2), T0 + NS_PER_S, 20), got;

	CHECK(s != NULL);
	CHECK(!interim_find(s, a.key, &got));
	CHECK(interim_put(s, &a) == INTERIM_STORED);
	CHECK(interim_put(s, &b) == INTERIM_STORED);
	CHECK_EQ_U64(interim_count(s), 2);
	CHECK(holds(s, &a) && holds(s, &b));
	a = rec(a.key, T0 + 60 * NS_PER_S, 15); /* replaced, not added */
	CHECK(interim_put(s, &a) == INTERIM_STORED);
	CHECK_EQ_U64(interim_count(s), 2);
	CHECK(holds(s, &a));
	CHECK(interim_remove(s, a.key));
	CHECK(!interim_remove(s, a.key));
	CHECK(!interim_find(s, a.key, &got));
	CHECK(holds(s, &b));
	CHECK_EQ_U64(interim_count(s), 1);
	interim_free(s);
	interim_free(NULL);
}

/* Times come back to the millisecond, 17 years either side of the first
 * one stored; 64-bit bytes and 60-bit packets come back exactly. */
static void test_values(void)
{
	struct interim *s = interim_new();
	struct interim_rec r = rec(key_of(1), T0 + 123456789, 1), got;

	CHECK(interim_put(s, &r) == INTERIM_STORED);
	CHECK(interim_find(s, r.key, &got));
	CHECK_EQ_U64(got.last_ns, T0 + 123000000);
	uint64_t times[] = {T0 + YEARS_17, T0 - YEARS_17, T0 + 1 * NS_PER_MS};
	for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
		r = rec(key_of(2 + (uint32_t)i), times[i], 2);
		r.orig = (struct ct_counters){PKT_MAX, UINT64_MAX};
		r.reply = (struct ct_counters){PKT_MAX - 1, UINT64_MAX - 1};
		CHECK(interim_put(s, &r) == INTERIM_STORED);
		CHECK(holds(s, &r));
	}
	/* Beyond: packets and times are stored as the limits. */
	r = rec(key_of(9), UINT64_MAX, 3);
	r.orig.packets = UINT64_MAX;
	CHECK(interim_put(s, &r) == INTERIM_STORED);
	CHECK(interim_find(s, r.key, &got));
	CHECK_EQ_U64(got.orig.packets, PKT_MAX);
	CHECK(got.last_ns < UINT64_MAX && got.last_ns > T0 + YEARS_17);
	r = rec(key_of(10), 0, 3);
	CHECK(interim_put(s, &r) == INTERIM_STORED);
	CHECK(interim_find(s, r.key, &got));
	CHECK(got.last_ns < T0 - YEARS_17);
	interim_free(s);
}

/* The set's home slot of key in an index of n slots (interim.c's hash). */
static size_t home(uint64_t key, size_t n)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)(((key >> 32) * n) >> 32);
}

/* Up to max keys whose home is slot h of a fresh set's 32 slots. */
static size_t keys_at(size_t h, uint64_t *keys, size_t max)
{
	size_t n = 0;

	for (uint32_t id = 1; n < max; id++) {
		if (home(key_of(id), 32) == h)
			keys[n++] = key_of(id);
	}
	return n;
}

/* Chains that share a home and wrap around the index's end: removing any
 * of them (the backward shift) leaves the others found. */
static void test_collisions(void)
{
	uint64_t last[3], first[3], same_home[4];

	keys_at(31, last, 3);
	keys_at(0, first, 3);
	keys_at(7, same_home, 4);
	for (size_t victim = 0; victim < 10; victim++) {
		struct interim *s = interim_new();
		uint64_t all[10];
		size_t n = 0;
		for (size_t i = 0; i < 3; i++)
			all[n++] = last[i];
		for (size_t i = 0; i < 3; i++)
			all[n++] = first[i];
		for (size_t i = 0; i < 4; i++)
			all[n++] = same_home[i];
		for (size_t i = 0; i < n; i++) {
			struct interim_rec r = rec(all[i], T0, i);
			CHECK(interim_put(s, &r) == INTERIM_STORED);
		}
		CHECK(interim_remove(s, all[victim]));
		for (size_t i = 0; i < n; i++) {
			struct interim_rec r = rec(all[i], T0, i), got;
			CHECK(i == victim ? !interim_find(s, all[i], &got) : holds(s, &r));
		}
		CHECK_EQ_U64(interim_count(s), n - 1);
		interim_free(s);
	}
}

/* Every entry survives each growth of the array and of the index. */
static void test_growth(void)
{
	struct interim *s = interim_new();
	size_t mem = interim_memory(s), grew = 0;

	for (uint32_t i = 1; i <= 20000; i++) {
		struct interim_rec r = rec(key_of(i), T0 + i * NS_PER_MS, i);
		CHECK(interim_put(s, &r) == INTERIM_STORED);
		if (interim_memory(s) != mem) {
			grew++;
			mem = interim_memory(s);
			for (uint32_t j = 1; j <= i; j++) {
				struct interim_rec w = rec(key_of(j), T0 + j * NS_PER_MS, j);
				CHECK(holds(s, &w));
			}
		}
	}
	CHECK(grew > 20);
	CHECK_EQ_U64(interim_count(s), 20000);
	interim_free(s);
}

struct tally {
	size_t seen, marked;
	uint64_t drop_mod; /* remove keys whose id % drop_mod == 0; 0: unmarked */
};

static bool tally(void *ctx, const struct interim_rec *r, bool marked)
{
	struct tally *t = ctx;

	t->seen++;
	t->marked += marked;
	return t->drop_mod ? (r->key >> 32) % t->drop_mod == 0 : !marked;
}

/* The marks a sweep passes: seen by this dump (interim_seen, interim_put
 * since the last interim_unmark_all) or by the one before. An entry that one
 * dump missed is kept, intact; one that two dumps in a row missed is not
 * marked. */
static void test_two_dumps(void)
{
	struct interim *s = interim_new();
	struct interim_rec a = rec(key_of(1), T0, 10), b = rec(key_of(2), T0, 20), got;
	struct tally t = {0};

	CHECK(interim_put(s, &a) == INTERIM_STORED);
	CHECK(interim_put(s, &b) == INTERIM_STORED);
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 0); /* both marked by this dump */
	CHECK_EQ_U64(t.marked, 2);
	interim_unmark_all(s); /* a dump that misses both */
	t = (struct tally){0};
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 0); /* marked by the one before */
	CHECK_EQ_U64(t.marked, 2);
	CHECK(holds(s, &a) && holds(s, &b));
	interim_unmark_all(s); /* a dump that shows a only */
	CHECK(interim_seen(s, a.key, &got) && same(&got, &a));
	t = (struct tally){0};
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 1); /* b: missed twice */
	CHECK_EQ_U64(t.seen, 2);
	CHECK_EQ_U64(t.marked, 1);
	CHECK(holds(s, &a) && !interim_find(s, b.key, &got));
	interim_unmark_all(s); /* a missed once */
	t = (struct tally){0};
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 0);
	CHECK(holds(s, &a));
	interim_unmark_all(s); /* a dump that shows a again */
	CHECK(interim_seen(s, a.key, &got) && same(&got, &a));
	/* Two dumps that miss a: kept after the first, not after the second. */
	interim_unmark_all(s);
	t = (struct tally){0};
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 0);
	CHECK_EQ_U64(t.marked, 1);
	interim_unmark_all(s);
	CHECK(!interim_seen(s, b.key, &got)); /* an absent key marks nothing */
	t = (struct tally){0};
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 1);
	CHECK_EQ_U64(t.seen, 1);
	CHECK_EQ_U64(t.marked, 0);
	CHECK_EQ_U64(interim_count(s), 0);
	interim_free(s);
}

/* Removing moves the last entry into the hole: its index slot and both its
 * marks (this dump's and the one before's) must follow it. */
static void test_swap_remove_marks(void)
{
	struct interim *s = interim_new();
	struct tally t = {0};
	struct interim_rec got;

	for (uint32_t i = 1; i <= 1000; i++) {
		struct interim_rec r = rec(key_of(i), T0, i);
		CHECK(interim_put(s, &r) == INTERIM_STORED);
	}
	interim_unmark_all(s);
	interim_unmark_all(s); /* the puts' marks are gone too */
	for (uint32_t i = 1; i <= 1000; i += 3)
		CHECK(interim_seen(s, key_of(i), &got)); /* 334: i % 3 == 1 */
	interim_unmark_all(s);
	for (uint32_t i = 5; i <= 1000; i += 5)
		CHECK(interim_seen(s, key_of(i), &got)); /* 200, 67 of them also i % 3 == 1 */
	/* Remove from the front, where each removal moves the last entry: 67
	 * with i % 3 == 2, 14 of them i % 5 == 0. */
	for (uint32_t i = 2; i <= 200; i += 3)
		CHECK(interim_remove(s, key_of(i)));
	CHECK_EQ_U64(interim_count(s), 1000 - 67);
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 1000 - 67 - 453);
	CHECK_EQ_U64(t.seen, 1000 - 67);
	CHECK_EQ_U64(t.marked, 334 + 200 - 67 - 14);
	for (uint32_t i = 1; i <= 1000; i++) {
		struct interim_rec r = rec(key_of(i), T0, i);
		CHECK(i % 3 == 1 || (i % 5 == 0 && !(i % 3 == 2 && i <= 200))
			  ? holds(s, &r)
			  : !interim_find(s, key_of(i), &got));
	}
	/* A stored entry is marked; after interim_unmark_all the marks of the
	 * last dump (i % 5 == 0) still count, those of the one before do not:
	 * 267 entries with only i % 3 == 1 go. */
	struct interim_rec r = rec(key_of(2000), T0, 1);
	interim_unmark_all(s);
	CHECK(interim_put(s, &r) == INTERIM_STORED);
	t = (struct tally){0};
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 334 - 67);
	CHECK_EQ_U64(interim_count(s), 200 - 14 + 1);
	interim_unmark_all(s); /* only the put entry is marked now */
	t = (struct tally){0};
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 200 - 14);
	CHECK_EQ_U64(interim_count(s), 1);
	CHECK(holds(s, &r));
	interim_unmark_all(s);
	t = (struct tally){0};
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 1);
	CHECK_EQ_U64(interim_count(s), 0);
	interim_free(s);
}

/* Both marks survive each growth: entries marked only by the dump before
 * stay marked while the set grows many times. */
static void test_growth_marks(void)
{
	struct interim *s = interim_new();
	struct tally t = {0};

	for (uint32_t i = 1; i <= 1000; i++) {
		struct interim_rec r = rec(key_of(i), T0, i);
		CHECK(interim_put(s, &r) == INTERIM_STORED);
	}
	interim_unmark_all(s);
	size_t mem = interim_memory(s);
	for (uint32_t i = 1001; i <= 20000; i++) {
		struct interim_rec r = rec(key_of(i), T0, i);
		CHECK(interim_put(s, &r) == INTERIM_STORED);
	}
	CHECK(interim_memory(s) > 10 * mem);
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 0);
	CHECK_EQ_U64(t.marked, 20000);
	interim_unmark_all(s); /* the first 1,000 now missed twice */
	t = (struct tally){0};
	CHECK_EQ_U64(interim_sweep(s, tally, &t), 1000);
	CHECK_EQ_U64(t.marked, 19000);
	for (uint32_t i = 1; i <= 20000; i += 7) {
		struct interim_rec r = rec(key_of(i), T0, i), got;
		CHECK(i > 1000 ? holds(s, &r) : !interim_find(s, r.key, &got));
	}
	interim_free(s);
}

static void test_limit(void)
{
	struct interim *s = interim_new();

	interim_set_limit(s, 3);
	for (uint32_t i = 1; i <= 3; i++) {
		struct interim_rec r = rec(key_of(i), T0, i);
		CHECK(interim_put(s, &r) == INTERIM_STORED);
	}
	struct interim_rec r = rec(key_of(4), T0, 4), got;
	CHECK(interim_put(s, &r) == INTERIM_FULL);
	CHECK(!interim_find(s, r.key, &got));
	struct interim_rec again = rec(key_of(2), T0 + NS_PER_S, 7);
	CHECK(interim_put(s, &again) == INTERIM_STORED); /* a key it holds: replaced */
	CHECK(holds(s, &again));
	interim_set_limit(s, 2); /* lowered: nothing forgotten, nothing new */
	CHECK_EQ_U64(interim_count(s), 3);
	CHECK(interim_remove(s, key_of(1)));
	CHECK(interim_put(s, &r) == INTERIM_FULL);
	CHECK(interim_remove(s, key_of(3)));
	CHECK(interim_put(s, &r) == INTERIM_STORED);
	CHECK(holds(s, &r));
	interim_free(s);
}

/* ---- against a reference model --------------------------------------------- */

#define MODEL_KEYS 3000

struct model {
	bool present[MODEL_KEYS];
	bool marked[MODEL_KEYS]; /* seen by this dump */
	bool prev[MODEL_KEYS];	 /* seen by the dump before */
	struct interim_rec r[MODEL_KEYS];
	size_t count;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t model_key(size_t k)
{
	/* Half of the keys share their low word: one tuple, ids reused. */
	return k % 2 ? key_of((uint32_t)k) : (uint64_t)(k + 1) << 32 | 0x5bd1e995u;
}

static struct interim_rec random_rec(size_t k)
{
	struct interim_rec r = {.key = model_key(k),
				.last_ns = T0 + (rnd() % (400ull * 86400 * 1000)) * NS_PER_MS,
				.orig = {rnd() & PKT_MAX, rnd()},
				.reply = {rnd() % 1000, rnd() % 100000}};
	return r;
}

struct sweep_ctx {
	struct model *m;
	uint64_t mod, rem; /* remove keys whose low bits % mod == rem; mod 0: unmarked */
	bool ok;
};

/* The model's number of key, or MODEL_KEYS. */
static size_t index_of(uint64_t key)
{
	size_t high = (size_t)(key >> 32);

	for (size_t k = high > 0 ? high - 1 : 0; k <= high && k < MODEL_KEYS; k++) {
		if (model_key(k) == key)
			return k;
	}
	return MODEL_KEYS;
}

static bool model_sweep_one(void *ctx, const struct interim_rec *r, bool marked)
{
	struct sweep_ctx *c = ctx;
	size_t k = index_of(r->key);

	if (k == MODEL_KEYS || !c->m->present[k] || !same(r, &c->m->r[k]) ||
	    marked != (c->m->marked[k] || c->m->prev[k])) {
		c->ok = false;
		return false;
	}
	bool drop = c->mod ? r->orig.bytes % c->mod == c->rem : !marked;
	if (drop) {
		c->m->present[k] = c->m->marked[k] = c->m->prev[k] = false;
		c->m->count--;
	}
	return drop;
}

static bool model_agrees(const struct interim *s, const struct model *m)
{
	struct interim_rec got;

	if (interim_count(s) != m->count)
		return false;
	for (size_t k = 0; k < MODEL_KEYS; k++) {
		bool found = interim_find(s, model_key(k), &got);
		if (found != m->present[k] || (found && !same(&got, &m->r[k])))
			return false;
	}
	return true;
}

/* One random operation; growing: more puts than removals, else fewer. */
static void model_step(struct interim *s, struct model *m, bool growing)
{
	size_t k = rnd() % MODEL_KEYS;
	unsigned op = (unsigned)(rnd() % 1000);
	unsigned puts = growing ? 600 : 250;
	struct interim_rec got;

	if (op < puts) {
		struct interim_rec r = random_rec(k);
		CHECK(interim_put(s, &r) == INTERIM_STORED);
		if (!m->present[k]) {
			m->count++;
			m->prev[k] = false; /* a new entry */
		}
		m->present[k] = m->marked[k] = true;
		m->r[k] = r;
		m->r[k].last_ns = r.last_ns / NS_PER_MS * NS_PER_MS;
	} else if (op < 750) {
		CHECK(interim_remove(s, model_key(k)) == m->present[k]);
		m->count -= m->present[k];
		m->present[k] = m->marked[k] = m->prev[k] = false;
	} else if (op < 990) {
		CHECK(interim_seen(s, model_key(k), &got) == m->present[k]);
		if (m->present[k])
			m->marked[k] = true;
	} else if (op < 995) {
		interim_unmark_all(s);
		memcpy(m->prev, m->marked, sizeof m->prev);
		memset(m->marked, 0, sizeof m->marked);
	} else {
		struct sweep_ctx c = {
		    .m = m, .mod = op < 999 ? 7 : 0, .rem = rnd() % 7, .ok = true};
		size_t before = m->count;
		size_t removed = interim_sweep(s, model_sweep_one, &c);
		CHECK(c.ok);
		CHECK_EQ_U64(removed, before - m->count);
	}
}

/* 300,000 random operations on 3,000 keys with a fixed seed, in phases that
 * grow and shrink the set; the set and the model agree on every key every
 * 1,000 steps, and every sweep sees exactly the model's entries, each marked
 * if the model's current or previous dump marked it. */
static void test_random_model(void)
{
	struct interim *s = interim_new();
	static struct model m;
	size_t disagree = 0, most = 0;

	for (size_t step = 1; step <= 300000; step++) {
		model_step(s, &m, step / 25000 % 2 == 0);
		most = m.count > most ? m.count : most;
		if (step % 1000 == 0 && !model_agrees(s, &m))
			disagree++;
	}
	CHECK_EQ_U64(disagree, 0);
	printf("model: at most %zu entries, %zu at the end\n", most, m.count);
	CHECK(most > 1000); /* the set grew several times */
	interim_free(s);
}

/* ---- memory ---------------------------------------------------------------- */

/* Bytes per entry at every size from 1,000 to 2,000,000 entries: at most 64
 * at each, and on average over sizes spread evenly on a log scale. */
static void test_memory(void)
{
	struct interim *s = interim_new();
	double worst = 0, sum = 0, weight = 0;
	const uint32_t report[] = {1000, 100000, 1000000, 2000000};
	size_t next = 0;

	for (uint32_t i = 1; i <= 2000000; i++) {
		struct interim_rec r = rec(key_of(i), T0, i);
		if (interim_put(s, &r) != INTERIM_STORED) {
			CHECK(0);
			break;
		}
		if (i < 1000)
			continue;
		double per = (double)interim_memory(s) / i;
		worst = per > worst ? per : worst;
		sum += per / i;
		weight += 1.0 / i;
		if (next < 4 && i == report[next]) {
			printf("interim: %u entries, %zu bytes, %.1f bytes per entry\n", i,
			       interim_memory(s), per);
			CHECK(per <= 64);
			next++;
		}
	}
	printf("interim: 1k to 2M entries: at most %.1f, on average %.1f bytes per entry\n", worst,
	       sum / weight);
	CHECK(worst <= 64);
	CHECK(sum / weight <= 64);
	interim_free(s);
}

int main(void)
{
	test_put_find_remove();
	test_values();
	test_collisions();
	test_growth();
	test_two_dumps();
	test_swap_remove_marks();
	test_growth_marks();
	test_limit();
	test_random_model();
	test_memory();
	CHECK_DONE();
}
