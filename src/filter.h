/* filter: which connections are exported (the <filter> block). Pure. */
#ifndef NFFLOWD_FILTER_H
#define NFFLOWD_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctmsg.h"

#define FILTER_MAX 32 /* values per key */

struct filter_net {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix; /* prefix length in bits */
	uint8_t addr[16];
};

struct filter_mark {
	uint32_t value, mask;
};

/* One of nfflowd's own export flows (its socket's local address and port,
 * once known, to a collector's address and port): not exported. */
struct filter_self {
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint8_t src[16];
	uint16_t sport; /* 0 until the socket is bound: then addr and port alone */
};

/* Each list that is not empty must match (and between keys), by any of its
 * values (or within a key). */
struct filter {
	struct filter_net any[FILTER_MAX]; /* address: either side */
	size_t nany;
	struct filter_net orig[FILTER_MAX]; /* original_address: as the client sent it */
	size_t norig;
	struct filter_net xlat[FILTER_MAX]; /* translated_address: the reply tuple */
	size_t nxlat;
	uint8_t protos[FILTER_MAX]; /* protocol */
	size_t nprotos;
	uint16_t ports[FILTER_MAX]; /* port: source or destination, either side */
	size_t nports;
	uint16_t zones[FILTER_MAX]; /* zone */
	size_t nzones;
	struct filter_mark marks[FILTER_MAX]; /* mark VALUE[/MASK] */
	size_t nmarks;
	bool nat_only;	  /* source NAT only, as the original's conntrack -n */
	bool export_self; /* export nfflowd's own export traffic too */
	struct filter_self self[16];
	size_t nself;
};

/* Parse "192.0.2.0/24", "2001:db8::/32" or a single address into n.
 * Returns 0, or -1 if it is not a network. */
int filter_parse_net(const char *s, struct filter_net *n);

struct sockaddr_storage;

/* The address (network order, in the first 4 or 16 bytes of addr, the rest
 * zero) and port (host order) of an AF_INET or AF_INET6 socket address;
 * returns its family, or 0 (nothing set) for another family. */
uint8_t filter_endpoint(const struct sockaddr_storage *ss, uint8_t addr[16], uint16_t *port);

/* True if ev is to be exported under f. */
bool filter_match(const struct filter *f, const struct ct_event *ev);

/* True if f needs nothing but protocols and marks, so that a kernel filter on
 * those decides alone; false if user space must check more. */
bool filter_kernel_only(const struct filter *f);

#endif
