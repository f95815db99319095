/* timeunit: the time units every module counts in, the uptime of the NetFlow
 * headers, and the pair of clock readings that travel with each step of the
 * pipeline. Pure: nothing here reads a clock. */
#ifndef NFFLOWD_TIMEUNIT_H
#define NFFLOWD_TIMEUNIT_H

#include <stdint.h>

#define NS_PER_US ((uint64_t)1000)
#define NS_PER_MS ((uint64_t)1000000)
#define NS_PER_S  ((uint64_t)1000000000)
#define MS_PER_S  ((uint64_t)1000)

/* One reading of both clocks: real_ns is the Unix epoch time (what records
 * and headers carry), mono_ns a monotonic time (deadlines and timers). A
 * replayed recording gives its own timestamp as both. */
struct nf_now {
	uint64_t real_ns;
	uint64_t mono_ns;
};

/* The sysUptime of NetFlow v5 and v9 headers and v5 First/Last (RFC 3954
 * §5.1): milliseconds at Unix epoch ms t_ms since boot_ms, the Unix epoch ms
 * at which the exporter's uptime was 0, modulo 2^32. These are 32-bit
 * counters that wrap, and collectors undo the wrap against the header's
 * sysUptime: a time before boot_ms (a connection older than the uptime's
 * epoch, or the wall clock stepped back) is t_ms - boot_ms modulo 2^32 too,
 * just below 2^32, never clamped. */
static inline uint32_t timeunit_uptime(uint64_t boot_ms, uint64_t t_ms)
{
	return (uint32_t)((t_ms - boot_ms) & UINT32_MAX); /* unsigned: wraps modulo 2^64 */
}

#endif
