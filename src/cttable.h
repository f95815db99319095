/* cttable: the connections nfflowd must remember, for what an event alone
 * does not give. Pure: times are arguments.
 *
 * An entry costs 24 bytes in a table kept at most half full, so 48 bytes per
 * remembered connection; a connection found by the start-up dump also keeps a
 * snapshot of its last dump (sizeof(struct ct_event) + 4 bytes) until it ends. */
#ifndef NFFLOWD_CTTABLE_H
#define NFFLOWD_CTTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctmsg.h"

struct ct_entry {
	uint64_t key;	   /* cttable_key() */
	uint64_t first_ns; /* start: the kernel's timestamp, or when first seen */
	uint32_t snap;	   /* 1 + snapshot index, or 0 for none */
	uint32_t gen;	   /* dump generation in which it was last seen */
};

struct cttable;

/* The key of a connection: CTA_ID in the high 32 bits and a hash of the
 * original tuple and zone in the low 32, so that a reused or colliding id does
 * not merge two connections. */
uint64_t cttable_key(const struct ct_event *ev);

/* A key's bits mixed so that any of them may choose a slot (the first
 * xor-shift, multiply and xor-shift of MurmurHash3's 64-bit finaliser): the
 * home slot of a key in this table and in interim's index. */
static inline uint64_t cttable_mix(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	return key ^ key >> 33;
}

/* A new empty table, or NULL if out of memory. */
struct cttable *cttable_new(void);

/* Free t and everything in it; NULL is fine. */
void cttable_free(struct cttable *t);

/* The entry with key, or NULL. The pointer is valid until the next insert or
 * remove. */
struct ct_entry *cttable_find(struct cttable *t, uint64_t key);

/* The entry with key, created with first_ns if absent (*created tells which).
 * NULL if out of memory. The pointer is valid until the next insert or remove. */
struct ct_entry *cttable_insert(struct cttable *t, uint64_t key, uint64_t first_ns, bool *created);

/* Remove the entry with key and its snapshot, if any. */
void cttable_remove(struct cttable *t, uint64_t key);

/* Remove e, an entry of t that cttable_find or cttable_insert returned
 * (still valid), and its snapshot, without looking its key up again. */
void cttable_remove_entry(struct cttable *t, struct ct_entry *e);

/* Store a copy of ev as e's snapshot (replacing an older one). Returns 0, or
 * -1 if out of memory. */
int cttable_set_snapshot(struct cttable *t, struct ct_entry *e, const struct ct_event *ev);

/* e's snapshot, or NULL. Valid until the next set_snapshot or remove. */
const struct ct_event *cttable_snapshot(const struct cttable *t, const struct ct_entry *e);

/* Number of entries, and of entries with a snapshot. */
size_t cttable_count(const struct cttable *t);
size_t cttable_snapshots(const struct cttable *t);

/* Call fn for every entry; remove those for which it returns true (after fn
 * has seen them, so fn may read the snapshot). fn must not insert or remove.
 * Returns the number removed. */
size_t cttable_sweep(struct cttable *t,
		     bool (*fn)(void *ctx, const struct ct_entry *e, const struct ct_event *snap),
		     void *ctx);

/* Set the dump generation of every entry to gen (as seen by that dump). */
void cttable_mark_all(struct cttable *t, uint32_t gen);

/* Bytes of memory the table holds now. */
size_t cttable_memory(const struct cttable *t);

#endif
