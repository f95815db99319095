/* copies: the local copies of every record (the original's <ptee>
 * dispatchers): stdout or stderr, syslog, or a file. Nothing here blocks
 * the event loop: lines are gathered in a buffer per copy and written in
 * large pieces; syslog goes through nfflowd's own non-blocking socket
 * (syslogq.h). What a copy cannot take is dropped, counted and logged. */
#ifndef NFFLOWD_COPIES_H
#define NFFLOWD_COPIES_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "syslogq.h"

#define COPIES_BUF	(64u * 1024u)  /* bytes gathered before a write(2) */
#define COPIES_PIPE_MAX (1u << 20)     /* a pipe that does not drain: bytes kept */
#define COPIES_LOG_NS	60000000000ull /* drops are logged at most once a minute */

struct copy_out {
	const struct copy_conf *conf;
	int fd;		  /* screen and file copies */
	bool own_fd;	  /* a file nfflowd opened */
	char *buf;	  /* lines not written yet */
	size_t len, cap;  /* cap: COPIES_BUF, or COPIES_PIPE_MAX for a pipe */
	size_t lines;	  /* lines in buf */
	struct syslogq q; /* syslog copies */
	char prefix[128]; /* syslog: "<PRI>Mmm dd hh:mm:ss ident[pid]: " */
	size_t plen;
	uint64_t prefix_s; /* the second the prefix was made for */
	uint64_t written, dropped, dropped_logged, logged_ns;
	int last_errno;
};

struct copies {
	struct copy_out out[CONFIG_MAX_COPIES];
	size_t n;
};

/* The files a configuration writes: its file copies, then the NAT log. */
#define COPIES_MAX_FILES (CONFIG_MAX_COPIES + 1)

/* The files of the file copies and of the NAT log, opened by the caller (the reload verb,
 * which runs as root, opens what the daemon may not be allowed to): a copy
 * whose path is here writes to a duplicate of its descriptor instead of
 * opening the path. */
struct copies_fds {
	size_t n;
	struct {
		const char *path; /* a copy's path, in the configuration */
		int fd;
	} f[COPIES_MAX_FILES];
};

/* The number of files c writes: its active file copies (see copies_open),
 * and the NAT log's file if c has a <natlog>; the functions below take them
 * in that order. */
size_t copies_fds_count(const struct nf_config *c);

/* Open the file of each active file copy of c, in order, as the caller
 * (safefile_open_output: never through a link, created 0640, appended to or
 * truncated as configured). Returns 0, or -1 with "copy NAME: cannot open
 * PATH: reason" in err and errno kept; nothing is left open then. */
int copies_fds_open(struct copies_fds *fds, const struct nf_config *c, char *err, size_t errlen);

/* Take fd[0..n) (each then set to -1) as the files of the active file
 * copies of c, in order: n must be copies_fds_count(c), and each must be a
 * regular file or FIFO open for writing. Returns 0, or -1 with a message
 * (nothing taken). */
int copies_fds_adopt(struct copies_fds *fds, const struct nf_config *c, int *fd, size_t n,
		     char *err, size_t errlen);

/* Close the descriptors of fds. */
void copies_fds_close(struct copies_fds *fds);

/* Open one more copy, cc (which must outlive cp), in cp (cp->n <
 * CONFIG_MAX_COPIES): a file copy writes to a duplicate of fds' descriptor
 * for its path, or opens it as copies_fds_open does. Returns 0, or -1 with
 * a message in err (cp unchanged). */
int copies_open_one(struct copies *cp, const struct copy_conf *cc, const struct copies_fds *fds,
		    char *err, size_t errlen);

/* Open the copies c configures that are active: records are written at
 * LOG_INFO, so a copy whose level range excludes info is off, and the screen
 * copy only exists in the foreground. A file copy whose path is in fds (may
 * be NULL) writes to a duplicate of that descriptor; otherwise its file is
 * opened here (as copies_fds_open does). Returns 0, or -1 with a message in
 * err. */
int copies_open(struct copies *cp, const struct nf_config *c, bool foreground,
		const struct copies_fds *fds, char *err, size_t errlen);

/* Add one record line (len bytes, no newline) exported at Unix epoch ns
 * real_ns to every active copy. */
void copies_write(struct copies *cp, const char *line, size_t len, uint64_t real_ns);

/* At monotonic time mono_ns: write what is gathered, as far as each copy
 * takes it now; reconnect syslog when due; log drops (at most once a
 * minute). Call before the event loop sleeps. */
void copies_flush(struct copies *cp, uint64_t mono_ns);

/* Add a pollfd (POLLOUT) for each copy with lines waiting for room; returns
 * how many (at most CONFIG_MAX_COPIES). */
size_t copies_pollfds(const struct copies *cp, struct pollfd *pfd);

/* The monotonic time by which copies_flush must run; UINT64_MAX: none. */
uint64_t copies_due(const struct copies *cp);

/* Format one "copy NAME: lines N dropped N" line per copy. Returns the
 * length (< len). */
size_t copies_format_stats(const struct copies *cp, char *buf, size_t len);

/* Write what is gathered (as far as it goes) and close what copies_open
 * opened. */
void copies_close(struct copies *cp);

#endif
