#include "pipeline.h"

#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctmsg.h"
#include "output.h"
#include "portblock.h"

struct pipeline {
	struct nf_config *cfg;
	struct pipeline_opts opts;
	struct nf_now now; /* the clock as last read: what records are stamped with */
	struct tracker tr;
	bool tr_open;
	struct output out;
	bool out_open;
	struct portblock_set blocks; /* the port blocks in force */
	struct pipeline_stats st;
	struct ipfix_loss events_lost; /* events the kernel dropped, for the loss reports */
};

static void read_clock(struct pipeline *p)
{
	p->opts.clock(p->opts.clock_ctx, &p->now);
}

/* tracker_emit_fn: a connection's records, with the interfaces towards
 * the client (the original source) and towards the server after NAT (the
 * reply's source) when a lookup was given. */
static void on_conn(void *ctx, const struct ct_event *ev, const struct flow_rec *recs, size_t n,
		    bool interim)
{
	struct pipeline *p = ctx;
	struct flow_rec with_if[FLOW_MAX_PER_CONN];
	const uint8_t *server = (ev->have & CT_HAVE_REPLY) ? ev->reply.src : ev->orig.dst;

	if (!p->opts.ifindex || n > FLOW_MAX_PER_CONN) {
		output_conn(&p->out, ev, recs, n, interim, &p->now);
		return;
	}
	memcpy(with_if, recs, n * sizeof *recs);
	flow_set_interfaces(with_if, n,
			    p->opts.ifindex(p->opts.ifindex_ctx, ev->family, ev->orig.src),
			    p->opts.ifindex(p->opts.ifindex_ctx, ev->family, server));
	output_conn(&p->out, ev, with_if, n, interim, &p->now);
}

/* tracker_new_fn: a new connection, for NAT create events. */
static void on_new(void *ctx, const struct ct_event *ev, uint64_t t_ms)
{
	struct pipeline *p = ctx;

	output_nat_create(&p->out, ev, t_ms, &p->now);
}

static int open_output(struct output *o, const struct pipeline *p, const struct nf_config *cfg,
		       const struct copies_fds *fds, char *err, size_t errlen)
{
	struct collector_env env = {.cfg = cfg,
				    .boot_ms = p->opts.boot_ms,
				    .foreground = p->opts.foreground,
				    .capture = p->opts.capture,
				    .fds = fds,
				    .events_lost = &p->events_lost,
				    .blocks = &p->blocks};

	return output_open(o, &env, err, errlen);
}

static void apply_timeouts(struct pipeline *p)
{
	tracker_set_ttl(&p->tr, (uint64_t)p->cfg->ttl * NS_PER_S);
	tracker_set_active_timeout(&p->tr, (uint64_t)p->cfg->active_timeout * NS_PER_S);
	tracker_set_limit(&p->tr, p->cfg->max_connections);
}

struct pipeline *pipeline_open(struct nf_config *cfg, const struct pipeline_opts *opts, char *err,
			       size_t errlen)
{
	struct pipeline *p = calloc(1, sizeof *p);

	if (!p) {
		snprintf(err, errlen, "out of memory");
		free(cfg);
		return NULL;
	}
	p->cfg = cfg;
	p->opts = *opts;
	read_clock(p);
	if (tracker_init(&p->tr, (uint64_t)cfg->ttl * NS_PER_S, opts->kernel_ts, on_conn, on_new,
			 p) != 0) {
		snprintf(err, errlen, "out of memory");
		pipeline_close(p);
		return NULL;
	}
	p->tr_open = true;
	apply_timeouts(p);
	if (open_output(&p->out, p, cfg, NULL, err, errlen) != 0) {
		pipeline_close(p);
		return NULL;
	}
	p->out_open = true;
	output_own_flows(&p->out, &cfg->filter);
	return p;
}

void pipeline_close(struct pipeline *p)
{
	if (!p)
		return;
	if (p->out_open)
		output_close(&p->out);
	if (p->tr_open)
		tracker_free(&p->tr);
	portblock_free(&p->blocks);
	free(p->cfg);
	free(p);
}

/* portblock_event_fn: one allocation or de-allocation, now. */
static void on_block(void *ctx, const struct portblock *b, bool alloc)
{
	struct pipeline *p = ctx;

	output_port_block(&p->out, b, alloc, p->now.real_ns / NS_PER_MS, &p->now);
}

size_t pipeline_port_blocks(struct pipeline *p, struct portblock_set *fresh)
{
	size_t n;

	read_clock(p);
	n = portblock_diff(&p->blocks, fresh, on_block, p);
	portblock_free(&p->blocks);
	p->blocks = *fresh;
	memset(fresh, 0, sizeof *fresh);
	return n;
}

const struct nf_config *pipeline_config(const struct pipeline *p)
{
	return p->cfg;
}

static void handle_msg(struct pipeline *p, const struct nlmsghdr *nlh)
{
	struct ct_event ev;
	enum ctmsg_result r = ctmsg_parse(nlh, &ev);

	if (r != CTMSG_OK) {
		p->st.parse_errors += r != CTMSG_NOT_CT;
		return;
	}
	if (!filter_match(&p->cfg->filter, &ev)) {
		p->st.filtered++;
		return;
	}
	tracker_event(&p->tr, &ev, p->now.real_ns);
}

int pipeline_datagram(struct pipeline *p, enum pipeline_source from, const void *buf, size_t len,
		      int *dump_error)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	p->st.datagrams += from == PIPELINE_EVENTS;
	read_clock(p);
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
		handle_msg(p, nlh);
	}
	return 0;
}

void pipeline_dump_begin(struct pipeline *p, bool startup)
{
	p->st.dumps++;
	tracker_dump_begin(&p->tr, startup);
}

size_t pipeline_dump_end(struct pipeline *p)
{
	read_clock(p);
	return tracker_dump_end(&p->tr, p->now.real_ns);
}

void pipeline_dump_abort(struct pipeline *p)
{
	p->st.dump_errors++;
	if (p->tr.dumping)
		tracker_dump_abort(&p->tr);
}

bool pipeline_dumping(const struct pipeline *p)
{
	return p->tr.dumping;
}

void pipeline_overrun(struct pipeline *p)
{
	p->st.overruns++;
}

void pipeline_events_lost(struct pipeline *p, uint64_t n)
{
	read_clock(p);
	if (n)
		ipfix_loss_add(&p->events_lost, n, 0, 0, p->now.real_ns / NS_PER_MS);
}

size_t pipeline_expire(struct pipeline *p)
{
	read_clock(p);
	return tracker_expire(&p->tr, p->now.real_ns);
}

void pipeline_tick(struct pipeline *p)
{
	read_clock(p);
	output_tick(&p->out, &p->now);
}

void pipeline_flush(struct pipeline *p)
{
	read_clock(p);
	output_flush(&p->out, &p->now);
}

void pipeline_push(struct pipeline *p)
{
	read_clock(p);
	output_push(&p->out, &p->now);
}

uint64_t pipeline_due(const struct pipeline *p)
{
	return output_due(&p->out);
}

size_t pipeline_pollfds(const struct pipeline *p, struct pollfd *pfd)
{
	return output_pollfds(&p->out, pfd);
}

int pipeline_reload(struct pipeline *p, struct nf_config *cfg, const struct copies_fds *fds,
		    char *err, size_t errlen)
{
	struct output fresh;

	if (open_output(&fresh, p, cfg, fds, err, errlen) != 0) {
		free(cfg);
		return -1;
	}
	pipeline_flush(p); /* pending records leave with the old settings */
	output_carry_over(&fresh, &p->out);
	output_close(&p->out);
	p->out = fresh;
	free(p->cfg);
	p->cfg = cfg;
	output_own_flows(&p->out, &cfg->filter);
	apply_timeouts(p);
	read_clock(p);
	output_port_blocks_anew(&p->out, &p->blocks, p->now.real_ns / NS_PER_MS, &p->now);
	return 0;
}

size_t pipeline_pending_snapshots(const struct pipeline *p)
{
	return tracker_pending_snapshots(&p->tr);
}

uint64_t pipeline_lost(const struct pipeline *p)
{
	return output_lost(&p->out);
}

size_t pipeline_collectors(const struct pipeline *p)
{
	return p->out.nnet;
}

const struct pipeline_stats *pipeline_stats(const struct pipeline *p)
{
	return &p->st;
}

const struct tracker_stats *pipeline_tracker_stats(const struct pipeline *p)
{
	return &p->tr.st;
}

size_t pipeline_format_stats(const struct pipeline *p, size_t rcvbuf, char *buf, size_t len)
{
	const struct tracker_stats *t = &p->tr.st;
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
	    " out-of-memory %" PRIu64 " interim %" PRIu64 " interim-remembered %zu"
	    " gone-by-dump %" PRIu64 " table-full %" PRIu64 "\n",
	    t->exported, t->ended_by_dump, cttable_count(p->tr.table), t->expired, t->start_unknown,
	    t->no_counters, t->oom, t->interim, interim_count(p->tr.interim), t->gone_by_dump,
	    t->table_full);
	ADD("netlink: datagrams %" PRIu64 " overruns %" PRIu64 " parse-errors %" PRIu64
	    " dumps %" PRIu64 " dump-errors %" PRIu64 " buffer %zu filtered %" PRIu64 "\n",
	    p->st.datagrams, p->st.overruns, p->st.parse_errors, p->st.dumps, p->st.dump_errors,
	    rcvbuf, p->st.filtered);
	struct ipfix_loss dropped = {0};
	output_loss(&p->out, &dropped);
	struct ipfix_loss all = ipfix_loss_sum(&p->events_lost, &dropped);
	ADD("lost: netlink-events %" PRIu64 " dropped-flows %" PRIu64 " dropped-packets %" PRIu64
	    " dropped-octets %" PRIu64 " first-ms %" PRIu64 " last-ms %" PRIu64 "\n",
	    p->events_lost.flows, dropped.flows, dropped.packets, dropped.octets, all.first_ms,
	    all.last_ms);
#undef ADD
	if (n < len)
		n += output_format_stats(&p->out, buf + n, len - n);
	return n < len ? n : len - 1;
}
