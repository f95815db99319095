/* ipfix: the NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) encoders. A flow
 * record carries a whole connection: the addresses and ports before and after
 * NAT, the counters of both directions, start and end in ms, the conntrack id,
 * the zones as VRF ids, the end reason and a natEvent. A NAT event (RFC 8158
 * session create or delete) has templates of its own: its time, the event,
 * the protocol, the tuple before and after NAT, the VRF ids and the id, no
 * counters. Pure: no sockets, no clocks, no globals; every time is an
 * argument and all state lives in struct ipfix_state. */
#ifndef NFFLOWD_IPFIX_H
#define NFFLOWD_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctmsg.h"

#define IPFIX_V9  9  /* NetFlow version 9, RFC 3954 */
#define IPFIX_V10 10 /* IPFIX, RFC 7011 */

/* The mtu key: the largest IP packet a message travels in, its IP and UDP
 * headers included (RFC 7011 §10.3.3), for every collector version. The
 * default is IPv6's minimum link MTU (RFC 8200 §5): no IPv6 path fragments
 * it. */
#define IPFIX_MTU_DEFAULT 1280
#define IPFIX_MTU_MIN	  512
#define IPFIX_MTU_MAX	  9000

/* What a message's IP packet adds to it: an IPv4 header without options
 * (20 bytes, RFC 791 §3.1) or an IPv6 header (40, RFC 8200 §3), and the UDP
 * header (8, RFC 768). */
#define IPFIX_IP4_UDP_LEN (20 + 8)
#define IPFIX_IP6_UDP_LEN (40 + 8)

/* Bounds of one message (the UDP payload), in bytes: IPFIX_MTU_MIN over
 * IPv6 to IPFIX_MTU_MAX over IPv4; the default, IPFIX_MTU_DEFAULT over IPv6. */
#define IPFIX_MSG_MIN	  (IPFIX_MTU_MIN - IPFIX_IP6_UDP_LEN)
#define IPFIX_MSG_MAX	  (IPFIX_MTU_MAX - IPFIX_IP4_UDP_LEN)
#define IPFIX_MSG_DEFAULT (IPFIX_MTU_DEFAULT - IPFIX_IP6_UDP_LEN)

/* v9: the Sequence Number's offset in the Packet Header (RFC 3954 §5.1). */
#define IPFIX_V9_SEQUENCE_AT 12

/* Template IDs (RFC 3954 §5.2 and RFC 7011 §3.4.1: data set IDs are >= 256):
 * flow records, and NAT events, of each family. */
#define IPFIX_TEMPLATE_IPV4	256
#define IPFIX_TEMPLATE_IPV6	257
#define IPFIX_TEMPLATE_NAT_IPV4 258
#define IPFIX_TEMPLATE_NAT_IPV6 259
/* The options template of the loss reports (RFC 7011 §4.3). */
#define IPFIX_TEMPLATE_LOSS  260
#define IPFIX_TEMPLATE_BLOCK 261 /* port block events (RFC 8158 §4.1.5), IPv4 */

/* natEvent values (IE 230, IANA "NAT Event Type"). */
#define IPFIX_NAT_CREATE	1  /* older exporters: create event */
#define IPFIX_NAT_DELETE	2  /* older exporters: delete event */
#define IPFIX_NAT44_SESSION_ADD 4  /* NAT44 session create (RFC 8158) */
#define IPFIX_NAT44_SESSION_DEL 5  /* NAT44 session delete (RFC 8158) */
#define IPFIX_NAT64_SESSION_ADD 6  /* NAT64 session create (RFC 8158) */
#define IPFIX_NAT64_SESSION_DEL 7  /* NAT64 session delete (RFC 8158) */
#define IPFIX_NAT_BLOCK_ALLOC	16 /* port block allocation (RFC 8158) */
#define IPFIX_NAT_BLOCK_FREE	17 /* port block de-allocation (RFC 8158) */

/* flowEndReason values (IE 136, IANA). */
#define IPFIX_END_IDLE	   1 /* idle timeout */
#define IPFIX_END_ACTIVE   2 /* active timeout */
#define IPFIX_END_OF_FLOW  3 /* end of flow detected */
#define IPFIX_END_FORCED   4 /* forced end */
#define IPFIX_END_RESOURCE 5 /* lack of resources */

/* flowEndReason of a finished connection: end of flow detected for TCP that
 * was closing (FIN or RST seen); else forced end for one a process deleted
 * (conntrack -D or -F); else idle timeout. */
uint8_t ipfix_end_reason(const struct ct_event *ev);

/* What a record is, and so which template it follows. */
enum ipfix_kind {
	IPFIX_FLOW,	 /* a flow record: templates 256 and 257 */
	IPFIX_NAT_EVENT, /* a NAT event (RFC 8158): templates 258 and 259 */
	IPFIX_BLOCK,	 /* a port block event (RFC 8158): template 261 */
};

struct portblock;

/* One record to export (AF_INET or AF_INET6). The reply tuple, counters
 * and id of ev are used when ev->have says they are present; without them
 * the record says no NAT, zero counters, flowId 0. ingressVRFID is
 * ev->orig_zone, egressVRFID ev->reply_zone. */
struct ipfix_rec {
	const struct ct_event *ev;
	uint64_t first_ms;  /* flowStartMilliseconds: Unix epoch ms (flows only) */
	uint64_t last_ms;   /* flowEndMilliseconds and observationTimeMilliseconds:
			     * Unix epoch ms (a NAT event: the event's time) */
	uint8_t end_reason; /* flowEndReason, IPFIX_END_* (0: none; flows only) */
	uint8_t nat_event;  /* natEvent, IPFIX_NAT* (0: none) */
	uint8_t kind;	    /* enum ipfix_kind */
	uint32_t in_if;	    /* ingressInterface: towards the client (flows only; 0: unknown) */
	uint32_t out_if;    /* egressInterface: towards the server after NAT (flows only) */
	const struct portblock *block; /* IPFIX_BLOCK: the block (ev unused, may be NULL) */
};

/* What an Exporting Process did not send (RFC 7011 §4.3, Exporting Process
 * Reliability Statistics): notSentFlowTotalCount (166),
 * notSentPacketTotalCount (167), notSentOctetTotalCount (168), and the
 * time of the first and last loss (flowStartMilliseconds 152,
 * flowEndMilliseconds 153). */
struct ipfix_loss {
	uint64_t flows, packets, octets;
	uint64_t first_ms, last_ms; /* Unix epoch ms; 0: no loss yet */
};

/* Add what one loss at Unix epoch ms t_ms cost to l. */
void ipfix_loss_add(struct ipfix_loss *l, uint64_t flows, uint64_t packets, uint64_t octets,
		    uint64_t t_ms);

/* l plus m (the span covering both). */
struct ipfix_loss ipfix_loss_sum(const struct ipfix_loss *l, const struct ipfix_loss *m);

/* Exporter state for one collector. Read the fields; change them only
 * through the functions below. */
struct ipfix_state {
	int version;	       /* IPFIX_V9 or IPFIX_V10 */
	uint32_t domain;       /* v9 Source ID, IPFIX Observation Domain ID */
	size_t max_len;	       /* largest message written (the UDP payload) */
	unsigned refresh_s;    /* resend templates after this many seconds (0: never) */
	unsigned refresh_pkts; /* ... or every this many messages (0: never) */
	uint32_t packets;      /* messages written so far: the next v9 sequence */
	uint32_t records;      /* data records written so far: the next IPFIX sequence */
	uint64_t tmpl_ns;      /* export time of the last message with templates */
	unsigned since_tmpl;   /* messages with data records since, and including, that one */
	bool tmpl_forced;      /* templates go into the next message */
	bool loss_tmpl;	       /* a loss was reported: the templates include its options template */
	bool blocks;	       /* the port block template is sent too (ipfix_enable_blocks) */
};

/* Set up s for version IPFIX_V9 or IPFIX_V10 with the given Source ID /
 * Observation Domain ID, writing messages of at most max_len bytes (the UDP
 * payload): 0 means IPFIX_MSG_DEFAULT; otherwise it must lie in
 * IPFIX_MSG_MIN..IPFIX_MSG_MAX. Templates are due in the first
 * message. Returns 0, or -1 (s unchanged) for a bad version or max_len. */
int ipfix_init(struct ipfix_state *s, int version, uint32_t domain, size_t max_len,
	       unsigned refresh_s, unsigned refresh_pkts);

/* Send the port block template (261) with the others from now on, and
 * make it due in the next message; without it, IPFIX_BLOCK records are
 * skipped. */
void ipfix_enable_blocks(struct ipfix_state *s);

/* fresh replaces old for the same collector (a reload): it continues old's
 * sequence numbers, and sends the loss and port block templates if old did. */
void ipfix_continue(struct ipfix_state *fresh, const struct ipfix_state *old);

/* Make the next message carry the templates (e.g. the collector came back). */
void ipfix_templates_due(struct ipfix_state *s);

/* True if a message encoded at now_ns (Unix epoch ns) will carry the
 * templates: none sent yet, forced, refresh_s elapsed since the last ones (or
 * the clock went back), or refresh_pkts messages with data records sent
 * since and including the last one with templates. */
bool ipfix_templates_pending(const struct ipfix_state *s, uint64_t now_ns);

/* Encode one message into buf[0..cap), at most s->max_len bytes long: the
 * header, the template set (the flow and NAT event templates of both
 * families) first when ipfix_templates_pending(), then as many of recs[0..n)
 * as fit, in order, in one data set per run of records of the same
 * template. When the templates are due but do not fit together with the
 * first record, the message carries the templates alone and the records
 * wait for the next one. now_ns is the export time (Unix epoch ns); boot_ms
 * is the Unix epoch ms at which v9 sysUptime was 0 (unused by IPFIX).
 *
 * Returns the message length; the state then counts the message as sent
 * (sequence numbers, template refresh; a message without data records does
 * not count towards refresh_pkts). Returns 0, s unchanged, when no message
 * was written: nothing to send (no record to write and no templates due), or
 * cap cannot hold the header and the due templates, or without templates due
 * the header and the first record (cap >= IPFIX_MSG_MIN always can). *used
 * is set to the number of records consumed: those in the message plus any
 * skipped (a family neither AF_INET nor AF_INET6, an IPFIX_BLOCK record
 * without its block or before ipfix_enable_blocks), even when they were all
 * skipped and nothing was written; it is 0 when cap was too small. */
size_t ipfix_encode(struct ipfix_state *s, uint8_t *buf, size_t cap, uint64_t now_ns,
		    uint64_t boot_ms, const struct ipfix_rec *recs, size_t n, size_t *used);

/* Encode one message reporting l (RFC 7011 §4.3) into buf[0..cap): the
 * header, the templates if they are due (the options template among them
 * from now on), else the options template alone (IPFIX Set ID 3, RFC 7011
 * §3.4.2.2; v9 FlowSet ID 1, RFC 3954 §6.1), and one options data record
 * (template IPFIX_TEMPLATE_LOSS): the scope, exportingProcessId (IE 144;
 * v9: scope System, type 1) = s->domain, then 166, 167, 168, 152, 153 from
 * l. The record counts as a data record (IPFIX sequence). Returns the
 * length, or 0 (s unchanged) if cap is too small. */
size_t ipfix_encode_loss(struct ipfix_state *s, uint8_t *buf, size_t cap, uint64_t now_ns,
			 uint64_t boot_ms, const struct ipfix_loss *l);

/* A message carrying only the templates, as if encoded when the message msg
 * (one this state encoded earlier) was: with msg's sequence number, so that
 * it can be sent just before msg (a collector that comes back after an
 * outage gets the templates before the data held for it; IPFIX lets a
 * message without data records repeat the number). s is not changed. v9
 * numbers export packets: its sender must renumber (see exporter.h).
 * Returns the length, or 0 if msg is not a message of this version or cap is
 * too small. */
size_t ipfix_templates_before(const struct ipfix_state *s, const uint8_t *msg, size_t msglen,
			      uint8_t *buf, size_t cap, uint64_t now_ns, uint64_t boot_ms);

#endif
