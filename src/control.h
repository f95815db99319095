/* control: the daemon's local control socket (a Unix stream socket). A client
 * sends one command line and reads the reply until the daemon closes the
 * connection. The daemon knows who asks (SO_PEERCRED): "stats" and "status"
 * are for root and the daemon's own user, "stop" and "reload" for root
 * alone; anyone else is refused at once, and refusals are logged. A command
 * may come with descriptors (SCM_RIGHTS): "reload" brings the configuration
 * text in a sealed memory file and the files it needs, opened by root. */
#ifndef NFFLOWD_CONTROL_H
#define NFFLOWD_CONTROL_H

#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTROL_CMD_MAX	    64
#define CONTROL_MAX_CLIENTS 8
#define CONTROL_TIMEOUT_NS  2000000000ull /* a client must send its command by then */
#define CONTROL_MAX_FDS	    16		  /* descriptors one command may bring */
#define CONTROL_LOG_MAX	    20		  /* refusals logged per minute; the rest counted */
/* Room for the longest reply, to "stats": every counter (PIPELINE_STATS_MAX,
 * 12 KiB) after a line or two of the daemon's own. */
#define CONTROL_REPLY_MAX 16384
/* The seals (fcntl F_ADD_SEALS) of the memory file a "reload" brings its
 * configuration text in: no one can change the text after the reload verb
 * checked it. The verb adds them, the daemon refuses a file without them. */
#define CONTROL_TEXT_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Who is on the other end of a connection, as the kernel says. */
struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* The daemon's side: the listening socket and the clients it serves. */
struct control_client {
	int fd;
	size_t len;
	char buf[CONTROL_CMD_MAX];
	uint64_t due_ns; /* dropped if no whole command came by then */
	struct control_peer peer;
	int fds[CONTROL_MAX_FDS]; /* descriptors that came with the command */
	size_t nfds;
	bool fds_lost; /* more came than fit, or the kernel cut them */
};

struct control_server {
	int lfd;
	char path[108]; /* sizeof sockaddr_un.sun_path */
	uid_t uid;	/* the daemon's user: may ask for stats and status */
	struct control_client clients[CONTROL_MAX_CLIENTS];
	size_t n;
	uint64_t refused;    /* commands and connections refused */
	uint64_t window_ns;  /* start of the minute refusals are logged in */
	unsigned logged;     /* refusals logged in that minute */
	uint64_t not_logged; /* refusals beyond CONTROL_LOG_MAX in that minute */
};

/* One command, as the daemon's answer function sees it. */
struct control_req {
	const char *line; /* the command line, newline removed */
	struct control_peer peer;
	int *fds; /* what came with it; the answer may take one (and set it to -1) */
	size_t nfds;
	bool fds_lost;
};

/* Writes the reply (NUL-terminated, at most len bytes) to req. Descriptors
 * left in req->fds are closed afterwards. */
typedef void (*control_answer_fn)(void *ctx, struct control_req *req, char *reply, size_t len);

/* Whether uid may give the command that line starts with, to a daemon
 * running as daemon_uid: NULL if so, else why not ("root only"). Commands
 * it does not know are let through (the daemon answers them). Pure. */
const char *control_refusal(const char *line, uid_t uid, uid_t daemon_uid);

/* Open s listening on path; uid is the daemon's user. The path must be in
 * a directory no other user can write to (created if missing, see
 * safefile_dir_prepare). A socket left there by a daemon that did not stop
 * cleanly is replaced; anything else there, or a socket that answers, is an
 * error. The socket is created by bind(2) with mode 0660 (from the umask)
 * and, as root, owner root and group gid (from the file system gid):
 * nothing is changed by path afterwards. Returns 0, or -1 with a message
 * in err. */
int control_open(struct control_server *s, const char *path, uid_t uid, gid_t gid, char *err,
		 size_t errlen);

/* At monotonic time mono_ns: accept waiting clients (refusing at once a
 * peer that may give no command; when every slot is taken, a root client
 * takes the slot of the oldest other one, anyone else is answered "error
 * busy"), answer each whole command through answer (or refuse it), drop
 * clients that sent nothing whole in CONTROL_TIMEOUT_NS. */
void control_serve(struct control_server *s, uint64_t mono_ns, control_answer_fn answer, void *ctx);

/* Add a pollfd (POLLIN) for the listening socket and each client; returns
 * how many (at most 1 + CONTROL_MAX_CLIENTS). */
size_t control_pollfds(const struct control_server *s, struct pollfd *pfd);

/* The monotonic time at which a client is due to be dropped; UINT64_MAX
 * without clients. */
uint64_t control_due(const struct control_server *s);

/* Close the clients and the listening socket, and remove the socket file
 * (control_unlink, which fails once unprivileged: "stop" removes it then).
 * Safe on a server that never opened (lfd -1). */
void control_close(struct control_server *s);

/* Remove the file at path if it is a socket (a daemon's control socket);
 * anything else there is left alone. */
void control_unlink(const char *path);

/* What a daemon says about itself ("status"): its pid, the configuration
 * file it reads, its pid file and its control socket. */
struct control_status {
	pid_t pid;
	char config[4096];
	char pidfile[4096];
	char control[108];
};

/* Format st as the reply to "status": "pid N\nconfig PATH\npidfile
 * PATH\ncontrol PATH\n". Returns the length (< len). */
size_t control_format_status(const struct control_status *st, char *buf, size_t len);

/* Parse a reply to "status" into st. Returns 0, or -1 if it is not one
 * (an "error ..." reply). Pure. */
int control_parse_status(const char *reply, struct control_status *st);

/* Ask the daemon on the socket at path for its status. Returns 0, or -1
 * with errno set (EACCES for a reply that refuses, EPROTO for one that does
 * not parse). */
int control_ask_status(const char *path, struct control_status *st, int timeout_ms);

/* True if a connection failed with err because nothing listens at the
 * path (no file, not a socket, refused): no daemon serves it. */
bool control_unserved(int err);

/* Client side: send cmd, with nfds descriptors fds (SCM_RIGHTS; none if 0),
 * to the socket at path and collect the reply into reply (NUL-terminated,
 * truncated to len). Gives up after timeout_ms without an answer. Returns 0,
 * or -1 with errno set. */
int control_request_fds(const char *path, const char *cmd, const int *fds, size_t nfds, char *reply,
			size_t len, int timeout_ms);

/* control_request_fds without descriptors. */
int control_request(const char *path, const char *cmd, char *reply, size_t len, int timeout_ms);

#endif
