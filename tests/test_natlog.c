/* natlog: the NAT log's lines, JSON and text, byte for byte; which
 * connections it takes; the time format. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "natlog.h"

/* A masqueraded TCP connection: 10.0.0.2:51234 -> 198.51.100.7:443, seen
 * from outside as 203.0.113.1:40001. */
static struct ct_event snat_tcp(void)
{
	struct ct_event ev = {.type = CT_EV_DESTROY, .family = AF_INET, .have = CT_HAVE_REPLY};

	inet_pton(AF_INET, "10.0.0.2", ev.orig.src);
	inet_pton(AF_INET, "198.51.100.7", ev.orig.dst);
	ev.orig.sport = 51234;
	ev.orig.dport = 443;
	ev.orig.proto = IPPROTO_TCP;
	inet_pton(AF_INET, "198.51.100.7", ev.reply.src);
	inet_pton(AF_INET, "203.0.113.1", ev.reply.dst);
	ev.reply.sport = 443;
	ev.reply.dport = 40001;
	ev.reply.proto = IPPROTO_TCP;
	ev.cnt_orig = (struct ct_counters){12, 1830};
	ev.cnt_reply = (struct ct_counters){10, 9001};
	return ev;
}

#define T_START 1796133717120ull /* 2026-12-01T14:01:57.120Z */
#define T_END	1796133729004ull /* 2026-12-01T14:02:09.004Z */

static void test_time(void)
{
	char buf[NATLOG_TIME_LEN + 1];

	natlog_time(buf, 0);
	CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
	natlog_time(buf, T_START);
	CHECK_STR(buf, "2026-12-01T14:01:57.120Z");
	natlog_time(buf, T_END);
	CHECK_STR(buf, "2026-12-01T14:02:09.004Z");
	natlog_time(buf, 253402300799999ull); /* the last ms of 9999 */
	CHECK_STR(buf, "9999-12-31T23:59:59.999Z");
}

static void test_json(void)
{
	struct ct_event ev = snat_tcp();
	char line[NATLOG_LINE_MAX];
	size_t n = natlog_format_conn(line, sizeof line, NATLOG_JSON, &ev, T_START, T_END, false);

	CHECK_STR(line, "{\"event\":\"end\",\"start\":\"2026-12-01T14:01:57.120Z\",\"end\":\"2026-"
			"12-01T14:02:09.004Z\",\"proto\":\"tcp\",\"src\":\"10.0.0.2\",\"sport\":"
			"51234,\"dst\":\"198.51.100.7\",\"dport\":443,\"xsrc\":\"203.0.113.1\","
			"\"xsport\":40001,\"xdst\":\"198.51.100.7\",\"xdport\":443,\"packets\":12,"
			"\"bytes\":1830,\"rpackets\":10,\"rbytes\":9001,\"zone\":0}");
	CHECK_EQ_U64(n, strlen(line));
	/* too small a buffer: nothing */
	CHECK_EQ_U64(natlog_format_conn(line, 40, NATLOG_JSON, &ev, T_START, T_END, false), 0);
}

static void test_text(void)
{
	struct ct_event ev = snat_tcp();
	char line[NATLOG_LINE_MAX];

	ev.orig_zone = 7;
	ev.orig.proto = 47; /* gre, by name */
	natlog_format_conn(line, sizeof line, NATLOG_TEXT, &ev, T_START, T_END, true);
	CHECK_STR(line, "interim 2026-12-01T14:01:57.120Z 2026-12-01T14:02:09.004Z gre 10.0.0.2 "
			"51234 198.51.100.7 443 203.0.113.1 40001 198.51.100.7 443 12 1830 10 "
			"9001 7");
	ev.orig.proto = 200; /* no name: the number */
	natlog_format_conn(line, sizeof line, NATLOG_TEXT, &ev, T_START, T_END, false);
	const char *want = "end 2026-12-01T14:01:57.120Z 2026-12-01T14:02:09.004Z 200 10.0.0.2 ";
	CHECK(strncmp(line, want, strlen(want)) == 0);
}

/* The longest line: two IPv6 tuples, counters of 20 digits, fits. */
static void test_longest(void)
{
	struct ct_event ev = snat_tcp();
	char line[NATLOG_LINE_MAX];

	ev.family = AF_INET6;
	memset(ev.orig.src, 0xff, 16);
	memset(ev.orig.dst, 0xff, 16);
	memset(ev.reply.src, 0xff, 16);
	memset(ev.reply.dst, 0xfe, 16);
	ev.orig.sport = ev.orig.dport = ev.reply.sport = ev.reply.dport = 65535;
	ev.cnt_orig = ev.cnt_reply = (struct ct_counters){UINT64_MAX, UINT64_MAX};
	ev.orig_zone = 65535;
	ev.orig.proto = 136;
	CHECK(natlog_format_conn(line, sizeof line, NATLOG_JSON, &ev, T_START, T_END, true) > 300);
	CHECK(strstr(line, "\"xsrc\":\"fefe:fefe:fefe:fefe:fefe:fefe:fefe:fefe\"") != NULL);
	CHECK(strstr(line, "\"rbytes\":18446744073709551615,\"zone\":65535}") != NULL);
}

static void test_wants(void)
{
	struct natlog_conf c = {.enabled = true};
	struct ct_event ev = snat_tcp();

	CHECK(natlog_wants(&c, &ev));
	/* without NAT: the reply is the inverse of the original */
	memcpy(ev.reply.dst, ev.orig.src, 16);
	ev.reply.dport = ev.orig.sport;
	CHECK(!natlog_wants(&c, &ev));
	c.all = true;
	CHECK(natlog_wants(&c, &ev));
}

int main(void)
{
	test_time();
	test_json();
	test_text();
	test_longest();
	test_wants();
	CHECK_DONE();
}
