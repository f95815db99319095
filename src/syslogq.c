#include "syslogq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define HDR 2 /* the u16 length before each queued message */

static void try_connect(struct syslogq *q, uint64_t mono_ns)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", q->path);
	q->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd >= 0 && connect(q->fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
		q->backoff_ns = SYSLOGQ_BACKOFF_MIN;
		return;
	}
	q->last_errno = errno;
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->retry_ns = mono_ns + q->backoff_ns;
	q->backoff_ns =
	    q->backoff_ns * 2 > SYSLOGQ_BACKOFF_MAX ? SYSLOGQ_BACKOFF_MAX : q->backoff_ns * 2;
}

int syslogq_open(struct syslogq *q, const char *path, size_t cap)
{
	memset(q, 0, sizeof *q);
	snprintf(q->path, sizeof q->path, "%s", path);
	q->cap = cap;
	q->buf = malloc(cap);
	q->backoff_ns = SYSLOGQ_BACKOFF_MIN;
	if (!q->buf)
		return -1;
	try_connect(q, 0);
	return 0;
}

/* The queue is a ring of [u16 length][message] records. A record never
 * wraps: where the end has no room for it, a WRAP length (or fewer than HDR
 * bytes left) sends the reader back to the start. */
#define WRAP 0xffffu

static size_t len_at(const struct syslogq *q, size_t at)
{
	return (size_t)q->buf[at] << 8 | q->buf[at + 1];
}

/* Where the record at at really is (past a wrap). */
static size_t skip_wrap(const struct syslogq *q, size_t at)
{
	return q->cap - at < HDR || len_at(q, at) == WRAP ? 0 : at;
}

/* The offset at which n bytes fit contiguously, or q->cap if they do not. */
static size_t place(struct syslogq *q, size_t n)
{
	/* an empty queue has head == tail == 0 (syslogq_open, consume, lost) */
	if (q->count && q->tail <= q->head) /* the free space is between them */
		return q->head - q->tail > n ? q->tail : q->cap;
	if (q->cap - q->tail >= n)
		return q->tail;
	if (q->head <= n) /* room at the start only if the reader has moved on */
		return q->cap;
	if (q->cap - q->tail >= HDR) {
		q->buf[q->tail] = (uint8_t)(WRAP >> 8);
		q->buf[q->tail + 1] = (uint8_t)WRAP;
	}
	q->tail = 0;
	return 0;
}

bool syslogq_add(struct syslogq *q, const char *prefix, size_t plen, const char *text, size_t tlen)
{
	size_t len = plen + tlen, at;

	if (q->fd < 0 || len > SYSLOGQ_MSG_MAX || (at = place(q, HDR + len)) == q->cap) {
		q->dropped++;
		q->last_errno = q->fd < 0 ? ENOTCONN : ENOBUFS;
		return false;
	}
	q->buf[at] = (uint8_t)(len >> 8);
	q->buf[at + 1] = (uint8_t)len;
	memcpy(q->buf + at + HDR, prefix, plen);
	memcpy(q->buf + at + HDR + plen, text, tlen);
	q->tail = at + HDR + len;
	q->count++;
	return true;
}

/* Drop what waits (the daemon went away) and reconnect later. */
static void lost(struct syslogq *q, int err, uint64_t mono_ns)
{
	q->dropped += q->count;
	q->head = q->tail = q->count = 0;
	q->last_errno = err;
	close(q->fd);
	q->fd = -1;
	q->retry_ns = mono_ns + q->backoff_ns;
}

/* The next batch from the head into mh/iov; returns how many. */
static unsigned gather(const struct syslogq *q, struct mmsghdr *mh, struct iovec *iov)
{
	unsigned n = 0;
	size_t at = q->head;

	for (; n < q->count && n < SYSLOGQ_BATCH; n++) {
		at = skip_wrap(q, at);
		size_t len = len_at(q, at);
		iov[n] = (struct iovec){.iov_base = q->buf + at + HDR, .iov_len = len};
		mh[n] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[n], .msg_iovlen = 1}};
		at += HDR + len;
	}
	return n;
}

static void consume(struct syslogq *q, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		q->head = skip_wrap(q, q->head);
		q->head += HDR + len_at(q, q->head);
	}
	q->count -= n;
	if (q->count == 0)
		q->head = q->tail = 0;
}

void syslogq_send(struct syslogq *q, uint64_t mono_ns)
{
	struct mmsghdr mh[SYSLOGQ_BATCH];
	struct iovec iov[SYSLOGQ_BATCH];

	if (q->fd < 0 && mono_ns >= q->retry_ns)
		try_connect(q, mono_ns);
	while (q->fd >= 0 && q->count) {
		unsigned n = gather(q, mh, iov);
		int r = sendmmsg(q->fd, mh, n, MSG_DONTWAIT);
		if (r > 0) {
			q->sent += (unsigned)r;
			consume(q, (unsigned)r);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno == EMSGSIZE || errno == ENOBUFS) { /* this one message */
			q->dropped++;
			q->last_errno = errno;
			consume(q, 1);
			continue;
		}
		lost(q, errno, mono_ns);
	}
}

int syslogq_pollfd(const struct syslogq *q)
{
	return q->count ? q->fd : -1;
}

uint64_t syslogq_due(const struct syslogq *q)
{
	return q->fd < 0 ? q->retry_ns : UINT64_MAX;
}

size_t syslogq_waiting(const struct syslogq *q)
{
	return q->count;
}

void syslogq_close(struct syslogq *q)
{
	q->dropped += q->count;
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	free(q->buf);
	q->buf = NULL;
}
