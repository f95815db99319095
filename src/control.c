#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "safefile.h"

#define LOG_WINDOW_NS	     (60 * 1000000000ull)
#define CONTROL_ACCEPT_BATCH 32 /* connections accepted per turn of the loop */

/* The commands and who may give them. */
static const struct {
	const char *verb;
	bool root_only;
} commands[] = {
    {"stats", false},
    {"status", false},
    {"reload", true},
    {"stop", true},
};

static int make_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

const char *control_refusal(const char *line, uid_t uid, uid_t daemon_uid)
{
	size_t n = strcspn(line, " ");

	if (uid != 0 && uid != daemon_uid)
		return "only root and the daemon's user may use the control socket";
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strlen(commands[i].verb) != n || strncmp(line, commands[i].verb, n) != 0)
			continue;
		return commands[i].root_only && uid != 0 ? "root only" : NULL;
	}
	return NULL;
}

/* ---- listening ---------------------------------------------------------- */

/* A socket file left at path by a daemon that did not stop: removed. Refuses
 * anything that is not a socket, and a socket someone answers on. */
static int remove_stale(const char *path, const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "control socket %s: exists and is not a socket: remove it",
			 path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "control socket %s: another process answers on it", path);
		return -1;
	}
	return unlink(path);
}

/* bind with mode 0660 and, as root, group gid: the socket file is created
 * that way, never changed by path afterwards. */
static int bind_owned(int fd, const struct sockaddr_un *sun, gid_t gid)
{
	bool root = geteuid() == 0;
	mode_t old = umask(0117);

	if (root)
		setfsgid(gid);
	int rc = bind(fd, (const struct sockaddr *)sun, sizeof *sun);
	int e = errno;
	if (root)
		setfsgid(getegid());
	umask(old);
	errno = e;
	return rc;
}

/* The socket file is what bind made: ours, mode 0660. */
static int verify_node(const char *path, gid_t gid, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -1;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0777) != 0660 ||
	    (geteuid() == 0 && st.st_gid != gid)) {
		snprintf(err, errlen, "control socket %s: created as uid %d gid %d mode %04o", path,
			 (int)st.st_uid, (int)st.st_gid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* Listen on path as control_open says. Returns the non-blocking listening
 * fd, or -1 with a message. */
static int control_listen(const char *path, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd = -1;

	err[0] = '\0';
	if (make_addr(path, &sun) != 0)
		goto fail;
	if (safefile_dir_prepare("control socket", path, err, errlen) != 0 ||
	    remove_stale(path, &sun, err, errlen) != 0)
		goto fail;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind_owned(fd, &sun, gid) != 0 || verify_node(path, gid, err, errlen) != 0 ||
	    listen(fd, 16) != 0)
		goto fail;
	return fd;
fail:
	if (!err[0])
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int control_open(struct control_server *s, const char *path, uid_t uid, gid_t gid, char *err,
		 size_t errlen)
{
	memset(s, 0, sizeof *s);
	snprintf(s->path, sizeof s->path, "%s", path);
	s->uid = uid;
	s->lfd = control_listen(path, gid, err, errlen);
	return s->lfd < 0 ? -1 : 0;
}

/* ---- serving ------------------------------------------------------------ */

/* Log a refusal, at most CONTROL_LOG_MAX a minute; the rest are counted and
 * their number logged when the next minute's first one comes. */
static void refusal(struct control_server *s, uint64_t mono_ns, const struct control_peer *p,
		    const char *what, const char *why)
{
	s->refused++;
	if (mono_ns >= s->window_ns + LOG_WINDOW_NS) {
		if (s->not_logged)
			log_warnx("control: %llu more refusals were not logged",
				  (unsigned long long)s->not_logged);
		s->window_ns = mono_ns;
		s->logged = 0;
		s->not_logged = 0;
	}
	if (s->logged >= CONTROL_LOG_MAX) {
		s->not_logged++;
		return;
	}
	s->logged++;
	log_warnx("control: refused %s from uid %d gid %d pid %d: %s", what, (int)p->uid,
		  (int)p->gid, (int)p->pid, why);
}

/* Write the reply text and close the connection. */
static void reply_close(int cfd, const char *text)
{
	size_t left = strlen(text);

	/* Replies are a few kilobytes: the socket buffer takes them at once. */
	while (left > 0) {
		ssize_t n = send(cfd, text, left, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0)
			break;
		text += n;
		left -= (size_t)n;
	}
	close(cfd);
}

static void close_fds(struct control_client *c)
{
	for (size_t i = 0; i < c->nfds; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	c->nfds = 0;
}

static void drop_client(struct control_server *s, size_t i, const char *text)
{
	struct control_client *c = &s->clients[i];

	close_fds(c);
	if (text)
		reply_close(c->fd, text);
	else
		close(c->fd);
	s->clients[i] = s->clients[--s->n];
}

static int peer_of(int fd, struct control_peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
		return -1;
	*p = (struct control_peer){.pid = uc.pid, .uid = uc.uid, .gid = uc.gid};
	return 0;
}

/* Every slot taken: a root client takes the slot of the oldest client that
 * is not root. Returns the slot freed, or -1. */
static int evict_for_root(struct control_server *s)
{
	int oldest = -1;

	for (size_t i = 0; i < s->n; i++)
		if (s->clients[i].peer.uid != 0 &&
		    (oldest < 0 || s->clients[i].due_ns < s->clients[oldest].due_ns))
			oldest = (int)i;
	if (oldest >= 0)
		drop_client(s, (size_t)oldest, "error busy: a root client took this slot\n");
	return oldest;
}

static void admit(struct control_server *s, int fd, const struct control_peer *p, uint64_t mono_ns)
{
	if (s->n == CONTROL_MAX_CLIENTS && (p->uid != 0 || evict_for_root(s) < 0)) {
		reply_close(fd, "error busy\n");
		return;
	}
	s->clients[s->n++] =
	    (struct control_client){.fd = fd, .due_ns = mono_ns + CONTROL_TIMEOUT_NS, .peer = *p};
}

static void accept_all(struct control_server *s, uint64_t mono_ns)
{
	int fd;
	char msg[160];

	/* A bounded number per turn: a client that reconnects without end
	 * cannot keep the loop from the kernel's events. */
	for (int i = 0; i < CONTROL_ACCEPT_BATCH &&
			(fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;
	     i++) {
		struct control_peer p;
		if (peer_of(fd, &p) != 0) {
			close(fd);
			continue;
		}
		const char *why = control_refusal("", p.uid, s->uid);
		if (why) {
			refusal(s, mono_ns, &p, "a connection", why);
			snprintf(msg, sizeof msg, "error permission denied: %s\n", why);
			reply_close(fd, msg);
			continue;
		}
		admit(s, fd, &p, mono_ns);
	}
}

/* Keep the descriptors a message brought (at most CONTROL_MAX_FDS). */
static void take_fds(struct control_client *c, struct msghdr *mh)
{
	if (mh->msg_flags & MSG_CTRUNC)
		c->fds_lost = true;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
			if (c->nfds < CONTROL_MAX_FDS) {
				c->fds[c->nfds++] = fd;
				continue;
			}
			close(fd);
			c->fds_lost = true;
		}
	}
}

/* Read what the client sent. Returns 1 when a whole line is there
 * (NUL-terminated, newline removed), 0 to wait for more, -1 on error, end of
 * file or an overlong line. */
static int read_client(struct control_client *c)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = c->buf + c->len, .iov_len = CONTROL_CMD_MAX - 1 - c->len};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	take_fds(c, &mh);
	if (n == 0)
		return -1;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	char *nl = memchr(c->buf, '\n', c->len);
	if (nl) {
		*nl = '\0';
		return 1;
	}
	return c->len >= CONTROL_CMD_MAX - 1 ? -1 : 0;
}

/* Client i sent a whole command: answer it (or refuse it) and drop it. */
static void answer_one(struct control_server *s, size_t i, uint64_t mono_ns,
		       control_answer_fn answer, void *ctx)
{
	char reply[CONTROL_REPLY_MAX], what[CONTROL_CMD_MAX + 16];
	struct control_client *c = &s->clients[i];
	const char *why = control_refusal(c->buf, c->peer.uid, s->uid);

	if (why) {
		snprintf(what, sizeof what, "'%.*s'", (int)strcspn(c->buf, " "), c->buf);
		refusal(s, mono_ns, &c->peer, what, why);
		snprintf(reply, sizeof reply, "error permission denied: %.*s is %s\n",
			 (int)strcspn(c->buf, " "), c->buf, why);
	} else {
		struct control_req req = {.line = c->buf,
					  .peer = c->peer,
					  .fds = c->fds,
					  .nfds = c->nfds,
					  .fds_lost = c->fds_lost};
		answer(ctx, &req, reply, sizeof reply);
	}
	drop_client(s, i, reply);
}

void control_serve(struct control_server *s, uint64_t mono_ns, control_answer_fn answer, void *ctx)
{
	accept_all(s, mono_ns);
	for (size_t i = 0; i < s->n;) {
		struct control_client *c = &s->clients[i];
		int r = read_client(c);
		if (r == 0 && mono_ns < c->due_ns) {
			i++;
			continue;
		}
		if (r == 1)
			answer_one(s, i, mono_ns, answer, ctx);
		else
			drop_client(s, i, NULL);
	}
}

size_t control_pollfds(const struct control_server *s, struct pollfd *pfd)
{
	size_t n = 0;

	pfd[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
	for (size_t i = 0; i < s->n; i++)
		pfd[n++] = (struct pollfd){.fd = s->clients[i].fd, .events = POLLIN};
	return n;
}

uint64_t control_due(const struct control_server *s)
{
	uint64_t due = UINT64_MAX;

	for (size_t i = 0; i < s->n; i++)
		if (s->clients[i].due_ns < due)
			due = s->clients[i].due_ns;
	return due;
}

void control_close(struct control_server *s)
{
	while (s->n)
		drop_client(s, s->n - 1, NULL);
	if (s->lfd >= 0) {
		close(s->lfd);
		control_unlink(s->path);
	}
	s->lfd = -1;
}

void control_unlink(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
}

/* ---- the client side ---------------------------------------------------- */

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r = poll(&p, 1, timeout_ms);

	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* Send line with fds attached to its first byte. */
static int send_line(int fd, const char *line, size_t len, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CONTROL_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)line, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds > CONTROL_MAX_FDS) {
		errno = E2BIG;
		return -1;
	}
	if (nfds) {
		memset(&u, 0, sizeof u);
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int read_reply(int fd, char *reply, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got + 1 < len) {
		if (wait_fd(fd, POLLIN, timeout_ms) != 0)
			return -1;
		ssize_t r = recv(fd, reply + got, len - 1 - got, 0);
		/* A daemon that refuses at once closes with the command unread:
		 * the kernel then ends the stream with ECONNRESET, after the
		 * answer it wrote. */
		if (r < 0 && !(errno == ECONNRESET && got > 0))
			return -1;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	reply[got] = '\0';
	return 0;
}

int control_request_fds(const char *path, const char *cmd, const int *fds, size_t nfds, char *reply,
			size_t len, int timeout_ms)
{
	struct sockaddr_un sun;
	char line[CONTROL_CMD_MAX];

	if (make_addr(path, &sun) != 0)
		return -1;
	int n = snprintf(line, sizeof line, "%s\n", cmd);
	if (n < 0 || (size_t)n >= sizeof line) {
		errno = EMSGSIZE;
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	if (rc == 0 && send_line(fd, line, (size_t)n, fds, nfds) != 0) {
		/* A daemon that refuses at once closes before the command
		 * arrives: its answer is still there to read. */
		int e = errno;
		rc = read_reply(fd, reply, len, timeout_ms) == 0 && reply[0] ? 0 : -1;
		errno = e;
	} else if (rc == 0) {
		rc = read_reply(fd, reply, len, timeout_ms);
	}
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

bool control_unserved(int err)
{
	return err == ENOENT || err == ECONNREFUSED || err == ENOTSOCK || err == ENOTDIR;
}

int control_request(const char *path, const char *cmd, char *reply, size_t len, int timeout_ms)
{
	return control_request_fds(path, cmd, NULL, 0, reply, len, timeout_ms);
}

/* ---- status ------------------------------------------------------------- */

size_t control_format_status(const struct control_status *st, char *buf, size_t len)
{
	int n = snprintf(buf, len, "pid %d\nconfig %s\npidfile %s\ncontrol %s\n", (int)st->pid,
			 st->config, st->pidfile, st->control);

	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

/* The rest of the line after "key " in reply, into dst. */
static int field(const char *reply, const char *key, char *dst, size_t len)
{
	size_t k = strlen(key);

	for (const char *p = reply; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, k) != 0 || p[k] != ' ')
			continue;
		size_t n = strcspn(p + k + 1, "\n");
		if (n >= len)
			return -1;
		memcpy(dst, p + k + 1, n);
		dst[n] = '\0';
		return 0;
	}
	return -1;
}

int control_parse_status(const char *reply, struct control_status *st)
{
	char pid[16], *end;

	memset(st, 0, sizeof *st);
	if (field(reply, "pid", pid, sizeof pid) != 0 ||
	    field(reply, "config", st->config, sizeof st->config) != 0 ||
	    field(reply, "pidfile", st->pidfile, sizeof st->pidfile) != 0 ||
	    field(reply, "control", st->control, sizeof st->control) != 0)
		return -1;
	long v = strtol(pid, &end, 10);
	if (*end || v <= 0 || v > 4194304)
		return -1;
	st->pid = (pid_t)v;
	return 0;
}

int control_ask_status(const char *path, struct control_status *st, int timeout_ms)
{
	char reply[8192 + 512];

	if (control_request(path, "status", reply, sizeof reply, timeout_ms) != 0)
		return -1;
	if (control_parse_status(reply, st) == 0)
		return 0;
	errno = strncmp(reply, "error permission denied", 23) == 0 ? EACCES : EPROTO;
	return -1;
}
