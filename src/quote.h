/* quote: paths written into the files "nfflowd install" makes, quoted for
 * where they go (the init script's shell, the systemd unit's command lines
 * and settings), or refused where no quoting is safe. Each function writes
 * what goes between the template's quotes (or in place of its placeholder)
 * and returns NULL, or returns why s cannot go there. Pure. */
#ifndef NFFLOWD_QUOTE_H
#define NFFLOWD_QUOTE_H

#include <stddef.h>

/* For inside single quotes in sh: each ' becomes '\''. Control characters
 * (a newline, ...) are refused. */
const char *quote_sh_single(const char *s, char *out, size_t len);

/* For inside double quotes on a systemd command line (ExecStart=): \ and "
 * are escaped with a backslash, and $ and % doubled, since systemd expands
 * variables and specifiers inside quotes too. Control characters are
 * refused. */
const char *quote_systemd_dq(const char *s, char *out, size_t len);

/* An unquoted word of a systemd command line (the program): $ and %
 * doubled; white space, quotes, backslashes and control characters are
 * refused. */
const char *quote_systemd_word(const char *s, char *out, size_t len);

/* The value of a systemd path setting (PIDFile=): % doubled; leading or
 * trailing white space, a trailing backslash and control characters are
 * refused. */
const char *quote_systemd_path(const char *s, char *out, size_t len);

#endif
