/* test_security: the pure parts of nfflowd's safety, and its safe files on
 * a temporary directory (no root needed): quoting for "install", who may
 * give which control command, the "status" reply, the directory check, the
 * pid file's exclusive creation, outputs that refuse links, the files
 * that come with a reload, and a refused client's answer. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "control.h"
#include "copies.h"
#include "quote.h"
#include "safefile.h"

static char out[256];

static void test_quote_sh(void)
{
	CHECK(quote_sh_single("/etc/nfflowd.conf", out, sizeof out) == NULL);
	CHECK_STR(out, "/etc/nfflowd.conf");
	CHECK(quote_sh_single("/a b/$(id) `id` %n 'q'", out, sizeof out) == NULL);
	CHECK_STR(out, "/a b/$(id) `id` %n '\\''q'\\''");
	CHECK(quote_sh_single("/a\nb", out, sizeof out) != NULL);
	CHECK(quote_sh_single("/a\tb", out, sizeof out) != NULL);
	CHECK(quote_sh_single("'''''", out, 8) != NULL); /* does not fit */
}

static void test_quote_systemd(void)
{
	CHECK(quote_systemd_dq("/a b/$HOME %n \"q\" back\\slash `x`", out, sizeof out) == NULL);
	CHECK_STR(out, "/a b/$$HOME %%n \\\"q\\\" back\\\\slash `x`");
	CHECK(quote_systemd_dq("/a\nb", out, sizeof out) != NULL);
	CHECK(quote_systemd_word("/usr/sbin/nfflowd", out, sizeof out) == NULL);
	CHECK_STR(out, "/usr/sbin/nfflowd");
	CHECK(quote_systemd_word("/opt/$x%y/nfflowd", out, sizeof out) == NULL);
	CHECK_STR(out, "/opt/$$x%%y/nfflowd");
	CHECK(quote_systemd_word("/opt/a b/nfflowd", out, sizeof out) != NULL);
	CHECK(quote_systemd_word("/opt/\"/nfflowd", out, sizeof out) != NULL);
	CHECK(quote_systemd_path("/run/a b%n/x.pid", out, sizeof out) == NULL);
	CHECK_STR(out, "/run/a b%%n/x.pid");
	CHECK(quote_systemd_path("/run/x.pid ", out, sizeof out) != NULL);
	CHECK(quote_systemd_path("/run/x\\", out, sizeof out) != NULL);
	CHECK(quote_systemd_path("", out, sizeof out) != NULL);
}

static void test_control_refusal(void)
{
	const uid_t daemon = 65534;

	CHECK(control_refusal("stats", 0, daemon) == NULL);
	CHECK(control_refusal("stats", daemon, daemon) == NULL);
	CHECK(control_refusal("status", daemon, daemon) == NULL);
	CHECK(control_refusal("stop", 0, daemon) == NULL);
	CHECK(control_refusal("reload", 0, daemon) == NULL);
	CHECK_STR(control_refusal("stop", daemon, daemon), "root only");
	CHECK_STR(control_refusal("reload", daemon, daemon), "root only");
	CHECK_STR(control_refusal("reload now", daemon, daemon), "root only");
	CHECK(control_refusal("stopx", daemon, daemon) == NULL); /* unknown: answered as such */
	CHECK(control_refusal("", 1000, daemon) != NULL);
	CHECK(control_refusal("stats", 1000, daemon) != NULL);
	/* A daemon that runs as root (not started as root: its own user). */
	CHECK(control_refusal("stop", 0, 0) == NULL);
}

static void test_status(void)
{
	struct control_status st = {.pid = 4242}, got;
	char buf[12000];

	snprintf(st.config, sizeof st.config, "/etc/a b/nfflowd.conf");
	snprintf(st.pidfile, sizeof st.pidfile, "/run/nfflowd/nfflowd.pid");
	snprintf(st.control, sizeof st.control, "/run/nfflowd/nfflowd.sock");
	control_format_status(&st, buf, sizeof buf);
	CHECK(control_parse_status(buf, &got) == 0);
	CHECK_EQ_U64(got.pid, 4242);
	CHECK_STR(got.config, st.config);
	CHECK_STR(got.pidfile, st.pidfile);
	CHECK_STR(got.control, st.control);
	CHECK(control_parse_status("error permission denied: root only\n", &got) == -1);
	CHECK(control_parse_status("pid 0\nconfig /x\npidfile /y\ncontrol /z\n", &got) == -1);
	CHECK(control_parse_status("pid 12\nconfig /x\npidfile /y\n", &got) == -1);
}

static char dir[64], path[256], sub[256], err[512];

/* A daemon that answers one connection with answer once the command has
 * come, and closes without reading it. Returns its pid; sun names its
 * socket (name, in dir). */
static pid_t answer_once(struct sockaddr_un *sun, const char *name, const char *answer)
{
	*sun = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(sun->sun_path, sizeof sun->sun_path, "%s/%s", dir, name);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)sun, sizeof *sun) == 0 &&
	      listen(lfd, 1) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = accept(lfd, NULL, NULL);
		struct pollfd p = {.fd = cfd, .events = POLLIN};
		bool ok = cfd >= 0 && poll(&p, 1, 5000) == 1;
		ok = ok && write(cfd, answer, strlen(answer)) == (ssize_t)strlen(answer);
		_exit(ok ? 0 : 1);
	}
	close(lfd);
	return pid;
}

static void check_exited(pid_t pid)
{
	int status = -1;

	CHECK(waitpid(pid, &status, 0) == pid && status == 0);
}

/* A daemon that refuses a connection writes its answer and closes with the
 * client's command unread; the client's next read then fails with
 * ECONNRESET. The answer it got before must still count. */
static void test_refused_unread(void)
{
	const char *answer = "error permission denied: only root\n";
	struct sockaddr_un sun;
	char reply[256];
	pid_t pid = answer_once(&sun, "refuse.sock", answer);

	CHECK(control_request(sun.sun_path, "stats", reply, sizeof reply, 5000) == 0);
	CHECK_STR(reply, answer);
	check_exited(pid);
}

/* The longest reply the daemon may write, "stats" with every counter,
 * comes whole into a buffer of CONTROL_REPLY_MAX. */
static void test_long_reply(void)
{
	static char answer[CONTROL_REPLY_MAX], reply[CONTROL_REPLY_MAX];
	struct sockaddr_un sun;

	memset(answer, 'x', sizeof answer - 1);
	answer[sizeof answer - 2] = '\n';
	pid_t pid = answer_once(&sun, "long.sock", answer);
	CHECK(control_request(sun.sun_path, "stats", reply, sizeof reply, 5000) == 0);
	CHECK_EQ_U64(strlen(reply), CONTROL_REPLY_MAX - 1);
	CHECK_STR(reply, answer);
	check_exited(pid);
}

static void test_dir_check(void)
{
	snprintf(path, sizeof path, "%s/safe/x.pid", dir);
	snprintf(sub, sizeof sub, "%s/safe", dir);
	CHECK(mkdir(sub, 0755) == 0);
	CHECK(safefile_dir_check("pid file", path, err, sizeof err) == 0);
	CHECK(chmod(sub, 01777) == 0);
	CHECK(safefile_dir_check("pid file", path, err, sizeof err) == -1);
	CHECK(strstr(err, "is writable by other users (mode 1777)") != NULL);
	CHECK(chmod(sub, 0775) == 0);
	CHECK(safefile_dir_check("pid file", path, err, sizeof err) == (getegid() == 0 ? 0 : -1));
	CHECK(chmod(sub, 0755) == 0);
	/* A sticky, world-writable directory above the last one is fine. */
	snprintf(path, sizeof path, "%s/safe/sub/x.pid", dir);
	CHECK(chmod(sub, 01777) == 0);
	snprintf(sub, sizeof sub, "%s/safe/sub", dir);
	CHECK(mkdir(sub, 0755) == 0);
	CHECK(safefile_dir_check("pid file", path, err, sizeof err) == 0);
	/* safefile_dir_prepare makes a missing last directory, 0755. */
	snprintf(path, sizeof path, "%s/safe/sub/new/x.pid", dir);
	mode_t old = umask(077);
	CHECK(safefile_dir_prepare("pid file", path, err, sizeof err) == 0);
	umask(old);
	struct stat st;
	snprintf(sub, sizeof sub, "%s/safe/sub/new", dir);
	CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
	CHECK(safefile_dir_check("pid file", "/nonexistent-nfflowd/x", err, sizeof err) == -1);
}

static void test_create(void)
{
	struct stat st;
	char target[256];

	snprintf(target, sizeof target, "%s/target", dir);
	snprintf(path, sizeof path, "%s/planted", dir);
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "keep\n", 5) == 5);
	close(fd);
	CHECK(symlink(target, path) == 0);
	CHECK(safefile_create(path, 0644) == -1 && errno == EEXIST);
	CHECK(safefile_open_output(path, true) == -1 && errno == ELOOP);
	CHECK(safefile_open_output(path, false) == -1 && errno == ELOOP);
	CHECK(stat(target, &st) == 0 && st.st_size == 5);
	unlink(path);
	mode_t old = umask(0);
	fd = safefile_create(path, 0644);
	umask(old);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0644);
	close(fd);
	unlink(path);
	old = umask(0);
	fd = safefile_open_output(path, true);
	umask(old);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == SAFEFILE_MODE);
	close(fd);
	CHECK(safefile_open_output(dir, true) == -1); /* a directory */
	unlink(path);
	unlink(target);
}

/* A FIFO no process reads: opening it fails at once (ENXIO), where a
 * blocking open would wait for a reader with the daemon's loop. With a
 * reader it opens, and writes block as for a file. */
static void test_fifo_output(void)
{
	snprintf(path, sizeof path, "%s/fifo", dir);
	CHECK(mkfifo(path, 0600) == 0);
	alarm(5); /* a blocking open never returns: the test dies */
	CHECK(safefile_open_output(path, true) == -1 && errno == ENXIO);
	alarm(0);
	int rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int fd = safefile_open_output(path, true);
	CHECK(rfd >= 0 && fd >= 0);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & (O_NONBLOCK | O_APPEND)) == O_APPEND);
	if (fd >= 0)
		close(fd);
	if (rfd >= 0)
		close(rfd);
	unlink(path);
}

/* Two file copies and a syslog copy: the files come in order. */
static void test_copies_fds(void)
{
	static struct nf_config c;
	struct copies_fds fds;
	int fd[3];

	config_defaults(&c);
	c.ncopies = 3;
	for (size_t i = 0; i < 3; i++) {
		c.copies[i] = c.copies[1]; /* the default syslog copy: min/max levels */
		snprintf(c.copies[i].name, sizeof c.copies[i].name, "c%zu", i);
		snprintf(c.copies[i].path, sizeof c.copies[i].path, "%s/copy%zu.csv", dir, i);
		c.copies[i].kind = i == 1 ? COPY_SYSLOG : COPY_FILE;
		c.copies[i].append = true;
	}
	CHECK_EQ_U64(copies_fds_count(&c), 2);
	CHECK(copies_fds_open(&fds, &c, err, sizeof err) == 0);
	CHECK_EQ_U64(fds.n, 2);
	CHECK_STR(fds.f[1].path, c.copies[2].path);
	fd[0] = fds.f[0].fd;
	fd[1] = fds.f[1].fd;
	/* The daemon's side: they must match the configuration. */
	struct copies_fds taken;
	CHECK(copies_fds_adopt(&taken, &c, fd, 1, err, sizeof err) == -1);
	CHECK(strstr(err, "2 file copies but 1 files") != NULL);
	fd[2] = open("/dev/null", O_RDONLY);
	int keep = fd[1];
	fd[1] = fd[2];
	CHECK(copies_fds_adopt(&taken, &c, fd, 2, err, sizeof err) == -1); /* not a file */
	fd[1] = keep;
	CHECK(copies_fds_adopt(&taken, &c, fd, 2, err, sizeof err) == 0);
	CHECK(fd[0] == -1 && fd[1] == -1);
	CHECK_STR(taken.f[0].path, c.copies[0].path);
	copies_fds_close(&taken);
	close(fd[2]);
	for (size_t i = 0; i < 3; i++)
		unlink(c.copies[i].path);
}

/* The NAT log's file comes after the file copies' (a reload hands it over
 * the same way), created 0640. */
static void test_natlog_fds(void)
{
	static struct nf_config c;
	struct copies_fds fds, taken;
	struct stat st;
	int fd[2];

	config_defaults(&c);
	c.ncopies = 1;
	c.copies[0] = c.copies[1];
	c.copies[0].kind = COPY_FILE;
	snprintf(c.copies[0].path, sizeof c.copies[0].path, "%s/copy.csv", dir);
	c.natlog.enabled = true;
	c.natlog.file = c.copies[0];
	snprintf(c.natlog.file.name, sizeof c.natlog.file.name, "natlog");
	snprintf(c.natlog.file.path, sizeof c.natlog.file.path, "%s/nat.log", dir);
	CHECK_EQ_U64(copies_fds_count(&c), 2);
	CHECK(copies_fds_open(&fds, &c, err, sizeof err) == 0);
	CHECK_EQ_U64(fds.n, 2);
	CHECK_STR(fds.f[1].path, c.natlog.file.path);
	CHECK(stat(c.natlog.file.path, &st) == 0 && (st.st_mode & 07777) == SAFEFILE_MODE);
	fd[0] = fds.f[0].fd;
	fd[1] = fds.f[1].fd;
	CHECK(copies_fds_adopt(&taken, &c, fd, 2, err, sizeof err) == 0);
	CHECK_STR(taken.f[1].path, c.natlog.file.path);
	copies_fds_close(&taken);
	c.natlog.enabled = false;
	CHECK_EQ_U64(copies_fds_count(&c), 1);
	unlink(c.copies[0].path);
	unlink(c.natlog.file.path);
}

/* A full disk: the NAT log's lines are dropped, counted and reported;
 * nothing blocks (the file copy writer behind it, on /dev/full). */
static void test_natlog_disk_full(void)
{
	static struct nf_config c;
	struct copies cp = {.n = 0};
	struct copies_fds fds = {.n = 1};
	char stats[256];

	config_defaults(&c);
	c.natlog.enabled = true;
	c.natlog.file = c.copies[1];
	c.natlog.file.kind = COPY_FILE;
	snprintf(c.natlog.file.name, sizeof c.natlog.file.name, "natlog");
	snprintf(c.natlog.file.path, sizeof c.natlog.file.path, "/dev/full");
	fds.f[0].path = c.natlog.file.path;
	fds.f[0].fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (fds.f[0].fd < 0)
		return; /* no /dev/full here */
	CHECK(copies_open_one(&cp, &c.natlog.file, &fds, err, sizeof err) == 0);
	copies_write(&cp, "{\"event\":\"end\"}", 15, 0);
	copies_write(&cp, "{\"event\":\"end\"}", 15, 0);
	copies_flush(&cp, 1);
	copies_format_stats(&cp, stats, sizeof stats);
	CHECK_STR(stats, "copy natlog: lines 0 dropped 2 waiting 0\n");
	copies_close(&cp);
	copies_fds_close(&fds);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/nfflowd-sec-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0755);
	test_quote_sh();
	test_quote_systemd();
	test_control_refusal();
	test_status();
	test_dir_check();
	test_create();
	test_fifo_output();
	test_copies_fds();
	test_natlog_fds();
	test_natlog_disk_full();
	test_refused_unread();
	test_long_reply();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	CHECK_DONE();
}
