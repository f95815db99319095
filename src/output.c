#include "output.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "csv.h"

#define NS_PER_MS 1000000ull
#define DGRAM_MAX IPFIX_MTU_MAX

/* The source address of the first IPv4 collector that has one: the CSV
 * copies' exaddr field. */
static void set_exaddr(struct output *o)
{
	memset(o->exaddr, 0, sizeof o->exaddr);
	for (size_t i = 0; i < o->cfg->ncollectors; i++) {
		const struct collector_conf *c = &o->cfg->collectors[i];
		if (c->sourcelen && c->source.ss_family == AF_INET) {
			memcpy(o->exaddr, &((const struct sockaddr_in *)&c->source)->sin_addr, 4);
			return;
		}
	}
}

static int open_collector(struct output *o, const struct collector_conf *c, char *err,
			  size_t errlen)
{
	struct output_collector *oc = &o->col[o->ncol];

	memset(oc, 0, sizeof *oc);
	if (c->version != 5 &&
	    ipfix_init(&oc->ipfix, c->version, c->domain, c->mtu, c->refresh_s, c->refresh_pkts)) {
		snprintf(err, errlen, "collector %s: bad version or mtu", c->name);
		return -1;
	}
	if (exporter_open(&oc->ex, c, err, errlen) != 0)
		return -1;
	o->ncol++;
	o->v5 |= c->version == 5;
	o->ipfix |= c->version != 5;
	o->nat_events |= c->version != 5 && c->nat_events;
	return 0;
}

int output_open(struct output *o, const struct nf_config *cfg, bool foreground, uint64_t boot_ms,
		output_clock_fn now, void *now_ctx, char *err, size_t errlen)
{
	memset(o, 0, sizeof *o);
	o->cfg = cfg;
	o->now = now;
	o->now_ctx = now_ctx;
	o->boot_ms = boot_ms;
	set_exaddr(o);
	o->queue = calloc(OUTPUT_QUEUE, sizeof *o->queue);
	if (!o->queue) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->ncollectors; i++)
		if (open_collector(o, &cfg->collectors[i], err, errlen) != 0)
			goto fail;
	if (copies_open(&o->copies, cfg, foreground, err, errlen) != 0)
		goto fail;
	o->v5 |= o->copies.n > 0;
	return 0;
fail:
	output_close(o);
	return -1;
}

void output_own_flows(const struct output *o, struct filter *f)
{
	for (size_t i = 0; i < o->ncol && i < f->nself; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		struct filter_self *s = &f->self[i];
		if (getsockname(o->col[i].ex.fd, (struct sockaddr *)&ss, &len) == 0)
			filter_endpoint(&ss, s->src, &s->sport);
	}
}

void output_close(struct output *o)
{
	for (size_t i = 0; i < o->ncol; i++)
		exporter_close(&o->col[i].ex);
	o->ncol = 0;
	copies_close(&o->copies);
	free(o->queue);
	o->queue = NULL;
}

static bool same_collector(const struct output_collector *a, const struct output_collector *b)
{
	return strcmp(a->ex.conf->name, b->ex.conf->name) == 0 &&
	       strcmp(a->ex.name, b->ex.name) == 0 && a->ex.conf->version == b->ex.conf->version;
}

void output_carry_over(struct output *fresh, struct output *old)
{
	fresh->st = old->st;
	for (size_t i = 0; i < fresh->ncol; i++) {
		for (size_t j = 0; j < old->ncol; j++) {
			if (!same_collector(&fresh->col[i], &old->col[j]))
				continue;
			exporter_adopt(&fresh->col[i].ex, &old->col[j].ex);
			fresh->col[i].ipfix.packets = old->col[j].ipfix.packets;
			fresh->col[i].ipfix.records = old->col[j].ipfix.records;
		}
	}
}

/* ---- NetFlow v5 --------------------------------------------------------- */

static void v5_flush(struct output *o)
{
	struct output_v5_batch *b = &o->batch;
	struct nfv5_header h = {.now_ns = o->now(o->now_ctx),
				.boot_ms = o->boot_ms,
				.engine_type = o->cfg->engine_type,
				.engine_id = o->cfg->engine_id};
	uint8_t buf[NFV5_MAX_LEN];
	char line[CSV_LINE_MAX];

	if (b->n == 0)
		return;
	for (size_t i = 0; i < o->ncol; i++) {
		struct exporter *e = &o->col[i].ex;
		if (e->conf->version != 5)
			continue;
		h.flow_sequence = e->flow_seq;
		size_t len = nfv5_encode(buf, sizeof buf, &h, b->recs, b->n);
		exporter_send(e, buf, len, (unsigned)b->n);
		e->flow_seq += (uint32_t)b->n;
	}
	for (size_t j = 0; j < b->n && o->copies.n; j++)
		if (csv_format_v5(line, sizeof line, &h, o->exaddr, &b->recs[j]))
			copies_write(&o->copies, line);
	copies_flush(&o->copies);
	b->n = 0;
}

static void v5_add(struct output *o, const struct flow_rec *r, uint64_t mono_ns)
{
	struct output_v5_batch *b = &o->batch;

	if (b->n == 0)
		b->due_ns = mono_ns + o->cfg->flush_ms * NS_PER_MS;
	b->recs[b->n++] = *r;
	if (b->n == NFV5_MAX_RECORDS)
		v5_flush(o);
}

static bool v5_carries(struct output *o, const struct ct_event *ev)
{
	if (ev->family != AF_INET) {
		o->st.v5_skipped_family++;
		return false;
	}
	switch (ev->orig.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
		return true;
	default:
		o->st.v5_skipped_proto++;
		return false;
	}
}

/* Queue a connection's triplet, split so that no v5 counter is truncated. */
static void v5_conn(struct output *o, const struct ct_event *ev, const struct flow_rec *recs,
		    size_t n, uint64_t mono_ns)
{
	struct flow_rec part;

	if (!v5_carries(o, ev))
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t parts = flow_split_count(&recs[i], NFV5_COUNTER_MAX);
		o->st.records_split += parts - 1;
		for (uint64_t k = 0; k < parts; k++) {
			flow_split_part(&recs[i], parts, k, &part);
			v5_add(o, &part, mono_ns);
		}
	}
}

/* ---- NetFlow v9 and IPFIX ------------------------------------------------ */

/* natEvent (IE 230): IANA's NAT44 session create/delete (4/5) by default;
 * the older 1/2 with nat_event_codes legacy, and for IPv6, which has no
 * NAT66 code of its own. 0 for a connection NAT did not change. */
static uint8_t nat_event(const struct collector_conf *c, const struct output_conn *q)
{
	bool legacy = c->legacy_nat_events || q->ev.family != AF_INET;

	if (!q->create && !flow_nat_changed(&q->ev))
		return 0;
	if (q->create)
		return legacy ? IPFIX_NAT_CREATE : IPFIX_NAT44_SESSION_ADD;
	return legacy ? IPFIX_NAT_DELETE : IPFIX_NAT44_SESSION_DEL;
}

/* The queued records collector c takes, as the encoder wants them. */
static size_t ipfix_recs(const struct output *o, const struct collector_conf *c,
			 struct ipfix_rec *recs)
{
	size_t n = 0;

	for (size_t i = 0; i < o->qlen; i++) {
		const struct output_conn *q = &o->queue[i];
		if (q->create && !c->nat_events)
			continue;
		recs[n++] = (struct ipfix_rec){.ev = &q->ev,
					       .first_ms = q->first_ms,
					       .last_ms = q->last_ms,
					       .end_reason = q->end_reason,
					       .nat_event = nat_event(c, q)};
	}
	return n;
}

static void ipfix_send_all(struct output *o, struct output_collector *oc, uint64_t now_ns)
{
	static struct ipfix_rec recs[OUTPUT_QUEUE];
	uint8_t buf[DGRAM_MAX];
	size_t n = ipfix_recs(o, oc->ex.conf, recs), off = 0, used;

	/* While a collector is down, every message it will get carries the
	 * templates, and so does the first after it is back: whatever it lost
	 * or forgot meanwhile, each message can be decoded. */
	if (oc->ex.down || oc->ex.came_back) {
		ipfix_templates_due(&oc->ipfix);
		oc->ex.came_back = false;
	}
	while (off < n) {
		size_t len = ipfix_encode(&oc->ipfix, buf, sizeof buf, now_ns, o->boot_ms,
					  recs + off, n - off, &used);
		if (len == 0 || used == 0)
			break;
		exporter_send(&oc->ex, buf, len, (unsigned)used);
		off += used;
	}
}

static void ipfix_flush(struct output *o)
{
	uint64_t now_ns = o->now(o->now_ctx);

	if (o->qlen == 0)
		return;
	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ex.conf->version != 5)
			ipfix_send_all(o, &o->col[i], now_ns);
	o->qlen = 0;
}

static void ipfix_add(struct output *o, const struct output_conn *q, uint64_t mono_ns)
{
	if (o->qlen == 0)
		o->q_due_ns = mono_ns + o->cfg->flush_ms * NS_PER_MS;
	o->queue[o->qlen++] = *q;
	if (o->qlen == OUTPUT_QUEUE)
		ipfix_flush(o);
}

/* ---- the interface ---------------------------------------------------- */

void output_conn(struct output *o, const struct ct_event *ev, const struct flow_rec *recs, size_t n,
		 bool interim, uint64_t mono_ns)
{
	if (o->v5)
		v5_conn(o, ev, recs, n, mono_ns);
	if (!o->ipfix)
		return;
	struct output_conn q = {.ev = *ev,
				.first_ms = recs[0].first_ms,
				.last_ms = recs[0].last_ms,
				.end_reason = interim ? IPFIX_END_ACTIVE : ipfix_end_reason(ev)};
	ipfix_add(o, &q, mono_ns);
}

void output_nat_create(struct output *o, const struct ct_event *ev, uint64_t t_ms, uint64_t mono_ns)
{
	if (!o->ipfix || !o->nat_events || !flow_nat_changed(ev))
		return;
	struct output_conn q = {.ev = *ev, .first_ms = t_ms, .last_ms = t_ms, .create = true};
	q.ev.have &= ~(uint32_t)CT_HAVE_COUNTERS;
	o->st.nat_creates++;
	ipfix_add(o, &q, mono_ns);
}

void output_flush(struct output *o, uint64_t mono_ns)
{
	v5_flush(o);
	ipfix_flush(o);
	for (size_t i = 0; i < o->ncol; i++)
		exporter_drain(&o->col[i].ex, mono_ns);
}

/* A v9 or IPFIX collector that is down is probed with the templates, as
 * they would have been just before the oldest message held for it. */
static void set_probe(struct output *o, struct output_collector *oc)
{
	uint8_t buf[DGRAM_MAX];
	size_t hlen, len;
	const uint8_t *head = exporter_oldest(&oc->ex, &hlen);

	if (oc->ex.conf->version == 5 || !oc->ex.down || oc->ex.probe_msg || !head)
		return;
	len = ipfix_templates_before(&oc->ipfix, head, hlen, buf, sizeof buf, o->now(o->now_ctx),
				     o->boot_ms);
	if (len)
		exporter_set_probe(&oc->ex, buf, len);
}

void output_tick(struct output *o, uint64_t mono_ns)
{
	for (size_t i = 0; i < o->ncol; i++) {
		set_probe(o, &o->col[i]);
		if (o->col[i].ex.qlen)
			exporter_drain(&o->col[i].ex, mono_ns);
	}
	if (o->batch.n && mono_ns >= o->batch.due_ns)
		v5_flush(o);
	if (o->qlen && mono_ns >= o->q_due_ns)
		ipfix_flush(o);
}

void output_push(struct output *o)
{
	for (size_t i = 0; i < o->ncol; i++)
		exporter_push(&o->col[i].ex);
}

uint64_t output_due(const struct output *o)
{
	uint64_t due = UINT64_MAX;

	if (o->batch.n)
		due = o->batch.due_ns;
	if (o->qlen && o->q_due_ns < due)
		due = o->q_due_ns;
	for (size_t i = 0; i < o->ncol; i++) /* the next probe of a collector that is down */
		if (o->col[i].ex.down && o->col[i].ex.probe_ns + EXPORTER_PROBE_NS < due)
			due = o->col[i].ex.probe_ns + EXPORTER_PROBE_NS;
	return due;
}

size_t output_pollfds(const struct output *o, struct pollfd *pfd)
{
	size_t n = 0;

	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ex.qlen && !o->col[i].ex.down)
			pfd[n++] = (struct pollfd){.fd = o->col[i].ex.fd, .events = POLLOUT};
	return n;
}

size_t output_format_stats(const struct output *o, char *buf, size_t len)
{
	size_t n =
	    (size_t)snprintf(buf, len,
			     "skipped: ipv6-for-v5 %" PRIu64 " other-protocol-for-v5 %" PRIu64
			     " split-records %" PRIu64 " nat-create-events %" PRIu64 "\n",
			     o->st.v5_skipped_family, o->st.v5_skipped_proto, o->st.records_split,
			     o->st.nat_creates);

	for (size_t i = 0; i < o->ncol && n < len; i++) {
		const struct exporter *e = &o->col[i].ex;
		n += (size_t)snprintf(buf + n, len - n,
				      "collector %s: datagrams %" PRIu64 " records %" PRIu64
				      " send-errors %" PRIu64 " dropped %" PRIu64 " queued %" PRIu64
				      " version %d name %s outages %" PRIu64 " resent %" PRIu64
				      " waiting %zu%s\n",
				      e->name, e->st.datagrams, e->st.records, e->st.errors,
				      e->st.dropped, e->st.queued, e->conf->version, e->conf->name,
				      e->st.outages, e->st.resent, e->qlen, e->down ? " down" : "");
	}
	return n < len ? n : len - 1;
}
