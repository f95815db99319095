/* pidfile: the daemon's pid file, and whether the nfflowd it names runs. */
#ifndef NFFLOWD_PIDFILE_H
#define NFFLOWD_PIDFILE_H

#include <stddef.h>
#include <sys/types.h>

/* The pid of the nfflowd that path names if that process is alive and is an
 * nfflowd; 0 if there is none (no file, a stale file, another program). */
pid_t pidfile_running(const char *path);

/* Write pid to path (replacing a stale file). Returns 0, or -1 with a message. */
int pidfile_write(const char *path, pid_t pid, char *err, size_t errlen);

/* Remove path if it still names pid. */
void pidfile_remove(const char *path, pid_t pid);

#endif
