#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

int control_listen(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	int fd = -1;

	if (make_addr(path, &sun) != 0)
		goto fail;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	unlink(path); /* a socket left by a daemon that did not stop cleanly */
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 || listen(fd, 8) != 0 ||
	    chmod(path, 0660) != 0 || (geteuid() == 0 && chown(path, uid, gid) != 0))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int control_accept(int lfd)
{
	return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int control_read(int cfd, char *buf, size_t *len)
{
	ssize_t n = recv(cfd, buf + *len, CONTROL_CMD_MAX - 1 - *len, 0);

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	*len += (size_t)n;
	buf[*len] = '\0';
	char *nl = memchr(buf, '\n', *len);
	if (nl) {
		*nl = '\0';
		return 1;
	}
	return *len >= CONTROL_CMD_MAX - 1 ? -1 : 0;
}

void control_reply(int cfd, const char *text)
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

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r = poll(&p, 1, timeout_ms);

	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

int control_request(const char *path, const char *cmd, char *reply, size_t len, int timeout_ms)
{
	struct sockaddr_un sun;
	char line[CONTROL_CMD_MAX];
	size_t got = 0;

	if (make_addr(path, &sun) != 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int n = snprintf(line, sizeof line, "%s\n", cmd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		goto fail;
	while (got + 1 < len) {
		if (wait_fd(fd, POLLIN, timeout_ms) != 0)
			goto fail;
		ssize_t r = recv(fd, reply + got, len - 1 - got, 0);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	reply[got] = '\0';
	close(fd);
	return 0;
fail:
	n = errno;
	close(fd);
	errno = n;
	return -1;
}

int control_open(struct control_server *s, const char *path, uid_t uid, gid_t gid, char *err,
		 size_t errlen)
{
	memset(s, 0, sizeof *s);
	snprintf(s->path, sizeof s->path, "%s", path);
	s->lfd = control_listen(path, uid, gid, err, errlen);
	return s->lfd < 0 ? -1 : 0;
}

static void accept_all(struct control_server *s, uint64_t mono_ns)
{
	int fd;

	while ((fd = control_accept(s->lfd)) >= 0) {
		if (s->n == CONTROL_MAX_CLIENTS) {
			control_reply(fd, "error busy\n");
			continue;
		}
		s->clients[s->n++] =
		    (struct control_client){.fd = fd, .due_ns = mono_ns + CONTROL_TIMEOUT_NS};
	}
}

void control_serve(struct control_server *s, uint64_t mono_ns, control_answer_fn answer, void *ctx)
{
	char reply[4096];

	accept_all(s, mono_ns);
	for (size_t i = 0; i < s->n;) {
		struct control_client *c = &s->clients[i];
		int r = control_read(c->fd, c->buf, &c->len);
		if (r == 0 && mono_ns < c->due_ns) {
			i++;
			continue;
		}
		if (r == 1) {
			answer(ctx, c->buf, reply, sizeof reply);
			control_reply(c->fd, reply);
		} else {
			close(c->fd);
		}
		s->clients[i] = s->clients[--s->n];
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
	for (size_t i = 0; i < s->n; i++)
		close(s->clients[i].fd);
	s->n = 0;
	if (s->lfd >= 0) {
		close(s->lfd);
		unlink(s->path);
	}
	s->lfd = -1;
}
