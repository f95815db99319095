/* copies: the local copies of every record (the original's <ptee>
 * dispatchers): stdout or stderr, syslog, or a file. */
#ifndef NFFLOWD_COPIES_H
#define NFFLOWD_COPIES_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

struct copy_out {
	const struct copy_conf *conf;
	FILE *fp; /* screen and file copies */
};

struct copies {
	struct copy_out out[CONFIG_MAX_COPIES];
	size_t n;
};

/* Open the copies c configures that are active: records are written at
 * LOG_INFO, so a copy whose level range excludes info is off, and the screen
 * copy only exists in the foreground. Returns 0, or -1 with a message in err. */
int copies_open(struct copies *cp, const struct nf_config *c, bool foreground, char *err,
		size_t errlen);

/* Write one record line (no newline) to every active copy. */
void copies_write(struct copies *cp, const char *line);

/* Flush buffered copies (after each datagram). */
void copies_flush(struct copies *cp);

/* Close files opened by copies_open. */
void copies_close(struct copies *cp);

#endif
