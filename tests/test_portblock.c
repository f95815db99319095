/* portblock: the port blocks of per-source snat maps, read from rulesets
 * as "nft -j list ruleset" (nftables 1.0.6) printed them here
 * (tests/data/nft/detnat-*.json: an inline map, a named map with an
 * element added by "nft add element", and both in an inet table); their
 * changes; which connections
 * stay inside their block; their NAT log lines. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "natlog.h"
#include "portblock.h"

static int scan(const char *name, struct portblock_set *s)
{
	char path[1024], err[256];
	static char buf[1 << 16];
	FILE *f;
	size_t len;

	snprintf(path, sizeof path, "%s/nft/%s", TEST_DATA_DIR, name);
	f = fopen(path, "r");
	len = f ? fread(buf, 1, sizeof buf, f) : 0;
	if (f)
		fclose(f);
	int rc = portblock_scan_json(buf, len, s, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", name, err);
	return rc;
}

static const char *a4(const uint8_t *a)
{
	static char buf[2][INET_ADDRSTRLEN];
	static int k;

	k ^= 1;
	return inet_ntop(AF_INET, a, buf[k], sizeof buf[k]);
}

static void test_inline_and_named(void)
{
	struct portblock_set s = {0};

	CHECK(scan("detnat-inline.json", &s) == 0);
	CHECK_EQ_U64(s.n, 2);
	CHECK_STR(a4(s.b[0].src), "10.77.0.2");
	CHECK_STR(a4(s.b[0].xsrc), "198.18.7.1");
	CHECK_EQ_U64(s.b[0].start, 10000);
	CHECK_EQ_U64(s.b[0].end, 10999);
	CHECK_EQ_U64(portblock_num_ports(&s.b[0]), 1000);
	CHECK_STR(a4(s.b[1].src), "10.77.0.3");
	CHECK_EQ_U64(s.b[1].start, 11000);
	/* both tables: the inline map of detnat and the named map of detnat2 */
	CHECK(scan("detnat-named.json", &s) == 0);
	CHECK_EQ_U64(s.n, 4);
	CHECK_EQ_U64(s.skipped, 0);
	CHECK_STR(a4(s.b[2].src), "10.77.1.2");
	CHECK_STR(a4(s.b[2].xsrc), "198.18.7.2");
	CHECK_EQ_U64(s.b[3].start, 21000);
	CHECK_EQ_U64(s.b[3].end, 21999);
	/* a ruleset without such a rule */
	CHECK(scan("no-flowtable.json", &s) == 0);
	CHECK_EQ_U64(s.n, 0);
	portblock_free(&s);
}

/* An inet table's "snat ip to ip saddr map": its blocks too, inline and
 * named. */
static void test_inet(void)
{
	struct portblock_set s = {0};

	CHECK(scan("detnat-inet.json", &s) == 0);
	CHECK_EQ_U64(s.n, 2);
	CHECK_EQ_U64(s.skipped, 0);
	CHECK_STR(a4(s.b[0].src), "10.77.1.2");
	CHECK_STR(a4(s.b[0].xsrc), "198.18.7.2");
	CHECK_EQ_U64(s.b[0].start, 20000);
	CHECK_EQ_U64(s.b[0].end, 20999);
	CHECK_STR(a4(s.b[1].src), "10.77.1.3");
	CHECK_STR(a4(s.b[1].xsrc), "198.18.7.3");
	CHECK_EQ_U64(s.b[1].start, 21000);
	CHECK_EQ_U64(s.b[1].end, 21999);
	portblock_free(&s);
}

static void test_entries(void)
{
	struct portblock_set s = {0};
	char err[128];
	const char *j =
	    "{\"nftables\": [{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"expr\": "
	    "[{\"snat\": "
	    "{\"family\": \"ip\", \"addr\": {\"map\": {\"key\": {\"payload\": {\"protocol\": "
	    "\"ip\", "
	    "\"field\": \"saddr\"}}, \"data\": {\"set\": ["
	    "[\"10.0.0.9\", {\"concat\": [\"203.0.113.9\", 4000]}], "		     /* one port */
	    "[\"10.0.0.8\", {\"concat\": [\"203.0.113.9\", {\"range\": [9, 8]}]}], " /* backwards */
	    "[{\"prefix\": {\"addr\": \"10.1.0.0\", \"len\": 24}}, "		     /* a network */
	    "{\"concat\": [\"203.0.113.9\", {\"range\": [1, 2]}]}], "
	    "[\"10.0.0.7\", \"203.0.113.7\"]" /* no ports */
	    "]}}}}}]}}]}";

	CHECK(portblock_scan_json(j, strlen(j), &s, err, sizeof err) == 0);
	CHECK_EQ_U64(s.n, 1);
	CHECK_EQ_U64(s.skipped, 3);
	CHECK_EQ_U64(s.b[0].start, 4000);
	CHECK_EQ_U64(s.b[0].end, 4000);
	CHECK_EQ_U64(portblock_num_ports(&s.b[0]), 1);
	CHECK(portblock_scan_json("[", 1, &s, err, sizeof err) == -1);
	portblock_free(&s);
}

/* Blocks of one host in two maps (two rules) come out in numeric port
 * order: 100-255 before 256-511 (bytewise on a little-endian host, 256
 * would come first). */
#define ORDER_RULE(range)                                                                          \
	"{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"expr\": [{\"snat\": "                 \
	"{\"family\": \"ip\", \"addr\": {\"map\": {\"key\": {\"payload\": {\"protocol\": \"ip\", " \
	"\"field\": \"saddr\"}}, \"data\": {\"set\": [[\"10.0.0.2\", {\"concat\": "                \
	"[\"203.0.113.2\", {\"range\": " range "}]}]]}}}}}]}}"

static void test_order(void)
{
	struct portblock_set s = {0};
	char err[128];
	const char *j =
	    "{\"nftables\": [" ORDER_RULE("[256, 511]") ", " ORDER_RULE("[100, 255]") "]}";

	CHECK(portblock_scan_json(j, strlen(j), &s, err, sizeof err) == 0);
	CHECK_EQ_U64(s.n, 2);
	CHECK_EQ_U64(s.b[0].start, 100);
	CHECK_EQ_U64(s.b[1].start, 256);
	portblock_free(&s);
}

struct events {
	char text[1024];
	size_t n;
};

static void on_event(void *ctx, const struct portblock *b, bool alloc)
{
	struct events *e = ctx;
	size_t at = strlen(e->text);

	snprintf(e->text + at, sizeof e->text - at, "%s %s %u-%u\n", alloc ? "alloc" : "free",
		 a4(b->src), b->start, b->end);
	e->n++;
}

static void test_diff(void)
{
	struct portblock_set a = {0}, b = {0}, none = {0};
	struct events e = {"", 0};

	CHECK(scan("detnat-inline.json", &a) == 0);
	CHECK(scan("detnat-named.json", &b) == 0);
	CHECK_EQ_U64(portblock_diff(&a, &b, on_event, &e), 2);
	CHECK_STR(e.text, "alloc 10.77.1.2 20000-20999\nalloc 10.77.1.3 21000-21999\n");
	memset(&e, 0, sizeof e);
	CHECK_EQ_U64(portblock_diff(&b, &none, on_event, &e), 4);
	CHECK(strncmp(e.text, "free 10.77.0.2 10000-10999\n", 27) == 0);
	memset(&e, 0, sizeof e);
	CHECK_EQ_U64(portblock_diff(&b, &b, on_event, &e), 0);
	/* a block that moves: freed, then allocated */
	b.b[0].start = 10500;
	memset(&e, 0, sizeof e);
	CHECK_EQ_U64(portblock_diff(&a, &b, on_event, &e), 4);
	CHECK(strncmp(e.text, "free 10.77.0.2 10000-10999\nalloc 10.77.0.2 10500-10999\n", 54) ==
	      0);
	portblock_free(&a);
	portblock_free(&b);
}

static struct ct_event conn(const char *src, const char *xsrc, uint16_t xsport)
{
	struct ct_event ev = {.family = AF_INET, .have = CT_HAVE_REPLY};

	inet_pton(AF_INET, src, ev.orig.src);
	inet_pton(AF_INET, "203.0.113.50", ev.orig.dst);
	inet_pton(AF_INET, "203.0.113.50", ev.reply.src);
	inet_pton(AF_INET, xsrc, ev.reply.dst);
	ev.orig.sport = 5555;
	ev.reply.dport = xsport;
	return ev;
}

static void test_inside(void)
{
	struct portblock_set s = {0};
	struct ct_event ev;

	CHECK(scan("detnat-named.json", &s) == 0);
	ev = conn("10.77.0.2", "198.18.7.1", 10000);
	CHECK(portblock_inside(&s, &ev));
	ev = conn("10.77.0.2", "198.18.7.1", 10999);
	CHECK(portblock_inside(&s, &ev));
	ev = conn("10.77.0.2", "198.18.7.1", 11000); /* 10.77.0.3's block */
	CHECK(!portblock_inside(&s, &ev));
	ev = conn("10.77.0.2", "198.18.7.2", 10500); /* another public address */
	CHECK(!portblock_inside(&s, &ev));
	ev = conn("10.77.1.3", "198.18.7.2", 21500);
	CHECK(portblock_inside(&s, &ev));
	ev = conn("10.77.9.9", "198.18.7.2", 21500); /* no block */
	CHECK(!portblock_inside(&s, &ev));
	ev.family = AF_INET6;
	CHECK(!portblock_inside(&s, &ev));
	portblock_free(&s);
}

static void test_natlog_lines(void)
{
	struct portblock b = {.start = 10000, .end = 10999};
	char line[NATLOG_LINE_MAX];

	inet_pton(AF_INET, "10.0.0.2", b.src);
	inet_pton(AF_INET, "203.0.113.1", b.xsrc);
	natlog_format_block(line, sizeof line, NATLOG_JSON, &b, true, 1796133717120ull);
	CHECK_STR(line, "{\"event\":\"block-alloc\",\"time\":\"2026-12-01T14:01:57.120Z\",\"src\":"
			"\"10.0.0.2\",\"xsrc\":\"203.0.113.1\",\"port_start\":10000,\"port_end\":"
			"10999,\"step\":1,\"ports\":1000}");
	natlog_format_block(line, sizeof line, NATLOG_TEXT, &b, false, 1796133717120ull);
	CHECK_STR(line,
		  "block-free 2026-12-01T14:01:57.120Z 10.0.0.2 203.0.113.1 10000 10999 1 1000");
}

int main(void)
{
	test_inline_and_named();
	test_inet();
	test_entries();
	test_order();
	test_diff();
	test_inside();
	test_natlog_lines();
	CHECK_DONE();
}
