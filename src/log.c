#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static struct {
	char ident[64];
	int facility;
	bool to_stderr;
} logger = {"nfflowd", LOG_DAEMON, true};

void log_init(const char *ident, int facility, bool to_stderr)
{
	snprintf(logger.ident, sizeof logger.ident, "%s", ident);
	logger.facility = facility;
	logger.to_stderr = to_stderr;
	if (!to_stderr)
		openlog(logger.ident, LOG_PID | LOG_NDELAY, facility);
}

const char *log_ident(void)
{
	return logger.ident;
}

int log_facility(void)
{
	return logger.facility;
}

static void vlog(int pri, const char *fmt, va_list ap, int errnum)
{
	char msg[1024];

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (logger.to_stderr) {
		if (errnum)
			fprintf(stderr, "%s: %s: %s\n", logger.ident, msg, strerror(errnum));
		else
			fprintf(stderr, "%s: %s\n", logger.ident, msg);
		return;
	}
	if (errnum)
		syslog(logger.facility | pri, "%s: %s", msg, strerror(errnum));
	else
		syslog(logger.facility | pri, "%s", msg);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, e);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void log_info_lines(char *text)
{
	char *save;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_info("%s", line);
}

void log_config_warning(void *ctx, const char *msg)
{
	(void)ctx;
	log_warnx("%s", msg);
}
