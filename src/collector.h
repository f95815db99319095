/* collector: one destination of records, driven through a table of
 * operations per kind: NetFlow v5 (collector_v5.c), NetFlow v9 and IPFIX
 * (collector_ipfix.c), the local copies (collector_copies.c) and the NAT
 * log (collector_natlog.c). The output
 * module fans every connection out to its collectors through these
 * operations and never asks which kind a collector is; a kind's state lives
 * in its own module, behind the impl pointer. */
#ifndef NFFLOWD_COLLECTOR_H
#define NFFLOWD_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "exporter.h"
#include "flow.h"
#include "ipfix.h"
#include "nfv5.h"
#include "timeunit.h"

struct copies_fds;
struct portblock;
struct portblock_set;

/* What every collector is opened with. */
struct collector_env {
	const struct nf_config *cfg;	     /* outlives the collector */
	uint64_t boot_ms;		     /* Unix epoch ms at which v5 and v9 sysUptime was 0 */
	bool foreground;		     /* the screen copy exists only in the foreground */
	const struct exporter_sink *capture; /* NULL, or where datagrams go instead */
	const struct copies_fds *fds; /* NULL, or files opened for the file copies and NAT log */
	const struct ipfix_loss *events_lost; /* NULL, or the events the kernel dropped */
	const struct portblock_set *blocks;   /* NULL, or the port blocks in force (outlives c) */
};

struct collector;

/* The operations of one kind. Optional ones are NULL where a kind has no
 * use for them; the output module then does not call them. */
struct collector_ops {
	int version; /* the <collector> version it serves; 0: not a collector block */

	/* Open c for conf (NULL for the copies and the NAT log). Returns 0; 1
	 * when there is nothing to open (every copy is off, no <natlog>: the
	 * output leaves c out); or -1
	 * with a message in err and nothing left open. */
	int (*open)(struct collector *c, const struct collector_conf *conf,
		    const struct collector_env *env, char *err, size_t errlen);
	/* Optional: the v5 records of a connection, already split so that no
	 * counter exceeds 32 bits (IPv4, TCP/UDP/ICMP only). */
	void (*triplets)(struct collector *c, const struct flow_rec *recs, size_t n,
			 const struct nf_now *t);
	/* Optional: a whole connection (its end, or an interim record). */
	void (*conn)(struct collector *c, const struct ct_event *ev, const struct flow_rec *rec,
		     bool interim, const struct nf_now *t);
	/* Optional: a NAT create event of a new connection at Unix ms t_ms;
	 * returns true if c took it. */
	bool (*nat_create)(struct collector *c, const struct ct_event *ev, uint64_t t_ms,
			   const struct nf_now *t);
	/* Optional: a port block allocated (alloc) or freed at Unix ms t_ms
	 * (RFC 8158 natEvent 16/17). */
	void (*port_block)(struct collector *c, const struct portblock *b, bool alloc,
			   uint64_t t_ms, const struct nf_now *t);
	/* Optional: true if c wants NAT create events, and port block events. */
	bool (*wants_nat_create)(const struct collector *c);
	/* Encode and send everything pending. */
	void (*flush)(struct collector *c, const struct nf_now *t);
	/* Optional: send what is due by t, probe a collector that is down. */
	void (*tick)(struct collector *c, const struct nf_now *t);
	/* Optional: hand what is staged to the kernel (before the loop sleeps). */
	void (*push)(struct collector *c, const struct nf_now *t);
	/* The monotonic time by which something must happen; UINT64_MAX: nothing. */
	uint64_t (*due)(const struct collector *c);
	/* Optional: add a pollfd (POLLOUT) for each socket with something
	 * waiting for room; returns how many (at most CONFIG_MAX_COPIES). */
	size_t (*pollfds)(const struct collector *c, struct pollfd *pfd);
	/* Optional: the local address of c's socket (its own export flow). */
	int (*local)(const struct collector *c, struct sockaddr_storage *ss);
	/* Optional: true if fresh is the same destination as old (the same
	 * kind: the caller checks): a reload then lets fresh adopt old's state.
	 * Without it a collector is opened anew at every reload. */
	bool (*same)(const struct collector *fresh, const struct collector *old);
	/* fresh takes over old's sequence numbers, counters, state and the
	 * datagrams waiting (old stays valid, to be closed). */
	void (*adopt)(struct collector *fresh, struct collector *old);
	/* Optional: datagrams (or lines) c dropped or still holds: what would
	 * be lost if it were closed now. */
	uint64_t (*lost)(const struct collector *c);
	/* Optional: what c dropped (flows, packets, octets, when), added to *l. */
	void (*loss)(const struct collector *c, struct ipfix_loss *l);
	/* Format c's counters (lines ending in a newline); returns the length
	 * written (< len). */
	size_t (*format_stats)(const struct collector *c, char *buf, size_t len);
	/* Release everything (pending records are not sent: flush first). */
	void (*close)(struct collector *c);
};

/* One open collector: its operations and its kind's state. */
struct collector {
	const struct collector_ops *ops;
	void *impl;
	bool knows_blocks; /* at a reload, it took over an old collector that was told
			    * the port blocks in force (that wanted NAT events) */
};

extern const struct collector_ops collector_v5_ops;
extern const struct collector_ops collector_v9_ops;
extern const struct collector_ops collector_ipfix_ops;
extern const struct collector_ops collector_copies_ops;
extern const struct collector_ops collector_natlog_ops;

/* v5 records waiting to leave together: the kinds that take triplets. */
struct collector_batch {
	struct flow_rec recs[NFV5_MAX_RECORDS];
	size_t n;
	size_t max;	 /* records a datagram holds (1..NFV5_MAX_RECORDS; 0: the most) */
	uint64_t due_ns; /* monotonic time by which it must leave */
};

/* Add r at monotonic time mono_ns; the batch is due flush_ms after its
 * first record. Returns true when it holds b->max records and must be sent
 * now. */
bool collector_batch_add(struct collector_batch *b, const struct flow_rec *r, uint64_t mono_ns,
			 unsigned flush_ms);

/* The v5 header of a datagram exported at t (flow_sequence 0). */
struct nfv5_header collector_v5_header(const struct collector_env *env, const struct nf_now *t);

/* What the kinds that send over UDP share: the first member of their impl,
 * so that the collector_udp_* operations below serve them all. */
struct collector_udp {
	struct collector_env env;
	const struct collector_conf *conf;
	struct exporter ex;
	struct ipfix_loss dropped; /* what the exporter dropped, and when it was seen */
};

/* Take note of what u's exporter dropped since the last call, at t. */
void collector_udp_note_drops(struct collector_udp *u, const struct nf_now *t);

/* collector_ops.loss of the UDP kinds. */
void collector_udp_loss(const struct collector *c, struct ipfix_loss *l);

/* The largest datagram (UDP payload) conf's mtu allows: the mtu (or
 * IPFIX_MTU_DEFAULT when 0, as for <flow_send>) less the IP and UDP headers
 * of the collector's address family. */
size_t collector_max_payload(const struct collector_conf *conf);

/* Open u's exporter for conf with datagrams of at most slot_len bytes. */
int collector_udp_open(struct collector_udp *u, const struct collector_conf *conf,
		       const struct collector_env *env, size_t slot_len, char *err, size_t errlen);

/* collector_ops.push, .lost, .pollfds, .local, .same and .format_stats of the UDP
 * kinds. */
void collector_udp_push(struct collector *c, const struct nf_now *t);
uint64_t collector_udp_lost(const struct collector *c);
size_t collector_udp_pollfds(const struct collector *c, struct pollfd *pfd);
int collector_udp_local(const struct collector *c, struct sockaddr_storage *ss);
bool collector_udp_same(const struct collector *fresh, const struct collector *old);
size_t collector_udp_format_stats(const struct collector *c, char *buf, size_t len);

/* The kinds that write lines through the copies' writer (the copies, the
 * NAT log) keep their struct copies as the first member of their impl, so
 * that the collector_lines_* operations below serve them both. */

/* collector_ops.push, .pollfds, .format_stats and .close of those kinds. */
void collector_lines_push(struct collector *c, const struct nf_now *t);
size_t collector_lines_pollfds(const struct collector *c, struct pollfd *pfd);
size_t collector_lines_format_stats(const struct collector *c, char *buf, size_t len);
void collector_lines_close(struct collector *c);

/* True if ev's session events (or NAT log lines) are left to its host's
 * port block: nat_sessions (enum config_nat_sessions) is outside-blocks,
 * and env's port blocks say that ev was translated inside its own host's
 * block (false without blocks). */
bool collector_block_says(const struct collector_env *env, int nat_sessions,
			  const struct ct_event *ev);

/* The operations for a <collector> of the given version, or NULL. */
const struct collector_ops *collector_ops_for(int version);

#endif
