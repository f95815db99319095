/* interim: what nfflowd remembers of each open connection that had an
 * active-timeout (interim) record: the counters its records carried in all
 * and when the last of them ended, so that the next record carries only what
 * passed since. Pure: times are arguments.
 *
 * An entry is 44 bytes in a dense array grown by a fifth, indexed by an
 * open-addressing table of two 4-byte slots per array slot (so at most half
 * full), plus two bits of marks (this dump, the one before): 52 to 63 bytes
 * per entry from 1,000 entries on, 57 on average (tests/test_interim.c
 * measures it). What fits in 44 bytes: the time to the millisecond within 17
 * years either side of the first time stored, and packet counters up to
 * 2^60 - 1 (2^60 packets of at least 20 bytes would overflow the kernel's
 * 64-bit byte counter); larger values are stored as those limits. */
#ifndef NFFLOWD_INTERIM_H
#define NFFLOWD_INTERIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctmsg.h"

/* One connection's entry, as stored and read back. */
struct interim_rec {
	uint64_t key;			/* cttable_key() */
	uint64_t last_ns;		/* when its last record ended; read back to the ms */
	struct ct_counters orig, reply; /* what its records carried in all */
};

enum interim_put_result {
	INTERIM_STORED,
	INTERIM_FULL,  /* a new key while the set holds its limit */
	INTERIM_NOMEM, /* a new key and no memory to grow */
};

struct interim;

/* A new empty set without a limit, or NULL if out of memory. */
struct interim *interim_new(void);

/* Free s and everything in it; NULL is fine. */
void interim_free(struct interim *s);

/* Refuse new keys while s holds max entries (those it holds stay). */
void interim_set_limit(struct interim *s, size_t max);

/* Fill *r with key's entry and return true, or return false. */
bool interim_find(const struct interim *s, uint64_t key, struct interim_rec *r);

/* Like interim_find, and a present entry is marked (see interim_unmark_all). */
bool interim_seen(struct interim *s, uint64_t key, struct interim_rec *r);

/* Store r, replacing the entry with r->key if any; the entry is marked.
 * Nothing changes unless INTERIM_STORED is returned. */
enum interim_put_result interim_put(struct interim *s, const struct interim_rec *r);

/* Remove key's entry; false if there was none. */
bool interim_remove(struct interim *s, uint64_t key);

/* A new dump begins: the marks of the last one are kept as the previous
 * dump's, and no entry is marked by this one yet. */
void interim_unmark_all(struct interim *s);

/* Mark every entry (a failed dump counts as one that saw them all). */
void interim_mark_all(struct interim *s);

/* Call fn for every entry, with whether it is marked by this dump or the
 * one before (a connection is taken as gone only when two dumps in a row
 * missed it: the kernel may hold back its DESTROY, to deliver it again,
 * while a dump runs); remove those for which it returns true. fn must not
 * change s. Returns the number removed. */
size_t interim_sweep(struct interim *s,
		     bool (*fn)(void *ctx, const struct interim_rec *r, bool marked), void *ctx);

/* Number of entries. */
size_t interim_count(const struct interim *s);

/* Bytes of memory s holds now. */
size_t interim_memory(const struct interim *s);

#endif
