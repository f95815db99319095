/* ifcache: the interfaces route lookups found, per address and family, in
 * a table of fixed size (a newer lookup takes the slot of an older one that
 * hashes to it). Pure: no sockets; routes.c fills it and clears it when the
 * routes or links change. */
#ifndef NFFLOWD_IFCACHE_H
#define NFFLOWD_IFCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IFCACHE_SLOTS 4096 /* 4096 * 24 bytes */

struct ifcache_slot {
	uint8_t family; /* 0: empty */
	uint8_t addr[16];
	uint32_t ifindex;
};

struct ifcache {
	struct ifcache_slot slot[IFCACHE_SLOTS];
	uint64_t hits, misses, clears;
};

/* Empty c. */
void ifcache_clear(struct ifcache *c);

/* True, with *ifindex, if c holds addr (4 bytes for AF_INET, 16 for
 * AF_INET6, network order) of family; counts a hit or a miss. */
bool ifcache_get(struct ifcache *c, uint8_t family, const uint8_t *addr, uint32_t *ifindex);

/* Remember that addr of family is reached by ifindex (0: no route). */
void ifcache_put(struct ifcache *c, uint8_t family, const uint8_t *addr, uint32_t ifindex);

#endif
