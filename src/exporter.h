/* exporter: one UDP socket per collector, bound to the configured source
 * address and connected to the collector. Sending never blocks: a datagram
 * the socket cannot take now waits in a bounded queue. */
#ifndef NFFLOWD_EXPORTER_H
#define NFFLOWD_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define EXPORTER_QUEUE 512 /* datagrams held while the socket is full */

struct exporter_stats {
	uint64_t datagrams; /* handed to the kernel */
	uint64_t records;   /* in those datagrams */
	uint64_t errors;    /* failed sends (refused, unreachable, ...) */
	uint64_t dropped;   /* datagrams dropped: queue full or send failed twice */
	uint64_t queued;    /* datagrams that had to wait for room */
};

struct exporter_dgram {
	uint16_t len;
	uint16_t records;
	uint8_t *data;
};

struct exporter {
	int fd;
	const struct collector_conf *conf;
	char name[160];	     /* "192.0.2.9:2055" for messages */
	uint32_t flow_seq;   /* v5: flows exported before the next datagram */
	int last_errno;	     /* the last error logged */
	uint64_t last_log_s; /* when, in monotonic seconds */
	bool failing;	     /* the last send failed */
	bool came_back;	     /* a send succeeded after failures: resend templates */
	struct exporter_dgram *queue;
	size_t qhead, qlen;
	struct exporter_stats st;
};

/* Open the socket for collector c. Returns 0, or -1 with a message in err. */
int exporter_open(struct exporter *e, const struct collector_conf *c, char *err, size_t errlen);

/* Send one datagram of nrecords records, or queue it while the socket is
 * full. A failure is counted and logged (once per kind of error). */
void exporter_send(struct exporter *e, const uint8_t *buf, size_t len, unsigned nrecords);

/* Try to send what waits in the queue. Returns the number still waiting. */
size_t exporter_drain(struct exporter *e);

/* Close the socket and free the queue. */
void exporter_close(struct exporter *e);

#endif
