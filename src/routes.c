#include "routes.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

/* How long a lookup may wait for the kernel's answer. */
#define LOOKUP_TIMEOUT_US 100000

struct routes {
	struct mnl_socket *query;  /* RTM_GETROUTE requests */
	struct mnl_socket *notify; /* RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, RTNLGRP_LINK */
	uint32_t seq;
	struct ifcache cache;
	uint8_t buf[8192]; /* a route answer, or a batch of notifications */
};

static void close_keep_errno(struct mnl_socket *nl)
{
	int e = errno;

	if (nl)
		mnl_socket_close(nl);
	errno = e;
}

struct routes *routes_open(void)
{
	struct routes *r = calloc(1, sizeof *r);
	struct timeval tv = {.tv_sec = 0, .tv_usec = LOOKUP_TIMEOUT_US};

	if (!r)
		return NULL;
	r->query = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	r->notify = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!r->query || !r->notify || mnl_socket_bind(r->query, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(r->query), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
	    mnl_socket_bind(r->notify, RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
			    MNL_SOCKET_AUTOPID) < 0) {
		close_keep_errno(r->query);
		close_keep_errno(r->notify);
		free(r);
		return NULL;
	}
	r->seq = (uint32_t)time(NULL);
	return r; /* calloc: the cache is empty */
}

/* mnl_attr_cb_t: RTA_OIF, validated as a u32. */
static int oif_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
		*(uint32_t *)data = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

/* mnl_cb_t: the RTM_NEWROUTE answer. */
static int route_msg(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	return mnl_attr_parse(nlh, sizeof(struct rtmsg), oif_attr, data) < 0 ? MNL_CB_ERROR
									     : MNL_CB_OK;
}

/* Ask the kernel which route a packet to addr takes (RTM_GETROUTE with
 * RTA_DST, rtnetlink(7)); 0 if none or on any error. */
static uint32_t lookup(struct routes *r, uint8_t family, const uint8_t *addr)
{
	uint8_t req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct rtmsg)) + MNL_ATTR_HDRLEN + 16];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm;
	uint32_t oif = 0, seq = ++r->seq, portid = mnl_socket_get_portid(r->query);
	size_t alen = family == AF_INET ? 4 : 16;
	ssize_t n;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
	rtm->rtm_family = family;
	rtm->rtm_dst_len = (unsigned char)(alen * 8);
	mnl_attr_put(nlh, RTA_DST, alen, addr);
	if (mnl_socket_sendto(r->query, nlh, nlh->nlmsg_len) < 0)
		return 0;
	/* Answers to earlier requests that timed out are skipped by seq. */
	for (;;) {
		n = mnl_socket_recvfrom(r->query, r->buf, sizeof r->buf);
		if (n <= 0)
			return 0;
		int rc = mnl_cb_run(r->buf, (size_t)n, seq, portid, route_msg, &oif);
		if (rc == MNL_CB_ERROR && errno == EPROTO)
			continue; /* an older request's answer */
		return rc == MNL_CB_ERROR ? 0 : oif;
	}
}

uint32_t routes_ifindex(void *ctx, uint8_t family, const uint8_t *addr)
{
	struct routes *r = ctx;
	uint32_t ifindex;

	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (ifcache_get(&r->cache, family, addr, &ifindex))
		return ifindex;
	ifindex = lookup(r, family, addr);
	ifcache_put(&r->cache, family, addr, ifindex);
	return ifindex;
}

int routes_fd(const struct routes *r)
{
	return mnl_socket_get_fd(r->notify);
}

void routes_changed(struct routes *r)
{
	bool changed = false;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(r->notify, r->buf, sizeof r->buf);
		if (n > 0 || (n < 0 && errno == ENOBUFS)) {
			changed = true; /* a change, or changes lost: either way, forget */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (changed)
		ifcache_clear(&r->cache);
}

const struct ifcache *routes_cache(const struct routes *r)
{
	return &r->cache;
}

void routes_close(struct routes *r)
{
	if (!r)
		return;
	mnl_socket_close(r->query);
	mnl_socket_close(r->notify);
	free(r);
}
