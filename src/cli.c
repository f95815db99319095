#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "replay.h"
#include "kernel.h"
#include "pidfile.h"
#include "templates.h"

#define STOP_WAIT_MS	30000
#define CONTROL_WAIT_MS 10000

static void print_warning(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "nfflowd: warning: %s\n", msg);
}

/* Load path into cfg; on error print it and return -1. */
static int load(const char *path, struct nf_config *cfg, bool quiet)
{
	char err[512];

	if (config_load(path, cfg, err, sizeof err, quiet ? NULL : print_warning, NULL) == 0)
		return 0;
	fprintf(stderr, "nfflowd: %s\n", err);
	return -1;
}

/* The pid file and control socket of path: its own, or the defaults when
 * the file cannot be read (so that stop still works after a bad edit). */
static void locations(const char *path, struct nf_config *cfg)
{
	char err[512];

	if (config_load(path, cfg, err, sizeof err, NULL, NULL) != 0) {
		config_defaults(cfg);
		fprintf(stderr, "nfflowd: %s (using %s)\n", err, cfg->pidfile);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---- start ---------------------------------------------------------------- */

/* Read the daemon's "ok" or its reason for failing from the pipe. */
static int wait_ready(int fd, pid_t child)
{
	char msg[1024];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof msg - 1 && (n = read(fd, msg + len, sizeof msg - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	msg[len] = '\0';
	close(fd);
	waitpid(child, NULL, 0);
	if (strcmp(msg, "ok\n") == 0)
		return 0;
	fprintf(stderr, "nfflowd: could not start: %s%s", len ? msg : "it exited during start-up",
		len && msg[len - 1] == '\n' ? "" : "\n");
	return 1;
}

/* Second child: the daemon, in its own session, detached from the terminal,
 * keeping no descriptor of whoever started it but the readiness pipe. */
static void become_daemon(const char *path, int ready_fd, const char *record)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fork() != 0)
		_exit(0);
	if (ready_fd <= STDERR_FILENO)
		ready_fd = fcntl(ready_fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (chdir("/") != 0 || null < 0 || ready_fd < 0) {
		dprintf(ready_fd, "cannot detach: %s\n", strerror(errno));
		_exit(1);
	}
	umask(022);
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (ready_fd > STDERR_FILENO + 1)
		close_range(STDERR_FILENO + 1, (unsigned)ready_fd - 1, 0);
	close_range((unsigned)ready_fd + 1, ~0u, 0);
	struct daemon_opts opts = {.foreground = false, .ready_fd = ready_fd, .record = record};
	_exit(daemon_run(path, &opts));
}

static int detach(const char *path, const char *record)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0) {
		perror("nfflowd: pipe");
		return 1;
	}
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		perror("nfflowd: fork");
		return 1;
	}
	if (child == 0) {
		close(p[0]);
		setsid();
		become_daemon(path, p[1], record);
	}
	close(p[1]);
	return wait_ready(p[0], child);
}

int cli_start(const char *path, bool foreground, const char *record)
{
	static struct nf_config cfg;
	char abs[PATH_MAX], conf[PATH_MAX];

	if (load(path, &cfg, false) != 0)
		return 1;
	pid_t pid = pidfile_running(cfg.pidfile);
	if (pid) {
		fprintf(stderr, "nfflowd: already running (pid %d, %s)\n", (int)pid, cfg.pidfile);
		return 1;
	}
	/* The daemon works in / and reads the file again on reload. */
	if (realpath(path, conf))
		path = conf;
	/* The daemon works in /: a relative recording path would move. */
	if (record && record[0] != '/' && getcwd(abs, sizeof abs) &&
	    strlen(abs) + strlen(record) + 2 <= sizeof abs) {
		strcat(strcat(abs, "/"), record);
		record = abs;
	}
	struct daemon_opts opts = {.foreground = true, .ready_fd = -1, .record = record};
	if (foreground)
		return daemon_run(path, &opts);
	int rc = detach(path, record);
	if (rc == 0)
		printf("nfflowd started (pid %d)\n", (int)pidfile_running(cfg.pidfile));
	return rc;
}

/* ---- stop, restart -------------------------------------------------------- */

static bool gone(pid_t pid)
{
	return kill(pid, 0) != 0 && errno == ESRCH;
}

int cli_stop(const char *path)
{
	static struct nf_config cfg;

	locations(path, &cfg);
	pid_t pid = pidfile_running(cfg.pidfile);
	if (!pid) {
		printf("nfflowd is not running (%s)\n", cfg.pidfile);
		return 0;
	}
	if (kill(pid, SIGTERM) != 0) {
		fprintf(stderr, "nfflowd: cannot stop pid %d: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	for (int waited = 0; !gone(pid); waited += 100) {
		if (waited >= STOP_WAIT_MS) {
			fprintf(stderr, "nfflowd: pid %d did not stop within %d s\n", (int)pid,
				STOP_WAIT_MS / 1000);
			return 1;
		}
		sleep_ms(100);
	}
	/* An unprivileged daemon cannot remove its files from /run. */
	pidfile_remove(cfg.pidfile, pid);
	unlink(cfg.control);
	printf("nfflowd stopped (pid %d)\n", (int)pid);
	return 0;
}

int cli_restart(const char *path, bool foreground, const char *record)
{
	int rc = cli_stop(path);

	return rc != 0 ? rc : cli_start(path, foreground, record);
}

int cli_replay(const char *path, const char *file)
{
	return replay_run(path, file);
}

/* ---- reload, check -------------------------------------------------------- */

int cli_reload(const char *path)
{
	static struct nf_config cfg;
	char reply[1024];

	if (load(path, &cfg, false) != 0) {
		fprintf(stderr, "nfflowd: reload refused: the running nfflowd keeps its "
				"configuration\n");
		return 1;
	}
	pid_t pid = pidfile_running(cfg.pidfile);
	if (!pid) {
		fprintf(stderr, "nfflowd: not running (%s): nothing to reload\n", cfg.pidfile);
		return 1;
	}
	if (control_request(cfg.control, "reload", reply, sizeof reply, CONTROL_WAIT_MS) != 0) {
		fprintf(stderr, "nfflowd: no answer on %s: %s\n", cfg.control, strerror(errno));
		return 1;
	}
	bool ok = strncmp(reply, "ok ", 3) == 0;
	fprintf(ok ? stdout : stderr, "nfflowd: %s", ok ? reply + 3 : reply);
	return ok ? 0 : 1;
}

static const char *setting(int v)
{
	return v == 1 ? "1" : v == 0 ? "0 (off)" : v == 2 ? "2 (only with a listener)" : "unknown";
}

static void report_kernel(void)
{
	struct kernel_settings k;

	kernel_read(&k);
	printf("kernel: nf_conntrack_acct=%s nf_conntrack_timestamp=%s nf_conntrack_events=%s\n",
	       setting(k.acct), setting(k.timestamp), setting(k.events));
}

static void report_daemon(const struct nf_config *cfg)
{
	char reply[4096];
	pid_t pid = pidfile_running(cfg->pidfile);

	if (!pid) {
		printf("nfflowd is not running (%s)\n", cfg->pidfile);
		return;
	}
	printf("nfflowd is running (pid %d)\n", (int)pid);
	if (control_request(cfg->control, "stats", reply, sizeof reply, CONTROL_WAIT_MS) != 0) {
		printf("counters: no answer on %s: %s\n", cfg->control, strerror(errno));
		return;
	}
	fputs(reply, stdout);
}

int cli_check(const char *path)
{
	static struct nf_config cfg;
	int rc = 0;

	if (load(path, &cfg, false) == 0) {
		printf("%s: configuration OK (%zu collector(s), ttl %u s)\n", path, cfg.ncollectors,
		       cfg.ttl);
	} else {
		rc = 1;
		locations(path, &cfg);
	}
	report_daemon(&cfg);
	report_kernel();
	return rc;
}

/* ---- install -------------------------------------------------------------- */

/* Write template with @NFFLOWD@, @CONFIG@ and @PIDFILE@ filled in to dest. */
static int write_template(const char *tmpl, const char *dest, mode_t mode, const char *config,
			  const char *pidfile)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	FILE *f = fopen(dest, "we");

	if (n <= 0 || !f) {
		fprintf(stderr, "nfflowd: cannot write %s: %s\n", dest, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	self[n] = '\0';
	for (const char *p = tmpl; *p; p++) {
		if (strncmp(p, "@NFFLOWD@", 9) == 0 && (fputs(self, f), p += 8, 1))
			continue;
		if (strncmp(p, "@CONFIG@", 8) == 0 && (fputs(config, f), p += 7, 1))
			continue;
		if (strncmp(p, "@PIDFILE@", 9) == 0 && (fputs(pidfile, f), p += 8, 1))
			continue;
		fputc(*p, f);
	}
	if (fclose(f) != 0 || chmod(dest, mode) != 0) {
		fprintf(stderr, "nfflowd: cannot write %s: %s\n", dest, strerror(errno));
		return -1;
	}
	printf("wrote %s\n", dest);
	return 0;
}

static int run_cmd(const char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "nfflowd: '%s %s' failed\n", argv[0], argv[1]);
		return -1;
	}
	return 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int install_systemd(const char *config, const char *pidfile)
{
	static const char *const reload[] = {"systemctl", "daemon-reload", NULL};
	static const char *const enable[] = {"systemctl", "enable", "nfflowd.service", NULL};

	if (write_template(unit_template, "/etc/systemd/system/nfflowd.service", 0644, config,
			   pidfile) != 0 ||
	    run_cmd(reload) != 0 || run_cmd(enable) != 0)
		return 1;
	printf("enabled nfflowd.service: it starts at boot; now: systemctl start nfflowd\n");
	return 0;
}

static int install_sysv(const char *config, const char *pidfile)
{
	static const char *const defaults[] = {"update-rc.d", "nfflowd", "defaults", NULL};

	if (write_template(init_template, "/etc/init.d/nfflowd", 0755, config, pidfile) != 0)
		return 1;
	if (access("/usr/sbin/update-rc.d", X_OK) == 0) {
		if (run_cmd(defaults) != 0)
			return 1;
		printf("linked /etc/init.d/nfflowd into the default runlevels\n");
	} else {
		printf("link /etc/init.d/nfflowd into your runlevels to start it at boot\n");
	}
	return 0;
}

int cli_install(const char *path)
{
	static struct nf_config cfg;
	char config[PATH_MAX];

	if (load(path, &cfg, false) != 0)
		return 1;
	if (!realpath(path, config)) {
		fprintf(stderr, "nfflowd: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (is_dir("/run/systemd/system"))
		return install_systemd(config, cfg.pidfile);
	if (is_dir("/etc/init.d"))
		return install_sysv(config, cfg.pidfile);
	fprintf(stderr,
		"nfflowd: neither systemd nor /etc/init.d found: start '%s -c %s start' "
		"from your init system\n",
		"nfflowd", config);
	return 1;
}
