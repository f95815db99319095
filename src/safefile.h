/* safefile: the files nfflowd creates or opens while it is root (the pid
 * file, the control socket's directory, local copies, recordings), made so
 * that no other user can turn them against the host: no symbolic link is
 * followed, nothing is changed by path after it is created, and a directory
 * that other users can write to is refused. */
#ifndef NFFLOWD_SAFEFILE_H
#define NFFLOWD_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The mode of the files nfflowd creates for records (local copies,
 * recordings): no one but the owner and its group reads them. */
#define SAFEFILE_MODE 0640

/* Check the directory that holds path, and every directory above it: each
 * must belong to root or to the caller, and none may be writable by other
 * users (by a group other than root's, or by everyone, except for a
 * directory with the sticky bit, such as /tmp, above the last one). what
 * names the file in messages ("pid file"). Returns 0, or -1 with a message
 * in err. */
int safefile_dir_check(const char *what, const char *path, char *err, size_t errlen);

/* Create the directory that holds path (mode 0755, one level) if it does
 * not exist yet, then safefile_dir_check it. Returns 0, or -1 with a message. */
int safefile_dir_prepare(const char *what, const char *path, char *err, size_t errlen);

/* Create path, which must not exist (O_EXCL: a file or link planted there
 * makes it fail with EEXIST), without following a link, with exactly mode
 * (set on the descriptor). Returns the descriptor (close-on-exec), or -1
 * with errno set. */
int safefile_create(const char *path, mode_t mode);

/* Open path for writing records: created with SAFEFILE_MODE if it does not
 * exist, appended to or truncated, never through a symbolic link (ELOOP),
 * and only if it is a regular file or a FIFO (else EINVAL) that some
 * process reads (else ENXIO, at once). Returns the descriptor (blocking,
 * close-on-exec), or -1 with errno set. */
int safefile_open_output(const char *path, bool append);

/* True if the error of a failed open or read is one that root would not
 * meet (permission denied, read-only file system). */
bool safefile_denied(int err);

#endif
