/* cli: the commands an operator runs: start, stop, restart, reload, check,
 * install. Each returns the process exit status and prints what happened. */
#ifndef NFFLOWD_CLI_H
#define NFFLOWD_CLI_H

#include <stdbool.h>

/* Start nfflowd with config path: refuse if one runs for the same pid file;
 * in the foreground run until stopped; else detach and return 0 only once
 * the daemon is up, or 1 with the reason it could not start. With record
 * (may be NULL), the netlink stream is recorded to that pcap file. */
int cli_start(const char *path, bool foreground, const char *record);

/* Stop the nfflowd of config path (asked over its control socket, which
 * allows it to root alone; SIGTERM from root if it does not answer) and
 * wait (30 s at most) until it has sent what was pending and exited. 0 if
 * it stopped or was not running (a stale pid file is removed). */
int cli_stop(const char *path);

/* Stop if running, then start. */
int cli_restart(const char *path, bool foreground, const char *record);

/* Check path; if it is valid, open the files of its file copies and hand
 * them and the text (a sealed memory file) to the running nfflowd over its
 * control socket, and report its answer. Run as root, this works whatever
 * the daemon may read or open itself. Non-zero when the file has an error
 * (the daemon keeps its configuration), the daemon refused it, or none
 * runs. */
int cli_reload(const char *path);

/* Validate path (and that its user exists and is not root); report whether
 * nfflowd runs, the kernel settings it depends on, and the running daemon's
 * counters. Non-zero if the file is invalid. */
int cli_check(const char *path);

/* Set nfflowd up to start at boot with config path: a systemd unit,
 * installed and enabled, where systemd runs; else an init script. Paths are
 * quoted for each (quote.h); one that cannot be is refused. */
int cli_install(const char *path);

#endif
