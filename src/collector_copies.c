/* collector_copies: the local copies of every v5 record (the original's
 * <ptee> dispatchers), as flow-tools CSV lines written a datagram's worth
 * at a time, with the header a v5 datagram sent then would carry. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "copies.h"
#include "csv.h"

struct cps {
	struct copies copies; /* first: the collector_lines_* operations */
	struct collector_env env;
	struct collector_batch batch;
	uint8_t exaddr[4];
};

/* The source address of the first IPv4 collector of cfg that has one (the
 * CSV lines' exaddr field, network order); zero if none. */
static void exaddr_of(const struct nf_config *cfg, uint8_t exaddr[4])
{
	memset(exaddr, 0, 4);
	for (size_t i = 0; i < cfg->ncollectors; i++) {
		const struct collector_conf *c = &cfg->collectors[i];
		if (c->sourcelen && c->source.ss_family == AF_INET) {
			memcpy(exaddr, &((const struct sockaddr_in *)&c->source)->sin_addr, 4);
			return;
		}
	}
}

static struct cps *cps_of(const struct collector *c)
{
	return c->impl;
}

static int cps_open(struct collector *c, const struct collector_conf *conf,
		    const struct collector_env *env, char *err, size_t errlen)
{
	struct cps *p = calloc(1, sizeof *p);

	(void)conf;
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (copies_open(&p->copies, env->cfg, env->foreground, env->fds, err, errlen) != 0) {
		free(p);
		return -1;
	}
	if (p->copies.n == 0) { /* every copy is off: nothing to write to */
		free(p);
		return 1;
	}
	p->env = *env;
	exaddr_of(env->cfg, p->exaddr);
	c->impl = p;
	return 0;
}

static void cps_write(struct cps *p, const struct nf_now *t)
{
	struct nfv5_header h = collector_v5_header(&p->env, t);
	char line[CSV_LINE_MAX];

	if (p->batch.n == 0)
		return;
	for (size_t j = 0; j < p->batch.n; j++) {
		size_t len = csv_format_v5(line, sizeof line, &h, p->exaddr, &p->batch.recs[j]);
		if (len)
			copies_write(&p->copies, line, len, t->real_ns);
	}
	p->batch.n = 0;
}

static void cps_triplets(struct collector *c, const struct flow_rec *recs, size_t n,
			 const struct nf_now *t)
{
	struct cps *p = cps_of(c);

	for (size_t i = 0; i < n; i++)
		if (collector_batch_add(&p->batch, &recs[i], t->mono_ns, p->env.cfg->flush_ms))
			cps_write(p, t);
}

static void cps_flush(struct collector *c, const struct nf_now *t)
{
	cps_write(cps_of(c), t);
	collector_lines_push(c, t);
}

static void cps_tick(struct collector *c, const struct nf_now *t)
{
	struct cps *p = cps_of(c);

	if (p->batch.n && t->mono_ns >= p->batch.due_ns)
		cps_write(p, t);
}

static uint64_t cps_due(const struct collector *c)
{
	const struct cps *p = cps_of(c);
	uint64_t due = copies_due(&p->copies);

	return p->batch.n && p->batch.due_ns < due ? p->batch.due_ns : due;
}

const struct collector_ops collector_copies_ops = {
    .version = 0,
    .open = cps_open,
    .triplets = cps_triplets,
    .flush = cps_flush,
    .tick = cps_tick,
    .push = collector_lines_push,
    .due = cps_due,
    .pollfds = collector_lines_pollfds,
    .format_stats = collector_lines_format_stats,
    .close = collector_lines_close,
};
