#include "kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define SYSCTL_DIR "/proc/sys/net/netfilter/"

struct setting {
	const char *name;
	const char *without; /* what is lost while it is off */
	int want;	     /* the value nfflowd needs */
};

static const struct setting settings[] = {
    {"nf_conntrack_acct", "records carry no packet or byte counts", 1},
    {"nf_conntrack_timestamp", "FIRST and LAST are when nfflowd saw the events", 1},
    {"nf_conntrack_events", "connections created while no listener runs never report their end", 1},
};

static int *field(struct kernel_settings *k, size_t i)
{
	return i == 0 ? &k->acct : i == 1 ? &k->timestamp : &k->events;
}

static int read_int(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof path, SYSCTL_DIR "%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return atoi(buf);
}

static int write_int(const char *name, int v)
{
	char path[128], buf[16];

	snprintf(path, sizeof path, SYSCTL_DIR "%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int len = snprintf(buf, sizeof buf, "%d\n", v);
	ssize_t n = write(fd, buf, (size_t)len);
	int saved = errno;
	close(fd);
	errno = saved;
	return n == len ? 0 : -1;
}

void kernel_read(struct kernel_settings *k)
{
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
		*field(k, i) = read_int(settings[i].name);
}

static void setup_one(const struct setting *s, bool set, int *value)
{
	if (*value == s->want)
		return;
	if (*value < 0) {
		log_warnx("cannot read " SYSCTL_DIR "%s (is nf_conntrack loaded in this "
			  "namespace?): %s",
			  s->name, s->without);
		return;
	}
	if (!set) {
		log_warnx("WARNING: %s is %d and sysctl_setup is off: %s", s->name, *value,
			  s->without);
		return;
	}
	if (write_int(s->name, s->want) != 0) {
		log_warn("WARNING: could not set %s=%d (%s)", s->name, s->want, s->without);
		return;
	}
	log_info("set net.netfilter.%s=%d (was %d)", s->name, s->want, *value);
	*value = s->want;
}

void kernel_setup(bool set, struct kernel_settings *k)
{
	kernel_read(k);
	int acct_before = k->acct;
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
		setup_one(&settings[i], set, field(k, i));
	if (acct_before == 0 && k->acct == 1)
		log_info("connections open before nf_conntrack_acct was set carry no counters");
}
