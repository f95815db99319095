#include "nlsock.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "filter.h"

size_t nlsock_set_rcvbuf(struct mnl_socket *nl, size_t bytes)
{
	int fd = mnl_socket_get_fd(nl);
	int v = bytes > (size_t)(1 << 30) ? 1 << 30 : (int)bytes;
	socklen_t len = sizeof v;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) != 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) != 0)
		return 0;
	/* The kernel reports twice the size granted, its bookkeeping included. */
	return (size_t)v / 2;
}

static struct mnl_socket *open_nonblocking(unsigned groups)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

struct mnl_socket *nlsock_open_events(size_t rcvbuf, bool reliable, size_t *got)
{
	struct mnl_socket *nl =
	    open_nonblocking(NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_DESTROY);
	int on = 1;

	if (!nl)
		return NULL;
	*got = nlsock_set_rcvbuf(nl, rcvbuf);
	if (reliable && (mnl_socket_setsockopt(nl, NETLINK_BROADCAST_ERROR, &on, sizeof on) != 0 ||
			 mnl_socket_setsockopt(nl, NETLINK_NO_ENOBUFS, &on, sizeof on) != 0)) {
		int e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

struct mnl_socket *nlsock_open_dump(uint32_t seq)
{
	char buf[256]; /* header, nfgenmsg: well under this */
	struct mnl_socket *nl = open_nonblocking(0);

	if (!nl)
		return NULL;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof *nfg);
	nfg->nfgen_family = AF_UNSPEC; /* every family */
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	nlsock_set_rcvbuf(nl, 4u << 20);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		int e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

int nlsock_filter(struct mnl_socket *nl, const struct filter *f)
{
	int fd = mnl_socket_get_fd(nl);

	nfct_filter_detach(fd); /* none attached yet is fine */
	if (f->nprotos == 0 && f->nmarks == 0)
		return 0;
	struct nfct_filter *nf = nfct_filter_create();
	if (!nf)
		return -1;
	for (size_t i = 0; i < f->nprotos; i++)
		nfct_filter_add_attr_u32(nf, NFCT_FILTER_L4PROTO, f->protos[i]);
	for (size_t i = 0; i < f->nmarks; i++) {
		struct nfct_filter_dump_mark m = {.val = f->marks[i].value,
						  .mask = f->marks[i].mask};
		nfct_filter_add_attr(nf, NFCT_FILTER_MARK, &m);
	}
	int rc = nfct_filter_attach(fd, nf);
	nfct_filter_destroy(nf);
	return rc;
}

ssize_t nlsock_recv(struct mnl_socket *nl, void *buf, size_t len)
{
	ssize_t n = mnl_socket_recvfrom(nl, buf, len);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return n;
}

int nlsock_fd(const struct mnl_socket *nl)
{
	return mnl_socket_get_fd(nl);
}

void nlsock_close(struct mnl_socket *nl)
{
	if (nl)
		mnl_socket_close(nl);
}

uint64_t nlsock_drops(const struct mnl_socket *nl)
{
	struct stat st;
	char line[512];
	uint64_t drops = UINT64_MAX;
	FILE *f;

	if (fstat(mnl_socket_get_fd(nl), &st) != 0 || !(f = fopen("/proc/net/netlink", "re")))
		return UINT64_MAX;
	/* sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode (net/netlink/af_netlink.c) */
	while (fgets(line, sizeof line, f)) {
		unsigned long long d, ino;
		if (sscanf(line, "%*s %*d %*u %*x %*d %*d %*d %*d %llu %llu", &d, &ino) == 2 &&
		    ino == (unsigned long long)st.st_ino) {
			drops = d;
			break;
		}
	}
	fclose(f);
	return drops;
}
