/* control: the daemon's local control socket (a Unix stream socket). A client
 * sends one command line ("stats", "reload") and reads the reply until the
 * daemon closes the connection. */
#ifndef NFFLOWD_CONTROL_H
#define NFFLOWD_CONTROL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTROL_CMD_MAX	    64
#define CONTROL_MAX_CLIENTS 4
#define CONTROL_TIMEOUT_NS  2000000000ull /* a client must send its command by then */

/* The daemon's side: the listening socket and the clients it serves. */
struct control_client {
	int fd;
	size_t len;
	char buf[CONTROL_CMD_MAX];
	uint64_t due_ns; /* dropped if no whole command came by then */
};

struct control_server {
	int lfd;
	char path[108]; /* sizeof sockaddr_un.sun_path */
	struct control_client clients[CONTROL_MAX_CLIENTS];
	size_t n;
};

/* Writes the reply (NUL-terminated, at most len bytes) to command cmd. */
typedef void (*control_answer_fn)(void *ctx, const char *cmd, char *reply, size_t len);

/* Open s listening on path (see control_listen). Returns 0, or -1 with a
 * message in err. */
int control_open(struct control_server *s, const char *path, uid_t uid, gid_t gid, char *err,
		 size_t errlen);

/* At monotonic time mono_ns: accept waiting clients (answering "error busy"
 * beyond CONTROL_MAX_CLIENTS), answer each whole command through answer,
 * drop clients that sent nothing whole in CONTROL_TIMEOUT_NS. */
void control_serve(struct control_server *s, uint64_t mono_ns, control_answer_fn answer, void *ctx);

/* Add a pollfd (POLLIN) for the listening socket and each client; returns
 * how many (at most 1 + CONTROL_MAX_CLIENTS). */
size_t control_pollfds(const struct control_server *s, struct pollfd *pfd);

/* The monotonic time at which a client is due to be dropped; UINT64_MAX
 * without clients. */
uint64_t control_due(const struct control_server *s);

/* Close the clients and the listening socket, and remove the socket file
 * (which fails once unprivileged: "stop" removes it then). Safe on a server
 * that never opened (lfd -1). */
void control_close(struct control_server *s);

/* Listen on path (replacing a stale socket), owned by uid/gid, mode 0660.
 * Returns the non-blocking listening fd, or -1 with a message. */
int control_listen(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen);

/* Accept one client, non-blocking; -1 if none is waiting. */
int control_accept(int lfd);

/* Read what the client sent into buf (holding *len bytes so far). Returns 1
 * when a whole line is there (NUL-terminated, newline removed), 0 to wait for
 * more, -1 on error, end of file or an overlong line. */
int control_read(int cfd, char *buf, size_t *len);

/* Write the reply text and close the connection. */
void control_reply(int cfd, const char *text);

/* Client side: send cmd to the socket at path and collect the reply into
 * reply (NUL-terminated, truncated to len). Gives up after timeout_ms.
 * Returns 0, or -1 with errno set. */
int control_request(const char *path, const char *cmd, char *reply, size_t len, int timeout_ms);

#endif
