/* collector_v5: a NetFlow v5 collector. It takes the NAT triplets, as many
 * records to a datagram as the mtu allows (at most 30), and numbers them
 * with flow_sequence: the flows exported to it before each datagram. */
#include <stdio.h>
#include <stdlib.h>

#include "collector.h"
#include "nfv5.h"

struct v5 {
	struct collector_udp udp; /* first: the collector_udp_* operations */
	struct collector_batch batch;
	uint32_t flow_seq;
};

static struct v5 *v5_of(const struct collector *c)
{
	return c->impl;
}

static int v5_open(struct collector *c, const struct collector_conf *conf,
		   const struct collector_env *env, char *err, size_t errlen)
{
	struct v5 *v = calloc(1, sizeof *v);
	size_t fit = nfv5_records_fit(collector_max_payload(conf));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (fit == 0) { /* mtu >= IPFIX_MTU_MIN always holds 9 */
		snprintf(err, errlen, "collector %s: mtu %u holds no v5 record", conf->name,
			 conf->mtu);
		free(v);
		return -1;
	}
	v->batch.max = fit;
	if (collector_udp_open(&v->udp, conf, env, NFV5_HEADER_LEN + fit * NFV5_RECORD_LEN, err,
			       errlen) != 0) {
		free(v);
		return -1;
	}
	c->impl = v;
	return 0;
}

static void v5_send(struct v5 *v, const struct nf_now *t)
{
	struct nfv5_header h = collector_v5_header(&v->udp.env, t);
	uint8_t buf[NFV5_MAX_LEN];

	if (v->batch.n == 0)
		return;
	struct exporter_carried carried = {.flows = (unsigned)v->batch.n};

	h.flow_sequence = v->flow_seq;
	for (size_t i = 0; i < v->batch.n; i++) {
		carried.packets += v->batch.recs[i].packets;
		carried.octets += v->batch.recs[i].bytes;
	}
	size_t len = nfv5_encode(buf, sizeof buf, &h, v->batch.recs, v->batch.n);
	exporter_send_flows(&v->udp.ex, buf, len, (unsigned)v->batch.n, &carried);
	v->flow_seq += (uint32_t)v->batch.n;
	v->batch.n = 0;
}

static void v5_triplets(struct collector *c, const struct flow_rec *recs, size_t n,
			const struct nf_now *t)
{
	struct v5 *v = v5_of(c);

	for (size_t i = 0; i < n; i++)
		if (collector_batch_add(&v->batch, &recs[i], t->mono_ns, v->udp.env.cfg->flush_ms))
			v5_send(v, t);
}

static void v5_flush(struct collector *c, const struct nf_now *t)
{
	struct v5 *v = v5_of(c);

	v5_send(v, t);
	exporter_drain(&v->udp.ex, t->mono_ns);
	exporter_settle(&v->udp.ex);
	collector_udp_note_drops(&v->udp, t);
}

static void v5_tick(struct collector *c, const struct nf_now *t)
{
	struct v5 *v = v5_of(c);

	if (exporter_waiting(&v->udp.ex))
		exporter_drain(&v->udp.ex, t->mono_ns);
	if (v->batch.n && t->mono_ns >= v->batch.due_ns)
		v5_send(v, t);
	collector_udp_note_drops(&v->udp, t);
}

static uint64_t v5_due(const struct collector *c)
{
	const struct v5 *v = v5_of(c);
	uint64_t due = exporter_due(&v->udp.ex);

	return v->batch.n && v->batch.due_ns < due ? v->batch.due_ns : due;
}

static void v5_adopt(struct collector *fresh, struct collector *old)
{
	v5_of(fresh)->flow_seq = v5_of(old)->flow_seq;
	v5_of(fresh)->udp.dropped = v5_of(old)->udp.dropped;
	exporter_adopt(&v5_of(fresh)->udp.ex, &v5_of(old)->udp.ex);
}

static void v5_close(struct collector *c)
{
	struct v5 *v = v5_of(c);

	exporter_close(&v->udp.ex);
	free(v);
	c->impl = NULL;
}

const struct collector_ops collector_v5_ops = {
    .version = NFV5_VERSION,
    .open = v5_open,
    .triplets = v5_triplets,
    .flush = v5_flush,
    .tick = v5_tick,
    .push = collector_udp_push,
    .lost = collector_udp_lost,
    .due = v5_due,
    .pollfds = collector_udp_pollfds,
    .local = collector_udp_local,
    .same = collector_udp_same,
    .adopt = v5_adopt,
    .loss = collector_udp_loss,
    .format_stats = collector_udp_format_stats,
    .close = v5_close,
};
