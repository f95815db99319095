/* portblock: deterministic NAT (RFC 7422) port blocks, read from the
 * nftables ruleset: a source NAT rule whose address is a per-source map,
 *
 *     snat ip to ip saddr map { 10.0.0.2 : 203.0.113.1 . 10000-10999, ... }
 *
 * inline or named (map @NAME, its elements in the ruleset's "map" object),
 * gives each private source address its public address and port block.
 * Pure: interprets the JSON that libnftables prints for "list ruleset"
 * (libnftables-json(5)) with jansson, compares two readings (the blocks
 * allocated and freed: RFC 8158 natEvent 16 and 17), and tells whether a
 * connection was translated inside its own host's block. */
#ifndef NFFLOWD_PORTBLOCK_H
#define NFFLOWD_PORTBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctmsg.h"

#define PORTBLOCK_MAX 65536 /* blocks read from one ruleset; more are counted */

/* One port block: IPv4 (the per-source maps nftables has for snat ip). */
struct portblock {
	uint8_t src[4];	 /* the private source address, network order */
	uint8_t xsrc[4]; /* its public address */
	uint16_t start;	 /* portRangeStart (IE 361) */
	uint16_t end;	 /* portRangeEnd (IE 362), inclusive */
};

struct portblock_set {
	struct portblock *b; /* sorted by src, then xsrc, start, end */
	size_t n, cap;
	size_t skipped; /* map entries that are not ADDRESS : ADDRESS . PORT[-PORT] */
	size_t more;	/* beyond PORTBLOCK_MAX */
};

/* Read every port block of the ruleset json[0..len) into s (emptied
 * first; free with portblock_free). Returns 0, or -1 with the reason in
 * err (not JSON, no "nftables" array, out of memory). */
int portblock_scan_json(const char *json, size_t len, struct portblock_set *s, char *err,
			size_t errlen);

/* Release s's memory (s stays valid and empty). */
void portblock_free(struct portblock_set *s);

/* Called for each block freed (alloc false) or allocated (alloc true). */
typedef void (*portblock_event_fn)(void *ctx, const struct portblock *b, bool alloc);

/* The changes from old to fresh: first every block of old that fresh has
 * not (freed), then every block of fresh that old had not (allocated), each
 * in sorted order. Returns the number of calls. */
size_t portblock_diff(const struct portblock_set *old, const struct portblock_set *fresh,
		      portblock_event_fn fn, void *ctx);

/* portRangeStepSize (IE 363): 1, contiguous ports. */
#define PORTBLOCK_STEP 1u

/* portRangeNumPorts (IE 364) of b. */
uint16_t portblock_num_ports(const struct portblock *b);

/* True if ev (IPv4, source NAT) was translated inside its own host's
 * block: s has a block for orig.src whose public address is reply.dst and
 * whose ports hold reply.dport (the post-NAT source port). */
bool portblock_inside(const struct portblock_set *s, const struct ct_event *ev);

#endif
