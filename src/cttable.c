#include "cttable.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CAP 1024u

struct cttable {
	struct ct_entry *slots; /* open addressing, linear probing; key 0 = empty */
	size_t cap;		/* a power of two */
	size_t count;
	struct ct_event *snaps; /* snapshot storage */
	uint32_t *snap_free;	/* free snapshot indices, a stack */
	size_t snap_cap, snap_used, snap_nfree;
};

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

uint64_t cttable_key(const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig;
	uint32_t h = 2166136261u;

	h = fnv1a(h, o->src, sizeof o->src);
	h = fnv1a(h, o->dst, sizeof o->dst);
	h = fnv1a(h, &o->sport, sizeof o->sport);
	h = fnv1a(h, &o->dport, sizeof o->dport);
	h = fnv1a(h, &o->proto, sizeof o->proto);
	h = fnv1a(h, &ev->zone, sizeof ev->zone);
	h = fnv1a(h, &ev->family, sizeof ev->family);
	/* Key 0 marks an empty slot. */
	uint64_t key = (uint64_t)ev->id << 32 | h;
	return key ? key : 1;
}

static size_t slot_of(const struct cttable *t, uint64_t key)
{
	return (size_t)cttable_mix(key) & (t->cap - 1);
}

struct cttable *cttable_new(void)
{
	struct cttable *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->cap = MIN_CAP;
	t->slots = calloc(t->cap, sizeof *t->slots);
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void cttable_free(struct cttable *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->snaps);
	free(t->snap_free);
	free(t);
}

struct ct_entry *cttable_find(struct cttable *t, uint64_t key)
{
	for (size_t i = slot_of(t, key);; i = (i + 1) & (t->cap - 1)) {
		if (t->slots[i].key == key)
			return &t->slots[i];
		if (t->slots[i].key == 0)
			return NULL;
	}
}

static int grow(struct cttable *t)
{
	struct cttable old = *t;

	t->cap = old.cap * 2;
	t->slots = calloc(t->cap, sizeof *t->slots);
	if (!t->slots) {
		*t = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].key == 0)
			continue;
		size_t j = slot_of(t, old.slots[i].key);
		while (t->slots[j].key != 0)
			j = (j + 1) & (t->cap - 1);
		t->slots[j] = old.slots[i];
	}
	free(old.slots);
	return 0;
}

struct ct_entry *cttable_insert(struct cttable *t, uint64_t key, uint64_t first_ns, bool *created)
{
	struct ct_entry *e = cttable_find(t, key);

	*created = false;
	if (e)
		return e;
	if ((t->count + 1) * 2 > t->cap && grow(t) != 0)
		return NULL;
	size_t i = slot_of(t, key);
	while (t->slots[i].key != 0)
		i = (i + 1) & (t->cap - 1);
	t->slots[i] = (struct ct_entry){.key = key, .first_ns = first_ns};
	t->count++;
	*created = true;
	return &t->slots[i];
}

static void snap_release(struct cttable *t, struct ct_entry *e)
{
	if (e->snap == 0)
		return;
	t->snap_free[t->snap_nfree++] = e->snap - 1;
	e->snap = 0;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void remove_at(struct cttable *t, size_t i)
{
	size_t mask = t->cap - 1;

	snap_release(t, &t->slots[i]);
	for (size_t j = (i + 1) & mask; t->slots[j].key != 0; j = (j + 1) & mask) {
		size_t home = slot_of(t, t->slots[j].key);
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = (struct ct_entry){0};
	t->count--;
}

void cttable_remove(struct cttable *t, uint64_t key)
{
	struct ct_entry *e = cttable_find(t, key);

	if (e)
		cttable_remove_entry(t, e);
}

void cttable_remove_entry(struct cttable *t, struct ct_entry *e)
{
	remove_at(t, (size_t)(e - t->slots));
}

static int snap_reserve(struct cttable *t)
{
	size_t ncap = t->snap_cap ? t->snap_cap * 2 : 64;
	struct ct_event *ns = realloc(t->snaps, ncap * sizeof *ns);

	if (!ns)
		return -1;
	t->snaps = ns;
	uint32_t *nf = realloc(t->snap_free, ncap * sizeof *nf);
	if (!nf)
		return -1;
	t->snap_free = nf;
	t->snap_cap = ncap;
	return 0;
}

int cttable_set_snapshot(struct cttable *t, struct ct_entry *e, const struct ct_event *ev)
{
	if (e->snap == 0) {
		if (t->snap_nfree > 0) {
			e->snap = t->snap_free[--t->snap_nfree] + 1;
		} else {
			if (t->snap_used == t->snap_cap && snap_reserve(t) != 0)
				return -1;
			e->snap = (uint32_t)++t->snap_used;
		}
	}
	t->snaps[e->snap - 1] = *ev;
	return 0;
}

const struct ct_event *cttable_snapshot(const struct cttable *t, const struct ct_entry *e)
{
	return e->snap ? &t->snaps[e->snap - 1] : NULL;
}

size_t cttable_count(const struct cttable *t)
{
	return t->count;
}

size_t cttable_snapshots(const struct cttable *t)
{
	return t->snap_used - t->snap_nfree;
}

size_t cttable_sweep(struct cttable *t,
		     bool (*fn)(void *ctx, const struct ct_entry *e, const struct ct_event *snap),
		     void *ctx)
{
	size_t removed = 0;

	/* Start just after an empty slot so that no chain wraps past the start
	 * and backward shifts only move entries into slots already passed. */
	size_t start = 0;
	while (t->slots[start].key != 0)
		start++;
	for (size_t k = 1; k <= t->cap; k++) {
		size_t i = (start + k) & (t->cap - 1);
		while (t->slots[i].key != 0 &&
		       fn(ctx, &t->slots[i], cttable_snapshot(t, &t->slots[i]))) {
			remove_at(t, i);
			removed++;
		}
	}
	return removed;
}

void cttable_mark_all(struct cttable *t, uint32_t gen)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key != 0)
			t->slots[i].gen = gen;
}

size_t cttable_memory(const struct cttable *t)
{
	return sizeof *t + t->cap * sizeof *t->slots +
	       t->snap_cap * (sizeof *t->snaps + sizeof *t->snap_free);
}
