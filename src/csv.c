#include "csv.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>

#include "timeunit.h"

size_t csv_format_v5(char *buf, size_t cap, const struct nfv5_header *h, const uint8_t exaddr[4],
		     const struct flow_rec *r)
{
	char ex[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	uint64_t now_ms = h->now_ns / NS_PER_MS;

	inet_ntop(AF_INET, exaddr, ex, sizeof ex);
	inet_ntop(AF_INET, r->src, src, sizeof src);
	inet_ntop(AF_INET, r->dst, dst, sizeof dst);
	int n = snprintf(
	    buf, cap,
	    "%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%s,%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%" PRIu32
	    ",%s,%s,0.0.0.0,0,0,%u,%u,%u,0,0",
	    h->now_ns / NS_PER_S, h->now_ns % NS_PER_S, timeunit_uptime(h->boot_ms, now_ms), ex,
	    r->packets, r->bytes, timeunit_uptime(h->boot_ms, r->first_ms),
	    timeunit_uptime(h->boot_ms, r->last_ms), src, dst, r->sport, r->dport, r->proto);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
