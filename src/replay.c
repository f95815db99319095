#include "replay.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "pcapnl.h"
#include "pipeline.h"

#define BOOT_BEFORE_MS                                                                             \
	604800000ull /* uptime 0 a week before the recording: v5 times stay positive */

/* A recording being read: mapped when it is a regular file, else read as a
 * stream into buf. */
struct recording {
	FILE *f;
	const uint8_t *map;
	size_t size, off;
	struct pcapnl_reader r;
	uint64_t ts_ns; /* the timestamp of the packet being replayed: the clock */
	uint64_t packets;
	uint8_t buf[PCAPNL_SNAPLEN];
};

/* pipeline_clock_fn: the recording's time, for both clocks. */
static void recording_clock(void *ctx, struct nf_now *now)
{
	const struct recording *rec = ctx;

	now->real_ns = now->mono_ns = rec->ts_ns;
}

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

/* The next datagram, with rec->ts_ns set to its time. Returns 1 with
 * *dgram and *dlen set, 0 at the end, -1 on a damaged packet. */
static int recording_packet(struct recording *rec, const uint8_t **dgram, size_t *dlen)
{
	const uint8_t *hdr = recording_next(rec, PCAPNL_RECORD_HEADER_LEN), *pkt;
	size_t caplen;

	if (!hdr)
		return 0;
	rec->packets++;
	if (pcapnl_record(&rec->r, hdr, &rec->ts_ns, &caplen) != 0 ||
	    !(pkt = recording_next(rec, caplen)) || pcapnl_payload(pkt, caplen, dgram, dlen))
		return -1;
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

static void config_warning(void *ctx, const char *msg)
{
	(void)ctx;
	log_warnx("%s", msg);
}

/* The configuration in path, or NULL with the reason in err. */
static struct nf_config *load_config(const char *path, char *err, size_t errlen)
{
	struct nf_config *cfg = malloc(sizeof *cfg);

	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (config_load(path, cfg, err, errlen, config_warning, NULL) != 0) {
		free(cfg);
		return NULL;
	}
	return cfg;
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

/* Replay every packet of rec; the pipeline opens at the first (cfg is then
 * taken over), whose time sets the uptime's origin. Returns 0 at the end,
 * -1 on an error. */
static int replay_file(struct nf_config **cfg, struct recording *rec, struct pipeline **pp,
		       char *err, size_t errlen)
{
	const uint8_t *hdr = recording_next(rec, PCAPNL_FILE_HEADER_LEN), *dgram;
	size_t dlen;
	uint64_t dumps = 0;
	int r;

	if (!hdr || pcapnl_open(&rec->r, hdr, PCAPNL_FILE_HEADER_LEN, err, errlen))
		return -1;
	while ((r = recording_packet(rec, &dgram, &dlen)) == 1) {
		if (!*pp && !(*pp = open_pipeline(*cfg, rec, err, errlen)))
			return -1;
		*cfg = NULL;
		replay_datagram(*pp, dgram, dlen, &dumps);
	}
	if (r < 0) {
		snprintf(err, errlen, "packet %" PRIu64 " is damaged or cut short", rec->packets);
		return -1;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void report(const struct pipeline *p, const struct recording *rec, uint64_t t0)
{
	char buf[4096];
	double secs = (double)(mono_ns() - t0) / 1e9;
	const struct tracker_stats *t = pipeline_tracker_stats(p);
	uint64_t events = t->new_events + t->update_events + t->destroy_events;

	pipeline_format_stats(p, 0, buf, sizeof buf);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		log_info("%s", line);
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
	cfg = load_config(path, err, sizeof err);
	if (cfg)
		rec = recording_open(file, err, sizeof err);
	if (rec) {
		rc = replay_file(&cfg, rec, &p, err, sizeof err);
		if (p) {
			pipeline_flush(p);
			pipeline_push(p);
			report(p, rec, t0);
		}
		recording_close(rec);
	}
	if (rc != 0)
		log_warnx("replay: %s", err);
	pipeline_close(p);
	free(cfg);
	return rc == 0 ? 0 : 1;
}
