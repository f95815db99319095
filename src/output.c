#include "output.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int open_one(struct output *o, const struct collector_ops *ops,
		    const struct collector_conf *conf, const struct collector_env *env, char *err,
		    size_t errlen)
{
	struct collector *c = &o->col[o->ncol];
	int rc = ops->open(c, conf, env, err, errlen);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	c->ops = ops;
	o->ncol++;
	o->triplets |= ops->triplets != NULL;
	o->nat_events |= ops->wants_nat_create && ops->wants_nat_create(c);
	return 0;
}

int output_open(struct output *o, const struct collector_env *env, char *err, size_t errlen)
{
	const struct nf_config *cfg = env->cfg;

	memset(o, 0, sizeof *o);
	for (size_t i = 0; i < cfg->ncollectors; i++) {
		const struct collector_ops *ops = collector_ops_for(cfg->collectors[i].version);
		if (!ops) {
			snprintf(err, errlen, "collector %s: no such version",
				 cfg->collectors[i].name);
			goto fail;
		}
		if (open_one(o, ops, &cfg->collectors[i], env, err, errlen) != 0)
			goto fail;
	}
	o->nnet = o->ncol;
	if (open_one(o, &collector_copies_ops, NULL, env, err, errlen) == 0 &&
	    open_one(o, &collector_natlog_ops, NULL, env, err, errlen) == 0)
		return 0;
fail:
	output_close(o);
	return -1;
}

void output_own_flows(const struct output *o, struct filter *f)
{
	for (size_t i = 0; i < o->nnet && i < f->nself; i++) {
		struct sockaddr_storage ss;
		struct filter_self *s = &f->self[i];
		if (o->col[i].ops->local && o->col[i].ops->local(&o->col[i], &ss) == 0)
			filter_endpoint(&ss, s->src, &s->sport);
	}
}

void output_close(struct output *o)
{
	for (size_t i = 0; i < o->ncol; i++)
		o->col[i].ops->close(&o->col[i]);
	o->ncol = o->nnet = 0;
}

void output_carry_over(struct output *fresh, struct output *old)
{
	fresh->st = old->st;
	for (size_t i = 0; i < fresh->ncol; i++) {
		struct collector *f = &fresh->col[i];
		for (size_t j = 0; j < old->ncol; j++)
			if (f->ops == old->col[j].ops && f->ops->same &&
			    f->ops->same(f, &old->col[j])) {
				f->ops->adopt(f, &old->col[j]);
				f->knows_blocks = !f->ops->wants_nat_create ||
						  f->ops->wants_nat_create(&old->col[j]);
			}
	}
}

/* v5 carries IPv4 TCP, UDP and ICMP only. */
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

static void hand_triplets(struct output *o, const struct flow_rec *recs, size_t n,
			  const struct nf_now *t)
{
	for (size_t i = 0; i < o->ncol && n; i++)
		if (o->col[i].ops->triplets)
			o->col[i].ops->triplets(&o->col[i], recs, n, t);
}

/* Hand a connection's triplet on, split so that no v5 counter is truncated:
 * the records that need no split go together. */
static void triplets(struct output *o, const struct ct_event *ev, const struct flow_rec *recs,
		     size_t n, const struct nf_now *t)
{
	struct flow_rec part;
	size_t whole = 0; /* recs[i - whole .. i) need no split */

	if (!v5_carries(o, ev))
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t parts = flow_split_count(&recs[i], NFV5_COUNTER_MAX);
		if (parts == 1) {
			whole++;
			continue;
		}
		hand_triplets(o, recs + i - whole, whole, t);
		whole = 0;
		if (parts > OUTPUT_SPLIT_MAX) {
			parts = OUTPUT_SPLIT_MAX;
			o->st.split_capped++;
		}
		o->st.records_split += parts - 1;
		for (uint64_t k = 0; k < parts; k++) {
			flow_split_part(&recs[i], parts, k, &part);
			part.packets =
			    part.packets > NFV5_COUNTER_MAX ? NFV5_COUNTER_MAX : part.packets;
			part.bytes = part.bytes > NFV5_COUNTER_MAX ? NFV5_COUNTER_MAX : part.bytes;
			hand_triplets(o, &part, 1, t);
		}
	}
	hand_triplets(o, recs + n - whole, whole, t);
}

void output_conn(struct output *o, const struct ct_event *ev, const struct flow_rec *recs, size_t n,
		 bool interim, const struct nf_now *t)
{
	if (o->triplets)
		triplets(o, ev, recs, n, t);
	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ops->conn)
			o->col[i].ops->conn(&o->col[i], ev, &recs[0], interim, t);
}

void output_nat_create(struct output *o, const struct ct_event *ev, uint64_t t_ms,
		       const struct nf_now *t)
{
	bool taken = false;

	if (!o->nat_events || !flow_nat_changed(ev))
		return;
	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ops->nat_create)
			taken |= o->col[i].ops->nat_create(&o->col[i], ev, t_ms, t);
	o->st.nat_creates += taken;
}

void output_port_blocks_anew(struct output *o, const struct portblock_set *set, uint64_t t_ms,
			     const struct nf_now *t)
{
	for (size_t i = 0; i < o->nnet; i++) {
		struct collector *c = &o->col[i];
		for (size_t k = 0; !c->knows_blocks && c->ops->port_block && k < set->n; k++)
			c->ops->port_block(c, &set->b[k], true, t_ms, t);
	}
}

void output_port_block(struct output *o, const struct portblock *b, bool alloc, uint64_t t_ms,
		       const struct nf_now *t)
{
	o->st.block_events++;
	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ops->port_block)
			o->col[i].ops->port_block(&o->col[i], b, alloc, t_ms, t);
}

void output_flush(struct output *o, const struct nf_now *t)
{
	for (size_t i = 0; i < o->ncol; i++)
		o->col[i].ops->flush(&o->col[i], t);
}

void output_tick(struct output *o, const struct nf_now *t)
{
	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ops->tick)
			o->col[i].ops->tick(&o->col[i], t);
}

void output_push(struct output *o, const struct nf_now *t)
{
	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ops->push)
			o->col[i].ops->push(&o->col[i], t);
}

uint64_t output_due(const struct output *o)
{
	uint64_t due = UINT64_MAX;

	for (size_t i = 0; i < o->ncol; i++) {
		uint64_t d = o->col[i].ops->due(&o->col[i]);
		if (d < due)
			due = d;
	}
	return due;
}

size_t output_pollfds(const struct output *o, struct pollfd *pfd)
{
	size_t n = 0;

	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ops->pollfds)
			n += o->col[i].ops->pollfds(&o->col[i], pfd + n);
	return n;
}

uint64_t output_lost(const struct output *o)
{
	uint64_t lost = 0;

	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ops->lost)
			lost += o->col[i].ops->lost(&o->col[i]);
	return lost;
}

void output_loss(const struct output *o, struct ipfix_loss *l)
{
	for (size_t i = 0; i < o->ncol; i++)
		if (o->col[i].ops->loss)
			o->col[i].ops->loss(&o->col[i], l);
}

size_t output_format_stats(const struct output *o, char *buf, size_t len)
{
	int w = snprintf(buf, len,
			 "skipped: ipv6-for-v5 %" PRIu64 " other-protocol-for-v5 %" PRIu64
			 " split-records %" PRIu64 " nat-create-events %" PRIu64
			 " split-capped %" PRIu64 " port-block-events %" PRIu64 "\n",
			 o->st.v5_skipped_family, o->st.v5_skipped_proto, o->st.records_split,
			 o->st.nat_creates, o->st.split_capped, o->st.block_events);
	size_t n = w < 0 ? 0 : (size_t)w;

	for (size_t i = 0; i < o->ncol && n + 1 < len; i++)
		n += o->col[i].ops->format_stats(&o->col[i], buf + n, len - n);
	return n < len ? n : len - 1;
}
