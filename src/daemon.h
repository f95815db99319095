/* daemon: the event loop that wires the netlink sockets, the tracker, the v5
 * encoder, the exporters and the local copies together. */
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

/* Run the recording in file (a pcap written with -w) through the same
 * pipeline instead of the kernel, its own timestamps as the clock, exporting
 * to the configured collectors and copies; then send what is pending, log
 * the counters and the rate, and return 0, or 1 on an error. The same file
 * gives the same records. */
int daemon_replay(const char *path, const char *file);

#endif
