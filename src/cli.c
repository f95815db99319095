#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "offload.h"
#include "control.h"
#include "copies.h"
#include "daemon.h"
#include "kernel.h"
#include "pidfile.h"
#include "privs.h"
#include "quote.h"
#include "templates.h"

#define STOP_WAIT_MS	30000
#define CONTROL_WAIT_MS 10000

static void print_warning(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "nfflowd: warning: %s\n", msg);
}

/* Load path into cfg, printing its warnings; on error print it and return
 * -1. */
static int load(const char *path, struct nf_config *cfg)
{
	char err[512];

	if (config_load(path, cfg, err, sizeof err, print_warning, NULL) == 0)
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
	umask(027);
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

	if (load(path, &cfg) != 0)
		return 1;
	pid_t pid = pidfile_running(cfg.pidfile, cfg.control);
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
		printf("nfflowd started (pid %d)\n",
		       (int)pidfile_running(cfg.pidfile, cfg.control));
	return rc;
}

/* ---- finding the running daemon ------------------------------------------- */

/* The nfflowd that runs with a configuration file, as far as it can be
 * told: its own word on its control socket when it can be asked. */
struct running {
	pid_t pid;		  /* 0: none runs */
	bool verified;		  /* it answered "status" */
	bool moved;		  /* found by its configuration file: the file names other paths */
	struct control_status st; /* its config, pid file and socket */
};

/* The path of the listening Unix socket with inode ino, from
 * /proc/net/unix (this network namespace's). Returns 0, or -1. */
static int unix_path(unsigned long ino, char *path, size_t len)
{
	static char line[4096 + 256];
	FILE *f = fopen("/proc/net/unix", "re");
	int rc = -1;

	while (f && rc != 0 && fgets(line, sizeof line, f)) {
		unsigned long flags, inode;
		int off = 0;
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %lu %n", &flags, &inode, &off) < 2 ||
		    inode != ino || !(flags & 0x10000) || off == 0 || line[off] != '/')
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, len, "%s", line + off);
		rc = 0;
	}
	if (f)
		fclose(f);
	return rc;
}

/* pid's control socket, if it answers and runs with the file real. */
static bool serves(pid_t pid, const char *real, struct control_status *st)
{
	char dir[64], link[64], path[108];
	unsigned long ino;
	struct dirent *e;
	bool found = false;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	DIR *dp = opendir(dir);
	while (dp && !found && (e = readdir(dp))) {
		char fd[320];
		snprintf(fd, sizeof fd, "%s/%s", dir, e->d_name);
		ssize_t n = readlink(fd, link, sizeof link - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) != 1 ||
		    unix_path(ino, path, sizeof path) != 0)
			continue;
		found = control_ask_status(path, st, CONTROL_WAIT_MS) == 0 && st->pid == pid &&
			strcmp(st->config, real) == 0;
	}
	if (dp)
		closedir(dp);
	return found;
}

/* An nfflowd that reads the file path but uses another pid file or control
 * socket than the file names now (it was changed since that daemon
 * started): found through the sockets it listens on. Needs root. */
static void find_moved(const char *path, struct running *r)
{
	char real[PATH_MAX];
	struct dirent *e;
	DIR *dp = realpath(path, real) ? opendir("/proc") : NULL;

	while (dp && !r->pid && (e = readdir(dp))) {
		char *end;
		long v = strtol(e->d_name, &end, 10);
		if (*end || v <= 0 || v == getpid() || !pidfile_is_nfflowd((pid_t)v))
			continue;
		if (serves((pid_t)v, real, &r->st)) {
			r->pid = (pid_t)v;
			r->verified = r->moved = true;
		}
	}
	if (dp)
		closedir(dp);
}

static void find_daemon(const char *path, const struct nf_config *cfg, struct running *r)
{
	memset(r, 0, sizeof *r);
	if (control_ask_status(cfg->control, &r->st, CONTROL_WAIT_MS) == 0) {
		r->pid = r->st.pid;
		r->verified = true;
		return;
	}
	if (control_unserved(errno)) { /* none serves it: one that moved, or none */
		find_moved(path, r);
		return;
	}
	/* It cannot be asked (no permission, no answer): the pid file and the
	 * process's name. */
	r->pid = pidfile_read_nfflowd(cfg->pidfile);
	snprintf(r->st.pidfile, sizeof r->st.pidfile, "%s", cfg->pidfile);
	snprintf(r->st.control, sizeof r->st.control, "%s", cfg->control);
}

static void note_moved(const struct running *r, const struct nf_config *cfg)
{
	if (r->moved)
		fprintf(stderr,
			"nfflowd: pid %d runs with this file, but with pid file %s and control "
			"socket %s (the file now says %s and %s)\n",
			(int)r->pid, r->st.pidfile, r->st.control, cfg->pidfile, cfg->control);
}

/* A pid file that no running daemon answers for: removed, if allowed. */
static void remove_stale(const struct nf_config *cfg)
{
	pid_t pid = pidfile_read(cfg->pidfile);

	if (pid && unlink(cfg->pidfile) == 0)
		printf("removed the stale pid file %s (no nfflowd answers for pid %d)\n",
		       cfg->pidfile, (int)pid);
}

/* ---- stop, restart -------------------------------------------------------- */

static bool gone(pid_t pid)
{
	return kill(pid, 0) != 0 && errno == ESRCH;
}

static int wait_gone(pid_t pid)
{
	for (int waited = 0; !gone(pid); waited += 100) {
		if (waited >= STOP_WAIT_MS) {
			fprintf(stderr, "nfflowd: pid %d did not stop within %d s\n", (int)pid,
				STOP_WAIT_MS / 1000);
			return 1;
		}
		sleep_ms(100);
	}
	return 0;
}

/* Ask the daemon to stop over its socket; without an answer, root signals
 * it (a pid that names a live nfflowd). Returns 0 once asked. */
static int ask_stop(const struct running *r)
{
	char reply[512];

	if (control_request(r->st.control, "stop", reply, sizeof reply, CONTROL_WAIT_MS) == 0) {
		if (strncmp(reply, "ok", 2) == 0)
			return 0;
		fprintf(stderr, "nfflowd: stop refused: %s%s", reply,
			reply[0] && reply[strlen(reply) - 1] == '\n' ? "" : "\n");
		return 1;
	}
	int e = errno;
	if (geteuid() != 0 || r->verified) {
		fprintf(stderr, "nfflowd: no answer on %s: %s\n", r->st.control, strerror(e));
		return 1;
	}
	fprintf(stderr, "nfflowd: no answer on %s (%s): sending SIGTERM to pid %d\n", r->st.control,
		strerror(e), (int)r->pid);
	if (kill(r->pid, SIGTERM) != 0) {
		fprintf(stderr, "nfflowd: cannot stop pid %d: %s\n", (int)r->pid, strerror(errno));
		return 1;
	}
	return 0;
}

int cli_stop(const char *path)
{
	static struct nf_config cfg;
	struct running r;

	locations(path, &cfg);
	find_daemon(path, &cfg, &r);
	if (!r.pid) {
		printf("nfflowd is not running (%s)\n", cfg.pidfile);
		remove_stale(&cfg);
		return 0;
	}
	note_moved(&r, &cfg);
	if (ask_stop(&r) != 0 || wait_gone(r.pid) != 0)
		return 1;
	/* An unprivileged daemon cannot remove its files from /run. */
	pidfile_remove(r.st.pidfile, r.pid);
	control_unlink(r.st.control);
	printf("nfflowd stopped (pid %d)\n", (int)r.pid);
	return 0;
}

int cli_restart(const char *path, bool foreground, const char *record)
{
	int rc = cli_stop(path);

	return rc != 0 ? rc : cli_start(path, foreground, record);
}

/* ---- reload --------------------------------------------------------------- */

/* The text in a sealed memory file: what the daemon reads is what was
 * checked here, and no one can change it. Returns the fd, or -1. */
static int text_memfd(const char *text, size_t len)
{
	int fd = memfd_create("nfflowd.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t off = 0;

	while (fd >= 0 && off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (fd >= 0 &&
	    (off != len || fcntl(fd, F_ADD_SEALS, CONTROL_TEXT_SEALS | F_SEAL_SEAL) != 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The reload stops before the daemon is asked: err says why. */
static void refuse_reload(const char *err)
{
	fprintf(stderr,
		"nfflowd: %s\nnfflowd: reload refused: the running nfflowd keeps its "
		"configuration\n",
		err);
}

/* The configuration file's text, checked. Returns it (to free), or NULL
 * after printing the error. */
static char *checked_text(const char *path, struct nf_config *cfg, size_t *len)
{
	char err[512];
	char *text = config_read(path, len, err, sizeof err);

	if (text && config_parse(text, *len, path, cfg, err, sizeof err, print_warning, NULL) == 0)
		return text;
	free(text);
	refuse_reload(err);
	return NULL;
}

/* Hand the daemon the text and the files of its copies, opened here (as
 * root: the daemon may not be allowed to). */
static int hand_over(const struct running *r, const struct nf_config *cfg, const char *text,
		     size_t len)
{
	static struct copies_fds fds;
	int fdv[CONTROL_MAX_FDS];
	char reply[2048], err[512];

	if (copies_fds_open(&fds, cfg, err, sizeof err) != 0) {
		refuse_reload(err);
		return 1;
	}
	fdv[0] = text_memfd(text, len);
	for (size_t i = 0; i < fds.n; i++)
		fdv[1 + i] = fds.f[i].fd;
	int rc = fdv[0] < 0 ? -1
			    : control_request_fds(r->st.control, "reload", fdv, 1 + fds.n, reply,
						  sizeof reply, CONTROL_WAIT_MS);
	int e = errno;
	if (fdv[0] >= 0)
		close(fdv[0]);
	copies_fds_close(&fds);
	if (rc != 0) {
		fprintf(stderr, "nfflowd: no answer on %s: %s\n", r->st.control, strerror(e));
		return 1;
	}
	bool ok = strncmp(reply, "ok ", 3) == 0;
	fprintf(ok ? stdout : stderr, "nfflowd: %s", ok ? reply + 3 : reply);
	return ok ? 0 : 1;
}

int cli_reload(const char *path)
{
	static struct nf_config cfg;
	struct running r;
	size_t len;
	char *text = checked_text(path, &cfg, &len);

	if (!text)
		return 1;
	find_daemon(path, &cfg, &r);
	int rc = 1;
	if (!r.pid)
		fprintf(stderr, "nfflowd: not running (%s): nothing to reload\n", cfg.pidfile);
	else
		rc = hand_over(&r, &cfg, text, len);
	free(text);
	return rc;
}

/* ---- check ---------------------------------------------------------------- */

static const char *setting(int v)
{
	return v == 1 ? "1" : v == 0 ? "0 (off)" : v == 2 ? "2 (only with a listener)" : "unknown";
}

/* offload_say_fn: check prints what it finds about flow offload. */
static void offload_print(void *ctx, bool warning, const char *msg)
{
	(void)ctx;
	printf("%s%s\n", warning ? "warning: " : "", msg);
}

static void report_kernel(void)
{
	struct kernel_settings k;

	kernel_read(&k);
	printf("kernel: nf_conntrack_acct=%s nf_conntrack_timestamp=%s nf_conntrack_events=%s\n",
	       setting(k.acct), setting(k.timestamp), setting(k.events));
	offload_check(offload_print, NULL, true);
}

static void report_daemon(const char *path, const struct nf_config *cfg)
{
	static char reply[CONTROL_REPLY_MAX];
	struct running r;

	find_daemon(path, cfg, &r);
	if (!r.pid) {
		printf("nfflowd is not running (%s)\n", cfg->pidfile);
		return;
	}
	printf("nfflowd is running (pid %d)\n", (int)r.pid);
	note_moved(&r, cfg);
	if (control_request(r.st.control, "stats", reply, sizeof reply, CONTROL_WAIT_MS) != 0) {
		printf("counters: no answer on %s: %s\n", r.st.control, strerror(errno));
		return;
	}
	fputs(reply, stdout);
}

/* The user the daemon will run as must exist and not be root; the default
 * user may be missing (the daemon then runs as nobody, and warns). */
static int check_user(const char *path, const struct nf_config *cfg)
{
	char err[512];
	uid_t uid = 1;
	gid_t gid;

	if (privs_lookup_unprivileged(cfg->user, &uid, &gid, err, sizeof err) == 0)
		return 0;
	if (uid != 0 && strcmp(cfg->user, CONFIG_DEFAULT_USER) == 0) {
		fprintf(stderr,
			"nfflowd: warning: %s: user '%s' does not exist: nfflowd will run "
			"as nobody\n",
			path, cfg->user);
		return 0;
	}
	fprintf(stderr, "nfflowd: %s: %s\n", path, err);
	return -1;
}

int cli_check(const char *path)
{
	static struct nf_config cfg;
	int rc = 0;

	if (load(path, &cfg) == 0 && check_user(path, &cfg) == 0) {
		printf("%s: configuration OK (%zu collector(s), ttl %u s%s%s)\n", path,
		       cfg.ncollectors, cfg.ttl, cfg.natlog.enabled ? ", NAT log " : "",
		       cfg.natlog.enabled ? cfg.natlog.file.path : "");
	} else {
		rc = 1;
		locations(path, &cfg);
	}
	report_daemon(path, &cfg);
	report_kernel();
	return rc;
}

/* ---- install -------------------------------------------------------------- */

/* A placeholder of a template and what takes its place. */
struct fill {
	const char *key; /* "@CONFIG@" */
	char value[PATH_MAX * 4];
};

/* Write template with its placeholders filled in to dest. */
static int write_template(const char *tmpl, const char *dest, mode_t mode, const struct fill *fills,
			  size_t n)
{
	FILE *f = fopen(dest, "we");

	if (!f) {
		fprintf(stderr, "nfflowd: cannot write %s: %s\n", dest, strerror(errno));
		return -1;
	}
	for (const char *p = tmpl; *p; p++) {
		size_t i = 0;
		while (i < n && strncmp(p, fills[i].key, strlen(fills[i].key)) != 0)
			i++;
		if (i == n) {
			fputc(*p, f);
			continue;
		}
		fputs(fills[i].value, f);
		p += strlen(fills[i].key) - 1;
	}
	if (fclose(f) != 0 || chmod(dest, mode) != 0) {
		fprintf(stderr, "nfflowd: cannot write %s: %s\n", dest, strerror(errno));
		return -1;
	}
	printf("wrote %s\n", dest);
	return 0;
}

typedef const char *(*quote_fn)(const char *s, char *out, size_t len);

/* fill->value = quote(value); an error names what cannot be installed. */
static int quote_into(struct fill *fill, const char *key, const char *what, const char *value,
		      quote_fn quote)
{
	char shown[PATH_MAX];

	fill->key = key;
	const char *why = quote(value, fill->value, sizeof fill->value);
	if (!why)
		return 0;
	snprintf(shown, sizeof shown, "%s", value);
	for (char *p = shown; *p; p++) /* a newline in a message would hide what follows */
		*p = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
	fprintf(stderr,
		"nfflowd: cannot install: the %s '%s' cannot be written safely into %s: %s\n", what,
		shown, quote == quote_sh_single ? "the init script" : "the systemd unit", why);
	return -1;
}

static int fill_all(struct fill fills[3], const char *config, const char *pidfile, quote_fn program,
		    quote_fn conf, quote_fn pid)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n <= 0) {
		fprintf(stderr, "nfflowd: cannot find its own program: %s\n", strerror(errno));
		return -1;
	}
	self[n] = '\0';
	return quote_into(&fills[0], "@NFFLOWD@", "program", self, program) == 0 &&
		       quote_into(&fills[1], "@CONFIG@", "configuration file", config, conf) == 0 &&
		       quote_into(&fills[2], "@PIDFILE@", "pid file", pidfile, pid) == 0
		   ? 0
		   : -1;
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

/* The unit lets nfflowd write only below these (RuntimeDirectory=,
 * LogsDirectory=): warn about what the configuration puts elsewhere. */
static void warn_unwritable(const struct nf_config *cfg)
{
	static const char *const dirs[] = {"/run/nfflowd/", "/var/log/nfflowd/"};
	const char *paths[2 + CONFIG_MAX_COPIES + 1] = {cfg->pidfile, cfg->control};
	size_t n = 2;

	for (size_t i = 0; i < cfg->ncopies; i++)
		if (cfg->copies[i].kind == COPY_FILE)
			paths[n++] = cfg->copies[i].path;
	if (cfg->natlog.enabled)
		paths[n++] = cfg->natlog.file.path;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(paths[i], dirs[0], strlen(dirs[0])) == 0 ||
		    strncmp(paths[i], dirs[1], strlen(dirs[1])) == 0)
			continue;
		fprintf(stderr,
			"nfflowd: warning: %s is outside /run/nfflowd and /var/log/nfflowd, the "
			"only places the unit lets nfflowd write to (add ReadWritePaths= in a "
			"drop-in: systemctl edit nfflowd)\n",
			paths[i]);
	}
}

static int install_systemd(const char *config, const struct nf_config *cfg)
{
	static const char *const reload[] = {"systemctl", "daemon-reload", NULL};
	static const char *const enable[] = {"systemctl", "enable", "nfflowd.service", NULL};
	static struct fill fills[3];

	if (fill_all(fills, config, cfg->pidfile, quote_systemd_word, quote_systemd_dq,
		     quote_systemd_path) != 0)
		return 1;
	warn_unwritable(cfg);
	if (write_template(unit_template, "/etc/systemd/system/nfflowd.service", 0644, fills, 3) !=
		0 ||
	    run_cmd(reload) != 0 || run_cmd(enable) != 0)
		return 1;
	printf("enabled nfflowd.service: it starts at boot; now: systemctl start nfflowd\n");
	return 0;
}

static int install_sysv(const char *config, const struct nf_config *cfg)
{
	static const char *const defaults[] = {"update-rc.d", "nfflowd", "defaults", NULL};
	static struct fill fills[3];

	if (fill_all(fills, config, cfg->pidfile, quote_sh_single, quote_sh_single,
		     quote_sh_single) != 0 ||
	    write_template(init_template, "/etc/init.d/nfflowd", 0755, fills, 3) != 0)
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

	if (load(path, &cfg) != 0)
		return 1;
	if (!realpath(path, config)) {
		fprintf(stderr, "nfflowd: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (is_dir("/run/systemd/system"))
		return install_systemd(config, &cfg);
	if (is_dir("/etc/init.d"))
		return install_sysv(config, &cfg);
	fprintf(stderr,
		"nfflowd: neither systemd nor /etc/init.d found: start '%s -c %s start' "
		"from your init system\n",
		"nfflowd", config);
	return 1;
}
