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
#include <syslog.h>
#include <time.h>

#include "config.h"
#include "copies.h"
#include "csv.h"
#include "ctmsg.h"
#include "exporter.h"
#include "kernel.h"
#include "log.h"
#include "nfv5.h"
#include "nlsock.h"
#include "tracker.h"

#define NS_PER_MS	1000000ull
#define NS_PER_S	1000000000ull
#define RXBUF_SIZE	(256u * 1024u)
#define EXPIRE_EVERY_NS (60 * NS_PER_S)
#define RCVBUF_CAP	(256u << 20)

/* Set by the signal handlers, read by the loop: nothing else happens there. */
static volatile sig_atomic_t got_stop, got_hup, got_usr1;

struct v5_batch {
	struct flow_rec recs[NFV5_MAX_RECORDS];
	size_t n;
	uint64_t due_ns; /* monotonic time by which the batch must leave */
};

struct daemon_stats {
	uint64_t nl_datagrams;
	uint64_t nl_overruns;
	uint64_t parse_errors;
	uint64_t v5_skipped_family; /* connections v5 cannot carry: IPv6 */
	uint64_t v5_skipped_proto;  /* protocols other than TCP, UDP, ICMP */
	uint64_t records_split;	    /* extra records from counters above 2^32-1 */
	uint64_t dumps, dump_errors;
};

struct daemon {
	struct nf_config *cfg; /* swapped whole on reload */
	const char *path;
	bool foreground;
	struct kernel_settings ks;
	struct mnl_socket *ev;
	size_t rcvbuf;
	struct mnl_socket *dump;
	uint32_t dump_seq;
	bool ready;
	struct tracker tr;
	struct exporter exp[CONFIG_MAX_COLLECTORS];
	size_t nexp;
	struct copies copies;
	uint8_t exaddr[4];
	uint64_t boot_ms;
	struct v5_batch batch;
	bool resync_wanted; /* an overrun asks for a dump */
	uint64_t next_resync_ns, next_expire_ns;
	struct daemon_stats st;
	uint8_t rx[RXBUF_SIZE];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
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

/* ---- v5 export ---------------------------------------------------------- */

static void batch_flush(struct daemon *d)
{
	struct v5_batch *b = &d->batch;
	struct nfv5_header h = {.now_ns = clock_ns(CLOCK_REALTIME),
				.boot_ms = d->boot_ms,
				.engine_type = d->cfg->engine_type,
				.engine_id = d->cfg->engine_id};
	uint8_t buf[NFV5_MAX_LEN];
	char line[CSV_LINE_MAX];

	if (b->n == 0)
		return;
	for (size_t i = 0; i < d->nexp; i++) {
		struct exporter *e = &d->exp[i];
		h.flow_sequence = e->flow_seq;
		size_t len = nfv5_encode(buf, sizeof buf, &h, b->recs, b->n);
		exporter_send(e, buf, len, (unsigned)b->n);
		e->flow_seq += (uint32_t)b->n;
	}
	for (size_t j = 0; j < b->n && d->copies.n; j++)
		if (csv_format_v5(line, sizeof line, &h, d->exaddr, &b->recs[j]))
			copies_write(&d->copies, line);
	copies_flush(&d->copies);
	b->n = 0;
}

static void batch_add(struct daemon *d, const struct flow_rec *r)
{
	struct v5_batch *b = &d->batch;

	if (b->n == 0)
		b->due_ns = clock_ns(CLOCK_MONOTONIC) + d->cfg->flush_ms * NS_PER_MS;
	b->recs[b->n++] = *r;
	if (b->n == NFV5_MAX_RECORDS)
		batch_flush(d);
}

static bool v5_carries(struct daemon *d, const struct ct_event *ev)
{
	if (ev->family != AF_INET) {
		d->st.v5_skipped_family++;
		return false;
	}
	switch (ev->orig.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
		return true;
	default:
		d->st.v5_skipped_proto++;
		return false;
	}
}

/* tracker_emit_fn: queue a connection's records, split so that no v5 counter
 * is truncated. */
static void emit_v5(void *ctx, const struct ct_event *ev, const struct flow_rec *recs, size_t n)
{
	struct daemon *d = ctx;
	struct flow_rec part;

	if (!v5_carries(d, ev))
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t parts = flow_split_count(&recs[i], NFV5_COUNTER_MAX);
		d->st.records_split += parts - 1;
		for (uint64_t k = 0; k < parts; k++) {
			flow_split_part(&recs[i], parts, k, &part);
			batch_add(d, &part);
		}
	}
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
	size_t ended = tracker_dump_end(&d->tr, clock_ns(CLOCK_REALTIME));
	if (ended)
		log_info("%zu connections from the start-up dump ended without an event", ended);
}

static void handle_msg(struct daemon *d, const struct nlmsghdr *nlh, uint64_t now_ns)
{
	struct ct_event ev;
	enum ctmsg_result r = ctmsg_parse(nlh, &ev);

	if (r == CTMSG_OK)
		tracker_event(&d->tr, &ev, now_ns);
	else if (r != CTMSG_NOT_CT)
		d->st.parse_errors++;
}

/* Returns 1 when a dump ended (NLMSG_DONE or error), else 0. */
static int handle_buffer(struct daemon *d, const void *buf, size_t len, int *dump_error)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;
	uint64_t now_ns = clock_ns(CLOCK_REALTIME);

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

static void overrun(struct daemon *d)
{
	d->st.nl_overruns++;
	size_t cap = d->cfg->rcvbuf > RCVBUF_CAP ? d->cfg->rcvbuf : RCVBUF_CAP;
	size_t want = d->rcvbuf * 2 > cap ? cap : d->rcvbuf * 2;
	size_t got = want > d->rcvbuf ? nlsock_set_rcvbuf(d->ev, want) : 0;
	log_warnx("netlink overrun %" PRIu64 ": the kernel dropped conntrack events "
		  "(receive buffer %zu bytes%s%zu)",
		  d->st.nl_overruns, d->rcvbuf, got ? ", now " : "", got);
	if (got)
		d->rcvbuf = got;
	d->resync_wanted = true;
}

static void drain_events(struct daemon *d)
{
	for (;;) {
		ssize_t n = nlsock_recv(d->ev, d->rx, sizeof d->rx);
		if (n == 0)
			return;
		if (n < 0) {
			if (errno == ENOBUFS)
				overrun(d);
			else
				log_warn("netlink receive");
			continue;
		}
		int err = 0;
		d->st.nl_datagrams++;
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

static void source_address(struct daemon *d)
{
	memset(d->exaddr, 0, sizeof d->exaddr);
	for (size_t i = 0; i < d->cfg->ncollectors; i++) {
		const struct collector_conf *c = &d->cfg->collectors[i];
		if (c->sourcelen && c->source.ss_family == AF_INET) {
			const struct sockaddr_in *s = (const struct sockaddr_in *)&c->source;
			memcpy(d->exaddr, &s->sin_addr, 4);
			return;
		}
	}
}

static void exporters_close(struct exporter *exp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		exporter_close(&exp[i]);
}

/* Open one exporter per collector of cfg into exp; all or nothing. */
static int exporters_open(struct exporter *exp, const struct nf_config *cfg, char *err,
			  size_t errlen)
{
	for (size_t i = 0; i < cfg->ncollectors; i++) {
		if (exporter_open(&exp[i], &cfg->collectors[i], err, errlen) != 0) {
			exporters_close(exp, i);
			return -1;
		}
	}
	return 0;
}

static void log_stats(struct daemon *d)
{
	const struct tracker_stats *t = &d->tr.st;

	log_info("events: new %" PRIu64 " update %" PRIu64 " destroy %" PRIu64
		 "; connections exported %" PRIu64 " (ended unseen %" PRIu64 "), remembered %zu, "
		 "expired %" PRIu64 ", start unknown %" PRIu64 ", no counters %" PRIu64,
		 t->new_events, t->update_events, t->destroy_events, t->exported, t->ended_by_dump,
		 cttable_count(d->tr.table), t->expired, t->start_unknown, t->no_counters);
	log_info("netlink: datagrams %" PRIu64 " overruns %" PRIu64 " parse errors %" PRIu64
		 " dumps %" PRIu64 " dump errors %" PRIu64 "; v5 skipped: IPv6 %" PRIu64
		 " other protocols %" PRIu64 "; split records %" PRIu64,
		 d->st.nl_datagrams, d->st.nl_overruns, d->st.parse_errors, d->st.dumps,
		 d->st.dump_errors, d->st.v5_skipped_family, d->st.v5_skipped_proto,
		 d->st.records_split);
	for (size_t i = 0; i < d->nexp; i++) {
		const struct exporter_stats *e = &d->exp[i].st;
		log_info("collector %s: datagrams %" PRIu64 " records %" PRIu64 " errors %" PRIu64
			 " dropped %" PRIu64 " queued %" PRIu64,
			 d->exp[i].name, e->datagrams, e->records, e->errors, e->dropped,
			 e->queued);
	}
}

/* SIGHUP: apply a changed file, or keep everything as it is. */
static void reload(struct daemon *d)
{
	char err[512] = "out of memory";
	struct nf_config *cfg = malloc(sizeof *cfg);
	struct exporter exp[CONFIG_MAX_COLLECTORS];
	struct copies copies;

	if (!cfg || config_load(d->path, cfg, err, sizeof err, config_warning, NULL) != 0 ||
	    exporters_open(exp, cfg, err, sizeof err) != 0) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		free(cfg);
		return;
	}
	if (copies_open(&copies, cfg, d->foreground, err, sizeof err) != 0) {
		log_warnx("reload failed, keeping the running configuration: %s", err);
		exporters_close(exp, cfg->ncollectors);
		free(cfg);
		return;
	}
	batch_flush(d); /* pending records leave with the old settings */
	exporters_close(d->exp, d->nexp);
	copies_close(&d->copies);
	free(d->cfg);
	d->cfg = cfg;
	memcpy(d->exp, exp, sizeof exp);
	d->nexp = cfg->ncollectors;
	d->copies = copies;
	d->tr.ttl_ns = (uint64_t)cfg->ttl * NS_PER_S;
	source_address(d);
	log_init("nfflowd", cfg->log_facility, d->foreground);
	log_info("reloaded %s", d->path);
}

static int start(struct daemon *d)
{
	char err[512];

	d->cfg = malloc(sizeof *d->cfg);
	if (!d->cfg) {
		log_warnx("out of memory");
		return 1;
	}
	if (config_load(d->path, d->cfg, err, sizeof err, config_warning, NULL) != 0) {
		log_warnx("%s", err);
		return 1;
	}
	log_init("nfflowd", d->cfg->log_facility, d->foreground);
	kernel_setup(d->cfg->sysctl_setup, &d->ks);
	d->ev = nlsock_open_events(d->cfg->rcvbuf, &d->rcvbuf);
	if (!d->ev) {
		log_warn("cannot subscribe to conntrack events (needs CAP_NET_ADMIN)");
		return 1;
	}
	if (exporters_open(d->exp, d->cfg, err, sizeof err) != 0) {
		log_warnx("%s", err);
		return 1;
	}
	d->nexp = d->cfg->ncollectors;
	if (copies_open(&d->copies, d->cfg, d->foreground, err, sizeof err) != 0) {
		log_warnx("%s", err);
		return 1;
	}
	if (tracker_init(&d->tr, (uint64_t)d->cfg->ttl * NS_PER_S, d->ks.timestamp == 1, emit_v5,
			 d) != 0) {
		log_warnx("out of memory");
		return 1;
	}
	source_address(d);
	d->boot_ms = (clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME)) / NS_PER_MS;
	dump_start(d, true);
	return d->dump ? 0 : 1;
}

static void stop(struct daemon *d)
{
	batch_flush(d);
	for (size_t i = 0; i < d->nexp; i++)
		exporter_drain(&d->exp[i]);
	log_stats(d);
	exporters_close(d->exp, d->nexp);
	copies_close(&d->copies);
	nlsock_close(d->dump);
	nlsock_close(d->ev);
	tracker_free(&d->tr);
	free(d->cfg);
}

/* ---- the loop ----------------------------------------------------------- */

static void timers(struct daemon *d, uint64_t mono)
{
	if (d->batch.n && mono >= d->batch.due_ns)
		batch_flush(d);
	if (mono >= d->next_expire_ns) {
		size_t n = tracker_expire(&d->tr, clock_ns(CLOCK_REALTIME));
		if (n)
			log_info("forgot %zu unfinished connections older than ttl %u s", n,
				 d->cfg->ttl);
		d->next_expire_ns = mono + EXPIRE_EVERY_NS;
	}
	bool resync_due = mono >= d->next_resync_ns && tracker_pending_snapshots(&d->tr);
	if (!d->dump && d->ready && (resync_due || d->resync_wanted)) {
		d->resync_wanted = false;
		dump_start(d, false);
		d->next_resync_ns = mono + d->cfg->resync_interval * NS_PER_S;
	}
}

static int poll_timeout_ms(const struct daemon *d, uint64_t mono)
{
	uint64_t due = d->next_expire_ns;

	if (d->batch.n && d->batch.due_ns < due)
		due = d->batch.due_ns;
	if (tracker_pending_snapshots(&d->tr) && d->next_resync_ns < due)
		due = d->next_resync_ns;
	if (due <= mono)
		return 0;
	return (int)((due - mono + NS_PER_MS - 1) / NS_PER_MS);
}

static void became_ready(struct daemon *d)
{
	d->ready = true;
	log_info("ready: %zu connections open at start, exporting to %zu collector(s), "
		 "netlink buffer %zu bytes",
		 tracker_pending_snapshots(&d->tr), d->nexp, d->rcvbuf);
}

static size_t poll_fds(struct daemon *d, struct pollfd *pfd)
{
	size_t n = 0;

	pfd[n++] = (struct pollfd){.fd = nlsock_fd(d->ev), .events = POLLIN};
	if (d->dump)
		pfd[n++] = (struct pollfd){.fd = nlsock_fd(d->dump), .events = POLLIN};
	for (size_t i = 0; i < d->nexp; i++)
		if (d->exp[i].qlen)
			pfd[n++] = (struct pollfd){.fd = d->exp[i].fd, .events = POLLOUT};
	return n;
}

static void loop_once(struct daemon *d, const sigset_t *waitmask)
{
	struct pollfd pfd[2 + CONFIG_MAX_COLLECTORS];
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
			became_ready(d);
	}
	for (size_t i = 0; i < d->nexp; i++)
		if (d->exp[i].qlen)
			exporter_drain(&d->exp[i]);
	timers(d, clock_ns(CLOCK_MONOTONIC));
}

int daemon_run(const char *path, bool foreground)
{
	sigset_t waitmask;
	struct daemon *d = calloc(1, sizeof *d);

	if (!d) {
		fprintf(stderr, "nfflowd: out of memory\n");
		return 1;
	}
	d->path = path;
	d->foreground = foreground;
	log_init("nfflowd", LOG_DAEMON, true);
	signals_setup(&waitmask);
	if (start(d) != 0) {
		free(d->cfg);
		free(d);
		return 1;
	}
	uint64_t mono = clock_ns(CLOCK_MONOTONIC);
	d->next_expire_ns = mono + EXPIRE_EVERY_NS;
	d->next_resync_ns = mono + d->cfg->resync_interval * NS_PER_S;
	while (!got_stop) {
		loop_once(d, &waitmask);
		if (got_hup) {
			got_hup = 0;
			reload(d);
		}
		if (got_usr1) {
			got_usr1 = 0;
			log_stats(d);
		}
	}
	log_info("stopping: sending what is pending");
	drain_events(d);
	stop(d);
	free(d);
	return 0;
}
