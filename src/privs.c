#include "privs.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int privs_lookup(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);

	if (!pw) {
		snprintf(err, errlen, "user '%s': %s", user,
			 errno ? strerror(errno) : "no such user");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int privs_lookup_unprivileged(const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	if (privs_lookup(user, uid, gid, err, errlen) != 0)
		return -1;
	if (*uid == 0) {
		snprintf(err, errlen,
			 "user '%s' is uid 0: nfflowd does not run as root (it keeps "
			 "CAP_NET_ADMIN alone); set user to an unprivileged user, such as nfflowd",
			 user);
		return -1;
	}
	return 0;
}

int privs_no_new_privs(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int verify_ids(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) {
		snprintf(err, errlen, "cannot read the process ids: %s", strerror(errno));
		return -1;
	}
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid) {
		snprintf(err, errlen, "ids not changed as asked (uid %d/%d/%d, gid %d/%d/%d)",
			 (int)ru, (int)eu, (int)su, (int)rg, (int)eg, (int)sg);
		return -1;
	}
	if (getgroups(0, NULL) != 0) {
		snprintf(err, errlen, "supplementary groups remain");
		return -1;
	}
	return 0;
}

static int verify_caps(char *err, size_t errlen)
{
	capng_get_caps_process();
	bool only_net_admin = capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN) &&
			      capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN);
	/* Take CAP_NET_ADMIN away in a copy of the state: nothing may remain. */
	capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN);
	if (!only_net_admin || capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
		snprintf(err, errlen, "capabilities are not CAP_NET_ADMIN alone");
		return -1;
	}
	return 0;
}

int privs_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN) != 0) {
		snprintf(err, errlen, "cannot keep CAP_NET_ADMIN");
		return -1;
	}
	/* libcap-ng does setresgid, setgroups, setresuid, then applies the
	 * capabilities, checking each step; verify the outcome all the same. */
	int rc = capng_change_id((int)uid, (int)gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (rc != 0) {
		snprintf(err, errlen, "cannot change to uid %d gid %d (libcap-ng error %d)",
			 (int)uid, (int)gid, rc);
		return -1;
	}
	if (verify_ids(uid, gid, err, errlen) != 0)
		return -1;
	return verify_caps(err, errlen);
}
