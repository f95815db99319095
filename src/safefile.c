#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory part of path ("." if it has none) into dir. */
static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* One directory of the chain: last is the one that holds the file. */
static int check_one(const char *what, const char *dir, bool last, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: directory %s: %s", what, dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a directory", what, dir);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s: directory %s belongs to uid %d: that user could replace what nfflowd "
			 "creates there; use a directory of root's, such as /run/nfflowd",
			 what, dir, (int)st.st_uid);
		return -1;
	}
	bool group = (st.st_mode & S_IWGRP) && st.st_gid != 0;
	bool others = (st.st_mode & S_IWOTH) && (last || !(st.st_mode & S_ISVTX));
	if (group || others) {
		snprintf(err, errlen,
			 "%s: directory %s is writable by other users (mode %04o): refused; use a "
			 "directory only root can write to, such as /run/nfflowd",
			 what, dir, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int safefile_dir_check(const char *what, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], real[PATH_MAX];

	dir_of(path, dir, sizeof dir);
	if (!realpath(dir, real)) {
		snprintf(err, errlen, "%s: directory %s: %s", what, dir, strerror(errno));
		return -1;
	}
	/* From / down: every prefix of the resolved path (it has no links). */
	if (strcmp(real, "/") != 0 && check_one(what, "/", false, err, errlen) != 0)
		return -1;
	for (size_t i = 1; real[i]; i++) {
		if (real[i] != '/')
			continue;
		real[i] = '\0';
		int rc = check_one(what, real, false, err, errlen);
		real[i] = '/';
		if (rc != 0)
			return -1;
	}
	return check_one(what, real, true, err, errlen);
}

/* mkdir dir with mode 0755 whatever the umask (others look in it for the
 * pid file and the socket). */
static int make_dir(const char *dir)
{
	if (mkdir(dir, 0700) != 0)
		return errno == EEXIST ? 0 : -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc = fd >= 0 ? fchmod(fd, 0755) : -1;
	if (fd >= 0)
		close(fd);
	return rc;
}

int safefile_dir_prepare(const char *what, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;

	dir_of(path, dir, sizeof dir);
	if (lstat(dir, &st) != 0 && errno == ENOENT) {
		if (safefile_dir_check(what, dir, err, errlen) != 0)
			return -1;
		if (make_dir(dir) != 0) {
			snprintf(err, errlen, "%s: cannot create directory %s: %s", what, dir,
				 strerror(errno));
			return -1;
		}
	}
	return safefile_dir_check(what, path, err, errlen);
}

int safefile_create(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);

	if (fd >= 0 && fchmod(fd, mode) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int safefile_open_output(const char *path, bool append)
{
	struct stat st;
	int how = append ? O_APPEND : O_TRUNC;
	/* O_NONBLOCK: a FIFO no process reads fails (ENXIO) instead of
	 * waiting for a reader; then the descriptor blocks again. */
	int fd =
	    open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | how,
		 SAFEFILE_MODE);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

bool safefile_denied(int err)
{
	return err == EACCES || err == EPERM || err == EROFS;
}
