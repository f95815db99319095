/* daemon: start-up, privileges, the event loop and its timers around the
 * pipeline (pipeline.h) fed from the kernel's conntrack sockets. */
#ifndef NFFLOWD_DAEMON_H
#define NFFLOWD_DAEMON_H

#include <stdbool.h>

struct daemon_opts {
	bool foreground;    /* log to stderr, screen copy on stdout */
	int ready_fd;	    /* -1, or where to say "ok" or why not */
	const char *record; /* NULL, or the pcap file to record the stream to */
};

/* Run nfflowd with the configuration file path until SIGTERM or SIGINT, then
 * send everything pending and return the exit status: 0, or 1 if it could
 * not start. Logs go to stderr in the foreground, else to syslog. If
 * opts->ready_fd >= 0, "ok\n" is written to it once nfflowd is up
 * (subscribed, collectors open, start-up dump done), or the reason it could
 * not start; then it is closed. */
int daemon_run(const char *path, const struct daemon_opts *opts);

#endif
