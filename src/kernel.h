/* kernel: the conntrack sysctls of the network namespace nfflowd runs in. */
#ifndef NFFLOWD_KERNEL_H
#define NFFLOWD_KERNEL_H

#include <stdbool.h>

/* Values read from /proc/sys/net/netfilter; -1 where unreadable. */
struct kernel_settings {
	int acct;      /* nf_conntrack_acct: packet and byte counters */
	int timestamp; /* nf_conntrack_timestamp: start and stop times */
	int events;    /* nf_conntrack_events: 1 always, 2 only with a listener */
};

/* Read the three settings into *k. */
void kernel_read(struct kernel_settings *k);

/* With set, turn each of the three settings to 1 that is not 1 yet and log
 * what changed; a refused write is a warning. Without set, warn loudly about
 * each one that is off and what is lost because of it. Leaves the values in
 * force in *k. */
void kernel_setup(bool set, struct kernel_settings *k);

#endif
