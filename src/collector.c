#include "collector.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "copies.h"
#include "ipfix.h"
#include "portblock.h"

bool collector_block_says(const struct collector_env *env, int nat_sessions,
			  const struct ct_event *ev)
{
	return nat_sessions == CONFIG_NAT_SESSIONS_OUTSIDE_BLOCKS && env->blocks &&
	       env->blocks->n && portblock_inside(env->blocks, ev);
}

const struct collector_ops *collector_ops_for(int version)
{
	static const struct collector_ops *const kinds[] = {&collector_v5_ops, &collector_v9_ops,
							    &collector_ipfix_ops};

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i]->version == version)
			return kinds[i];
	return NULL;
}

bool collector_batch_add(struct collector_batch *b, const struct flow_rec *r, uint64_t mono_ns,
			 unsigned flush_ms)
{
	if (b->n == 0)
		b->due_ns = mono_ns + flush_ms * NS_PER_MS;
	b->recs[b->n++] = *r;
	return b->n >= (b->max && b->max < NFV5_MAX_RECORDS ? b->max : NFV5_MAX_RECORDS);
}

size_t collector_max_payload(const struct collector_conf *conf)
{
	size_t mtu = conf->mtu ? conf->mtu : IPFIX_MTU_DEFAULT;
	size_t headers = conf->addr.ss_family == AF_INET6 ? IPFIX_IP6_UDP_LEN : IPFIX_IP4_UDP_LEN;

	return mtu > headers ? mtu - headers : 0;
}

struct nfv5_header collector_v5_header(const struct collector_env *env, const struct nf_now *t)
{
	return (struct nfv5_header){.now_ns = t->real_ns,
				    .boot_ms = env->boot_ms,
				    .engine_type = env->cfg->engine_type,
				    .engine_id = env->cfg->engine_id};
}

int collector_udp_open(struct collector_udp *u, const struct collector_conf *conf,
		       const struct collector_env *env, size_t slot_len, char *err, size_t errlen)
{
	u->env = *env;
	u->conf = conf;
	return exporter_open(&u->ex, conf, slot_len, env->cfg->hold_limit, env->capture, err,
			     errlen);
}

static const struct collector_udp *udp_of(const struct collector *c)
{
	return c->impl;
}

void collector_udp_push(struct collector *c, const struct nf_now *t)
{
	(void)t;
	exporter_push(&((struct collector_udp *)c->impl)->ex);
}

uint64_t collector_udp_lost(const struct collector *c)
{
	const struct exporter *e = &udp_of(c)->ex;

	return e->st.dropped + exporter_waiting(e);
}

size_t collector_udp_pollfds(const struct collector *c, struct pollfd *pfd)
{
	int fd = exporter_pollfd(&udp_of(c)->ex);

	if (fd < 0)
		return 0;
	*pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
	return 1;
}

int collector_udp_local(const struct collector *c, struct sockaddr_storage *ss)
{
	return exporter_local(&udp_of(c)->ex, ss);
}

bool collector_udp_same(const struct collector *fresh, const struct collector *old)
{
	const struct collector_udp *a = udp_of(fresh), *b = udp_of(old);

	return strcmp(a->conf->name, b->conf->name) == 0 && strcmp(a->ex.name, b->ex.name) == 0;
}

size_t collector_udp_format_stats(const struct collector *c, char *buf, size_t len)
{
	return exporter_format_stats(&udp_of(c)->ex, buf, len);
}

void collector_udp_note_drops(struct collector_udp *u, const struct nf_now *t)
{
	const struct exporter_stats *st = &u->ex.st;
	struct ipfix_loss *d = &u->dropped;

	if (st->dropped_flows == d->flows && st->dropped_packets == d->packets &&
	    st->dropped_octets == d->octets)
		return;
	ipfix_loss_add(d, st->dropped_flows - d->flows, st->dropped_packets - d->packets,
		       st->dropped_octets - d->octets, t->real_ns / NS_PER_MS);
}

void collector_udp_loss(const struct collector *c, struct ipfix_loss *l)
{
	*l = ipfix_loss_sum(l, &udp_of(c)->dropped);
}

/* The writer of a kind that writes lines: the first member of its impl. */
static struct copies *lines_of(const struct collector *c)
{
	return c->impl;
}

void collector_lines_push(struct collector *c, const struct nf_now *t)
{
	copies_flush(lines_of(c), t->mono_ns);
}

size_t collector_lines_pollfds(const struct collector *c, struct pollfd *pfd)
{
	return copies_pollfds(lines_of(c), pfd);
}

size_t collector_lines_format_stats(const struct collector *c, char *buf, size_t len)
{
	return copies_format_stats(lines_of(c), buf, len);
}

void collector_lines_close(struct collector *c)
{
	copies_close(lines_of(c));
	free(c->impl);
	c->impl = NULL;
}
