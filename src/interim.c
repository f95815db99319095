#include "interim.h"

#include <stdlib.h>
#include <string.h>

#include "cttable.h"
#include "timeunit.h"

#define MIN_CAP	    16u
#define MAX_ENTRIES ((size_t)1 << 30) /* 2 index slots per entry stay below 2^32 */
#define PKT_BITS    60		      /* of a packet counter; its top 4 bits hold time */
#define PKT_MAX	    ((UINT64_C(1) << PKT_BITS) - 1)
#define TIME_BITS   40 /* ms since the set's base: 32 in ms, 4 + 4 in the packet counters */
#define TIME_MAX    ((UINT64_C(1) << TIME_BITS) - 1)

/* One entry: eleven 32-bit words, so 44 bytes at 4-byte alignment. */
struct slot {
	uint32_t key[2]; /* low word, high word */
	uint32_t ms;	 /* the low 32 bits of the time */
	uint32_t cnt[8]; /* orig packets, orig bytes, reply packets, reply bytes: low, high */
};
_Static_assert(sizeof(struct slot) == 44, "an entry is 44 bytes");

struct interim {
	struct slot *ent; /* entries 0 .. count-1, dense */
	uint32_t *index;  /* nslots = 2 * cap, linear probing; 0 empty, else 1 + entry */
	uint32_t *marks;  /* a bit per entry: seen by the dump running or last run */
	uint32_t *prev;	  /* a bit per entry: seen by the dump before that */
	size_t count, cap, nslots, limit;
	uint64_t base_ms; /* the time stored as 0 */
	bool have_base;
};

static size_t mark_words(size_t cap)
{
	return (cap + 31) / 32;
}

static bool get_bit(const uint32_t *bits, size_t n)
{
	return bits[n / 32] >> (n % 32) & 1u;
}

static bool marked(const struct interim *s, size_t n)
{
	return get_bit(s->marks, n);
}

static void set_bit(uint32_t *bits, size_t n, bool on)
{
	uint32_t bit = 1u << (n % 32);

	bits[n / 32] = on ? bits[n / 32] | bit : bits[n / 32] & ~bit;
}

static void set_mark(struct interim *s, size_t n, bool on)
{
	set_bit(s->marks, n, on);
}

/* Seen by one of the last two dumps. */
static bool recent(const struct interim *s, size_t n)
{
	return marked(s, n) || get_bit(s->prev, n);
}

static void put64(uint32_t *w, uint64_t v)
{
	w[0] = (uint32_t)v;
	w[1] = (uint32_t)(v >> 32);
}

static uint64_t get64(const uint32_t *w)
{
	return (uint64_t)w[1] << 32 | w[0];
}

static uint64_t key_of(const struct slot *e)
{
	return get64(e->key);
}

/* The home slot of key: cttable's mix, scaled to nslots (not a power of two). */
static size_t home_of(const struct interim *s, uint64_t key)
{
	return (size_t)((cttable_mix(key) >> 32) * s->nslots >> 32);
}

static size_t next_slot(const struct interim *s, size_t i)
{
	return i + 1 == s->nslots ? 0 : i + 1;
}

/* The index slot holding key, or the empty one where it would go. */
static size_t probe(const struct interim *s, uint64_t key, bool *found)
{
	size_t i = home_of(s, key);

	for (; s->index[i] != 0; i = next_slot(s, i)) {
		if (key_of(&s->ent[s->index[i] - 1]) == key) {
			*found = true;
			return i;
		}
	}
	*found = false;
	return i;
}

/* The index slot holding entry n. */
static size_t slot_of_entry(const struct interim *s, size_t n)
{
	size_t i = home_of(s, key_of(&s->ent[n]));

	while (s->index[i] != n + 1)
		i = next_slot(s, i);
	return i;
}

static uint64_t time_code(struct interim *s, uint64_t ns)
{
	uint64_t ms = ns / NS_PER_MS;

	if (!s->have_base) {
		/* Room for clocks set back as far as forward. */
		s->base_ms = ms > (TIME_MAX >> 1) ? ms - (TIME_MAX >> 1) : 0;
		s->have_base = true;
	}
	if (ms < s->base_ms)
		return 0;
	return ms - s->base_ms > TIME_MAX ? TIME_MAX : ms - s->base_ms;
}

static void encode(struct interim *s, struct slot *e, const struct interim_rec *r)
{
	uint64_t t = time_code(s, r->last_ns);
	uint64_t opk = r->orig.packets < PKT_MAX ? r->orig.packets : PKT_MAX;
	uint64_t rpk = r->reply.packets < PKT_MAX ? r->reply.packets : PKT_MAX;

	put64(e->key, r->key);
	e->ms = (uint32_t)t;
	put64(&e->cnt[0], opk | (t >> 32 & 0xf) << PKT_BITS);
	put64(&e->cnt[2], r->orig.bytes);
	put64(&e->cnt[4], rpk | (t >> 36 & 0xf) << PKT_BITS);
	put64(&e->cnt[6], r->reply.bytes);
}

static void decode(const struct interim *s, const struct slot *e, struct interim_rec *r)
{
	uint64_t opk = get64(&e->cnt[0]), rpk = get64(&e->cnt[4]);
	uint64_t t = e->ms | (opk >> PKT_BITS) << 32 | (rpk >> PKT_BITS) << 36;

	r->key = key_of(e);
	r->last_ns = (s->base_ms + t) * NS_PER_MS;
	r->orig = (struct ct_counters){opk & PKT_MAX, get64(&e->cnt[2])};
	r->reply = (struct ct_counters){rpk & PKT_MAX, get64(&e->cnt[6])};
}

/* Point a fresh index at every entry. */
static void reindex(struct interim *s)
{
	bool found;

	for (size_t n = 0; n < s->count; n++)
		s->index[probe(s, key_of(&s->ent[n]), &found)] = (uint32_t)(n + 1);
}

/* Room for cap entries: the array, its marks and a new index. */
static int resize(struct interim *s, size_t cap)
{
	uint32_t *index = calloc(2 * cap, sizeof *index);
	uint32_t *marks = calloc(mark_words(cap), sizeof *marks);
	uint32_t *prev = calloc(mark_words(cap), sizeof *prev);
	struct slot *ent = index && marks && prev ? realloc(s->ent, cap * sizeof *ent) : NULL;

	if (!ent) {
		free(index);
		free(marks);
		free(prev);
		return -1;
	}
	if (s->marks) {
		memcpy(marks, s->marks, mark_words(s->cap) * sizeof *marks);
		memcpy(prev, s->prev, mark_words(s->cap) * sizeof *prev);
	}
	free(s->marks);
	free(s->prev);
	s->prev = prev;
	free(s->index);
	s->ent = ent;
	s->index = index;
	s->marks = marks;
	s->cap = cap;
	s->nslots = 2 * cap;
	reindex(s);
	return 0;
}

struct interim *interim_new(void)
{
	struct interim *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->limit = MAX_ENTRIES;
	if (resize(s, MIN_CAP) != 0) {
		interim_free(s);
		return NULL;
	}
	return s;
}

void interim_free(struct interim *s)
{
	if (!s)
		return;
	free(s->ent);
	free(s->index);
	free(s->marks);
	free(s->prev);
	free(s);
}

void interim_set_limit(struct interim *s, size_t max)
{
	s->limit = max < MAX_ENTRIES ? max : MAX_ENTRIES;
}

bool interim_find(const struct interim *s, uint64_t key, struct interim_rec *r)
{
	bool found;
	size_t i = probe(s, key, &found);

	if (found)
		decode(s, &s->ent[s->index[i] - 1], r);
	return found;
}

bool interim_seen(struct interim *s, uint64_t key, struct interim_rec *r)
{
	bool found;
	size_t i = probe(s, key, &found);

	if (found) {
		decode(s, &s->ent[s->index[i] - 1], r);
		set_mark(s, s->index[i] - 1, true);
	}
	return found;
}

enum interim_put_result interim_put(struct interim *s, const struct interim_rec *r)
{
	bool found;
	size_t i = probe(s, r->key, &found);

	if (!found) {
		if (s->count >= s->limit)
			return INTERIM_FULL;
		if (s->count == s->cap) {
			if (resize(s, s->cap + s->cap / 5) != 0)
				return INTERIM_NOMEM;
			i = probe(s, r->key, &found);
		}
		s->index[i] = (uint32_t)++s->count;
	}
	size_t n = s->index[i] - 1;
	encode(s, &s->ent[n], r);
	set_mark(s, n, true);
	return INTERIM_STORED;
}

static size_t distance(const struct interim *s, size_t from, size_t to)
{
	return to >= from ? to - from : to + s->nslots - from;
}

/* Empty index slot i; backward shifts keep every probe chain unbroken. */
static void unlink_slot(struct interim *s, size_t i)
{
	for (size_t j = next_slot(s, i); s->index[j] != 0; j = next_slot(s, j)) {
		size_t home = home_of(s, key_of(&s->ent[s->index[j] - 1]));
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if (distance(s, home, j) >= distance(s, i, j)) {
			s->index[i] = s->index[j];
			i = j;
		}
	}
	s->index[i] = 0;
}

/* Remove the entry of index slot i: the last entry moves into its place. */
static void remove_at(struct interim *s, size_t i)
{
	size_t n = s->index[i] - 1, last = s->count - 1;

	unlink_slot(s, i);
	if (n != last) {
		s->index[slot_of_entry(s, last)] = (uint32_t)(n + 1);
		s->ent[n] = s->ent[last];
		set_mark(s, n, marked(s, last));
		set_bit(s->prev, n, get_bit(s->prev, last));
	}
	set_mark(s, last, false);
	set_bit(s->prev, last, false);
	s->count--;
}

bool interim_remove(struct interim *s, uint64_t key)
{
	bool found;
	size_t i = probe(s, key, &found);

	if (found)
		remove_at(s, i);
	return found;
}

void interim_unmark_all(struct interim *s)
{
	memcpy(s->prev, s->marks, mark_words(s->cap) * sizeof *s->marks);
	memset(s->marks, 0, mark_words(s->cap) * sizeof *s->marks);
}

void interim_mark_all(struct interim *s)
{
	for (size_t n = 0; n < s->count; n++)
		set_mark(s, n, true);
}

size_t interim_sweep(struct interim *s,
		     bool (*fn)(void *ctx, const struct interim_rec *r, bool marked), void *ctx)
{
	size_t removed = 0;

	/* A removal moves the last entry, not yet seen, to n: look at n again. */
	for (size_t n = 0; n < s->count;) {
		struct interim_rec r;
		decode(s, &s->ent[n], &r);
		if (!fn(ctx, &r, recent(s, n))) {
			n++;
			continue;
		}
		remove_at(s, slot_of_entry(s, n));
		removed++;
	}
	return removed;
}

size_t interim_count(const struct interim *s)
{
	return s->count;
}

size_t interim_memory(const struct interim *s)
{
	return sizeof *s + s->cap * sizeof *s->ent + s->nslots * sizeof *s->index +
	       2 * mark_words(s->cap) * sizeof *s->marks;
}
