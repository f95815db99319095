/* control: the daemon's local control socket (a Unix stream socket). A client
 * sends one command line ("stats", "reload") and reads the reply until the
 * daemon closes the connection. */
#ifndef NFFLOWD_CONTROL_H
#define NFFLOWD_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#define CONTROL_CMD_MAX 64

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
