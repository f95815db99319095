/* blocks: what deterministic NAT's port block logging saves. 100,000 NATed
 * connections of 1,000 hosts, each translated inside its own 100-port
 * block (10 public addresses), go through nfflowd's output (the collectors
 * and the NAT log, as the pipeline drives them) to one IPFIX collector
 * (nat_events all, a capture sink instead of a socket) and the NAT log,
 * once with nat_sessions all and once with outside-blocks. Prints, per
 * 100,000 connections, the IPFIX records by kind, the datagrams and bytes,
 * and the NAT log's lines and bytes.
 *
 *     build/tests/bench_blocks [DIR]    (DIR: where the NAT logs go; /tmp) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "config.h"
#include "flow.h"
#include "ipfix.h"
#include "output.h"
#include "portblock.h"

#define HOSTS	    1000
#define CONNS	    100000
#define BLOCK_PORTS 100
#define T0_MS	    1796133717000ull

struct count {
	struct dec_ipx d;
	size_t datagrams, bytes;
};

static void capture(void *ctx, const char *name, const uint8_t *buf, size_t len)
{
	struct count *c = ctx;

	(void)name;
	c->datagrams++;
	c->bytes += len;
	dec_ipx_message(&c->d, buf, len);
}

static size_t of_template(const struct dec_ipx *d, uint16_t id)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		n += d->recs[i].template_id == id;
	return n;
}

static void host_block(unsigned h, struct portblock *b)
{
	memset(b, 0, sizeof *b);
	b->src[0] = 10;
	b->src[2] = (uint8_t)(h / 256);
	b->src[3] = (uint8_t)(h % 256);
	b->xsrc[0] = 203;
	b->xsrc[2] = 113;
	b->xsrc[3] = (uint8_t)(1 + h / 100);
	b->start = (uint16_t)(10000 + (h % 100) * BLOCK_PORTS);
	b->end = (uint16_t)(b->start + BLOCK_PORTS - 1);
}

static int run(const char *dir, const char *sessions)
{
	static struct nf_config cfg;
	static struct output o;
	static struct count c;
	struct portblock_set set = {0};
	char text[1024], path[512], err[256];
	struct stat st;
	struct nf_now now = {.real_ns = T0_MS * 1000000ull, .mono_ns = 1};

	snprintf(path, sizeof path, "%s/blocks-%s.log", dir, sessions);
	unlink(path);
	int n = snprintf(text, sizeof text,
			 "<collector c>\naddress 127.0.0.1\nversion 10\nnat_events all\n"
			 "nat_sessions %s\n</collector>\n<natlog>\nfile %s\nnat_sessions %s\n"
			 "</natlog>\n<ptee/>\n",
			 sessions, path, sessions);
	if (config_parse(text, (size_t)n, "blocks.conf", &cfg, err, sizeof err, NULL, NULL) != 0) {
		fprintf(stderr, "blocks: %s\n", err);
		return 1;
	}
	set.b = calloc(HOSTS, sizeof *set.b);
	if (!set.b)
		return 1;
	for (unsigned h = 0; h < HOSTS; h++)
		host_block(h, &set.b[h]);
	set.n = set.cap = HOSTS;
	/* sorted already: src (the first member) grows with h */
	memset(&c, 0, sizeof c);
	dec_ipx_init(&c.d, 10);
	struct exporter_sink sink = {.fn = capture, .ctx = &c};
	struct collector_env env = {
	    .cfg = &cfg, .boot_ms = T0_MS, .capture = &sink, .blocks = &set};
	if (output_open(&o, &env, err, sizeof err) != 0) {
		fprintf(stderr, "blocks: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < set.n; i++)
		output_port_block(&o, &set.b[i], true, T0_MS, &now);
	for (unsigned i = 0; i < CONNS; i++) {
		struct portblock b;
		struct ct_event ev = {.type = CT_EV_DESTROY,
				      .family = AF_INET,
				      .have = CT_HAVE_REPLY | CT_HAVE_COUNTERS | CT_HAVE_ID,
				      .id = i + 1};
		struct flow_rec recs[FLOW_MAX_PER_CONN];
		host_block(i % HOSTS, &b);
		memcpy(ev.orig.src, b.src, 4);
		inet_pton(AF_INET, "198.51.100.7", ev.orig.dst);
		ev.orig.sport = (uint16_t)(40000 + i % 20000);
		ev.orig.dport = 443;
		ev.orig.proto = IPPROTO_TCP;
		memcpy(ev.reply.src, ev.orig.dst, 4);
		memcpy(ev.reply.dst, b.xsrc, 4);
		ev.reply.sport = 443;
		ev.reply.dport = (uint16_t)(b.start + (i / HOSTS) % BLOCK_PORTS);
		ev.reply.proto = IPPROTO_TCP;
		ev.cnt_orig = (struct ct_counters){10, 1500};
		ev.cnt_reply = (struct ct_counters){12, 9000};
		uint64_t t = T0_MS + 1000 + i;
		now.real_ns = t * 1000000ull;
		now.mono_ns = (t - T0_MS) * 1000000ull;
		output_nat_create(&o, &ev, t - 500, &now);
		size_t nr = flow_from_conn(&ev, t - 500, t, recs);
		output_conn(&o, &ev, recs, nr, false, &now);
		output_tick(&o, &now);
	}
	output_flush(&o, &now);
	output_close(&o);
	size_t lines = 0;
	FILE *f = fopen(path, "r");
	for (int ch; f && (ch = fgetc(f)) != EOF;)
		lines += ch == '\n';
	if (f)
		fclose(f);
	if (stat(path, &st) != 0)
		st.st_size = 0;
	printf("| %s | %zu | %zu | %zu | %zu | %zu | %zu | %lld |\n", sessions,
	       of_template(&c.d, IPFIX_TEMPLATE_IPV4), of_template(&c.d, IPFIX_TEMPLATE_NAT_IPV4),
	       of_template(&c.d, IPFIX_TEMPLATE_BLOCK), c.datagrams, c.bytes, lines,
	       (long long)st.st_size);
	size_t errors = c.d.errors; /* dec_ipx_free clears it */
	dec_ipx_free(&c.d);
	portblock_free(&set);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";

	printf("%d connections of %d hosts, each inside its %d-port block; IPFIX, nat_events "
	       "all\n\n",
	       CONNS, HOSTS, BLOCK_PORTS);
	printf("| nat_sessions | flow records | session events | block events | datagrams | "
	       "bytes | NAT log lines | NAT log bytes |\n|---|---|---|---|---|---|---|---|\n");
	return run(dir, "all") | run(dir, "outside-blocks");
}
