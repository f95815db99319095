#include "exporter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static void name_of(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
		port = ntohs(s->sin_port);
		snprintf(buf, len, "%s:%u", host, port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
		port = ntohs(s->sin6_port);
		snprintf(buf, len, "[%s]:%u", host, port);
	}
}

static int fail(struct exporter *e, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "collector %s: %s: %s", e->name, what, strerror(errno));
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	return -1;
}

int exporter_open(struct exporter *e, const struct collector_conf *c, char *err, size_t errlen)
{
	int sndbuf = 4 << 20;

	memset(e, 0, sizeof *e);
	e->conf = c;
	name_of(&c->addr, e->name, sizeof e->name);
	e->fd = socket(c->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		return fail(e, err, errlen, "socket");
	if (c->sourcelen && bind(e->fd, (const struct sockaddr *)&c->source, c->sourcelen) != 0)
		return fail(e, err, errlen, "cannot bind to the source address");
	if (connect(e->fd, (const struct sockaddr *)&c->addr, c->addrlen) != 0)
		return fail(e, err, errlen, "connect");
	setsockopt(e->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	e->queue = calloc(EXPORTER_QUEUE, sizeof *e->queue);
	if (!e->queue)
		return fail(e, err, errlen, "queue");
	return 0;
}

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Log an error the first time, then at most once a minute per kind. */
static void note_error(struct exporter *e, int err)
{
	uint64_t now = now_s();

	e->st.errors++;
	if (err == e->last_errno && now < e->last_log_s + 60)
		return;
	e->last_errno = err;
	e->last_log_s = now;
	errno = err;
	log_warn("collector %s: send failed (%" PRIu64 " errors so far; repeats within a "
		 "minute are only counted)",
		 e->name, e->st.errors);
}

/* 1: sent, 0: no room now, -1: failed. ECONNREFUSED reports an ICMP error
 * caused by an earlier datagram; this one was not sent, so send it again. */
static int try_send(struct exporter *e, const uint8_t *buf, size_t len, unsigned nrecords)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (send(e->fd, buf, len, 0) == (ssize_t)len) {
			e->st.datagrams++;
			e->st.records += nrecords;
			e->came_back |= e->failing;
			e->failing = false;
			return 1;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return 0;
		e->failing = true;
		note_error(e, errno);
		if (errno != ECONNREFUSED)
			break;
	}
	return -1;
}

static void enqueue(struct exporter *e, const uint8_t *buf, size_t len, unsigned nrecords)
{
	uint8_t *copy = e->qlen < EXPORTER_QUEUE && len <= UINT16_MAX ? malloc(len) : NULL;

	if (!copy) {
		e->st.dropped++;
		return;
	}
	memcpy(copy, buf, len);
	struct exporter_dgram *d = &e->queue[(e->qhead + e->qlen++) % EXPORTER_QUEUE];
	*d = (struct exporter_dgram){
	    .len = (uint16_t)len, .records = (uint16_t)nrecords, .data = copy};
	e->st.queued++;
}

size_t exporter_drain(struct exporter *e)
{
	while (e->qlen > 0) {
		struct exporter_dgram *d = &e->queue[e->qhead];
		int r = try_send(e, d->data, d->len, d->records);
		if (r == 0)
			break;
		if (r < 0)
			e->st.dropped++;
		free(d->data);
		e->qhead = (e->qhead + 1) % EXPORTER_QUEUE;
		e->qlen--;
	}
	return e->qlen;
}

void exporter_send(struct exporter *e, const uint8_t *buf, size_t len, unsigned nrecords)
{
	if (exporter_drain(e) == 0) {
		int r = try_send(e, buf, len, nrecords);
		if (r > 0)
			return;
		if (r < 0) {
			e->st.dropped++;
			return;
		}
	}
	enqueue(e, buf, len, nrecords);
}

void exporter_close(struct exporter *e)
{
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	for (; e->queue && e->qlen > 0; e->qlen--) {
		free(e->queue[e->qhead].data);
		e->qhead = (e->qhead + 1) % EXPORTER_QUEUE;
	}
	free(e->queue);
	e->queue = NULL;
}
