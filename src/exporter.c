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
#include "wbuf.h"

#define SEQ_LEN	 4 /* a 32-bit sequence number */
#define HEAD_MAX (EXPORTER_SEQ_AT_MAX + SEQ_LEN)

/* The iovecs of what is sent for one datagram. */
struct frame {
	struct iovec iov[2];
	uint8_t head[HEAD_MAX]; /* numbered: a copy of the datagram's first bytes */
};

static void name_of(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%u", host, ntohs(s->sin_port));
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof host);
		snprintf(buf, len, "[%s]:%u", host, ntohs(s->sin6_port));
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

static int alloc_queues(struct exporter *e, char *err, size_t errlen)
{
	e->qcap = e->hold_limit / EXPORTER_SLOT_BYTES + 1;
	e->queue = calloc(e->qcap, sizeof *e->queue);
	e->arena = malloc(EXPORTER_BATCH * e->slot_len);
	if (e->queue && e->arena)
		return 0;
	free(e->queue);
	free(e->arena);
	e->queue = NULL;
	e->arena = NULL;
	return fail(e, err, errlen, "queue");
}

int exporter_open(struct exporter *e, const struct collector_conf *c, size_t slot_len,
		  size_t hold_limit, const struct exporter_sink *capture, char *err, size_t errlen)
{
	int sndbuf = 4 << 20;

	memset(e, 0, sizeof *e);
	e->conf = c;
	e->fd = -1;
	e->slot_len = slot_len;
	e->hold_limit = hold_limit;
	name_of(&c->addr, e->name, sizeof e->name);
	if (capture && capture->fn) {
		e->capture = *capture;
		return alloc_queues(e, err, errlen);
	}
	e->fd = socket(c->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0)
		return fail(e, err, errlen, "socket");
	if (c->sourcelen && bind(e->fd, (const struct sockaddr *)&c->source, c->sourcelen) != 0)
		return fail(e, err, errlen, "cannot bind to the source address");
	if (connect(e->fd, (const struct sockaddr *)&c->addr, c->addrlen) != 0)
		return fail(e, err, errlen, "connect");
	setsockopt(e->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	return alloc_queues(e, err, errlen);
}

void exporter_number(struct exporter *e, size_t seq_at)
{
	e->numbered = seq_at <= EXPORTER_SEQ_AT_MAX;
	e->seq_at = seq_at;
}

/* Frame d for sending as number seq: d as it is, or, numbered, a copy of
 * its head with seq written at seq_at (through the wbuf writer) followed by
 * the rest of d. Returns the number of iovecs (1 or 2). */
static size_t frame(const struct exporter *e, const struct exporter_dgram *d, uint32_t seq,
		    struct frame *f)
{
	size_t hlen = e->seq_at + SEQ_LEN;
	struct wbuf w;

	if (!e->numbered || d->len < hlen) {
		f->iov[0] = (struct iovec){.iov_base = d->data, .iov_len = d->len};
		return 1;
	}
	wbuf_init(&w, f->head, hlen);
	wbuf_put_bytes(&w, d->data, e->seq_at);
	wbuf_put_u32(&w, seq);
	f->iov[0] = (struct iovec){.iov_base = f->head, .iov_len = hlen};
	f->iov[1] = (struct iovec){.iov_base = d->data + hlen, .iov_len = d->len - hlen};
	return 2;
}

/* Send d alone with the next number; true if the kernel took it whole (the
 * number is then used). */
static bool send_one(struct exporter *e, const struct exporter_dgram *d)
{
	struct frame f;
	struct msghdr mh = {.msg_iov = f.iov};

	mh.msg_iovlen = frame(e, d, e->next_seq, &f);
	if (sendmsg(e->fd, &mh, 0) != (ssize_t)d->len)
		return false;
	e->next_seq++;
	return true;
}

/* A datagram that took a number was refused: the number goes back. Numbers
 * go back newest first: a datagram held again is the last one sent (or the
 * one before it, given back right after). */
static void give_back(struct exporter *e)
{
	e->next_seq--;
}

/* The probe in flight was refused (an ICMP error answered it). */
static void probe_refused(struct exporter *e)
{
	if (e->probe_numbered)
		give_back(e);
	e->probe_numbered = false;
}

enum exporter_state exporter_state(const struct exporter *e)
{
	return e->state;
}

bool exporter_take_comeback(struct exporter *e)
{
	bool back = e->came_back;

	e->came_back = false;
	return back;
}

size_t exporter_waiting(const struct exporter *e)
{
	return e->qlen;
}

uint64_t exporter_due(const struct exporter *e)
{
	return e->state == EXPORTER_UP ? UINT64_MAX : e->probe_ns + EXPORTER_PROBE_NS;
}

int exporter_pollfd(const struct exporter *e)
{
	return e->qlen && e->state == EXPORTER_UP ? e->fd : -1;
}

int exporter_local(const struct exporter *e, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof *ss;

	return e->fd >= 0 ? getsockname(e->fd, (struct sockaddr *)ss, &len) : -1;
}

bool exporter_has_probe(const struct exporter *e)
{
	return e->probe_msg != NULL;
}

size_t exporter_format_stats(const struct exporter *e, char *buf, size_t len)
{
	int n =
	    snprintf(buf, len,
		     "collector %s: datagrams %" PRIu64 " records %" PRIu64 " send-errors %" PRIu64
		     " dropped %" PRIu64 " queued %" PRIu64 " version %d name %s outages %" PRIu64
		     " resent %" PRIu64 " waiting %zu%s\n",
		     e->name, e->st.datagrams, e->st.records, e->st.errors, e->st.dropped,
		     e->st.queued, e->conf->version, e->conf->name, e->st.outages, e->st.resent,
		     e->qlen, e->state != EXPORTER_UP ? " down" : "");

	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
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
	log_warn("collector %s: %" PRIu64 " datagrams lost so far (repeats within a minute are "
		 "only counted); holding records until it takes them again",
		 e->name, e->st.errors);
}

/* Errors that say the collector cannot take datagrams now. */
static bool unreachable(int err)
{
	return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH ||
	       err == EHOSTDOWN || err == ENETDOWN;
}

static void hold_first(struct exporter *e, struct exporter_dgram *d);

/* The error answers the last datagram sent (or the probe in flight): hold
 * it again, first in line. */
static void go_down(struct exporter *e, int err)
{
	note_error(e, err);
	if (e->state == EXPORTER_UP)
		e->st.outages++;
	if (e->state == EXPORTER_PROBING)
		probe_refused(e);
	e->state = EXPORTER_DOWN;
	if (e->last.data) {
		hold_first(e, &e->last);
		give_back(e);
		e->st.resent++;
	}
}

/* Keep a copy of the datagram just sent, in case an error answers it. */
static void remember_sent(struct exporter *e, const struct exporter_dgram *d)
{
	uint8_t *copy = realloc(e->last.data, d->len);

	if (!copy)
		return;
	memcpy(copy, d->data, d->len);
	e->last = *d;
	e->last.data = copy;
}

enum sent { SENT, WAIT, REFUSED };

/* What a send that failed with err means: WAIT (no room now, or the
 * collector is down: keep it) or REFUSED (an error no retry can mend: drop
 * it). An ICMP error reported here was caused by an earlier datagram. */
static enum sent failure(struct exporter *e, int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
		return WAIT;
	if (unreachable(err)) {
		go_down(e, err);
		return WAIT;
	}
	note_error(e, err);
	return REFUSED;
}

/* d is dropped: counted with what it carried. */
static void count_drop(struct exporter *e, const struct exporter_dgram *d)
{
	e->st.dropped++;
	e->st.drops++;
	e->st.dropped_flows += d->flows;
	e->st.dropped_packets += d->packets;
	e->st.dropped_octets += d->octets;
}

static void count_sent(struct exporter *e, const struct exporter_dgram *d)
{
	e->st.datagrams++;
	e->st.records += d->records;
}

/* SENT, or what failure() makes of the error; this datagram was not sent. */
static enum sent try_send(struct exporter *e, const struct exporter_dgram *d)
{
	if (send_one(e, d)) {
		count_sent(e, d);
		remember_sent(e, d);
		return SENT;
	}
	return failure(e, errno);
}

static struct exporter_dgram *slot(struct exporter *e, size_t i)
{
	return &e->queue[(e->qhead + i) % e->qcap];
}

/* True if a datagram of len bytes fits in what may be held. */
static bool room(const struct exporter *e, size_t len)
{
	return e->qlen < e->qcap && e->held + len <= e->hold_limit;
}

/* A datagram dropped because hold_limit is reached: counted, and logged the
 * first time and then at most once a minute. */
static void drop_held(struct exporter *e, const struct exporter_dgram *d)
{
	uint64_t now = now_s();

	count_drop(e, d);
	if (e->drop_log_s && now < e->drop_log_s + 60)
		return;
	e->drop_log_s = now;
	log_warnx("collector %s: %zu bytes held for it (hold_limit): %" PRIu64
		  " datagrams dropped so far",
		  e->name, e->held, e->st.dropped);
}

static void enqueue(struct exporter *e, const struct exporter_dgram *dg)
{
	uint8_t *copy = room(e, dg->len) ? malloc(dg->len) : NULL;

	if (!copy) {
		drop_held(e, dg);
		return;
	}
	memcpy(copy, dg->data, dg->len);
	struct exporter_dgram *d = slot(e, e->qlen);
	*d = *dg;
	d->data = copy;
	e->qlen++;
	e->held += dg->len;
	e->st.queued++;
}

/* Put d (taking its buffer) ahead of everything held. */
static void hold_first(struct exporter *e, struct exporter_dgram *d)
{
	if (!room(e, d->len)) {
		free(d->data);
		drop_held(e, d);
	} else {
		e->qhead = (e->qhead + e->qcap - 1) % e->qcap;
		*slot(e, 0) = *d;
		e->qlen++;
		e->held += d->len;
		e->st.queued++;
	}
	*d = (struct exporter_dgram){0};
}

static void pop(struct exporter *e)
{
	e->held -= slot(e, 0)->len;
	free(slot(e, 0)->data);
	e->qhead = (e->qhead + 1) % e->qcap;
	e->qlen--;
}

/* A collector that is down: a probe answered by no error within a second was
 * delivered, and the collector is up again; else probe again. */
static void probe(struct exporter *e, uint64_t mono_ns)
{
	int err = 0;
	socklen_t elen = sizeof err;

	if (mono_ns < e->probe_ns + EXPORTER_PROBE_NS)
		return;
	getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &elen); /* reads and clears it */
	if (e->state == EXPORTER_PROBING && err == 0) {
		if (!e->probe_msg)
			pop(e);		   /* the probe was the oldest datagram: it arrived */
		e->probe_numbered = false; /* it keeps its number */
		exporter_set_probe(e, NULL, 0);
		e->state = EXPORTER_UP;
		e->came_back = true;
		log_info("collector %s takes datagrams again; sending the %zu held", e->name,
			 e->qlen);
		return;
	}
	if (err)
		note_error(e, err);
	if (e->state == EXPORTER_PROBING)
		probe_refused(e); /* the error answered it */
	if (e->qlen == 0)
		return;
	struct exporter_dgram d = *slot(e, 0);
	if (e->probe_msg)
		d = (struct exporter_dgram){.len = (uint16_t)e->probe_len, .data = e->probe_msg};
	bool sent = send_one(e, &d);
	e->state = sent ? EXPORTER_PROBING : EXPORTER_DOWN;
	e->probe_numbered = sent && e->numbered;
	e->probe_ns = mono_ns;
	if (sent)
		e->st.datagrams++;
}

/* Send what waits, oldest first, until the socket is full or the collector
 * is found down. */
static void flush_queue(struct exporter *e)
{
	while (e->qlen > 0 && e->state == EXPORTER_UP) {
		enum sent r = try_send(e, slot(e, 0));
		if (r == WAIT)
			break;
		if (r == REFUSED)
			count_drop(e, slot(e, 0));
		pop(e);
	}
}

/* sendmmsg stopped before staged datagram i and the reason is lost (it
 * consumes a pending error). Send i alone to learn it. If that works, what
 * stopped it was an ICMP error for an earlier datagram: the collector refuses
 * them, so hold the last two sent again. Returns the datagrams done with. */
static size_t learn_stop(struct exporter *e, size_t i)
{
	struct exporter_dgram *d = &e->batch[i];
	enum sent r = try_send(e, d);

	if (r == WAIT)
		return 0;
	if (r == REFUSED) {
		count_drop(e, d);
		return 1;
	}
	go_down(e, ECONNREFUSED); /* holds d again */
	uint8_t *copy = malloc(d[-1].len);
	give_back(e); /* d[-1] was refused too, even if it cannot be held */
	if (copy) {
		memcpy(copy, d[-1].data, d[-1].len);
		struct exporter_dgram again = d[-1];
		again.data = copy;
		hold_first(e, &again);
		e->st.resent++;
	}
	return 1;
}

/* What one sendmmsg(2) hands to the kernel. */
struct staged_frames {
	struct mmsghdr mh[EXPORTER_BATCH];
	struct frame f[EXPORTER_BATCH];
};

/* Frame the staged datagrams from i on, numbered from the next number. */
static void frame_staged(struct exporter *e, struct staged_frames *sf, size_t i)
{
	for (size_t k = i; k < e->nbatch; k++) {
		size_t n = frame(e, &e->batch[k], e->next_seq + (uint32_t)(k - i), &sf->f[k]);
		sf->mh[k] = (struct mmsghdr){.msg_hdr = {.msg_iov = sf->f[k].iov, .msg_iovlen = n}};
	}
}

/* Send staged datagrams from i on; returns where it had to stop. */
static size_t send_staged(struct exporter *e, struct staged_frames *sf, size_t i)
{
	while (i < e->nbatch && e->state == EXPORTER_UP) {
		frame_staged(e, sf, i);
		int r = sendmmsg(e->fd, sf->mh + i, (unsigned)(e->nbatch - i), 0);
		if (r <= 0) {
			if (r == 0 || failure(e, errno) == WAIT)
				return i;
			count_drop(e, &e->batch[i]);
			i++;
			continue;
		}
		for (int k = 0; k < r; k++)
			count_sent(e, &e->batch[i + (size_t)k]);
		e->next_seq += (uint32_t)r;
		i += (size_t)r;
		remember_sent(e, &e->batch[i - 1]);
		if (i < e->nbatch) {
			size_t done = learn_stop(e, i);
			if (done == 0)
				return i;
			i += done;
		}
	}
	return i;
}

void exporter_push(struct exporter *e)
{
	struct staged_frames sf;
	bool was_down = e->state != EXPORTER_UP;

	if (e->nbatch == 0)
		return;
	for (size_t i = send_staged(e, &sf, 0); i < e->nbatch; i++)
		enqueue(e, &e->batch[i]);
	e->nbatch = 0;
	if (e->state != EXPORTER_UP && !was_down)
		e->probe_ns = 0; /* probe at the next drain */
}

size_t exporter_drain(struct exporter *e, uint64_t mono_ns)
{
	bool was_down = e->state != EXPORTER_UP;

	exporter_push(e);
	if (e->state != EXPORTER_UP)
		probe(e, mono_ns);
	flush_queue(e);
	if (e->state != EXPORTER_UP && !was_down)
		e->probe_ns = mono_ns;
	return e->qlen;
}

/* Copy d into the next free slot of the arena. */
static void stage(struct exporter *e, const struct exporter_dgram *d)
{
	uint8_t *at = e->arena + e->nbatch * e->slot_len;

	memcpy(at, d->data, d->len);
	e->batch[e->nbatch] = *d;
	e->batch[e->nbatch++].data = at;
	if (e->nbatch == EXPORTER_BATCH)
		exporter_push(e);
}

/* A capture sink takes every datagram at once, numbered as it would leave. */
static void capture(struct exporter *e, const struct exporter_dgram *d)
{
	struct frame f;
	uint8_t *copy = NULL;

	if (frame(e, d, e->next_seq, &f) == 2) {
		copy = malloc(d->len);
		if (!copy) {
			count_drop(e, d);
			return;
		}
		memcpy(copy, f.iov[0].iov_base, f.iov[0].iov_len);
		memcpy(copy + f.iov[0].iov_len, f.iov[1].iov_base, f.iov[1].iov_len);
	}
	count_sent(e, d);
	e->next_seq++;
	e->capture.fn(e->capture.ctx, e->name, copy ? copy : d->data, d->len);
	free(copy);
}

void exporter_send_flows(struct exporter *e, const uint8_t *buf, size_t len, unsigned nrecords,
			 const struct exporter_carried *c)
{
	bool was_down = e->state != EXPORTER_UP;
	struct exporter_dgram d = {.len = (uint16_t)len,
				   .records = (uint16_t)nrecords,
				   .flows = (uint16_t)c->flows,
				   .packets = c->packets,
				   .octets = c->octets,
				   .data = (uint8_t *)buf};

	if (len > UINT16_MAX) {
		count_drop(e, &d);
		return;
	}
	if (e->capture.fn) {
		capture(e, &d);
		return;
	}
	flush_queue(e);
	if (e->state == EXPORTER_UP && e->qlen == 0 && len <= e->slot_len) {
		stage(e, &d);
		return;
	}
	exporter_push(e); /* what is staged goes first */
	if (e->state == EXPORTER_UP && e->qlen == 0) {
		enum sent r = try_send(e, &d);
		if (r == SENT)
			return;
		if (r == REFUSED) {
			count_drop(e, &d);
			return;
		}
	}
	if (e->state != EXPORTER_UP && !was_down)
		e->probe_ns = 0; /* probe at the next drain */
	enqueue(e, &d);
}

void exporter_settle(struct exporter *e)
{
	int err = 0;
	socklen_t elen = sizeof err;

	if (e->fd < 0 || getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || !err)
		return;
	if (unreachable(err))
		go_down(e, err);
	else
		note_error(e, err);
}

void exporter_set_probe(struct exporter *e, const uint8_t *msg, size_t len)
{
	free(e->probe_msg);
	e->probe_msg = msg ? malloc(len) : NULL;
	e->probe_len = e->probe_msg ? len : 0;
	if (e->probe_msg)
		memcpy(e->probe_msg, msg, len);
}

const uint8_t *exporter_oldest(const struct exporter *e, size_t *len)
{
	if (e->qlen == 0)
		return NULL;
	*len = e->queue[e->qhead].len;
	return e->queue[e->qhead].data;
}

void exporter_adopt(struct exporter *fresh, struct exporter *old)
{
	struct exporter_dgram *q = fresh->queue;
	size_t qcap = fresh->qcap;

	exporter_push(old);
	fresh->st = old->st;
	fresh->state = old->state == EXPORTER_UP ? EXPORTER_UP : EXPORTER_DOWN;
	fresh->next_seq = old->next_seq;
	if (old->state == EXPORTER_PROBING && old->probe_numbered)
		fresh->next_seq--; /* its answer, if any, went to old's socket: probe again */
	fresh->probe_ns = 0;
	fresh->came_back = old->came_back;
	exporter_set_probe(fresh, old->probe_msg, old->probe_len);
	free(fresh->last.data);
	fresh->last = old->last;
	old->last = (struct exporter_dgram){0};
	fresh->queue = old->queue;
	fresh->qcap = old->qcap;
	fresh->qhead = old->qhead;
	fresh->qlen = old->qlen;
	fresh->held = old->held;
	old->queue = q; /* empty */
	old->qcap = qcap;
	old->qhead = old->qlen = old->held = 0;
}

void exporter_close(struct exporter *e)
{
	if (e->fd >= 0)
		exporter_push(e);
	if (e->qlen)
		log_warnx("collector %s: %zu datagrams held for it are lost%s", e->name, e->qlen,
			  e->state != EXPORTER_UP ? " (it was down)" : "");
	while (e->queue && e->qlen > 0)
		pop(e);
	exporter_set_probe(e, NULL, 0);
	free(e->last.data);
	e->last.data = NULL;
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	free(e->queue);
	e->queue = NULL;
	free(e->arena);
	e->arena = NULL;
}
