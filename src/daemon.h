/* daemon: the event loop that wires the netlink sockets, the tracker, the v5
 * encoder, the exporters and the local copies together. */
#ifndef NFFLOWD_DAEMON_H
#define NFFLOWD_DAEMON_H

#include <stdbool.h>

/* Run nfflowd with the configuration file path until SIGTERM or SIGINT, then
 * send everything pending and return the exit status. Errors at start are
 * printed and return non-zero. */
int daemon_run(const char *path, bool foreground);

#endif
