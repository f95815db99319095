/* syslogq: nfflowd's own non-blocking datagram socket to the syslog daemon
 * (/dev/log), with a bounded queue of messages sent many to a system call
 * (sendmmsg). Nothing here ever blocks: a daemon that cannot keep up leaves
 * messages in the queue until its socket takes them again, and what does
 * not fit is dropped and counted. A daemon that is gone is reconnected with
 * a back-off, not once per message. */
#ifndef NFFLOWD_SYSLOGQ_H
#define NFFLOWD_SYSLOGQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYSLOGQ_BATCH	    64		   /* messages per sendmmsg(2) */
#define SYSLOGQ_MSG_MAX	    1024	   /* longest message */
#define SYSLOGQ_BACKOFF_MIN 1000000000ull  /* first reconnect after 1 s ... */
#define SYSLOGQ_BACKOFF_MAX 60000000000ull /* ... doubling up to a minute */

struct syslogq {
	char path[108]; /* sizeof sockaddr_un.sun_path */
	int fd;		/* -1 while not connected */
	uint8_t *buf;	/* the queue: a ring of [u16 length][message] from head to tail */
	size_t cap, head, tail;
	size_t count;		       /* messages in it */
	uint64_t retry_ns, backoff_ns; /* next connect attempt (monotonic) and the wait after */
	uint64_t sent, dropped;	       /* messages */
	int last_errno;		       /* why the last message was dropped */
};

/* Set q up for the socket at path with a queue of cap bytes, and try to
 * connect (a daemon that is not there is tried again later). Returns 0, or
 * -1 if out of memory. */
int syslogq_open(struct syslogq *q, const char *path, size_t cap);

/* Queue one message made of prefix and text (at most SYSLOGQ_MSG_MAX bytes
 * together). Returns false if it was dropped: not connected, or the queue
 * is full. */
bool syslogq_add(struct syslogq *q, const char *prefix, size_t plen, const char *text, size_t tlen);

/* At monotonic time mono_ns: reconnect if due, then send what is queued
 * until the socket is full. */
void syslogq_send(struct syslogq *q, uint64_t mono_ns);

/* The socket to poll for POLLOUT while messages wait; -1 otherwise. */
int syslogq_pollfd(const struct syslogq *q);

/* The monotonic time of the next reconnect attempt; UINT64_MAX when
 * connected. */
uint64_t syslogq_due(const struct syslogq *q);

/* Messages waiting in the queue. */
size_t syslogq_waiting(const struct syslogq *q);

/* Close the socket and free the queue; what waits is counted as dropped. */
void syslogq_close(struct syslogq *q);

#endif
