/* exporter: one UDP socket per collector, bound to the configured source
 * address and connected to the collector. Sending never blocks and loses
 * nothing it can keep: a datagram the socket cannot take now, or that a
 * collector known to be down would not take, waits in a bounded queue.
 *
 * A collector is down once the kernel reports an ICMP error for it (port or
 * host unreachable). The error is reported on the send after the one it
 * answers: that last datagram sent is held again, first in line. While the
 * collector is down nothing is sent but one probe a second (templates, or the
 * oldest datagram held); a probe no error answers within a second arrived,
 * and the collector is up again.
 *
 * Datagrams are staged and handed to the kernel EXPORTER_BATCH at a time by
 * one sendmmsg(2): exporter_push sends what is staged, and the event loop
 * calls it before it sleeps.
 *
 * With exporter_number, the datagrams are numbered as they leave (NetFlow
 * v9's Sequence Number counts the export packets sent, RFC 3954 §5.1): the
 * collector sees the numbers go up by one, probes included, across an
 * outage. */
#ifndef NFFLOWD_EXPORTER_H
#define NFFLOWD_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "config.h"

#define EXPORTER_SLOT_BYTES 64 /* hold_limit / this: the most datagrams held */
#define EXPORTER_PROBE_NS   1000000000ull
#define EXPORTER_BATCH	    32 /* datagrams staged for one sendmmsg(2) */

struct exporter_stats {
	uint64_t datagrams; /* handed to the kernel (probes included) */
	uint64_t records;   /* in those datagrams */
	uint64_t errors;    /* errors reported: each means a datagram was lost */
	uint64_t dropped;   /* datagrams dropped: hold_limit reached, or refused */
	uint64_t queued;    /* datagrams that had to wait */
	uint64_t outages;   /* times the collector was found down */
	uint64_t resent;    /* datagrams refused and held again */
	/* What the dropped datagrams carried (see exporter_send_flows). */
	uint64_t dropped_flows, dropped_packets, dropped_octets;
	uint64_t drops; /* times something was dropped: a change means a new loss */
};

/* Where a collector stands. UP: datagrams are sent. DOWN: an ICMP error
 * said it refuses them; they are held and a probe goes out once a second.
 * PROBING: a probe went out and no error has answered it yet; a second
 * without one makes it UP again. */
enum exporter_state { EXPORTER_UP, EXPORTER_DOWN, EXPORTER_PROBING };

/* A capture sink instead of a socket (tests): receives every datagram sent
 * to collector name, in order, at once; nothing is held or probed. */
typedef void (*exporter_capture_fn)(void *ctx, const char *name, const uint8_t *buf, size_t len);

struct exporter_sink {
	exporter_capture_fn fn;
	void *ctx;
};

struct exporter_dgram {
	uint16_t len;
	uint16_t records;
	uint16_t flows;		  /* flow records among them */
	uint64_t packets, octets; /* what those flows counted */
	uint8_t *data;
};

struct exporter {
	int fd;
	const struct collector_conf *conf;
	char name[160];		      /* "192.0.2.9:2055" for messages */
	struct exporter_sink capture; /* fn set: no socket, datagrams go there */
	int last_errno;		      /* the last error logged */
	uint64_t last_log_s;	      /* when, in monotonic seconds */
	enum exporter_state state;
	uint64_t probe_ns;  /* monotonic time of the last probe */
	bool came_back;	    /* it is up again: templates must be resent */
	uint8_t *probe_msg; /* what to probe with (templates), else the oldest held */
	size_t probe_len;
	bool numbered;		      /* exporter_number: datagrams are numbered as they leave */
	size_t seq_at;		      /* ... at this offset */
	uint32_t next_seq;	      /* ... the number of the next one to leave */
	bool probe_numbered;	      /* the probe in flight took a number */
	struct exporter_dgram last;   /* the last datagram sent, until the next one */
	struct exporter_dgram *queue; /* a ring of qcap */
	size_t qcap, qhead, qlen;
	size_t held, hold_limit; /* bytes held, and the most that may be */
	uint64_t drop_log_s;	 /* when drops at hold_limit were last logged */
	uint8_t *arena;		 /* EXPORTER_BATCH slots of slot_len bytes */
	size_t slot_len;	 /* the largest datagram the collector's version sends */
	struct exporter_dgram batch[EXPORTER_BATCH]; /* staged, data in arena */
	size_t nbatch;
	struct exporter_stats st;
};

/* Open the socket for collector c, whose datagrams are at most slot_len
 * bytes long, holding at most hold_limit bytes of datagrams while it is
 * down or its socket is full (beyond that they are dropped, counted and
 * logged); with capture (may be NULL) set, no socket: datagrams go to
 * capture->fn. Returns 0, or -1 with a message in err. */
int exporter_open(struct exporter *e, const struct collector_conf *c, size_t slot_len,
		  size_t hold_limit, const struct exporter_sink *capture, char *err, size_t errlen);

/* The largest seq_at: a number lies within a datagram's first 32 bytes. */
#define EXPORTER_SEQ_AT_MAX 28

/* From now on, number the datagrams as they leave: each carries, as a
 * 32-bit big-endian number at offset seq_at (<= EXPORTER_SEQ_AT_MAX; NetFlow
 * v9's Sequence Number is at IPFIX_V9_SEQUENCE_AT), the count of datagrams
 * that left before it, probes included, modulo 2^32; what the caller wrote
 * there is replaced, in the copy sent only. A number is kept only by a
 * datagram the collector did not refuse: a datagram held again after an
 * ICMP error, and a probe that an error answers, give theirs back, and one
 * dropped (hold_limit, or an error no retry can mend) never takes one. A
 * datagram shorter than seq_at + 4 is sent as it is. */
void exporter_number(struct exporter *e, size_t seq_at);

/* Where the collector stands (see enum exporter_state). */
enum exporter_state exporter_state(const struct exporter *e);

/* True once after the collector came back from DOWN: whatever it forgot
 * meanwhile (templates) must be sent again. Clears the mark. */
bool exporter_take_comeback(struct exporter *e);

/* Datagrams held, waiting to be sent. */
size_t exporter_waiting(const struct exporter *e);

/* The monotonic time of the next probe of a collector that is not UP;
 * UINT64_MAX when it is UP. */
uint64_t exporter_due(const struct exporter *e);

/* The socket to poll for POLLOUT while datagrams wait and the collector is
 * UP; -1 otherwise. */
int exporter_pollfd(const struct exporter *e);

/* The socket's local address (its own export flow); -1 without a socket. */
int exporter_local(const struct exporter *e, struct sockaddr_storage *ss);

/* Format the counters as one "collector ADDR:PORT: datagrams ..." line.
 * Returns the length written (< len), as snprintf. */
size_t exporter_format_stats(const struct exporter *e, char *buf, size_t len);

/* What one datagram carries, for the loss figures: flow records, and the
 * packets and octets they count. */
struct exporter_carried {
	unsigned flows;
	uint64_t packets, octets;
};

/* Send one datagram of nrecords records that carries c: stage a copy (sent
 * by exporter_push, or at once when EXPORTER_BATCH are staged), or queue it
 * (socket full, collector down). Errors are counted and logged (the first of
 * a kind, then at most once a minute). If it is dropped (hold_limit reached,
 * or refused for good), dropped_flows, dropped_packets and dropped_octets
 * count what it carried. */
void exporter_send_flows(struct exporter *e, const uint8_t *buf, size_t len, unsigned nrecords,
			 const struct exporter_carried *c);

/* Hand what is staged to the kernel, in order; what it cannot take now
 * waits in the queue. Call before sleeping: nothing staged is sent later. */
void exporter_push(struct exporter *e);

/* At monotonic time mono_ns: push what is staged, probe a collector that is
 * down, or send what waits. Returns the number still waiting. */
size_t exporter_drain(struct exporter *e, uint64_t mono_ns);

/* Take an error the kernel has reported for the socket since the last send
 * (an ICMP error answering the last datagram): the collector is then down
 * and that datagram held again. For the end of a run, after the last push. */
void exporter_settle(struct exporter *e);

/* Probe with msg (a copy is kept) rather than with the oldest datagram
 * held: a probe that arrives is then not also sent again. NULL clears it. */
void exporter_set_probe(struct exporter *e, const uint8_t *msg, size_t len);

/* True if a probe message was set (cleared when the collector is UP). */
bool exporter_has_probe(const struct exporter *e);

/* The oldest datagram held, or NULL. */
const uint8_t *exporter_oldest(const struct exporter *e, size_t *len);

/* fresh replaces old for the same collector (a reload): it takes over the
 * counters, state and the datagrams waiting (what old had staged is pushed
 * first). */
void exporter_adopt(struct exporter *fresh, struct exporter *old);

/* Push what is staged, close the socket and free the queue. */
void exporter_close(struct exporter *e);

#endif
