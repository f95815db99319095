/* pidfile: the daemon's pid file, and whether the nfflowd it names runs. */
#ifndef NFFLOWD_PIDFILE_H
#define NFFLOWD_PIDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The pid written in path; 0 if there is none (no file, not a pid). */
pid_t pidfile_read(const char *path);

/* True if the process pid exists and its command name is nfflowd. */
bool pidfile_is_nfflowd(pid_t pid);

/* The pid written in path if it names a live process called nfflowd
 * (pidfile_read, pidfile_is_nfflowd); else 0. */
pid_t pidfile_read_nfflowd(const char *path);

/* The pid of the nfflowd that runs with the pid file path and the control
 * socket control, or 0 if none does. The socket decides when it can be
 * asked: the daemon that answers "status" there runs (with the pid it
 * gives), and when nothing listens there the pid file is stale, whatever
 * process now has its pid. When the socket cannot be asked (permission
 * denied, no answer in time), a pid file naming a live process called
 * nfflowd counts as running. */
pid_t pidfile_running(const char *path, const char *control);

/* Write pid to path, replacing a stale file: the directory must be safe
 * (created if missing, see safefile_dir_prepare); the file is written to
 * path.tmp, created without following a link (a link or file planted there
 * is removed, not followed), mode 0644, then renamed over path. Returns 0,
 * or -1 with a message. */
int pidfile_write(const char *path, pid_t pid, char *err, size_t errlen);

/* Remove path if it still names pid. */
void pidfile_remove(const char *path, pid_t pid);

#endif
