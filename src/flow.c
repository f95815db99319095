#include "flow.h"

#include <netinet/in.h>
#include <string.h>

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

bool flow_nat_changed(const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;

	if (!(ev->have & CT_HAVE_REPLY))
		return false;
	if (memcmp(o->src, r->dst, sizeof o->src) != 0 ||
	    memcmp(o->dst, r->src, sizeof o->dst) != 0)
		return true;
	/* ICMP: the echo identifier is the same in both directions. */
	if (is_icmp(o->proto))
		return o->sport != r->sport;
	return o->sport != r->dport || o->dport != r->sport;
}

static void set_ends(struct flow_rec *f, const uint8_t *src, uint16_t sport, const uint8_t *dst,
		     uint16_t dport)
{
	memcpy(f->src, src, sizeof f->src);
	memcpy(f->dst, dst, sizeof f->dst);
	f->sport = sport;
	f->dport = dport;
}

static void fill(struct flow_rec *f, const struct ct_event *ev, enum flow_role role,
		 const struct ct_counters *c, uint64_t first_ms, uint64_t last_ms)
{
	memset(f, 0, sizeof *f);
	f->family = ev->family;
	f->proto = ev->orig.proto;
	f->role = (uint8_t)role;
	f->packets = c->packets;
	f->bytes = c->bytes;
	f->first_ms = first_ms;
	f->last_ms = last_ms;
}

size_t flow_from_conn(const struct ct_event *ev, uint64_t first_ms, uint64_t last_ms,
		      struct flow_rec out[FLOW_MAX_PER_CONN])
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;
	bool icmp = is_icmp(o->proto);
	size_t n = 0;

	fill(&out[n], ev, FLOW_ORIG_PRE, &ev->cnt_orig, first_ms, last_ms);
	set_ends(&out[n++], o->src, icmp ? 0 : o->sport, o->dst, o->dport);
	if (!(ev->have & CT_HAVE_REPLY))
		return n;
	if (flow_nat_changed(ev)) {
		fill(&out[n], ev, FLOW_ORIG_POST, &ev->cnt_orig, first_ms, last_ms);
		/* The original direction after NAT is the inverted reply tuple; an
		 * ICMP request keeps its own type and code. */
		set_ends(&out[n++], r->dst, icmp ? 0 : r->dport, r->src,
			 icmp ? o->dport : r->sport);
	}
	if ((ev->have & CT_HAVE_COUNTERS) && ev->cnt_reply.packets == 0)
		return n;
	fill(&out[n], ev, FLOW_REPLY, &ev->cnt_reply, first_ms, last_ms);
	set_ends(&out[n++], r->src, icmp ? 0 : r->sport, r->dst, r->dport);
	return n;
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

uint64_t flow_split_count(const struct flow_rec *r, uint64_t limit)
{
	uint64_t np = ceil_div(r->packets, limit), nb = ceil_div(r->bytes, limit);
	uint64_t n = np > nb ? np : nb;

	return n ? n : 1;
}

static uint64_t share(uint64_t total, uint64_t n, uint64_t i)
{
	return total / n + (i < total % n);
}

void flow_split_part(const struct flow_rec *r, uint64_t n, uint64_t i, struct flow_rec *part)
{
	*part = *r;
	part->packets = share(r->packets, n, i);
	part->bytes = share(r->bytes, n, i);
}

void flow_set_interfaces(struct flow_rec *recs, size_t n, uint32_t client_if, uint32_t server_if)
{
	for (size_t i = 0; i < n; i++) {
		bool reply = recs[i].role == FLOW_REPLY;
		recs[i].in_if = reply ? server_if : client_if;
		recs[i].out_if = reply ? client_if : server_if;
	}
}
