/* offload: the warnings about flow offload that freezes conntrack's
 * counters, for start and check. Runs libnftables in nfflowd's network
 * namespace ("list ruleset", JSON output) and interprets the ruleset with
 * flowtable.h. */
#ifndef NFFLOWD_OFFLOAD_H
#define NFFLOWD_OFFLOAD_H

#include <stdbool.h>

#include "flowtable.h"

/* Called once per message (flowtable_say_fn). */
typedef flowtable_say_fn offload_say_fn;

/* Find the flowtables of this namespace that freeze counters and say so
 * through say, naming each and the fix; say when the kernel has no
 * flowtable support at all, when with_info (check), and when the ruleset
 * cannot be listed. Returns the number of flowtables that freeze counters. */
unsigned offload_check(offload_say_fn say, void *ctx, bool with_info);

#endif
