#include "copies.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "safefile.h"
#include "timeunit.h"

static bool wants_info(const struct copy_conf *c)
{
	/* syslog levels: a smaller number is more severe. */
	return LOG_INFO <= c->min_level && LOG_INFO >= c->max_level;
}

/* A pipe or socket must not block the loop: it is made non-blocking, and
 * what it cannot take waits in a larger buffer. */
static void stream_setup(struct copy_out *o)
{
	struct stat st;

	o->cap = COPIES_BUF;
	if (fstat(o->fd, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) | O_NONBLOCK);
	o->cap = COPIES_PIPE_MAX;
}

/* ---- the files of file copies --------------------------------------------- */

static bool active_file(const struct copy_conf *c)
{
	return c->kind == COPY_FILE && wants_info(c);
}

/* The files c writes, in order (see copies_fds_count); returns how many. */
static size_t file_confs(const struct nf_config *c, const struct copy_conf *out[COPIES_MAX_FILES])
{
	size_t n = 0;

	for (size_t i = 0; i < c->ncopies; i++)
		if (active_file(&c->copies[i]))
			out[n++] = &c->copies[i];
	if (c->natlog.enabled)
		out[n++] = &c->natlog.file;
	return n;
}

size_t copies_fds_count(const struct nf_config *c)
{
	const struct copy_conf *files[COPIES_MAX_FILES];

	return file_confs(c, files);
}

static int open_file(const struct copy_conf *c, char *err, size_t errlen)
{
	int fd = safefile_open_output(c->path, c->append);

	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "copy %s: cannot open %s: %s", c->name, c->path,
			 e == ELOOP    ? "it is a symbolic link (refused)"
			 : e == EINVAL ? "not a regular file or FIFO"
			 : e == ENXIO  ? "a FIFO that no process reads"
				       : strerror(e));
		errno = e;
	}
	return fd;
}

int copies_fds_open(struct copies_fds *fds, const struct nf_config *c, char *err, size_t errlen)
{
	const struct copy_conf *files[COPIES_MAX_FILES];
	size_t n = file_confs(c, files);

	fds->n = 0;
	for (size_t i = 0; i < n; i++) {
		int fd = open_file(files[i], err, errlen);
		if (fd < 0) {
			int e = errno;
			copies_fds_close(fds);
			errno = e;
			return -1;
		}
		fds->f[fds->n].path = files[i]->path;
		fds->f[fds->n++].fd = fd;
	}
	return 0;
}

/* A descriptor a file copy can write to. */
static bool writable_file(int fd)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_ACCMODE) != O_RDONLY && fstat(fd, &st) == 0 &&
	       (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode));
}

int copies_fds_adopt(struct copies_fds *fds, const struct nf_config *c, int *fd, size_t n,
		     char *err, size_t errlen)
{
	const struct copy_conf *files[COPIES_MAX_FILES];
	size_t want = file_confs(c, files);

	fds->n = 0;
	if (n != want) {
		snprintf(err, errlen,
			 "the configuration has %zu file copies but %zu files came with it", want,
			 n);
		return -1;
	}
	for (size_t j = 0; j < n; j++) {
		if (!writable_file(fd[j])) {
			snprintf(err, errlen, "copy %s: the file that came is not open for writing",
				 files[j]->name);
			return -1;
		}
		fds->f[j].path = files[j]->path;
		fds->f[j].fd = fd[j];
	}
	for (size_t j = 0; j < n; j++)
		fd[j] = -1;
	fds->n = n;
	return 0;
}

void copies_fds_close(struct copies_fds *fds)
{
	for (size_t i = 0; i < fds->n; i++)
		if (fds->f[i].fd >= 0)
			close(fds->f[i].fd);
	fds->n = 0;
}

/* A duplicate of the descriptor fds has for path, or the path opened here. */
static int file_fd(const struct copy_conf *c, const struct copies_fds *fds, char *err,
		   size_t errlen)
{
	for (size_t i = 0; fds && i < fds->n; i++) {
		if (strcmp(fds->f[i].path, c->path) != 0)
			continue;
		int fd = fcntl(fds->f[i].fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			snprintf(err, errlen, "copy %s: %s", c->name, strerror(errno));
		return fd;
	}
	return open_file(c, err, errlen);
}

/* ---- opening and closing ------------------------------------------------ */

static int open_fd(struct copy_out *o, const struct copy_conf *c, const struct copies_fds *fds,
		   char *err, size_t errlen)
{
	if (c->kind == COPY_SCREEN) {
		o->fd = c->to_stderr ? STDERR_FILENO : STDOUT_FILENO;
	} else {
		o->fd = file_fd(c, fds, err, errlen);
		o->own_fd = true;
		if (o->fd < 0)
			return -1;
	}
	stream_setup(o);
	o->buf = malloc(o->cap);
	if (!o->buf) {
		snprintf(err, errlen, "copy %s: out of memory", c->name);
		return -1;
	}
	return 0;
}

static int open_one(struct copy_out *o, const struct copy_conf *c, const struct copies_fds *fds,
		    char *err, size_t errlen)
{
	memset(o, 0, sizeof *o);
	o->conf = c;
	o->fd = -1;
	o->q.fd = -1;
	if (c->kind != COPY_SYSLOG)
		return open_fd(o, c, fds, err, errlen);
	if (syslogq_open(&o->q, c->socket, c->queue_size) != 0) {
		snprintf(err, errlen, "copy %s: out of memory", c->name);
		return -1;
	}
	return 0;
}

int copies_open_one(struct copies *cp, const struct copy_conf *cc, const struct copies_fds *fds,
		    char *err, size_t errlen)
{
	if (cp->n >= CONFIG_MAX_COPIES) {
		snprintf(err, errlen, "copy %s: too many copies", cc->name);
		return -1;
	}
	if (open_one(&cp->out[cp->n], cc, fds, err, errlen) != 0) {
		struct copies one = {.n = 1};
		one.out[0] = cp->out[cp->n];
		copies_close(&one);
		return -1;
	}
	cp->n++;
	return 0;
}

int copies_open(struct copies *cp, const struct nf_config *c, bool foreground,
		const struct copies_fds *fds, char *err, size_t errlen)
{
	cp->n = 0;
	for (size_t i = 0; i < c->ncopies; i++) {
		const struct copy_conf *cc = &c->copies[i];
		if (!wants_info(cc) || (cc->kind == COPY_SCREEN && !foreground))
			continue;
		if (copies_open_one(cp, cc, fds, err, errlen) != 0) {
			copies_close(cp); /* the ones opened before it */
			return -1;
		}
	}
	return 0;
}

/* syslog: the RFC 3164 header of a message at real_ns, as syslog(3) makes
 * it: "<PRI>Mmm dd hh:mm:ss ident[pid]: ". Made once a second. */
static void make_prefix(struct copy_out *o, uint64_t real_ns)
{
	time_t s = (time_t)(real_ns / NS_PER_S);
	struct tm tm;
	char stamp[32];

	if (o->plen && (uint64_t)s == o->prefix_s)
		return;
	localtime_r(&s, &tm);
	strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
	int n =
	    snprintf(o->prefix, sizeof o->prefix, "<%d>%s %s[%d]: ", o->conf->facility | LOG_INFO,
		     stamp, o->conf->ident, (int)getpid());
	o->plen = n < 0 ? 0 : (size_t)n >= sizeof o->prefix ? sizeof o->prefix - 1 : (size_t)n;
	o->prefix_s = (uint64_t)s;
}

static void drop(struct copy_out *o, size_t lines, int err)
{
	o->dropped += lines;
	o->last_errno = err;
}

/* Write what is gathered; keeps what a full pipe does not take. */
static void write_out(struct copy_out *o)
{
	size_t off = 0;

	while (off < o->len) {
		ssize_t w = write(o->fd, o->buf + off, o->len - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		drop(o, o->lines, w < 0 ? errno : EIO); /* a full disk, a closed pipe */
		o->len = o->lines = 0;
		return;
	}
	o->written += off == o->len ? o->lines : 0;
	memmove(o->buf, o->buf + off, o->len - off);
	o->len -= off;
	o->lines = o->len ? o->lines : 0;
}

static void add_line(struct copy_out *o, const char *line, size_t len)
{
	if (o->cap - o->len < len + 1 && o->cap == COPIES_BUF)
		write_out(o);
	if (o->cap - o->len < len + 1) {
		drop(o, 1, EAGAIN);
		return;
	}
	memcpy(o->buf + o->len, line, len);
	o->buf[o->len + len] = '\n';
	o->len += len + 1;
	o->lines++;
}

void copies_write(struct copies *cp, const char *line, size_t len, uint64_t real_ns)
{
	for (size_t i = 0; i < cp->n; i++) {
		struct copy_out *o = &cp->out[i];
		if (o->conf->kind != COPY_SYSLOG) {
			add_line(o, line, len);
			continue;
		}
		make_prefix(o, real_ns);
		syslogq_add(&o->q, o->prefix, o->plen, line, len);
	}
}

/* Log drops the first time, then at most once a minute. */
static void report_drops(struct copy_out *o, uint64_t mono_ns)
{
	uint64_t dropped = o->dropped + o->q.dropped;
	int err = o->conf->kind == COPY_SYSLOG ? o->q.last_errno : o->last_errno;

	if (dropped == o->dropped_logged ||
	    (o->dropped_logged && mono_ns < o->logged_ns + COPIES_LOG_NS))
		return;
	log_warnx("copy %s: %" PRIu64 " lines dropped (%" PRIu64 " since the last report): %s",
		  o->conf->name, dropped, dropped - o->dropped_logged, strerror(err));
	o->dropped_logged = dropped;
	o->logged_ns = mono_ns;
}

void copies_flush(struct copies *cp, uint64_t mono_ns)
{
	for (size_t i = 0; i < cp->n; i++) {
		struct copy_out *o = &cp->out[i];
		if (o->conf->kind == COPY_SYSLOG)
			syslogq_send(&o->q, mono_ns);
		else if (o->len)
			write_out(o);
		report_drops(o, mono_ns);
	}
}

size_t copies_pollfds(const struct copies *cp, struct pollfd *pfd)
{
	size_t n = 0;

	for (size_t i = 0; i < cp->n; i++) {
		const struct copy_out *o = &cp->out[i];
		int fd = o->conf->kind == COPY_SYSLOG	 ? syslogq_pollfd(&o->q)
			 : o->len && o->cap > COPIES_BUF ? o->fd
							 : -1;
		if (fd >= 0)
			pfd[n++] = (struct pollfd){.fd = fd, .events = POLLOUT};
	}
	return n;
}

uint64_t copies_due(const struct copies *cp)
{
	uint64_t due = UINT64_MAX;

	for (size_t i = 0; i < cp->n; i++) {
		const struct copy_out *o = &cp->out[i];
		uint64_t d = o->conf->kind == COPY_SYSLOG ? syslogq_due(&o->q) : UINT64_MAX;
		if (o->dropped + o->q.dropped != o->dropped_logged &&
		    o->logged_ns + COPIES_LOG_NS < d)
			d = o->logged_ns + COPIES_LOG_NS;
		due = d < due ? d : due;
	}
	return due;
}

size_t copies_format_stats(const struct copies *cp, char *buf, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < cp->n && n + 1 < len; i++) {
		const struct copy_out *o = &cp->out[i];
		bool sl = o->conf->kind == COPY_SYSLOG;
		int w =
		    snprintf(buf + n, len - n,
			     "copy %s: lines %" PRIu64 " dropped %" PRIu64 " waiting %zu%s\n",
			     o->conf->name, sl ? o->q.sent : o->written,
			     sl ? o->q.dropped : o->dropped, sl ? syslogq_waiting(&o->q) : o->lines,
			     sl && o->q.fd < 0 ? " not-connected" : "");
		n += w < 0 ? 0 : (size_t)w;
	}
	return n < len ? n : len - 1;
}

void copies_close(struct copies *cp)
{
	for (size_t i = 0; i < cp->n; i++) {
		struct copy_out *o = &cp->out[i];
		if (o->conf->kind == COPY_SYSLOG) {
			syslogq_send(&o->q, UINT64_MAX);
			syslogq_close(&o->q);
			continue;
		}
		if (o->fd >= 0 && o->len)
			write_out(o);
		if (o->own_fd && o->fd >= 0)
			close(o->fd);
		free(o->buf);
	}
	cp->n = 0;
}
