#include "check.h"
#include "ctmsg.h"

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* An attribute type above every CTA_* a kernel has defined so far. */
enum { ATTR_FROM_THE_FUTURE = 60 };
/* CTA_TIMESTAMP_EVENT (Linux 6.14), absent from older uapi headers. */
enum { ATTR_TIMESTAMP_EVENT = CTA_STATUS_MASK + 1 };
/* NFNL_SUBSYS_CTNETLINK in the high byte of nlmsg_type. */
enum { SUBSYS_SHIFT = 8 };

enum { MSG_MAX = 2048 };

struct msg {
	alignas(struct nlmsghdr) char buf[MSG_MAX];
};

/* A message to build: header and nfgenmsg, attributes added by the caller. */
static struct nlmsghdr *msg_start(struct msg *m, uint8_t subsys, uint8_t cttype, uint16_t flags,
				  uint8_t family)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	memset(m->buf, 0, sizeof m->buf);
	nlh = mnl_nlmsg_put_header(m->buf);
	nlh->nlmsg_type = (uint16_t)(subsys << SUBSYS_SHIFT | cttype);
	nlh->nlmsg_flags = flags;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	return nlh;
}

static struct nlmsghdr *ct_start(struct msg *m, uint8_t cttype, uint16_t flags, uint8_t family)
{
	return msg_start(m, NFNL_SUBSYS_CTNETLINK, cttype, flags, family);
}

static struct ct_tuple tuple_of(int family, const char *src, const char *dst, uint8_t proto,
				uint16_t sport, uint16_t dport)
{
	struct ct_tuple t;

	memset(&t, 0, sizeof t);
	if (inet_pton(family, src, t.src) != 1 || inet_pton(family, dst, t.dst) != 1)
		fprintf(stderr, "bad test address %s or %s\n", src, dst);
	t.proto = proto;
	t.sport = sport;
	t.dport = dport;
	return t;
}

static void put_addrs(struct nlmsghdr *nlh, int family, const struct ct_tuple *t)
{
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	if (family == AF_INET) {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, t->src);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, t->dst);
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, t->src);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, t->dst);
	}
	mnl_attr_nest_end(nlh, ip);
}

/* ICMP carries id, type and code where other protocols carry ports. */
static void put_proto(struct nlmsghdr *nlh, const struct ct_tuple *t)
{
	struct nlattr *proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);

	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	if (t->proto == IPPROTO_ICMP) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(t->sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, (uint8_t)(t->dport >> 8));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, (uint8_t)t->dport);
	} else if (t->proto == IPPROTO_ICMPV6) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMPV6_ID, htons(t->sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_TYPE, (uint8_t)(t->dport >> 8));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_CODE, (uint8_t)t->dport);
	} else {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	}
	mnl_attr_nest_end(nlh, proto);
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, int family, const struct ct_tuple *t)
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, type);

	put_addrs(nlh, family, t);
	put_proto(nlh, t);
	mnl_attr_nest_end(nlh, tuple);
}

static void put_counters(struct nlmsghdr *nlh, uint16_t type, uint64_t packets, uint64_t bytes)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(packets));
	mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(bytes));
	mnl_attr_nest_end(nlh, nest);
}

static void put_counters32(struct nlmsghdr *nlh, uint16_t type, uint32_t packets, uint32_t bytes)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u32(nlh, CTA_COUNTERS32_PACKETS, htonl(packets));
	mnl_attr_put_u32(nlh, CTA_COUNTERS32_BYTES, htonl(bytes));
	mnl_attr_nest_end(nlh, nest);
}

static void put_timestamps(struct nlmsghdr *nlh, uint64_t start, uint64_t stop)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);

	mnl_attr_put_u64(nlh, CTA_TIMESTAMP_START, htobe64(start));
	mnl_attr_put_u64(nlh, CTA_TIMESTAMP_STOP, htobe64(stop));
	mnl_attr_nest_end(nlh, nest);
}

static bool tuple_eq(const struct ct_tuple *got, const struct ct_tuple *want)
{
	if (memcmp(got->src, want->src, sizeof got->src) == 0 &&
	    memcmp(got->dst, want->dst, sizeof got->dst) == 0 && got->sport == want->sport &&
	    got->dport == want->dport && got->proto == want->proto)
		return true;
	fprintf(stderr, "tuple proto %u ports %u -> %u, expected proto %u ports %u -> %u\n",
		got->proto, got->sport, got->dport, want->proto, want->sport, want->dport);
	return false;
}

/* A new IPv4 TCP connection, as the kernel announces it. */
static struct nlmsghdr *build_new_tcp4(struct msg *m)
{
	struct nlmsghdr *nlh = ct_start(m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, AF_INET);
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "192.0.2.80", IPPROTO_TCP, 40001, 443);
	struct ct_tuple r = tuple_of(AF_INET, "192.0.2.80", "10.0.0.1", IPPROTO_TCP, 443, 40001);

	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, AF_INET, &r);
	mnl_attr_put_u32(nlh, CTA_ID, htonl(0x01020304));
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(0x188));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(120));
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(0xdeadbeef));
	mnl_attr_put_u16(nlh, CTA_ZONE, htons(7));
	return nlh;
}

/* A minimal message: just an original tuple. */
static struct nlmsghdr *build_orig_only(struct msg *m, uint8_t cttype)
{
	struct nlmsghdr *nlh = ct_start(m, cttype, 0, AF_INET);
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 53, 5353);

	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET, &o);
	return nlh;
}

static void test_new_tcp4(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = build_new_tcp4(&m);
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "192.0.2.80", IPPROTO_TCP, 40001, 443);
	struct ct_tuple r = tuple_of(AF_INET, "192.0.2.80", "10.0.0.1", IPPROTO_TCP, 443, 40001);

	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.type, CT_EV_NEW);
	CHECK_EQ_U64(ev.family, AF_INET);
	CHECK(tuple_eq(&ev.orig, &o));
	CHECK(tuple_eq(&ev.reply, &r));
	CHECK_EQ_U64(ev.have, CT_HAVE_REPLY | CT_HAVE_ID | CT_HAVE_STATUS | CT_HAVE_TIMEOUT |
				  CT_HAVE_MARK | CT_HAVE_ZONE);
	CHECK_EQ_U64(ev.id, 0x01020304);
	CHECK_EQ_U64(ev.status, 0x188);
	CHECK_EQ_U64(ev.timeout, 120);
	CHECK_EQ_U64(ev.mark, 0xdeadbeef);
	CHECK_EQ_U64(ev.zone, 7);
	CHECK_EQ_U64(ev.cnt_orig.packets, 0);
	CHECK_EQ_U64(ev.start_ns, 0);
}

static void test_event_types(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = build_orig_only(&m, IPCTNL_MSG_CT_NEW);

	nlh->nlmsg_flags = NLM_F_EXCL;
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.type, CT_EV_NEW);
	nlh->nlmsg_flags = NLM_F_CREATE;
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.type, CT_EV_NEW);
	nlh->nlmsg_flags = 0; /* an update event */
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.type, CT_EV_UPDATE);
	nlh->nlmsg_flags = NLM_F_MULTI; /* a dump entry */
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.type, CT_EV_UPDATE);
	CHECK_EQ_U64(ev.have, 0);
	CHECK(!ev.by_request);
	nlh = build_orig_only(&m, IPCTNL_MSG_CT_DELETE);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.type, CT_EV_DESTROY);
	CHECK(!ev.by_request); /* the kernel ended it (timeout) */
	nlh->nlmsg_pid = 4242; /* conntrack -D: the requester's port id */
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK(ev.by_request);
	nlh = build_orig_only(&m, IPCTNL_MSG_CT_NEW);
	nlh->nlmsg_pid = 4242; /* a dump entry answers our own port id */
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK(!ev.by_request);
}

static void test_destroy_counters_timestamps(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = build_orig_only(&m, IPCTNL_MSG_CT_DELETE);

	put_counters(nlh, CTA_COUNTERS_ORIG, 5000000000ull, 0x123456789abcull);
	put_counters(nlh, CTA_COUNTERS_REPLY, 3, 252);
	put_timestamps(nlh, 1700000000123456789ull, 1700000042987654321ull);
	mnl_attr_put_u64(nlh, ATTR_TIMESTAMP_EVENT, htobe64(1700000042987654999ull));
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.type, CT_EV_DESTROY);
	CHECK_EQ_U64(ev.have,
		     CT_HAVE_COUNTERS | CT_HAVE_TS_START | CT_HAVE_TS_STOP | CT_HAVE_TS_EVENT);
	CHECK_EQ_U64(ev.cnt_orig.packets, 5000000000ull);
	CHECK_EQ_U64(ev.cnt_orig.bytes, 0x123456789abcull);
	CHECK_EQ_U64(ev.cnt_reply.packets, 3);
	CHECK_EQ_U64(ev.cnt_reply.bytes, 252);
	CHECK_EQ_U64(ev.start_ns, 1700000000123456789ull);
	CHECK_EQ_U64(ev.stop_ns, 1700000042987654321ull);
	CHECK_EQ_U64(ev.event_ns, 1700000042987654999ull);
}

static void test_counters32(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = build_orig_only(&m, IPCTNL_MSG_CT_DELETE);

	put_counters32(nlh, CTA_COUNTERS_ORIG, 10, 0xfffffff0u);
	put_counters32(nlh, CTA_COUNTERS_REPLY, 20, 2000);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.have, CT_HAVE_COUNTERS);
	CHECK_EQ_U64(ev.cnt_orig.packets, 10);
	CHECK_EQ_U64(ev.cnt_orig.bytes, 0xfffffff0u);
	CHECK_EQ_U64(ev.cnt_reply.packets, 20);
	CHECK_EQ_U64(ev.cnt_reply.bytes, 2000);
}

/* Counters for one direction only are kept, but not announced as a pair. */
static void test_counters_one_direction(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = build_orig_only(&m, IPCTNL_MSG_CT_DELETE);

	put_counters(nlh, CTA_COUNTERS_ORIG, 1, 60);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.have & CT_HAVE_COUNTERS, 0);
	CHECK_EQ_U64(ev.cnt_orig.bytes, 60);
	nlh = build_orig_only(&m, IPCTNL_MSG_CT_DELETE);
	put_counters(nlh, CTA_COUNTERS_REPLY, 1, 60);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.have & CT_HAVE_COUNTERS, 0);
}

static void test_ipv6(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET6);
	struct ct_tuple o =
	    tuple_of(AF_INET6, "2001:db8::1", "2001:db8:1::53", IPPROTO_UDP, 5353, 53);
	struct ct_tuple r =
	    tuple_of(AF_INET6, "2001:db8:1::53", "2001:db8::1", IPPROTO_UDP, 53, 5353);

	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET6, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, AF_INET6, &r);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.family, AF_INET6);
	CHECK(tuple_eq(&ev.orig, &o));
	CHECK(tuple_eq(&ev.reply, &r));
	CHECK_EQ_U64(ev.have, CT_HAVE_REPLY);
}

static void test_icmp(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	/* echo request: type 8 code 0; dport = type * 256 + code */
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "10.0.0.2", IPPROTO_ICMP, 0x4242, 8 << 8);
	struct ct_tuple r = tuple_of(AF_INET, "10.0.0.2", "10.0.0.1", IPPROTO_ICMP, 0x4242, 0);

	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, AF_INET, &r);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK(tuple_eq(&ev.orig, &o));
	CHECK(tuple_eq(&ev.reply, &r));
	CHECK_EQ_U64(ev.orig.sport, 0x4242);
	CHECK_EQ_U64(ev.orig.dport, 2048);
}

static void test_icmpv6(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET6);
	/* echo request: type 128 code 0; a made-up code 3 checks the low byte */
	struct ct_tuple o = tuple_of(AF_INET6, "::1", "::2", IPPROTO_ICMPV6, 7, 128 << 8 | 3);

	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET6, &o);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK(tuple_eq(&ev.orig, &o));
	CHECK_EQ_U64(ev.orig.dport, 32771);
}

/* SNAT: the reply goes to the translated source, not the original one. */
static void test_nat(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	struct ct_tuple o =
	    tuple_of(AF_INET, "10.0.195.106", "74.125.6.225", IPPROTO_TCP, 62380, 80);
	struct ct_tuple r =
	    tuple_of(AF_INET, "74.125.6.225", "192.76.7.154", IPPROTO_TCP, 80, 62380);

	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, AF_INET, &r);
	put_counters(nlh, CTA_COUNTERS_ORIG, 720, 38052);
	put_counters(nlh, CTA_COUNTERS_REPLY, 1432, 2027040);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK(tuple_eq(&ev.orig, &o));
	CHECK(tuple_eq(&ev.reply, &r));
	CHECK(memcmp(ev.reply.dst, ev.orig.src, sizeof ev.orig.src) != 0);
	CHECK_EQ_U64(ev.cnt_reply.bytes, 2027040);
}

static void test_event_zeroed(void)
{
	struct msg m;
	struct ct_event ev;
	struct ct_event zero;
	struct nlmsghdr *nlh = build_orig_only(&m, IPCTNL_MSG_CT_NEW);

	memset(&ev, 0xa5, sizeof ev);
	memset(&zero, 0, sizeof zero);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK(tuple_eq(&ev.reply, &zero.reply));
	CHECK_EQ_U64(ev.have, 0);
	CHECK_EQ_U64(ev.id | ev.status | ev.timeout | ev.mark | ev.zone, 0);
	CHECK_EQ_U64(ev.cnt_orig.packets | ev.cnt_reply.bytes, 0);
	CHECK_EQ_U64(ev.start_ns | ev.stop_ns | ev.event_ns, 0);
}

static void test_not_ct(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = build_orig_only(&m, IPCTNL_MSG_CT_NEW);

	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK_EXP << SUBSYS_SHIFT | IPCTNL_MSG_EXP_NEW;
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NOT_CT);
	nlh->nlmsg_type = NFNL_SUBSYS_QUEUE << SUBSYS_SHIFT;
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NOT_CT);
	nlh->nlmsg_type = NLMSG_DONE;
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NOT_CT);
	nlh->nlmsg_type = NLMSG_ERROR;
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NOT_CT);
	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << SUBSYS_SHIFT | IPCTNL_MSG_CT_GET;
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NOT_CT);
	nlh->nlmsg_type = NFNL_SUBSYS_CTNETLINK << SUBSYS_SHIFT | IPCTNL_MSG_CT_GET_STATS_CPU;
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NOT_CT);
	nlh = ct_start(&m, IPCTNL_MSG_CT_NEW, 0, AF_BRIDGE);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NOT_CT);
	nlh = ct_start(&m, IPCTNL_MSG_CT_NEW, 0, AF_UNSPEC);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NOT_CT);
	/* a message too short for nfgenmsg is not conntrack's if its type says so */
	nlh = msg_start(&m, 0, NLMSG_DONE, 0, 0);
	nlh->nlmsg_len = sizeof *nlh;
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NOT_CT);
}

static void test_no_tuple(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1, 2);
	struct nlattr *tuple;

	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NO_TUPLE); /* no attributes at all */
	mnl_attr_put_u32(nlh, CTA_ID, htonl(1));
	put_tuple(nlh, CTA_TUPLE_REPLY, AF_INET, &o);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NO_TUPLE); /* a reply tuple only */

	nlh = ct_start(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	put_addrs(nlh, AF_INET, &o);
	mnl_attr_nest_end(nlh, tuple);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NO_TUPLE); /* no protocol */

	nlh = ct_start(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	put_proto(nlh, &o);
	mnl_attr_nest_end(nlh, tuple);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NO_TUPLE); /* no addresses */

	nlh = ct_start(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	put_proto(nlh, &o);
	mnl_attr_nest_end(nlh, mnl_attr_nest_start(nlh, CTA_TUPLE_IP)); /* empty */
	mnl_attr_nest_end(nlh, tuple);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_NO_TUPLE);
}

/* Each builder appends one faulty attribute to a valid message. */
typedef void (*build_fn)(struct nlmsghdr *nlh);

static void bad_status_u16(struct nlmsghdr *nlh)
{
	mnl_attr_put_u16(nlh, CTA_STATUS, 1);
}

static void bad_timeout_u64(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, CTA_TIMEOUT, 1);
}

static void bad_mark_empty(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, CTA_MARK, 0, NULL);
}

static void bad_id_u8(struct nlmsghdr *nlh)
{
	mnl_attr_put_u8(nlh, CTA_ID, 1);
}

static void bad_zone_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, CTA_ZONE, 1);
}

static void bad_event_ts_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, ATTR_TIMESTAMP_EVENT, 1);
}

/* A reply tuple with the given ip and proto nest contents. */
static void put_reply_raw(struct nlmsghdr *nlh, void (*ip)(struct nlmsghdr *),
			  void (*proto)(struct nlmsghdr *))
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_REPLY);
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	ip(nlh);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	proto(nlh);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
}

static void ip4_good(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, htonl(0x0a000002));
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, htonl(0x0a000001));
}

static void ip4_long(struct nlmsghdr *nlh)
{
	static const uint8_t addr[16] = {10, 0, 0, 2};

	mnl_attr_put(nlh, CTA_IP_V4_SRC, sizeof addr, addr);
	mnl_attr_put_u32(nlh, CTA_IP_V4_DST, htonl(0x0a000001));
}

static void ip6_in_ipv4(struct nlmsghdr *nlh)
{
	static const uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8};

	mnl_attr_put(nlh, CTA_IP_V6_SRC, sizeof addr, addr);
	mnl_attr_put(nlh, CTA_IP_V6_DST, sizeof addr, addr);
}

static void ip_none(struct nlmsghdr *nlh)
{
	(void)nlh;
}

static void proto_good(struct nlmsghdr *nlh)
{
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(2));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(1));
}

static void proto_num_u16(struct nlmsghdr *nlh)
{
	mnl_attr_put_u16(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
}

static void proto_port_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u32(nlh, CTA_PROTO_SRC_PORT, htonl(2));
}

static void proto_icmp_type_u16(struct nlmsghdr *nlh)
{
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_ICMP);
	mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_TYPE, 8);
}

static void proto_icmp_id_u8(struct nlmsghdr *nlh)
{
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_ICMP);
	mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_ID, 8);
}

static void proto_icmpv6_code_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_ICMPV6);
	mnl_attr_put_u32(nlh, CTA_PROTO_ICMPV6_CODE, 0);
}

static void bad_reply_ip4_long(struct nlmsghdr *nlh)
{
	put_reply_raw(nlh, ip4_long, proto_good);
}

static void bad_reply_ip6_in_ipv4(struct nlmsghdr *nlh)
{
	put_reply_raw(nlh, ip6_in_ipv4, proto_good);
}

static void bad_reply_no_addresses(struct nlmsghdr *nlh)
{
	put_reply_raw(nlh, ip_none, proto_good);
}

static void bad_reply_proto_num_u16(struct nlmsghdr *nlh)
{
	put_reply_raw(nlh, ip4_good, proto_num_u16);
}

static void bad_reply_port_u32(struct nlmsghdr *nlh)
{
	put_reply_raw(nlh, ip4_good, proto_port_u32);
}

static void bad_reply_icmp_type_u16(struct nlmsghdr *nlh)
{
	put_reply_raw(nlh, ip4_good, proto_icmp_type_u16);
}

static void bad_reply_icmp_id_u8(struct nlmsghdr *nlh)
{
	put_reply_raw(nlh, ip4_good, proto_icmp_id_u8);
}

static void bad_reply_icmpv6_code_u32(struct nlmsghdr *nlh)
{
	put_reply_raw(nlh, ip4_good, proto_icmpv6_code_u32);
}

static void bad_reply_tuple_zone_u32(struct nlmsghdr *nlh)
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_REPLY);

	mnl_attr_put_u32(nlh, CTA_TUPLE_ZONE, 0);
	mnl_attr_nest_end(nlh, tuple);
}

static void bad_counters_u32_as_64(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_COUNTERS_ORIG);

	mnl_attr_put_u32(nlh, CTA_COUNTERS_PACKETS, 1);
	mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, 1);
	mnl_attr_nest_end(nlh, nest);
}

static void bad_counters32_u64(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_COUNTERS_REPLY);

	mnl_attr_put_u32(nlh, CTA_COUNTERS32_PACKETS, 1);
	mnl_attr_put_u64(nlh, CTA_COUNTERS32_BYTES, 1);
	mnl_attr_nest_end(nlh, nest);
}

static void bad_counters_no_bytes(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_COUNTERS_ORIG);

	mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, 1);
	mnl_attr_nest_end(nlh, nest);
}

static void bad_timestamp_u32(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);

	mnl_attr_put_u32(nlh, CTA_TIMESTAMP_START, 1);
	mnl_attr_nest_end(nlh, nest);
}

/* A nest of 2 bytes: too short to hold even one attribute header. */
static void bad_nest_too_short(struct nlmsghdr *nlh)
{
	mnl_attr_put_u16(nlh, CTA_TIMESTAMP | NLA_F_NESTED, 0);
}

/* An attribute inside a nest claiming more bytes than the nest has. */
static void bad_inner_overrun(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);
	struct nlattr *inner = mnl_nlmsg_get_payload_tail(nlh);

	mnl_attr_put_u64(nlh, CTA_TIMESTAMP_START, 1);
	inner->nla_len = 40;
	mnl_attr_nest_end(nlh, nest);
}

/* An attribute inside a nest with a length below its own header. */
static void bad_inner_len_below_header(struct nlmsghdr *nlh)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TUPLE_REPLY);
	struct nlattr *inner = mnl_nlmsg_get_payload_tail(nlh);

	mnl_attr_put_u32(nlh, CTA_TUPLE_ZONE, 0);
	inner->nla_len = 2;
	mnl_attr_nest_end(nlh, nest);
}

/* Bytes after the last attribute that cannot be an attribute. */
static void bad_trailing_bytes(struct nlmsghdr *nlh)
{
	nlh->nlmsg_len += 2;
}

static void bad_trailing_header(struct nlmsghdr *nlh)
{
	struct nlattr *attr = mnl_nlmsg_get_payload_tail(nlh);

	attr->nla_len = 12; /* claims 8 payload bytes, has 0 */
	attr->nla_type = CTA_MARK;
	nlh->nlmsg_len += 4;
}

static const struct {
	const char *name;
	build_fn fn;
} malformed_cases[] = {
    {"status u16", bad_status_u16},
    {"timeout u64", bad_timeout_u64},
    {"mark empty", bad_mark_empty},
    {"id u8", bad_id_u8},
    {"zone u32", bad_zone_u32},
    {"event timestamp u32", bad_event_ts_u32},
    {"reply ipv4 address of 16 bytes", bad_reply_ip4_long},
    {"reply ipv6 address in ipv4 message", bad_reply_ip6_in_ipv4},
    {"reply without addresses", bad_reply_no_addresses},
    {"reply protocol u16", bad_reply_proto_num_u16},
    {"reply port u32", bad_reply_port_u32},
    {"reply icmp type u16", bad_reply_icmp_type_u16},
    {"reply icmp id u8", bad_reply_icmp_id_u8},
    {"reply icmpv6 code u32", bad_reply_icmpv6_code_u32},
    {"reply tuple zone u32", bad_reply_tuple_zone_u32},
    {"64-bit counter of 4 bytes", bad_counters_u32_as_64},
    {"32-bit counter of 8 bytes", bad_counters32_u64},
    {"counters without bytes", bad_counters_no_bytes},
    {"timestamp u32", bad_timestamp_u32},
    {"nest of 2 bytes", bad_nest_too_short},
    {"inner attribute overruns its nest", bad_inner_overrun},
    {"inner attribute shorter than its header", bad_inner_len_below_header},
    {"2 trailing bytes", bad_trailing_bytes},
    {"trailing attribute cut short", bad_trailing_header},
};

static void test_malformed(void)
{
	for (size_t i = 0; i < sizeof malformed_cases / sizeof malformed_cases[0]; i++) {
		struct msg m;
		struct ct_event ev;
		struct nlmsghdr *nlh = build_orig_only(&m, IPCTNL_MSG_CT_DELETE);
		enum ctmsg_result r;

		malformed_cases[i].fn(nlh);
		r = ctmsg_parse(nlh, &ev);
		CHECK_EQ_U64(r, CTMSG_MALFORMED);
		if (r != CTMSG_MALFORMED)
			fprintf(stderr, "  case: %s\n", malformed_cases[i].name);
	}
}

static void test_wrong_family_in_ipv6(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_NEW, 0, AF_INET6);
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1, 2);

	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET, &o);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_MALFORMED);
}

static void put_unknown_everywhere(struct nlmsghdr *nlh, const struct ct_tuple *t)
{
	static const uint8_t junk[3] = {1, 2, 3};
	struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	mnl_attr_put(nlh, CTA_IP_MAX + 1, sizeof junk, junk);
	mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, t->src);
	mnl_attr_put(nlh, CTA_IP_V4_DST, 4, t->dst);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_put(nlh, CTA_TUPLE_MAX + 1, sizeof junk, junk);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	mnl_attr_put(nlh, CTA_PROTO_MAX + 1, sizeof junk, junk);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_put_u16(nlh, CTA_TUPLE_ZONE, htons(3));
	mnl_attr_nest_end(nlh, tuple);
	mnl_attr_put(nlh, ATTR_FROM_THE_FUTURE, sizeof junk, junk);
	mnl_attr_put(nlh, (uint16_t)NLA_TYPE_MASK, 0, NULL);
	mnl_attr_put(nlh, CTA_UNSPEC, sizeof junk, junk);
	mnl_attr_put(nlh, CTA_USE, sizeof junk, junk);
}

static void put_unknown_in_nests(struct nlmsghdr *nlh)
{
	static const uint8_t junk[5] = {1, 2, 3, 4, 5};
	struct nlattr *nest = mnl_attr_nest_start(nlh, CTA_COUNTERS_ORIG);

	mnl_attr_put(nlh, CTA_COUNTERS_PAD, 0, NULL);
	mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(2));
	mnl_attr_put(nlh, CTA_COUNTERS_MAX + 1, sizeof junk, junk);
	mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(200));
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);
	mnl_attr_put(nlh, CTA_TIMESTAMP_PAD, 0, NULL);
	mnl_attr_put(nlh, CTA_TIMESTAMP_MAX + 1, sizeof junk, junk);
	mnl_attr_put_u64(nlh, CTA_TIMESTAMP_START, htobe64(99));
	mnl_attr_nest_end(nlh, nest);
}

static void test_unknown_skipped(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1000, 22);

	put_unknown_everywhere(nlh, &o);
	put_unknown_in_nests(nlh);
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(5));
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK(tuple_eq(&ev.orig, &o));
	CHECK_EQ_U64(ev.have, CT_HAVE_MARK | CT_HAVE_TS_START);
	CHECK_EQ_U64(ev.mark, 5);
	CHECK_EQ_U64(ev.cnt_orig.packets, 2);
	CHECK_EQ_U64(ev.cnt_orig.bytes, 200);
	CHECK_EQ_U64(ev.start_ns, 99);
}

/* CTA_PROTOINFO is read for TCP's state: other protocols' info and unknown
 * attributes in it are skipped, a state of the wrong size is malformed. */
static void test_protoinfo(void)
{
	static const uint8_t junk[3] = {1, 2, 3};
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1000, 22);
	struct msg m;
	struct ct_event ev;

	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET, &o);
	struct nlattr *info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	mnl_attr_put(nlh, CTA_PROTOINFO_TCP_MAX + 1, sizeof junk, junk);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, TCP_CONNTRACK_TIME_WAIT);
	mnl_attr_nest_end(nlh, tcp);
	mnl_attr_put(nlh, CTA_PROTOINFO_MAX + 1, sizeof junk, junk);
	mnl_attr_nest_end(nlh, info);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.tcp_state, TCP_CONNTRACK_TIME_WAIT);
	CHECK(ev.have & CT_HAVE_TCP_STATE);

	nlh = ct_start(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET, &o);
	info = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTOINFO_TCP_STATE, 3);
	mnl_attr_nest_end(nlh, tcp);
	mnl_attr_nest_end(nlh, info);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_MALFORMED);

	nlh = ct_start(&m, IPCTNL_MSG_CT_DELETE, 0, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET, &o);
	mnl_attr_put(nlh, CTA_PROTOINFO, sizeof junk, junk);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_MALFORMED);
}

/* Older kernels did not flag nests; flags on scalars are masked off too. */
static void test_attribute_flags(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_NEW, 0, AF_INET);
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1000, 22);
	struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, o.src);
	mnl_attr_put(nlh, CTA_IP_V4_DST, 4, o.dst);
	mnl_attr_nest_end(nlh, ip);
	put_proto(nlh, &o);
	mnl_attr_nest_end(nlh, tuple);
	tuple->nla_type = CTA_TUPLE_ORIG;
	ip->nla_type = CTA_TUPLE_IP;
	mnl_attr_put_u32(nlh, CTA_STATUS | NLA_F_NET_BYTEORDER, htonl(6));
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK(tuple_eq(&ev.orig, &o));
	CHECK_EQ_U64(ev.status, 6);
}

/* nlmsg_len need not be a multiple of 4: nothing past it may be read. */
static void test_unaligned_length(void)
{
	struct msg m;
	struct ct_event ev;
	struct nlmsghdr *nlh = build_orig_only(&m, IPCTNL_MSG_CT_NEW);
	struct nlmsghdr *copy;
	static const uint8_t one = 1;

	mnl_attr_put(nlh, ATTR_FROM_THE_FUTURE, sizeof one, &one);
	nlh->nlmsg_len -= 3; /* drop the padding */
	copy = malloc(nlh->nlmsg_len);
	if (!copy)
		return;
	memcpy(copy, nlh, nlh->nlmsg_len);
	CHECK_EQ_U64(ctmsg_parse(copy, &ev), CTMSG_OK);
	free(copy);
}

/* Where each top-level attribute ends, unpadded and padded. */
struct bounds {
	size_t n;
	size_t end[64];
	size_t padded[64];
	size_t orig_end;
};

static void find_bounds(const struct nlmsghdr *nlh, struct bounds *b)
{
	size_t off = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	const struct nlattr *attr = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct nfgenmsg));
	int left = (int)(nlh->nlmsg_len - off);

	memset(b, 0, sizeof *b);
	for (; mnl_attr_ok(attr, left) && b->n < sizeof b->end / sizeof b->end[0];
	     attr = mnl_attr_next(attr)) {
		b->end[b->n] = off + attr->nla_len;
		b->padded[b->n] = off + MNL_ALIGN(attr->nla_len);
		if (mnl_attr_get_type(attr) == CTA_TUPLE_ORIG && !b->orig_end)
			b->orig_end = b->end[b->n];
		off = b->padded[b->n++];
		left = (int)(nlh->nlmsg_len - off);
	}
}

/* What a message cut to len bytes must parse as (see ctmsg_parse). */
static enum ctmsg_result expect_cut(const struct bounds *b, size_t len)
{
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	bool boundary = len == hdr;

	if (len < hdr)
		return CTMSG_MALFORMED;
	for (size_t i = 0; i < b->n; i++)
		if (len >= b->end[i] && len <= b->padded[i])
			boundary = true;
	if (!boundary)
		return CTMSG_MALFORMED;
	return b->orig_end && len >= b->orig_end ? CTMSG_OK : CTMSG_NO_TUPLE;
}

/* Parses every prefix of nlh from an exactly sized copy (so that a sanitizer
 * build catches reads past nlmsg_len). */
static void check_all_cuts(const struct nlmsghdr *nlh, const char *what)
{
	struct bounds b;
	int bad = 0;

	find_bounds(nlh, &b);
	for (size_t len = sizeof nlh->nlmsg_len; len < nlh->nlmsg_len; len++) {
		struct nlmsghdr *cut = malloc(len);
		struct ct_event ev;
		enum ctmsg_result want = expect_cut(&b, len), got;

		if (!cut)
			return;
		memcpy(cut, nlh, len);
		cut->nlmsg_len = (uint32_t)len;
		got = ctmsg_parse(cut, &ev);
		free(cut);
		if (got != want && bad++ < 3)
			fprintf(stderr, "%s cut to %zu: %s, expected %s\n", what, len,
				ctmsg_strerror(got), ctmsg_strerror(want));
		CHECK(got == want);
	}
}

static void test_truncated_built(void)
{
	struct msg m;
	struct nlmsghdr *nlh = build_new_tcp4(&m);

	check_all_cuts(nlh, "new tcp4");
	nlh = build_orig_only(&m, IPCTNL_MSG_CT_DELETE);
	put_counters(nlh, CTA_COUNTERS_ORIG, 1, 2);
	put_counters(nlh, CTA_COUNTERS_REPLY, 3, 4);
	put_timestamps(nlh, 5, 6);
	check_all_cuts(nlh, "destroy");
}

/* Expected contents of one recorded kernel message (tests/data). IDs, ICMP
 * identifiers and times change when record-ct-messages.sh is run again. */
struct recorded {
	const char *file;
	enum ct_evtype type;
	uint8_t family;
	uint32_t have;
	const char *osrc, *odst, *rsrc, *rdst;
	uint16_t osport, odport, rsport, rdport;
	uint8_t proto;
	uint32_t id, status, timeout, mark;
	uint16_t zone, orig_zone, reply_zone;
	uint64_t opkts, obytes, rpkts, rbytes;
	uint64_t start_ns, stop_ns, event_ns;
};

#define TCP4                                                                                       \
	.osrc = "10.1.1.1", .odst = "10.2.2.2", .osport = 1234, .odport = 80, .rsrc = "10.2.2.2",  \
	.rdst = "10.1.1.1", .rsport = 80, .rdport = 1234, .proto = IPPROTO_TCP
#define NAT_TCP4                                                                                   \
	.osrc = "192.168.1.10", .odst = "198.51.100.7", .osport = 40000, .odport = 443,            \
	.rsrc = "198.51.100.7", .rdst = "203.0.113.1", .rsport = 443, .rdport = 61000,             \
	.proto = IPPROTO_TCP
#define UDP6                                                                                       \
	.osrc = "2001:db8::1", .odst = "2001:db8::2", .osport = 5353, .odport = 53,                \
	.rsrc = "2001:db8::2", .rdst = "2001:db8::1", .rsport = 53, .rdport = 5353,                \
	.proto = IPPROTO_UDP
#define UDP4(src)                                                                                  \
	.osrc = src, .odst = "10.4.4.4", .osport = 1000, .odport = 2000, .rsrc = "10.4.4.4",       \
	.rdst = src, .rsport = 2000, .rdport = 1000, .proto = IPPROTO_UDP
/* Echo request type 8 (ICMPv6 128), reply 0 (129): dport = type * 256 + code. */
#define NAT_ICMP4(id)                                                                              \
	.osrc = "10.9.0.1", .odst = "10.9.0.2", .osport = id, .odport = 8 << 8,                    \
	.rsrc = "10.9.0.2", .rdst = "10.9.0.3", .rsport = id, .rdport = 0, .proto = IPPROTO_ICMP
#define LO_ICMP4(id)                                                                               \
	.osrc = "127.0.0.1", .odst = "127.0.0.1", .osport = id, .odport = 8 << 8,                  \
	.rsrc = "127.0.0.1", .rdst = "127.0.0.1", .rsport = id, .rdport = 0, .proto = IPPROTO_ICMP
#define LO_ICMP6(id)                                                                               \
	.osrc = "::1", .odst = "::1", .osport = id, .odport = 128 << 8, .rsrc = "::1",             \
	.rdst = "::1", .rsport = id, .rdport = 129 << 8, .proto = IPPROTO_ICMPV6
/* Counters of the three echo requests and replies: 84 bytes each in IPv4,
 * 104 in IPv6. */
#define PINGS(size) .opkts = 3, .obytes = 3 * (size), .rpkts = 3, .rbytes = 3 * (size)

enum {
	EVENT_BITS =
	    CT_HAVE_REPLY | CT_HAVE_ID | CT_HAVE_STATUS | CT_HAVE_TIMEOUT | CT_HAVE_TS_EVENT,
	DESTROY_BITS = EVENT_BITS | CT_HAVE_COUNTERS | CT_HAVE_TS_START | CT_HAVE_TS_STOP,
	DUMP_BITS = CT_HAVE_REPLY | CT_HAVE_ID | CT_HAVE_STATUS | CT_HAVE_TIMEOUT | CT_HAVE_MARK |
		    CT_HAVE_COUNTERS | CT_HAVE_TS_START,
};

static const struct recorded recorded[] = {
    {.file = "ct-new-tcp4.bin",
     .type = CT_EV_NEW,
     .family = AF_INET,
     .have = EVENT_BITS | CT_HAVE_MARK,
     TCP4,
     .id = 1904594385u,
     .status = 10,
     .timeout = 100,
     .mark = 7,
     .event_ns = 0x18ebf400163b5a4aull},
    {.file = "ct-update-tcp4.bin",
     .type = CT_EV_UPDATE,
     .family = AF_INET,
     .have = EVENT_BITS | CT_HAVE_MARK,
     TCP4,
     .id = 1904594385u,
     .status = 10,
     .timeout = 98,
     .mark = 42,
     .event_ns = 0x18ebf4006e7df58bull},
    {.file = "ct-dump-tcp4.bin",
     .type = CT_EV_UPDATE,
     .family = AF_INET,
     .have = DUMP_BITS,
     TCP4,
     .id = 1904594385u,
     .status = 10,
     .timeout = 96,
     .mark = 42,
     .start_ns = 1795797157647438314ull},
    {.file = "ct-destroy-tcp4.bin",
     .type = CT_EV_DESTROY,
     .family = AF_INET,
     .have = DESTROY_BITS | CT_HAVE_MARK,
     TCP4,
     .id = 1904594385u,
     .status = 522,
     .timeout = 94,
     .mark = 42,
     .start_ns = 1795797157647438314ull,
     .stop_ns = 1795797162809946154ull,
     .event_ns = 0x18ebf40149f0f323ull},
    {.file = "ct-new-nat-tcp4.bin",
     .type = CT_EV_NEW,
     .family = AF_INET,
     .have = EVENT_BITS | CT_HAVE_MARK,
     NAT_TCP4,
     .id = 2216846591u,
     .status = 10,
     .timeout = 100,
     .event_ns = 0x18ebf401baba0b01ull},
    {.file = "ct-new-udp6.bin",
     .type = CT_EV_NEW,
     .family = AF_INET6,
     .have = EVENT_BITS | CT_HAVE_MARK,
     UDP6,
     .id = 224001548u,
     .status = 8,
     .timeout = 30,
     .event_ns = 0x18ebf4023d352f4bull},
    {.file = "ct-destroy-udp6.bin",
     .type = CT_EV_DESTROY,
     .family = AF_INET6,
     .have = DESTROY_BITS,
     UDP6,
     .id = 224001548u,
     .status = 520,
     .timeout = 28,
     .start_ns = 1795797166891280287ull,
     .stop_ns = 1795797168666306041ull,
     .event_ns = 0x18ebf402a701e8a2ull},
    {.file = "ct-new-zone-udp4.bin",
     .type = CT_EV_NEW,
     .family = AF_INET,
     .have = EVENT_BITS | CT_HAVE_MARK | CT_HAVE_ZONE,
     UDP4("10.3.3.4"),
     .id = 19622985u,
     .status = 8,
     .timeout = 50,
     .zone = 6,
     .orig_zone = 6,
     .reply_zone = 6,
     .event_ns = 0x18ebf403034eae0aull},
    {.file = "ct-new-orig-zone-udp4.bin",
     .type = CT_EV_NEW,
     .family = AF_INET,
     .have = EVENT_BITS | CT_HAVE_MARK,
     UDP4("10.3.3.3"),
     .id = 2008074266u,
     .status = 8,
     .timeout = 50,
     .orig_zone = 5, /* conntrack -I --orig-zone 5: CTA_TUPLE_ZONE, no CTA_ZONE */
     .event_ns = 0x18ebf40346f1ee20ull},
    {.file = "ct-new-nat-icmp4.bin",
     .type = CT_EV_NEW,
     .family = AF_INET,
     .have = EVENT_BITS,
     NAT_ICMP4(20490),
     .id = 1973203352u,
     .status = 408,
     .timeout = 30,
     .event_ns = 0x18ebf403a706234cull},
    {.file = "ct-destroy-nat-icmp4.bin",
     .type = CT_EV_DESTROY,
     .family = AF_INET,
     .have = DESTROY_BITS,
     NAT_ICMP4(20490),
     .id = 1973203352u,
     .status = 922,
     .timeout = 28,
     PINGS(84),
     .start_ns = 1795797172961550669ull,
     .stop_ns = 1795797174949172802ull,
     .event_ns = 0x18ebf4041d7ed7fbull},
    {.file = "ct-destroy-icmp4.bin",
     .type = CT_EV_DESTROY,
     .family = AF_INET,
     .have = DESTROY_BITS,
     LO_ICMP4(20596),
     .id = 2287492469u,
     .status = 906,
     .timeout = 28,
     PINGS(84),
     .start_ns = 1795797175020088570ull,
     .stop_ns = 1795797176953711932ull,
     .event_ns = 0x18ebf40494f9af31ull},
    {.file = "ct-destroy-icmp6.bin",
     .type = CT_EV_DESTROY,
     .family = AF_INET6,
     .have = DESTROY_BITS,
     LO_ICMP6(20657),
     .id = 3718889304u,
     .status = 522,
     .timeout = 28,
     PINGS(104),
     .start_ns = 1795797177030384100ull,
     .stop_ns = 1795797179070949669ull,
     .event_ns = 0x18ebf405132c2a70ull},
};

/* Reads a recorded message into an exactly sized buffer; NULL on error. */
static struct nlmsghdr *load(const char *file, size_t *len)
{
	char path[512];
	long size;
	struct nlmsghdr *nlh = NULL;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, file);
	f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= (long)sizeof *nlh &&
	    fseek(f, 0, SEEK_SET) == 0) {
		nlh = malloc((size_t)size);
		if (nlh && fread(nlh, 1, (size_t)size, f) != (size_t)size) {
			free(nlh);
			nlh = NULL;
		}
		*len = (size_t)size;
	}
	fclose(f);
	return nlh;
}

static void check_recorded_values(const struct recorded *r, const struct ct_event *ev)
{
	struct ct_tuple o = tuple_of(r->family, r->osrc, r->odst, r->proto, r->osport, r->odport);
	struct ct_tuple re = tuple_of(r->family, r->rsrc, r->rdst, r->proto, r->rsport, r->rdport);

	CHECK_EQ_U64(ev->type, r->type);
	CHECK_EQ_U64(ev->family, r->family);
	/* Every recorded TCP entry was made ESTABLISHED (conntrack -I --state). */
	bool tcp = r->proto == IPPROTO_TCP;
	CHECK_EQ_U64(ev->have, r->have | (tcp ? CT_HAVE_TCP_STATE : 0));
	CHECK_EQ_U64(ev->tcp_state, tcp ? TCP_CONNTRACK_ESTABLISHED : 0);
	CHECK(tuple_eq(&ev->orig, &o));
	CHECK(tuple_eq(&ev->reply, &re));
	CHECK_EQ_U64(ev->id, r->id);
	CHECK_EQ_U64(ev->status, r->status);
	CHECK_EQ_U64(ev->timeout, r->timeout);
	CHECK_EQ_U64(ev->mark, r->mark);
	CHECK_EQ_U64(ev->zone, r->zone);
	CHECK_EQ_U64(ev->orig_zone, r->orig_zone);
	CHECK_EQ_U64(ev->reply_zone, r->reply_zone);
	CHECK_EQ_U64(ev->cnt_orig.packets, r->opkts);
	CHECK_EQ_U64(ev->cnt_orig.bytes, r->obytes);
	CHECK_EQ_U64(ev->cnt_reply.packets, r->rpkts);
	CHECK_EQ_U64(ev->cnt_reply.bytes, r->rbytes);
	CHECK_EQ_U64(ev->start_ns, r->start_ns);
	CHECK_EQ_U64(ev->stop_ns, r->stop_ns);
	CHECK_EQ_U64(ev->event_ns, r->event_ns);
}

static void test_recorded(void)
{
	for (size_t i = 0; i < sizeof recorded / sizeof recorded[0]; i++) {
		const struct recorded *r = &recorded[i];
		size_t len = 0;
		struct nlmsghdr *nlh = load(r->file, &len);
		struct ct_event ev;

		CHECK(nlh != NULL);
		if (!nlh)
			continue;
		CHECK_EQ_U64(nlh->nlmsg_len, len);
		if (nlh->nlmsg_len == len) {
			CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
			check_recorded_values(r, &ev);
			check_all_cuts(nlh, r->file);
		}
		free(nlh);
	}
}

/* A tuple with a CTA_TUPLE_ZONE of its own direction, as the kernel dumps
 * a directional zone. */
static void put_zoned_tuple(struct nlmsghdr *nlh, uint16_t type, const struct ct_tuple *t,
			    uint16_t zone)
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, type);

	put_addrs(nlh, AF_INET, t);
	put_proto(nlh, t);
	mnl_attr_put_u16(nlh, CTA_TUPLE_ZONE, htons(zone));
	mnl_attr_nest_end(nlh, tuple);
}

/* Each direction's zone: CTA_ZONE for both; a tuple's CTA_TUPLE_ZONE for
 * its direction alone, the other one in zone 0; none: zone 0. */
static void test_dir_zones(void)
{
	struct ct_tuple o = tuple_of(AF_INET, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 53, 5353);
	struct ct_tuple r = tuple_of(AF_INET, "10.0.0.2", "10.0.0.1", IPPROTO_UDP, 5353, 53);
	struct ct_event ev;
	struct msg m;
	struct nlmsghdr *nlh = ct_start(&m, IPCTNL_MSG_CT_NEW, 0, AF_INET);

	put_tuple(nlh, CTA_TUPLE_ORIG, AF_INET, &o);
	put_zoned_tuple(nlh, CTA_TUPLE_REPLY, &r, 9);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.zone, 0);
	CHECK_EQ_U64(ev.orig_zone, 0);
	CHECK_EQ_U64(ev.reply_zone, 9);
	CHECK(!(ev.have & CT_HAVE_ZONE));
	CHECK(tuple_eq(&ev.reply, &r));

	nlh = ct_start(&m, IPCTNL_MSG_CT_NEW, 0, AF_INET);
	put_zoned_tuple(nlh, CTA_TUPLE_ORIG, &o, 4);
	put_tuple(nlh, CTA_TUPLE_REPLY, AF_INET, &r);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.orig_zone, 4);
	CHECK_EQ_U64(ev.reply_zone, 0);
	CHECK(tuple_eq(&ev.orig, &o));

	nlh = build_new_tcp4(&m); /* CTA_ZONE 7 */
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.orig_zone, 7);
	CHECK_EQ_U64(ev.reply_zone, 7);

	nlh = build_orig_only(&m, IPCTNL_MSG_CT_NEW);
	CHECK_EQ_U64(ctmsg_parse(nlh, &ev), CTMSG_OK);
	CHECK_EQ_U64(ev.orig_zone | ev.reply_zone, 0);
}

static void test_strerror(void)
{
	CHECK_STR(ctmsg_strerror(CTMSG_OK), "ok");
	CHECK_STR(ctmsg_strerror(CTMSG_NOT_CT), "not conntrack");
	CHECK_STR(ctmsg_strerror(CTMSG_MALFORMED), "malformed");
	CHECK_STR(ctmsg_strerror(CTMSG_NO_TUPLE), "no tuple");
	CHECK_STR(ctmsg_strerror((enum ctmsg_result)99), "unknown");
}

int main(void)
{
	test_new_tcp4();
	test_event_types();
	test_destroy_counters_timestamps();
	test_counters32();
	test_counters_one_direction();
	test_ipv6();
	test_icmp();
	test_icmpv6();
	test_nat();
	test_event_zeroed();
	test_not_ct();
	test_no_tuple();
	test_malformed();
	test_wrong_family_in_ipv6();
	test_unknown_skipped();
	test_protoinfo();
	test_attribute_flags();
	test_unaligned_length();
	test_truncated_built();
	test_recorded();
	test_dir_zones();
	test_strerror();
	CHECK_DONE();
}
