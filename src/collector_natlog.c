/* collector_natlog: the NAT log for retention (<natlog>): a line per NAT
 * session end or interim record (natlog.h), written to its file through
 * the copies' writer: gathered in a buffer, written in large pieces, never
 * blocking the event loop; what the file does not take (a full disk) is
 * dropped, counted and logged. Reopened on every reload (log rotation),
 * from the descriptor the reload verb hands over when there is one. */
#include <stdio.h>
#include <stdlib.h>

#include "collector.h"
#include "copies.h"
#include "natlog.h"

struct nlg {
	struct copies out; /* one file copy; first: the collector_lines_* operations */
	const struct natlog_conf *conf;
	struct collector_env env;
};

static struct nlg *nlg_of(const struct collector *c)
{
	return c->impl;
}

static int nlg_open(struct collector *c, const struct collector_conf *conf,
		    const struct collector_env *env, char *err, size_t errlen)
{
	const struct natlog_conf *nc = &env->cfg->natlog;
	struct nlg *p;

	(void)conf;
	if (!nc->enabled)
		return 1;
	p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->conf = nc;
	p->env = *env;
	if (copies_open_one(&p->out, &nc->file, env->fds, err, errlen) != 0) {
		free(p);
		return -1;
	}
	c->impl = p;
	return 0;
}

static void nlg_conn(struct collector *c, const struct ct_event *ev, const struct flow_rec *rec,
		     bool interim, const struct nf_now *t)
{
	struct nlg *p = nlg_of(c);
	char line[NATLOG_LINE_MAX];
	size_t len;

	if (!natlog_wants(p->conf, ev))
		return;
	if (collector_block_says(&p->env, p->conf->nat_sessions, ev))
		return; /* the block's lines say it */
	len = natlog_format_conn(line, sizeof line, p->conf->format, ev, rec->first_ms,
				 rec->last_ms, interim);
	if (len)
		copies_write(&p->out, line, len, t->real_ns);
}

static void nlg_port_block(struct collector *c, const struct portblock *b, bool alloc,
			   uint64_t t_ms, const struct nf_now *t)
{
	struct nlg *p = nlg_of(c);
	char line[NATLOG_LINE_MAX];
	size_t len = natlog_format_block(line, sizeof line, p->conf->format, b, alloc, t_ms);

	if (len)
		copies_write(&p->out, line, len, t->real_ns);
}

static uint64_t nlg_due(const struct collector *c)
{
	return copies_due(&nlg_of(c)->out);
}

static uint64_t nlg_lost(const struct collector *c)
{
	const struct copy_out *o = &nlg_of(c)->out.out[0];

	return o->dropped + o->lines;
}

const struct collector_ops collector_natlog_ops = {
    .version = 0,
    .open = nlg_open,
    .conn = nlg_conn,
    .port_block = nlg_port_block,
    .flush = collector_lines_push,
    .push = collector_lines_push,
    .due = nlg_due,
    .pollfds = collector_lines_pollfds,
    .lost = nlg_lost,
    .format_stats = collector_lines_format_stats,
    .close = collector_lines_close,
};
