/* ctmsg: parse one ctnetlink message into a struct ct_event.
 *
 * Layout: struct nlmsghdr, struct nfgenmsg, then CTA_* attributes, some of
 * them nested. Every attribute is checked for type and length before it is
 * read; types newer than this file are skipped; a stream of attributes that
 * ends inside an attribute is malformed. Nothing is allocated. */
#include "ctmsg.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

/* CTA_TIMESTAMP_EVENT (Linux 6.14): u64 big endian, CLOCK_REALTIME ns when
 * the event was made. Older uapi headers lack it, so it is named here. */
enum { CT_ATTR_TIMESTAMP_EVENT = CTA_STATUS_MASK + 1 };

/* The highest top-level attribute type read here; higher ones are skipped. */
enum { CT_ATTR_MAX = CT_ATTR_TIMESTAMP_EVENT };

/* ICMP and ICMPv6 in a tuple: dport = type * 256 + code (NetFlow convention). */
enum { ICMP_TYPE_SHIFT = 8, ICMP_CODE_MASK = 0xff };

/* Address lengths of CTA_IP_V4_* and CTA_IP_V6_*. */
enum { IPV4_ADDR_LEN = 4, IPV6_ADDR_LEN = 16 };

/* Parts of the tuple or counters nest being read. */
enum {
	SEEN_SRC = 1u << 0,
	SEEN_DST = 1u << 1,
	SEEN_PROTO = 1u << 2,
	SEEN_PACKETS = 1u << 3,
	SEEN_BYTES = 1u << 4,
	SEEN_TUPLE = SEEN_SRC | SEEN_DST | SEEN_PROTO,
	SEEN_COUNTERS = SEEN_PACKETS | SEEN_BYTES,
};

/* Directions whose counters were read. */
enum { CNT_ORIG = 1u << 0, CNT_REPLY = 1u << 1, CNT_BOTH = CNT_ORIG | CNT_REPLY };

/* State shared by the attribute callbacks of one message. */
struct parse {
	struct ct_event *ev;
	struct ct_tuple *tuple;	 /* the tuple being read */
	struct ct_counters *cnt; /* the counters being read */
	unsigned seen;		 /* SEEN_* bits of the nest being read */
	unsigned cnt_dirs;	 /* CNT_* bits */
	bool orig_ok;		 /* a whole original tuple was read */
	uint16_t tuple_zone[2];	 /* CTA_TUPLE_ZONE of the original and reply tuples */
};

/* The attribute layer, inline: the parser runs for every event, and calls
 * into the shared libmnl for each attribute cost more than the checks. The
 * checks are libmnl's: a header that fits, a length that fits, 4-byte
 * alignment (RFC 3549 §2.3.2), the type without its flag bits. */
static inline uint16_t attr_type(const struct nlattr *a)
{
	return a->nla_type & NLA_TYPE_MASK;
}

static inline size_t attr_len(const struct nlattr *a)
{
	return (size_t)a->nla_len - NLA_HDRLEN;
}

static inline const void *attr_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

/* A type newer than the kernel headers nfflowd knows: skipped. */
static inline bool type_unknown(const struct nlattr *a, uint16_t max)
{
	return attr_type(a) > max;
}

static int cb_result(bool ok)
{
	return ok ? MNL_CB_OK : MNL_CB_ERROR;
}

/* Runs cb on each attribute of the len bytes at payload. False if cb failed
 * or the bytes end inside an attribute. */
static bool walk_payload(const void *payload, size_t len, mnl_attr_cb_t cb, struct parse *p)
{
	const char *base = payload;
	size_t off = 0;

	while (len - off >= sizeof(struct nlattr)) {
		const struct nlattr *a = (const void *)(base + off);
		if (a->nla_len < sizeof *a || a->nla_len > len - off || cb(a, p) != MNL_CB_OK)
			return false;
		off += NLA_ALIGN(a->nla_len);
		if (off > len)
			off = len; /* the last attribute's padding */
	}
	return off == len;
}

/* A nest: empty, or holding at least one attribute header. */
static bool walk_nested(const struct nlattr *nest, mnl_attr_cb_t cb, struct parse *p)
{
	size_t len = attr_len(nest);

	if (len > 0 && len < NLA_HDRLEN)
		return false;
	return walk_payload(attr_data(nest), len, cb, p);
}

/* Fixed-size payloads must have exactly their size. u64 payloads are often
 * only 4-byte aligned: every value is copied out. */
static bool read_u8(const struct nlattr *attr, uint8_t *out)
{
	if (attr_len(attr) != sizeof *out)
		return false;
	*out = *(const uint8_t *)attr_data(attr);
	return true;
}

static bool read_be16(const struct nlattr *attr, uint16_t *out)
{
	uint16_t v;

	if (attr_len(attr) != sizeof v)
		return false;
	memcpy(&v, attr_data(attr), sizeof v);
	*out = ntohs(v);
	return true;
}

static bool read_be32(const struct nlattr *attr, uint32_t *out)
{
	uint32_t v;

	if (attr_len(attr) != sizeof v)
		return false;
	memcpy(&v, attr_data(attr), sizeof v);
	*out = ntohl(v);
	return true;
}

static bool read_be64(const struct nlattr *attr, uint64_t *out)
{
	uint64_t v;

	if (attr_len(attr) != sizeof v)
		return false;
	memcpy(&v, attr_data(attr), sizeof v);
	*out = be64toh(v);
	return true;
}

/* Readers that also record presence: in ev->have (have_*) or in p->seen. */
static int have_be16(const struct nlattr *attr, uint16_t *out, struct ct_event *ev, uint32_t bit)
{
	if (!read_be16(attr, out))
		return MNL_CB_ERROR;
	ev->have |= bit;
	return MNL_CB_OK;
}

static int have_be32(const struct nlattr *attr, uint32_t *out, struct ct_event *ev, uint32_t bit)
{
	if (!read_be32(attr, out))
		return MNL_CB_ERROR;
	ev->have |= bit;
	return MNL_CB_OK;
}

static int have_be64(const struct nlattr *attr, uint64_t *out, struct ct_event *ev, uint32_t bit)
{
	if (!read_be64(attr, out))
		return MNL_CB_ERROR;
	ev->have |= bit;
	return MNL_CB_OK;
}

static int seen_be32(const struct nlattr *attr, uint64_t *out, struct parse *p, unsigned bit)
{
	uint32_t v;

	if (!read_be32(attr, &v))
		return MNL_CB_ERROR;
	*out = v;
	p->seen |= bit;
	return MNL_CB_OK;
}

static int seen_be64(const struct nlattr *attr, uint64_t *out, struct parse *p, unsigned bit)
{
	if (!read_be64(attr, out))
		return MNL_CB_ERROR;
	p->seen |= bit;
	return MNL_CB_OK;
}

static int on_addr(const struct nlattr *attr, struct parse *p, uint8_t family, uint8_t *out,
		   unsigned bit)
{
	size_t len = family == AF_INET ? IPV4_ADDR_LEN : IPV6_ADDR_LEN;

	if (p->ev->family != family || attr_len(attr) != len)
		return MNL_CB_ERROR;
	memcpy(out, attr_data(attr), len);
	p->seen |= bit;
	return MNL_CB_OK;
}

static int ip_cb(const struct nlattr *attr, void *data)
{
	struct parse *p = data;
	struct ct_tuple *t = p->tuple;

	if (type_unknown(attr, CTA_IP_MAX))
		return MNL_CB_OK;
	switch (attr_type(attr)) {
	case CTA_IP_V4_SRC:
		return on_addr(attr, p, AF_INET, t->src, SEEN_SRC);
	case CTA_IP_V4_DST:
		return on_addr(attr, p, AF_INET, t->dst, SEEN_DST);
	case CTA_IP_V6_SRC:
		return on_addr(attr, p, AF_INET6, t->src, SEEN_SRC);
	case CTA_IP_V6_DST:
		return on_addr(attr, p, AF_INET6, t->dst, SEEN_DST);
	default:
		return MNL_CB_OK;
	}
}

static int on_proto_num(const struct nlattr *attr, struct parse *p)
{
	if (!read_u8(attr, &p->tuple->proto))
		return MNL_CB_ERROR;
	p->seen |= SEEN_PROTO;
	return MNL_CB_OK;
}

static int on_port(const struct nlattr *attr, uint16_t *out)
{
	return cb_result(read_be16(attr, out));
}

static int on_icmp_type(const struct nlattr *attr, struct ct_tuple *t)
{
	uint8_t type;

	if (!read_u8(attr, &type))
		return MNL_CB_ERROR;
	t->dport = (uint16_t)((unsigned)type << ICMP_TYPE_SHIFT | (t->dport & ICMP_CODE_MASK));
	return MNL_CB_OK;
}

static int on_icmp_code(const struct nlattr *attr, struct ct_tuple *t)
{
	uint8_t code;

	if (!read_u8(attr, &code))
		return MNL_CB_ERROR;
	t->dport = (uint16_t)((t->dport & ~ICMP_CODE_MASK) | code);
	return MNL_CB_OK;
}

static int proto_cb(const struct nlattr *attr, void *data)
{
	struct parse *p = data;
	struct ct_tuple *t = p->tuple;

	if (type_unknown(attr, CTA_PROTO_MAX))
		return MNL_CB_OK;
	switch (attr_type(attr)) {
	case CTA_PROTO_NUM:
		return on_proto_num(attr, p);
	case CTA_PROTO_SRC_PORT:
	case CTA_PROTO_ICMP_ID:
	case CTA_PROTO_ICMPV6_ID:
		return on_port(attr, &t->sport);
	case CTA_PROTO_DST_PORT:
		return on_port(attr, &t->dport);
	case CTA_PROTO_ICMP_TYPE:
	case CTA_PROTO_ICMPV6_TYPE:
		return on_icmp_type(attr, t);
	case CTA_PROTO_ICMP_CODE:
	case CTA_PROTO_ICMPV6_CODE:
		return on_icmp_code(attr, t);
	default:
		return MNL_CB_OK;
	}
}

static int tuple_cb(const struct nlattr *attr, void *data)
{
	struct parse *p = data;

	if (type_unknown(attr, CTA_TUPLE_MAX))
		return MNL_CB_OK;
	switch (attr_type(attr)) {
	case CTA_TUPLE_IP:
		return cb_result(walk_nested(attr, ip_cb, p));
	case CTA_TUPLE_PROTO:
		return cb_result(walk_nested(attr, proto_cb, p));
	case CTA_TUPLE_ZONE: /* a zone of this tuple's direction alone */
		return cb_result(read_be16(attr, &p->tuple_zone[p->tuple == &p->ev->orig ? 0 : 1]));
	default:
		return MNL_CB_OK;
	}
}

/* Reads a tuple nest into *t; p->seen then tells which parts it had. */
static bool read_tuple(const struct nlattr *attr, struct parse *p, struct ct_tuple *t)
{
	memset(t, 0, sizeof *t);
	p->tuple = t;
	p->seen = 0;
	return walk_nested(attr, tuple_cb, p);
}

/* An incomplete original tuple is not an error here: it yields NO_TUPLE. */
static int on_orig(const struct nlattr *attr, struct parse *p)
{
	if (!read_tuple(attr, p, &p->ev->orig))
		return MNL_CB_ERROR;
	p->orig_ok = (p->seen & SEEN_TUPLE) == SEEN_TUPLE;
	return MNL_CB_OK;
}

static int on_reply(const struct nlattr *attr, struct parse *p)
{
	if (!read_tuple(attr, p, &p->ev->reply) || (p->seen & SEEN_TUPLE) != SEEN_TUPLE)
		return MNL_CB_ERROR;
	p->ev->have |= CT_HAVE_REPLY;
	return MNL_CB_OK;
}

static int counters_cb(const struct nlattr *attr, void *data)
{
	struct parse *p = data;

	if (type_unknown(attr, CTA_COUNTERS_MAX))
		return MNL_CB_OK;
	switch (attr_type(attr)) {
	case CTA_COUNTERS_PACKETS:
		return seen_be64(attr, &p->cnt->packets, p, SEEN_PACKETS);
	case CTA_COUNTERS_BYTES:
		return seen_be64(attr, &p->cnt->bytes, p, SEEN_BYTES);
	case CTA_COUNTERS32_PACKETS:
		return seen_be32(attr, &p->cnt->packets, p, SEEN_PACKETS);
	case CTA_COUNTERS32_BYTES:
		return seen_be32(attr, &p->cnt->bytes, p, SEEN_BYTES);
	default:
		return MNL_CB_OK;
	}
}

/* A counters nest must hold both packets and bytes. */
static int on_counters(const struct nlattr *attr, struct parse *p, struct ct_counters *c,
		       unsigned dir)
{
	memset(c, 0, sizeof *c);
	p->cnt = c;
	p->seen = 0;
	if (!walk_nested(attr, counters_cb, p) || p->seen != SEEN_COUNTERS)
		return MNL_CB_ERROR;
	p->cnt_dirs |= dir;
	if (p->cnt_dirs == CNT_BOTH)
		p->ev->have |= CT_HAVE_COUNTERS;
	return MNL_CB_OK;
}

static int tstamp_cb(const struct nlattr *attr, void *data)
{
	struct parse *p = data;
	struct ct_event *ev = p->ev;

	if (type_unknown(attr, CTA_TIMESTAMP_MAX))
		return MNL_CB_OK;
	switch (attr_type(attr)) {
	case CTA_TIMESTAMP_START:
		return have_be64(attr, &ev->start_ns, ev, CT_HAVE_TS_START);
	case CTA_TIMESTAMP_STOP:
		return have_be64(attr, &ev->stop_ns, ev, CT_HAVE_TS_STOP);
	default:
		return MNL_CB_OK;
	}
}

static int tcp_info_cb(const struct nlattr *attr, void *data)
{
	struct ct_event *ev = ((struct parse *)data)->ev;

	if (type_unknown(attr, CTA_PROTOINFO_TCP_MAX) || attr_type(attr) != CTA_PROTOINFO_TCP_STATE)
		return MNL_CB_OK;
	if (!read_u8(attr, &ev->tcp_state))
		return MNL_CB_ERROR;
	ev->have |= CT_HAVE_TCP_STATE;
	return MNL_CB_OK;
}

/* Only TCP's state is kept: it tells how a connection ended. */
static int protoinfo_cb(const struct nlattr *attr, void *data)
{
	if (type_unknown(attr, CTA_PROTOINFO_MAX) || attr_type(attr) != CTA_PROTOINFO_TCP)
		return MNL_CB_OK;
	return cb_result(walk_nested(attr, tcp_info_cb, data));
}

static int top_cb(const struct nlattr *attr, void *data)
{
	struct parse *p = data;
	struct ct_event *ev = p->ev;

	if (type_unknown(attr, CT_ATTR_MAX))
		return MNL_CB_OK;
	switch (attr_type(attr)) {
	case CTA_TUPLE_ORIG:
		return on_orig(attr, p);
	case CTA_TUPLE_REPLY:
		return on_reply(attr, p);
	case CTA_STATUS:
		return have_be32(attr, &ev->status, ev, CT_HAVE_STATUS);
	case CTA_TIMEOUT:
		return have_be32(attr, &ev->timeout, ev, CT_HAVE_TIMEOUT);
	case CTA_MARK:
		return have_be32(attr, &ev->mark, ev, CT_HAVE_MARK);
	case CTA_ID:
		return have_be32(attr, &ev->id, ev, CT_HAVE_ID);
	case CTA_ZONE:
		return have_be16(attr, &ev->zone, ev, CT_HAVE_ZONE);
	case CTA_COUNTERS_ORIG:
		return on_counters(attr, p, &ev->cnt_orig, CNT_ORIG);
	case CTA_COUNTERS_REPLY:
		return on_counters(attr, p, &ev->cnt_reply, CNT_REPLY);
	case CTA_TIMESTAMP:
		return cb_result(walk_nested(attr, tstamp_cb, p));
	case CTA_PROTOINFO:
		return cb_result(walk_nested(attr, protoinfo_cb, p));
	case CT_ATTR_TIMESTAMP_EVENT:
		return have_be64(attr, &ev->event_ns, ev, CT_HAVE_TS_EVENT);
	default:
		return MNL_CB_OK; /* known, not needed */
	}
}

static enum ctmsg_result parse_type(const struct nlmsghdr *nlh, struct ct_event *ev)
{
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return CTMSG_NOT_CT;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case IPCTNL_MSG_CT_NEW:
		ev->type =
		    (nlh->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) ? CT_EV_NEW : CT_EV_UPDATE;
		return CTMSG_OK;
	case IPCTNL_MSG_CT_DELETE:
		ev->type = CT_EV_DESTROY;
		ev->by_request = nlh->nlmsg_pid != 0;
		return CTMSG_OK;
	default:
		return CTMSG_NOT_CT;
	}
}

static enum ctmsg_result parse_family(const struct nlmsghdr *nlh, struct ct_event *ev)
{
	const struct nfgenmsg *nfg;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof *nfg)
		return CTMSG_MALFORMED;
	nfg = (const void *)((const char *)nlh + MNL_NLMSG_HDRLEN);
	if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6)
		return CTMSG_NOT_CT;
	ev->family = nfg->nfgen_family;
	return CTMSG_OK;
}

/* The kernel puts a zone of both directions in CTA_ZONE, and a zone of one
 * direction alone (conntrack's directional zones) in that direction's tuple
 * as CTA_TUPLE_ZONE; the other direction is then in the default zone 0. */
static void set_dir_zones(struct ct_event *ev, const struct parse *p)
{
	bool both = (ev->have & CT_HAVE_ZONE) != 0;

	ev->orig_zone = both ? ev->zone : p->tuple_zone[0];
	ev->reply_zone = both ? ev->zone : p->tuple_zone[1];
}

/* The attributes are walked over exactly nlmsg_len bytes: mnl_attr_parse
 * would round nlmsg_len up to the alignment and could read past it. */
static enum ctmsg_result parse_attrs(const struct nlmsghdr *nlh, struct ct_event *ev)
{
	size_t off = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	struct parse p = {.ev = ev};

	if (nlh->nlmsg_len < off)
		return CTMSG_MALFORMED;
	if (!walk_payload((const char *)nlh + off, nlh->nlmsg_len - off, top_cb, &p))
		return CTMSG_MALFORMED;
	set_dir_zones(ev, &p);
	return p.orig_ok ? CTMSG_OK : CTMSG_NO_TUPLE;
}

enum ctmsg_result ctmsg_parse(const struct nlmsghdr *nlh, struct ct_event *ev)
{
	enum ctmsg_result r;

	memset(ev, 0, sizeof *ev);
	if (nlh->nlmsg_len < sizeof *nlh)
		return CTMSG_MALFORMED;
	r = parse_type(nlh, ev);
	if (r == CTMSG_OK)
		r = parse_family(nlh, ev);
	if (r == CTMSG_OK)
		r = parse_attrs(nlh, ev);
	return r;
}

const char *ctmsg_strerror(enum ctmsg_result r)
{
	switch (r) {
	case CTMSG_OK:
		return "ok";
	case CTMSG_NOT_CT:
		return "not conntrack";
	case CTMSG_MALFORMED:
		return "malformed";
	case CTMSG_NO_TUPLE:
		return "no tuple";
	}
	return "unknown";
}
