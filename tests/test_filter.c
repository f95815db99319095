#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "filter.h"

static struct ct_event conn(const char *osrc, uint16_t sport, const char *odst, uint16_t dport,
			    const char *rdst, uint8_t proto)
{
	struct ct_event ev = {.family = AF_INET, .have = CT_HAVE_REPLY};

	inet_pton(AF_INET, osrc, ev.orig.src);
	inet_pton(AF_INET, odst, ev.orig.dst);
	ev.orig.sport = sport;
	ev.orig.dport = dport;
	ev.orig.proto = proto;
	ev.reply = ev.orig;
	memcpy(ev.reply.src, ev.orig.dst, 16);
	inet_pton(AF_INET, rdst, ev.reply.dst);
	ev.reply.sport = dport;
	ev.reply.dport = sport;
	return ev;
}

static void net(struct filter_net *list, size_t *n, const char *s)
{
	CHECK(filter_parse_net(s, &list[(*n)++]) == 0);
}

static void test_parse(void)
{
	struct filter_net n;

	CHECK(filter_parse_net("10.0.0.0/8", &n) == 0 && n.prefix == 8 && n.family == AF_INET);
	CHECK(filter_parse_net("2001:db8::/32", &n) == 0 && n.prefix == 32);
	CHECK(filter_parse_net("192.0.2.1", &n) == 0 && n.prefix == 32);
	CHECK(filter_parse_net("10.0.0.0/33", &n) < 0);
	CHECK(filter_parse_net("10.0.0.0/", &n) < 0);
	CHECK(filter_parse_net("10.0.0.0/x", &n) < 0);
	CHECK(filter_parse_net("example.org", &n) < 0);
	CHECK(filter_parse_net("", &n) < 0);
}

static void test_empty_matches_all(void)
{
	struct filter f = {0};
	struct ct_event ev = conn("10.1.1.1", 1000, "198.51.100.1", 80, "203.0.113.1", 6);

	CHECK(filter_match(&f, &ev));
	CHECK(filter_kernel_only(&f));
}

static void test_addresses(void)
{
	struct filter f = {0};
	struct ct_event ev = conn("10.1.1.1", 1000, "198.51.100.1", 80, "203.0.113.1", 6);

	net(f.orig, &f.norig, "10.0.0.0/8");
	CHECK(filter_match(&f, &ev));
	f.orig[0].addr[0] = 11;
	CHECK(!filter_match(&f, &ev));
	f.norig = 0;
	net(f.xlat, &f.nxlat, "203.0.113.0/24"); /* the translated side */
	CHECK(filter_match(&f, &ev));
	f.nxlat = 0;
	net(f.xlat, &f.nxlat, "10.0.0.0/8"); /* not on the reply side */
	CHECK(!filter_match(&f, &ev));
	f.nxlat = 0;
	net(f.any, &f.nany, "203.0.113.1/32");
	CHECK(filter_match(&f, &ev));
	f.nany = 0;
	net(f.any, &f.nany, "203.0.113.0/25");
	net(f.any, &f.nany, "10.1.1.0/31"); /* or within a key */
	CHECK(filter_match(&f, &ev));
	CHECK(!filter_kernel_only(&f));
	net(f.orig, &f.norig, "2001:db8::/32"); /* and between keys */
	CHECK(!filter_match(&f, &ev));
}

static void test_proto_port_zone_mark(void)
{
	struct filter f = {0};
	struct ct_event ev = conn("10.1.1.1", 1000, "198.51.100.1", 80, "203.0.113.1", 6);

	f.protos[f.nprotos++] = 17;
	CHECK(!filter_match(&f, &ev));
	f.protos[f.nprotos++] = 6;
	CHECK(filter_match(&f, &ev));
	CHECK(filter_kernel_only(&f));
	f.ports[f.nports++] = 443;
	CHECK(!filter_match(&f, &ev));
	f.ports[f.nports++] = 80;
	CHECK(filter_match(&f, &ev));
	ev.reply.dport = 61000; /* a translated port matches too */
	f.nports = 0;
	f.ports[f.nports++] = 61000;
	CHECK(filter_match(&f, &ev));
	f.nports = 0;
	f.zones[f.nzones++] = 5;
	CHECK(!filter_match(&f, &ev));
	/* A zone of both directions, as ctmsg reads it. */
	ev.zone = ev.orig_zone = ev.reply_zone = 5;
	CHECK(filter_match(&f, &ev));
	ev.zone = ev.orig_zone = 0; /* a zone of the reply direction alone */
	CHECK(filter_match(&f, &ev));
	ev.orig_zone = 5, ev.reply_zone = 0; /* of the original direction alone */
	CHECK(filter_match(&f, &ev));
	ev.orig_zone = 0;
	CHECK(!filter_match(&f, &ev));
	ev.zone = ev.orig_zone = ev.reply_zone = 5;
	f.marks[f.nmarks++] = (struct filter_mark){.value = 0x10, .mask = 0xf0};
	ev.mark = 0x1f;
	CHECK(filter_match(&f, &ev));
	ev.mark = 0x2f;
	CHECK(!filter_match(&f, &ev));
}

static void test_nat_only_and_self(void)
{
	struct filter f = {.nat_only = true};
	struct ct_event snat = conn("10.1.1.1", 1000, "198.51.100.1", 80, "203.0.113.1", 6);
	struct ct_event plain = conn("10.1.1.1", 1000, "198.51.100.1", 80, "10.1.1.1", 6);
	struct ct_event dnat = conn("198.51.100.7", 4000, "203.0.113.1", 8080, "198.51.100.7", 6);

	inet_pton(AF_INET, "10.1.1.5", dnat.reply.src);
	CHECK(filter_match(&f, &snat));
	CHECK(!filter_match(&f, &plain));
	CHECK(!filter_match(&f, &dnat)); /* destination NAT only: not source NAT */
	plain.reply.dport = 2000;	 /* the port alone was translated */
	CHECK(filter_match(&f, &plain));

	struct filter g = {.nself = 1};
	struct ct_event exp = conn("192.0.2.1", 5000, "192.0.2.9", 2055, "192.0.2.1", 17);
	g.self[0].family = AF_INET;
	g.self[0].port = 2055;
	inet_pton(AF_INET, "192.0.2.9", g.self[0].addr);
	CHECK(!filter_match(&g, &exp));
	CHECK(!filter_kernel_only(&g));
	g.export_self = true;
	CHECK(filter_match(&g, &exp));
	exp.orig.dport = 2056;
	g.export_self = false;
	CHECK(filter_match(&g, &exp));
}

int main(void)
{
	test_parse();
	test_empty_matches_all();
	test_addresses();
	test_proto_port_zone_mark();
	test_nat_only_and_self();
	CHECK_DONE();
}
