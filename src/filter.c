#include "filter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int filter_parse_net(const char *s, struct filter_net *n)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(n, 0, sizeof *n);
	if (inet_pton(AF_INET, buf, n->addr) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, n->addr) == 1)
		n->family = AF_INET6;
	else
		return -1;
	unsigned max = n->family == AF_INET ? 32 : 128, prefix = max;
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || v > max)
			return -1;
		prefix = (unsigned)v;
	}
	n->prefix = (uint8_t)prefix;
	return 0;
}

uint8_t filter_endpoint(const struct sockaddr_storage *ss, uint8_t addr[16], uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		memset(addr, 0, 16);
		memcpy(addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return AF_INET;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		memcpy(addr, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
		return AF_INET6;
	}
	return 0;
}

static bool in_net(const struct filter_net *n, uint8_t family, const uint8_t *a)
{
	if (n->family != family)
		return false;
	unsigned full = n->prefix / 8, rest = n->prefix % 8;
	if (memcmp(n->addr, a, full) != 0)
		return false;
	uint8_t mask = (uint8_t)(0xff00 >> rest);
	return rest == 0 || (n->addr[full] & mask) == (a[full] & mask);
}

static bool any_net(const struct filter_net *nets, size_t n, uint8_t family, const uint8_t *a,
		    const uint8_t *b)
{
	for (size_t i = 0; i < n; i++)
		if (in_net(&nets[i], family, a) || in_net(&nets[i], family, b))
			return true;
	return false;
}

static bool has_u16(const uint16_t *v, size_t n, uint16_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static bool has_port(const struct filter *f, const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;

	if (ev->orig.proto == 1 || ev->orig.proto == 58) /* ICMP: no ports */
		return false;
	return has_u16(f->ports, f->nports, o->sport) || has_u16(f->ports, f->nports, o->dport) ||
	       ((ev->have & CT_HAVE_REPLY) &&
		(has_u16(f->ports, f->nports, r->sport) || has_u16(f->ports, f->nports, r->dport)));
}

static bool has_mark(const struct filter *f, uint32_t mark)
{
	for (size_t i = 0; i < f->nmarks; i++)
		if ((mark & f->marks[i].mask) == f->marks[i].value)
			return true;
	return false;
}

static bool has_proto(const struct filter *f, uint8_t proto)
{
	for (size_t i = 0; i < f->nprotos; i++)
		if (f->protos[i] == proto)
			return true;
	return false;
}

/* Source NAT: the reply goes to another address or port than the client's. */
static bool source_nat(const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;

	if (!(ev->have & CT_HAVE_REPLY))
		return false;
	if (memcmp(o->src, r->dst, sizeof o->src) != 0)
		return true;
	return o->proto != 1 && o->proto != 58 && o->sport != r->dport;
}

/* Is ev nfflowd's own traffic to one of its collectors? */
static bool is_self(const struct filter *f, const struct ct_event *ev)
{
	for (size_t i = 0; i < f->nself; i++) {
		const struct filter_self *s = &f->self[i];
		if (ev->orig.proto != 17 || ev->family != s->family || ev->orig.dport != s->port ||
		    memcmp(ev->orig.dst, s->addr, sizeof s->addr) != 0)
			continue;
		if (s->sport == 0 || (ev->orig.sport == s->sport &&
				      memcmp(ev->orig.src, s->src, sizeof s->src) == 0))
			return true;
	}
	return false;
}

static bool match_addresses(const struct filter *f, const struct ct_event *ev)
{
	const struct ct_tuple *o = &ev->orig, *r = &ev->reply;
	bool reply = ev->have & CT_HAVE_REPLY;

	if (f->norig && !any_net(f->orig, f->norig, ev->family, o->src, o->dst))
		return false;
	if (f->nxlat && !(reply && any_net(f->xlat, f->nxlat, ev->family, r->src, r->dst)))
		return false;
	if (f->nany && !any_net(f->any, f->nany, ev->family, o->src, o->dst) &&
	    !(reply && any_net(f->any, f->nany, ev->family, r->src, r->dst)))
		return false;
	return true;
}

bool filter_match(const struct filter *f, const struct ct_event *ev)
{
	if (!f->export_self && is_self(f, ev))
		return false;
	if (f->nprotos && !has_proto(f, ev->orig.proto))
		return false;
	if (f->nports && !has_port(f, ev))
		return false;
	/* Either direction's zone: a zone of both, or of one direction alone. */
	if (f->nzones && !has_u16(f->zones, f->nzones, ev->orig_zone) &&
	    !has_u16(f->zones, f->nzones, ev->reply_zone))
		return false;
	if (f->nmarks && !has_mark(f, ev->mark))
		return false;
	if (f->nat_only && !source_nat(ev))
		return false;
	return match_addresses(f, ev);
}

bool filter_kernel_only(const struct filter *f)
{
	return !f->nany && !f->norig && !f->nxlat && !f->nports && !f->nzones && !f->nat_only &&
	       (f->export_self || f->nself == 0);
}
