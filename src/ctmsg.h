/* ctmsg: parse one ctnetlink message (event or dump entry) into a ct_event.
 * Pure: no sockets, no clocks. Every attribute is checked for type and length
 * before it is read. */
#ifndef NFFLOWD_CTMSG_H
#define NFFLOWD_CTMSG_H

#include <linux/netlink.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

enum ct_evtype {
	CT_EV_NEW = 1, /* IPCTNL_MSG_CT_NEW with NLM_F_CREATE: a new connection */
	CT_EV_UPDATE,  /* IPCTNL_MSG_CT_NEW without NLM_F_CREATE: update or dump entry */
	CT_EV_DESTROY, /* IPCTNL_MSG_CT_DELETE: the connection ended */
};

/* Which optional parts were present in the message. */
enum ct_have {
	CT_HAVE_REPLY = 1u << 0,      /* CTA_TUPLE_REPLY */
	CT_HAVE_COUNTERS = 1u << 1,   /* CTA_COUNTERS_ORIG and CTA_COUNTERS_REPLY */
	CT_HAVE_TS_START = 1u << 2,   /* CTA_TIMESTAMP_START */
	CT_HAVE_TS_STOP = 1u << 3,    /* CTA_TIMESTAMP_STOP */
	CT_HAVE_STATUS = 1u << 4,     /* CTA_STATUS */
	CT_HAVE_TIMEOUT = 1u << 5,    /* CTA_TIMEOUT */
	CT_HAVE_MARK = 1u << 6,	      /* CTA_MARK */
	CT_HAVE_ZONE = 1u << 7,	      /* CTA_ZONE */
	CT_HAVE_ID = 1u << 8,	      /* CTA_ID */
	CT_HAVE_TCP_STATE = 1u << 10, /* CTA_PROTOINFO_TCP_STATE */
	CT_HAVE_TS_EVENT = 1u << 9,   /* CTA_TIMESTAMP_EVENT (Linux 6.14 and later) */
};

/* One direction of a connection. Addresses are in network byte order: IPv4 in
 * the first 4 bytes, the rest zero. Ports are in host byte order. For ICMP and
 * ICMPv6 sport is the echo identifier and dport is type * 256 + code. */
struct ct_tuple {
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t proto;
};

struct ct_counters {
	uint64_t packets;
	uint64_t bytes;
};

struct ct_event {
	enum ct_evtype type;
	uint8_t family; /* AF_INET or AF_INET6, from nfgenmsg */
	uint32_t have;	/* enum ct_have bits */
	uint32_t id;	/* CTA_ID */
	uint32_t status;
	uint32_t timeout; /* seconds left, CTA_TIMEOUT */
	uint32_t mark;
	uint16_t zone;	     /* CTA_ZONE: the zone of both directions (CT_HAVE_ZONE) */
	uint16_t orig_zone;  /* the original direction's zone: CTA_ZONE, else the
			      * CTA_TUPLE_ZONE in the original tuple (a zone of that
			      * direction alone), else 0 (the default zone) */
	uint16_t reply_zone; /* the reply direction's zone: CTA_ZONE, else the
			      * CTA_TUPLE_ZONE in the reply tuple, else 0 */
	uint8_t tcp_state;   /* enum tcp_conntrack (linux/netfilter/nf_conntrack_tcp.h) */
	bool by_request;     /* a DESTROY a process asked for (conntrack -D or -F): the
			      * kernel puts the requester's port id in nlmsg_pid */
	struct ct_tuple orig;
	struct ct_tuple reply;
	struct ct_counters cnt_orig;
	struct ct_counters cnt_reply;
	uint64_t start_ns; /* CLOCK_REALTIME ns, CTA_TIMESTAMP_START */
	uint64_t stop_ns;  /* CLOCK_REALTIME ns, CTA_TIMESTAMP_STOP */
	uint64_t event_ns; /* CLOCK_REALTIME ns when the kernel made the event */
};

enum ctmsg_result {
	CTMSG_OK = 0,
	CTMSG_NOT_CT,	 /* not a conntrack entry (other subsystem, type or family) */
	CTMSG_MALFORMED, /* truncated header, bad attribute type or length */
	CTMSG_NO_TUPLE,	 /* missing original tuple or its addresses/protocol */
};

/* Parse nlh (which the caller has checked to lie within its buffer, with
 * nlh->nlmsg_len bytes readable) into *ev. Returns CTMSG_OK and a filled *ev,
 * or another enum ctmsg_result with *ev unspecified. Never reads past
 * nlh->nlmsg_len and never allocates.
 *
 * CTMSG_NOT_CT: a subsystem other than ctnetlink, a type other than
 * IPCTNL_MSG_CT_NEW or IPCTNL_MSG_CT_DELETE, or a family other than AF_INET or
 * AF_INET6. CTMSG_MALFORMED: a header or attribute cut short, a known
 * attribute of the wrong length, an address of the other family, or an
 * incomplete reply tuple or counters pair. Attribute types newer than this
 * parser are skipped. A message cut exactly between two top-level attributes
 * cannot be told from a shorter one: it parses if its original tuple is whole. */
enum ctmsg_result ctmsg_parse(const struct nlmsghdr *nlh, struct ct_event *ev);

/* A short name for a result, for counters and logs. */
const char *ctmsg_strerror(enum ctmsg_result r);

#endif
