/* routes: which interface a connection's packets use, guessed from the
 * routing table over rtnetlink (RTM_GETROUTE with RTA_DST gives RTA_OIF),
 * cached per address (ifcache.h). A second socket, subscribed to changes
 * of IPv4 and IPv6 routes and of links, clears the cache when anything
 * changes. The guess is the main table's answer for the destination alone:
 * see nfflowd.conf(5) for where it can be wrong. */
#ifndef NFFLOWD_ROUTES_H
#define NFFLOWD_ROUTES_H

#include <stdint.h>

#include "ifcache.h"

struct routes;

/* Open both rtnetlink sockets. NULL with errno set on failure. */
struct routes *routes_open(void);

/* pipeline_ifindex_fn: the interface by which a packet to addr (AF_INET:
 * 4 bytes, AF_INET6: 16, network order) leaves, from the cache or a
 * lookup; 0 if there is no route or the lookup fails. ctx is the routes. */
uint32_t routes_ifindex(void *ctx, uint8_t family, const uint8_t *addr);

/* The change socket's descriptor, for poll (POLLIN). */
int routes_fd(const struct routes *r);

/* Read every queued change notification; if there was any (or some were
 * lost), clear the cache. */
void routes_changed(struct routes *r);

/* The cache's counters. */
const struct ifcache *routes_cache(const struct routes *r);

/* Close; NULL is fine. */
void routes_close(struct routes *r);

#endif
