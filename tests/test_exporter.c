/* The exporter against real UDP sockets on loopback: batched sends arrive in
 * order, a collector that refuses them is found down with every datagram
 * held (also those a sendmmsg(2) batch lost with the error it consumed), and
 * all of them arrive once it is back. No root needed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"
#include "exporter.h"
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

static void send_seq(struct exporter *e, uint32_t first, uint32_t n)
{
	uint8_t buf[DGRAM_LEN] = {0};

	for (uint32_t s = first; s < first + n; s++) {
		memcpy(buf, &s, sizeof s);
		exporter_send(e, buf, sizeof buf, 1);
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
	exporter_send(e, big, sizeof big, 1);
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
	const uint8_t *oldest = exporter_oldest(e, &len);
	if (oldest)
		memcpy(&s, oldest, sizeof s);
	CHECK_EQ_U64(s, 0);
	exporter_close(e);
}

int main(void)
{
	log_init("test_exporter", LOG_USER, true);
	test_batches();
	test_outage();
	test_oversize();
	test_hold_limit();
	CHECK_DONE();
}
