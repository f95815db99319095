/* nlsock: the ctnetlink sockets: one subscribed to conntrack events, and one
 * per table dump. */
#ifndef NFFLOWD_NLSOCK_H
#define NFFLOWD_NLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mnl_socket;

/* Open a non-blocking socket subscribed to conntrack NEW and DESTROY events
 * with a receive buffer of rcvbuf bytes (SO_RCVBUFFORCE, which needs
 * CAP_NET_ADMIN, else SO_RCVBUF up to rmem_max). *got is the size the kernel
 * granted. With reliable, ask for the kernel's reliable event delivery
 * (NETLINK_BROADCAST_ERROR and NETLINK_NO_ENOBUFS): a DESTROY that does not
 * fit is kept and delivered again, and the kernel may then drop packets of
 * new connections rather than lose events. NULL with errno set on failure. */
struct mnl_socket *nlsock_open_events(size_t rcvbuf, bool reliable, size_t *got);

/* Open a non-blocking socket and ask it for a dump of the whole conntrack
 * table (IPv4 and IPv6), with sequence number seq. NULL with errno set on
 * failure. */
struct mnl_socket *nlsock_open_dump(uint32_t seq);

/* Resize a socket's receive buffer; returns the size granted (as asked for,
 * without the kernel's doubling for bookkeeping), 0 on failure. */
size_t nlsock_set_rcvbuf(struct mnl_socket *nl, size_t bytes);

struct filter;

/* Have the kernel drop events of connections whose protocol or mark f does
 * not want, before they are queued (a socket filter built by
 * libnetfilter_conntrack); f's other keys are checked in user space. With
 * neither key, any earlier filter is removed. Returns 0, or -1 with errno. */
int nlsock_filter(struct mnl_socket *nl, const struct filter *f);

/* Receive one datagram into buf; returns its length, 0 if nothing is queued
 * (EAGAIN), or -1 with errno (ENOBUFS: the kernel dropped messages). */
ssize_t nlsock_recv(struct mnl_socket *nl, void *buf, size_t len);

/* The messages the kernel dropped for nl so far (the Drops column of
 * /proc/net/netlink for the socket's inode); UINT64_MAX if unknown. */
uint64_t nlsock_drops(const struct mnl_socket *nl);

/* The socket's file descriptor, for poll. */
int nlsock_fd(const struct mnl_socket *nl);

/* Close; NULL is fine. */
void nlsock_close(struct mnl_socket *nl);

#endif
