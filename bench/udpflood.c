/*
 * udpflood: create many conntrack entries as fast as possible (or at a set
 * rate) by sending one UDP datagram per new 5-tuple.
 *
 * Tuple i goes from one local socket (one source port) to
 *   address first_addr + (i mod naddrs), port first_port + (i div naddrs),
 * so every datagram is a new (src port, dst addr, dst port) and therefore a
 * new connection in a NAT router on the way. Datagrams leave in batches of
 * sendmmsg(2) with a destination per message.
 *
 * With -D NETNS the same tuples are deleted again from the connection table
 * of the network namespace NETNS (a path such as /run/netns/NAME) over
 * ctnetlink, LAG milliseconds after each was sent: the router then sees a
 * steady stream of NEW and DESTROY events at the same rate. Deleting needs
 * CAP_NET_ADMIN and CAP_SYS_ADMIN (setns).
 *
 * Everything is bounded: COUNT datagrams at most and at most SECONDS of
 * run time. The last line on standard output is machine-readable:
 *   result sent=N seconds=S rate=R errors=E deleted=D notfound=F
 *
 * C11, the C library and the kernel's UAPI headers only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH   1024
#define DEL_MSG_MAX 128 /* bytes of one delete request (72 used) */

struct opts {
	uint64_t count;
	uint32_t naddrs;
	struct in_addr first_addr;
	uint32_t first_port;
	uint32_t src_port;
	double rate;	/* connections per second, 0: as fast as possible */
	double seconds; /* run time bound */
	uint32_t batch;
	const char *del_netns;
	double lag_ms;
};

struct stats {
	uint64_t sent, errors, deleted, notfound, del_errors;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u)};

	nanosleep(&ts, NULL);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: udpflood [-n COUNT] [-a NADDRS] [-A FIRST_ADDR] [-p FIRST_PORT] [-s SRC_PORT]\n"
	    "                [-r RATE] [-t SECONDS] [-b BATCH] [-D NETNS_PATH [-L LAG_MS]]\n"
	    "  -n COUNT       datagrams = new connections (default 100000)\n"
	    "  -a NADDRS      destination addresses, consecutive from FIRST_ADDR (default 32)\n"
	    "  -A FIRST_ADDR  first destination address (default 203.0.113.10)\n"
	    "  -p FIRST_PORT  first destination port (default 1024)\n"
	    "  -s SRC_PORT    local source port (default: any)\n"
	    "  -r RATE        connections per second, 0 for as fast as possible (default 0)\n"
	    "  -t SECONDS     stop after this long whatever is left (default 60)\n"
	    "  -b BATCH       messages per sendmmsg (1-%d, default 64)\n"
	    "  -D NETNS_PATH  delete each tuple again from this namespace's conntrack table\n"
	    "  -L LAG_MS      ... this long after it was sent (default 300)\n",
	    MAX_BATCH);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min && v <= max))
		return false;
	*out = v;
	return true;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	uint64_t v;
	int c;

	*o = (struct opts){.count = 100000,
			   .naddrs = 32,
			   .first_port = 1024,
			   .seconds = 60,
			   .batch = 64,
			   .lag_ms = 300};
	inet_pton(AF_INET, "203.0.113.10", &o->first_addr);
	while ((c = getopt(argc, argv, "n:a:A:p:s:r:t:b:D:L:h")) != -1) {
		switch (c) {
		case 'n':
			if (!parse_u64(optarg, 100000000, &o->count))
				goto bad;
			break;
		case 'a':
			if (!parse_u64(optarg, 65536, &v) || v == 0)
				goto bad;
			o->naddrs = (uint32_t)v;
			break;
		case 'A':
			if (inet_pton(AF_INET, optarg, &o->first_addr) != 1)
				goto bad;
			break;
		case 'p':
			if (!parse_u64(optarg, 65535, &v) || v == 0)
				goto bad;
			o->first_port = (uint32_t)v;
			break;
		case 's':
			if (!parse_u64(optarg, 65535, &v))
				goto bad;
			o->src_port = (uint32_t)v;
			break;
		case 'r':
			if (!parse_double(optarg, 0, 1e9, &o->rate))
				goto bad;
			break;
		case 't':
			if (!parse_double(optarg, 0.001, 3600, &o->seconds))
				goto bad;
			break;
		case 'b':
			if (!parse_u64(optarg, MAX_BATCH, &v) || v == 0)
				goto bad;
			o->batch = (uint32_t)v;
			break;
		case 'D':
			o->del_netns = optarg;
			break;
		case 'L':
			if (!parse_double(optarg, 0, 60000, &o->lag_ms))
				goto bad;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	uint64_t tuples = (uint64_t)o->naddrs * (65536u - o->first_port);
	if (o->count > tuples) {
		fprintf(stderr,
			"udpflood: %" PRIu64 " tuples do not fit in %" PRIu32
			" addresses x ports %" PRIu32 "-65535\n",
			o->count, o->naddrs, o->first_port);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "udpflood: bad value for -%c: '%s'\n", c, optarg);
	return -1;
}

static void tuple(const struct opts *o, uint64_t i, struct sockaddr_in *sa)
{
	uint32_t base = ntohl(o->first_addr.s_addr);

	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(base + (uint32_t)(i % o->naddrs));
	sa->sin_port = htons((uint16_t)(o->first_port + i / o->naddrs));
}

/* ---- sending ------------------------------------------------------------ */

struct sender {
	int fd;
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	struct sockaddr_in dst[MAX_BATCH];
	char payload[MAX_BATCH][16];
};

static int sender_open(const struct opts *o, struct sender *s, uint16_t *port)
{
	struct sockaddr_in local = {.sin_family = AF_INET,
				    .sin_port = htons((uint16_t)o->src_port)};
	socklen_t len = sizeof local;
	int one = 1, sndbuf = 4 << 20;

	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -1;
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	if (bind(s->fd, (struct sockaddr *)&local, sizeof local) != 0)
		return -1;
	if (getsockname(s->fd, (struct sockaddr *)&local, &len) != 0)
		return -1;
	*port = ntohs(local.sin_port);
	return 0;
}

/* Send tuples [first, first + n); returns how many left the socket. */
static uint32_t send_batch(const struct opts *o, struct sender *s, uint64_t first, uint32_t n,
			   struct stats *st)
{
	for (uint32_t k = 0; k < n; k++) {
		tuple(o, first + k, &s->dst[k]);
		uint64_t idx = first + k;
		memcpy(s->payload[k], &idx, sizeof idx);
		memcpy(s->payload[k] + 8, "udpflood", 8);
		s->iov[k] = (struct iovec){.iov_base = s->payload[k], .iov_len = 16};
		s->msgs[k].msg_hdr = (struct msghdr){.msg_name = &s->dst[k],
						     .msg_namelen = sizeof s->dst[k],
						     .msg_iov = &s->iov[k],
						     .msg_iovlen = 1};
		s->msgs[k].msg_len = 0;
	}
	uint32_t done = 0;
	int tries = 0;
	while (done < n && tries < 100) {
		int r = sendmmsg(s->fd, s->msgs + done, n - done, 0);
		if (r > 0) {
			done += (uint32_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* ENOBUFS and the like: skip the message that failed. */
		st->errors++;
		done++;
		tries++;
	}
	return n;
}

/* ---- deleting over ctnetlink --------------------------------------------- */

struct deleter {
	int fd;
	uint32_t seq;
	char buf[MAX_BATCH * DEL_MSG_MAX];
	size_t len;
};

static int open_in_netns(const char *path)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int target = open(path, O_RDONLY | O_CLOEXEC);
	int fd = -1, e = 0;

	if (self < 0 || target < 0) {
		e = errno;
		goto out;
	}
	if (setns(target, CLONE_NEWNET) != 0) {
		e = errno;
		goto out;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
	if (fd < 0)
		e = errno;
	if (setns(self, CLONE_NEWNET) != 0) { /* back home: the UDP socket is there */
		e = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	errno = e;
	return fd;
}

static void *put_attr(char *p, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)p;

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(p + NLA_HDRLEN, data, len);
	memset(p + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	return p + NLA_ALIGN(a->nla_len);
}

static struct nlattr *nest_start(char **p, uint16_t type)
{
	struct nlattr *a = (struct nlattr *)*p;

	a->nla_type = type | NLA_F_NESTED;
	*p += NLA_HDRLEN;
	return a;
}

static void nest_end(struct nlattr *a, char *p)
{
	a->nla_len = (uint16_t)(p - (char *)a);
}

/* Append one IPCTNL_MSG_CT_DELETE request for the original tuple
 * src:sport -> dst:dport (UDP). No NLM_F_ACK: only failures answer. */
static void add_delete(struct deleter *d, struct in_addr src, uint16_t sport,
		       const struct sockaddr_in *dst)
{
	char *start = d->buf + d->len, *p = start;
	struct nlmsghdr *nlh = (struct nlmsghdr *)p;
	uint8_t proto = IPPROTO_UDP;
	uint16_t sp = htons(sport);

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++d->seq;
	nlh->nlmsg_pid = 0;
	p += NLMSG_HDRLEN;
	struct nfgenmsg *nfg = (struct nfgenmsg *)p;
	nfg->nfgen_family = AF_INET;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	p += NLMSG_ALIGN(sizeof *nfg);

	struct nlattr *orig = nest_start(&p, CTA_TUPLE_ORIG);
	struct nlattr *ip = nest_start(&p, CTA_TUPLE_IP);
	p = put_attr(p, CTA_IP_V4_SRC, &src.s_addr, 4);
	p = put_attr(p, CTA_IP_V4_DST, &dst->sin_addr.s_addr, 4);
	nest_end(ip, p);
	struct nlattr *l4 = nest_start(&p, CTA_TUPLE_PROTO);
	p = put_attr(p, CTA_PROTO_NUM, &proto, 1);
	p = put_attr(p, CTA_PROTO_SRC_PORT, &sp, 2);
	p = put_attr(p, CTA_PROTO_DST_PORT, &dst->sin_port, 2);
	nest_end(l4, p);
	nest_end(orig, p);

	nlh->nlmsg_len = (uint32_t)(p - start);
	d->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* Read the kernel's answers: an error message for each failed delete. */
static void drain_answers(struct deleter *d, struct stats *st)
{
	char rx[16384];

	for (;;) {
		ssize_t n = recv(d->fd, rx, sizeof rx, MSG_DONTWAIT);
		if (n <= 0) {
			if (n < 0 && errno == ENOBUFS)
				continue; /* answers lost: the final flush deals with them */
			return;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)rx; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != NLMSG_ERROR ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				continue;
			const struct nlmsgerr *e = NLMSG_DATA(h);
			if (e->error == 0)
				continue;
			if (e->error == -ENOENT)
				st->notfound++;
			else
				st->del_errors++;
			if (st->deleted)
				st->deleted--;
		}
	}
}

static void delete_batch(const struct opts *o, struct deleter *d, struct in_addr src,
			 uint16_t sport, uint64_t first, uint32_t n, struct stats *st)
{
	struct sockaddr_in dst;

	d->len = 0;
	for (uint32_t k = 0; k < n; k++) {
		tuple(o, first + k, &dst);
		add_delete(d, src, sport, &dst);
	}
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	for (int tries = 0; tries < 1000; tries++) {
		ssize_t r =
		    sendto(d->fd, d->buf, d->len, 0, (struct sockaddr *)&kernel, sizeof kernel);
		if (r >= 0) {
			st->deleted += n;
			break;
		}
		if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS) {
			st->del_errors += n;
			break;
		}
		drain_answers(d, st);
	}
	drain_answers(d, st);
}

/* ---- main ----------------------------------------------------------------- */

static int local_address(const struct opts *o, struct in_addr *out)
{
	/* The source address the kernel picks towards the first destination. */
	struct sockaddr_in dst, me;
	socklen_t len = sizeof me;
	int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (probe < 0)
		return -1;
	tuple(o, 0, &dst);
	if (connect(probe, (struct sockaddr *)&dst, sizeof dst) != 0 ||
	    getsockname(probe, (struct sockaddr *)&me, &len) != 0) {
		close(probe);
		return -1;
	}
	close(probe);
	*out = me.sin_addr;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct stats st = {0};
	static struct sender s;
	static struct deleter d = {.fd = -1};
	uint16_t sport;
	struct in_addr src = {0};
	uint64_t *tsent = NULL;

	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (sender_open(&o, &s, &sport) != 0) {
		perror("udpflood: UDP socket");
		return 1;
	}
	if (o.del_netns) {
		if (local_address(&o, &src) != 0) {
			perror("udpflood: source address");
			return 1;
		}
		d.fd = open_in_netns(o.del_netns);
		if (d.fd < 0) {
			fprintf(stderr, "udpflood: netlink socket in %s: %s\n", o.del_netns,
				strerror(errno));
			return 1;
		}
		int rcv = 4 << 20;
		setsockopt(d.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
		tsent = calloc(o.count ? o.count : 1, sizeof *tsent);
		if (!tsent) {
			perror("udpflood");
			return 1;
		}
	}

	const uint64_t t0 = now_ns();
	const uint64_t deadline = t0 + (uint64_t)(o.seconds * 1e9);
	const uint64_t lag = (uint64_t)(o.lag_ms * 1e6);
	uint64_t sent = 0, del = 0, t_last_send = t0;
	const bool deleting = d.fd >= 0;

	while (!stop_flag && (sent < o.count || (deleting && del < sent))) {
		uint64_t now = now_ns();
		uint64_t wait = 1000000; /* ns until something can be done; 1 ms at most */
		bool did = false;

		if (now >= deadline)
			break;
		if (sent < o.count) {
			uint64_t allowed = o.count;
			if (o.rate > 0) {
				double a = (double)(now - t0) * 1e-9 * o.rate + 1;
				allowed = a < (double)o.count ? (uint64_t)a : o.count;
			}
			uint64_t k = allowed > sent ? allowed - sent : 0;
			if (k > o.batch)
				k = o.batch;
			if (k > 0) {
				send_batch(&o, &s, sent, (uint32_t)k, &st);
				if (deleting)
					for (uint64_t j = 0; j < k; j++)
						tsent[sent + j] = now;
				sent += k;
				t_last_send = now_ns();
				did = true;
			} else {
				uint64_t next = (uint64_t)((double)(sent + 1) / o.rate * 1e9);
				uint64_t due = t0 + next;
				if (due > now && due - now < wait)
					wait = due - now;
			}
		}
		if (deleting && del < sent) {
			uint64_t k = 0;
			while (del + k < sent && k < o.batch && tsent[del + k] + lag <= now)
				k++;
			if (k > 0) {
				delete_batch(&o, &d, src, sport, del, (uint32_t)k, &st);
				del += k;
				did = true;
			} else {
				uint64_t due = tsent[del] + lag;
				if (due > now && due - now < wait)
					wait = due - now;
			}
		}
		if (!did)
			sleep_ns(wait);
	}
	uint64_t t_end = sent >= o.count && !deleting ? t_last_send : now_ns();
	if (deleting)
		drain_answers(&d, &st);
	/* The achieved creation rate: until the last datagram left. */
	double secs = (double)(t_last_send - t0) * 1e-9;
	double total = (double)(t_end - t0) * 1e-9;
	st.sent = sent - st.errors;
	printf("udpflood: source port %u: sent %" PRIu64 " datagrams (new connections) in %.3f s: "
	       "%.0f/s; %" PRIu64 " send errors",
	       sport, st.sent, secs, secs > 0 ? (double)st.sent / secs : 0.0, st.errors);
	if (deleting)
		printf("; deleted %" PRIu64 " (%" PRIu64 " not found, %" PRIu64
		       " failed) by %.3f s",
		       st.deleted, st.notfound, st.del_errors, total);
	printf("%s\n", sent < o.count ? " (stopped early)" : "");
	printf("result sent=%" PRIu64 " seconds=%.6f rate=%.0f errors=%" PRIu64 " deleted=%" PRIu64
	       " notfound=%" PRIu64 " delerrors=%" PRIu64 " total_seconds=%.6f sport=%u\n",
	       st.sent, secs, secs > 0 ? (double)st.sent / secs : 0.0, st.errors, st.deleted,
	       st.notfound, st.del_errors, total, sport);
	free(tsent);
	return sent < o.count ? 1 : 0;
}
