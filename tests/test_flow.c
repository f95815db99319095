#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "flow.h"

static void addr4(uint8_t a[16], const char *s)
{
	memset(a, 0, 16);
	inet_pton(AF_INET, s, a);
}

static void tuple(struct ct_tuple *t, const char *src, uint16_t sport, const char *dst,
		  uint16_t dport, uint8_t proto)
{
	addr4(t->src, src);
	addr4(t->dst, dst);
	t->sport = sport;
	t->dport = dport;
	t->proto = proto;
}

/* The example from the original's manual: one HTTP download behind SNAT. */
static void snat_event(struct ct_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->type = CT_EV_DESTROY;
	ev->family = AF_INET;
	ev->have = CT_HAVE_REPLY | CT_HAVE_COUNTERS;
	tuple(&ev->orig, "10.0.195.106", 62380, "74.125.6.225", 80, IPPROTO_TCP);
	tuple(&ev->reply, "74.125.6.225", 80, "192.76.7.154", 62380, IPPROTO_TCP);
	ev->cnt_orig = (struct ct_counters){720, 38052};
	ev->cnt_reply = (struct ct_counters){1432, 2027040};
}

static void check_rec(const struct flow_rec *r, const char *src, uint16_t sport, const char *dst,
		      uint16_t dport, uint64_t pkts, uint64_t bytes, int role)
{
	uint8_t a[16];

	addr4(a, src);
	CHECK_MEM(r->src, a, 16);
	addr4(a, dst);
	CHECK_MEM(r->dst, a, 16);
	CHECK_EQ_U64(r->sport, sport);
	CHECK_EQ_U64(r->dport, dport);
	CHECK_EQ_U64(r->packets, pkts);
	CHECK_EQ_U64(r->bytes, bytes);
	CHECK_EQ_U64(r->role, role);
}

static void test_snat_triplet(void)
{
	struct ct_event ev;
	struct flow_rec r[FLOW_MAX_PER_CONN];

	snat_event(&ev);
	CHECK(flow_nat_changed(&ev));
	CHECK_EQ_U64(flow_from_conn(&ev, 1000, 2000, r), 3);
	check_rec(&r[0], "10.0.195.106", 62380, "74.125.6.225", 80, 720, 38052, FLOW_ORIG_PRE);
	check_rec(&r[1], "192.76.7.154", 62380, "74.125.6.225", 80, 720, 38052, FLOW_ORIG_POST);
	check_rec(&r[2], "74.125.6.225", 80, "192.76.7.154", 62380, 1432, 2027040, FLOW_REPLY);
	CHECK_EQ_U64(r[1].first_ms, 1000);
	CHECK_EQ_U64(r[2].last_ms, 2000);
	CHECK_EQ_U64(r[2].proto, IPPROTO_TCP);
}

static void test_no_nat_pair(void)
{
	struct ct_event ev;
	struct flow_rec r[FLOW_MAX_PER_CONN];

	snat_event(&ev);
	tuple(&ev.reply, "74.125.6.225", 80, "10.0.195.106", 62380, IPPROTO_TCP);
	CHECK(!flow_nat_changed(&ev));
	CHECK_EQ_U64(flow_from_conn(&ev, 1, 2, r), 2);
	check_rec(&r[0], "10.0.195.106", 62380, "74.125.6.225", 80, 720, 38052, FLOW_ORIG_PRE);
	check_rec(&r[1], "74.125.6.225", 80, "10.0.195.106", 62380, 1432, 2027040, FLOW_REPLY);
}

static void test_port_only_nat(void)
{
	struct ct_event ev;

	snat_event(&ev);
	tuple(&ev.reply, "74.125.6.225", 80, "10.0.195.106", 1025, IPPROTO_TCP);
	CHECK(flow_nat_changed(&ev));
}

static void test_dnat(void)
{
	struct ct_event ev;
	struct flow_rec r[FLOW_MAX_PER_CONN];

	/* A port forward: 198.51.100.7 connects to 203.0.113.1:8080, which the
	 * router sends to 10.1.1.5:80. */
	snat_event(&ev);
	tuple(&ev.orig, "198.51.100.7", 40000, "203.0.113.1", 8080, IPPROTO_TCP);
	tuple(&ev.reply, "10.1.1.5", 80, "198.51.100.7", 40000, IPPROTO_TCP);
	CHECK(flow_nat_changed(&ev));
	CHECK_EQ_U64(flow_from_conn(&ev, 1, 2, r), 3);
	check_rec(&r[1], "198.51.100.7", 40000, "10.1.1.5", 80, 720, 38052, FLOW_ORIG_POST);
	check_rec(&r[2], "10.1.1.5", 80, "198.51.100.7", 40000, 1432, 2027040, FLOW_REPLY);
}

static void test_icmp(void)
{
	struct ct_event ev;
	struct flow_rec r[FLOW_MAX_PER_CONN];

	snat_event(&ev);
	tuple(&ev.orig, "10.77.1.2", 0x1234, "203.0.113.2", 8 * 256, IPPROTO_ICMP);
	tuple(&ev.reply, "203.0.113.2", 0x1234, "203.0.113.1", 0, IPPROTO_ICMP);
	ev.cnt_orig = (struct ct_counters){3, 252};
	ev.cnt_reply = (struct ct_counters){3, 252};
	CHECK(flow_nat_changed(&ev));
	CHECK_EQ_U64(flow_from_conn(&ev, 1, 2, r), 3);
	check_rec(&r[0], "10.77.1.2", 0, "203.0.113.2", 2048, 3, 252, FLOW_ORIG_PRE);
	check_rec(&r[1], "203.0.113.1", 0, "203.0.113.2", 2048, 3, 252, FLOW_ORIG_POST);
	check_rec(&r[2], "203.0.113.2", 0, "203.0.113.1", 0, 3, 252, FLOW_REPLY);
	/* Only the identifier translated. */
	tuple(&ev.reply, "203.0.113.2", 0x9999, "10.77.1.2", 0, IPPROTO_ICMP);
	CHECK(flow_nat_changed(&ev));
	tuple(&ev.reply, "203.0.113.2", 0x1234, "10.77.1.2", 0, IPPROTO_ICMP);
	CHECK(!flow_nat_changed(&ev));
}

static void test_unreplied_and_no_counters(void)
{
	struct ct_event ev;
	struct flow_rec r[FLOW_MAX_PER_CONN];

	snat_event(&ev);
	ev.cnt_reply = (struct ct_counters){0, 0};
	CHECK_EQ_U64(flow_from_conn(&ev, 1, 2, r), 2); /* no empty reply record */
	ev.have &= ~(uint32_t)CT_HAVE_COUNTERS;	       /* accounting off: keep it */
	CHECK_EQ_U64(flow_from_conn(&ev, 1, 2, r), 3);
	ev.have &= ~(uint32_t)CT_HAVE_REPLY;
	CHECK_EQ_U64(flow_from_conn(&ev, 1, 2, r), 1);
}

static void test_split(void)
{
	struct flow_rec r = {.packets = 5000000000ull, .bytes = 7000000000000ull}, p;
	uint64_t limit = 0xffffffffull;
	uint64_t n = flow_split_count(&r, limit), sp = 0, sb = 0;

	CHECK_EQ_U64(n, (7000000000000ull + limit - 1) / limit);
	for (uint64_t i = 0; i < n; i++) {
		flow_split_part(&r, n, i, &p);
		CHECK(p.packets <= limit && p.bytes <= limit);
		sp += p.packets;
		sb += p.bytes;
	}
	CHECK_EQ_U64(sp, r.packets);
	CHECK_EQ_U64(sb, r.bytes);

	struct flow_rec edge = {.packets = 2 * limit, .bytes = 1};
	CHECK_EQ_U64(flow_split_count(&edge, limit), 2);
	flow_split_part(&edge, 2, 1, &p);
	CHECK_EQ_U64(p.packets, limit);
	CHECK_EQ_U64(p.bytes, 0);
	struct flow_rec zero = {0};
	CHECK_EQ_U64(flow_split_count(&zero, limit), 1);
	CHECK_EQ_U64(flow_split_count(&(struct flow_rec){.bytes = limit}, limit), 1);
	CHECK_EQ_U64(flow_split_count(&(struct flow_rec){.bytes = limit + 1}, limit), 2);
}

int main(void)
{
	test_snat_triplet();
	test_no_nat_pair();
	test_port_only_nat();
	test_dnat();
	test_icmp();
	test_unreplied_and_no_counters();
	test_split();
	CHECK_DONE();
}
