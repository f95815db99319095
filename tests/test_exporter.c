/* The exporter against real UDP sockets on loopback: batched sends arrive in
 * order, a collector that refuses them is found down with every datagram
 * held (also those a sendmmsg(2) batch lost with the error it consumed), and
 * all of them arrive once it is back; through the v9 and IPFIX collector
 * kinds, the sequence numbers a collector receives across such an outage,
 * probes included, are gap-free (tests/decode.h checks them). No root
 * needed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"
#include "collector.h"
#include "decode.h"
#include "exporter.h"
#include "ipfix.h"
#include "nfv5.h"
#include "log.h"

#define DGRAM_LEN 200

static int receiver(uint16_t port, uint16_t *bound)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	int rcvbuf = 4 << 20, one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

/* Send one datagram of a single flow record, its counters unknown. */
static void send_one_flow(struct exporter *e, const uint8_t *buf, size_t len)
{
	static const struct exporter_carried one = {.flows = 1};

	exporter_send_flows(e, buf, len, 1, &one);
}

static void send_seq(struct exporter *e, uint32_t first, uint32_t n)
{
	uint8_t buf[DGRAM_LEN] = {0};

	for (uint32_t s = first; s < first + n; s++) {
		memcpy(buf, &s, sizeof s);
		send_one_flow(e, buf, sizeof buf);
	}
}

/* Receive until nothing came for 200 ms; seen[s] counts sequence s. */
static uint32_t receive_all(int fd, uint32_t *seen, uint32_t max, uint32_t *order_errors)
{
	uint8_t buf[2048];
	uint32_t n = 0, s, last = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (poll(&p, 1, 200) == 1) {
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r != DGRAM_LEN)
			continue;
		memcpy(&s, buf, sizeof s);
		if (s < max)
			seen[s]++;
		if (n && s <= last)
			(*order_errors)++;
		last = s;
		n++;
	}
	return n;
}

/* A receiver on an ephemeral loopback port and an exporter sending to it. */
struct fixture {
	int fd;
	uint16_t port;
	struct collector_conf c;
	struct exporter e;
};

static void setup_held(struct fixture *f, unsigned mtu, size_t hold_limit)
{
	struct sockaddr_in *a = (struct sockaddr_in *)&f->c.addr;
	char err[256];

	memset(f, 0, sizeof *f);
	f->fd = receiver(0, &f->port);
	CHECK(f->fd >= 0);
	f->c.version = 10;
	f->c.mtu = mtu;
	a->sin_family = AF_INET;
	a->sin_port = htons(f->port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->c.addrlen = sizeof *a;
	snprintf(f->c.name, sizeof f->c.name, "test");
	CHECK(exporter_open(&f->e, &f->c, NFV5_MAX_LEN, hold_limit, NULL, err, sizeof err) == 0);
}

static void setup(struct fixture *f, unsigned mtu)
{
	setup_held(f, mtu, 16u << 20);
}

/* Batches: EXPORTER_BATCH leave at once, the rest when pushed, in order. */
static void test_batches(void)
{
	uint32_t seen[100] = {0}, disorder = 0;
	struct fixture f;
	struct exporter *e = &f.e;

	setup(&f, 1400);
	int fd = f.fd;
	send_seq(e, 0, 100);
	CHECK_EQ_U64(e->st.datagrams, 100 / EXPORTER_BATCH * EXPORTER_BATCH);
	CHECK_EQ_U64(e->nbatch, 100 % EXPORTER_BATCH);
	exporter_push(e);
	CHECK_EQ_U64(e->st.datagrams, 100);
	CHECK_EQ_U64(e->st.records, 100);
	CHECK_EQ_U64(receive_all(fd, seen, 100, &disorder), 100);
	CHECK_EQ_U64(disorder, 0);
	for (int i = 0; i < 100; i++)
		CHECK_EQ_U64(seen[i], 1);
	/* What is staged at close still leaves. */
	send_seq(e, 0, 3);
	exporter_close(e);
	memset(seen, 0, sizeof seen);
	CHECK_EQ_U64(receive_all(fd, seen, 100, &disorder), 3);
	close(fd);
}

/* A collector that goes away in the middle of a batch, and comes back. */
static void test_outage(void)
{
	uint32_t seen[300] = {0}, disorder = 0;
	uint64_t t = 10 * EXPORTER_PROBE_NS;
	struct fixture f;
	struct exporter *e = &f.e;

	setup(&f, 1400);
	int fd = f.fd;
	uint16_t port = f.port;
	send_seq(e, 0, 10);
	exporter_push(e);
	CHECK_EQ_U64(receive_all(fd, seen, 300, &disorder), 10);
	close(fd); /* the port refuses from now on */

	send_seq(e, 10, 100);
	exporter_push(e);
	CHECK(exporter_state(e) != EXPORTER_UP);
	CHECK_EQ_U64(e->st.outages, 1);
	CHECK_EQ_U64(e->st.dropped, 0);
	CHECK_EQ_U64(exporter_waiting(e), 100); /* every refused datagram is held */
	size_t len;
	const uint8_t *oldest = exporter_oldest(e, &len);
	uint32_t s = 0;
	CHECK(oldest && len == DGRAM_LEN);
	if (oldest)
		memcpy(&s, oldest, sizeof s);
	CHECK_EQ_U64(s, 10);

	/* More while it is down: held behind, nothing sent. */
	send_seq(e, 110, 50);
	exporter_push(e);
	CHECK_EQ_U64(exporter_waiting(e), 150);

	fd = receiver(port, &port);
	CHECK(fd >= 0);
	for (int i = 0; i < 4 && exporter_waiting(e); i++) { /* probe, then a second later: up */
		t += EXPORTER_PROBE_NS;
		exporter_drain(e, t);
	}
	CHECK(exporter_state(e) == EXPORTER_UP);
	CHECK_EQ_U64(exporter_waiting(e), 0);
	memset(seen, 0, sizeof seen);
	disorder = 0;
	CHECK_EQ_U64(receive_all(fd, seen, 300, &disorder), 150);
	CHECK_EQ_U64(disorder, 0);
	for (int i = 10; i < 160; i++)
		CHECK_EQ_U64(seen[i], 1);
	exporter_close(e);
	close(fd);
}

/* A datagram larger than the slots (an mtu raised by a reload) still goes,
 * after what was staged before it. */
static void test_oversize(void)
{
	uint8_t big[1500] = {0}, buf[2048];
	struct fixture f;
	struct exporter *e = &f.e;

	setup(&f, 512);
	int fd = f.fd;
	send_seq(e, 0, 1);
	send_one_flow(e, big, sizeof big);
	CHECK_EQ_U64(e->st.datagrams, 2);
	CHECK(recv(fd, buf, sizeof buf, MSG_DONTWAIT) == DGRAM_LEN);
	CHECK(recv(fd, buf, sizeof buf, MSG_DONTWAIT) == (ssize_t)sizeof big);
	exporter_close(e);
	close(fd);
}

/* A collector down for long: what is held stays within hold_limit bytes,
 * the rest is dropped and counted, the oldest kept. */
static void test_hold_limit(void)
{
	struct fixture f;
	struct exporter *e = &f.e;
	size_t limit = 64 * 1024, fit = limit / DGRAM_LEN;
	uint32_t s = 0;
	size_t len;

	setup_held(&f, 1400, limit);
	close(f.fd); /* refuses from now on */
	send_seq(e, 0, 1);
	exporter_push(e);
	send_seq(e, 1, 2000);
	exporter_push(e);
	CHECK(exporter_state(e) != EXPORTER_UP);
	CHECK_EQ_U64(exporter_waiting(e), fit);
	CHECK(e->held <= limit);
	CHECK_EQ_U64(e->st.dropped, 2001 - fit);
	CHECK_EQ_U64(e->st.dropped_flows, 2001 - fit); /* a record is a flow */
	CHECK_EQ_U64(e->st.dropped_packets, 0);	       /* ... counters unknown */
	const uint8_t *oldest = exporter_oldest(e, &len);
	if (oldest)
		memcpy(&s, oldest, sizeof s);
	CHECK_EQ_U64(s, 0);
	exporter_close(e);
}

/* What dropped datagrams carried is counted: flows, packets, octets. */
static void test_drop_figures(void)
{
	struct fixture f;
	struct exporter *e = &f.e;
	size_t limit = 64 * 1024, fit = limit / DGRAM_LEN;
	uint8_t buf[DGRAM_LEN] = {0};
	const struct exporter_carried c = {.flows = 3, .packets = 10, .octets = 1000};

	setup_held(&f, 1400, limit);
	close(f.fd);
	for (size_t i = 0; i < fit + 5; i++) {
		exporter_send_flows(e, buf, sizeof buf, 4, &c);
		exporter_push(e);
	}
	CHECK(e->st.dropped > 0);
	CHECK_EQ_U64(e->st.dropped_flows, 3 * e->st.dropped);
	CHECK_EQ_U64(e->st.dropped_packets, 10 * e->st.dropped);
	CHECK_EQ_U64(e->st.dropped_octets, 1000 * e->st.dropped);
	CHECK_EQ_U64(e->st.drops, e->st.dropped);
	exporter_close(e);
}

/* ---- a v9 or IPFIX collector across an outage --------------------------- */

#define SEQ_MAX 256

/* What the collector received, as a collector decodes it. */
struct received {
	struct dec_ipx dec;	/* checks framing, templates and sequence numbers */
	uint32_t seq[SEQ_MAX];	/* the header's Sequence Number of each message */
	unsigned data[SEQ_MAX]; /* its data records */
	size_t n;
};

static void receive_msgs(int fd, struct received *r)
{
	uint8_t buf[IPFIX_MSG_MAX];
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (poll(&p, 1, 200) == 1) {
		ssize_t len = recv(fd, buf, sizeof buf, 0);
		size_t before = r->dec.n;
		if (len < 20 || r->n == SEQ_MAX)
			continue;
		dec_ipx_message(&r->dec, buf, (size_t)len);
		r->seq[r->n] = dec_u32(buf + (r->dec.version == 9 ? 12 : 8));
		r->data[r->n++] = (unsigned)(r->dec.n - before);
	}
}

/* One connection, k, ending now: a flow record of its own message. */
static void one_conn(struct collector *c, uint32_t k, const struct nf_now *t)
{
	struct ct_event ev = {.type = CT_EV_DESTROY,
			      .family = AF_INET,
			      .have = CT_HAVE_REPLY | CT_HAVE_COUNTERS | CT_HAVE_ID,
			      .id = 100 + k,
			      .cnt_orig = {1, 60},
			      .cnt_reply = {1, 60}};
	struct flow_rec rec = {.first_ms = t->real_ns / NS_PER_MS - 10,
			       .last_ms = t->real_ns / NS_PER_MS};

	ev.orig = (struct ct_tuple){.src = {10, 0, 0, 1}, .dst = {10, 0, 0, 2}, .proto = 17};
	ev.orig.sport = (uint16_t)(1000 + k);
	ev.orig.dport = 53;
	ev.reply = (struct ct_tuple){.src = {10, 0, 0, 2}, .dst = {10, 0, 0, 1}, .proto = 17};
	ev.reply.sport = 53;
	ev.reply.dport = ev.orig.sport;
	c->ops->conn(c, &ev, &rec, false, t);
	c->ops->flush(c, t);
}

/* A second later: the collector's tick (probes) and a flush. */
static void next_second(struct collector *c, struct nf_now *t)
{
	t->real_ns += EXPORTER_PROBE_NS + NS_PER_MS;
	t->mono_ns += EXPORTER_PROBE_NS + NS_PER_MS;
	c->ops->tick(c, t);
	c->ops->flush(c, t);
}

/* A stream of messages, one record each, to a collector that goes away in
 * the middle (ICMP port unreachable) and comes back: what it receives,
 * probes included, decodes with no sequence error. v9 (RFC 3954 §5.1, the
 * export packets sent): the numbers go up by exactly one from message to
 * message, the probes' too: neither the refused messages held again nor the
 * refused probes leave a gap. IPFIX (RFC 7011 §3.1, the data records sent
 * before): each message's number is the records before it, and a
 * templates-only probe repeats the number of the message after it. */
static void test_outage_sequence(int version)
{
	struct nf_config cfg;
	struct collector_conf conf = {.version = version, .refresh_s = 60, .refresh_pkts = 20};
	struct collector_env env = {.cfg = &cfg, .boot_ms = 1700000000000ull - 3600000};
	struct nf_now t = {.real_ns = 1700000000000ull * NS_PER_MS, .mono_ns = 50 * NS_PER_S};
	struct sockaddr_in *a = (struct sockaddr_in *)&conf.addr;
	struct collector c = {.ops = version == 9 ? &collector_v9_ops : &collector_ipfix_ops};
	struct received r;
	uint32_t k = 0;
	uint16_t port = 0;
	char err[256];
	int fd = receiver(0, &port);

	config_defaults(&cfg);
	dec_ipx_init(&r.dec, version);
	r.n = 0;
	snprintf(conf.name, sizeof conf.name, "v%d", version);
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	conf.addrlen = sizeof *a;
	if (fd < 0 || c.ops->open(&c, &conf, &env, err, sizeof err) != 0) {
		CHECK(0);
		return;
	}
	for (; k < 5; k++)
		one_conn(&c, k, &t);
	receive_msgs(fd, &r);
	close(fd); /* refused from now on */
	for (; k < 10; k++) {
		one_conn(&c, k, &t);
		next_second(&c, &t); /* probes, refused */
	}
	struct collector_udp *u = c.impl;
	CHECK(exporter_state(&u->ex) != EXPORTER_UP);
	CHECK(u->ex.st.outages == 1);
	CHECK(exporter_waiting(&u->ex) >= 5);
	fd = receiver(port, &port);
	CHECK(fd >= 0);
	for (int i = 0; i < 4; i++) /* a probe, a second without an error: up */
		next_second(&c, &t);
	CHECK(exporter_state(&u->ex) == EXPORTER_UP);
	CHECK_EQ_U64(exporter_waiting(&u->ex), 0);
	for (; k < 13; k++)
		one_conn(&c, k, &t);
	receive_msgs(fd, &r);

	CHECK_EQ_U64(r.dec.errors, 0);
	CHECK_EQ_U64(r.dec.n, 13); /* every record, once */
	size_t probes = 0, records = 0;
	for (size_t i = 0; i < r.n; i++) {
		uint32_t want = version == 9 ? (uint32_t)i : (uint32_t)records;
		if (r.seq[i] != want)
			fprintf(stderr, "v%d message %zu: sequence %u, expected %u\n", version, i,
				r.seq[i], want);
		CHECK_EQ_U64(r.seq[i], want);
		probes += r.data[i] == 0;
		records += r.data[i];
	}
	CHECK(probes >= 1); /* the probe that found it back */
	CHECK_EQ_U64(r.n, 13 + probes);
	c.ops->close(&c);
	close(fd);
	dec_ipx_free(&r.dec);
}

int main(void)
{
	log_init("test_exporter", LOG_USER, true);
	test_batches();
	test_outage();
	test_oversize();
	test_hold_limit();
	test_drop_figures();
	test_outage_sequence(9);
	test_outage_sequence(10);
	CHECK_DONE();
}
