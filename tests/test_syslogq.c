/* syslogq against a real Unix datagram socket standing in for the syslog
 * daemon: messages arrive in order and whole; a daemon that does not read
 * leaves them queued (never blocking) until it does; a full queue drops and
 * counts; a daemon that goes away is reconnected after the back-off. No
 * root needed. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "syslogq.h"

static char path[108];

/* The stand-in daemon: a bound Unix datagram socket. */
static int daemon_up(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	unlink(path);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		perror("daemon socket");
		exit(1);
	}
	return fd;
}

/* Read every message waiting; check each is "<6>x: N" for N in order from
 * *next. Returns how many. */
static size_t daemon_read(int fd, unsigned *next)
{
	char buf[SYSLOGQ_MSG_MAX + 1], want[64];
	size_t n = 0;
	ssize_t r;

	while ((r = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT)) > 0) {
		buf[r] = '\0';
		snprintf(want, sizeof want, "<6>x: %u", (*next)++);
		CHECK_STR(buf, want);
		n++;
	}
	return n;
}

static void add_n(struct syslogq *q, unsigned from, unsigned n)
{
	char text[32];

	for (unsigned i = from; i < from + n; i++) {
		int len = snprintf(text, sizeof text, "%u", i);
		syslogq_add(q, "<6>x: ", 6, text, (size_t)len);
	}
}

/* A daemon that reads slowly: nothing blocks, nothing is lost. */
static void test_slow_daemon(void)
{
	struct syslogq q;
	int d = daemon_up();
	unsigned next = 0;
	size_t got = 0;

	CHECK(syslogq_open(&q, path, 1 << 20) == 0);
	add_n(&q, 0, 5000);
	for (int round = 0; round < 10000 && got < 5000; round++) {
		syslogq_send(&q, 0); /* returns at once when the socket is full */
		struct pollfd p = {.fd = syslogq_pollfd(&q), .events = POLLOUT};
		if (p.fd >= 0)
			CHECK(poll(&p, 1, 0) >= 0);
		got += daemon_read(d, &next);
	}
	CHECK_EQ_U64(got, 5000);
	CHECK_EQ_U64(q.sent, 5000);
	CHECK_EQ_U64(q.dropped, 0);
	CHECK_EQ_U64(syslogq_waiting(&q), 0);
	CHECK(syslogq_pollfd(&q) < 0);
	syslogq_close(&q);
	close(d);
}

/* A daemon that does not read at all: the queue fills, the rest is
 * dropped and counted. */
static void test_full_queue(void)
{
	struct syslogq q;
	int d = daemon_up();
	unsigned next = 0;

	CHECK(syslogq_open(&q, path, 1000) == 0); /* about 100 messages of 10 bytes */
	add_n(&q, 0, 1000);
	syslogq_send(&q, 0);
	CHECK(q.dropped > 0);
	CHECK(q.sent + syslogq_waiting(&q) + q.dropped == 1000);
	CHECK(syslogq_pollfd(&q) >= 0); /* waiting for room */
	size_t queued = q.sent + syslogq_waiting(&q);
	size_t got = 0;
	for (int round = 0; round < 1000 && got < queued; round++) {
		got += daemon_read(d, &next);
		syslogq_send(&q, 0);
	}
	CHECK_EQ_U64(got, queued); /* what was queued arrives, in order */
	syslogq_close(&q);
	close(d);
}

/* No daemon: dropped and counted, no connect per message; back after the
 * back-off. */
static void test_no_daemon(void)
{
	struct syslogq q;
	unsigned next = 0;

	unlink(path);
	CHECK(syslogq_open(&q, path, 1 << 16) == 0);
	CHECK(syslogq_pollfd(&q) < 0);
	CHECK_EQ_U64(syslogq_due(&q), SYSLOGQ_BACKOFF_MIN);
	add_n(&q, 0, 10);
	CHECK_EQ_U64(q.dropped, 10);
	CHECK_EQ_U64(q.last_errno, ENOTCONN);
	int d = daemon_up();
	syslogq_send(&q, SYSLOGQ_BACKOFF_MIN - 1); /* not due yet */
	add_n(&q, 10, 1);
	CHECK_EQ_U64(q.dropped, 11);
	syslogq_send(&q, SYSLOGQ_BACKOFF_MIN); /* due: connects */
	add_n(&q, 0, 3);
	syslogq_send(&q, SYSLOGQ_BACKOFF_MIN);
	CHECK_EQ_U64(daemon_read(d, &next), 3);
	/* The daemon goes away: what waits is dropped, reconnect later. */
	close(d);
	unlink(path);
	add_n(&q, 3, 2);
	syslogq_send(&q, 2 * SYSLOGQ_BACKOFF_MIN);
	CHECK(q.fd < 0);
	CHECK_EQ_U64(q.dropped, 13);
	CHECK(syslogq_due(&q) > 2 * SYSLOGQ_BACKOFF_MIN);
	syslogq_close(&q);
}

/* A small queue used round and round: messages of many lengths wrap at its
 * end and still arrive whole and in order, none dropped while there is
 * room. */
static void test_wrap(void)
{
	struct syslogq q;
	int d = daemon_up();
	unsigned next = 0, sent = 0;
	char text[64];

	CHECK(syslogq_open(&q, path, 200) == 0);
	for (unsigned round = 0; round < 2000; round++) {
		for (unsigned k = 0; k < 1 + round % 3; k++) {
			int len = snprintf(text, sizeof text, "%u%.*s", sent, (int)(round % 17),
					   "-----------------");
			(void)len;
			CHECK(syslogq_add(&q, "<6>x: ", 6, text, strlen(text)));
			sent++;
		}
		syslogq_send(&q, 0);
		char buf[128], want[128];
		ssize_t r;
		while ((r = recv(d, buf, sizeof buf - 1, MSG_DONTWAIT)) > 0) {
			buf[r] = '\0';
			snprintf(want, sizeof want, "<6>x: %u", next++);
			CHECK(strncmp(buf, want, strlen(want)) == 0 &&
			      (buf[strlen(want)] == '-' || buf[strlen(want)] == '\0'));
		}
	}
	CHECK_EQ_U64(next, sent);
	CHECK_EQ_U64(q.dropped, 0);
	syslogq_close(&q);
	close(d);
}

/* A message longer than SYSLOGQ_MSG_MAX is refused, not truncated. */
static void test_too_long(void)
{
	struct syslogq q;
	int d = daemon_up();
	char big[SYSLOGQ_MSG_MAX];

	memset(big, 'a', sizeof big);
	CHECK(syslogq_open(&q, path, 1 << 16) == 0);
	CHECK(!syslogq_add(&q, "<6>x: ", 6, big, sizeof big));
	CHECK_EQ_U64(q.dropped, 1);
	syslogq_close(&q);
	close(d);
}

int main(void)
{
	snprintf(path, sizeof path, "/tmp/nfflowd-syslogq-%d.sock", (int)getpid());
	test_slow_daemon();
	test_full_queue();
	test_no_daemon();
	test_wrap();
	test_too_long();
	unlink(path);
	CHECK_DONE();
}
