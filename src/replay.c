#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "pcapnl.h"
#include "pipeline.h"

#define BOOT_BEFORE_MS                                                                             \
	604800000ull /* uptime 0 a week before the recording: v5 times stay positive */

/* A recording being read with read(2) into a buffer (a file truncated while
 * it is replayed ends the replay with an error, where a mapping would
 * fault), and each datagram copied to an aligned buffer (a record of odd
 * length leaves the next one misaligned in the file). */
struct recording {
	const char *name;
	int fd;
	uint8_t *buf; /* RECORDING_CHUNK bytes read ahead */
	size_t len, at;
	uint64_t off; /* file offset of buf[at] */
	struct pcapnl_reader r;
	uint64_t ts_ns; /* the timestamp of the packet being replayed: the clock */
	uint64_t packets;
	uint64_t dgram[PCAPNL_SNAPLEN / sizeof(uint64_t)]; /* the datagram, aligned */
};

#define RECORDING_CHUNK (4u << 20)

/* pipeline_clock_fn: the recording's time, for both clocks. */
static void recording_clock(void *ctx, struct nf_now *now)
{
	const struct recording *rec = ctx;

	now->real_ns = now->mono_ns = rec->ts_ns;
}

/* Make n bytes (at most RECORDING_CHUNK) available at buf + at. Returns the
 * number available: n, or fewer at the end of the file. */
static size_t recording_fill(struct recording *rec, size_t n)
{
	if (rec->len - rec->at >= n)
		return n;
	memmove(rec->buf, rec->buf + rec->at, rec->len - rec->at);
	rec->len -= rec->at;
	rec->at = 0;
	while (rec->len < n) {
		ssize_t r = read(rec->fd, rec->buf + rec->len, RECORDING_CHUNK - rec->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		rec->len += (size_t)r;
	}
	return rec->len < n ? rec->len : n;
}

/* The next n bytes, or NULL with err saying what is missing (what, of the
 * record at file offset at). */
static const uint8_t *recording_next(struct recording *rec, size_t n, uint64_t at, const char *what,
				     char *err, size_t errlen)
{
	size_t got = recording_fill(rec, n);

	if (got < n) {
		snprintf(err, errlen, "%s: offset %" PRIu64 ": %s cut short (%zu of %zu bytes)",
			 rec->name, at, what, got, n);
		return NULL;
	}
	rec->at += n;
	rec->off += n;
	return rec->buf + rec->at - n;
}

/* Open the recording in file. */
static struct recording *recording_open(const char *file, char *err, size_t errlen)
{
	struct recording *rec = calloc(1, sizeof *rec);

	if (!rec || !(rec->buf = malloc(RECORDING_CHUNK))) {
		snprintf(err, errlen, "out of memory");
		free(rec);
		return NULL;
	}
	rec->name = file;
	rec->fd = open(file, O_RDONLY | O_CLOEXEC);
	if (rec->fd < 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		free(rec->buf);
		free(rec);
		return NULL;
	}
	posix_fadvise(rec->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return rec;
}

static void recording_close(struct recording *rec)
{
	close(rec->fd);
	free(rec->buf);
	free(rec);
}

/* The file header. Returns 0, or -1 with the reason in err. */
static int recording_header(struct recording *rec, char *err, size_t errlen)
{
	char why[256];

	if (recording_fill(rec, 1) == 0) {
		snprintf(err, errlen, "%s: empty file: not a recording (nfflowd -w writes them)",
			 rec->name);
		return -1;
	}
	const uint8_t *hdr =
	    recording_next(rec, PCAPNL_FILE_HEADER_LEN, 0, "file header", err, errlen);
	if (!hdr)
		return -1;
	if (pcapnl_open(&rec->r, hdr, PCAPNL_FILE_HEADER_LEN, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s: offset 0: %s", rec->name, why);
		return -1;
	}
	return 0;
}

/* The next datagram (aligned), with rec->ts_ns set to its time. Returns 1
 * with *dgram and *dlen set, 0 at the end, -1 with the reason in err. */
static int recording_packet(struct recording *rec, const uint8_t **dgram, size_t *dlen, char *err,
			    size_t errlen)
{
	uint64_t at = rec->off;
	const uint8_t *hdr, *pkt, *payload;
	size_t caplen;

	if (recording_fill(rec, 1) == 0)
		return 0;
	rec->packets++;
	if (!(hdr =
		  recording_next(rec, PCAPNL_RECORD_HEADER_LEN, at, "record header", err, errlen)))
		return -1;
	if (pcapnl_record(&rec->r, hdr, &rec->ts_ns, &caplen) != 0) {
		snprintf(err, errlen,
			 "%s: offset %" PRIu64 ": packet %" PRIu64 " is longer than %u bytes",
			 rec->name, at, rec->packets, PCAPNL_SNAPLEN);
		return -1;
	}
	if (!(pkt = recording_next(rec, caplen, at, "packet", err, errlen)))
		return -1;
	if (pcapnl_payload(pkt, caplen, &payload, dlen) != 0) {
		snprintf(err, errlen,
			 "%s: offset %" PRIu64 ": packet %" PRIu64
			 " is not a netfilter netlink datagram",
			 rec->name, at, rec->packets);
		return -1;
	}
	memcpy(rec->dgram, payload, *dlen);
	*dgram = (const uint8_t *)rec->dgram;
	return 1;
}

/* A datagram of the recording: dump traffic (NLM_F_MULTI entries and their
 * NLMSG_DONE) opens and closes a dump as the live table dump did. */
static void replay_datagram(struct pipeline *p, const uint8_t *buf, size_t len, uint64_t *dumps)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	int err = 0;

	if (len < sizeof *nlh)
		return;
	bool dump = (nlh->nlmsg_flags & NLM_F_MULTI) || nlh->nlmsg_type == NLMSG_DONE;
	if (dump && !pipeline_dumping(p))
		pipeline_dump_begin(p, (*dumps)++ == 0);
	if (pipeline_datagram(p, dump ? PIPELINE_DUMP : PIPELINE_EVENTS, buf, len, &err) &&
	    pipeline_dumping(p))
		pipeline_dump_end(p);
	pipeline_tick(p);
}

/* A pipeline for cfg (taken over), timed by rec, whose current time sets
 * the uptime's origin. A recording made with sysctl_setup (the default) has
 * kernel timestamps, so NEW events need not be remembered; without it every
 * NEW is, in case the DESTROYs lack a start. */
static struct pipeline *open_pipeline(struct nf_config *cfg, struct recording *rec, char *err,
				      size_t errlen)
{
	uint64_t ms = rec->ts_ns / NS_PER_MS;
	struct pipeline_opts po = {.clock = recording_clock,
				   .clock_ctx = rec,
				   .boot_ms = ms > BOOT_BEFORE_MS ? ms - BOOT_BEFORE_MS : 0,
				   .kernel_ts = cfg->sysctl_setup,
				   .foreground = true};

	return pipeline_open(cfg, &po, err, errlen);
}

/* Replay every packet of rec; the pipeline opens at the first, whose time
 * sets the uptime's origin (cfg is then taken over, *cfg NULL, even if it
 * fails to open). Returns 0 at the end, -1 on an error. */
static int replay_file(struct nf_config **cfg, struct recording *rec, struct pipeline **pp,
		       char *err, size_t errlen)
{
	const uint8_t *dgram;
	size_t dlen;
	uint64_t dumps = 0;
	int r;

	if (recording_header(rec, err, errlen) != 0)
		return -1;
	while ((r = recording_packet(rec, &dgram, &dlen, err, errlen)) == 1) {
		if (!*pp) {
			*pp = open_pipeline(*cfg, rec, err, errlen);
			*cfg = NULL; /* pipeline_open freed it if it failed */
			if (!*pp)
				return -1;
		}
		replay_datagram(*pp, dgram, dlen, &dumps);
	}
	return r;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void report(const struct pipeline *p, const struct recording *rec, uint64_t t0)
{
	char buf[PIPELINE_STATS_MAX];
	double secs = (double)(mono_ns() - t0) / 1e9;
	const struct tracker_stats *t = pipeline_tracker_stats(p);
	uint64_t events = t->new_events + t->update_events + t->destroy_events;

	pipeline_format_stats(p, 0, buf, sizeof buf);
	log_info_lines(buf);
	log_info("replayed %" PRIu64 " events (%" PRIu64 " datagrams) in %.3f s: %.0f events/s",
		 events, rec->packets, secs, secs > 0 ? (double)events / secs : 0.0);
}

int replay_run(const char *path, const char *file)
{
	char err[512];
	uint64_t t0 = mono_ns();
	struct pipeline *p = NULL;
	struct recording *rec = NULL;
	struct nf_config *cfg;
	int rc = -1;

	log_init("nfflowd", LOG_DAEMON, true);
	cfg = config_load_new(path, err, sizeof err, log_config_warning, NULL);
	if (cfg)
		rec = recording_open(file, err, sizeof err);
	if (rec) {
		rc = replay_file(&cfg, rec, &p, err, sizeof err);
		if (p) {
			pipeline_flush(p);
			pipeline_push(p);
			report(p, rec, t0);
		}
		if (rc == 0 && p && pipeline_lost(p)) {
			snprintf(err, sizeof err,
				 "%" PRIu64 " datagrams were not delivered to the collectors "
				 "(dropped, or held for a collector that is down)",
				 pipeline_lost(p));
			rc = -1;
		}
		recording_close(rec);
	}
	if (rc != 0)
		log_warnx("replay: %s", err);
	pipeline_close(p);
	free(cfg);
	return rc == 0 ? 0 : 1;
}
