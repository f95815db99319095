/* natlog: the lines of the NAT log for retention (<natlog>): one per NAT
 * session end or interim record, as JSON Lines or as space-separated text
 * with the same fields in the same order. Pure: formatting only; the file
 * is written by collector_natlog.c through the copies' non-blocking writer.
 *
 * Fields, in this order (JSON keys; text: the values alone):
 *   event    "end" or "interim"
 *   start    the connection's start (interim: the previous record's end),
 *            UTC, ISO 8601 with milliseconds: 2026-12-01T14:02:03.456Z
 *   end      its end (interim: the time of this record)
 *   proto    tcp, udp, icmp, icmpv6, sctp, dccp, udplite, gre, esp, ah,
 *            or the protocol number
 *   src sport dst dport        the original direction, before NAT
 *   xsrc xsport xdst xdport    the same direction after NAT (the reply
 *                              tuple reversed)
 *   packets bytes              the original direction's counters
 *   rpackets rbytes            the reply direction's
 *   zone                       the conntrack zone (0: none)
 * Ports are decimal; for ICMP sport is the echo identifier and dport
 * type * 256 + code. */
#ifndef NFFLOWD_NATLOG_H
#define NFFLOWD_NATLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ctmsg.h"
#include "portblock.h"

#define NATLOG_LINE_MAX 512 /* the longest line (two IPv6 tuples, 20-digit counters) */
#define NATLOG_TIME_LEN 24  /* "YYYY-MM-DDThh:mm:ss.mmmZ" */

/* True if the NAT log of conf takes connection ev: NAT changed it, or
 * conf->all. */
bool natlog_wants(const struct natlog_conf *conf, const struct ct_event *ev);

/* Unix epoch ms as UTC ISO 8601 with milliseconds into buf (at least
 * NATLOG_TIME_LEN + 1 bytes). */
void natlog_time(char *buf, uint64_t ms);

/* The line (no newline) of connection ev in format fmt (enum
 * natlog_format): its end, or with interim an interim record; first_ms and
 * last_ms are the record's start and end (Unix ms), ev's counters its
 * counters. Returns the length, or 0 if it does not fit in len bytes. */
size_t natlog_format_conn(char *buf, size_t len, int fmt, const struct ct_event *ev,
			  uint64_t first_ms, uint64_t last_ms, bool interim);

/* The line (no newline) of a port block allocated (alloc) or freed at
 * Unix ms t_ms, in format fmt. Fields, in this order: event
 * ("block-alloc" or "block-free"), time (as start and end above), src (the
 * private address), xsrc (the public one), port_start, port_end, step
 * (always 1), ports (port_end - port_start + 1). Returns the length, or 0
 * if it does not fit in len bytes. */
size_t natlog_format_block(char *buf, size_t len, int fmt, const struct portblock *b, bool alloc,
			   uint64_t t_ms);

#endif
