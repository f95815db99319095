/* log: operational messages (start, stop, errors, warnings), to stderr in the
 * foreground and to syslog otherwise. Flow records never go through here. */
#ifndef NFFLOWD_LOG_H
#define NFFLOWD_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

/* Start logging as ident: to stderr if to_stderr, else to syslog(3) with
 * facility. May be called again to switch. */
void log_init(const char *ident, int facility, bool to_stderr);

/* The ident and facility operational messages use, so that a local copy with
 * another ident can switch and switch back. */
const char *log_ident(void);
int log_facility(void);

/* Log at LOG_INFO or LOG_WARNING. log_warn
 * appends ": " and strerror(errno). */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_info each line of text (a counters report, say); empty lines are
 * skipped. text is cut up in place. */
void log_info_lines(char *text);

/* A config_warn_fn (config.h): log the warning ("file:line: ...") with
 * log_warnx. ctx is unused. */
void log_config_warning(void *ctx, const char *msg);

/* Log at LOG_CRIT and exit(1); log_fatal appends strerror(errno). */
noreturn void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
