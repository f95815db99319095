#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "safefile.h"

#define ASK_TIMEOUT_MS 3000

pid_t pidfile_read(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	long v = strtol(buf, &end, 10);
	if (v <= 0 || v > 4194304 || (*end != '\n' && *end != '\0'))
		return 0;
	return (pid_t)v;
}

bool pidfile_is_nfflowd(pid_t pid)
{
	char path[64], comm[32] = "";

	if (kill(pid, 0) != 0 && errno != EPERM)
		return false;
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(comm, sizeof comm, f) != NULL && strcmp(comm, "nfflowd\n") == 0;
	fclose(f);
	return ok;
}

pid_t pidfile_read_nfflowd(const char *path)
{
	pid_t pid = pidfile_read(path);

	return pid && pidfile_is_nfflowd(pid) ? pid : 0;
}

pid_t pidfile_running(const char *path, const char *control)
{
	struct control_status st;

	if (control_ask_status(control, &st, ASK_TIMEOUT_MS) == 0)
		return st.pid;
	return control_unserved(errno) ? 0 : pidfile_read_nfflowd(path);
}

/* Create path.tmp afresh: whatever is there (a stale file, or a link
 * planted in a directory only root can write to) is removed, not followed. */
static int create_tmp(const char *tmp)
{
	int fd = safefile_create(tmp, 0644);

	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = safefile_create(tmp, 0644);
	return fd;
}

int pidfile_write(const char *path, pid_t pid, char *err, size_t errlen)
{
	char tmp[4200], buf[32];

	if (safefile_dir_prepare("pid file", path, err, errlen) != 0)
		return -1;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = create_tmp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "pid file %s: %s", tmp, strerror(errno));
		return -1;
	}
	int len = snprintf(buf, sizeof buf, "%d\n", (int)pid);
	int ok = write(fd, buf, (size_t)len) == len;
	if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
		snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

void pidfile_remove(const char *path, pid_t pid)
{
	if (pidfile_read(path) == pid)
		unlink(path);
}
