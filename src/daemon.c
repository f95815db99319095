#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "ctmsg.h"
#include "kernel.h"
#include "log.h"
#include "nlsock.h"
#include "output.h"
#include "pcapnl.h"
#include "pidfile.h"
#include "privs.h"
#include "tracker.h"

#define NS_PER_MS	1000000ull
#define NS_PER_S	1000000000ull
#define RXBUF_SIZE	(256u * 1024u)
#define EXPIRE_EVERY_NS (60 * NS_PER_S)
#define RCVBUF_CAP	(256u << 20)

/* Set by the signal handlers, read by the loop: nothing else happens there. */
static volatile sig_atomic_t got_stop, got_hup, got_usr1;

struct daemon_stats {
	uint64_t nl_datagrams;
	uint64_t nl_overruns;
	uint64_t parse_errors;
	uint64_t dumps, dump_errors;
	uint64_t filtered; /* messages of connections the filter leaves out */
};

#define MAX_CLIENTS	  4
#define CLIENT_TIMEOUT_NS (2 * NS_PER_S)

struct ctl_client {
	int fd;
	size_t len;
	char buf[CONTROL_CMD_MAX];
	uint64_t due_ns; /* dropped if no whole command came by then */
};

struct daemon {
	struct nf_config *cfg; /* swapped whole on reload */
	const char *path;
	struct daemon_opts opts;
	const char *user; /* whom it runs as: cfg->user, or nobody */
	bool foreground;
	struct kernel_settings ks;
	struct mnl_socket *ev;
	size_t rcvbuf;
	struct mnl_socket *dump;
	uint32_t dump_seq;
	bool ready;
	int ctl; /* the control socket */
	struct ctl_client clients[MAX_CLIENTS];
	size_t nclients;
	char pidfile[CONFIG_PATH_MAX];
	char ctlpath[CONFIG_SOCKET_MAX];
	struct tracker tr;
	struct output out;
	bool out_open;
	uint64_t boot_ms;
	bool resync_wanted; /* an overrun asks for a dump */
	uint64_t overrun_logged_ns, overruns_logged;
	bool replaying;	    /* input from a recording, not the kernel */
	uint64_t replay_ns; /* the recording's time: the clock while replaying */
	FILE *rec;	    /* -w: every datagram received goes here */
	uint64_t rec_errors;
	uint64_t next_resync_ns, next_expire_ns, next_active_ns;
	struct daemon_stats st;
	uint8_t rx[RXBUF_SIZE];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* The time, Unix epoch ns; a recording's own time while replaying it. */
static uint64_t now_real(const struct daemon *d)
{
	return d->replaying ? d->replay_ns : clock_ns(CLOCK_REALTIME);
}

static uint64_t now_mono(const struct daemon *d)
{
	return d->replaying ? d->replay_ns : clock_ns(CLOCK_MONOTONIC);
}

/* output_clock_fn */
static uint64_t output_now(void *ctx)
{
	return now_real(ctx);
}

static void on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	got_hup = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/* Block the signals outside ppoll, so that they only interrupt the wait. */
static void signals_setup(sigset_t *waitmask)
{
	struct sigaction sa = {0};
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGHUP);
	sigdelset(waitmask, SIGUSR1);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* ---- what the tracker hands over ------------------------------------ */

/* tracker_emit_fn: a connection's records. */
static void on_conn(void *ctx, const struct ct_event *ev, const struct flow_rec *recs, size_t n,
		    bool interim)
{
	struct daemon *d = ctx;

	output_conn(&d->out, ev, recs, n, interim, now_mono(d));
}

/* tracker_new_fn: a new connection, for NAT create events. */
static void on_new(void *ctx, const struct ct_event *ev, uint64_t t_ms)
{
	struct daemon *d = ctx;

	if (d->out.nat_events) /* no clock read for what no collector wants */
		output_nat_create(&d->out, ev, t_ms, now_mono(d));
}

/* ---- netlink ------------------------------------------------------------ */

static void dump_start(struct daemon *d, bool startup)
{
	if (d->dump)
		return;
	d->dump = nlsock_open_dump(++d->dump_seq);
	if (!d->dump) {
		d->st.dump_errors++;
		log_warn("cannot dump the conntrack table");
		return;
	}
	d->st.dumps++;
	tracker_dump_begin(&d->tr, startup);
}

static void drain_events(struct daemon *d);

static void dump_finish(struct daemon *d, int error)
{
	nlsock_close(d->dump);
	d->dump = NULL;
	if (error) {
		d->st.dump_errors++;
		errno = error;
		log_warn("conntrack table dump failed");
		tracker_dump_abort(&d->tr);
		return;
	}
	/* A connection missing from the dump whose DESTROY was sent is in the
	 * event queue now: handle it before deciding it ended unseen. */
	drain_events(d);
	size_t ended = tracker_dump_end(&d->tr, now_real(d));
	if (ended)
		log_info("%zu connections from the start-up dump ended without an event", ended);
}

static void handle_msg(struct daemon *d, const struct nlmsghdr *nlh, uint64_t now_ns)
{
	struct ct_event ev;
	enum ctmsg_result r = ctmsg_parse(nlh, &ev);

	if (r != CTMSG_OK) {
		d->st.parse_errors += r != CTMSG_NOT_CT;
		return;
	}
	if (!filter_match(&d->cfg->filter, &ev)) {
		d->st.filtered++;
		return;
	}
	tracker_event(&d->tr, &ev, now_ns);
}

/* Returns 1 when a dump ended (NLMSG_DONE or error), else 0. */
static int handle_buffer(struct daemon *d, const void *buf, size_t len, int *dump_error)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;
	uint64_t now_ns = now_real(d);

	/* mnl_nlmsg_ok compares lengths as int: refuse a length beyond the rest. */
	for (; mnl_nlmsg_ok(nlh, rem) && nlh->nlmsg_len <= (uint32_t)rem;
	     nlh = mnl_nlmsg_next(nlh, &rem)) {
		if (nlh->nlmsg_type == NLMSG_DONE)
			return 1;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e) || e->error == 0)
				continue;
			*dump_error = -e->error;
			return 1;
		}
		handle_msg(d, nlh, now_ns);
	}
	return 0;
}

#define OVERRUN_LOG_EVERY_NS (60 * NS_PER_S)

/* The kernel dropped events: count it, grow the buffer (to a cap), ask for a
 * dump. Logged when it first happens, then at most once a minute. */
static void overrun(struct daemon *d)
{
	uint64_t mono = now_mono(d);
	size_t cap = d->cfg->rcvbuf > RCVBUF_CAP ? d->cfg->rcvbuf : RCVBUF_CAP;
	size_t want = d->rcvbuf * 2 > cap ? cap : d->rcvbuf * 2;
	size_t got = want > d->rcvbuf ? nlsock_set_rcvbuf(d->ev, want) : 0;

	d->st.nl_overruns++;
	/* The table is dumped again (at most once per resync_interval, so that
	 * dumps do not add to an overload) to refresh what the tracker
	 * remembers; a DESTROY the kernel dropped cannot be brought back. */
	d->resync_wanted = true;
	if (got > d->rcvbuf)
		d->rcvbuf = got;
	if (d->overruns_logged && mono < d->overrun_logged_ns + OVERRUN_LOG_EVERY_NS)
		return;
	log_warnx("netlink overrun: the kernel dropped conntrack events (%" PRIu64
		  " overruns, %" PRIu64 " since the last report); receive buffer now %zu bytes "
		  "(cap %zu); the table is dumped again",
		  d->st.nl_overruns, d->st.nl_overruns - d->overruns_logged, d->rcvbuf, cap);
	d->overruns_logged = d->st.nl_overruns;
	d->overrun_logged_ns = mono;
}

/* -w: append a received datagram to the recording. */
static void record(struct daemon *d, const void *buf, size_t len)
{
	uint8_t hdr[PCAPNL_RECORD_HEADER_LEN + PCAPNL_COOKED_LEN];

	if (!d->rec || len > PCAPNL_SNAPLEN - PCAPNL_COOKED_LEN)
		return;
	pcapnl_record_header(hdr, now_real(d), len);
	if (fwrite(hdr, sizeof hdr, 1, d->rec) == 1 && fwrite(buf, len, 1, d->rec) == 1)
		return;
	if (d->rec_errors++ == 0)
		log_warn("recording stopped: cannot write");
	fclose(d->rec);
	d->rec = NULL;
}

static void drain_events(struct daemon *d)
{
	for (;;) {
		ssize_t n = nlsock_recv(d->ev, d->rx, sizeof d->rx);
		if (n == 0)
			return;
		if (n < 0 && errno == ENOBUFS) {
			overrun(d);
			continue;
		}
		if (n < 0) {
			log_warn("netlink receive");
			return;
		}
		int err = 0;
		d->st.nl_datagrams++;
		record(d, d->rx, (size_t)n);
		handle_buffer(d, d->rx, (size_t)n, &err);
	}
}

static void read_dump(struct daemon *d)
{
	/* A bounded number of datagrams per turn, so events keep flowing. */
	for (int i = 0; i < 64 && d->dump; i++) {
		ssize_t n = nlsock_recv(d->dump, d->rx, sizeof d->rx);
		if (n == 0)
			return;
		if (n < 0) {
			dump_finish(d, errno);
			return;
		}
		int err = 0;
		record(d, d->rx, (size_t)n);
		if (handle_buffer(d, d->rx, (size_t)n, &err))
			dump_finish(d, err);
	}
}

/* ---- start, reload, stop ------------------------------------------------ */

static void config_warning(void *ctx, const char *msg)
{
	(void)ctx;
	log_warnx("%s", msg);
}

/* The counters, one line per topic, for SIGUSR1 and the control socket. */
static size_t format_stats(const struct daemon *d, char *buf, size_t len)
{
	const struct tracker_stats *t = &d->tr.st;
	size_t n = 0;

#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (n < len)                                                                       \
			n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__);                      \
	} while (0)
	ADD("events: new %" PRIu64 " update %" PRIu64 " destroy %" PRIu64 "\n", t->new_events,
	    t->update_events, t->destroy_events);
	ADD("connections: exported %" PRIu64 " ended-unseen %" PRIu64 " remembered %zu"
	    " expired-by-ttl %" PRIu64 " start-unknown %" PRIu64 " no-counters %" PRIu64
	    " out-of-memory %" PRIu64 " interim %" PRIu64 " interim-remembered %zu\n",
	    t->exported, t->ended_by_dump, cttable_count(d->tr.table), t->expired, t->start_unknown,
	    t->no_counters, t->oom, t->interim, cttable_count(d->tr.interim));
	ADD("netlink: datagrams %" PRIu64 " overruns %" PRIu64 " parse-errors %" PRIu64
	    " dumps %" PRIu64 " dump-errors %" PRIu64 " buffer %zu filtered %" PRIu64 "\n",
	    d->st.nl_datagrams, d->st.nl_overruns, d->st.parse_errors, d->st.dumps,
	    d->st.dump_errors, d->rcvbuf, d->st.filtered);
#undef ADD
	if (n < len)
		n += output_format_stats(&d->out, buf + n, len - n);
	return n < len ? n : len - 1;
}

static void log_stats(const struct daemon *d)
{
	char buf[4096];

	format_stats(d, buf, sizeof buf);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		log_info("%s", line);
}

/* SIGHUP or "reload": apply a changed file, or keep everything as it is.
 * Returns 0, or -1 with the reason in err. */
static int reload(struct daemon *d, char *err, size_t errlen)
{
	struct nf_config *cfg = malloc(sizeof *cfg);
	struct output fresh;

	snprintf(err, errlen, "out of memory");
	if (!cfg || config_load(d->path, cfg, err, errlen, config_warning, NULL) != 0 ||
	    output_open(&fresh, cfg, d->foreground, d->boot_ms, output_now, d, err, errlen) != 0) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		free(cfg);
		return -1;
	}
	output_flush(&d->out, now_mono(d)); /* pending records leave with the old settings */
	output_carry_over(&fresh, &d->out);
	output_close(&d->out);
	d->out = fresh;
	free(d->cfg);
	d->cfg = cfg;
	output_own_flows(&d->out, &cfg->filter);
	d->tr.ttl_ns = (uint64_t)cfg->ttl * NS_PER_S;
	tracker_set_active_timeout(&d->tr, (uint64_t)cfg->active_timeout * NS_PER_S);
	if (nlsock_filter(d->ev, &cfg->filter) != 0)
		log_warn("cannot filter events in the kernel: filtering in nfflowd only");
	log_init("nfflowd", cfg->log_facility, d->foreground);
	log_info("reloaded %s: %zu collector(s), ttl %u s", d->path, cfg->ncollectors, cfg->ttl);
	snprintf(err, errlen, "reloaded %s", d->path);
	return 0;
}

/* The user to run as: the configured one, or nobody if the default user
 * does not exist on this system. */
static int target_user(const struct nf_config *cfg, uid_t *uid, gid_t *gid, const char **name,
		       char *err, size_t errlen)
{
	*name = cfg->user;
	if (privs_lookup(cfg->user, uid, gid, err, errlen) == 0)
		return 0;
	*name = "nobody";
	if (strcmp(cfg->user, CONFIG_DEFAULT_USER) != 0 ||
	    privs_lookup("nobody", uid, gid, err, errlen) != 0)
		return -1;
	log_warnx("user '%s' does not exist: running as nobody (create the user, or set 'user')",
		  CONFIG_DEFAULT_USER);
	return 0;
}

static int open_recording(struct daemon *d, char *err, size_t errlen)
{
	uint8_t hdr[PCAPNL_FILE_HEADER_LEN];

	d->rec = fopen(d->opts.record, "we");
	pcapnl_file_header(hdr);
	if (!d->rec || fwrite(hdr, sizeof hdr, 1, d->rec) != 1) {
		snprintf(err, errlen, "cannot record to %s: %s", d->opts.record, strerror(errno));
		return -1;
	}
	setvbuf(d->rec, NULL, _IOFBF, 1 << 20);
	log_info("recording the netlink stream to %s", d->opts.record);
	return 0;
}

/* Sockets, files and sysctls that need root, in that order. */
static int open_privileged(struct daemon *d, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	kernel_setup(d->cfg->sysctl_setup, &d->ks);
	d->ev = nlsock_open_events(d->cfg->rcvbuf, d->cfg->netlink_reliable, &d->rcvbuf);
	if (!d->ev) {
		snprintf(err, errlen,
			 "cannot subscribe to conntrack events: %s (needs "
			 "CAP_NET_ADMIN)",
			 strerror(errno));
		return -1;
	}
	if (nlsock_filter(d->ev, &d->cfg->filter) != 0)
		log_warn("cannot filter events in the kernel: filtering in nfflowd only");
	d->boot_ms = (clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME)) / NS_PER_MS;
	if (output_open(&d->out, d->cfg, d->foreground, d->boot_ms, output_now, d, err, errlen) !=
	    0)
		return -1;
	d->out_open = true;
	output_own_flows(&d->out, &d->cfg->filter);
	d->ctl = control_listen(d->cfg->control, uid, gid, err, errlen);
	if (d->ctl < 0)
		return -1;
	snprintf(d->pidfile, sizeof d->pidfile, "%s", d->cfg->pidfile);
	snprintf(d->ctlpath, sizeof d->ctlpath, "%s", d->cfg->control);
	if (d->opts.record && open_recording(d, err, errlen) != 0)
		return -1;
	return pidfile_write(d->pidfile, getpid(), err, errlen);
}

static int drop_privileges(struct daemon *d, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (geteuid() != 0) {
		log_info("not started as root: running as uid %d", (int)geteuid());
		return 0;
	}
	if (privs_drop(uid, gid, err, errlen) != 0)
		return -1;
	log_info("running as %s (uid %d, gid %d) with CAP_NET_ADMIN only", d->user, (int)uid,
		 (int)gid);
	return 0;
}

/* Read the configuration file into a new d->cfg. */
static int load_config(struct daemon *d, char *err, size_t errlen)
{
	d->cfg = malloc(sizeof *d->cfg);
	if (!d->cfg) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return config_load(d->path, d->cfg, err, errlen, config_warning, NULL);
}

static int start(struct daemon *d, char *err, size_t errlen)
{
	uid_t uid = 0;
	gid_t gid = 0;

	if (load_config(d, err, errlen) != 0)
		return -1;
	log_init("nfflowd", d->cfg->log_facility, d->foreground);
	pid_t other = pidfile_running(d->cfg->pidfile);
	if (other && other != getpid()) {
		snprintf(err, errlen, "nfflowd is already running (pid %d, %.200s)", (int)other,
			 d->cfg->pidfile);
		return -1;
	}
	if (geteuid() == 0 && target_user(d->cfg, &uid, &gid, &d->user, err, errlen) != 0)
		return -1;
	if (open_privileged(d, uid, gid, err, errlen) != 0 ||
	    drop_privileges(d, uid, gid, err, errlen) != 0)
		return -1;
	if (tracker_init(&d->tr, (uint64_t)d->cfg->ttl * NS_PER_S, d->ks.timestamp == 1, on_conn,
			 on_new, d) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	tracker_set_active_timeout(&d->tr, (uint64_t)d->cfg->active_timeout * NS_PER_S);
	dump_start(d, true);
	if (!d->dump) {
		snprintf(err, errlen, "cannot dump the conntrack table: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Release everything; safe on a daemon that started only in part. */
static void release(struct daemon *d)
{
	for (size_t i = 0; i < d->nclients; i++)
		close(d->clients[i].fd);
	if (d->ctl >= 0) {
		close(d->ctl);
		unlink(d->ctlpath); /* fails once unprivileged: stop removes it */
	}
	if (d->pidfile[0])
		pidfile_remove(d->pidfile, getpid());
	if (d->out_open)
		output_close(&d->out);
	nlsock_close(d->dump);
	nlsock_close(d->ev);
	if (d->rec && fclose(d->rec) != 0)
		log_warn("recording %s", d->opts.record);
	tracker_free(&d->tr);
	free(d->cfg);
}

static void stop(struct daemon *d)
{
	log_info("stopping: sending what is pending");
	drain_events(d);
	output_flush(&d->out, now_mono(d));
	log_stats(d);
}

/* ---- the control socket ------------------------------------------------- */

static void control_answer(struct daemon *d, int fd, const char *cmd)
{
	char reply[4096], err[512];

	if (strcmp(cmd, "stats") == 0) {
		int n = snprintf(reply, sizeof reply, "pid %d\n", (int)getpid());
		format_stats(d, reply + n, sizeof reply - (size_t)n);
	} else if (strcmp(cmd, "reload") == 0) {
		int rc = reload(d, err, sizeof err);
		snprintf(reply, sizeof reply, "%s %s\n", rc == 0 ? "ok" : "error", err);
	} else {
		snprintf(reply, sizeof reply, "error unknown command '%.32s'\n", cmd);
	}
	control_reply(fd, reply);
}

static void control_accept_all(struct daemon *d, uint64_t mono)
{
	int fd;

	while ((fd = control_accept(d->ctl)) >= 0) {
		if (d->nclients == MAX_CLIENTS) {
			control_reply(fd, "error busy\n");
			continue;
		}
		d->clients[d->nclients++] =
		    (struct ctl_client){.fd = fd, .due_ns = mono + CLIENT_TIMEOUT_NS};
	}
}

/* Read each waiting client; answer whole commands, drop stalled ones. */
static void control_serve(struct daemon *d, uint64_t mono)
{
	control_accept_all(d, mono);
	for (size_t i = 0; i < d->nclients;) {
		struct ctl_client *c = &d->clients[i];
		int r = control_read(c->fd, c->buf, &c->len);
		if (r == 0 && mono < c->due_ns) {
			i++;
			continue;
		}
		if (r == 1)
			control_answer(d, c->fd, c->buf);
		else
			close(c->fd);
		d->clients[i] = d->clients[--d->nclients];
	}
}

/* ---- the loop ----------------------------------------------------------- */

/* Dumps for active timeouts: a quarter of it, from 1 s to 60 s apart, so
 * that an interim record leaves at most that late. */
static uint64_t active_period(const struct nf_config *cfg)
{
	uint64_t p = (uint64_t)cfg->active_timeout * NS_PER_S / 4;

	return p < NS_PER_S ? NS_PER_S : p > 60 * NS_PER_S ? 60 * NS_PER_S : p;
}

static void timers(struct daemon *d, uint64_t mono)
{
	output_tick(&d->out, mono);
	if (mono >= d->next_expire_ns) {
		size_t n = tracker_expire(&d->tr, now_real(d));
		if (n)
			log_info("forgot %zu unfinished connections older than ttl %u s", n,
				 d->cfg->ttl);
		d->next_expire_ns = mono + EXPIRE_EVERY_NS;
	}
	bool resync_due = mono >= d->next_resync_ns && tracker_pending_snapshots(&d->tr);
	bool active_due = d->cfg->active_timeout && mono >= d->next_active_ns;
	bool overrun_due = d->resync_wanted && mono >= d->next_resync_ns;
	if (!d->dump && d->ready && (resync_due || active_due || overrun_due)) {
		d->resync_wanted = false;
		dump_start(d, false);
		d->next_resync_ns = mono + d->cfg->resync_interval * NS_PER_S;
		d->next_active_ns = mono + active_period(d->cfg);
	}
}

static int poll_timeout_ms(const struct daemon *d, uint64_t mono)
{
	uint64_t due = d->next_expire_ns;

	if (output_due(&d->out) < due)
		due = output_due(&d->out);
	if (tracker_pending_snapshots(&d->tr) && d->next_resync_ns < due)
		due = d->next_resync_ns;
	if (d->cfg->active_timeout && d->next_active_ns < due)
		due = d->next_active_ns;
	for (size_t i = 0; i < d->nclients; i++)
		if (d->clients[i].due_ns < due)
			due = d->clients[i].due_ns;
	if (due <= mono)
		return 0;
	return (int)((due - mono + NS_PER_MS - 1) / NS_PER_MS);
}

static size_t poll_fds(struct daemon *d, struct pollfd *pfd)
{
	size_t n = 0;

	pfd[n++] = (struct pollfd){.fd = nlsock_fd(d->ev), .events = POLLIN};
	pfd[n++] = (struct pollfd){.fd = d->ctl, .events = POLLIN};
	if (d->dump)
		pfd[n++] = (struct pollfd){.fd = nlsock_fd(d->dump), .events = POLLIN};
	n += output_pollfds(&d->out, pfd + n);
	for (size_t i = 0; i < d->nclients; i++)
		pfd[n++] = (struct pollfd){.fd = d->clients[i].fd, .events = POLLIN};
	return n;
}

static void tell_ready(struct daemon *d, int ready_fd)
{
	d->ready = true;
	log_info("ready: %zu connections open at start, exporting to %zu collector(s), "
		 "netlink buffer %zu bytes",
		 tracker_pending_snapshots(&d->tr), d->out.ncol, d->rcvbuf);
	if (ready_fd >= 0) {
		if (write(ready_fd, "ok\n", 3) != 3)
			log_warn("cannot tell the starting command that nfflowd is up");
		close(ready_fd);
	}
}

static void loop_once(struct daemon *d, const sigset_t *waitmask, int ready_fd)
{
	struct pollfd pfd[3 + CONFIG_MAX_COLLECTORS + MAX_CLIENTS];
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);
	int ms = poll_timeout_ms(d, mono);
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	size_t n = poll_fds(d, pfd);

	if (ppoll(pfd, n, &ts, waitmask) < 0 && errno != EINTR)
		log_warn("ppoll");
	drain_events(d);
	if (d->dump) {
		read_dump(d);
		if (!d->dump && !d->ready)
			tell_ready(d, ready_fd);
	}
	mono = clock_ns(CLOCK_MONOTONIC);
	control_serve(d, mono);
	timers(d, mono);
	output_push(&d->out);
}

static void run(struct daemon *d, const sigset_t *waitmask, int ready_fd)
{
	char err[512];
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);

	d->next_expire_ns = mono + EXPIRE_EVERY_NS;
	d->next_resync_ns = mono + d->cfg->resync_interval * NS_PER_S;
	d->next_active_ns = mono + active_period(d->cfg);
	while (!got_stop) {
		loop_once(d, waitmask, d->ready ? -1 : ready_fd);
		if (got_hup) {
			got_hup = 0;
			reload(d, err, sizeof err);
		}
		if (got_usr1) {
			got_usr1 = 0;
			log_stats(d);
		}
	}
	stop(d);
}

static void report_failure(int ready_fd, const char *err)
{
	log_warnx("%s", err);
	if (ready_fd >= 0) {
		dprintf(ready_fd, "%s\n", err);
		close(ready_fd);
	}
}

int daemon_run(const char *path, const struct daemon_opts *opts)
{
	sigset_t waitmask;
	char err[512];
	struct daemon *d = calloc(1, sizeof *d);

	if (!d) {
		report_failure(opts->ready_fd, "out of memory");
		return 1;
	}
	d->path = path;
	d->opts = *opts;
	d->foreground = opts->foreground;
	d->ctl = -1;
	log_init("nfflowd", LOG_DAEMON, d->foreground);
	signals_setup(&waitmask);
	int rc = start(d, err, sizeof err);
	if (rc == 0)
		run(d, &waitmask, opts->ready_fd);
	else
		report_failure(opts->ready_fd, err);
	release(d);
	free(d);
	return rc == 0 ? 0 : 1;
}

/* ---- replay ------------------------------------------------------------- */

/* A datagram of the recording: dump traffic (NLM_F_MULTI entries and their
 * NLMSG_DONE) opens and closes a dump as the live table dump did. */
static void replay_datagram(struct daemon *d, const uint8_t *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	int err = 0;

	if (len < sizeof *nlh)
		return;
	bool dump = (nlh->nlmsg_flags & NLM_F_MULTI) || nlh->nlmsg_type == NLMSG_DONE;
	if (dump && !d->tr.dumping)
		tracker_dump_begin(&d->tr, d->st.dumps++ == 0);
	d->st.nl_datagrams++;
	if (handle_buffer(d, buf, len, &err) && d->tr.dumping)
		tracker_dump_end(&d->tr, d->replay_ns);
	output_tick(&d->out, d->replay_ns);
}

/* A recording being read: mapped when it is a regular file, else read as a
 * stream into buf. */
struct recording {
	FILE *f;
	const uint8_t *map;
	size_t size, off;
	uint8_t buf[PCAPNL_SNAPLEN];
};

/* The next n (at most PCAPNL_SNAPLEN) bytes, valid until the next call; NULL
 * when fewer are left. */
static const uint8_t *recording_next(struct recording *rec, size_t n)
{
	if (!rec->map)
		return fread(rec->buf, n, 1, rec->f) == 1 ? rec->buf : NULL;
	if (rec->size - rec->off < n)
		return NULL;
	rec->off += n;
	return rec->map + rec->off - n;
}

/* Replay the recording; returns 0 at its end, -1 on a damaged file. */
static int replay_file(struct daemon *d, struct recording *rec, char *err, size_t errlen)
{
	const uint8_t *hdr = recording_next(rec, PCAPNL_FILE_HEADER_LEN), *pkt;
	struct pcapnl_reader r;
	size_t caplen, dlen;
	const uint8_t *dgram;

	if (!hdr || pcapnl_open(&r, hdr, PCAPNL_FILE_HEADER_LEN, err, errlen))
		return -1;
	for (uint64_t n = 1; (hdr = recording_next(rec, PCAPNL_RECORD_HEADER_LEN)); n++) {
		if (pcapnl_record(&r, hdr, &d->replay_ns, &caplen) != 0 ||
		    !(pkt = recording_next(rec, caplen)) ||
		    pcapnl_payload(pkt, caplen, &dgram, &dlen)) {
			snprintf(err, errlen, "packet %" PRIu64 " is damaged or cut short", n);
			return -1;
		}
		if (!d->boot_ms) /* a week before it began: v5 times stay positive */
			d->out.boot_ms = d->boot_ms = d->replay_ns / NS_PER_MS - 604800000ull;
		replay_datagram(d, dgram, dlen);
	}
	return 0;
}

static int replay_start(struct daemon *d, char *err, size_t errlen)
{
	if (load_config(d, err, errlen) != 0)
		return -1;
	/* A recording made with sysctl_setup (the default) has kernel
	 * timestamps, so NEW events need not be remembered; without it every
	 * NEW is, in case the DESTROYs lack a start. */
	if (tracker_init(&d->tr, (uint64_t)d->cfg->ttl * NS_PER_S, d->cfg->sysctl_setup, on_conn,
			 on_new, d)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Open the recording in file: mapped if it can be, else as a stream. */
static struct recording *recording_open(const char *file, char *err, size_t errlen)
{
	struct recording *rec = calloc(1, sizeof *rec);
	struct stat st;

	if (!rec || !(rec->f = fopen(file, "re"))) {
		snprintf(err, errlen, "%s: %s", file, rec ? strerror(errno) : "out of memory");
		free(rec);
		return NULL;
	}
	if (fstat(fileno(rec->f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fileno(rec->f), 0);
		if (m != MAP_FAILED) {
			madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
			rec->map = m;
			rec->size = (size_t)st.st_size;
		}
	}
	return rec;
}

static void recording_close(struct recording *rec)
{
	if (rec->map)
		munmap((void *)rec->map, rec->size);
	fclose(rec->f);
	free(rec);
}

static int replay_run(struct daemon *d, const char *file, char *err, size_t errlen)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	struct recording *rec = recording_open(file, err, errlen);

	if (!rec)
		return -1;
	int rc = replay_file(d, rec, err, errlen);
	recording_close(rec);
	output_flush(&d->out, now_mono(d));
	double secs = (double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	uint64_t events = d->tr.st.new_events + d->tr.st.update_events + d->tr.st.destroy_events;
	log_stats(d);
	log_info("replayed %" PRIu64 " events (%" PRIu64 " datagrams) in %.3f s: %.0f events/s",
		 events, d->st.nl_datagrams, secs, secs > 0 ? (double)events / secs : 0.0);
	return rc;
}

int daemon_replay(const char *path, const char *file)
{
	char err[512];
	struct daemon *d = calloc(1, sizeof *d);

	if (!d) {
		fprintf(stderr, "nfflowd: out of memory\n");
		return 1;
	}
	d->path = path;
	d->foreground = true;
	d->replaying = true;
	d->ctl = -1;
	log_init("nfflowd", LOG_DAEMON, true);
	int rc = replay_start(d, err, sizeof err);
	if (rc == 0) {
		/* The output opens after the first packet sets the clock and boot_ms. */
		rc = output_open(&d->out, d->cfg, true, 0, output_now, d, err, sizeof err);
		d->out_open = rc == 0;
	}
	if (rc == 0)
		rc = replay_run(d, file, err, sizeof err);
	if (rc != 0)
		log_warnx("replay: %s", err);
	release(d);
	free(d);
	return rc == 0 ? 0 : 1;
}
