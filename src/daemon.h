/* daemon: the event loop that wires the netlink sockets, the tracker, the v5
 * encoder, the exporters and the local copies together. */
#ifndef NFFLOWD_DAEMON_H
#define NFFLOWD_DAEMON_H

#include <stdbool.h>

/* Run nfflowd with the configuration file path until SIGTERM or SIGINT, then
 * send everything pending and return the exit status: 0, or 1 if it could
 * not start. Logs go to stderr in the foreground, else to syslog. If
 * ready_fd >= 0, "ok\n" is written to it once nfflowd is up (subscribed,
 * collectors open, start-up dump done), or the reason it could not start;
 * then it is closed. */
int daemon_run(const char *path, bool foreground, int ready_fd);

#endif
