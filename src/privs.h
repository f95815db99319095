/* privs: run as an unprivileged user that keeps CAP_NET_ADMIN alone. */
#ifndef NFFLOWD_PRIVS_H
#define NFFLOWD_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

/* Look up user: its uid and primary gid. Returns 0, or -1 with a message. */
int privs_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/* privs_lookup, and refuse a user whose uid is 0 (root, or another name
 * for it): nfflowd leaves root once it has opened what needs it. On that
 * refusal *uid is 0; when the user does not exist, *uid is left as it was
 * (callers tell the two apart by it). */
int privs_lookup_unprivileged(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/* Set no_new_privs: nothing nfflowd could ever execute gains privileges
 * (set-user-ID bits, file capabilities). Returns 0, or -1 with a message. */
int privs_no_new_privs(char *err, size_t errlen);

/* Become uid/gid with no supplementary groups, keeping CAP_NET_ADMIN (which
 * table dumps need) as the only capability, effective and permitted, and an
 * empty bounding set. Called as root; then checks the result (real, effective
 * and saved ids, groups, capabilities) and fails rather than run half-dropped.
 * Returns 0, or -1 with a message. */
int privs_drop(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
