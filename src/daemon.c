/* daemon: start-up, privileges, the event loop and its timers. What happens
 * to each message is the pipeline's business (pipeline.h); this file reads
 * the kernel's sockets, says when dumps begin and end, and keeps time. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "copies.h"
#include "kernel.h"
#include "log.h"
#include "nftwatch.h"
#include "nlsock.h"
#include "offload.h"
#include "pcapnl.h"
#include "pidfile.h"
#include "pipeline.h"
#include "portblock.h"
#include "privs.h"
#include "routes.h"
#include "safefile.h"

#define RXBUF_SIZE	     (256u * 1024u)
#define EXPIRE_EVERY_NS	     (60 * NS_PER_S)
#define RCVBUF_CAP	     (256u << 20)
#define OVERRUN_LOG_EVERY_NS (60 * NS_PER_S)
#define DUMP_BATCH	     64 /* dump datagrams read per turn, so events keep flowing */
/* Event datagrams read per turn of the loop: about 2 ms of work at the
 * highest rate, after which control clients, timers and signals get their
 * turn (a flood never starves them). */
#define EVENT_BATCH 128
/* After a turn that emptied the event socket while events come faster than
 * one per wake-up, the socket is left alone this long: the events gather in
 * the buffer and the next turn takes them in one go. This saves a wake-up,
 * a poll and a context switch per event or two, which was most of the cost
 * at high rates (bench/run.sh: 1.0 s of CPU down to 0.6 s for 400,000
 * events); the netlink buffer holds far more than a millisecond of events. */
#define EVENT_COALESCE_NS NS_PER_MS
/* ... but only with a receive buffer this large: a millisecond of events at
 * two million a second takes under 3 MiB of it. */
#define EVENT_COALESCE_MIN_RCVBUF (16u << 20)
/* How long stop, and the end of a dump, may go on draining events that
 * keep coming. */
#define DRAIN_LIMIT_NS (NS_PER_S / 5)

struct daemon {
	const char *path;
	struct daemon_opts opts;
	const char *user; /* whom it runs as: the configured user, or nobody */
	struct kernel_settings ks;
	struct mnl_socket *ev;
	size_t rcvbuf;
	struct mnl_socket *dump;
	struct routes *routes; /* the interfaces of records; NULL: none (0) */
	uint32_t dump_seq;
	struct mnl_socket *nft; /* nftables' ruleset changes, for the port blocks */
	bool ready;
	struct control_server ctl;
	struct pipeline *pl;
	bool resync_wanted; /* an overrun asks for a dump */
	uint64_t overrun_logged_ns, overruns_logged;
	uint64_t ev_drops;	/* the event socket's drops (/proc/net/netlink) counted so far */
	uint64_t next_drops_ns; /* after an overrun: when to count them again */
	unsigned drops_checks_left;		 /* ... this many more times */
	uint64_t table_full_logged, gone_logged; /* tracker counters at the last report */
	FILE *rec;				 /* -w: every datagram received goes here */
	uint64_t rec_bytes;			 /* written so far, at most record_limit */
	uint64_t next_resync_ns, next_expire_ns, next_active_ns;
	uint64_t ev_rest_ns; /* the event socket is not polled before this */
	uint64_t ev_read_ns; /* when a turn last read events and emptied the socket */
	int sigfd;	     /* SIGTERM, SIGINT, SIGHUP, SIGUSR1, read as data */
	bool want_stop, want_reload, want_stats; /* what they (or the control socket) asked */
	uint8_t rx[RXBUF_SIZE];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* pipeline_clock_fn: the real clocks. */
static void real_clock(void *ctx, struct nf_now *now)
{
	(void)ctx;
	now->real_ns = clock_ns(CLOCK_REALTIME);
	now->mono_ns = clock_ns(CLOCK_MONOTONIC);
}

static const struct nf_config *cfg_of(const struct daemon *d)
{
	return pipeline_config(d->pl);
}

/* The signals nfflowd acts on, blocked and read from a signalfd(2) that the
 * loop polls like any other source: no handler runs, and a signal waits its
 * turn even while another descriptor is always ready (a flood), which a
 * handler interrupting ppoll would not (ppoll returns at once then, leaving
 * the signal pending). SIGPIPE is ignored. Returns the signalfd, or -1. */
static int signals_open(void)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* The signals that came: what they ask for. */
static void read_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP)
			d->want_reload = true;
		else if (si.ssi_signo == SIGUSR1)
			d->want_stats = true;
		else
			d->want_stop = true;
	}
}

/* ---- netlink ------------------------------------------------------------ */

static void dump_start(struct daemon *d, bool startup)
{
	if (d->dump)
		return;
	d->dump = nlsock_open_dump(++d->dump_seq);
	if (!d->dump) {
		pipeline_dump_abort(d->pl);
		log_warn("cannot dump the conntrack table");
		return;
	}
	pipeline_dump_begin(d->pl, startup);
}

static void drain_events(struct daemon *d);

static void dump_finish(struct daemon *d, int error)
{
	nlsock_close(d->dump);
	d->dump = NULL;
	if (error) {
		errno = error;
		log_warn("conntrack table dump failed");
		pipeline_dump_abort(d->pl);
		return;
	}
	/* A connection missing from the dump whose DESTROY was sent is in the
	 * event queue now: handle it before deciding it ended unseen. */
	drain_events(d);
	size_t ended = pipeline_dump_end(d->pl);
	if (ended)
		log_info("%zu connections from the start-up dump ended without an event", ended);
}

/* After an overrun the kernel may go on dropping events for a while:
 * counted again this often, this many times. */
#define DROPS_CHECK_NS	  NS_PER_S
#define DROPS_CHECK_TIMES 10

/* The events the kernel dropped for the event socket since the last count
 * (its drops in /proc/net/netlink, exact) go to the loss reports. */
static void count_drops(struct daemon *d)
{
	uint64_t drops = nlsock_drops(d->ev);

	if (drops == UINT64_MAX || drops <= d->ev_drops)
		return;
	pipeline_events_lost(d->pl, drops - d->ev_drops);
	d->ev_drops = drops;
	d->drops_checks_left = DROPS_CHECK_TIMES; /* still dropping: keep counting */
}

/* The kernel dropped events: count it, grow the buffer (to a cap), ask for a
 * dump. Logged when it first happens, then at most once a minute. */
static void overrun(struct daemon *d)
{
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);
	size_t cap = cfg_of(d)->rcvbuf > RCVBUF_CAP ? cfg_of(d)->rcvbuf : RCVBUF_CAP;
	size_t want = d->rcvbuf * 2 > cap ? cap : d->rcvbuf * 2;
	size_t got = want > d->rcvbuf ? nlsock_set_rcvbuf(d->ev, want) : 0;
	uint64_t overruns;

	pipeline_overrun(d->pl);
	/* Counted now, then by the timer while overruns go on: not at each
	 * one, which would read /proc/net/netlink as often as every turn. */
	if (!d->drops_checks_left) {
		count_drops(d);
		d->next_drops_ns = mono + DROPS_CHECK_NS;
	}
	d->drops_checks_left = DROPS_CHECK_TIMES;
	overruns = pipeline_stats(d->pl)->overruns;
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
		  overruns, overruns - d->overruns_logged, d->rcvbuf, cap);
	d->overruns_logged = overruns;
	d->overrun_logged_ns = mono;
}

static void stop_recording(struct daemon *d, const char *why)
{
	log_warnx("recording %s stopped after %" PRIu64 " bytes: %s", d->opts.record, d->rec_bytes,
		  why);
	fclose(d->rec);
	d->rec = NULL;
}

/* -w: append a received datagram to the recording, until it would grow
 * past record_limit (then the recording stops, and says so). */
static void record(struct daemon *d, const void *buf, size_t len)
{
	uint8_t hdr[PCAPNL_RECORD_HEADER_LEN + PCAPNL_COOKED_LEN];

	if (!d->rec || len > PCAPNL_SNAPLEN - PCAPNL_COOKED_LEN)
		return;
	if (d->rec_bytes + sizeof hdr + len > cfg_of(d)->record_limit) {
		stop_recording(d, "record_limit reached");
		return;
	}
	pcapnl_record_header(hdr, clock_ns(CLOCK_REALTIME), len);
	if (fwrite(hdr, sizeof hdr, 1, d->rec) == 1 && fwrite(buf, len, 1, d->rec) == 1) {
		d->rec_bytes += sizeof hdr + len;
		return;
	}
	stop_recording(d, strerror(errno));
}

/* A datagram from a socket: recorded, then handled. Returns what
 * pipeline_datagram returns. */
static int handle(struct daemon *d, enum pipeline_source from, size_t len, int *dump_error)
{
	record(d, d->rx, len);
	return pipeline_datagram(d->pl, from, d->rx, len, dump_error);
}

/* Read at most max event datagrams, or until none is waiting or limit_ns
 * (monotonic; UINT64_MAX: none, and the clock is not read) has passed.
 * Returns how many it read (max: it stopped with more waiting, or at the
 * limit). */
static unsigned read_events(struct daemon *d, unsigned max, uint64_t limit_ns)
{
	unsigned i;

	for (i = 0; i < max; i++) {
		ssize_t n = nlsock_recv(d->ev, d->rx, sizeof d->rx);
		if (n == 0)
			return i;
		if (n < 0 && errno == ENOBUFS) {
			overrun(d);
			continue;
		}
		if (n < 0) {
			log_warn("netlink receive");
			return i;
		}
		int err = 0;
		handle(d, PIPELINE_EVENTS, (size_t)n, &err);
		if (limit_ns != UINT64_MAX && i % EVENT_BATCH == EVENT_BATCH - 1 &&
		    clock_ns(CLOCK_MONOTONIC) >= limit_ns)
			return max;
	}
	return i;
}

/* A turn's reading of the event socket, at most EVENT_BATCH datagrams. If
 * it emptied the socket having found more than one datagram, or the last
 * turn that emptied it did so less than EVENT_COALESCE_NS ago, the socket
 * rests for EVENT_COALESCE_NS from when this reading began (only with a
 * buffer of at least EVENT_COALESCE_MIN_RCVBUF). */
static void read_events_turn(struct daemon *d)
{
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);
	unsigned n = read_events(d, EVENT_BATCH, UINT64_MAX);

	if (n == 0 || n == EVENT_BATCH || d->rcvbuf < EVENT_COALESCE_MIN_RCVBUF)
		return;
	if (n > 1 || mono - d->ev_read_ns < EVENT_COALESCE_NS)
		d->ev_rest_ns = mono + EVENT_COALESCE_NS;
	d->ev_read_ns = mono;
}

/* Everything waiting now, within DRAIN_LIMIT_NS even under a flood. */
static void drain_events(struct daemon *d)
{
	read_events(d, UINT32_MAX, clock_ns(CLOCK_MONOTONIC) + DRAIN_LIMIT_NS);
}

static void read_dump(struct daemon *d)
{
	for (int i = 0; i < DUMP_BATCH && d->dump; i++) {
		ssize_t n = nlsock_recv(d->dump, d->rx, sizeof d->rx);
		if (n == 0)
			return;
		if (n < 0) {
			dump_finish(d, errno);
			return;
		}
		int err = 0;
		if (handle(d, PIPELINE_DUMP, (size_t)n, &err))
			dump_finish(d, err);
	}
}

/* ---- start, reload, stop ------------------------------------------------ */

static void log_stats(const struct daemon *d)
{
	char buf[PIPELINE_STATS_MAX];

	pipeline_format_stats(d->pl, d->rcvbuf, buf, sizeof buf);
	log_info_lines(buf);
}

/* The configuration text, named as the file, into a new configuration.
 * Returns it, or NULL with the reason in err. */
static struct nf_config *parse_config(const struct daemon *d, const char *text, size_t len,
				      char *err, size_t errlen)
{
	struct nf_config *cfg = malloc(sizeof *cfg);

	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (config_parse(text, len, d->path, cfg, err, errlen, log_config_warning, NULL) != 0) {
		free(cfg);
		return NULL;
	}
	return cfg;
}

/* The commands find the daemon through its pid file and control socket: a
 * reload may not move them. */
static int same_places(const struct daemon *d, const struct nf_config *cfg, char *err,
		       size_t errlen)
{
	const struct nf_config *run = cfg_of(d);
	bool pid = strcmp(cfg->pidfile, run->pidfile) != 0;

	if (!pid && strcmp(cfg->control, run->control) == 0)
		return 0;
	snprintf(err, errlen,
		 "%s changed from %.300s to %.300s: refused, nothing was reloaded; it changes "
		 "only with a restart: nfflowd -c %.300s restart",
		 pid ? "pidfile" : "control_socket", pid ? run->pidfile : run->control,
		 pid ? cfg->pidfile : cfg->control, d->path);
	return -1;
}

/* Apply cfg (taken over), its file copies writing to fds. */
static int apply(struct daemon *d, struct nf_config *cfg, const struct copies_fds *fds, char *err,
		 size_t errlen)
{
	if (same_places(d, cfg, err, errlen) != 0) {
		free(cfg);
		return -1;
	}
	if (pipeline_reload(d->pl, cfg, fds, err, errlen) != 0)
		return -1;
	if (nlsock_filter(d->ev, &cfg_of(d)->filter) != 0)
		log_warn("cannot filter events in the kernel: filtering in nfflowd only");
	log_init("nfflowd", cfg_of(d)->log_facility, d->opts.foreground);
	log_info("reloaded %s: %zu collector(s), ttl %u s", d->path, cfg_of(d)->ncollectors,
		 cfg_of(d)->ttl);
	snprintf(err, errlen, "reloaded %s", d->path);
	return 0;
}

/* After a failure with error e: if root would not have met it, say so and
 * what to run instead. */
static void hint_root(const struct daemon *d, int e, char *err, size_t errlen)
{
	size_t n = strlen(err);

	if (!safefile_denied(e) || geteuid() == 0 || n + 1 >= errlen)
		return;
	snprintf(err + n, errlen - n,
		 " (nfflowd runs as uid %d and cannot do this itself); run: nfflowd -c %s reload "
		 "as root",
		 (int)geteuid(), d->path);
}

/* SIGHUP (or "reload" without the text): the daemon reads the file and
 * opens the files of its copies itself, as the user it runs as. */
static int reload_self(struct daemon *d, char *err, size_t errlen)
{
	struct copies_fds fds = {0};
	size_t len;
	char *text = config_read(d->path, &len, err, errlen);

	if (!text) {
		hint_root(d, errno, err, errlen);
		return -1;
	}
	struct nf_config *cfg = parse_config(d, text, len, err, errlen);
	free(text);
	if (!cfg)
		return -1;
	if (copies_fds_open(&fds, cfg, err, errlen) != 0) {
		hint_root(d, errno, err, errlen);
		free(cfg);
		return -1;
	}
	int rc = apply(d, cfg, &fds, err, errlen);
	copies_fds_close(&fds);
	return rc;
}

/* The configuration text that came with "reload", in a sealed memory file. */
static char *read_sealed(int fd, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0 || (seals & CONTROL_TEXT_SEALS) != CONTROL_TEXT_SEALS ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_FILE) {
		snprintf(err, errlen, "the configuration did not come in a sealed memory file");
		return NULL;
	}
	char *text = malloc((size_t)st.st_size + 1);
	ssize_t n = text ? pread(fd, text, (size_t)st.st_size, 0) : -1;
	if (n != st.st_size) {
		snprintf(err, errlen, "cannot read the configuration that came: %s",
			 text ? strerror(errno) : "out of memory");
		free(text);
		return NULL;
	}
	*len = (size_t)n;
	return text;
}

/* "reload" from the reload verb (root): the text it checked, then the
 * files of the file copies, opened by it. */
static int reload_passed(struct daemon *d, struct control_req *req, char *err, size_t errlen)
{
	struct copies_fds fds = {0};
	size_t len;

	if (req->fds_lost) {
		snprintf(err, errlen, "more files came than a configuration can have");
		return -1;
	}
	char *text = read_sealed(req->fds[0], &len, err, errlen);
	if (!text)
		return -1;
	struct nf_config *cfg = parse_config(d, text, len, err, errlen);
	free(text);
	if (!cfg)
		return -1;
	if (copies_fds_adopt(&fds, cfg, req->fds + 1, req->nfds - 1, err, errlen) != 0) {
		free(cfg);
		return -1;
	}
	int rc = apply(d, cfg, &fds, err, errlen);
	copies_fds_close(&fds);
	return rc;
}

/* SIGHUP (req NULL) or "reload": apply the new configuration, or keep
 * everything as it is. Returns 0, or -1 with the reason in err. */
static int reload(struct daemon *d, struct control_req *req, char *err, size_t errlen)
{
	int rc =
	    req && req->nfds ? reload_passed(d, req, err, errlen) : reload_self(d, err, errlen);

	if (rc != 0)
		log_warnx("reload failed, keeping the running configuration: %s", err);
	return rc;
}

/* The user to run as: the configured one, or nobody if the default user
 * does not exist on this system. */
static int target_user(const struct nf_config *cfg, uid_t *uid, gid_t *gid, const char **name,
		       char *err, size_t errlen)
{
	uid_t u = 1;

	*name = cfg->user;
	if (privs_lookup_unprivileged(cfg->user, &u, gid, err, errlen) == 0) {
		*uid = u;
		return 0;
	}
	if (u == 0) /* it exists, and is root */
		return -1;
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

	int fd = safefile_open_output(d->opts.record, false);

	d->rec = fd >= 0 ? fdopen(fd, "w") : NULL;
	pcapnl_file_header(hdr);
	if (!d->rec || fwrite(hdr, sizeof hdr, 1, d->rec) != 1) {
		snprintf(err, errlen, "cannot record to %s: %s", d->opts.record,
			 errno == ELOOP ? "it is a symbolic link (refused)" : strerror(errno));
		if (fd >= 0 && !d->rec)
			close(fd);
		return -1;
	}
	setvbuf(d->rec, NULL, _IOFBF, 1 << 20);
	d->rec_bytes = sizeof hdr;
	log_info("recording the netlink stream to %s (at most %zu bytes: record_limit)",
		 d->opts.record, cfg_of(d)->record_limit);
	return 0;
}

/* The port blocks of the ruleset as it is now, to the pipeline (which
 * exports what changed). */
static void read_blocks(struct daemon *d)
{
	struct portblock_set set = {0};
	char err[512];
	char *json = nftwatch_ruleset_json(err, sizeof err);

	if (!json || portblock_scan_json(json, strlen(json), &set, err, sizeof err) != 0) {
		log_warnx("port blocks: cannot read the nftables ruleset: %s", err);
		free(json);
		return;
	}
	free(json);
	size_t total = set.n, skipped = set.skipped;
	size_t events = pipeline_port_blocks(d->pl, &set);
	if (events)
		log_info("port blocks: %zu in force (%zu allocation or de-allocation events)%s",
			 total, events,
			 skipped ? "; map entries not of ADDRESS : ADDRESS . PORTS "
				   "skipped"
				 : "");
	portblock_free(&set);
}

/* The pipeline, with the real clocks and the kernel's timestamps. */
static int open_pipeline(struct daemon *d, struct nf_config *cfg, char *err, size_t errlen)
{
	struct pipeline_opts po = {
	    .clock = real_clock,
	    .boot_ms = (clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME)) / NS_PER_MS,
	    .kernel_ts = d->ks.timestamp == 1,
	    .foreground = d->opts.foreground,
	    .ifindex = d->routes ? routes_ifindex : NULL,
	    .ifindex_ctx = d->routes};

	d->pl = pipeline_open(cfg, &po, err, errlen);
	if (!d->pl)
		return -1;
	d->nft = nftwatch_open();
	if (!d->nft)
		log_warn("port blocks: cannot follow nftables' ruleset changes");
	read_blocks(d);
	return 0;
}

/* offload_say_fn: flow offload warnings at start go to the log. */
static void offload_log(void *ctx, bool warning, const char *msg)
{
	(void)ctx;
	if (warning)
		log_warnx("WARNING: %s", msg);
	else
		log_info("%s", msg);
}

/* Sockets, files and sysctls that need root, in that order. */
static int open_privileged(struct daemon *d, struct nf_config *cfg, uid_t uid, gid_t gid, char *err,
			   size_t errlen)
{
	kernel_setup(cfg->sysctl_setup, &d->ks);
	offload_check(offload_log, NULL, false);
	d->ev = nlsock_open_events(cfg->rcvbuf, cfg->netlink_reliable, &d->rcvbuf);
	if (!d->ev) {
		snprintf(err, errlen,
			 "cannot subscribe to conntrack events: %s (needs "
			 "CAP_NET_ADMIN)",
			 strerror(errno));
		free(cfg);
		return -1;
	}
	if (nlsock_filter(d->ev, &cfg->filter) != 0)
		log_warn("cannot filter events in the kernel: filtering in nfflowd only");
	d->routes = routes_open();
	if (!d->routes)
		log_warn("cannot read the routing table: records carry no interfaces");
	if (open_pipeline(d, cfg, err, errlen) != 0)
		return -1;
	if (control_open(&d->ctl, cfg_of(d)->control, uid, gid, err, errlen) != 0)
		return -1;
	if (d->opts.record && open_recording(d, err, errlen) != 0)
		return -1;
	return pidfile_write(cfg_of(d)->pidfile, getpid(), err, errlen);
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

/* Checks before anything is opened: another nfflowd, the user to run as. */
static int preflight(struct daemon *d, const struct nf_config *cfg, uid_t *uid, gid_t *gid,
		     char *err, size_t errlen)
{
	pid_t other = pidfile_running(cfg->pidfile, cfg->control);

	if (other && other != getpid()) {
		snprintf(err, errlen, "nfflowd is already running (pid %d, %.200s)", (int)other,
			 cfg->pidfile);
		return -1;
	}
	if (geteuid() == 0 && target_user(cfg, uid, gid, &d->user, err, errlen) != 0)
		return -1;
	return 0;
}

static int start(struct daemon *d, char *err, size_t errlen)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (privs_no_new_privs(err, errlen) != 0)
		return -1;
	struct nf_config *cfg = config_load_new(d->path, err, errlen, log_config_warning, NULL);
	if (!cfg)
		return -1;
	log_init("nfflowd", cfg->log_facility, d->opts.foreground);
	if (preflight(d, cfg, &uid, &gid, err, errlen) != 0) {
		free(cfg);
		return -1;
	}
	if (open_privileged(d, cfg, uid, gid, err, errlen) != 0 ||
	    drop_privileges(d, uid, gid, err, errlen) != 0)
		return -1;
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
	control_close(&d->ctl);
	if (d->pl) /* the pid file names this pid only if it wrote it */
		pidfile_remove(cfg_of(d)->pidfile, getpid());
	pipeline_close(d->pl);
	nlsock_close(d->dump);
	nlsock_close(d->ev);
	routes_close(d->routes);
	nlsock_close(d->nft);
	if (d->rec && fclose(d->rec) != 0)
		log_warn("recording %s", d->opts.record);
}

static void stop(struct daemon *d)
{
	log_info("stopping: sending what is pending");
	drain_events(d);
	count_drops(d); /* since the last count: in the last loss report */
	pipeline_flush(d->pl);
	pipeline_push(d->pl);
	log_stats(d);
}

/* "status": who this daemon is, for the commands that look for it. */
static void answer_status(const struct daemon *d, char *reply, size_t len)
{
	static struct control_status st;

	st.pid = getpid();
	snprintf(st.config, sizeof st.config, "%s", d->path);
	snprintf(st.pidfile, sizeof st.pidfile, "%s", cfg_of(d)->pidfile);
	snprintf(st.control, sizeof st.control, "%s", d->ctl.path);
	control_format_status(&st, reply, len);
}

_Static_assert(PIPELINE_STATS_MAX + 64 <= CONTROL_REPLY_MAX, "room for the stats and their header");

static void answer_stats(const struct daemon *d, char *reply, size_t len)
{
	int n = snprintf(reply, len, "pid %d\ncontrol: refused %llu\n", (int)getpid(),
			 (unsigned long long)d->ctl.refused);

	if (n > 0 && (size_t)n < len)
		pipeline_format_stats(d->pl, d->rcvbuf, reply + n, len - (size_t)n);
}

/* control_answer_fn: the commands of the control socket (control.c has
 * checked who may give them). */
static void answer(void *ctx, struct control_req *req, char *reply, size_t len)
{
	struct daemon *d = ctx;
	char err[1024];
	const char *cmd = req->line;

	if (strcmp(cmd, "stats") == 0) {
		answer_stats(d, reply, len);
	} else if (strcmp(cmd, "status") == 0) {
		answer_status(d, reply, len);
	} else if (strcmp(cmd, "reload") == 0) {
		log_info("reload asked by uid %d (pid %d)", (int)req->peer.uid, (int)req->peer.pid);
		int rc = reload(d, req, err, sizeof err);
		snprintf(reply, len, "%s %s\n", rc == 0 ? "ok" : "error", err);
	} else if (strcmp(cmd, "stop") == 0) {
		log_info("stop asked by uid %d (pid %d)", (int)req->peer.uid, (int)req->peer.pid);
		d->want_stop = true;
		snprintf(reply, len, "ok stopping pid %d\n", (int)getpid());
	} else {
		snprintf(reply, len, "error unknown command '%.32s'\n", cmd);
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

/* Once a minute: what the bounds cost since the last report. */
static void report_bounds(struct daemon *d)
{
	const struct tracker_stats *t = pipeline_tracker_stats(d->pl);

	if (t->table_full > d->table_full_logged)
		log_warnx("connection table full (max_connections %u): %" PRIu64
			  " connections not remembered in the last minute (%" PRIu64
			  " in all); they are exported from their end, their start may be unknown",
			  cfg_of(d)->max_connections, t->table_full - d->table_full_logged,
			  t->table_full);
	if (t->gone_by_dump > d->gone_logged)
		log_info("forgot %" PRIu64 " connections that two dumps in a row no longer showed "
			 "(their end was not reported)",
			 t->gone_by_dump - d->gone_logged);
	d->table_full_logged = t->table_full;
	d->gone_logged = t->gone_by_dump;
}

static void expire(struct daemon *d, uint64_t mono)
{
	size_t n = pipeline_expire(d->pl);

	if (n)
		log_info("forgot %zu unfinished connections older than ttl %u s", n,
			 cfg_of(d)->ttl);
	report_bounds(d);
	d->next_expire_ns = mono + EXPIRE_EVERY_NS;
}

/* A dump is asked for at next_resync_ns: by an overrun, or by snapshots
 * that wait for the next one. */
static bool resync_asked(const struct daemon *d)
{
	return d->resync_wanted || pipeline_pending_snapshots(d->pl);
}

static void timers(struct daemon *d, uint64_t mono)
{
	const struct nf_config *cfg = cfg_of(d);

	if (d->drops_checks_left && mono >= d->next_drops_ns) {
		d->drops_checks_left--;
		d->next_drops_ns = mono + DROPS_CHECK_NS;
		count_drops(d);
	}
	pipeline_tick(d->pl);
	if (mono >= d->next_expire_ns)
		expire(d, mono);
	bool resync_due = mono >= d->next_resync_ns && resync_asked(d);
	bool active_due = cfg->active_timeout && mono >= d->next_active_ns;
	if (!d->dump && d->ready && (resync_due || active_due)) {
		d->resync_wanted = false;
		dump_start(d, false);
		d->next_resync_ns = mono + cfg->resync_interval * NS_PER_S;
		d->next_active_ns = mono + active_period(cfg);
	}
}

/* *due = t if t comes sooner. */
static void sooner(uint64_t *due, uint64_t t)
{
	if (t < *due)
		*due = t;
}

static int poll_timeout_ms(const struct daemon *d, uint64_t mono)
{
	uint64_t due = d->next_expire_ns;

	sooner(&due, pipeline_due(d->pl));
	sooner(&due, control_due(&d->ctl));
	if (resync_asked(d))
		sooner(&due, d->next_resync_ns);
	if (cfg_of(d)->active_timeout)
		sooner(&due, d->next_active_ns);
	if (d->drops_checks_left)
		sooner(&due, d->next_drops_ns);
	if (d->ev_rest_ns > mono)
		sooner(&due, d->ev_rest_ns);
	if (due <= mono)
		return 0;
	return (int)((due - mono + NS_PER_MS - 1) / NS_PER_MS);
}

#define NO_FD SIZE_MAX

/* What one turn polls, and where each source sits (NO_FD: not polled). */
struct polls {
	struct pollfd pfd[6 + CONTROL_MAX_CLIENTS + PIPELINE_MAX_POLLFDS];
	size_t n;
	size_t sig, ev, dump, routes, nft, ctl, nctl;
};

static size_t poll_in(struct polls *p, int fd)
{
	p->pfd[p->n] = (struct pollfd){.fd = fd, .events = POLLIN};
	return p->n++;
}

static void poll_fds(const struct daemon *d, struct polls *p, uint64_t mono)
{
	p->n = 0;
	p->sig = poll_in(p, d->sigfd);
	p->ev = mono >= d->ev_rest_ns ? poll_in(p, nlsock_fd(d->ev)) : NO_FD;
	p->dump = d->dump ? poll_in(p, nlsock_fd(d->dump)) : NO_FD;
	p->routes = d->routes ? poll_in(p, routes_fd(d->routes)) : NO_FD;
	p->nft = d->nft ? poll_in(p, nlsock_fd(d->nft)) : NO_FD;
	p->ctl = p->n;
	p->nctl = control_pollfds(&d->ctl, p->pfd + p->n);
	p->n += p->nctl;
	p->n += pipeline_pollfds(d->pl, p->pfd + p->n);
}

/* True if source i of p has an event. */
static bool ready(const struct polls *p, size_t i)
{
	return i != NO_FD && p->pfd[i].revents;
}

static void tell_ready(struct daemon *d, int ready_fd)
{
	d->ready = true;
	log_info("ready: %zu connections open at start, exporting to %zu collector(s), "
		 "netlink buffer %zu bytes",
		 pipeline_pending_snapshots(d->pl), pipeline_collectors(d->pl), d->rcvbuf);
	if (ready_fd >= 0) {
		if (write(ready_fd, "ok\n", 3) != 3)
			log_warn("cannot tell the starting command that nfflowd is up");
		close(ready_fd);
	}
}

/* True if any of the control socket's descriptors has an event. */
static bool control_ready(const struct polls *p)
{
	for (size_t i = p->ctl; i < p->ctl + p->nctl; i++)
		if (p->pfd[i].revents)
			return true;
	return false;
}

/* One turn: wait, then serve only what is ready (a flood of one source
 * costs no system call on the others), each source within its budget. */
static void loop_once(struct daemon *d, int ready_fd)
{
	struct polls p;
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);

	poll_fds(d, &p, mono);
	if (poll(p.pfd, p.n, poll_timeout_ms(d, mono)) < 0) {
		if (errno != EINTR)
			log_warn("poll");
		return;
	}
	if (ready(&p, p.sig))
		read_signals(d);
	if (ready(&p, p.routes))
		routes_changed(d->routes); /* before the events: records use the new routes */
	/* a rest that has ended: what gathered is read now, not a poll later */
	if (ready(&p, p.ev) || (p.ev == NO_FD && clock_ns(CLOCK_MONOTONIC) >= d->ev_rest_ns))
		read_events_turn(d);
	if (ready(&p, p.dump)) {
		read_dump(d);
		if (!d->dump && !d->ready)
			tell_ready(d, ready_fd);
	}
	mono = clock_ns(CLOCK_MONOTONIC);
	if (control_ready(&p) || mono >= control_due(&d->ctl))
		control_serve(&d->ctl, mono, answer, d);
	timers(d, mono);
	if (ready(&p, p.nft) && nftwatch_drain(d->nft))
		read_blocks(d);
	pipeline_push(d->pl);
}

static void run(struct daemon *d, int ready_fd)
{
	char err[1024];
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);

	d->next_expire_ns = mono + EXPIRE_EVERY_NS;
	d->next_resync_ns = mono + cfg_of(d)->resync_interval * NS_PER_S;
	d->next_active_ns = mono + active_period(cfg_of(d));
	while (!d->want_stop) {
		loop_once(d, d->ready ? -1 : ready_fd);
		if (d->want_reload) {
			d->want_reload = false;
			reload(d, NULL, err, sizeof err);
		}
		if (d->want_stats) {
			d->want_stats = false;
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
	char err[512];
	struct daemon *d = calloc(1, sizeof *d);

	if (!d) {
		report_failure(opts->ready_fd, "out of memory");
		return 1;
	}
	d->path = path;
	d->opts = *opts;
	d->ctl.lfd = -1;
	umask(027); /* what it creates is never world-readable */
	log_init("nfflowd", LOG_DAEMON, d->opts.foreground);
	d->sigfd = signals_open();
	int rc = d->sigfd < 0 ? -1 : start(d, err, sizeof err);
	if (d->sigfd < 0)
		snprintf(err, sizeof err, "signalfd: %s", strerror(errno));
	if (rc == 0)
		run(d, opts->ready_fd);
	else
		report_failure(opts->ready_fd, err);
	release(d);
	if (d->sigfd >= 0)
		close(d->sigfd);
	free(d);
	return rc == 0 ? 0 : 1;
}
