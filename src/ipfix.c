#include "ipfix.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "flow.h"
#include "portblock.h"
#include "timeunit.h"
#include "wbuf.h"

/* RFC 5103 §6.1: a reverse IE is the forward IE's number with the
 * enterprise bit and IANA's Private Enterprise Number 29305. */
#define PEN_REVERSE 29305u
/* RFC 7011 §3.2: the top bit of an IE number marks an enterprise IE, whose
 * field specifier is followed by the 4-byte PEN. */
#define ENTERPRISE_BIT 0x8000u

#define SET_HEADER_LEN 4 /* Set ID + Length: RFC 3954 §5.2, RFC 7011 §3.3.2 */

/* A record in the terms the IEs need: pre-NAT is the original tuple;
 * post-NAT is the original direction as it left the router. */
struct view {
	const struct ct_event *ev;
	const struct ipfix_rec *r;
	const uint8_t *post_src, *post_dst;
	uint16_t post_sport, post_dport;
};

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* Without NAT (or without a reply tuple) the post-NAT values are the
 * pre-NAT ones. With NAT they are the inverted reply tuple; ICMP keeps the
 * request's type and code (reply.dport is the reply's) and the identifier,
 * which NAT may change, is reply.sport. */
static void make_view(struct view *v, const struct ipfix_rec *r)
{
	const struct ct_event *ev = r->ev;

	v->ev = ev;
	v->r = r;
	if (r->kind == IPFIX_BLOCK)
		return; /* its getters read r->block alone (ev may be NULL) */
	const struct ct_tuple *o = &ev->orig, *rp = &ev->reply;
	if (!flow_nat_changed(ev)) {
		v->post_src = o->src;
		v->post_dst = o->dst;
		v->post_sport = o->sport;
		v->post_dport = o->dport;
		return;
	}
	v->post_src = rp->dst;
	v->post_dst = rp->src;
	v->post_sport = is_icmp(o->proto) ? rp->sport : rp->dport;
	v->post_dport = is_icmp(o->proto) ? o->dport : rp->sport;
}

/* Getters: the value of one IE for one record. */
static const uint8_t *pre_src(const struct view *v)
{
	return v->ev->orig.src;
}

static const uint8_t *pre_dst(const struct view *v)
{
	return v->ev->orig.dst;
}

static const uint8_t *post_src(const struct view *v)
{
	return v->post_src;
}

static const uint8_t *post_dst(const struct view *v)
{
	return v->post_dst;
}

/* ICMP: sport is the echo identifier and dport type * 256 + code, as the
 * NetFlow convention puts them in the port fields. */
static uint64_t pre_sport(const struct view *v)
{
	return v->ev->orig.sport;
}

static uint64_t pre_dport(const struct view *v)
{
	return v->ev->orig.dport;
}

static uint64_t post_sport(const struct view *v)
{
	return v->post_sport;
}

static uint64_t post_dport(const struct view *v)
{
	return v->post_dport;
}

static uint64_t proto(const struct view *v)
{
	return v->ev->orig.proto;
}

static uint64_t icmp_type_code(const struct view *v)
{
	return is_icmp(v->ev->orig.proto) ? v->ev->orig.dport : 0;
}

static uint64_t icmp_type(const struct view *v)
{
	return icmp_type_code(v) >> 8;
}

static uint64_t icmp_code(const struct view *v)
{
	return icmp_type_code(v) & 0xff;
}

static bool have(const struct view *v, uint32_t bit)
{
	return (v->ev->have & bit) != 0;
}

static uint64_t orig_bytes(const struct view *v)
{
	return have(v, CT_HAVE_COUNTERS) ? v->ev->cnt_orig.bytes : 0;
}

static uint64_t orig_packets(const struct view *v)
{
	return have(v, CT_HAVE_COUNTERS) ? v->ev->cnt_orig.packets : 0;
}

static uint64_t reply_bytes(const struct view *v)
{
	return have(v, CT_HAVE_COUNTERS) ? v->ev->cnt_reply.bytes : 0;
}

static uint64_t reply_packets(const struct view *v)
{
	return have(v, CT_HAVE_COUNTERS) ? v->ev->cnt_reply.packets : 0;
}

static uint64_t first_ms(const struct view *v)
{
	return v->r->first_ms;
}

static uint64_t last_ms(const struct view *v)
{
	return v->r->last_ms;
}

static uint64_t flow_id(const struct view *v)
{
	return have(v, CT_HAVE_ID) ? v->ev->id : 0;
}

static uint64_t end_reason(const struct view *v)
{
	return v->r->end_reason;
}

static uint64_t nat_event(const struct view *v)
{
	return v->r->nat_event;
}

/* A port block: its private and public addresses and its ports. */
static const uint8_t *block_src(const struct view *v)
{
	return v->r->block->src;
}

static const uint8_t *block_xsrc(const struct view *v)
{
	return v->r->block->xsrc;
}

static uint64_t block_start(const struct view *v)
{
	return v->r->block->start;
}

static uint64_t block_end(const struct view *v)
{
	return v->r->block->end;
}

static uint64_t block_step(const struct view *v)
{
	(void)v;
	return PORTBLOCK_STEP;
}

static uint64_t block_ports(const struct view *v)
{
	return portblock_num_ports(v->r->block);
}

/* A conntrack zone is a routing domain of its own: the VRF ids are the
 * zones of the original direction (where the connection came in) and of
 * the reply direction (where it went out). They differ only with a
 * directional zone; otherwise both carry the same zone. */
static uint64_t ingress_vrf(const struct view *v)
{
	return v->ev->orig_zone;
}

static uint64_t egress_vrf(const struct view *v)
{
	return v->ev->reply_zone;
}

/* The interfaces of a route lookup of the connection's addresses
 * (pipeline_ifindex_fn): towards the client, and towards the server. */
static uint64_t in_if(const struct view *v)
{
	return v->r->in_if;
}

static uint64_t out_if(const struct view *v)
{
	return v->r->out_if;
}

/* Where an IE is used: which versions, which address families, which
 * kind of record. */
enum {
	V9 = 1u << 0,
	V10 = 1u << 1,
	IP4 = 1u << 2,
	IP6 = 1u << 3,
	FL = 1u << 4, /* flow records */
	NE = 1u << 5, /* NAT events */
	PB = 1u << 6, /* port block events */
	VX = V9 | V10,
	IPX = IP4 | IP6,
	FLOW = VX | IPX | FL, /* every flow template */
	NEV = VX | IPX | NE,  /* every NAT event template */
	BLK = VX | IP4 | PB,  /* the port block template */
};

/* One information element: its number, PEN (0 for IANA's), encoded length,
 * where it is used, and its getter (num for unsigned numbers, written in len
 * bytes; addr for len raw bytes). The length comes from the table alone, so
 * a template and its records cannot disagree. */
struct ie {
	uint16_t id;
	uint32_t pen;
	uint16_t len;
	uint8_t where;
	uint64_t (*num)(const struct view *v);
	const uint8_t *(*addr)(const struct view *v);
};

/* The fields of one row: a number, a reverse number, an address. */
#define NUM(i, l, w, f)	 .id = i, .len = l, .where = w, .num = f
#define REV(i, l, w, f)	 .id = i, .pen = PEN_REVERSE, .len = l, .where = w, .num = f
#define ADDR(i, l, w, f) .id = i, .len = l, .where = w, .addr = f

/* The one table that drives the templates and the records: a template is
 * the rows for its version, family and kind, in this order: first the flow
 * records' rows, then the NAT events'. IE numbers and names are IANA's
 * "IPFIX Information Elements" registry; v9 uses the same numbers (RFC 3954
 * §8 and Cisco's extensions).
 *
 * Choices made so that Debian's nfdump 1.7.1 shows the right columns:
 * - Counters: IPFIX carries the reply direction as RFC 5103 reverse IEs,
 *   shown as Out Pkt/Out Byte. NetFlow v9 has no enterprise IEs: it carries
 *   Cisco NSEL's initiator/responder counters (231/232, 298/299), which
 *   nfdump decodes in v9 only, next to 1/2 for collectors that know only
 *   those. All counters are 64 bits.
 * - ICMPv6 type and code: nfdump decodes 139 in IPFIX but not in v9, where
 *   it takes 178/179 instead (it then shows type.code as the port).
 * - IPv6 post-NAT addresses (281/282): nfdump decodes them in v9; in IPFIX
 *   it ignores them (X-Src shows 0.0.0.0 with the right port). No other IE
 *   carries them, so IPFIX keeps 281/282, which tshark and other collectors
 *   decode.
 * - observationTimeMilliseconds (323), RFC 8158's timestamp of a NAT event,
 *   is last_ms; nfdump shows it as the event time, which is 1970 without it.
 * - natEvent is the caller's: nfdump 1.7.1 names 1/2 (ADD/DELETE) and
 *   prints the RFC 8158 values 4/5 as UNKNOW, decoding them all the same.
 * - ICMP: the ports carry the echo identifier (source) and type * 256 +
 *   code (destination), so 227 shows the identifier NAT gave the request;
 *   nfdump shows source port 0 and the type.code for ICMP records.
 * - ingressVRFID/egressVRFID (234/235, unsigned32) come last in the flow
 *   templates, after the rows that were there before them, so that a
 *   decoder's view of those rows does not change.
 *
 * The NAT events follow RFC 8158 §4.1.1 (NAT44 session create and delete):
 * the time, the event, the VRF, the protocol, each address and port with
 * its post-NAT form, and the conntrack id to tie the event to the
 * connection's flow records; no counters, no start or end, no end reason.
 * flowId comes before natEvent: nfdump 1.7.1 shows 0 for a v9 natEvent
 * that comes before the flowId. The ICMP type and code are there too, as in
 * the flow records: without them nfdump shows ICMP events with the echo
 * identifier, or 0, as their type.code. */
static const struct ie ies[] = {
    /* Flow records: templates 256 and 257. */
    {ADDR(8, 4, FLOW & ~IP6, pre_src)},		      /* sourceIPv4Address */
    {ADDR(27, 16, FLOW & ~IP4, pre_src)},	      /* sourceIPv6Address */
    {ADDR(12, 4, FLOW & ~IP6, pre_dst)},	      /* destinationIPv4Address */
    {ADDR(28, 16, FLOW & ~IP4, pre_dst)},	      /* destinationIPv6Address */
    {NUM(7, 2, FLOW, pre_sport)},		      /* sourceTransportPort */
    {NUM(11, 2, FLOW, pre_dport)},		      /* destinationTransportPort */
    {NUM(4, 1, FLOW, proto)},			      /* protocolIdentifier */
    {NUM(32, 2, FLOW & ~IP6, icmp_type_code)},	      /* icmpTypeCodeIPv4 */
    {NUM(139, 2, FLOW & ~IP4 & ~V9, icmp_type_code)}, /* icmpTypeCodeIPv6 */
    {NUM(178, 1, FLOW & ~IP4 & ~V10, icmp_type)},     /* icmpTypeIPv6 */
    {NUM(179, 1, FLOW & ~IP4 & ~V10, icmp_code)},     /* icmpCodeIPv6 */
    {ADDR(225, 4, FLOW & ~IP6, post_src)},	      /* postNATSourceIPv4Address */
    {ADDR(281, 16, FLOW & ~IP4, post_src)},	      /* postNATSourceIPv6Address */
    {ADDR(226, 4, FLOW & ~IP6, post_dst)},	      /* postNATDestinationIPv4Address */
    {ADDR(282, 16, FLOW & ~IP4, post_dst)},	      /* postNATDestinationIPv6Address */
    {NUM(227, 2, FLOW, post_sport)},		      /* postNAPTSourceTransportPort */
    {NUM(228, 2, FLOW, post_dport)},		      /* postNAPTDestinationTransportPort */
    {NUM(1, 8, FLOW, orig_bytes)},		      /* octetDeltaCount */
    {NUM(2, 8, FLOW, orig_packets)},		      /* packetDeltaCount */
    {REV(1, 8, FLOW & ~V9, reply_bytes)},	      /* reverse octetDeltaCount (RFC 5103) */
    {REV(2, 8, FLOW & ~V9, reply_packets)},	      /* reverse packetDeltaCount (RFC 5103) */
    {NUM(231, 8, FLOW & ~V10, orig_bytes)},	      /* initiatorOctets */
    {NUM(232, 8, FLOW & ~V10, reply_bytes)},	      /* responderOctets */
    {NUM(298, 8, FLOW & ~V10, orig_packets)},	      /* initiatorPackets */
    {NUM(299, 8, FLOW & ~V10, reply_packets)},	      /* responderPackets */
    {NUM(152, 8, FLOW, first_ms)},		      /* flowStartMilliseconds */
    {NUM(153, 8, FLOW, last_ms)},		      /* flowEndMilliseconds */
    {NUM(323, 8, FLOW, last_ms)},		      /* observationTimeMilliseconds */
    {NUM(148, 8, FLOW, flow_id)},		      /* flowId: the conntrack id */
    {NUM(136, 1, FLOW, end_reason)},		      /* flowEndReason */
    {NUM(230, 1, FLOW, nat_event)},		      /* natEvent */
    {NUM(234, 4, FLOW, ingress_vrf)},		      /* ingressVRFID: the original zone */
    {NUM(235, 4, FLOW, egress_vrf)},		      /* egressVRFID: the reply zone */
    {NUM(10, 4, FLOW, in_if)},			      /* ingressInterface */
    {NUM(14, 4, FLOW, out_if)},			      /* egressInterface */
    /* NAT events: templates 258 and 259. */
    {NUM(323, 8, NEV, last_ms)},		     /* observationTimeMilliseconds */
    {NUM(148, 8, NEV, flow_id)},		     /* flowId: the conntrack id */
    {NUM(230, 1, NEV, nat_event)},		     /* natEvent */
    {NUM(234, 4, NEV, ingress_vrf)},		     /* ingressVRFID */
    {NUM(235, 4, NEV, egress_vrf)},		     /* egressVRFID */
    {NUM(4, 1, NEV, proto)},			     /* protocolIdentifier */
    {NUM(32, 2, NEV & ~IP6, icmp_type_code)},	     /* icmpTypeCodeIPv4 */
    {NUM(139, 2, NEV & ~IP4 & ~V9, icmp_type_code)}, /* icmpTypeCodeIPv6 */
    {NUM(178, 1, NEV & ~IP4 & ~V10, icmp_type)},     /* icmpTypeIPv6 */
    {NUM(179, 1, NEV & ~IP4 & ~V10, icmp_code)},     /* icmpCodeIPv6 */
    {ADDR(8, 4, NEV & ~IP6, pre_src)},		     /* sourceIPv4Address */
    {ADDR(27, 16, NEV & ~IP4, pre_src)},	     /* sourceIPv6Address */
    {ADDR(225, 4, NEV & ~IP6, post_src)},	     /* postNATSourceIPv4Address */
    {ADDR(281, 16, NEV & ~IP4, post_src)},	     /* postNATSourceIPv6Address */
    {NUM(7, 2, NEV, pre_sport)},		     /* sourceTransportPort */
    {NUM(227, 2, NEV, post_sport)},		     /* postNAPTSourceTransportPort */
    {ADDR(12, 4, NEV & ~IP6, pre_dst)},		     /* destinationIPv4Address */
    {ADDR(28, 16, NEV & ~IP4, pre_dst)},	     /* destinationIPv6Address */
    {ADDR(226, 4, NEV & ~IP6, post_dst)},	     /* postNATDestinationIPv4Address */
    {ADDR(282, 16, NEV & ~IP4, post_dst)},	     /* postNATDestinationIPv6Address */
    {NUM(11, 2, NEV, pre_dport)},		     /* destinationTransportPort */
    {NUM(228, 2, NEV, post_dport)},		     /* postNAPTDestinationTransportPort */
    /* Port block events (RFC 8158 §4.1.5: NAT44 port block allocation and
     * de-allocation, natEvent 16/17): template 261. */
    {NUM(323, 8, BLK, last_ms)},     /* observationTimeMilliseconds */
    {NUM(230, 1, BLK, nat_event)},   /* natEvent */
    {ADDR(8, 4, BLK, block_src)},    /* sourceIPv4Address */
    {ADDR(225, 4, BLK, block_xsrc)}, /* postNATSourceIPv4Address */
    {NUM(361, 2, BLK, block_start)}, /* portRangeStart */
    {NUM(362, 2, BLK, block_end)},   /* portRangeEnd */
    {NUM(363, 2, BLK, block_step)},  /* portRangeStepSize */
    {NUM(364, 2, BLK, block_ports)}, /* portRangeNumPorts */
};

#define N_IES (sizeof ies / sizeof ies[0])

/* One template: its ID and which rows of ies[] it takes. */
struct tmpl {
	uint16_t id;
	uint8_t fbit; /* IP4 or IP6 */
	uint8_t kbit; /* FL, NE or PB */
};

/* Every template, in the order the template set carries them. */
static const struct tmpl tmpls[] = {
    {IPFIX_TEMPLATE_IPV4, IP4, FL},	{IPFIX_TEMPLATE_IPV6, IP6, FL},
    {IPFIX_TEMPLATE_NAT_IPV4, IP4, NE}, {IPFIX_TEMPLATE_NAT_IPV6, IP6, NE},
    {IPFIX_TEMPLATE_BLOCK, IP4, PB},
};

#define N_TMPLS (sizeof tmpls / sizeof tmpls[0])

static bool ie_in(const struct ie *e, uint8_t vbit, const struct tmpl *t)
{
	return (e->where & vbit) && (e->where & t->fbit) && (e->where & t->kbit);
}

/* The template of record r, or NULL for a family it cannot carry. */
static const struct tmpl *tmpl_of(const struct ipfix_rec *r)
{
	bool block = r->kind == IPFIX_BLOCK; /* IPv4 only, no ct_event */
	uint8_t fbit = block			   ? IP4
		       : r->ev->family == AF_INET  ? IP4
		       : r->ev->family == AF_INET6 ? IP6
						   : 0;
	uint8_t kbit = block ? PB : r->kind == IPFIX_NAT_EVENT ? NE : FL;

	if (block && !r->block)
		return NULL;

	for (size_t i = 0; i < N_TMPLS; i++)
		if (tmpls[i].fbit == fbit && tmpls[i].kbit == kbit)
			return &tmpls[i];
	return NULL;
}

static size_t record_len(uint8_t vbit, const struct tmpl *t)
{
	size_t len = 0;

	for (size_t i = 0; i < N_IES; i++)
		if (ie_in(&ies[i], vbit, t))
			len += ies[i].len;
	return len;
}

static size_t field_count(uint8_t vbit, const struct tmpl *t)
{
	size_t n = 0;

	for (size_t i = 0; i < N_IES; i++)
		n += ie_in(&ies[i], vbit, t);
	return n;
}

static void put_uint(struct wbuf *w, uint64_t x, uint16_t len)
{
	switch (len) {
	case 1:
		wbuf_put_u8(w, (uint8_t)x);
		break;
	case 2:
		wbuf_put_u16(w, (uint16_t)x);
		break;
	case 4:
		wbuf_put_u32(w, (uint32_t)x);
		break;
	default:
		wbuf_put_u64(w, x);
		break;
	}
}

static void put_value(struct wbuf *w, const struct ie *e, const struct view *v)
{
	if (e->addr)
		wbuf_put_bytes(w, e->addr(v), e->len);
	else
		put_uint(w, e->num(v), e->len);
}

/* What differs between NetFlow v9 and IPFIX. */
struct dialect {
	uint8_t vbit;	       /* V9 or V10: which rows of ies[] */
	uint16_t template_set; /* Set ID of templates */
	size_t align;	       /* sets are padded to a multiple of this */
	bool count_records;    /* header u16 at offset 2: record count, else length */
	void (*header)(struct wbuf *w, const struct ipfix_state *s, uint64_t now_ns,
		       uint64_t boot_ms);
};

#define HEADER_COUNT_AT 2 /* v9 Count / IPFIX Length: the u16 after Version */

/* RFC 3954 §5.1: the Packet Header. */
static void v9_header(struct wbuf *w, const struct ipfix_state *s, uint64_t now_ns,
		      uint64_t boot_ms)
{
	wbuf_put_u16(w, IPFIX_V9);				       /* Version */
	wbuf_put_u16(w, 0);					       /* Count: set at the end */
	wbuf_put_u32(w, timeunit_uptime(boot_ms, now_ns / NS_PER_MS)); /* sysUpTime */
	wbuf_put_u32(w, (uint32_t)(now_ns / NS_PER_S));		       /* UNIX Secs */
	wbuf_put_u32(w, s->packets); /* Sequence Number: export packets sent before */
	wbuf_put_u32(w, s->domain);  /* Source ID */
}

/* RFC 7011 §3.1: the Message Header. */
static void v10_header(struct wbuf *w, const struct ipfix_state *s, uint64_t now_ns,
		       uint64_t boot_ms)
{
	(void)boot_ms;
	wbuf_put_u16(w, IPFIX_V10);			/* Version Number */
	wbuf_put_u16(w, 0);				/* Length: set at the end */
	wbuf_put_u32(w, (uint32_t)(now_ns / NS_PER_S)); /* Export Time */
	wbuf_put_u32(w, s->records); /* Sequence Number: data records sent before */
	wbuf_put_u32(w, s->domain);  /* Observation Domain ID */
}

/* v9: Template FlowSet ID 0 (RFC 3954 §5.2); FlowSets padded to 4 bytes
 * (§5.3 "Padding"). IPFIX: Template Set ID 2 (RFC 7011 §3.3.2); padding is
 * optional (§3.3.1) and left out. */
static const struct dialect dialect_v9 = {
    .vbit = V9, .template_set = 0, .align = 4, .count_records = true, .header = v9_header};
static const struct dialect dialect_v10 = {
    .vbit = V10, .template_set = 2, .align = 1, .count_records = false, .header = v10_header};

static const struct dialect *dialect_of(const struct ipfix_state *s)
{
	return s->version == IPFIX_V9 ? &dialect_v9 : &dialect_v10;
}

/* One message being written. */
struct msg {
	struct wbuf w;
	const struct dialect *d;
	size_t set_at;	   /* offset of the open set's header */
	uint16_t set_tmpl; /* template ID of the open data set; 0 when none is open */
	bool set_open;
	unsigned nrec;	/* template and data records in the message */
	unsigned ndata; /* data records */
	bool loss;	/* the templates include the loss options template */
	bool blocks;	/* the port block template is sent (ipfix_state.blocks) */
};

static size_t pad_len(const struct msg *m, size_t set_len)
{
	size_t a = m->d->align;

	return (a - set_len % a) % a;
}

static void set_open(struct msg *m, uint16_t id, uint16_t tmpl)
{
	m->set_at = m->w.len;
	m->set_tmpl = tmpl;
	m->set_open = true;
	wbuf_put_u16(&m->w, id); /* FlowSet ID / Set ID */
	wbuf_put_u16(&m->w, 0);	 /* Length: set when closed */
}

static void set_close(struct msg *m)
{
	size_t n;

	if (!m->set_open)
		return;
	for (n = pad_len(m, m->w.len - m->set_at); n > 0; n--)
		wbuf_put_u8(&m->w, 0); /* Padding */
	wbuf_patch_u16(&m->w, m->set_at + 2, (uint16_t)(m->w.len - m->set_at));
	m->set_open = false;
	m->set_tmpl = 0;
}

/* RFC 3954 §5.2 Template FlowSet, RFC 7011 §3.4.1 Template Record and §3.2
 * Field Specifier. */
static void put_template(struct msg *m, const struct tmpl *t)
{
	uint8_t vbit = m->d->vbit;

	wbuf_put_u16(&m->w, t->id);			     /* Template ID */
	wbuf_put_u16(&m->w, (uint16_t)field_count(vbit, t)); /* Field Count */
	for (size_t i = 0; i < N_IES; i++) {
		const struct ie *e = &ies[i];

		if (!ie_in(e, vbit, t))
			continue;
		wbuf_put_u16(&m->w, (uint16_t)(e->id | (e->pen ? ENTERPRISE_BIT : 0)));
		wbuf_put_u16(&m->w, e->len);
		if (e->pen)
			wbuf_put_u32(&m->w, e->pen); /* Enterprise Number */
	}
	m->nrec++;
}

/* The loss report's option fields (RFC 7011 §4.3), after its scope: the
 * one table for its options template and its record. */
static const struct {
	uint16_t id;
	uint16_t len;
	size_t at; /* offset of the value in struct ipfix_loss */
} loss_fields[] = {
    {166, 8, offsetof(struct ipfix_loss, flows)},    /* notSentFlowTotalCount */
    {167, 8, offsetof(struct ipfix_loss, packets)},  /* notSentPacketTotalCount */
    {168, 8, offsetof(struct ipfix_loss, octets)},   /* notSentOctetTotalCount */
    {152, 8, offsetof(struct ipfix_loss, first_ms)}, /* flowStartMilliseconds: the first loss */
    {153, 8, offsetof(struct ipfix_loss, last_ms)},  /* flowEndMilliseconds: the last loss */
};

#define N_LOSS_FIELDS		(sizeof loss_fields / sizeof loss_fields[0])
#define IE_EXPORTING_PROCESS_ID 144 /* exportingProcessId: the scope (IPFIX) */
#define V9_SCOPE_SYSTEM		1   /* RFC 3954 §6.1: scope field type System */
#define LOSS_SCOPE_LEN		4
#define V9_OPTIONS_SET		1 /* RFC 3954 §6.1: Options Template FlowSet ID */
#define IPFIX_OPTIONS_SET	3 /* RFC 7011 §3.3.2: Options Template Set ID */

/* The options template of the loss report, in its own set: IPFIX (RFC 7011
 * §3.4.2.2) Template ID, Field Count, Scope Field Count, the scope field
 * and the option fields; v9 (RFC 3954 §6.1) Template ID, Option Scope
 * Length and Option Length (bytes), the scope and the option fields. */
static void put_loss_template(struct msg *m)
{
	bool v9 = m->d->vbit == V9;

	set_open(m, v9 ? V9_OPTIONS_SET : IPFIX_OPTIONS_SET, 0);
	wbuf_put_u16(&m->w, IPFIX_TEMPLATE_LOSS); /* Template ID */
	if (v9) {
		wbuf_put_u16(&m->w, 4);				    /* Option Scope Length */
		wbuf_put_u16(&m->w, (uint16_t)(4 * N_LOSS_FIELDS)); /* Option Length */
		wbuf_put_u16(&m->w, V9_SCOPE_SYSTEM);
	} else {
		wbuf_put_u16(&m->w, (uint16_t)(1 + N_LOSS_FIELDS)); /* Field Count */
		wbuf_put_u16(&m->w, 1);				    /* Scope Field Count */
		wbuf_put_u16(&m->w, IE_EXPORTING_PROCESS_ID);
	}
	wbuf_put_u16(&m->w, LOSS_SCOPE_LEN);
	for (size_t i = 0; i < N_LOSS_FIELDS; i++) {
		wbuf_put_u16(&m->w, loss_fields[i].id);
		wbuf_put_u16(&m->w, loss_fields[i].len);
	}
	m->nrec++;
	set_close(m);
}

/* The loss report's options data record, in its own data set: the scope
 * (exportingProcessId, or the v9 System scope) and loss_fields from l. */
static void put_loss_record(struct msg *m, uint32_t domain, const struct ipfix_loss *l)
{
	set_open(m, IPFIX_TEMPLATE_LOSS, IPFIX_TEMPLATE_LOSS); /* data set ID = template ID */
	wbuf_put_u32(&m->w, domain);
	for (size_t i = 0; i < N_LOSS_FIELDS; i++) {
		uint64_t v;
		memcpy(&v, (const char *)l + loss_fields[i].at, sizeof v);
		put_uint(&m->w, v, loss_fields[i].len);
	}
	m->nrec++;
	m->ndata++;
	set_close(m);
}

static void put_templates(struct msg *m)
{
	set_open(m, m->d->template_set, 0);
	for (size_t i = 0; i < N_TMPLS; i++)
		if (tmpls[i].kbit != PB || m->blocks)
			put_template(m, &tmpls[i]);
	set_close(m);
	if (m->loss)
		put_loss_template(m);
}

/* Bytes needed to add a record of len bytes of template tmpl: the record,
 * plus a new set header (and the padding of the set it closes) if the open
 * set is of another template, plus the padding its set will then need. */
static size_t room_needed(const struct msg *m, size_t len, uint16_t tmpl)
{
	size_t cur = m->set_open ? m->w.len - m->set_at : 0;

	if (m->set_open && m->set_tmpl == tmpl)
		return len + pad_len(m, cur + len);
	return pad_len(m, cur) + SET_HEADER_LEN + len + pad_len(m, SET_HEADER_LEN + len);
}

/* Append one data record of template t; false (nothing written) if it does
 * not fit. */
static bool put_record(struct msg *m, const struct ipfix_rec *r, const struct tmpl *t)
{
	uint8_t vbit = m->d->vbit;
	struct view v;

	if (room_needed(m, record_len(vbit, t), t->id) > wbuf_room(&m->w))
		return false;
	if (!m->set_open || m->set_tmpl != t->id) {
		set_close(m);
		set_open(m, t->id, t->id); /* data set ID = template ID */
	}
	make_view(&v, r);
	for (size_t i = 0; i < N_IES; i++)
		if (ie_in(&ies[i], vbit, t))
			put_value(&m->w, &ies[i], &v);
	m->nrec++;
	m->ndata++;
	return true;
}

int ipfix_init(struct ipfix_state *s, int version, uint32_t domain, size_t max_len,
	       unsigned refresh_s, unsigned refresh_pkts)
{
	if (version != IPFIX_V9 && version != IPFIX_V10)
		return -1;
	if (max_len == 0)
		max_len = IPFIX_MSG_DEFAULT;
	if (max_len < IPFIX_MSG_MIN || max_len > IPFIX_MSG_MAX)
		return -1;
	*s = (struct ipfix_state){.version = version,
				  .domain = domain,
				  .max_len = max_len,
				  .refresh_s = refresh_s,
				  .refresh_pkts = refresh_pkts,
				  .tmpl_forced = true};
	return 0;
}

void ipfix_continue(struct ipfix_state *fresh, const struct ipfix_state *old)
{
	fresh->packets = old->packets;
	fresh->records = old->records;
	fresh->loss_tmpl = old->loss_tmpl;
	if (old->blocks)
		ipfix_enable_blocks(fresh);
}

void ipfix_templates_due(struct ipfix_state *s)
{
	s->tmpl_forced = true;
}

/* RFC 3954 §9 and RFC 7011 §8.4: over UDP, templates are resent
 * periodically, by time or by number of packets. */
bool ipfix_templates_pending(const struct ipfix_state *s, uint64_t now_ns)
{
	if (s->tmpl_forced)
		return true;
	if (s->refresh_s &&
	    (now_ns < s->tmpl_ns || now_ns - s->tmpl_ns >= (uint64_t)s->refresh_s * NS_PER_S))
		return true;
	return s->refresh_pkts && s->since_tmpl >= s->refresh_pkts;
}

/* A message with templates restarts the count of messages towards
 * refresh_pkts; one without data records is not counted, so that the
 * records that did not fit beside the templates follow them. */
static void count_sent(struct ipfix_state *s, bool tmpl, uint64_t now_ns, unsigned ndata)
{
	s->packets++;
	s->records += ndata;
	if (tmpl) {
		s->tmpl_ns = now_ns;
		s->since_tmpl = 0;
		s->tmpl_forced = false;
	}
	if (ndata && s->since_tmpl < UINT_MAX)
		s->since_tmpl++;
}

/* Pack recs[0..n) after whatever m holds; returns how many were consumed. */
static size_t put_records(struct msg *m, const struct ipfix_rec *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct tmpl *t = tmpl_of(&recs[i]);

		if (t && t->kbit == PB && !m->blocks)
			continue; /* its template is not sent */
		if (t && !put_record(m, &recs[i], t))
			break;
	}
	set_close(m);
	return i;
}

/* Start message m into buf[0..cap), at most s->max_len bytes: the header. */
static void msg_begin(struct msg *m, const struct ipfix_state *s, uint8_t *buf, size_t cap,
		      uint64_t now_ns, uint64_t boot_ms)
{
	m->d = dialect_of(s);
	wbuf_init(&m->w, buf, cap < s->max_len ? cap : s->max_len);
	m->d->header(&m->w, s, now_ns, boot_ms);
}

/* Finish m (the header's Count or Length) and count it as sent by s;
 * returns its length. */
static size_t msg_end(struct msg *m, struct ipfix_state *s, bool tmpl, uint64_t now_ns)
{
	wbuf_patch_u16(&m->w, HEADER_COUNT_AT,
		       (uint16_t)(m->d->count_records ? m->nrec : m->w.len));
	count_sent(s, tmpl, now_ns, m->ndata);
	return m->w.len;
}

size_t ipfix_encode(struct ipfix_state *s, uint8_t *buf, size_t cap, uint64_t now_ns,
		    uint64_t boot_ms, const struct ipfix_rec *recs, size_t n, size_t *used)
{
	bool tmpl = ipfix_templates_pending(s, now_ns);
	struct msg m = {.loss = s->loss_tmpl, .blocks = s->blocks};
	size_t i;

	*used = 0;
	msg_begin(&m, s, buf, cap, now_ns, boot_ms);
	if (tmpl)
		put_templates(&m);
	i = put_records(&m, recs, n);
	if (m.w.overflow || (!tmpl && i < n && m.ndata == 0))
		return 0; /* cap too small for the header and templates, or one record */
	*used = i;
	if (!tmpl && m.ndata == 0)
		return 0;
	return msg_end(&m, s, tmpl, now_ns);
}

void ipfix_loss_add(struct ipfix_loss *l, uint64_t flows, uint64_t packets, uint64_t octets,
		    uint64_t t_ms)
{
	l->flows += flows;
	l->packets += packets;
	l->octets += octets;
	if (l->first_ms == 0 || t_ms < l->first_ms)
		l->first_ms = t_ms;
	if (t_ms > l->last_ms)
		l->last_ms = t_ms;
}

struct ipfix_loss ipfix_loss_sum(const struct ipfix_loss *l, const struct ipfix_loss *m)
{
	struct ipfix_loss sum = *l;

	if (m->first_ms) {
		ipfix_loss_add(&sum, m->flows, m->packets, m->octets, m->first_ms);
		ipfix_loss_add(&sum, 0, 0, 0, m->last_ms);
	}
	return sum;
}

size_t ipfix_encode_loss(struct ipfix_state *s, uint8_t *buf, size_t cap, uint64_t now_ns,
			 uint64_t boot_ms, const struct ipfix_loss *l)
{
	bool tmpl = ipfix_templates_pending(s, now_ns);
	struct msg m = {.loss = true, .blocks = s->blocks};

	msg_begin(&m, s, buf, cap, now_ns, boot_ms);
	if (tmpl)
		put_templates(&m);
	else
		put_loss_template(&m);
	put_loss_record(&m, s->domain, l);
	if (m.w.overflow)
		return 0;
	s->loss_tmpl = true;
	return msg_end(&m, s, tmpl, now_ns);
}

void ipfix_enable_blocks(struct ipfix_state *s)
{
	if (!s->blocks)
		s->tmpl_forced = true;
	s->blocks = true;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t ipfix_templates_before(const struct ipfix_state *s, const uint8_t *msg, size_t msglen,
			      uint8_t *buf, size_t cap, uint64_t now_ns, uint64_t boot_ms)
{
	struct ipfix_state tmp = *s;
	size_t used;

	/* The sequence number: RFC 7011 §3.1 at offset 8, RFC 3954 §5.1 at 12. */
	size_t at = s->version == IPFIX_V10 ? 8 : IPFIX_V9_SEQUENCE_AT;
	if (msglen < at + 4 || (msg[0] << 8 | msg[1]) != s->version)
		return 0;
	if (s->version == IPFIX_V10)
		tmp.records = get_be32(msg + at);
	else
		tmp.packets = get_be32(msg + at);
	tmp.tmpl_forced = true;
	return ipfix_encode(&tmp, buf, cap, now_ns, boot_ms, NULL, 0, &used);
}

uint8_t ipfix_end_reason(const struct ct_event *ev)
{
	uint8_t otherwise = ev->by_request ? IPFIX_END_FORCED : IPFIX_END_IDLE;

	if (ev->orig.proto != IPPROTO_TCP || !(ev->have & CT_HAVE_TCP_STATE))
		return otherwise;
	switch (ev->tcp_state) {
	case TCP_CONNTRACK_FIN_WAIT:
	case TCP_CONNTRACK_CLOSE_WAIT:
	case TCP_CONNTRACK_LAST_ACK:
	case TCP_CONNTRACK_TIME_WAIT:
	case TCP_CONNTRACK_CLOSE:
		return IPFIX_END_OF_FLOW;
	default:
		return otherwise;
	}
}
