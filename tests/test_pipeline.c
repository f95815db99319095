/* test_pipeline: the whole data path of src/pipeline.h, without root or
 * sockets. Conntrack messages built here with libmnl, and two recordings of
 * the real kernel's stream (tests/data/rec-*.pcap, made by
 * tests/data/record-pipeline.sh), go through pipeline_datagram and the
 * dump calls; the collectors (one v5, one v9, one IPFIX) send into a
 * capture sink instead of sockets, and what comes out is decoded by
 * tests/decode.h, independently of the encoders, and checked value by
 * value against what the messages said. */
#include "check.h"
#include "decode.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "cfgfile.h"
#include "config.h"
#include "ctmsg.h"
#include "natlog.h"
#include "pcapnl.h"
#include "portblock.h"
#include "pipeline.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* ---- time ---------------------------------------------------------------- */

#define T0_MS	      1700000000000ull /* the tests' Unix epoch ms: 2023-11-14 */
#define AT(ms)	      (T0_MS + (uint64_t)(ms))
#define BOOT_MS	      (T0_MS - 3600000ull)	 /* sysUptime 0 an hour before T0 */
#define MONO_BEHIND   (1690000000ull * NS_PER_S) /* the monotonic clock, far behind */
#define WEEK_MS	      604800000ull
#define V5_MAX	      4294967295ull /* v5 dPkts and dOctets are 32 bits */
#define PID_CONNTRACK 4321u	    /* nlmsg_pid of a DESTROY that conntrack -D asked for */

/* ---- IANA information elements (RFC 7012 registry) and values ------------ */

enum {
	IE_OCTETS = 1,
	IE_PACKETS = 2,
	IE_PROTO = 4,
	IE_SPORT = 7,
	IE_SRC4 = 8,
	IE_DPORT = 11,
	IE_DST4 = 12,
	IE_SRC6 = 27,
	IE_DST6 = 28,
	IE_FLOW_ID = 148,
	IE_START_MS = 152,
	IE_END_MS = 153,
	IE_END_REASON = 136,
	IE_XSRC4 = 225,
	IE_XDST4 = 226,
	IE_XSPORT = 227,
	IE_XDPORT = 228,
	IE_NAT_EVENT = 230,
	IE_INIT_OCTETS = 231, /* v9: Cisco NSEL initiator/responder counters */
	IE_RESP_OCTETS = 232,
	IE_INIT_PACKETS = 298,
	IE_RESP_PACKETS = 299,
	IE_XSRC6 = 281,
	IE_XDST6 = 282,
	IE_OBS_MS = 323,      /* observationTimeMilliseconds */
	IE_INGRESS_VRF = 234, /* ingressVRFID */
	IE_EGRESS_VRF = 235,  /* egressVRFID */
	IE_INGRESS_IF = 10,   /* ingressInterface */
	IE_EXPORTING_PROCESS = 144,
	IE_NOT_SENT_FLOWS = 166, /* RFC 7011 §4.3 */
	IE_NOT_SENT_PACKETS = 167,
	IE_NOT_SENT_OCTETS = 168,
	IE_EGRESS_IF = 14, /* egressInterface */
	IE_PORT_RANGE_START = 361,
	IE_PORT_RANGE_NUM_PORTS = 364,
};
#define PEN_REVERSE 29305u /* RFC 5103 reverse elements */

/* nfflowd's template IDs: flow records, NAT events, loss reports, port
 * blocks. */
enum {
	TEMPLATE_FLOW4 = 256,
	TEMPLATE_FLOW6 = 257,
	TEMPLATE_EVENT4 = 258,
	TEMPLATE_EVENT6 = 259,
	TEMPLATE_LOSS = 260,
	TEMPLATE_BLOCK = 261,
};

enum { END_IDLE = 1, END_ACTIVE = 2, END_OF_FLOW = 3, END_FORCED = 4 };
enum { NAT_CREATE = 1, NAT_DELETE = 2, NAT44_ADD = 4, NAT44_DEL = 5 };
enum { NAT44_BLOCK_ALLOC = 16, NAT44_BLOCK_FREE = 17 }; /* RFC 8158 */
#define ANY (-1)					/* a want field not checked */

/* ---- the pipeline under test and its capture sink ------------------------ */

#define V5_NAME	   "127.0.0.1:2055"
#define V9_NAME	   "127.0.0.1:2056"
#define IPFIX_NAME "127.0.0.1:4739"

#define V5_NAME6    "[::1]:2055"
#define V9_NAME6    "[::1]:2056"
#define IPFIX_NAME6 "[::1]:4739"

/* Three collectors, no local copies; each %s: an address, then more keys of
 * the collector; %u: active_timeout; %s: more top-level text. */
#define CONF_FMT                                                                                   \
	"<collector v5>\naddress %s\nport 2055\nversion 5\n%s</collector>\n"                       \
	"<collector v9>\naddress %s\nport 2056\nversion 9\n%s</collector>\n"                       \
	"<collector ipfix>\naddress %s\nport 4739\nversion 10\n%s</collector>\n"                   \
	"<ptee/>\nactive_timeout %u\n%s"

struct setup {
	const char *v9_keys, *ipfix_keys, *top; /* NULL: none */
	unsigned active_timeout;
	bool kernel_ts;
	uint64_t boot_ms;	     /* 0: BOOT_MS */
	const char *v5_keys;	     /* NULL: none */
	bool ipv6;		     /* the collectors on ::1, not 127.0.0.1 */
	pipeline_ifindex_fn ifindex; /* NULL: none */
};

struct outputs {
	struct dec_v5 v5;
	struct dec_ipx v9, ipfix;
	unsigned misrouted;
	size_t ip_len[3]; /* the largest IP packet of the v5, v9, IPFIX datagrams */
};

struct harness {
	uint64_t now_ns; /* the injected clock, Unix epoch ns */
	uint64_t boot_ms;
	struct outputs out;
	struct exporter_sink sink;
	struct pipeline *p;
};

/* pipeline_clock_fn: the harness's time; the monotonic clock differs. */
static void clock_fn(void *ctx, struct nf_now *now)
{
	const struct harness *h = ctx;

	now->real_ns = h->now_ns;
	now->mono_ns = h->now_ns - MONO_BEHIND;
}

static bool named(const char *name, const char *v4, const char *v6)
{
	return strcmp(name, v4) == 0 || strcmp(name, v6) == 0;
}

/* The IP packet a datagram of len bytes to name travels in: an IPv4 (20
 * bytes) or IPv6 (40) header and a UDP header (8). */
static void note_ip_len(size_t *max, const char *name, size_t len)
{
	size_t ip = len + (name[0] == '[' ? 40 : 20) + 8;

	*max = ip > *max ? ip : *max;
}

/* exporter_capture_fn: decode what each collector was sent. */
static void capture_fn(void *ctx, const char *name, const uint8_t *buf, size_t len)
{
	struct outputs *o = ctx;
	unsigned version = len >= 2 ? dec_u16(buf) : 0;

	if (version == 5 && named(name, V5_NAME, V5_NAME6)) {
		dec_v5_datagram(&o->v5, buf, len);
		note_ip_len(&o->ip_len[0], name, len);
	} else if (version == 9 && named(name, V9_NAME, V9_NAME6)) {
		dec_ipx_message(&o->v9, buf, len);
		note_ip_len(&o->ip_len[1], name, len);
	} else if (version == 10 && named(name, IPFIX_NAME, IPFIX_NAME6)) {
		dec_ipx_message(&o->ipfix, buf, len);
		note_ip_len(&o->ip_len[2], name, len);
	} else {
		o->misrouted++;
	}
}

static struct nf_config *make_config(const struct setup *s)
{
	char text[4096], err[256] = "the configuration text is too long";
	struct cfg_node *root = NULL;
	struct nf_config *cfg = malloc(sizeof *cfg);
	const char *addr = s->ipv6 ? "::1" : "127.0.0.1";
	int n = snprintf(text, sizeof text, CONF_FMT, addr, s->v5_keys ? s->v5_keys : "", addr,
			 s->v9_keys ? s->v9_keys : "", addr, s->ipfix_keys ? s->ipfix_keys : "",
			 s->active_timeout, s->top ? s->top : "");

	if (!cfg || n < 0 || (size_t)n >= sizeof text ||
	    cfgfile_parse(text, (size_t)n, "pipeline.conf", &root, err, sizeof err) != 0) {
		fprintf(stderr, "config: %s\n", cfg ? err : "out of memory");
		free(cfg);
		return NULL;
	}
	config_defaults(cfg);
	if (config_from_tree(root, cfg, err, sizeof err, NULL, NULL) != 0) {
		fprintf(stderr, "config: %s\n", err);
		free(cfg);
		cfg = NULL;
	}
	cfgfile_free(root);
	return cfg;
}

/* Open a pipeline for s with the clock at now_ns; false (and a message) if
 * it cannot be. */
static bool h_open(struct harness *h, const struct setup *s, uint64_t now_ns)
{
	char err[256];
	struct nf_config *cfg = make_config(s);

	memset(h, 0, sizeof *h);
	h->now_ns = now_ns;
	h->boot_ms = s->boot_ms ? s->boot_ms : BOOT_MS;
	dec_ipx_init(&h->out.v9, 9);
	dec_ipx_init(&h->out.ipfix, 10);
	h->sink = (struct exporter_sink){.fn = capture_fn, .ctx = &h->out};
	struct pipeline_opts po = {.clock = clock_fn,
				   .clock_ctx = h,
				   .boot_ms = h->boot_ms,
				   .kernel_ts = s->kernel_ts,
				   .foreground = false,
				   .capture = &h->sink,
				   .ifindex = s->ifindex,
				   .ifindex_ctx = h};
	if (cfg && !(h->p = pipeline_open(cfg, &po, err, sizeof err)))
		fprintf(stderr, "pipeline_open: %s\n", err);
	return h->p != NULL;
}

/* h_open at AT(0), where most tests begin; a pipeline that cannot be
 * opened is a failed check. */
static bool h_start(struct harness *h, const struct setup *s)
{
	if (h_open(h, s, AT(0)))
		return true;
	CHECK(0);
	return false;
}

/* Reload h's pipeline with the configuration of s; false (and a message)
 * if it is refused. */
static bool h_reload(struct harness *h, const struct setup *s)
{
	char err[256] = "no configuration";
	struct nf_config *cfg = make_config(s);

	if (cfg && pipeline_reload(h->p, cfg, NULL, err, sizeof err) == 0)
		return true;
	fprintf(stderr, "pipeline_reload: %s\n", err);
	return false;
}

static void h_close(struct harness *h)
{
	pipeline_close(h->p);
	h->p = NULL;
	dec_v5_free(&h->out.v5);
	dec_ipx_free(&h->out.v9);
	dec_ipx_free(&h->out.ipfix);
}

/* The decoders and the routing found nothing wrong in what was sent. */
static void h_clean(const struct harness *h)
{
	CHECK_EQ_U64(h->out.v5.errors + h->out.v9.errors + h->out.ipfix.errors, 0);
	CHECK_EQ_U64(h->out.misrouted, 0);
}

/* Flush at Unix ns t; what was sent must be clean (h_clean). */
static void h_flush_ns(struct harness *h, uint64_t t_ns)
{
	h->now_ns = t_ns;
	pipeline_flush(h->p);
	h_clean(h);
}

/* h_flush_ns at Unix ms t. */
static void h_flush(struct harness *h, uint64_t t_ms)
{
	h_flush_ns(h, t_ms * NS_PER_MS);
}

/* The number after key in the line of pipeline_format_stats that starts
 * with prefix ("netlink:"); UINT64_MAX if there is none. */
static uint64_t stat_of(const struct harness *h, const char *prefix, const char *key)
{
	char buf[8192], pat[64];
	const char *at = buf, *end, *k;

	pipeline_format_stats(h->p, 212992, buf, sizeof buf);
	while (at && strncmp(at, prefix, strlen(prefix)) != 0)
		if ((at = strchr(at, '\n')))
			at++;
	if (!at)
		return UINT64_MAX;
	end = at + strcspn(at, "\n");
	snprintf(pat, sizeof pat, " %s ", key);
	k = strstr(at, pat);
	return k && k < end ? strtoull(k + strlen(pat), NULL, 10) : UINT64_MAX;
}

/* Each "key value" pair of want is in the stats line of prefix (other
 * counters may be there too). */
static bool stats_are(const struct harness *h, const char *prefix, const char *want)
{
	char key[64];
	unsigned long long v;
	int used;
	bool ok = true;

	while (sscanf(want, " %63s %llu%n", key, &v, &used) == 2) {
		uint64_t got = stat_of(h, prefix, key);
		if (got != v) {
			fprintf(stderr, "  %s %s: %" PRIu64 ", expected %llu\n", prefix, key, got,
				v);
			ok = false;
		}
		want += used;
	}
	if (want[strspn(want, " ")] != '\0') {
		fprintf(stderr, "  %s: cannot read \"%s\"\n", prefix, want);
		ok = false;
	}
	return ok;
}

/* ---- conntrack messages, as the kernel sends them ------------------------ */

struct end {
	const char *src;
	uint16_t sport; /* ICMP: the echo identifier */
	const char *dst;
	uint16_t dport; /* ICMP: type * 256 + code */
};

/* One connection. Times are Unix ms, 0 where the kernel would not send
 * them; the timestamps and counters go into dump entries and DESTROYs
 * only, as in the kernel's events. */
struct conn {
	uint8_t family, proto;
	struct end o, r; /* r.src NULL: no reply tuple */
	uint32_t id;
	bool counters;
	uint64_t opk, ob, rpk, rb;
	uint64_t start_ms, stop_ms; /* CTA_TIMESTAMP_START, _STOP (DESTROY only) */
	uint64_t event_ms;	    /* CTA_TIMESTAMP_EVENT (Linux 6.14) */
	uint8_t tcp_state;	    /* CTA_PROTOINFO_TCP_STATE; 0: none */
	uint32_t timeout;	    /* CTA_TIMEOUT of dump entries, s */
	uint16_t zone;		    /* CTA_ZONE: both directions; 0: none */
	uint16_t reply_zone;	    /* CTA_TUPLE_ZONE in the reply tuple alone; 0: none */
};

enum kind { K_NEW, K_DUMP, K_DESTROY };

enum { SUBSYS_SHIFT = 8, DGRAM_MAX = 16384, MSG_ROOM = 1024 };
enum { ATTR_TIMESTAMP_EVENT = CTA_STATUS_MASK + 1 }; /* absent from older uapi headers */

struct dgram {
	alignas(struct nlmsghdr) uint8_t buf[DGRAM_MAX];
	size_t len;
};

static struct nlmsghdr *msg_start(struct dgram *d, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	if (d->len + MSG_ROOM > DGRAM_MAX)
		abort(); /* a test builds too much into one datagram */
	nlh = mnl_nlmsg_put_header(d->buf + d->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = 1;
	return nlh;
}

static void msg_end(struct dgram *d, const struct nlmsghdr *nlh)
{
	d->len += MNL_ALIGN(nlh->nlmsg_len);
}

static void put_addr(struct nlmsghdr *nlh, uint16_t type, uint8_t family, const char *text)
{
	uint8_t a[16] = {0};

	if (inet_pton(family, text, a) != 1)
		abort(); /* a typo in a test */
	mnl_attr_put(nlh, type, family == AF_INET ? 4 : 16, a);
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct conn *c,
		      const struct end *e, uint16_t zone)
{
	struct nlattr *t = mnl_attr_nest_start(nlh, type), *n;
	bool v4 = c->family == AF_INET;

	n = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	put_addr(nlh, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, c->family, e->src);
	put_addr(nlh, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, c->family, e->dst);
	mnl_attr_nest_end(nlh, n);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, c->proto);
	if (is_icmp(c->proto)) {
		mnl_attr_put_u16(nlh, v4 ? CTA_PROTO_ICMP_ID : CTA_PROTO_ICMPV6_ID,
				 htons(e->sport));
		mnl_attr_put_u8(nlh, v4 ? CTA_PROTO_ICMP_TYPE : CTA_PROTO_ICMPV6_TYPE,
				(uint8_t)(e->dport >> 8));
		mnl_attr_put_u8(nlh, v4 ? CTA_PROTO_ICMP_CODE : CTA_PROTO_ICMPV6_CODE,
				(uint8_t)e->dport);
	} else {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(e->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(e->dport));
	}
	mnl_attr_nest_end(nlh, n);
	if (zone)
		mnl_attr_put_u16(nlh, CTA_TUPLE_ZONE, htons(zone));
	mnl_attr_nest_end(nlh, t);
}

static void put_counters(struct nlmsghdr *nlh, uint16_t type, uint64_t packets, uint64_t bytes)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u64(nlh, CTA_COUNTERS_PACKETS, htobe64(packets));
	mnl_attr_put_u64(nlh, CTA_COUNTERS_BYTES, htobe64(bytes));
	mnl_attr_nest_end(nlh, n);
}

static void put_tcp_state(struct nlmsghdr *nlh, uint8_t state)
{
	struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);

	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, state);
	mnl_attr_nest_end(nlh, tcp);
	mnl_attr_nest_end(nlh, pi);
}

/* What differs between NEW, dump entries and DESTROY. */
static void put_state(struct nlmsghdr *nlh, const struct conn *c, enum kind k)
{
	if (c->tcp_state)
		put_tcp_state(nlh, c->tcp_state);
	if (c->counters && k != K_NEW) {
		put_counters(nlh, CTA_COUNTERS_ORIG, c->opk, c->ob);
		put_counters(nlh, CTA_COUNTERS_REPLY, c->rpk, c->rb);
	}
	if (c->start_ms && k != K_NEW) {
		struct nlattr *ts = mnl_attr_nest_start(nlh, CTA_TIMESTAMP);
		mnl_attr_put_u64(nlh, CTA_TIMESTAMP_START, htobe64(c->start_ms * NS_PER_MS));
		if (c->stop_ms && k == K_DESTROY)
			mnl_attr_put_u64(nlh, CTA_TIMESTAMP_STOP, htobe64(c->stop_ms * NS_PER_MS));
		mnl_attr_nest_end(nlh, ts);
	}
	if (k == K_DUMP)
		mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(c->timeout));
	if (c->event_ms)
		mnl_attr_put_u64(nlh, ATTR_TIMESTAMP_EVENT, htobe64(c->event_ms * NS_PER_MS));
}

/* Append c as a message of kind k (a DESTROY with nlmsg_pid pid). */
static void put_conn(struct dgram *d, const struct conn *c, enum kind k, uint32_t pid)
{
	static const uint16_t type[] = {[K_NEW] = IPCTNL_MSG_CT_NEW,
					[K_DUMP] = IPCTNL_MSG_CT_NEW,
					[K_DESTROY] = IPCTNL_MSG_CT_DELETE};
	static const uint16_t flags[] = {
	    [K_NEW] = NLM_F_CREATE | NLM_F_EXCL, [K_DUMP] = NLM_F_MULTI, [K_DESTROY] = 0};
	struct nlmsghdr *nlh =
	    msg_start(d, (uint16_t)(NFNL_SUBSYS_CTNETLINK << SUBSYS_SHIFT | type[k]), flags[k]);
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);

	nfg->nfgen_family = c->family;
	nfg->version = NFNETLINK_V0;
	nlh->nlmsg_pid = pid;
	put_tuple(nlh, CTA_TUPLE_ORIG, c, &c->o, 0);
	if (c->r.src)
		put_tuple(nlh, CTA_TUPLE_REPLY, c, &c->r, c->reply_zone);
	if (c->zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(c->zone));
	put_state(nlh, c, k);
	mnl_attr_put_u32(nlh, CTA_ID, htonl(c->id));
	msg_end(d, nlh);
}

/* NLMSG_DONE, the end of a dump. */
static void put_done(struct dgram *d)
{
	struct nlmsghdr *nlh = msg_start(d, NLMSG_DONE, NLM_F_MULTI);

	mnl_attr_put_u32(nlh, 0, 0); /* the kernel's int 0; its layout is not read */
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + sizeof(int);
	msg_end(d, nlh);
}

/* NLMSG_ERROR with errno err, answering a dump request. */
static void put_error(struct dgram *d, int err)
{
	struct nlmsghdr *nlh = msg_start(d, NLMSG_ERROR, 0);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof *e);

	e->error = -err;
	msg_end(d, nlh);
}

/* Hand d, from the event subscription or a dump, to the pipeline; returns
 * pipeline_datagram's result. */
static int feed(struct harness *h, enum pipeline_source from, struct dgram *d, int *dump_error)
{
	int e = 0, r = pipeline_datagram(h->p, from, d->buf, d->len, &e);

	if (dump_error)
		*dump_error = e;
	d->len = 0;
	return r;
}

/* One message of c at Unix ms t, in a datagram of its own. */
static void send_at(struct harness *h, uint64_t t_ms, const struct conn *c, enum kind k,
		    uint32_t pid)
{
	static struct dgram d;

	h->now_ns = t_ms * NS_PER_MS;
	put_conn(&d, c, k, pid);
	CHECK_EQ_U64(feed(h, PIPELINE_EVENTS, &d, NULL), 0);
}

/* A table dump at Unix ms t showing c[0..n): its entries and NLMSG_DONE in
 * one datagram. Returns what pipeline_dump_end returns. */
static size_t dump_at(struct harness *h, uint64_t t_ms, bool startup, const struct conn *const *c,
		      size_t n)
{
	static struct dgram d;

	h->now_ns = t_ms * NS_PER_MS;
	pipeline_dump_begin(h->p, startup);
	for (size_t i = 0; i < n; i++)
		put_conn(&d, c[i], K_DUMP, 0);
	put_done(&d);
	CHECK_EQ_U64(feed(h, PIPELINE_DUMP, &d, NULL), 1);
	CHECK(pipeline_dumping(h->p));
	return pipeline_dump_end(h->p);
}

/* ---- expected records ------------------------------------------------------ */

/* A connection as the tests know it, in raw form: from a struct conn (for
 * the messages built here) or from the kernel's message (recordings). */
static struct ct_event event_of(const struct conn *c, uint64_t opk, uint64_t ob, uint64_t rpk,
				uint64_t rb)
{
	struct ct_event ev;

	memset(&ev, 0, sizeof ev);
	ev.family = c->family;
	ev.id = c->id;
	ev.orig.proto = ev.reply.proto = c->proto;
	if (inet_pton(c->family, c->o.src, ev.orig.src) != 1 ||
	    inet_pton(c->family, c->o.dst, ev.orig.dst) != 1)
		abort();
	ev.orig.sport = c->o.sport;
	ev.orig.dport = c->o.dport;
	if (c->r.src && (inet_pton(c->family, c->r.src, ev.reply.src) != 1 ||
			 inet_pton(c->family, c->r.dst, ev.reply.dst) != 1))
		abort();
	ev.reply.sport = c->r.sport;
	ev.reply.dport = c->r.dport;
	ev.have = c->r.src ? CT_HAVE_REPLY : 0;
	ev.cnt_orig = (struct ct_counters){opk, ob};
	ev.cnt_reply = (struct ct_counters){rpk, rb};
	ev.orig_zone = c->zone;
	ev.reply_zone = c->zone ? c->zone : c->reply_zone;
	return ev;
}

/* NAT changed the original direction (flow.h): the reply tuple is not the
 * original one inverted; ICMP keeps its identifier in both directions. */
static bool nat_changed(const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;

	if (!(ev->have & CT_HAVE_REPLY))
		return false;
	if (memcmp(o->src, r->dst, 16) != 0 || memcmp(o->dst, r->src, 16) != 0)
		return true;
	return is_icmp(o->proto) ? o->sport != r->sport
				 : o->sport != r->dport || o->dport != r->sport;
}

struct v5_want {
	uint8_t src[4], dst[4];
	uint16_t sport, dport;
	uint8_t proto;
	uint64_t packets, bytes, first_ms, last_ms;
};

static struct v5_want v5_dir(const struct ct_event *ev, const uint8_t *src, uint16_t sport,
			     const uint8_t *dst, uint16_t dport, const struct ct_counters *c)
{
	struct v5_want w = {.sport = is_icmp(ev->orig.proto) ? 0 : sport,
			    .dport = dport,
			    .proto = ev->orig.proto,
			    .packets = c->packets,
			    .bytes = c->bytes};

	memcpy(w.src, src, 4);
	memcpy(w.dst, dst, 4);
	return w;
}

/* The NAT triplet of ev as flow.h describes it: 1 the original direction as
 * the client sent it, 2 as it left the router (NAT only; ICMP keeps the
 * request's type and code), 3 the reply unless it counted no packet. */
static size_t v5_triplet(const struct ct_event *ev, uint64_t first_ms, uint64_t last_ms,
			 struct v5_want w[3])
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;
	size_t n = 0;

	w[n++] = v5_dir(ev, o->src, o->sport, o->dst, o->dport, &ev->cnt_orig);
	if (nat_changed(ev))
		w[n++] = v5_dir(ev, r->dst, r->dport, r->src,
				is_icmp(o->proto) ? o->dport : r->sport, &ev->cnt_orig);
	if ((ev->have & CT_HAVE_REPLY) && ev->cnt_reply.packets > 0)
		w[n++] = v5_dir(ev, r->src, r->sport, r->dst, r->dport, &ev->cnt_reply);
	for (size_t i = 0; i < n; i++) {
		w[i].first_ms = first_ms;
		w[i].last_ms = last_ms;
	}
	return n;
}

/* Collects the differences of one record from what was expected. */
struct cmp {
	const char *what;
	bool ok;
};

static void cmp_u64(struct cmp *c, const char *field, uint64_t got, uint64_t want)
{
	if (got == want)
		return;
	fprintf(stderr, "  %s %s: %" PRIu64 ", expected %" PRIu64 "\n", c->what, field, got, want);
	c->ok = false;
}

static void cmp_addr(struct cmp *c, const char *field, const uint8_t *got, const uint8_t *want,
		     size_t len)
{
	char g[INET6_ADDRSTRLEN] = "(absent)", w[INET6_ADDRSTRLEN];

	if (got && memcmp(got, want, len) == 0)
		return;
	if (got)
		inet_ntop(len == 4 ? AF_INET : AF_INET6, got, g, sizeof g);
	inet_ntop(len == 4 ? AF_INET : AF_INET6, want, w, sizeof w);
	fprintf(stderr, "  %s %s: %s, expected %s\n", c->what, field, g, w);
	c->ok = false;
}

/* r is the v5 record w, its First and Last the uptimes of w's times. */
static bool v5_is(const struct dec_v5_rec *r, const struct v5_want *w, uint64_t boot_ms)
{
	struct cmp c = {"v5 record", true};

	cmp_addr(&c, "srcaddr", r->src, w->src, 4);
	cmp_addr(&c, "dstaddr", r->dst, w->dst, 4);
	cmp_u64(&c, "srcport", r->sport, w->sport);
	cmp_u64(&c, "dstport", r->dport, w->dport);
	cmp_u64(&c, "prot", r->proto, w->proto);
	cmp_u64(&c, "dPkts", r->packets, w->packets);
	cmp_u64(&c, "dOctets", r->bytes, w->bytes);
	cmp_u64(&c, "First", r->first, w->first_ms - boot_ms);
	cmp_u64(&c, "Last", r->last, w->last_ms - boot_ms);
	return c.ok;
}

/* A v5 record given by text, for the tests that spell them out. */
static struct v5_want v5_text(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			      uint64_t packets, uint64_t bytes)
{
	struct v5_want w = {.sport = sport, .dport = dport, .packets = packets, .bytes = bytes};

	if (inet_pton(AF_INET, src, w.src) != 1 || inet_pton(AF_INET, dst, w.dst) != 1)
		abort();
	return w;
}

/* v5 record i is w with c's protocol, and its kernel start and stop as
 * First and Last. */
static bool v5_conn_is(const struct harness *h, size_t i, struct v5_want w, const struct conn *c)
{
	w.proto = c->proto;
	w.first_ms = c->start_ms;
	w.last_ms = c->stop_ms;
	return v5_is(&h->out.v5.recs[i], &w, h->boot_ms);
}

/* One v9 or IPFIX record: the connection, before and after NAT; a flow
 * record, or a NAT event (create or delete, RFC 8158). */
struct ipx_want {
	const struct ct_event *ev;
	uint64_t first_ms, last_ms; /* a NAT event: last_ms is its time */
	int end_reason, nat_event;  /* ANY: not checked */
	bool event;		    /* a NAT event: templates 258/259, no counters */
};

static void cmp_addrs(struct cmp *c, const struct dec_rec *r, const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig, *rp = &ev->reply;
	bool v4 = ev->family == AF_INET, nat = nat_changed(ev);
	size_t len = v4 ? 4 : 16;

	cmp_addr(c, "source", dec_addr(r, v4 ? IE_SRC4 : IE_SRC6, len), o->src, len);
	cmp_addr(c, "destination", dec_addr(r, v4 ? IE_DST4 : IE_DST6, len), o->dst, len);
	cmp_addr(c, "postNAT source", dec_addr(r, v4 ? IE_XSRC4 : IE_XSRC6, len),
		 nat ? rp->dst : o->src, len);
	cmp_addr(c, "postNAT destination", dec_addr(r, v4 ? IE_XDST4 : IE_XDST6, len),
		 nat ? rp->src : o->dst, len);
}

/* Ports: ICMP carries the echo identifier and type * 256 + code. */
static void cmp_ports(struct cmp *c, const struct dec_rec *r, const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig, *rp = &ev->reply;
	bool nat = nat_changed(ev), icmp = is_icmp(o->proto);

	cmp_u64(c, "protocol", dec_num(r, IE_PROTO, 0), o->proto);
	cmp_u64(c, "source port", dec_num(r, IE_SPORT, 0), o->sport);
	cmp_u64(c, "destination port", dec_num(r, IE_DPORT, 0), o->dport);
	cmp_u64(c, "postNAPT source port", dec_num(r, IE_XSPORT, 0),
		!nat   ? o->sport
		: icmp ? rp->sport
		       : rp->dport);
	cmp_u64(c, "postNAPT destination port", dec_num(r, IE_XDPORT, 0),
		!nat || icmp ? o->dport : rp->sport);
}

/* Counters: v9 carries both directions as NSEL 231/232/298/299 and the
 * original one as 1/2 too; IPFIX as 1/2 and their RFC 5103 reverse. */
static void cmp_counters(struct cmp *c, int version, const struct dec_rec *r,
			 const struct ipx_want *w)
{
	const struct ct_event *ev = w->ev;
	uint64_t opk = ev->cnt_orig.packets, ob = ev->cnt_orig.bytes;
	uint64_t rpk = ev->cnt_reply.packets, rb = ev->cnt_reply.bytes;

	cmp_u64(c, "octets", dec_num(r, IE_OCTETS, 0), ob);
	cmp_u64(c, "packets", dec_num(r, IE_PACKETS, 0), opk);
	if (version == 9) {
		cmp_u64(c, "initiatorOctets", dec_num(r, IE_INIT_OCTETS, 0), ob);
		cmp_u64(c, "initiatorPackets", dec_num(r, IE_INIT_PACKETS, 0), opk);
		cmp_u64(c, "responderOctets", dec_num(r, IE_RESP_OCTETS, 0), rb);
		cmp_u64(c, "responderPackets", dec_num(r, IE_RESP_PACKETS, 0), rpk);
	} else {
		cmp_u64(c, "reverse octets", dec_num(r, IE_OCTETS, PEN_REVERSE), rb);
		cmp_u64(c, "reverse packets", dec_num(r, IE_PACKETS, PEN_REVERSE), rpk);
	}
}

/* A NAT event has no counters, no start or end and no end reason: the
 * fields are not in its template at all. */
static void cmp_no_flow_fields(struct cmp *c, const struct dec_rec *r)
{
	static const uint16_t absent[] = {IE_OCTETS,	  IE_PACKETS,	   IE_INIT_OCTETS,
					  IE_RESP_OCTETS, IE_INIT_PACKETS, IE_RESP_PACKETS,
					  IE_START_MS,	  IE_END_MS,	   IE_END_REASON};

	for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
		if (dec_find(r, absent[i], 0) || dec_find(r, absent[i], PEN_REVERSE)) {
			fprintf(stderr, "  %s has IE %u\n", c->what, absent[i]);
			c->ok = false;
		}
}

static uint16_t template_of(const struct ipx_want *w)
{
	bool v4 = w->ev->family == AF_INET;

	return w->event ? (v4 ? TEMPLATE_EVENT4 : TEMPLATE_EVENT6)
			: (v4 ? TEMPLATE_FLOW4 : TEMPLATE_FLOW6);
}

static bool ipx_is(int version, const struct dec_rec *r, const struct ipx_want *w)
{
	struct cmp c = {version == 9 ? "v9 record" : "IPFIX record", true};

	cmp_u64(&c, "template", r->template_id, template_of(w));
	cmp_addrs(&c, r, w->ev);
	cmp_ports(&c, r, w->ev);
	if (w->event) {
		cmp_no_flow_fields(&c, r);
	} else {
		cmp_counters(&c, version, r, w);
		cmp_u64(&c, "flowStartMilliseconds", dec_num(r, IE_START_MS, 0), w->first_ms);
		cmp_u64(&c, "flowEndMilliseconds", dec_num(r, IE_END_MS, 0), w->last_ms);
	}
	cmp_u64(&c, "observationTimeMilliseconds", dec_num(r, IE_OBS_MS, 0), w->last_ms);
	cmp_u64(&c, "flowId", dec_num(r, IE_FLOW_ID, 0), w->ev->id);
	cmp_u64(&c, "ingressVRFID", dec_num(r, IE_INGRESS_VRF, 0), w->ev->orig_zone);
	cmp_u64(&c, "egressVRFID", dec_num(r, IE_EGRESS_VRF, 0), w->ev->reply_zone);
	if (!dec_find(r, IE_INGRESS_VRF, 0) || !dec_find(r, IE_EGRESS_VRF, 0)) {
		fprintf(stderr, "  %s: no ingressVRFID or egressVRFID\n", c.what);
		c.ok = false;
	}
	if (w->end_reason != ANY && !w->event)
		cmp_u64(&c, "flowEndReason", dec_num(r, IE_END_REASON, 0), (uint64_t)w->end_reason);
	if (w->nat_event != ANY)
		cmp_u64(&c, "natEvent", dec_num(r, IE_NAT_EVENT, 0), (uint64_t)w->nat_event);
	return c.ok;
}

/* Record i of stream d (version 9 or 10) is w. */
static bool rec_is(const struct dec_ipx *d, size_t i, struct ipx_want w)
{
	if (i < d->n)
		return ipx_is(d->version, &d->recs[i], &w);
	fprintf(stderr, "  v%d: no record %zu (%zu)\n", d->version, i, d->n);
	return false;
}

/* Record i of both the v9 and the IPFIX stream is w. */
static bool both_are(const struct harness *h, size_t i, const struct ipx_want *w)
{
	bool v9 = rec_is(&h->out.v9, i, *w);

	return rec_is(&h->out.ipfix, i, *w) && v9;
}

/* The v9 and the IPFIX stream are each w[0..n), and no more. */
static void check_both(const struct harness *h, const struct ipx_want *w, size_t n)
{
	CHECK_EQ_U64(h->out.v9.n, n);
	CHECK_EQ_U64(h->out.ipfix.n, n);
	for (size_t i = 0; i < n; i++)
		CHECK(both_are(h, i, &w[i]));
}

/* Stream d is w[0..n), and no more. */
static void check_stream(const struct dec_ipx *d, const struct ipx_want *w, size_t n)
{
	CHECK_EQ_U64(d->n, n);
	for (size_t i = 0; i < n; i++)
		CHECK(rec_is(d, i, w[i]));
}

/* The record of the end of c: its kernel times and counters. */
static struct ipx_want end_of(const struct conn *c, struct ct_event *ev, int reason, int nat)
{
	*ev = event_of(c, c->opk, c->ob, c->rpk, c->rb);
	return (struct ipx_want){ev, c->start_ms, c->stop_ms, reason, nat, false};
}

/* The NAT create event of c at Unix ms t: zero counters, no end reason. */
static struct ipx_want create_of(const struct conn *c, struct ct_event *ev, uint64_t t, int nat)
{
	*ev = event_of(c, 0, 0, 0, 0);
	return (struct ipx_want){ev, t, t, 0, nat, true};
}

/* The NAT delete event of c: at its end (the kernel's stop time), natEvent
 * nat, no counters. */
static struct ipx_want delete_of(const struct conn *c, struct ct_event *ev, int nat)
{
	*ev = event_of(c, 0, 0, 0, 0);
	return (struct ipx_want){ev, c->stop_ms, c->stop_ms, 0, nat, true};
}

/* ---- 1. NAT triplets ------------------------------------------------------- */

static const struct conn c_snat = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.77.1.2", 40000, "203.0.113.2", 80},
    .r = {"203.0.113.2", 80, "203.0.113.1", 61000},
    .id = 11,
    .counters = true,
    .opk = 10,
    .ob = 1000,
    .rpk = 8,
    .rb = 6000,
    .start_ms = AT(1000),
    .stop_ms = AT(41000),
    .tcp_state = TCP_CONNTRACK_TIME_WAIT,
};

/* A port forward: the router's 203.0.113.1:8081 to the client's :8000. */
static const struct conn c_dnat = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"198.51.100.7", 5000, "203.0.113.1", 8081},
    .r = {"10.77.1.2", 8000, "198.51.100.7", 5000},
    .id = 12,
    .counters = true,
    .opk = 3,
    .ob = 300,
    .rpk = 2,
    .rb = 200,
    .start_ms = AT(2000),
    .stop_ms = AT(42000),
};

/* Both: the destination forwarded elsewhere, the source masqueraded. */
static const struct conn c_both = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.77.1.2", 40001, "198.51.100.10", 443},
    .r = {"192.168.9.9", 8443, "203.0.113.1", 62000},
    .id = 13,
    .counters = true,
    .opk = 20,
    .ob = 2000,
    .rpk = 30,
    .rb = 30000,
    .start_ms = AT(3000),
    .stop_ms = AT(43000),
    .tcp_state = TCP_CONNTRACK_ESTABLISHED,
};

/* No NAT: an echo to the router itself (type 8 out, type 0 back). */
static const struct conn c_nonat_icmp = {
    .family = AF_INET,
    .proto = IPPROTO_ICMP,
    .o = {"10.77.1.2", 77, "10.77.1.1", 0x0800},
    .r = {"10.77.1.1", 77, "10.77.1.2", 0x0000},
    .id = 14,
    .counters = true,
    .opk = 3,
    .ob = 252,
    .rpk = 3,
    .rb = 252,
    .start_ms = AT(4000),
    .stop_ms = AT(44000),
};

/* SNAT keeping the port, no reply packet: records 1 and 2 only. */
static const struct conn c_snat_noreply = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 40002, "203.0.113.2", 53},
    .r = {"203.0.113.2", 53, "203.0.113.1", 40002},
    .id = 15,
    .counters = true,
    .opk = 1,
    .ob = 60,
    .start_ms = AT(5000),
    .stop_ms = AT(45000),
};

/* No NAT, no reply: record 1 alone. */
static const struct conn c_nonat_noreply = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.77.1.2", 40003, "10.77.1.1", 22},
    .r = {"10.77.1.1", 22, "10.77.1.2", 40003},
    .id = 16,
    .counters = true,
    .opk = 1,
    .ob = 60,
    .start_ms = AT(6000),
    .stop_ms = AT(46000),
    .tcp_state = TCP_CONNTRACK_SYN_SENT,
};

/* A masqueraded echo whose identifier NAT changed (77 -> 1025). */
static const struct conn c_snat_icmp = {
    .family = AF_INET,
    .proto = IPPROTO_ICMP,
    .o = {"10.77.1.2", 77, "203.0.113.2", 0x0800},
    .r = {"203.0.113.2", 1025, "203.0.113.1", 0x0000},
    .id = 17,
    .counters = true,
    .opk = 2,
    .ob = 168,
    .rpk = 2,
    .rb = 168,
    .start_ms = AT(7000),
    .stop_ms = AT(47000),
};

/* A redirect to a proxy on the router: only the destination port changed. */
static const struct conn c_redirect = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.77.1.2", 40004, "10.77.1.1", 80},
    .r = {"10.77.1.1", 3128, "10.77.1.2", 40004},
    .id = 18,
    .counters = true,
    .opk = 6,
    .ob = 480,
    .rpk = 5,
    .rb = 2500,
    .start_ms = AT(8000),
    .stop_ms = AT(48000),
    .tcp_state = TCP_CONNTRACK_CLOSE,
};

static const struct conn *const triplet_conns[] = {
    &c_snat,	     &c_dnat,	       &c_both,	     &c_nonat_icmp,
    &c_snat_noreply, &c_nonat_noreply, &c_snat_icmp, &c_redirect,
};
#define N_TRIPLET_CONNS (sizeof triplet_conns / sizeof triplet_conns[0])

static void check_v5_header(const struct dec_v5_rec *r, uint64_t now_ns, uint64_t boot_ms)
{
	CHECK_EQ_U64(r->uptime, now_ns / NS_PER_MS - boot_ms);
	CHECK_EQ_U64(r->unix_secs, now_ns / NS_PER_S);
	CHECK_EQ_U64(r->unix_nsecs, now_ns % NS_PER_S);
	CHECK_EQ_U64(r->flow_sequence, 0);
	CHECK_EQ_U64(r->engine_type, 3);
	CHECK_EQ_U64(r->engine_id, 7);
}

/* The v9 and IPFIX records of test_triplets: one per connection, in order,
 * stamped with the time of the flush. */
static void check_triplet_ipx(const struct harness *h, uint64_t flush_ns)
{
	static const int reason[] = {END_OF_FLOW, END_IDLE, END_IDLE, END_IDLE,
				     END_IDLE,	  END_IDLE, END_IDLE, END_OF_FLOW};
	static const int nat[] = {NAT44_DEL, NAT44_DEL, NAT44_DEL, 0,
				  NAT44_DEL, 0,		NAT44_DEL, NAT44_DEL};
	struct ct_event ev[N_TRIPLET_CONNS];
	struct ipx_want w[N_TRIPLET_CONNS];

	for (size_t i = 0; i < N_TRIPLET_CONNS; i++)
		w[i] = end_of(triplet_conns[i], &ev[i], reason[i], nat[i]);
	check_both(h, w, N_TRIPLET_CONNS);
	CHECK_EQ_U64(h->out.v9.tmpl_msgs, 1);
	CHECK_EQ_U64(h->out.ipfix.tmpl_msgs, 1);
	if (h->out.v9.n && h->out.ipfix.n) {
		CHECK_EQ_U64(h->out.v9.recs[0].uptime, flush_ns / NS_PER_MS - BOOT_MS);
		CHECK_EQ_U64(h->out.v9.recs[0].export_secs, flush_ns / NS_PER_S);
		CHECK_EQ_U64(h->out.ipfix.recs[0].export_secs, flush_ns / NS_PER_S);
	}
}

/* 1. Each connection's v5 records, spelled out: SNAT, DNAT (also a
 * port-only redirect) and both give 3 (record 2 the original direction
 * after NAT), no NAT 2, no reply packet
 * one fewer; ICMP ports are 0 and type * 256 + code. First and Last are the
 * kernel's start and stop as uptimes since boot_ms; the header carries the
 * time of the flush. v9 and IPFIX send one record per connection with the
 * same counters. */
static void test_triplets(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true, .top = "engine_type 3\nengine_id 7\n"};
	const uint64_t flush_ns = AT(60000) * NS_PER_MS + 123456789;
	const struct v5_want want[] = {
	    v5_text("10.77.1.2", 40000, "203.0.113.2", 80, 10, 1000),
	    v5_text("203.0.113.1", 61000, "203.0.113.2", 80, 10, 1000),
	    v5_text("203.0.113.2", 80, "203.0.113.1", 61000, 8, 6000),
	    v5_text("198.51.100.7", 5000, "203.0.113.1", 8081, 3, 300),
	    v5_text("198.51.100.7", 5000, "10.77.1.2", 8000, 3, 300),
	    v5_text("10.77.1.2", 8000, "198.51.100.7", 5000, 2, 200),
	    v5_text("10.77.1.2", 40001, "198.51.100.10", 443, 20, 2000),
	    v5_text("203.0.113.1", 62000, "192.168.9.9", 8443, 20, 2000),
	    v5_text("192.168.9.9", 8443, "203.0.113.1", 62000, 30, 30000),
	    v5_text("10.77.1.2", 0, "10.77.1.1", 0x0800, 3, 252),
	    v5_text("10.77.1.1", 0, "10.77.1.2", 0x0000, 3, 252),
	    v5_text("10.77.1.2", 40002, "203.0.113.2", 53, 1, 60),
	    v5_text("203.0.113.1", 40002, "203.0.113.2", 53, 1, 60),
	    v5_text("10.77.1.2", 40003, "10.77.1.1", 22, 1, 60),
	    v5_text("10.77.1.2", 0, "203.0.113.2", 0x0800, 2, 168),
	    v5_text("203.0.113.1", 0, "203.0.113.2", 0x0800, 2, 168),
	    v5_text("203.0.113.2", 0, "203.0.113.1", 0x0000, 2, 168),
	    v5_text("10.77.1.2", 40004, "10.77.1.1", 80, 6, 480),
	    v5_text("10.77.1.2", 40004, "10.77.1.1", 3128, 6, 480),
	    v5_text("10.77.1.1", 3128, "10.77.1.2", 40004, 5, 2500),
	};
	static const uint8_t conn_of[] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3,
					  3, 4, 4, 5, 6, 6, 6, 7, 7, 7};
	const size_t nwant = sizeof want / sizeof want[0];

	if (!h_start(&h, &s))
		return;
	for (size_t i = 0; i < N_TRIPLET_CONNS; i++)
		send_at(&h, AT(50000), triplet_conns[i], K_DESTROY, 0);
	h_flush_ns(&h, flush_ns);
	CHECK_EQ_U64(h.out.v5.dgrams, 1);
	CHECK_EQ_U64(h.out.v5.n, nwant);
	for (size_t i = 0; i < nwant && i < h.out.v5.n; i++)
		CHECK(v5_conn_is(&h, i, want[i], triplet_conns[conn_of[i]]));
	if (h.out.v5.n)
		check_v5_header(&h.out.v5.recs[0], flush_ns, BOOT_MS);
	check_triplet_ipx(&h, flush_ns);
	h_close(&h);
}

/* ---- 2. counters above 2^32-1 ---------------------------------------------- */

static const struct conn c_huge = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.77.1.2", 40020, "203.0.113.2", 443},
    .r = {"203.0.113.2", 443, "203.0.113.1", 60020},
    .id = 21,
    .counters = true,
    .opk = 5000000000ull,
    .ob = 9000000000ull,
    .rpk = 3,
    .rb = 300,
    .start_ms = AT(1000),
    .stop_ms = AT(2000),
};

/* At the edge: 2^32-1 bytes fit one record, 2^32 need two. */
static const struct conn c_edge = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 40021, "203.0.113.2", 4000},
    .r = {"203.0.113.2", 4000, "203.0.113.1", 60021},
    .id = 22,
    .counters = true,
    .opk = 70000,
    .ob = V5_MAX,
    .rpk = 70000,
    .rb = V5_MAX + 1,
    .start_ms = AT(1500),
    .stop_ms = AT(2500),
};

/* Packets and bytes of the v5 records from key's src:sport to dst:dport. */
static void v5_sum_key(const struct dec_v5 *d, const struct v5_want *key, uint64_t sum[2])
{
	sum[0] = sum[1] = 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct dec_v5_rec *r = &d->recs[i];
		if (memcmp(r->src, key->src, 4) == 0 && memcmp(r->dst, key->dst, 4) == 0 &&
		    r->sport == key->sport && r->dport == key->dport) {
			sum[0] += r->packets;
			sum[1] += r->bytes;
		}
	}
}

static void v5_sum(const struct dec_v5 *d, const char *src, uint16_t sport, const char *dst,
		   uint16_t dport, uint64_t sum[2])
{
	struct v5_want key = v5_text(src, sport, dst, dport, 0, 0);

	v5_sum_key(d, &key, sum);
}

/* 2. A DESTROY whose counters exceed what v5's 32-bit fields hold becomes
 * several records of near-equal shares, each within 2^32-1, adding up to
 * the kernel's counters exactly; v9 and IPFIX carry them whole (64 bits). */
static void test_split(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true};
	const struct v5_want want[] = {
	    v5_text("10.77.1.2", 40020, "203.0.113.2", 443, 1666666667, 3000000000),
	    v5_text("10.77.1.2", 40020, "203.0.113.2", 443, 1666666667, 3000000000),
	    v5_text("10.77.1.2", 40020, "203.0.113.2", 443, 1666666666, 3000000000),
	    v5_text("203.0.113.1", 60020, "203.0.113.2", 443, 1666666667, 3000000000),
	    v5_text("203.0.113.1", 60020, "203.0.113.2", 443, 1666666667, 3000000000),
	    v5_text("203.0.113.1", 60020, "203.0.113.2", 443, 1666666666, 3000000000),
	    v5_text("203.0.113.2", 443, "203.0.113.1", 60020, 3, 300),
	    v5_text("10.77.1.2", 40021, "203.0.113.2", 4000, 70000, V5_MAX),
	    v5_text("203.0.113.1", 60021, "203.0.113.2", 4000, 70000, V5_MAX),
	    v5_text("203.0.113.2", 4000, "203.0.113.1", 60021, 35000, 2147483648u),
	    v5_text("203.0.113.2", 4000, "203.0.113.1", 60021, 35000, 2147483648u),
	};
	const size_t nwant = sizeof want / sizeof want[0];
	uint64_t sum[2];

	if (!h_start(&h, &s))
		return;
	send_at(&h, AT(3000), &c_huge, K_DESTROY, 0);
	send_at(&h, AT(3000), &c_edge, K_DESTROY, 0);
	h_flush(&h, AT(4000));
	CHECK_EQ_U64(h.out.v5.n, nwant);
	for (size_t i = 0; i < nwant && i < h.out.v5.n; i++)
		CHECK(v5_conn_is(&h, i, want[i], i < 7 ? &c_huge : &c_edge));
	v5_sum(&h.out.v5, "10.77.1.2", 40020, "203.0.113.2", 443, sum);
	CHECK(sum[0] == c_huge.opk && sum[1] == c_huge.ob);
	v5_sum(&h.out.v5, "203.0.113.1", 60020, "203.0.113.2", 443, sum);
	CHECK(sum[0] == c_huge.opk && sum[1] == c_huge.ob);
	v5_sum(&h.out.v5, "203.0.113.2", 4000, "203.0.113.1", 60021, sum);
	CHECK(sum[0] == c_edge.rpk && sum[1] == c_edge.rb);
	CHECK(stats_are(&h, "skipped:",
			"ipv6-for-v5 0 other-protocol-for-v5 0 split-records 5 "
			"nat-create-events 0"));
	struct ct_event ev[2];
	const struct ipx_want w[] = {end_of(&c_huge, &ev[0], END_IDLE, NAT44_DEL),
				     end_of(&c_edge, &ev[1], END_IDLE, NAT44_DEL)};
	CHECK(both_are(&h, 0, &w[0]));
	CHECK(both_are(&h, 1, &w[1]));
	h_close(&h);
}

/* ---- 3. natEvent and flowEndReason ------------------------------------------ */

static const struct conn c_ev_snat = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.77.1.2", 41000, "203.0.113.2", 80},
    .r = {"203.0.113.2", 80, "203.0.113.1", 41000},
    .id = 31,
    .counters = true,
    .opk = 5,
    .ob = 500,
    .rpk = 4,
    .rb = 400,
    .start_ms = AT(1000),
    .stop_ms = AT(9000),
    .tcp_state = TCP_CONNTRACK_TIME_WAIT,
};

static const struct conn c_ev_nonat = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 41001, "10.77.1.1", 53},
    .r = {"10.77.1.1", 53, "10.77.1.2", 41001},
    .id = 32,
    .counters = true,
    .opk = 1,
    .ob = 70,
    .rpk = 1,
    .rb = 90,
    .start_ms = AT(1500),
    .stop_ms = AT(9000),
};

static const struct conn c_ev_nat66 = {
    .family = AF_INET6,
    .proto = IPPROTO_TCP,
    .o = {"fd77:1::2", 41002, "2001:db8:113::2", 8080},
    .r = {"2001:db8:113::2", 8080, "2001:db8:113::1", 41002},
    .id = 33,
    .counters = true,
    .opk = 6,
    .ob = 600,
    .rpk = 5,
    .rb = 500,
    .start_ms = AT(2000),
    .stop_ms = AT(9000),
    .tcp_state = TCP_CONNTRACK_FIN_WAIT,
};

/* Its NEW carries the kernel's event time (Linux 6.14), before the clock. */
static const struct conn c_ev_dnat = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"198.51.100.7", 5001, "203.0.113.1", 8081},
    .r = {"10.77.1.2", 8000, "198.51.100.7", 5001},
    .id = 34,
    .counters = true,
    .opk = 7,
    .ob = 700,
    .rpk = 6,
    .rb = 600,
    .start_ms = AT(2400),
    .stop_ms = AT(9000),
    .event_ms = AT(2400),
    .tcp_state = TCP_CONNTRACK_ESTABLISHED,
};

static const struct conn c_ev_snat_udp = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 41003, "203.0.113.2", 53},
    .r = {"203.0.113.2", 53, "203.0.113.1", 41003},
    .id = 35,
    .counters = true,
    .opk = 1,
    .ob = 80,
    .rpk = 1,
    .rb = 120,
    .start_ms = AT(3000),
    .stop_ms = AT(9000),
};

static const struct conn c_ev_snat_est = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.77.1.2", 41004, "203.0.113.2", 443},
    .r = {"203.0.113.2", 443, "203.0.113.1", 41004},
    .id = 36,
    .counters = true,
    .opk = 9,
    .ob = 900,
    .rpk = 8,
    .rb = 800,
    .start_ms = AT(3500),
    .stop_ms = AT(9000),
    .tcp_state = TCP_CONNTRACK_ESTABLISHED,
};

static void nat_events_traffic(struct harness *h)
{
	send_at(h, AT(1000), &c_ev_snat, K_NEW, 0);
	send_at(h, AT(1500), &c_ev_nonat, K_NEW, 0);
	send_at(h, AT(2000), &c_ev_nat66, K_NEW, 0);
	send_at(h, AT(2500), &c_ev_dnat, K_NEW, 0);
	send_at(h, AT(10000), &c_ev_snat, K_DESTROY, 0);
	send_at(h, AT(10000), &c_ev_nonat, K_DESTROY, PID_CONNTRACK);
	send_at(h, AT(10000), &c_ev_nat66, K_DESTROY, PID_CONNTRACK);
	send_at(h, AT(10000), &c_ev_dnat, K_DESTROY, 0);
	send_at(h, AT(10000), &c_ev_snat_udp, K_DESTROY, 0);
	send_at(h, AT(10000), &c_ev_snat_est, K_DESTROY, PID_CONNTRACK);
	h_flush(h, AT(11000));
}

/* 3a. Defaults (nat_events yes, IANA codes): a NAT create event at NEW for
 * each NATed connection, natEvent 4 (IPv4) or 1 (IPv6), at the clock's time
 * or the kernel's event time; none for a connection without NAT. Deletes
 * say 5, 2 (IPv6) or 0 (no NAT). flowEndReason: 3 for TCP closing (even
 * when a process deleted it), 4 when a process deleted it (nlmsg_pid != 0),
 * else 1. */
static void test_nat_events_default(void)
{
	struct harness h;
	struct ct_event ev[9];
	const struct setup s = {.kernel_ts = true};

	if (!h_start(&h, &s))
		return;
	nat_events_traffic(&h);
	const struct ipx_want w[] = {
	    create_of(&c_ev_snat, &ev[0], AT(1000), NAT44_ADD),
	    create_of(&c_ev_nat66, &ev[1], AT(2000), NAT_CREATE),
	    create_of(&c_ev_dnat, &ev[2], AT(2400), NAT44_ADD),
	    end_of(&c_ev_snat, &ev[3], END_OF_FLOW, NAT44_DEL),
	    end_of(&c_ev_nonat, &ev[4], END_FORCED, 0),
	    end_of(&c_ev_nat66, &ev[5], END_OF_FLOW, NAT_DELETE),
	    end_of(&c_ev_dnat, &ev[6], END_IDLE, NAT44_DEL),
	    end_of(&c_ev_snat_udp, &ev[7], END_IDLE, NAT44_DEL),
	    end_of(&c_ev_snat_est, &ev[8], END_FORCED, NAT44_DEL),
	};
	check_both(&h, w, 9);
	CHECK(stats_are(&h, "skipped:",
			"ipv6-for-v5 1 other-protocol-for-v5 0 split-records 0 "
			"nat-create-events 3"));
	h_close(&h);
}

/* 3b. Per collector: v9 with nat_event_codes legacy says 1/2 for IPv4 too;
 * IPFIX with nat_events no gets no create event and keeps 5. */
static void test_nat_events_per_collector(void)
{
	struct harness h;
	struct ct_event ev[8];
	const struct setup s = {.kernel_ts = true,
				.v9_keys = "nat_event_codes legacy\n",
				.ipfix_keys = "nat_events no\n"};

	if (!h_start(&h, &s))
		return;
	send_at(&h, AT(1000), &c_ev_snat, K_NEW, 0);
	send_at(&h, AT(2000), &c_ev_nat66, K_NEW, 0);
	send_at(&h, AT(10000), &c_ev_snat, K_DESTROY, 0);
	send_at(&h, AT(10000), &c_ev_nat66, K_DESTROY, PID_CONNTRACK);
	send_at(&h, AT(10000), &c_ev_nonat, K_DESTROY, 0);
	h_flush(&h, AT(11000));
	const struct ipx_want v9[] = {
	    create_of(&c_ev_snat, &ev[0], AT(1000), NAT_CREATE),
	    create_of(&c_ev_nat66, &ev[1], AT(2000), NAT_CREATE),
	    end_of(&c_ev_snat, &ev[2], END_OF_FLOW, NAT_DELETE),
	    end_of(&c_ev_nat66, &ev[3], END_OF_FLOW, NAT_DELETE),
	    end_of(&c_ev_nonat, &ev[4], END_IDLE, 0),
	};
	const struct ipx_want ipfix[] = {
	    end_of(&c_ev_snat, &ev[5], END_OF_FLOW, NAT44_DEL),
	    end_of(&c_ev_nat66, &ev[6], END_OF_FLOW, NAT_DELETE),
	    end_of(&c_ev_nonat, &ev[7], END_IDLE, 0),
	};
	check_stream(&h.out.v9, v9, 5);
	check_stream(&h.out.ipfix, ipfix, 3);
	CHECK(stats_are(&h, "skipped:",
			"ipv6-for-v5 1 other-protocol-for-v5 0 split-records 0 "
			"nat-create-events 2"));
	h_close(&h);
}

/* 3c. nat_events no everywhere: a NEW sends nothing at all. */
static void test_nat_events_off(void)
{
	struct harness h;
	struct ct_event ev;
	const struct setup s = {
	    .kernel_ts = true, .v9_keys = "nat_events no\n", .ipfix_keys = "nat_events no\n"};

	if (!h_start(&h, &s))
		return;
	send_at(&h, AT(1000), &c_ev_snat, K_NEW, 0);
	h_flush(&h, AT(5000));
	CHECK_EQ_U64(h.out.v9.msgs + h.out.ipfix.msgs + h.out.v5.dgrams, 0);
	send_at(&h, AT(10000), &c_ev_snat, K_DESTROY, 0);
	h_flush(&h, AT(11000));
	struct ipx_want w = end_of(&c_ev_snat, &ev, END_OF_FLOW, NAT44_DEL);
	check_both(&h, &w, 1);
	CHECK(stats_are(&h, "skipped:",
			"ipv6-for-v5 0 other-protocol-for-v5 0 split-records 0 "
			"nat-create-events 0"));
	h_close(&h);
}

/* 3d. nat_events all: the create events, and after the last flow record of
 * each NATed connection (which keeps natEvent 5, 2 for IPv6) a delete event
 * (RFC 8158: natEvent 5, 2 for IPv6) in the NAT event template, at the
 * connection's end. None for a connection without NAT. */
static void test_nat_events_all(void)
{
	struct harness h;
	struct ct_event ev[14];
	const struct setup s = {
	    .kernel_ts = true, .v9_keys = "nat_events all\n", .ipfix_keys = "nat_events all\n"};

	if (!h_start(&h, &s))
		return;
	nat_events_traffic(&h);
	const struct ipx_want w[] = {
	    create_of(&c_ev_snat, &ev[0], AT(1000), NAT44_ADD),
	    create_of(&c_ev_nat66, &ev[1], AT(2000), NAT_CREATE),
	    create_of(&c_ev_dnat, &ev[2], AT(2400), NAT44_ADD),
	    end_of(&c_ev_snat, &ev[3], END_OF_FLOW, NAT44_DEL),
	    delete_of(&c_ev_snat, &ev[4], NAT44_DEL),
	    end_of(&c_ev_nonat, &ev[5], END_FORCED, 0),
	    end_of(&c_ev_nat66, &ev[6], END_OF_FLOW, NAT_DELETE),
	    delete_of(&c_ev_nat66, &ev[7], NAT_DELETE),
	    end_of(&c_ev_dnat, &ev[8], END_IDLE, NAT44_DEL),
	    delete_of(&c_ev_dnat, &ev[9], NAT44_DEL),
	    end_of(&c_ev_snat_udp, &ev[10], END_IDLE, NAT44_DEL),
	    delete_of(&c_ev_snat_udp, &ev[11], NAT44_DEL),
	    end_of(&c_ev_snat_est, &ev[12], END_FORCED, NAT44_DEL),
	    delete_of(&c_ev_snat_est, &ev[13], NAT44_DEL),
	};
	check_both(&h, w, 14);
	h_close(&h);
}

/* A connection in conntrack zone 7 (both directions), and one whose reply
 * direction alone is in zone 9 (a directional zone). */
static const struct conn c_zone7 = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 41010, "203.0.113.2", 53},
    .r = {"203.0.113.2", 53, "203.0.113.1", 41010},
    .id = 37,
    .counters = true,
    .opk = 1,
    .ob = 60,
    .rpk = 1,
    .rb = 90,
    .start_ms = AT(1000),
    .stop_ms = AT(5000),
    .zone = 7,
};

static const struct conn c_reply_zone9 = {
    .family = AF_INET6,
    .proto = IPPROTO_UDP,
    .o = {"fd77:1::2", 41011, "2001:db8:113::2", 53},
    .r = {"2001:db8:113::2", 53, "2001:db8:113::1", 41011},
    .id = 38,
    .counters = true,
    .opk = 2,
    .ob = 120,
    .rpk = 2,
    .rb = 180,
    .start_ms = AT(1500),
    .stop_ms = AT(5000),
    .reply_zone = 9,
};

/* 3e. The conntrack zone is the VRF: ingressVRFID (234) is the original
 * direction's zone, egressVRFID (235) the reply direction's, the same zone
 * in both when it is not directional; in flow records and NAT events. */
static void test_zone_vrf(void)
{
	struct harness h;
	struct ct_event ev[6];
	const struct setup s = {
	    .kernel_ts = true, .v9_keys = "nat_events all\n", .ipfix_keys = "nat_events all\n"};

	if (!h_start(&h, &s))
		return;
	send_at(&h, AT(1000), &c_zone7, K_NEW, 0);
	send_at(&h, AT(1500), &c_reply_zone9, K_NEW, 0);
	send_at(&h, AT(6000), &c_zone7, K_DESTROY, 0);
	send_at(&h, AT(6000), &c_reply_zone9, K_DESTROY, 0);
	h_flush(&h, AT(7000));
	const struct ipx_want w[] = {
	    create_of(&c_zone7, &ev[0], AT(1000), NAT44_ADD),
	    create_of(&c_reply_zone9, &ev[1], AT(1500), NAT_CREATE),
	    end_of(&c_zone7, &ev[2], END_IDLE, NAT44_DEL),
	    delete_of(&c_zone7, &ev[3], NAT44_DEL),
	    end_of(&c_reply_zone9, &ev[4], END_IDLE, NAT_DELETE),
	    delete_of(&c_reply_zone9, &ev[5], NAT_DELETE),
	};
	CHECK_EQ_U64(ev[0].orig_zone, 7);
	CHECK_EQ_U64(ev[0].reply_zone, 7);
	CHECK_EQ_U64(ev[1].orig_zone, 0);
	CHECK_EQ_U64(ev[1].reply_zone, 9);
	check_both(&h, w, 6);
	if (h.out.v9.n == 6 && h.out.ipfix.n == 6) { /* spelled out once more */
		CHECK_EQ_U64(dec_num(&h.out.ipfix.recs[2], IE_INGRESS_VRF, 0), 7);
		CHECK_EQ_U64(dec_num(&h.out.v9.recs[2], IE_INGRESS_VRF, 0), 7);
		CHECK_EQ_U64(dec_num(&h.out.ipfix.recs[4], IE_EGRESS_VRF, 0), 9);
	}
	h_close(&h);
}

/* pipeline_ifindex_fn: a router with the LAN 10.0.0.0/8 on interface 2 and
 * everything else on 3; IPv6, and 192.0.2.0/24 on an index v5 cannot
 * carry. Counts the lookups. */
static unsigned fake_lookups;
static uint32_t fake_ifindex(void *ctx, uint8_t family, const uint8_t *addr)
{
	(void)ctx;
	fake_lookups++;
	if (family != AF_INET)
		return 0;
	if (addr[0] == 10)
		return 2;
	return addr[0] == 192 && addr[1] == 0 && addr[2] == 2 ? 70000 : 3;
}

/* v5 input/output and IPFIX/v9 ingressInterface/egressInterface: towards
 * the client (orig.src) and towards the server after NAT (reply.src); the
 * reply record the other way round. */
static void test_interfaces(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true, .v5_keys = "", .ifindex = fake_ifindex};
	/* SNAT: in by the LAN, out by the WAN; a port forward: the reverse. */
	static const uint16_t v5_in[] = {2, 2, 3, 3, 3, 2}, v5_out[] = {3, 3, 2, 2, 2, 3};

	if (!h_start(&h, &s))
		return;
	fake_lookups = 0;
	send_at(&h, AT(1000), &c_snat, K_NEW, 0);
	send_at(&h, AT(41000), &c_snat, K_DESTROY, 0);
	send_at(&h, AT(41000), &c_dnat, K_DESTROY, 0);
	h_flush(&h, AT(42000));
	CHECK_EQ_U64(fake_lookups, 4); /* two per connection, at its end */
	CHECK_EQ_U64(h.out.v5.n, 6);
	for (size_t i = 0; i < h.out.v5.n && i < 6; i++) {
		CHECK_EQ_U64(h.out.v5.recs[i].input, v5_in[i]);
		CHECK_EQ_U64(h.out.v5.recs[i].output, v5_out[i]);
	}
	/* The NAT create event first: its template has no interfaces. */
	CHECK_EQ_U64(h.out.ipfix.n, 3);
	CHECK_EQ_U64(h.out.v9.n, 3);
	if (h.out.ipfix.n == 3 && h.out.v9.n == 3) {
		CHECK(dec_find(&h.out.ipfix.recs[0], IE_INGRESS_IF, 0) == NULL);
		for (size_t i = 1; i < 3; i++) {
			uint64_t in = i == 1 ? 2 : 3, out = i == 1 ? 3 : 2;
			CHECK_EQ_U64(dec_num(&h.out.ipfix.recs[i], IE_INGRESS_IF, 0), in);
			CHECK_EQ_U64(dec_num(&h.out.ipfix.recs[i], IE_EGRESS_IF, 0), out);
			CHECK_EQ_U64(dec_num(&h.out.v9.recs[i], IE_INGRESS_IF, 0), in);
			CHECK_EQ_U64(dec_num(&h.out.v9.recs[i], IE_EGRESS_IF, 0), out);
		}
	}
	h_close(&h);

	/* Without a lookup (replay, tests): 0, unknown. */
	const struct setup none = {.kernel_ts = true, .v5_keys = ""};
	if (!h_start(&h, &none))
		return;
	send_at(&h, AT(41000), &c_snat, K_DESTROY, 0);
	h_flush(&h, AT(42000));
	CHECK_EQ_U64(h.out.v5.n, 3);
	for (size_t i = 0; i < h.out.v5.n; i++)
		CHECK_EQ_U64(h.out.v5.recs[i].input + h.out.v5.recs[i].output, 0);
	CHECK_EQ_U64(h.out.ipfix.n, 1);
	if (h.out.ipfix.n == 1) {
		CHECK(dec_find(&h.out.ipfix.recs[0], IE_INGRESS_IF, 0) != NULL);
		CHECK_EQ_U64(dec_num(&h.out.ipfix.recs[0], IE_INGRESS_IF, 0), 0);
		CHECK_EQ_U64(dec_num(&h.out.ipfix.recs[0], IE_EGRESS_IF, 0), 0);
	}
	h_close(&h);
}

/* The loss reports (RFC 7011 §4.3) of a v9 or IPFIX stream: records of
 * template 260; returns how many, the last in *last. */
static size_t loss_reports(const struct dec_ipx *d, const struct dec_rec **last)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		if (d->recs[i].template_id == TEMPLATE_LOSS) {
			n++;
			*last = &d->recs[i];
		}
	return n;
}

/* One loss report's figures, in both versions: the scope (IPFIX
 * exportingProcessId; v9 scope System) is the observation domain. */
static void check_loss(const struct dec_rec *r, int version, uint64_t flows, uint64_t first_ms,
		       uint64_t last_ms)
{
	if (version == 10)
		CHECK_EQ_U64(dec_num(r, IE_EXPORTING_PROCESS, 0), 3);
	else
		CHECK_EQ_U64(dec_num(r, 1, DEC_V9_SCOPE_PEN), 3);
	CHECK_EQ_U64(dec_num(r, IE_NOT_SENT_FLOWS, 0), flows);
	CHECK_EQ_U64(dec_num(r, IE_NOT_SENT_PACKETS, 0), 0);
	CHECK_EQ_U64(dec_num(r, IE_NOT_SENT_OCTETS, 0), 0);
	CHECK_EQ_U64(dec_num(r, IE_START_MS, 0), first_ms);
	CHECK_EQ_U64(dec_num(r, IE_END_MS, 0), last_ms);
}

/* Events the kernel dropped reach every v9 and IPFIX collector as a loss
 * report at once, again every minute, and with new figures after a new
 * loss; nothing before any loss. Sequence numbers stay whole (the decoders
 * check them: the report is a data record). */
static void test_loss_reports(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true,
				.v9_keys = "observation_domain 3\n",
				.ipfix_keys = "observation_domain 3\n"};
	const struct dec_ipx *dec[2];
	const struct dec_rec *last = NULL;

	if (!h_start(&h, &s))
		return;
	dec[0] = &h.out.v9;
	dec[1] = &h.out.ipfix;
	send_at(&h, AT(1000), &c_snat, K_DESTROY, 0);
	h_flush(&h, AT(1500));
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_U64(loss_reports(dec[i], &last), 0);
		CHECK(dec_ipx_template((struct dec_ipx *)dec[i], TEMPLATE_LOSS) == NULL);
	}
	h.now_ns = AT(2000) * NS_PER_MS;
	pipeline_events_lost(h.p, 5);
	CHECK_EQ_U64(pipeline_due(h.p), 0); /* reported at once */
	pipeline_tick(h.p);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_U64(loss_reports(dec[i], &last), 1);
		if (last)
			check_loss(last, i ? 10 : 9, 5, AT(2000), AT(2000));
	}
	h.now_ns = AT(3000) * NS_PER_MS; /* nothing new: no report */
	pipeline_tick(h.p);
	CHECK_EQ_U64(loss_reports(&h.out.ipfix, &last), 1);
	CHECK_EQ_U64(pipeline_due(h.p), AT(62000) * NS_PER_MS - MONO_BEHIND);
	h.now_ns = AT(62000) * NS_PER_MS; /* a minute later: again */
	pipeline_tick(h.p);
	CHECK_EQ_U64(loss_reports(&h.out.ipfix, &last), 2);
	h.now_ns = AT(70000) * NS_PER_MS;
	pipeline_events_lost(h.p, 3);
	send_at(&h, AT(70000), &c_dnat, K_DESTROY, 0);
	h_flush(&h, AT(70500));
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_U64(loss_reports(dec[i], &last), 3);
		if (last)
			check_loss(last, i ? 10 : 9, 8, AT(2000), AT(70000));
		CHECK(dec_ipx_template((struct dec_ipx *)dec[i], TEMPLATE_LOSS) != NULL);
	}
	CHECK(stats_are(&h, "lost:", "netlink-events 8 dropped-flows 0"));
	CHECK_EQ_U64(h.out.v9.errors + h.out.ipfix.errors, 0);
	h_close(&h);
}

/* ---- 4. active timeout: interim records with delta counters ---------------- */

static const struct conn c_long = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.77.1.2", 42000, "203.0.113.2", 8090},
    .r = {"203.0.113.2", 8090, "203.0.113.1", 42000},
    .id = 41,
    .counters = true,
    .start_ms = AT(0),
    .stop_ms = AT(149000),
    .tcp_state = TCP_CONNTRACK_ESTABLISHED,
    .timeout = 432000,
};

static const struct conn c_mid = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 42001, "203.0.113.2", 5353},
    .r = {"203.0.113.2", 5353, "203.0.113.1", 42001},
    .id = 42,
    .counters = true,
    .start_ms = AT(40000),
    .stop_ms = AT(145000),
    .timeout = 120,
};

/* c with the kernel's counters at some moment. */
static struct conn at_counters(const struct conn *c, uint64_t opk, uint64_t ob, uint64_t rpk,
			       uint64_t rb)
{
	struct conn x = *c;

	x.opk = opk;
	x.ob = ob;
	x.rpk = rpk;
	x.rb = rb;
	return x;
}

/* The table dumps of test_interim (active_timeout 60): c_long is in the
 * start-up dump at 10 s, c_mid starts at 40 s (NEW, not in it). The dump
 * at 59.999 s comes 1 ms too early for c_long; those at 60 s (c_long) and
 * 100 s (c_mid) exactly on time. */
static void interim_traffic(struct harness *h)
{
	struct conn l = at_counters(&c_long, 10, 1000, 5, 500), m;

	CHECK_EQ_U64(dump_at(h, AT(10000), true, (const struct conn *[]){&l}, 1), 0);
	send_at(h, AT(40000), &c_mid, K_NEW, 0);
	l = at_counters(&c_long, 90, 9000, 45, 4500);
	m = at_counters(&c_mid, 2, 200, 2, 200);
	CHECK_EQ_U64(dump_at(h, AT(59999), false, (const struct conn *[]){&l, &m}, 2), 0);
	l = at_counters(&c_long, 100, 10000, 50, 5000);
	m = at_counters(&c_mid, 4, 400, 4, 400);
	CHECK_EQ_U64(dump_at(h, AT(60000), false, (const struct conn *[]){&l, &m}, 2), 0);
	l = at_counters(&c_long, 150, 15000, 60, 6000);
	m = at_counters(&c_mid, 6, 600, 6, 600);
	CHECK_EQ_U64(dump_at(h, AT(100000), false, (const struct conn *[]){&l, &m}, 2), 0);
	l = at_counters(&c_long, 300, 30000, 120, 12000);
	m = at_counters(&c_mid, 8, 800, 8, 800);
	CHECK_EQ_U64(dump_at(h, AT(140000), false, (const struct conn *[]){&l, &m}, 2), 0);
	l = at_counters(&c_long, 310, 31000, 125, 12500);
	l.tcp_state = TCP_CONNTRACK_TIME_WAIT;
	m = at_counters(&c_mid, 9, 900, 9, 900);
	send_at(h, AT(150000), &l, K_DESTROY, 0);
	send_at(h, AT(150000), &m, K_DESTROY, 0);
	h_flush(h, AT(151000));
}

/* One record of a connection: what passed from first to last. */
struct delta {
	const struct conn *c;
	uint64_t opk, ob, rpk, rb, first, last;
	int reason;
};

/* The records interim_traffic gives with active_timeout 60, in order. */
static const struct delta interim_deltas[] = {
    {&c_long, 100, 10000, 50, 5000, AT(0), AT(60000), END_ACTIVE},
    {&c_mid, 6, 600, 6, 600, AT(40000), AT(100000), END_ACTIVE},
    {&c_long, 200, 20000, 70, 7000, AT(60000), AT(140000), END_ACTIVE},
    {&c_long, 10, 1000, 5, 500, AT(140000), AT(149000), END_OF_FLOW},
    {&c_mid, 3, 300, 3, 300, AT(100000), AT(145000), END_IDLE},
};

/* The v9 or IPFIX record of d. An interim record says nothing of the NAT
 * session, which is still open: natEvent 0, as without NAT; the last one
 * 5. */
static struct ipx_want delta_want(const struct delta *d, struct ct_event *ev)
{
	*ev = event_of(d->c, d->opk, d->ob, d->rpk, d->rb);
	return (struct ipx_want){
	    ev, d->first, d->last, d->reason, d->reason == END_ACTIVE ? 0 : NAT44_DEL, false};
}

/* Packets and bytes of both directions over the records of flow id in d
 * (v9: the NSEL responder counters; IPFIX: the RFC 5103 reverse ones). */
static void ipx_sums(const struct dec_ipx *d, uint32_t id, uint64_t sum[4])
{
	memset(sum, 0, 4 * sizeof *sum);
	for (size_t i = 0; i < d->n; i++) {
		const struct dec_rec *r = &d->recs[i];
		if (dec_num(r, IE_FLOW_ID, 0) != id)
			continue;
		sum[0] += dec_num(r, IE_PACKETS, 0);
		sum[1] += dec_num(r, IE_OCTETS, 0);
		sum[2] += d->version == 9 ? dec_num(r, IE_RESP_PACKETS, 0)
					  : dec_num(r, IE_PACKETS, PEN_REVERSE);
		sum[3] += d->version == 9 ? dec_num(r, IE_RESP_OCTETS, 0)
					  : dec_num(r, IE_OCTETS, PEN_REVERSE);
	}
}

/* Every stream's records of c add up to its kernel counters opk..rb. */
static bool sums_are(const struct harness *h, const struct conn *c, uint64_t opk, uint64_t ob,
		     uint64_t rpk, uint64_t rb)
{
	uint64_t v9[4], ipfix[4], orig[2], reply[2];

	ipx_sums(&h->out.v9, c->id, v9);
	ipx_sums(&h->out.ipfix, c->id, ipfix);
	v5_sum(&h->out.v5, c->o.src, c->o.sport, c->o.dst, c->o.dport, orig);
	v5_sum(&h->out.v5, c->r.src, c->r.sport, c->r.dst, c->r.dport, reply);
	bool ok = v9[0] == opk && v9[1] == ob && v9[2] == rpk && v9[3] == rb &&
		  memcmp(v9, ipfix, sizeof v9) == 0 && orig[0] == opk && orig[1] == ob &&
		  reply[0] == rpk && reply[1] == rb;
	if (!ok)
		fprintf(stderr,
			"  flow %u: v9 %" PRIu64 "/%" PRIu64 " %" PRIu64 "/%" PRIu64 ", v5 %" PRIu64
			"/%" PRIu64 " %" PRIu64 "/%" PRIu64 "\n",
			c->id, v9[0], v9[1], v9[2], v9[3], orig[0], orig[1], reply[0], reply[1]);
	return ok;
}

static void check_interim_sums(const struct harness *h)
{
	CHECK(sums_are(h, &c_long, 310, 31000, 125, 12500));
	CHECK(sums_are(h, &c_mid, 9, 900, 9, 900));
}

/* 4. With active_timeout 60, a dump that shows a connection open for 60 s
 * (not 59.999) since its start (or its previous record: for one that
 * began after the start-up dump, its kernel start) exports an interim record of
 * what passed since (flowEndReason 2); the DESTROY's record carries the
 * rest. v5 sends the triplet of each. The records of each connection add up
 * to the kernel's final counters. */
static void test_interim(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true,
				.active_timeout = 60,
				.v9_keys = "nat_events no\n",
				.ipfix_keys = "nat_events no\n"};
	const struct delta *d = interim_deltas;
	size_t v5 = 0;

	if (!h_start(&h, &s))
		return;
	interim_traffic(&h);
	CHECK_EQ_U64(h.out.v9.n, 5);
	CHECK_EQ_U64(h.out.v5.n, 15);
	for (size_t i = 0; i < 5; i++) {
		struct ct_event ev;
		struct ipx_want iw = delta_want(&d[i], &ev);
		struct v5_want w[3];
		size_t n = v5_triplet(&ev, d[i].first, d[i].last, w);
		CHECK(both_are(&h, i, &iw));
		for (size_t k = 0; k < n && v5 < h.out.v5.n; k++)
			CHECK(v5_is(&h.out.v5.recs[v5++], &w[k], BOOT_MS));
	}
	check_interim_sums(&h);
	CHECK(stats_are(
	    &h, "connections:",
	    "exported 2 ended-unseen 0 remembered 0 expired-by-ttl 0 "
	    "start-unknown 0 no-counters 0 out-of-memory 0 interim 3 interim-remembered 0"));
	h_close(&h);
}

/* h_start for s with a NAT log (format text, with more keys) into a new
 * temporary file named in path (a mkstemp template), which the caller
 * unlinks after h_close; false (a failed check, no file left) if either
 * cannot be. */
static bool h_start_natlog(struct harness *h, struct setup s, char *path, const char *keys)
{
	char top[256];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return false;
	close(fd);
	snprintf(top, sizeof top, "<natlog>\nfile %s\nformat text\n%s</natlog>\n", path, keys);
	s.top = top;
	if (h_start(h, &s))
		return true;
	unlink(path);
	return false;
}

/* What file path holds (at most size - 1 bytes), as a string in buf. */
static const char *file_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

/* 4a'. The NAT log (format text) gets the same records as the collectors:
 * a line per interim record and per end, counters of each record's period;
 * nothing for a connection without NAT unless all yes. */
static void test_natlog(void)
{
	const struct delta *d = interim_deltas;
	char path[] = "/tmp/nfflowd-natlog-XXXXXX", got[4096], want[4096] = "";
	const struct setup s = {.kernel_ts = true,
				.active_timeout = 60,
				.v9_keys = "nat_events no\n",
				.ipfix_keys = "nat_events no\n"};
	struct harness h;

	if (!h_start_natlog(&h, s, path, ""))
		return;
	interim_traffic(&h);
	/* a connection without NAT: left out */
	send_at(&h, AT(152000), &c_ev_nonat, K_DESTROY, 0);
	h_flush(&h, AT(153000));
	for (size_t i = 0; i < 5; i++) {
		const struct conn *c = d[i].c;
		char a[NATLOG_TIME_LEN + 1], b[NATLOG_TIME_LEN + 1];
		size_t at = strlen(want);
		natlog_time(a, d[i].first);
		natlog_time(b, d[i].last);
		snprintf(want + at, sizeof want - at,
			 "%s %s %s %s %s %u %s %u %s %u %s %u %" PRIu64 " %" PRIu64 " %" PRIu64
			 " %" PRIu64 " 0\n",
			 d[i].reason == END_ACTIVE ? "interim" : "end", a, b,
			 c->proto == IPPROTO_TCP ? "tcp" : "udp", c->o.src, c->o.sport, c->o.dst,
			 c->o.dport, c->r.dst, c->r.dport, c->r.src, c->r.sport, d[i].opk, d[i].ob,
			 d[i].rpk, d[i].rb);
	}
	CHECK_STR(file_text(path, got, sizeof got), want);
	CHECK(stats_are(&h, "copy natlog:", "lines 5 dropped 0 waiting 0"));
	h_close(&h);
	unlink(path);
}

/* A set of one port block: 10.77.1.2's 203.0.113.1:42000-42001. */
static struct portblock_set one_block(void)
{
	struct portblock_set set = {0};

	set.b = calloc(1, sizeof *set.b);
	if (!set.b)
		abort();
	set.n = set.cap = 1;
	inet_pton(AF_INET, "10.77.1.2", set.b[0].src);
	inet_pton(AF_INET, "203.0.113.1", set.b[0].xsrc);
	set.b[0].start = 42000;
	set.b[0].end = 42001;
	return set;
}

/* Records of template tmpl in d, and of those, how many have natEvent ne
 * (ANY: all). */
static size_t count_tmpl(const struct dec_ipx *d, uint16_t tmpl, int ne)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		n += d->recs[i].template_id == tmpl &&
		     (ne == ANY || dec_num(&d->recs[i], IE_NAT_EVENT, 0) == (uint64_t)ne);
	return n;
}

/* 4a''. Port blocks: 10.77.1.2's block 203.0.113.1:42000-42001 holds
 * c_long and c_mid. Its allocation and de-allocation (natEvent 16/17,
 * template 261) go to both collectors (nat_events all) and the NAT log;
 * with nat_sessions outside-blocks the IPFIX collector and the NAT log
 * leave out the session events and lines of the two connections, the v9
 * collector (nat_sessions all) keeps them; flow records are unchanged. */
static void test_port_blocks(void)
{
	char path[] = "/tmp/nfflowd-blocks-XXXXXX", got[4096];
	const struct setup s = {.kernel_ts = true,
				.active_timeout = 60,
				.v9_keys = "nat_events all\n",
				.ipfix_keys = "nat_events all\nnat_sessions outside-blocks\n"};
	struct portblock_set set;
	struct harness h;

	if (!h_start_natlog(&h, s, path, "nat_sessions outside-blocks\n"))
		return;
	set = one_block();
	h.now_ns = (uint64_t)AT(0) * NS_PER_MS;
	CHECK_EQ_U64(pipeline_port_blocks(h.p, &set), 1);
	CHECK_EQ_U64(set.n, 0);
	interim_traffic(&h);
	h.now_ns = (uint64_t)AT(152000) * NS_PER_MS;
	CHECK_EQ_U64(pipeline_port_blocks(h.p, &set), 1); /* an empty ruleset: freed */
	h_flush(&h, AT(153000));
	for (int v = 0; v < 2; v++) {
		const struct dec_ipx *d = v ? &h.out.ipfix : &h.out.v9;
		CHECK_EQ_U64(count_tmpl(d, TEMPLATE_FLOW4, ANY), 5);
		CHECK_EQ_U64(count_tmpl(d, TEMPLATE_BLOCK, NAT44_BLOCK_ALLOC), 1);
		CHECK_EQ_U64(count_tmpl(d, TEMPLATE_BLOCK, NAT44_BLOCK_FREE), 1);
		CHECK_EQ_U64(count_tmpl(d, TEMPLATE_EVENT4, ANY), v ? 0 : 3);
	}
	for (size_t i = 0; i < h.out.ipfix.n; i++) {
		const struct dec_rec *r = &h.out.ipfix.recs[i];
		if (r->template_id != TEMPLATE_BLOCK)
			continue;
		CHECK_EQ_U64(dec_num(r, IE_PORT_RANGE_START, 0), 42000);
		CHECK_EQ_U64(dec_num(r, IE_PORT_RANGE_NUM_PORTS, 0), 2);
		CHECK_EQ_U64(dec_num(r, IE_OBS_MS, 0),
			     dec_num(r, IE_NAT_EVENT, 0) == NAT44_BLOCK_ALLOC ? AT(0) : AT(152000));
	}
	char a[NATLOG_TIME_LEN + 1], b[NATLOG_TIME_LEN + 1], want[512];
	natlog_time(a, AT(0));
	natlog_time(b, AT(152000));
	snprintf(want, sizeof want,
		 "block-alloc %s 10.77.1.2 203.0.113.1 42000 42001 1 2\n"
		 "block-free %s 10.77.1.2 203.0.113.1 42000 42001 1 2\n",
		 a, b);
	CHECK_STR(file_text(path, got, sizeof got), want);
	h_close(&h);
	unlink(path);
}

/* 4b. With nat_events all, a connection with interim records gets one
 * delete event, after its last record; its interim records (flowEndReason
 * 2) say natEvent 0: the session is still open. c_mid's NEW gives a create
 * event; c_long was open before the start-up dump (no NEW, no create). */
static void test_interim_nat_all(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true,
				.active_timeout = 60,
				.v9_keys = "nat_events all\n",
				.ipfix_keys = "nat_events all\n"};
	struct ct_event ev[8];

	if (!h_start(&h, &s))
		return;
	interim_traffic(&h);
	const struct delta *d = interim_deltas;
	const struct ipx_want w[] = {
	    create_of(&c_mid, &ev[0], AT(40000), NAT44_ADD),
	    delta_want(&d[0], &ev[1]),
	    delta_want(&d[1], &ev[2]),
	    delta_want(&d[2], &ev[3]),
	    delta_want(&d[3], &ev[4]),
	    delete_of(&c_long, &ev[5], NAT44_DEL),
	    delta_want(&d[4], &ev[6]),
	    delete_of(&c_mid, &ev[7], NAT44_DEL),
	};
	check_both(&h, w, 8);
	check_interim_sums(&h);
	h_close(&h);
}

/* ---- 5. connections a dump finds ended -------------------------------------- */

static const struct conn c_a = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 43000, "203.0.113.2", 53},
    .r = {"203.0.113.2", 53, "203.0.113.1", 43000},
    .id = 51,
    .counters = true,
    .opk = 2,
    .ob = 140,
    .rpk = 2,
    .rb = 300,
    .start_ms = AT(500),
    .timeout = 30,
};

static const struct conn c_b = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.77.1.2", 43001, "203.0.113.2", 443},
    .r = {"203.0.113.2", 443, "203.0.113.1", 43001},
    .id = 52,
    .counters = true,
    .opk = 10,
    .ob = 1000,
    .rpk = 9,
    .rb = 9000,
    .start_ms = AT(600),
    .tcp_state = TCP_CONNTRACK_ESTABLISHED,
    .timeout = 120,
};

static const struct conn c_c = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 43002, "203.0.113.2", 123},
    .r = {"203.0.113.2", 123, "203.0.113.1", 43002},
    .id = 53,
    .counters = true,
    .opk = 1,
    .ob = 76,
    .rpk = 1,
    .rb = 76,
    .start_ms = AT(700),
    .stop_ms = AT(4000),
    .timeout = 100,
};

static const struct conn c_d = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 43003, "203.0.113.2", 53},
    .r = {"203.0.113.2", 53, "203.0.113.1", 43003},
    .id = 54,
    .counters = true,
    .opk = 3,
    .ob = 180,
    .rpk = 3,
    .rb = 180,
    .start_ms = AT(800),
    .stop_ms = AT(900),
    .timeout = 30,
};

/* The v5 triplet of c with the given counters and times comes next, at
 * *at in the v5 records. */
static bool v5_next(const struct harness *h, size_t *at, const struct conn *c, uint64_t first,
		    uint64_t last)
{
	struct ct_event ev = event_of(c, c->opk, c->ob, c->rpk, c->rb);
	struct v5_want w[3];
	size_t n = v5_triplet(&ev, first, last, w);
	bool ok = true;

	for (size_t k = 0; k < n; k++, (*at)++) {
		if (*at >= h->out.v5.n) {
			fprintf(stderr, "  flow %u: no v5 record %zu\n", c->id, *at);
			return false;
		}
		ok &= v5_is(&h->out.v5.recs[*at], &w[k], h->boot_ms);
	}
	return ok;
}

/* The start-up dump of test_dump_end_kernel_ts: c_d's DESTROY arrives while
 * it runs, before c_d's own entry (which must then not export it again). */
static void startup_dump(struct harness *h)
{
	static struct dgram d;

	h->now_ns = AT(1000) * NS_PER_MS;
	pipeline_dump_begin(h->p, true);
	send_at(h, AT(1000), &c_d, K_DESTROY, 0);
	put_conn(&d, &c_a, K_DUMP, 0);
	put_conn(&d, &c_b, K_DUMP, 0);
	put_conn(&d, &c_c, K_DUMP, 0);
	put_conn(&d, &c_d, K_DUMP, 0);
	put_done(&d);
	CHECK_EQ_U64(feed(h, PIPELINE_DUMP, &d, NULL), 1);
	CHECK_EQ_U64(pipeline_dump_end(h->p), 0);
}

/* 5a. Kernel timestamps on. Connections of the start-up dump that two later
 * dumps in a row no longer show, whose DESTROY never came, are exported at
 * the second one's end from their last snapshot: its counters, the kernel's
 * start, and as end that second dump's time or the snapshot's time plus its
 * timeout left, whichever is earlier. One dump missing them is not enough:
 * with reliable delivery the kernel may hold a DESTROY back while a dump
 * runs. A connection whose DESTROY came is exported once; one whose DESTROY
 * came during the start-up dump, before its entry, too. */
static void test_dump_end_kernel_ts(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true};
	struct conn b2 = at_counters(&c_b, 20, 2000, 18, 18000);
	size_t at = 0;

	if (!h_start(&h, &s))
		return;
	startup_dump(&h);
	CHECK_EQ_U64(pipeline_pending_snapshots(h.p), 3);
	send_at(&h, AT(5000), &c_c, K_DESTROY, 0);
	CHECK_EQ_U64(pipeline_pending_snapshots(h.p), 2);
	/* c_a missed once: kept. */
	CHECK_EQ_U64(dump_at(&h, AT(60000), false, (const struct conn *[]){&b2}, 1), 0);
	CHECK_EQ_U64(pipeline_pending_snapshots(h.p), 2);
	/* c_a missed twice: exported (ending at its timeout, earlier); b2 once. */
	CHECK_EQ_U64(dump_at(&h, AT(100000), false, NULL, 0), 1);
	CHECK_EQ_U64(pipeline_pending_snapshots(h.p), 1);
	/* b2 missed twice: exported, ending at this dump, not the one before. */
	CHECK_EQ_U64(dump_at(&h, AT(130000), false, NULL, 0), 1);
	CHECK_EQ_U64(pipeline_pending_snapshots(h.p), 0);
	h_flush(&h, AT(131000));
	CHECK(v5_next(&h, &at, &c_d, AT(800), AT(900)));
	CHECK(v5_next(&h, &at, &c_c, AT(700), AT(4000)));
	CHECK(v5_next(&h, &at, &c_a, AT(500), AT(31000)));
	CHECK(v5_next(&h, &at, &b2, AT(600), AT(130000)));
	CHECK_EQ_U64(h.out.v5.n, at);
	struct ct_event ev = event_of(&b2, b2.opk, b2.ob, b2.rpk, b2.rb);
	CHECK(both_are(&h, 3,
		       &(struct ipx_want){&ev, AT(600), AT(130000), END_IDLE, NAT44_DEL, false}));
	CHECK_EQ_U64(h.out.v9.n, 4);
	CHECK(stats_are(
	    &h, "connections:",
	    "exported 4 ended-unseen 2 remembered 0 expired-by-ttl 0 "
	    "start-unknown 0 no-counters 0 out-of-memory 0 interim 0 interim-remembered 0"));
	h_close(&h);
}

/* Without kernel timestamps: no CTA_TIMESTAMP anywhere. */
static struct conn no_ts(const struct conn *c)
{
	struct conn x = *c;

	x.start_ms = x.stop_ms = 0;
	return x;
}

/* 5b. Kernel timestamps off: a NEW is remembered so that its DESTROY gets
 * the NEW's time as start; a DESTROY without NEW starts when it ends; a
 * start-up dump entry starts when the dump saw it, and ends (two later
 * dumps in a row not showing it) at that time plus its timeout left. */
static void test_dump_end_no_ts(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = false};
	struct conn e = no_ts(&c_a), f = no_ts(&c_b), g = no_ts(&c_c);
	size_t at = 0;

	e.timeout = 50;
	if (!h_start(&h, &s))
		return;
	CHECK_EQ_U64(dump_at(&h, AT(1000), true, (const struct conn *[]){&e}, 1), 0);
	send_at(&h, AT(2000), &f, K_NEW, 0);
	send_at(&h, AT(3000), &g, K_DESTROY, 0);
	send_at(&h, AT(9000), &f, K_DESTROY, 0);
	CHECK_EQ_U64(dump_at(&h, AT(80000), false, NULL, 0), 0); /* e missed once */
	CHECK_EQ_U64(pipeline_pending_snapshots(h.p), 1);
	CHECK_EQ_U64(dump_at(&h, AT(90000), false, NULL, 0), 1); /* twice */
	h_flush(&h, AT(91000));
	CHECK(v5_next(&h, &at, &g, AT(3000), AT(3000)));
	CHECK(v5_next(&h, &at, &f, AT(2000), AT(9000)));
	CHECK(v5_next(&h, &at, &e, AT(1000), AT(51000)));
	CHECK_EQ_U64(h.out.v5.n, at);
	CHECK(stats_are(
	    &h, "connections:",
	    "exported 3 ended-unseen 1 remembered 0 expired-by-ttl 0 "
	    "start-unknown 1 no-counters 0 out-of-memory 0 interim 0 interim-remembered 0"));
	h_close(&h);
}

/* 5c. ttl: pipeline_expire forgets a remembered NEW once it is older than
 * ttl (not a millisecond before); its DESTROY then has no known start. */
static void test_expire(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = false, .top = "<ct2ft>\nttl 60\n</ct2ft>\n"};
	struct conn f = no_ts(&c_b);
	size_t at = 0;

	if (!h_start(&h, &s))
		return;
	send_at(&h, AT(0), &f, K_NEW, 0);
	h.now_ns = AT(60000) * NS_PER_MS;
	CHECK_EQ_U64(pipeline_expire(h.p), 0);
	h.now_ns = AT(60001) * NS_PER_MS;
	CHECK_EQ_U64(pipeline_expire(h.p), 1);
	CHECK_EQ_U64(pipeline_tracker_stats(h.p)->expired, 1);
	send_at(&h, AT(62000), &f, K_DESTROY, 0);
	h_flush(&h, AT(63000));
	CHECK(v5_next(&h, &at, &f, AT(62000), AT(62000)));
	CHECK_EQ_U64(pipeline_tracker_stats(h.p)->start_unknown, 1);
	h_close(&h);
}

/* ---- 6. filters ---------------------------------------------------------------- */

static const struct conn c_udp443 = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"10.77.1.2", 44000, "203.0.113.2", 443},
    .r = {"203.0.113.2", 443, "203.0.113.1", 44000},
    .id = 61,
    .counters = true,
    .opk = 1,
    .ob = 1200,
    .rpk = 1,
    .rb = 1200,
    .start_ms = AT(100),
    .stop_ms = AT(200),
};

/* Masqueraded, from another network than the client's. */
static const struct conn c_other_lan = {
    .family = AF_INET,
    .proto = IPPROTO_TCP,
    .o = {"10.88.0.5", 44001, "203.0.113.2", 80},
    .r = {"203.0.113.2", 80, "203.0.113.1", 44001},
    .id = 62,
    .counters = true,
    .opk = 4,
    .ob = 400,
    .rpk = 4,
    .rb = 400,
    .start_ms = AT(100),
    .stop_ms = AT(200),
};

/* UDP to the v9 collector's address and port: nfflowd's own export. */
static const struct conn c_own = {
    .family = AF_INET,
    .proto = IPPROTO_UDP,
    .o = {"127.0.0.1", 50000, "127.0.0.1", 2056},
    .r = {"127.0.0.1", 2056, "127.0.0.1", 50000},
    .id = 63,
    .counters = true,
    .opk = 10,
    .ob = 14000,
    .start_ms = AT(100),
    .stop_ms = AT(200),
};

/* One filter: a NEW of c_ev_snat, then DESTROYs of c[0..n). */
struct fcase {
	const char *filter;
	const struct conn *const *c;
	size_t n;
	const struct conn *const *want; /* whose end records must come, in order */
	size_t nwant;
	bool create;	   /* c_ev_snat's NAT create event too, first */
	uint64_t filtered; /* messages left out */
};

static void filter_case(const struct fcase *f)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true, .top = f->filter};
	char expect[512];

	if (!h_start(&h, &s))
		return;
	send_at(&h, AT(50), &c_ev_snat, K_NEW, 0);
	for (size_t i = 0; i < f->n; i++)
		send_at(&h, AT(1000), f->c[i], K_DESTROY, 0);
	h_flush(&h, AT(2000));
	CHECK_EQ_U64(h.out.v9.n, f->nwant + f->create);
	for (size_t i = 0; i < f->nwant; i++) {
		struct ct_event ev;
		CHECK(rec_is(&h.out.v9, f->create + i, end_of(f->want[i], &ev, ANY, ANY)));
	}
	CHECK_EQ_U64(pipeline_stats(h.p)->filtered, f->filtered);
	snprintf(expect, sizeof expect,
		 "datagrams %zu overruns 0 parse-errors 0 dumps 0 dump-errors 0 buffer "
		 "212992 filtered %" PRIu64,
		 f->n + 1, f->filtered);
	CHECK(stats_are(&h, "netlink:", expect));
	h_close(&h);
}

#define CONNS(...)                                                                                 \
	(const struct conn *[]){__VA_ARGS__},                                                      \
	    sizeof((const struct conn *[]){__VA_ARGS__}) / sizeof(const struct conn *)

/* 6. <filter> leaves out the connections it does not match, their NEW
 * included (c_ev_snat's NAT create event comes only where it matches), and
 * by default nfflowd's own export traffic; the pipeline counts the
 * messages it left out. */
static void test_filters(void)
{
	const struct fcase cases[] = {
	    {"<filter>\nprotocol tcp\nport 443\n</filter>\n",
	     CONNS(&c_ev_snat_est, &c_snat, &c_udp443), CONNS(&c_ev_snat_est), false, 3},
	    {"<filter>\nnat_only yes\n</filter>\n",
	     CONNS(&c_snat, &c_dnat, &c_nonat_icmp, &c_ev_nat66), CONNS(&c_snat, &c_ev_nat66), true,
	     2},
	    {"<filter>\noriginal_address 10.77.1.0/24\ntranslated_address 203.0.113.1\n"
	     "</filter>\n",
	     CONNS(&c_snat, &c_other_lan, &c_nonat_icmp, &c_dnat), CONNS(&c_snat), true, 3},
	    {NULL, CONNS(&c_own, &c_snat), CONNS(&c_snat), true, 1},
	    {"<filter>\nexport_self yes\n</filter>\n", CONNS(&c_own, &c_snat),
	     CONNS(&c_own, &c_snat), true, 0},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		filter_case(&cases[i]);
}

/* ---- 7. overruns, resync, dump errors ------------------------------------------ */

static struct conn resync_conn(uint32_t id, uint16_t sport)
{
	struct conn c = c_b;

	c.id = id;
	c.o.sport = c.r.dport = sport;
	c.start_ms = AT(100);
	c.timeout = 300;
	return c;
}

/* A datagram the parser refuses (a conntrack NEW without any tuple) and
 * one of another subsystem (expectations), which is not an error. */
static void send_unparsable(struct harness *h)
{
	static struct dgram d;
	struct nlmsghdr *nlh;
	uint16_t types[] = {NFNL_SUBSYS_CTNETLINK << SUBSYS_SHIFT | IPCTNL_MSG_CT_NEW,
			    NFNL_SUBSYS_CTNETLINK_EXP << SUBSYS_SHIFT | IPCTNL_MSG_EXP_NEW};

	for (size_t i = 0; i < 2; i++) {
		nlh = msg_start(&d, types[i], NLM_F_CREATE);
		struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
		nfg->nfgen_family = AF_INET;
		msg_end(&d, nlh);
	}
	CHECK_EQ_U64(feed(h, PIPELINE_EVENTS, &d, NULL), 0);
}

/* A dump the kernel refuses (NLMSG_ERROR, EBUSY): it ends with the errno
 * and is aborted; what the table remembers stays. */
static void failed_dump(struct harness *h)
{
	static struct dgram d;
	int err = 0;

	pipeline_dump_begin(h->p, false);
	put_error(&d, EBUSY);
	CHECK_EQ_U64(feed(h, PIPELINE_DUMP, &d, &err), 1);
	CHECK_EQ_U64(err, EBUSY);
	pipeline_dump_abort(h->p);
	CHECK(!pipeline_dumping(h->p));
}

/* 7. Events lost to an overrun: pipeline_overrun counts; the resync dump
 * that follows and the next dump, both not showing some of the start-up
 * dump's connections (their DESTROYs lost), export those from their
 * snapshots at the second dump: the resync dump alone does not (a DESTROY
 * held back by reliable delivery may still come); a connection that began
 * after the start-up dump has no snapshot and is not exported (tracker.h
 * promises nothing for it). The stats text counts datagrams, overruns,
 * parse errors, dumps and failed dumps. */
static void test_overrun_resync(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true};
	struct conn r1 = resync_conn(71, 45001), r2 = resync_conn(72, 45002),
		    r3 = resync_conn(73, 45003), x = resync_conn(74, 45004);
	size_t at = 0;

	if (!h_start(&h, &s))
		return;
	CHECK_EQ_U64(dump_at(&h, AT(1000), true, (const struct conn *[]){&r1, &r2, &r3}, 3), 0);
	send_at(&h, AT(2000), &x, K_NEW, 0);
	pipeline_overrun(h.p);
	pipeline_overrun(h.p);
	/* The resync dump: r1 and r2 missed once, kept. */
	CHECK_EQ_U64(dump_at(&h, AT(4000), false, (const struct conn *[]){&r3}, 1), 0);
	CHECK_EQ_U64(pipeline_pending_snapshots(h.p), 3);
	/* The next dump: missed twice, exported, ending at this dump. */
	CHECK_EQ_U64(dump_at(&h, AT(6000), false, (const struct conn *[]){&r3}, 1), 2);
	CHECK_EQ_U64(pipeline_pending_snapshots(h.p), 1);
	failed_dump(&h);
	CHECK_EQ_U64(pipeline_pending_snapshots(h.p), 1);
	send_unparsable(&h);
	h_flush(&h, AT(7000));
	CHECK(v5_next(&h, &at, &r1, AT(100), AT(6000)));
	CHECK(v5_next(&h, &at, &r2, AT(100), AT(6000)));
	CHECK_EQ_U64(h.out.v5.n, at);
	CHECK_EQ_U64(h.out.v9.n, 3); /* x's create event, r1, r2 */
	CHECK_EQ_U64(pipeline_stats(h.p)->overruns, 2);
	CHECK(stats_are(&h, "netlink:",
			"datagrams 2 overruns 2 parse-errors 1 dumps 4 dump-errors 1 buffer "
			"212992 filtered 0"));
	CHECK(stats_are(
	    &h, "connections:",
	    "exported 2 ended-unseen 2 remembered 1 expired-by-ttl 0 "
	    "start-unknown 0 no-counters 0 out-of-memory 0 interim 0 interim-remembered 0"));
	h_close(&h);
}

/* ---- mtu ------------------------------------------------------------------------- */

/* 50 NATed connections: 40 IPv4 TCP, 10 NAT66 UDP, each with a NEW. */
static struct conn mtu_conn(size_t i)
{
	struct conn c = c_ev_snat;

	if (i >= 40)
		c = c_ev_nat66;
	c.id = 1000 + (uint32_t)i;
	c.o.sport = c.r.dport = (uint16_t)(20000 + i);
	return c;
}

/* With mtu 512 for every collector, no datagram's IP packet (payload, IP
 * and UDP headers) exceeds 512 bytes, for each version and address family
 * of the collector, and every record still arrives: v5 puts 9 records in a
 * datagram (24 + 9 * 48 = 456; 10 would be 504), v9 and IPFIX as many as
 * fit, the templates alone in a message when they do not fit beside a
 * record. */
static void test_mtu(bool ipv6)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true,
				.ipv6 = ipv6,
				.v5_keys = "mtu 512\n",
				.v9_keys = "mtu 512\nnat_events all\n",
				.ipfix_keys = "mtu 512\nnat_events all\n"};

	if (!h_start(&h, &s))
		return;
	for (size_t i = 0; i < 50; i++) {
		struct conn c = mtu_conn(i);
		send_at(&h, AT(1000 + i), &c, K_NEW, 0);
	}
	for (size_t i = 0; i < 50; i++) {
		struct conn c = mtu_conn(i);
		send_at(&h, AT(9000), &c, K_DESTROY, 0);
	}
	h_flush(&h, AT(10000));
	CHECK_EQ_U64(h.out.v5.n, 40 * 3);
	CHECK_EQ_U64(h.out.v5.dgrams, (40 * 3 + 8) / 9);
	CHECK_EQ_U64(h.out.v9.n, 50 * 3); /* create, flow, delete */
	CHECK_EQ_U64(h.out.ipfix.n, 50 * 3);
	for (size_t i = 0; i < 3; i++) {
		CHECK(h.out.ip_len[i] <= 512);
		CHECK(h.out.ip_len[i] > 400); /* and they are filled */
	}
	h_close(&h);
}

/* The default mtu, 1280, to an IPv6 collector: 25 v5 records (1248 bytes
 * with the IPv6 and UDP headers; the v5 maximum of 30 would be 1512); v9
 * and IPFIX fill their datagrams as far as the mtu lets them too. */
static void test_mtu_default(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true, .ipv6 = true};

	if (!h_start(&h, &s))
		return;
	for (size_t i = 0; i < 40; i++) {
		struct conn c = mtu_conn(i);
		send_at(&h, AT(9000), &c, K_DESTROY, 0);
	}
	h_flush(&h, AT(10000));
	CHECK_EQ_U64(h.out.v5.n, 120);
	CHECK_EQ_U64(h.out.v5.dgrams, (120 + 24) / 25);
	CHECK_EQ_U64(h.out.ip_len[0], 24 + 25 * 48 + 48);
	CHECK_EQ_U64(h.out.v9.n, 40);
	CHECK_EQ_U64(h.out.ipfix.n, 40);
	for (size_t i = 0; i < 3; i++) {
		CHECK(h.out.ip_len[i] <= 1280);
		CHECK(h.out.ip_len[i] > 1280 - 125); /* filled: no room for one more record */
	}
	h_close(&h);
}

/* ---- reload ----------------------------------------------------------------------- */

/* A reload that adds a filter: records before it leave with the old
 * settings, the collectors continue their sequence numbers (the decoders
 * check them across the reload), v9 and IPFIX send their templates again,
 * and the new filter applies. */
static void test_reload(void)
{
	struct harness h;
	const struct setup s = {.kernel_ts = true};
	const struct setup s2 = {.kernel_ts = true, .top = "<filter>\nprotocol udp\n</filter>\n"};
	size_t at = 0;

	if (!h_start(&h, &s))
		return;
	send_at(&h, AT(50000), &c_snat, K_DESTROY, 0);
	CHECK(h_reload(&h, &s2));
	CHECK_EQ_U64(h.out.v5.dgrams, 1);
	send_at(&h, AT(51000), &c_both, K_DESTROY, 0);
	send_at(&h, AT(51000), &c_dnat, K_DESTROY, 0);
	h_flush(&h, AT(52000));
	CHECK(v5_next(&h, &at, &c_snat, c_snat.start_ms, c_snat.stop_ms));
	CHECK(v5_next(&h, &at, &c_dnat, c_dnat.start_ms, c_dnat.stop_ms));
	CHECK_EQ_U64(h.out.v5.n, at);
	CHECK_EQ_U64(h.out.v5.dgrams, 2);
	CHECK_EQ_U64(h.out.v9.msgs, 2);
	CHECK_EQ_U64(h.out.v9.tmpl_msgs, 2);
	CHECK_EQ_U64(h.out.ipfix.tmpl_msgs, 2);
	CHECK_EQ_U64(pipeline_stats(h.p)->filtered, 1);
	CHECK_EQ_U64(pipeline_config(h.p)->filter.nprotos, 1);
	h_close(&h);
}

/* A reload: collectors that carry on get no second allocation of the blocks
 * in force; new ones (here: every collector moved to ::1) get one each. */
static void test_reload_blocks(void)
{
	const struct setup s = {
	    .kernel_ts = true, .v9_keys = "nat_events all\n", .ipfix_keys = "nat_events all\n"};
	struct setup s6 = s;
	struct portblock_set set;
	struct harness h;

	s6.ipv6 = true;
	if (!h_start(&h, &s))
		return;
	set = one_block();
	h.now_ns = (uint64_t)AT(0) * NS_PER_MS;
	CHECK_EQ_U64(pipeline_port_blocks(h.p, &set), 1);
	CHECK(h_reload(&h, &s));
	h_flush(&h, AT(1000));
	CHECK_EQ_U64(count_tmpl(&h.out.v9, TEMPLATE_BLOCK, NAT44_BLOCK_ALLOC), 1);
	CHECK_EQ_U64(count_tmpl(&h.out.ipfix, TEMPLATE_BLOCK, NAT44_BLOCK_ALLOC), 1);
	CHECK(h_reload(&h, &s6));
	h.out.v9.next_seq = h.out.ipfix.next_seq = 0; /* new collectors: new sequences */
	h_flush(&h, AT(2000));
	CHECK_EQ_U64(count_tmpl(&h.out.v9, TEMPLATE_BLOCK, NAT44_BLOCK_ALLOC), 2);
	CHECK_EQ_U64(count_tmpl(&h.out.ipfix, TEMPLATE_BLOCK, NAT44_BLOCK_ALLOC), 2);
	CHECK_EQ_U64(h.out.misrouted, 0);
	h_close(&h);
}

/* A reload that turns NAT events on for collectors that carry on: they
 * were told no blocks before, so each gets an allocation of the blocks in
 * force. */
static void test_reload_blocks_events_on(void)
{
	const struct setup off = {
	    .kernel_ts = true, .v9_keys = "nat_events no\n", .ipfix_keys = "nat_events no\n"};
	const struct setup on = {
	    .kernel_ts = true, .v9_keys = "nat_events all\n", .ipfix_keys = "nat_events all\n"};
	struct portblock_set set;
	struct harness h;

	if (!h_start(&h, &off))
		return;
	set = one_block();
	h.now_ns = (uint64_t)AT(0) * NS_PER_MS;
	CHECK_EQ_U64(pipeline_port_blocks(h.p, &set), 1);
	CHECK(h_reload(&h, &on));
	h_flush(&h, AT(1000));
	CHECK_EQ_U64(count_tmpl(&h.out.v9, TEMPLATE_BLOCK, NAT44_BLOCK_ALLOC), 1);
	CHECK_EQ_U64(count_tmpl(&h.out.ipfix, TEMPLATE_BLOCK, NAT44_BLOCK_ALLOC), 1);
	CHECK_EQ_U64(h.out.misrouted, 0);
	h_close(&h);
}

/* ---- recordings of the real kernel's stream ---------------------------------------- */

/* What tests/data/record-pipeline.sh made (see its notes). */
#define REC_NAT_DESTROYS    9 /* connections ended with an event */
#define REC_NAT_NEWS	    8
#define REC_NAT_ENTRIES	    1 /* the start-up dump's */
#define REC_NAT_SNAT4	    5 /* IPv4 from 10.77.1.2, masqueraded to 203.0.113.1 */
#define REC_NAT_IDLE	    1 /* ended by its timeout: nlmsg_pid 0 */
#define REC_ACTIVE_DESTROYS 1
#define REC_ACTIVE_DUMPS    8
#define REC_ACTIVE_ENTRIES  6
#define REC_ACTIVE_INTERIM  2 /* replayed with active_timeout 2 */
#define REC_MAX		    64

/* What a recording holds, read from its messages here: the kernel's word. */
struct truth {
	struct ct_event destroy[REC_MAX], created[REC_MAX], entry[REC_MAX];
	uint64_t created_ns[REC_MAX], entry_ns[REC_MAX], done_ns[REC_MAX]; /* packet times */
	size_t ndestroy, ncreated, nentry, ndone, unparsed;
	size_t begun; /* dumps begun while replaying */
};

static void tally_msg(struct truth *t, const struct nlmsghdr *nlh, uint64_t ts_ns)
{
	struct ct_event ev;

	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (t->ndone < REC_MAX)
			t->done_ns[t->ndone++] = ts_ns;
	} else if (ctmsg_parse(nlh, &ev) != CTMSG_OK) {
		t->unparsed++;
	} else if (ev.type == CT_EV_DESTROY && t->ndestroy < REC_MAX) {
		t->destroy[t->ndestroy++] = ev;
	} else if (ev.type == CT_EV_NEW && t->ncreated < REC_MAX) {
		t->created_ns[t->ncreated] = ts_ns;
		t->created[t->ncreated++] = ev;
	} else if ((nlh->nlmsg_flags & NLM_F_MULTI) && t->nentry < REC_MAX) {
		t->entry_ns[t->nentry] = ts_ns;
		t->entry[t->nentry++] = ev;
	}
}

static void tally(struct truth *t, const uint8_t *buf, size_t len, uint64_t ts_ns)
{
	int rem = (int)len;

	for (const struct nlmsghdr *nlh = (const void *)buf; mnl_nlmsg_ok(nlh, rem);
	     nlh = mnl_nlmsg_next(nlh, &rem))
		tally_msg(t, nlh, ts_ns);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n = -1;

	if (!f) {
		perror(path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* One datagram, received at ts_ns, driven as replay.c does: NLM_F_MULTI
 * entries and NLMSG_DONE open and close a dump, the first being the
 * start-up dump. The pipeline opens at the first datagram, sysUptime 0 a
 * week before it, the recording's time being the clock. */
static bool replay_one(struct harness *h, const struct setup *s, uint64_t ts_ns, const uint8_t *pkt,
		       size_t len, struct truth *t)
{
	static struct dgram d;
	const struct nlmsghdr *nlh = (const void *)d.buf;
	int err = 0;

	if (len > DGRAM_MAX || len < sizeof *nlh)
		return false;
	memcpy(d.buf, pkt, len); /* aligned for the parser */
	if (!h->p) {
		struct setup at_start = *s;
		at_start.boot_ms = ts_ns / NS_PER_MS - WEEK_MS;
		if (!h_open(h, &at_start, ts_ns))
			return false;
	}
	h->now_ns = ts_ns;
	tally(t, d.buf, len, ts_ns);
	bool dump = (nlh->nlmsg_flags & NLM_F_MULTI) || nlh->nlmsg_type == NLMSG_DONE;
	if (dump && !pipeline_dumping(h->p))
		pipeline_dump_begin(h->p, t->begun++ == 0);
	if (pipeline_datagram(h->p, dump ? PIPELINE_DUMP : PIPELINE_EVENTS, d.buf, len, &err) &&
	    pipeline_dumping(h->p))
		pipeline_dump_end(h->p);
	pipeline_tick(h->p);
	return true;
}

static bool replay_packet(struct harness *h, const struct setup *s, const struct pcapnl_reader *r,
			  const uint8_t *data, size_t len, size_t *off, struct truth *t)
{
	const uint8_t *dgram;
	size_t caplen, dlen, hdr = PCAPNL_RECORD_HEADER_LEN;
	uint64_t ts;

	if (len - *off < hdr || pcapnl_record(r, data + *off, &ts, &caplen) != 0 ||
	    caplen > len - *off - hdr || pcapnl_payload(data + *off + hdr, caplen, &dgram, &dlen))
		return false;
	*off += hdr + caplen;
	return replay_one(h, s, ts, dgram, dlen, t);
}

/* Replay tests/data/name through a pipeline for s, then flush (what was
 * sent must be clean: h_clean); false (a failed check) if the file cannot
 * be read or replayed. */
static bool replay(struct harness *h, const struct setup *s, const char *name, struct truth *t)
{
	char path[512], err[256];
	size_t len = 0, off = PCAPNL_FILE_HEADER_LEN;
	struct pcapnl_reader r;
	uint8_t *data;
	bool ok;

	memset(h, 0, sizeof *h);
	memset(t, 0, sizeof *t);
	snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, name);
	data = read_file(path, &len);
	ok = data && len >= off && pcapnl_open(&r, data, off, err, sizeof err) == 0;
	while (ok && off < len)
		ok = replay_packet(h, s, &r, data, len, &off, t);
	free(data);
	if (!ok || !h->p) {
		fprintf(stderr, "%s: cannot be replayed\n", path);
		h_close(h);
		CHECK(0);
		return false;
	}
	pipeline_flush(h->p);
	h_clean(h);
	return true;
}

/* The kernel's start and stop of ev, Unix ms. */
static uint64_t start_ms(const struct ct_event *ev)
{
	return ev->start_ns / NS_PER_MS;
}

static uint64_t stop_ms(const struct ct_event *ev)
{
	return ev->stop_ns / NS_PER_MS;
}

/* flowEndReason as the manual says: 3 for TCP that was closing, else 4 for
 * a connection a process deleted, else 1. */
static int end_reason_of(const struct ct_event *ev)
{
	if (ev->orig.proto == IPPROTO_TCP && (ev->have & CT_HAVE_TCP_STATE) &&
	    ev->tcp_state >= TCP_CONNTRACK_FIN_WAIT && ev->tcp_state <= TCP_CONNTRACK_CLOSE)
		return END_OF_FLOW;
	return ev->by_request ? END_FORCED : END_IDLE;
}

/* natEvent of a delete (create: false) or create record. */
static int nat_event_of(const struct ct_event *ev, bool create)
{
	bool v4 = ev->family == AF_INET;

	if (!nat_changed(ev))
		return 0;
	if (create)
		return v4 ? NAT44_ADD : NAT_CREATE;
	return v4 ? NAT44_DEL : NAT_DELETE;
}

static bool v5_carries(const struct ct_event *ev)
{
	uint8_t p = ev->orig.proto;

	return ev->family == AF_INET && (p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_ICMP);
}

/* Find w among the v5 records not yet used; mark it. */
static bool v5_find(const struct harness *h, const struct v5_want *w, bool *used)
{
	for (size_t i = 0; i < h->out.v5.n; i++) {
		const struct dec_v5_rec *r = &h->out.v5.recs[i];
		if (used[i] || memcmp(r->src, w->src, 4) || memcmp(r->dst, w->dst, 4) ||
		    r->sport != w->sport || r->dport != w->dport || r->proto != w->proto)
			continue;
		used[i] = true;
		return v5_is(r, w, h->boot_ms);
	}
	fprintf(stderr, "  no v5 record %u:%u -> %u:%u proto %u\n", w->src[3], w->sport, w->dst[3],
		w->dport, w->proto);
	return false;
}

/* Every DESTROY's triplet (IPv4 TCP, UDP, ICMP) is among the v5 records,
 * with the kernel's counters and times, and nothing else is. */
static void check_recording_v5(const struct harness *h, const struct truth *t)
{
	bool *used = calloc(h->out.v5.n + 1, sizeof *used);
	size_t expected = 0;

	for (size_t i = 0; used && i < t->ndestroy; i++) {
		const struct ct_event *ev = &t->destroy[i];
		struct v5_want w[3];
		size_t n = v5_carries(ev) ? v5_triplet(ev, start_ms(ev), stop_ms(ev), w) : 0;
		for (size_t k = 0; k < n; k++)
			CHECK(v5_find(h, &w[k], used));
		expected += n;
	}
	CHECK_EQ_U64(h->out.v5.n, expected);
	free(used);
}

/* The record of flow id in d that is (or is not) a NAT create event. */
static const struct dec_rec *ipx_find(const struct dec_ipx *d, uint32_t id, bool create)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct dec_rec *r = &d->recs[i];
		uint64_t nat = dec_num(r, IE_NAT_EVENT, 0);
		if (dec_num(r, IE_FLOW_ID, 0) == id &&
		    create == (nat == NAT44_ADD || nat == NAT_CREATE))
			return r;
	}
	return NULL;
}

static void check_ipx_one(const struct dec_ipx *d, const struct ipx_want *w)
{
	const struct dec_rec *r = ipx_find(d, w->ev->id, w->event);

	CHECK(r && ipx_is(d->version, r, w));
}

/* Each DESTROY gives one record with the kernel's counters, times, end
 * reason and natEvent; each NEW that NAT changed a create event (at the
 * kernel's event time when it says it, else when it was received). */
static void check_recording_ipx(const struct dec_ipx *d, const struct truth *t)
{
	size_t creates = 0;

	for (size_t i = 0; i < t->ndestroy; i++) {
		const struct ct_event *ev = &t->destroy[i];
		struct ipx_want w = {
		    ev,	  start_ms(ev), stop_ms(ev), end_reason_of(ev), nat_event_of(ev, false),
		    false};
		check_ipx_one(d, &w);
	}
	for (size_t i = 0; i < t->ncreated; i++) {
		const struct ct_event *ev = &t->created[i];
		uint64_t at =
		    ((ev->have & CT_HAVE_TS_EVENT) ? ev->event_ns : t->created_ns[i]) / NS_PER_MS;
		struct ipx_want w = {ev, at, at, 0, nat_event_of(ev, true), true};
		if (!nat_changed(ev))
			continue;
		check_ipx_one(d, &w);
		creates++;
	}
	CHECK_EQ_U64(d->n, t->ndestroy + creates);
}

static size_t count_destroys(const struct truth *t, bool (*pred)(const struct ct_event *))
{
	size_t n = 0;

	for (size_t i = 0; i < t->ndestroy; i++)
		n += pred(&t->destroy[i]);
	return n;
}

static bool is_lab_snat4(const struct ct_event *ev)
{
	uint8_t client[4], wan[4];

	inet_pton(AF_INET, "10.77.1.2", client);
	inet_pton(AF_INET, "203.0.113.1", wan);
	return ev->family == AF_INET && memcmp(ev->orig.src, client, 4) == 0 &&
	       memcmp(ev->reply.dst, wan, 4) == 0;
}

static bool is_timed_out(const struct ct_event *ev)
{
	return !ev->by_request;
}

static size_t v5_from(const struct harness *h, const char *src)
{
	struct v5_want w = v5_text(src, 0, src, 0, 0, 0);
	size_t n = 0;

	for (size_t i = 0; i < h->out.v5.n; i++)
		n += memcmp(h->out.v5.recs[i].src, w.src, 4) == 0;
	return n;
}

/* rec-nat.pcap: SNAT, NAT66, DNAT and no NAT over TCP, UDP, ICMP and
 * ICMPv6, one connection found by the start-up dump, one ended by its
 * timeout. Every connection with a DESTROY is exported once; v5 carries the
 * IPv4 triplets (the client's 10.77.1.2 translated to 203.0.113.1 in
 * record 2), v9 and IPFIX one record each with the same counters, and a
 * NAT create event for each NATed NEW. */
static void test_recording_nat(void)
{
	static struct truth t;
	struct harness h;
	const struct setup s = {.kernel_ts = true};

	if (!replay(&h, &s, "rec-nat.pcap", &t))
		return;
	CHECK_EQ_U64(t.ndestroy, REC_NAT_DESTROYS);
	CHECK_EQ_U64(t.ncreated, REC_NAT_NEWS);
	CHECK_EQ_U64(t.nentry, REC_NAT_ENTRIES);
	CHECK_EQ_U64(t.unparsed, 0);
	CHECK_EQ_U64(count_destroys(&t, is_lab_snat4), REC_NAT_SNAT4);
	CHECK_EQ_U64(count_destroys(&t, is_timed_out), REC_NAT_IDLE);
	const struct tracker_stats *ts = pipeline_tracker_stats(h.p);
	CHECK_EQ_U64(ts->destroy_events, t.ndestroy);
	CHECK_EQ_U64(ts->exported, t.ndestroy);
	CHECK_EQ_U64(ts->ended_by_dump + ts->start_unknown + ts->no_counters, 0);
	CHECK_EQ_U64(v5_from(&h, "203.0.113.1"), REC_NAT_SNAT4);
	check_recording_v5(&h, &t);
	check_recording_ipx(&h.out.v9, &t);
	check_recording_ipx(&h.out.ipfix, &t);
	h_close(&h);
}

/* The records of the download of rec-active.pcap (its one DESTROY): the
 * interim ones (flowEndReason 2), then its end; together, in every
 * stream, the kernel's final counters. */
static void check_download(const struct harness *h, const struct ct_event *dl, size_t interim)
{
	uint64_t v9[4], ipfix[4], orig[2], reply[2];
	struct v5_want w[3];
	size_t n = 0;

	for (size_t i = 0; i < h->out.v9.n; i++) {
		const struct dec_rec *r = &h->out.v9.recs[i];
		uint64_t nat = dec_num(r, IE_NAT_EVENT, 0);
		if (dec_num(r, IE_FLOW_ID, 0) != dl->id || nat == NAT44_ADD || nat == NAT_CREATE)
			continue;
		CHECK_EQ_U64(dec_num(r, IE_END_REASON, 0),
			     n++ < interim ? END_ACTIVE : (uint64_t)end_reason_of(dl));
	}
	CHECK_EQ_U64(n, interim + 1);
	ipx_sums(&h->out.v9, dl->id, v9);
	ipx_sums(&h->out.ipfix, dl->id, ipfix);
	CHECK(v9[0] == dl->cnt_orig.packets && v9[1] == dl->cnt_orig.bytes);
	CHECK(v9[2] == dl->cnt_reply.packets && v9[3] == dl->cnt_reply.bytes);
	CHECK_MEM(v9, ipfix, sizeof v9);
	CHECK_EQ_U64(v5_triplet(dl, 0, 0, w), 3);
	v5_sum_key(&h->out.v5, &w[0], orig);
	v5_sum_key(&h->out.v5, &w[2], reply);
	CHECK(orig[0] == dl->cnt_orig.packets && orig[1] == dl->cnt_orig.bytes);
	CHECK(reply[0] == dl->cnt_reply.packets && reply[1] == dl->cnt_reply.bytes);
}

/* The connection of the start-up dump whose end no event reported: no
 * later dump shows it, and the recording has two dumps after the start-up
 * one. Its record has the counters of its last dump entry, the kernel's
 * start, and ends when the second of those dumps found it gone (two dumps
 * in a row must miss it; its timeout left then was longer). */
static void check_unseen(const struct harness *h, const struct truth *t)
{
	const struct ct_event *e = &t->entry[0];
	size_t k = 0;

	for (size_t i = 1; i < t->nentry; i++)
		CHECK(t->entry[i].id != e->id);
	while (k < t->ndone && t->done_ns[k] < t->entry_ns[0])
		k++;
	if (k + 2 >= t->ndone) {
		CHECK(0);
		return;
	}
	uint64_t end = t->entry_ns[0] + e->timeout * NS_PER_S;
	CHECK(t->done_ns[k + 1] < t->done_ns[k + 2] && t->done_ns[k + 2] < end);
	end = (end < t->done_ns[k + 2] ? end : t->done_ns[k + 2]) / NS_PER_MS;
	struct ipx_want w = {e, start_ms(e), end, END_IDLE, nat_event_of(e, false), false};
	check_ipx_one(&h->out.v9, &w);
	check_ipx_one(&h->out.ipfix, &w);
	CHECK(is_lab_snat4(e));
	CHECK_EQ_U64(e->orig.sport, 40010);
}

/* rec-active.pcap replayed with active_timeout 2 (as recorded): the
 * download gets REC_ACTIVE_INTERIM interim records before its end, all
 * adding up to its DESTROY's counters; the connection whose end went
 * unseen is exported from the start-up dump's snapshot, at the second dump
 * after the start-up one (see check_unseen). */
static void test_recording_active(void)
{
	static struct truth t;
	struct harness h;
	const struct setup s = {.kernel_ts = true, .active_timeout = 2};

	if (!replay(&h, &s, "rec-active.pcap", &t))
		return;
	CHECK_EQ_U64(t.ndestroy, REC_ACTIVE_DESTROYS);
	CHECK_EQ_U64(t.ndone, REC_ACTIVE_DUMPS);
	CHECK_EQ_U64(t.nentry, REC_ACTIVE_ENTRIES);
	CHECK_EQ_U64(t.begun, REC_ACTIVE_DUMPS);
	CHECK_EQ_U64(pipeline_stats(h.p)->dumps, REC_ACTIVE_DUMPS);
	const struct tracker_stats *ts = pipeline_tracker_stats(h.p);
	CHECK_EQ_U64(ts->exported, 2);
	CHECK_EQ_U64(ts->ended_by_dump, 1);
	CHECK_EQ_U64(ts->interim, REC_ACTIVE_INTERIM);
	CHECK_EQ_U64(h.out.v9.n, REC_ACTIVE_INTERIM + 3); /* + the download's create event */
	check_download(&h, &t.destroy[0], REC_ACTIVE_INTERIM);
	check_unseen(&h, &t);
	h_close(&h);
}

/* rec-active.pcap without active timeout: one record per connection, the
 * download's with the kernel's final counters and times. */
static void test_recording_no_active(void)
{
	static struct truth t;
	struct harness h;
	const struct setup s = {.kernel_ts = true};

	if (!replay(&h, &s, "rec-active.pcap", &t))
		return;
	CHECK_EQ_U64(pipeline_tracker_stats(h.p)->interim, 0);
	CHECK_EQ_U64(h.out.v9.n, 3);
	CHECK_EQ_U64(h.out.v5.n, 6);
	check_download(&h, &t.destroy[0], 0);
	struct ct_event *dl = &t.destroy[0];
	struct ipx_want w = {dl, start_ms(dl), stop_ms(dl), end_reason_of(dl), NAT44_DEL, false};
	check_ipx_one(&h.out.ipfix, &w);
	check_unseen(&h, &t);
	h_close(&h);
}

int main(void)
{
	test_triplets();
	test_split();
	test_nat_events_default();
	test_nat_events_per_collector();
	test_nat_events_off();
	test_nat_events_all();
	test_zone_vrf();
	test_interfaces();
	test_loss_reports();
	test_interim();
	test_natlog();
	test_port_blocks();
	test_interim_nat_all();
	test_mtu(false);
	test_mtu(true);
	test_mtu_default();
	test_dump_end_kernel_ts();
	test_dump_end_no_ts();
	test_expire();
	test_filters();
	test_overrun_resync();
	test_reload();
	test_reload_blocks();
	test_reload_blocks_events_on();
	test_recording_nat();
	test_recording_active();
	test_recording_no_active();
	CHECK_DONE();
}
