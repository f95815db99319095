/* replay: a recording made with -w (a pcap of netlink datagrams) through
 * the same pipeline as the kernel's sockets, its own timestamps as the
 * clock. */
#ifndef NFFLOWD_REPLAY_H
#define NFFLOWD_REPLAY_H

/* Run the recording in file through a pipeline with the configuration file
 * path, exporting to the configured collectors and copies; then send what
 * is pending, log the counters and the rate, and return 0, or 1 on an
 * error. The same file gives the same records. */
int replay_run(const char *path, const char *file);

#endif
