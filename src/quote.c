#include "quote.h"

#include <string.h>

/* Append c to out (holding *n bytes); false if it does not fit. */
static int put(char *out, size_t len, size_t *n, char c)
{
	if (*n + 1 >= len)
		return 0;
	out[(*n)++] = c;
	out[*n] = '\0';
	return 1;
}

static int puts_n(char *out, size_t len, size_t *n, const char *s)
{
	for (; *s; s++)
		if (!put(out, len, n, *s))
			return 0;
	return 1;
}

static const char *control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return "it holds a control character (a newline, a tab, ...)";
	return NULL;
}

#define TOO_LONG "it is too long"

const char *quote_sh_single(const char *s, char *out, size_t len)
{
	size_t n = 0;
	const char *why = control_char(s);

	if (why)
		return why;
	out[0] = '\0';
	for (; *s; s++)
		if (!(*s == '\'' ? puts_n(out, len, &n, "'\\''") : put(out, len, &n, *s)))
			return TOO_LONG;
	return NULL;
}

/* Each character of escaped preceded by a backslash, each of doubled
 * doubled, everything else as it is. */
static const char *rewrite(const char *s, const char *escaped, const char *doubled, char *out,
			   size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (; *s; s++) {
		int ok = (!strchr(escaped, *s) || put(out, len, &n, '\\')) &&
			 (!strchr(doubled, *s) || put(out, len, &n, *s)) && put(out, len, &n, *s);
		if (!ok)
			return TOO_LONG;
	}
	return NULL;
}

const char *quote_systemd_dq(const char *s, char *out, size_t len)
{
	const char *why = control_char(s);

	return why ? why : rewrite(s, "\\\"", "$%", out, len);
}

const char *quote_systemd_word(const char *s, char *out, size_t len)
{
	const char *why = control_char(s);

	if (why)
		return why;
	if (strpbrk(s, " \"'\\"))
		return "it holds white space, a quote or a backslash";
	return rewrite(s, "", "$%", out, len);
}

const char *quote_systemd_path(const char *s, char *out, size_t len)
{
	size_t l = strlen(s);
	const char *why = control_char(s);

	if (why)
		return why;
	if (l == 0 || s[0] == ' ' || s[l - 1] == ' ' || s[l - 1] == '\\')
		return "it starts or ends with a space, or ends with a backslash";
	return rewrite(s, "", "%", out, len);
}
