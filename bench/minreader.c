/*
 * minreader: the least a conntrack event listener can do, as a floor for the
 * benchmark. It subscribes to NEW and DESTROY events with a large receive
 * buffer (SO_RCVBUFFORCE, as nfflowd does), receives every datagram and
 * counts the messages in it by type, and the ENOBUFS errors (the kernel
 * dropped events). Nothing is parsed beyond the netlink header.
 *
 *   minreader [-b BYTES] [-t SECONDS] [-m VLEN | -r MICROSECONDS]
 *
 * With -m it receives up to VLEN datagrams per recvmmsg(2) call instead of
 * one per recv(2) (each event is one datagram), to show what fewer system
 * calls save. With -r, each time it has emptied the socket after reading
 * something it sleeps that long before waiting again, so that events gather
 * and a wake-up takes many (what nfflowd does under load).
 *
 * It prints "ready" on standard error once subscribed, its counters on
 * SIGUSR1 and, on SIGTERM or SIGINT or after SECONDS, a final line
 *   minreader: datagrams N new N update N destroy N other N enobufs N
 * and exits.
 */
#include <errno.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_VLEN 256
#define SLOT	 8192 /* bytes per datagram with -m: events are well under 1 KiB */

struct counts {
	uint64_t datagrams, new_, update, destroy, other, enobufs;
};

static volatile sig_atomic_t stop_flag, report_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_report(int sig)
{
	(void)sig;
	report_flag = 1;
}

static void print_counts(const struct counts *c, const char *when)
{
	fprintf(stderr,
		"minreader%s: datagrams %" PRIu64 " new %" PRIu64 " update %" PRIu64
		" destroy %" PRIu64 " other %" PRIu64 " enobufs %" PRIu64 "\n",
		when, c->datagrams, c->new_, c->update, c->destroy, c->other, c->enobufs);
}

static void count(struct counts *c, const void *buf, size_t len);

/* One recv(2) per datagram until stopped; with rest_us, a sleep after each
 * time the socket was emptied having given something. */
static void read_plain(int fd, struct counts *c, long rest_us)
{
	static char buf[1 << 16];
	struct timespec rest = {.tv_sec = rest_us / 1000000, .tv_nsec = rest_us % 1000000 * 1000};
	bool got = false;

	while (!stop_flag) {
		if (report_flag) {
			report_flag = 0;
			print_counts(c, " (so far)");
		}
		ssize_t n = recv(fd, buf, sizeof buf, rest_us ? MSG_DONTWAIT : 0);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (got)
				nanosleep(&rest, NULL);
			else
				poll(&p, 1, -1);
			got = false;
			continue;
		}
		if (n < 0) {
			if (errno == ENOBUFS)
				c->enobufs++;
			else if (errno != EINTR) {
				perror("minreader: recv");
				break;
			}
			continue;
		}
		got = true;
		c->datagrams++;
		count(c, buf, (size_t)n);
	}
}

static void count(struct counts *c, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK) {
			c->other++;
			continue;
		}
		switch (nlh->nlmsg_type & 0xff) {
		case IPCTNL_MSG_CT_NEW:
			/* A NEW event carries NLM_F_CREATE; an UPDATE does not. */
			if (nlh->nlmsg_flags & NLM_F_CREATE)
				c->new_++;
			else
				c->update++;
			break;
		case IPCTNL_MSG_CT_DELETE:
			c->destroy++;
			break;
		default:
			c->other++;
		}
	}
}

int main(int argc, char **argv)
{
	long bytes = 8L << 20; /* nfflowd's default netlink_rcvbuf */
	unsigned seconds = 600;
	long vlen = 0, rest_us = 0;
	int opt;

	while ((opt = getopt(argc, argv, "b:t:m:r:")) != -1) {
		switch (opt) {
		case 'b':
			bytes = strtol(optarg, NULL, 10);
			break;
		case 'm':
			vlen = strtol(optarg, NULL, 10);
			break;
		case 'r':
			rest_us = strtol(optarg, NULL, 10);
			break;
		case 't':
			seconds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: minreader [-b BYTES] [-t SECONDS] [-m VLEN | -r "
					"MICROSECONDS]\n");
			return 2;
		}
	}
	if (bytes < 4096 || bytes > (1L << 30) || seconds == 0 || vlen < 0 || vlen > MAX_VLEN ||
	    rest_us < 0 || rest_us > 1000000 || (vlen && rest_us)) {
		fprintf(stderr, "minreader: bad -b, -t, -m or -r\n");
		return 2;
	}

	/* No SA_RESTART: a signal interrupts the blocking receive. */
	struct sigaction sa = {.sa_handler = on_stop};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_report;
	sigaction(SIGUSR1, &sa, NULL);

	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl) {
		perror("minreader: mnl_socket_open");
		return 1;
	}
	if (mnl_socket_bind(nl, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_DESTROY,
			    MNL_SOCKET_AUTOPID) < 0) {
		perror("minreader: mnl_socket_bind");
		return 1;
	}
	int fd = mnl_socket_get_fd(nl), v = (int)bytes;
	socklen_t vsize = sizeof v;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) != 0) {
		perror("minreader: SO_RCVBUFFORCE");
		return 1;
	}
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &vsize);
	fprintf(stderr, "minreader: ready, receive buffer %d bytes\n", v / 2);
	alarm(seconds);

	static char slots[MAX_VLEN][SLOT];
	static struct iovec iov[MAX_VLEN];
	static struct mmsghdr msgs[MAX_VLEN];
	for (long i = 0; i < vlen; i++) {
		iov[i] = (struct iovec){.iov_base = slots[i], .iov_len = SLOT};
		msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
	}
	struct counts c = {0};
	while (!stop_flag && vlen > 0) {
		if (report_flag) {
			report_flag = 0;
			print_counts(&c, " (so far)");
		}
		int n = recvmmsg(fd, msgs, (unsigned)vlen, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == ENOBUFS)
				c.enobufs++;
			else if (errno != EINTR) {
				perror("minreader: recvmmsg");
				break;
			}
			continue;
		}
		for (int i = 0; i < n; i++) {
			c.datagrams++;
			count(&c, slots[i], msgs[i].msg_len);
		}
	}
	if (vlen == 0)
		read_plain(fd, &c, rest_us);
	print_counts(&c, "");
	mnl_socket_close(nl);
	return 0;
}
