/* cfgfile: reads Config::General syntax into a tree of nodes.
 *
 * The text is read one physical line at a time. Comments are removed and
 * quotes tracked per physical line; lines ending in a backslash are joined
 * into one logical line, which is then a block tag, a here-document opener or
 * a key with its value. Every step looks at each byte a bounded number of
 * times, so the work is linear in the input. */
#include "cfgfile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 32
#define MAX_LINE  65536
#define SHOW_MAX  40 /* bytes of a bad line quoted in a message */

struct buf {
	char *p;
	size_t len;
	size_t cap;
};

struct frame {
	struct cfg_node *block;
	struct cfg_node **tail; /* where the next child is linked */
};

struct parser {
	const char *text;
	size_t len;
	size_t pos;
	const char *file;
	unsigned lineno; /* the physical line last read */
	char *err;
	size_t errlen;
	struct frame stack[MAX_DEPTH + 1];
	size_t depth;
	struct buf phys;    /* the current physical line without comments */
	struct buf logical; /* the logical line being joined */
	unsigned logical_line;
	bool joining; /* the previous line ended in a backslash */
	bool in_quote;
	unsigned quote_line;
	bool in_comment;
	unsigned comment_line;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int fail(struct parser *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, unsigned line, const char *fmt, ...)
{
	if (!p->err || p->errlen == 0)
		return -1;
	int n = snprintf(p->err, p->errlen, "%s:%u: ", p->file, line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int nomem(struct parser *p)
{
	return fail(p, p->lineno, "out of memory");
}

static int buf_reserve(struct parser *p, struct buf *b, size_t extra)
{
	if (extra <= b->cap - b->len)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra) {
		if (cap > ((size_t)-1) / 2)
			return nomem(p);
		cap *= 2;
	}
	char *np = realloc(b->p, cap);
	if (!np)
		return nomem(p);
	b->p = np;
	b->cap = cap;
	return 0;
}

static int buf_append(struct parser *p, struct buf *b, const char *s, size_t n)
{
	if (buf_reserve(p, b, n + 1) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

/* Next physical line without its line ending; false at the end of the text. */
static int next_line(struct parser *p, const char **s, size_t *n)
{
	if (p->pos >= p->len)
		return 0;
	const char *start = p->text + p->pos;
	size_t rest = p->len - p->pos;
	const char *nl = memchr(start, '\n', rest);
	size_t len = nl ? (size_t)(nl - start) : rest;
	p->pos += nl ? len + 1 : len;
	p->lineno++;
	if (len && start[len - 1] == '\r')
		len--;
	*s = start;
	*n = len;
	if (len > MAX_LINE)
		return fail(p, p->lineno, "line longer than %d bytes", MAX_LINE);
	return 1;
}

/* Copy s[0..n) with surrounding quotes removed when the value is wholly
 * quoted, and the escapes \\ \" \# \$ resolved. */
static char *unquote(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && strchr("\\\"#$", s[i + 1]))
			i++;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

static char *copy(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	if (out) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

/* Create a node and link it as the last child of the innermost open block. */
static struct cfg_node *add_node(struct parser *p, char *name, char *value, bool is_block,
				 unsigned line)
{
	struct cfg_node *n = calloc(1, sizeof *n);
	if (!n || !name) {
		free(n);
		free(name);
		free(value);
		nomem(p);
		return NULL;
	}
	n->name = name;
	n->value = value;
	n->is_block = is_block;
	n->line = line;
	n->file = p->file;
	struct frame *f = &p->stack[p->depth];
	*f->tail = n;
	f->tail = &n->next;
	return n;
}

/* A C comment that opens at i: skip to its end on this line, or start a
 * comment that runs over the next lines when nothing precedes it. Returns the
 * index of the last byte consumed, or n when the rest of the line is gone. */
static size_t c_comment(struct parser *p, const char *s, size_t n, size_t i, bool lead,
			bool *no_close)
{
	const char *end = *no_close ? NULL : memmem(s + i + 2, n - i - 2, "*/", 2);
	if (end) {
		p->phys.p[p->phys.len++] = ' ';
		return (size_t)(end - s) + 1;
	}
	*no_close = true;
	if (!lead) {
		p->phys.p[p->phys.len++] = s[i];
		return i;
	}
	p->in_comment = true;
	p->comment_line = p->lineno;
	return n;
}

/* Copy s[0..n) to p->phys without its comments, tracking double quotes. */
static int strip_comments(struct parser *p, const char *s, size_t n)
{
	p->phys.len = 0;
	if (buf_reserve(p, &p->phys, n + 1) < 0)
		return -1;
	bool lead = true, no_close = false;
	char *out = p->phys.p;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			out[p->phys.len++] = c;
			out[p->phys.len++] = s[++i];
		} else if (c == '"') {
			p->in_quote = !p->in_quote;
			if (p->in_quote)
				p->quote_line = p->lineno;
			out[p->phys.len++] = c;
		} else if (p->in_quote) {
			out[p->phys.len++] = c;
		} else if (c == '#') {
			break;
		} else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
			i = c_comment(p, s, n, i, lead, &no_close);
		} else {
			out[p->phys.len++] = c;
		}
		if (!is_space(c))
			lead = false;
	}
	out[p->phys.len] = '\0';
	return 0;
}

static struct cfg_node *open_block(struct parser *p, const char *s, size_t n, unsigned line)
{
	trim(&s, &n);
	const char *name = s, *arg;
	size_t nlen = 0;
	if (n && s[0] == '"') {
		const char *q = memchr(s + 1, '"', n - 1);
		name = s + 1;
		nlen = q ? (size_t)(q - name) : n - 1;
		arg = q ? q + 1 : s + n;
	} else {
		while (nlen < n && !is_space(s[nlen]))
			nlen++;
		arg = s + nlen;
	}
	size_t alen = n - (size_t)(arg - s);
	trim(&arg, &alen);
	if (nlen == 0) {
		fail(p, line, "block tag without a name");
		return NULL;
	}
	if (p->depth == MAX_DEPTH) {
		fail(p, line, "blocks nested more than %d deep", MAX_DEPTH);
		return NULL;
	}
	char *value = NULL;
	if (alen && !(value = unquote(arg, alen))) {
		nomem(p);
		return NULL;
	}
	return add_node(p, copy(name, nlen), value, true, line);
}

static int push_block(struct parser *p, const char *s, size_t n, unsigned line)
{
	struct cfg_node *b = open_block(p, s, n, line);
	if (!b)
		return -1;
	p->depth++;
	p->stack[p->depth].block = b;
	p->stack[p->depth].tail = &b->child;
	return 0;
}

static int close_block(struct parser *p, const char *s, size_t n, unsigned line)
{
	trim(&s, &n);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	int shown = n > SHOW_MAX ? SHOW_MAX : (int)n;
	if (n == 0)
		return fail(p, line, "block tag without a name");
	if (p->depth == 0)
		return fail(p, line, "</%.*s> without a matching <%.*s>", shown, s, shown, s);
	const struct cfg_node *b = p->stack[p->depth].block;
	if (strlen(b->name) != n || memcmp(b->name, s, n) != 0)
		return fail(p, line, "</%.*s> does not match <%s> opened at line %u", shown, s,
			    b->name, b->line);
	p->depth--;
	return 0;
}

/* A logical line that starts with '<': open, close or empty block. */
static int block_tag(struct parser *p, const char *s, size_t n, unsigned line)
{
	int shown = n > SHOW_MAX ? SHOW_MAX : (int)n;
	if (n >= 2 && s[1] == '<') {
		if (n >= 9 && strncasecmp(s, "<<include", 9) == 0)
			return fail(p, line, "<<include>> is not supported");
		return fail(p, line, "malformed block tag '%.*s'", shown, s);
	}
	if (n < 2 || s[n - 1] != '>')
		return fail(p, line, "malformed block tag '%.*s': a tag ends with '>'", shown, s);
	if (n == 2)
		return fail(p, line, "block tag without a name");
	if (s[1] == '/')
		return close_block(p, s + 2, n - 3, line);
	if (s[n - 2] == '/') {
		if (!open_block(p, s + 1, n - 3, line))
			return -1;
		return 0;
	}
	return push_block(p, s + 1, n - 2, line);
}

/* Length of the key at the start of s: up to whitespace or '='. */
static size_t key_length(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && !is_space(s[k]) && s[k] != '=')
		k++;
	return k;
}

/* Offset of the value after the key: past whitespace, or one '=' with
 * whitespace around it. */
static size_t value_offset(const char *s, size_t n, size_t k)
{
	size_t i = k;
	while (i < n && is_space(s[i]))
		i++;
	if (i < n && s[i] == '=') {
		i++;
		while (i < n && is_space(s[i]))
			i++;
	}
	return i;
}

/* Append the here-document body text[from..to) to out, one line at a time,
 * with the terminator's indentation removed from each line. */
static int heredoc_body(struct parser *p, struct buf *out, size_t from, size_t to,
			const char *indent, size_t ilen)
{
	while (from < to) {
		const char *s = p->text + from;
		const char *nl = memchr(s, '\n', to - from);
		size_t n = nl ? (size_t)(nl - s) : to - from;
		from += n + 1;
		if (n && s[n - 1] == '\r')
			n--;
		if (n >= ilen && memcmp(s, indent, ilen) == 0) {
			s += ilen;
			n -= ilen;
		}
		if (out->len && buf_append(p, out, "\n", 1) < 0)
			return -1;
		if (buf_append(p, out, s, n) < 0)
			return -1;
	}
	return 0;
}

static size_t indent_length(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_space(s[i]))
		i++;
	return i;
}

/* Read the lines of a here-document up to the one holding only id. */
static int heredoc(struct parser *p, const char *key, size_t klen, const char *id, size_t idlen,
		   unsigned line)
{
	size_t from = p->pos, term;
	const char *s = NULL;
	size_t n = 0;
	int r;
	for (;;) {
		term = p->pos;
		if ((r = next_line(p, &s, &n)) <= 0)
			break;
		const char *t = s;
		size_t tn = n;
		trim(&t, &tn);
		if (tn == idlen && memcmp(t, id, idlen) == 0)
			break;
	}
	if (r < 0)
		return -1;
	if (r == 0) {
		int shown = idlen > SHOW_MAX ? SHOW_MAX : (int)idlen;
		return fail(p, line, "here-document <<%.*s is not terminated", shown, id);
	}
	struct buf body = {0};
	if (buf_append(p, &body, "", 0) < 0 ||
	    heredoc_body(p, &body, from, term, s, indent_length(s, n)) < 0) {
		free(body.p);
		return -1;
	}
	if (!add_node(p, copy(key, klen), body.p, false, line))
		return -1;
	return 0;
}

/* If s is "key <<ID" or "key = <<ID", read the here-document and return 1. */
static int try_heredoc(struct parser *p, const char *s, size_t n, size_t k, unsigned line)
{
	size_t i = k;
	while (i < n && is_space(s[i]))
		i++;
	bool eq = i < n && s[i] == '=';
	if (eq) {
		i++;
		while (i < n && is_space(s[i]))
			i++;
	} else if (i == k) {
		return 0;
	}
	if (n - i < 2 || s[i] != '<' || s[i + 1] != '<')
		return 0;
	const char *id = s + i + 2;
	size_t idlen = n - i - 2;
	trim(&id, &idlen);
	if (idlen == 0)
		return 0;
	return heredoc(p, s, k, id, idlen, line) < 0 ? -1 : 1;
}

static int key_value(struct parser *p, const char *s, size_t n, unsigned line)
{
	size_t k = key_length(s, n);
	if (k == 0)
		return fail(p, line, "missing key before '='");
	int r = try_heredoc(p, s, n, k, line);
	if (r != 0)
		return r < 0 ? -1 : 0;
	size_t v = value_offset(s, n, k);
	char *value = unquote(s + v, n - v);
	if (!value)
		return nomem(p);
	if (!add_node(p, copy(s, k), value, false, line))
		return -1;
	return 0;
}

/* A complete logical line: a block tag, a here-document or a key. */
static int logical_line(struct parser *p)
{
	const char *s = p->logical.p;
	size_t n = p->logical.len;
	unsigned line = p->logical_line;
	trim(&s, &n);
	if (n == 0)
		return 0;
	if (s[0] == '<')
		return block_tag(p, s, n, line);
	return key_value(p, s, n, line);
}

/* Odd number of trailing backslashes: the line continues on the next. */
static bool continues(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && s[n - 1 - k] == '\\')
		k++;
	return k % 2 == 1;
}

/* Add the stripped physical line to the logical line; finish it unless the
 * physical line ends in a backslash. */
static int join_line(struct parser *p)
{
	const char *s = p->phys.p;
	size_t n = p->phys.len;
	trim(&s, &n);
	bool cont = continues(s, n);
	if (cont)
		n--;
	if (!p->joining) {
		p->logical.len = 0;
		p->logical_line = p->lineno;
	}
	if (p->logical.len + n > MAX_LINE)
		return fail(p, p->logical_line, "line longer than %d bytes", MAX_LINE);
	if (buf_append(p, &p->logical, s, n) < 0)
		return -1;
	p->joining = cont;
	if (cont)
		return 0;
	if (p->in_quote)
		return fail(p, p->quote_line, "unterminated quote");
	return logical_line(p);
}

static int physical_line(struct parser *p, const char *s, size_t n)
{
	if (p->in_comment) {
		const char *end = memmem(s, n, "*/", 2);
		if (!end)
			return 0;
		p->in_comment = false;
		n -= (size_t)(end + 2 - s);
		s = end + 2;
	}
	if (strip_comments(p, s, n) < 0)
		return -1;
	return join_line(p);
}

static int check_nul(struct parser *p)
{
	const char *z = memchr(p->text, '\0', p->len);
	if (!z)
		return 0;
	unsigned line = 1;
	for (const char *c = p->text; c < z; c++)
		line += *c == '\n';
	return fail(p, line, "NUL byte");
}

static int check_end(struct parser *p)
{
	if (p->joining) {
		if (p->in_quote)
			return fail(p, p->quote_line, "unterminated quote");
		if (logical_line(p) < 0)
			return -1;
	}
	if (p->in_comment)
		return fail(p, p->comment_line, "unterminated /* comment");
	if (p->depth > 0) {
		const struct cfg_node *b = p->stack[p->depth].block;
		return fail(p, b->line, "block <%s> is not closed", b->name);
	}
	return 0;
}

static int parse_all(struct parser *p)
{
	if (check_nul(p) < 0)
		return -1;
	const char *s = NULL;
	size_t n = 0;
	int r;
	while ((r = next_line(p, &s, &n)) > 0) {
		if (physical_line(p, s, n) < 0)
			return -1;
	}
	if (r < 0)
		return -1;
	return check_end(p);
}

static struct cfg_node *new_root(const char *file)
{
	struct cfg_node *root = calloc(1, sizeof *root);
	if (!root)
		return NULL;
	root->name = copy("", 0);
	root->file = copy(file, strlen(file));
	root->is_block = true;
	if (!root->name || !root->file) {
		cfgfile_free(root);
		return NULL;
	}
	return root;
}

int cfgfile_parse(const char *text, size_t len, const char *file, struct cfg_node **out, char *err,
		  size_t errlen)
{
	struct parser p = {.text = text, .len = len, .err = err, .errlen = errlen};
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!file)
		file = "";
	struct cfg_node *root = new_root(file);
	p.file = root ? root->file : file;
	if (!root)
		return nomem(&p);
	p.stack[0].block = root;
	p.stack[0].tail = &root->child;
	int rc = parse_all(&p);
	free(p.phys.p);
	free(p.logical.p);
	if (rc < 0) {
		cfgfile_free(root);
		return -1;
	}
	*out = root;
	return 0;
}

static void free_nodes(struct cfg_node *n)
{
	while (n) {
		struct cfg_node *next = n->next;
		free_nodes(n->child);
		free(n->name);
		free(n->value);
		free(n);
		n = next;
	}
}

void cfgfile_free(struct cfg_node *root)
{
	if (!root)
		return;
	free_nodes(root->child);
	free((char *)root->file);
	free(root->name);
	free(root->value);
	free(root);
}
