#include "copies.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static bool wants_info(const struct copy_conf *c)
{
	/* syslog levels: a smaller number is more severe. */
	return LOG_INFO <= c->min_level && LOG_INFO >= c->max_level;
}

static int open_one(struct copy_out *o, const struct copy_conf *c, char *err, size_t errlen)
{
	o->conf = c;
	o->fp = NULL;
	switch (c->kind) {
	case COPY_SCREEN:
		o->fp = c->to_stderr ? stderr : stdout;
		break;
	case COPY_FILE:
		o->fp = fopen(c->path, c->append ? "ae" : "we");
		if (!o->fp) {
			snprintf(err, errlen, "copy %s: cannot open %s: %s", c->name, c->path,
				 strerror(errno));
			return -1;
		}
		break;
	case COPY_SYSLOG:
		break;
	}
	return 0;
}

int copies_open(struct copies *cp, const struct nf_config *c, bool foreground, char *err,
		size_t errlen)
{
	cp->n = 0;
	for (size_t i = 0; i < c->ncopies; i++) {
		const struct copy_conf *cc = &c->copies[i];
		if (!wants_info(cc) || (cc->kind == COPY_SCREEN && !foreground))
			continue;
		if (open_one(&cp->out[cp->n], cc, err, errlen) != 0) {
			copies_close(cp);
			return -1;
		}
		cp->n++;
	}
	return 0;
}

static void to_syslog(const struct copy_conf *c, const char *line)
{
	bool other_ident = strcmp(c->ident, log_ident()) != 0;

	/* syslog(3) has one ident per process: switch for the line, then back. */
	if (other_ident)
		openlog(c->ident, LOG_NDELAY, c->facility);
	syslog(c->facility | LOG_INFO, "%s", line);
	if (other_ident)
		openlog(log_ident(), LOG_PID | LOG_NDELAY, log_facility());
}

void copies_write(struct copies *cp, const char *line)
{
	for (size_t i = 0; i < cp->n; i++) {
		struct copy_out *o = &cp->out[i];
		if (o->conf->kind == COPY_SYSLOG)
			to_syslog(o->conf, line);
		else
			fprintf(o->fp, "%s\n", line);
	}
}

void copies_flush(struct copies *cp)
{
	for (size_t i = 0; i < cp->n; i++)
		if (cp->out[i].fp)
			fflush(cp->out[i].fp);
}

void copies_close(struct copies *cp)
{
	for (size_t i = 0; i < cp->n; i++)
		if (cp->out[i].conf->kind == COPY_FILE && cp->out[i].fp)
			fclose(cp->out[i].fp);
	cp->n = 0;
}
