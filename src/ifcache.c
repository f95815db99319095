#include "ifcache.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

/* FNV-1a over the family and the address. */
static size_t slot_of(uint8_t family, const uint8_t *addr)
{
	uint32_t h = 2166136261u ^ family;

	for (size_t i = 0; i < addr_len(family); i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % IFCACHE_SLOTS;
}

void ifcache_clear(struct ifcache *c)
{
	memset(c->slot, 0, sizeof c->slot);
	c->clears++;
}

bool ifcache_get(struct ifcache *c, uint8_t family, const uint8_t *addr, uint32_t *ifindex)
{
	const struct ifcache_slot *s = &c->slot[slot_of(family, addr)];

	if (family == 0 || s->family != family || memcmp(s->addr, addr, addr_len(family)) != 0) {
		c->misses++;
		return false;
	}
	c->hits++;
	*ifindex = s->ifindex;
	return true;
}

void ifcache_put(struct ifcache *c, uint8_t family, const uint8_t *addr, uint32_t ifindex)
{
	struct ifcache_slot *s = &c->slot[slot_of(family, addr)];

	if (family != AF_INET && family != AF_INET6)
		return;
	memset(s, 0, sizeof *s);
	s->family = family;
	memcpy(s->addr, addr, addr_len(family));
	s->ifindex = ifindex;
}
