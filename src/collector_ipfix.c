/* collector_ipfix: a NetFlow v9 (RFC 3954) or IPFIX (RFC 7011) collector.
 * One flow record per connection (and per interim record), queued and
 * encoded a message at a time; NAT events (RFC 8158 session create at NEW,
 * and delete at the end with nat_events all) in templates of their own for
 * the collectors that want them. While the collector is down every message
 * carries the templates, and it is probed with the templates as they stood
 * before the oldest message held for it. v9 messages are numbered as they
 * leave (exporter_number), so that an outage leaves no gap in the sequence. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "collector.h"
#include "ipfix.h"
#include "portblock.h"

#define IPX_QUEUE 128 /* records held before a message is due */
/* While anything was lost, the loss report goes out again this often. */
#define LOSS_REPORT_NS (60 * NS_PER_S)

/* What a queued record points to: its connection or port block, copied. */
struct ipx_entry {
	struct ct_event ev;
	struct portblock block;
};

struct ipx {
	struct collector_udp udp; /* first: the collector_udp_* operations */
	struct ipfix_state ipfix;
	struct ipfix_rec recs[IPX_QUEUE]; /* the records waiting, as the encoder takes them */
	struct ipx_entry held[IPX_QUEUE]; /* what recs[i] points to */
	size_t qlen;
	uint64_t q_due_ns;
	struct ipfix_loss reported; /* the figures of the last loss report */
	uint64_t loss_next_ns;	    /* monotonic time of the next periodic report */
};

static struct ipx *ipx_of(const struct collector *c)
{
	return c->impl;
}

static int ipx_open(struct collector *c, const struct collector_conf *conf,
		    const struct collector_env *env, char *err, size_t errlen)
{
	struct ipx *x = calloc(1, sizeof *x);
	size_t max_len = collector_max_payload(conf);

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ipfix_init(&x->ipfix, conf->version, conf->domain, max_len, conf->refresh_s,
		       conf->refresh_pkts) != 0) {
		snprintf(err, errlen, "collector %s: bad version or mtu", conf->name);
		free(x);
		return -1;
	}
	if (collector_udp_open(&x->udp, conf, env, max_len, err, errlen) != 0) {
		free(x);
		return -1;
	}
	if (conf->version == IPFIX_V9)
		exporter_number(&x->udp.ex, IPFIX_V9_SEQUENCE_AT);
	c->impl = x;
	return 0;
}

/* natEvent (IE 230) of a session create or delete: IANA's NAT44 session
 * create/delete (4/5) by default; the older 1/2 with nat_event_codes
 * legacy, and for IPv6, which has no NAT66 code of its own. */
static uint8_t nat_code(const struct collector_conf *c, const struct ct_event *ev, bool create)
{
	bool legacy = c->legacy_nat_events || ev->family != AF_INET;

	if (create)
		return legacy ? IPFIX_NAT_CREATE : IPFIX_NAT44_SESSION_ADD;
	return legacy ? IPFIX_NAT_DELETE : IPFIX_NAT44_SESSION_DEL;
}

/* What the flow records of recs[0..n) carry, for the loss figures (NAT
 * events are not flows). */
static struct exporter_carried carried(const struct ipfix_rec *recs, size_t n)
{
	struct exporter_carried c = {0};

	for (size_t i = 0; i < n; i++) {
		const struct ct_event *ev = recs[i].ev;
		if (recs[i].kind != IPFIX_FLOW)
			continue;
		c.flows++;
		if (ev->have & CT_HAVE_COUNTERS) {
			c.packets += ev->cnt_orig.packets + ev->cnt_reply.packets;
			c.octets += ev->cnt_orig.bytes + ev->cnt_reply.bytes;
		}
	}
	return c;
}

/* While a collector is down, every message it will get carries the
 * templates, and so does the first after it is back: whatever it lost or
 * forgot meanwhile, each message can be decoded. */
static void templates_if_away(struct ipx *x)
{
	if (exporter_take_comeback(&x->udp.ex) || exporter_state(&x->udp.ex) != EXPORTER_UP)
		ipfix_templates_due(&x->ipfix);
}

static void ipx_send(struct ipx *x, const struct nf_now *t)
{
	uint8_t buf[IPFIX_MSG_MAX];
	size_t off = 0, used;

	if (x->qlen == 0)
		return;
	templates_if_away(x);
	/* A message of templates alone (used 0) when they and the first record
	 * do not fit together: the records follow in the next. */
	while (off < x->qlen) {
		size_t len = ipfix_encode(&x->ipfix, buf, sizeof buf, t->real_ns,
					  x->udp.env.boot_ms, x->recs + off, x->qlen - off, &used);
		if (len == 0)
			break;
		struct exporter_carried c = carried(x->recs + off, used);
		exporter_send_flows(&x->udp.ex, buf, len, (unsigned)used, &c);
		off += used;
	}
	x->qlen = 0;
}

/* Queue r, with a copy of the connection or block it points to. */
static void ipx_add(struct ipx *x, const struct ipfix_rec *r, const struct nf_now *t)
{
	struct ipfix_rec *q = &x->recs[x->qlen];
	struct ipx_entry *e = &x->held[x->qlen];

	if (x->qlen == 0)
		x->q_due_ns = t->mono_ns + x->udp.env.cfg->flush_ms * NS_PER_MS;
	*q = *r;
	if (r->ev) {
		e->ev = *r->ev;
		q->ev = &e->ev;
	}
	if (r->block) {
		e->block = *r->block;
		q->block = &e->block;
	}
	if (++x->qlen == IPX_QUEUE)
		ipx_send(x, t);
}

/* A flow record: an interim one (active timeout) says nothing about the
 * NAT session, which is still open (natEvent 0); the final one of a
 * connection NAT changed carries the whole mapping as a session delete. With
 * nat_events all, a delete event at the connection's end follows it. */
static void ipx_conn(struct collector *c, const struct ct_event *ev, const struct flow_rec *rec,
		     bool interim, const struct nf_now *t)
{
	struct ipx *x = ipx_of(c);
	const struct collector_conf *conf = x->udp.conf;
	bool nat_end = !interim && flow_nat_changed(ev);
	struct ipfix_rec q = {.ev = ev,
			      .first_ms = rec->first_ms,
			      .last_ms = rec->last_ms,
			      .end_reason = interim ? IPFIX_END_ACTIVE : ipfix_end_reason(ev),
			      .nat_event = nat_end ? nat_code(conf, ev, false) : 0,
			      .kind = IPFIX_FLOW,
			      .in_if = rec->in_if,
			      .out_if = rec->out_if};

	ipx_add(x, &q, t);
	if (!nat_end || conf->nat_events != CONFIG_NAT_EVENTS_ALL)
		return;
	if (collector_block_says(&x->udp.env, conf->nat_sessions, ev))
		return;		  /* its host's port block event says it */
	q.kind = IPFIX_NAT_EVENT; /* at the connection's end: its last_ms */
	q.end_reason = 0;
	q.in_if = q.out_if = 0;
	ipx_add(x, &q, t);
}

static bool ipx_wants_nat_create(const struct collector *c)
{
	return ipx_of(c)->udp.conf->nat_events != CONFIG_NAT_EVENTS_NO;
}

static bool ipx_nat_create(struct collector *c, const struct ct_event *ev, uint64_t t_ms,
			   const struct nf_now *t)
{
	struct ipx *x = ipx_of(c);

	if (!ipx_wants_nat_create(c) ||
	    collector_block_says(&x->udp.env, x->udp.conf->nat_sessions, ev))
		return false;
	struct ipfix_rec q = {.ev = ev,
			      .first_ms = t_ms,
			      .last_ms = t_ms,
			      .nat_event = nat_code(x->udp.conf, ev, true),
			      .kind = IPFIX_NAT_EVENT};
	ipx_add(x, &q, t);
	return true;
}

/* What was lost for this collector: the events the kernel dropped, and
 * what its own exporter dropped. */
static struct ipfix_loss loss_of(const struct ipx *x)
{
	static const struct ipfix_loss none;

	return ipfix_loss_sum(x->udp.env.events_lost ? x->udp.env.events_lost : &none,
			      &x->udp.dropped);
}

static bool loss_changed(const struct ipfix_loss *a, const struct ipfix_loss *b)
{
	return a->flows != b->flows || a->packets != b->packets || a->octets != b->octets ||
	       a->first_ms != b->first_ms || a->last_ms != b->last_ms;
}

/* RFC 7011 §4.3: a loss report after each loss, and every LOSS_REPORT_NS
 * while any loss has happened. */
static void report_loss(struct ipx *x, const struct nf_now *t)
{
	uint8_t buf[IPFIX_MSG_MAX];
	struct ipfix_loss l;
	size_t len;

	collector_udp_note_drops(&x->udp, t);
	l = loss_of(x);
	if (l.first_ms == 0 || (!loss_changed(&l, &x->reported) && t->mono_ns < x->loss_next_ns))
		return;
	templates_if_away(x);
	len = ipfix_encode_loss(&x->ipfix, buf, sizeof buf, t->real_ns, x->udp.env.boot_ms, &l);
	if (len)
		exporter_send_flows(&x->udp.ex, buf, len, 1, &(struct exporter_carried){0});
	x->reported = l;
	x->loss_next_ns = t->mono_ns + LOSS_REPORT_NS;
}

/* A port block event, for the collectors that want NAT events; the port
 * block template goes with the templates from the first one on. */
static void ipx_port_block(struct collector *c, const struct portblock *b, bool alloc,
			   uint64_t t_ms, const struct nf_now *t)
{
	struct ipx *x = ipx_of(c);
	struct ipfix_rec q = {.last_ms = t_ms,
			      .nat_event = alloc ? IPFIX_NAT_BLOCK_ALLOC : IPFIX_NAT_BLOCK_FREE,
			      .kind = IPFIX_BLOCK,
			      .block = b};

	if (!ipx_wants_nat_create(c))
		return;
	if (!x->ipfix.blocks)
		ipfix_enable_blocks(&x->ipfix);
	ipx_add(x, &q, t);
}

static void ipx_flush(struct collector *c, const struct nf_now *t)
{
	struct ipx *x = ipx_of(c);

	ipx_send(x, t);
	report_loss(x, t);
	exporter_drain(&x->udp.ex, t->mono_ns);
	exporter_settle(&x->udp.ex);
}

/* A collector that is down is probed with the templates, as they would
 * have been just before the oldest message held for it. */
static void set_probe(struct ipx *x, const struct nf_now *t)
{
	uint8_t buf[IPFIX_MSG_MAX];
	size_t hlen, len;
	const uint8_t *head = exporter_oldest(&x->udp.ex, &hlen);

	if (exporter_state(&x->udp.ex) == EXPORTER_UP || exporter_has_probe(&x->udp.ex) || !head)
		return;
	len = ipfix_templates_before(&x->ipfix, head, hlen, buf, sizeof buf, t->real_ns,
				     x->udp.env.boot_ms);
	if (len)
		exporter_set_probe(&x->udp.ex, buf, len);
}

static void ipx_tick(struct collector *c, const struct nf_now *t)
{
	struct ipx *x = ipx_of(c);

	set_probe(x, t);
	if (exporter_waiting(&x->udp.ex))
		exporter_drain(&x->udp.ex, t->mono_ns);
	if (x->qlen && t->mono_ns >= x->q_due_ns)
		ipx_send(x, t);
	report_loss(x, t);
}

static uint64_t ipx_due(const struct collector *c)
{
	const struct ipx *x = ipx_of(c);
	uint64_t due = exporter_due(&x->udp.ex);
	struct ipfix_loss l = loss_of(x);

	if (l.first_ms && loss_changed(&l, &x->reported))
		return 0; /* a new loss: report it now */
	if (x->reported.first_ms && x->loss_next_ns < due)
		due = x->loss_next_ns;
	return x->qlen && x->q_due_ns < due ? x->q_due_ns : due;
}

static void ipx_adopt(struct collector *fresh, struct collector *old)
{
	struct ipx *f = ipx_of(fresh), *o = ipx_of(old);

	ipfix_continue(&f->ipfix, &o->ipfix);
	f->udp.dropped = o->udp.dropped;
	f->reported = o->reported;
	f->loss_next_ns = o->loss_next_ns;
	exporter_adopt(&f->udp.ex, &o->udp.ex);
}

static void ipx_close(struct collector *c)
{
	struct ipx *x = ipx_of(c);

	exporter_close(&x->udp.ex);
	free(x);
	c->impl = NULL;
}

#define IPX_OPS(ver)                                                                               \
	{                                                                                          \
		.version = ver, .open = ipx_open, .conn = ipx_conn, .nat_create = ipx_nat_create,  \
		.wants_nat_create = ipx_wants_nat_create, .port_block = ipx_port_block,            \
		.flush = ipx_flush, .tick = ipx_tick, .push = collector_udp_push,                  \
		.lost = collector_udp_lost, .due = ipx_due, .pollfds = collector_udp_pollfds,      \
		.local = collector_udp_local, .same = collector_udp_same, .adopt = ipx_adopt,      \
		.loss = collector_udp_loss, .format_stats = collector_udp_format_stats,            \
		.close = ipx_close,                                                                \
	}

const struct collector_ops collector_v9_ops = IPX_OPS(IPFIX_V9);
const struct collector_ops collector_ipfix_ops = IPX_OPS(IPFIX_V10);
