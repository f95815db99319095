/* flowtable: which nftables flowtables of a ruleset freeze conntrack's
 * counters. A connection offloaded to a flowtable (a rule's "flow add
 * @NAME" statement) bypasses the conntrack path, and its packet and byte
 * counters stop unless the flowtable has the counter flag; the records
 * nfflowd exports then undercount. Pure: interprets the JSON that
 * libnftables prints for "list ruleset" (libnftables-json(5)) with
 * jansson; the shell (nft.c) runs libnftables.
 *
 * The JSON of nftables 1.0.6 (Debian 12) does not print a flowtable's flags;
 * a "flags" member (a string or an array of strings) is honoured where it
 * is printed, and otherwise the flags come from the flowtable's listing in
 * nft's own text format (flowtable_text_counter). */
#ifndef NFFLOWD_FLOWTABLE_H
#define NFFLOWD_FLOWTABLE_H

#include <stdbool.h>
#include <stddef.h>

#define FLOWTABLE_MAX	   32 /* flowtables reported; more are counted */
#define FLOWTABLE_NAME_MAX 64

struct flowtable_info {
	char family[16];		/* ip, ip6, inet, ... */
	char table[FLOWTABLE_NAME_MAX]; /* its table */
	char name[FLOWTABLE_NAME_MAX];	/* the flowtable */
	bool flags_known;		/* the JSON printed its flags */
	bool counter;			/* flags_known: it has the counter flag */
	unsigned rules;			/* rules that offload to it (flow add @name) */
};

struct flowtable_scan {
	struct flowtable_info ft[FLOWTABLE_MAX];
	size_t n;
	size_t more; /* flowtables beyond FLOWTABLE_MAX */
};

/* Read the flowtables of the ruleset json[0..len) ({"nftables": [...]}, as
 * "nft -j list ruleset" prints it) into s, with the rules that offload to
 * each. Returns 0, or -1 with the reason in err (not JSON, no "nftables"
 * array). Names longer than FLOWTABLE_NAME_MAX - 1 are cut. */
int flowtable_scan_json(const char *json, size_t len, struct flowtable_scan *s, char *err,
			size_t errlen);

/* True if text, one flowtable as "nft list flowtable FAMILY TABLE NAME"
 * prints it, has the counter flag (a line "counter" in its body). */
bool flowtable_text_counter(const char *text);

/* True if f freezes counters: it has no counter flag (flags known). */
bool flowtable_freezes(const struct flowtable_info *f);

/* The warning for f (flowtable_freezes): the flowtable named, what it does
 * to the records, and the fix. Returns the length (< len). */
size_t flowtable_warning(const struct flowtable_info *f, char *buf, size_t len);

/* Called once per message; warning: a problem to act on, else information. */
typedef void (*flowtable_say_fn)(void *ctx, bool warning, const char *msg);

/* The text listing of flowtable f ("list flowtable FAMILY TABLE NAME"), or
 * NULL if it cannot be had. */
typedef const char *(*flowtable_listing_fn)(void *ctx, const struct flowtable_info *f);

/* What start and check say about the ruleset json[0..len): a warning
 * (flowtable_warning) for each flowtable that freezes counters, its flags
 * taken from listing where the JSON has none; with with_info, a summary
 * line. A ruleset that is not JSON is a warning. Returns the number of
 * flowtables that freeze counters. */
unsigned flowtable_report(const char *json, size_t len, flowtable_listing_fn listing, void *lctx,
			  flowtable_say_fn say, void *sctx, bool with_info);

#endif
