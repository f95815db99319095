/* test_config_doc: nfflowd.conf(5) documents exactly the keys of the schema.
 *
 * The page documents a key as an item: the line after .TP or .TQ, whose
 * first word set in bold is the key (".BI ttl \" seconds\"") or a block's tag
 * (".B <filter>", ".BI \"<collector \" name >"). A block's item may also name
 * its keys in its text in bold (the args of <flow_send>, the keys of
 * <conntrack>), and a block may be named by its tag in bold anywhere
 * (".BR <ptee><conf> ."). Every row of the schema must be documented so, and
 * every item's first bold word must be a row of the schema. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"

#ifndef MAN_PAGE
#define MAN_PAGE "doc/nfflowd.conf.5"
#endif

#define MAX_WORDS  1024
#define WORD_MAX   64
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_" /* of keys and blocks */

/* A set of words, each with the line where it was seen. */
struct words {
	char w[MAX_WORDS][WORD_MAX];
	unsigned line[MAX_WORDS];
	size_t n;
};

static struct words heads;  /* the first bold word of each item */
static struct words keys;   /* every bold word of an item or of a block item's text */
static struct words blocks; /* every block named by a bold tag */

static void add(struct words *s, const char *w, size_t len, unsigned line)
{
	if (len == 0 || len >= WORD_MAX || s->n == MAX_WORDS)
		return;
	memcpy(s->w[s->n], w, len);
	s->w[s->n][len] = '\0';
	s->line[s->n++] = line;
}

static bool has(const struct words *s, const char *w)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->w[i], w) == 0)
			return true;
	}
	return false;
}

/* Copy a macro argument without roff's escapes: \fB, \&, \(xx, \- and \e. */
static size_t unescape(const char *s, size_t len, char *out, size_t max)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < max; i++) {
		if (s[i] != '\\' || i + 1 == len) {
			out[o++] = s[i];
			continue;
		}
		char c = s[++i];
		if (c == 'f')
			i++;
		else if (c == '(')
			i += 2;
		else if (c == '-' || c == 'e' || c == ' ')
			out[o++] = c == 'e' ? '\\' : c;
	}
	out[o] = '\0';
	return o;
}

/* Split a macro line's arguments (quoted or not) into args; returns their number. */
static size_t split(const char *s, char args[][256], size_t max)
{
	size_t n = 0;
	while (*s && n < max) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		const char *start = s;
		if (*s == '"') {
			start = ++s;
			while (*s && *s != '"')
				s++;
		} else {
			while (*s && *s != ' ' && *s != '\t')
				s++;
		}
		unescape(start, (size_t)(s - start), args[n++], 256);
		if (*s == '"')
			s++;
	}
	return n;
}

/* The arguments of a font macro line that are set in bold; 0 if none or not
 * a font macro. */
static size_t bold_args(const char *line, char args[][256], size_t max)
{
	static const struct {
		const char *macro;
		int first; /* index of the first bold argument; -1: all */
	} fonts[] = {{".B ", -1}, {".BI ", 0}, {".BR ", 0}, {".IB ", 1}, {".RB ", 1}};
	char all[16][256];
	for (size_t f = 0; f < sizeof fonts / sizeof fonts[0]; f++) {
		size_t len = strlen(fonts[f].macro);
		if (strncmp(line, fonts[f].macro, len) != 0)
			continue;
		size_t n = split(line + len, all, 16), out = 0;
		for (size_t i = 0; i < n && out < max; i++) {
			if (fonts[f].first < 0 || i % 2 == (size_t)fonts[f].first)
				memcpy(args[out++], all[i], 256);
		}
		return out;
	}
	return 0;
}

/* Every "<name" in s, as a block name. */
static void add_tags(const char *s, unsigned line)
{
	for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
		size_t len = strspn(p + 1, NAME_CHARS);
		add(&blocks, p + 1, len, line);
	}
}

/* The words of a bold argument that look like keys: "init_format". */
static void add_keys(const char *s, unsigned line)
{
	size_t len = strspn(s, NAME_CHARS);
	if (len && (s[len] == '\0' || s[len] == ' '))
		add(&keys, s, len, line);
}

/* The first bold word of an item: a key, or a block's tag ("<collector"). */
static void add_head(const char *arg, unsigned line)
{
	size_t len = strcspn(arg, " ");
	if (arg[0] == '<') {
		size_t name = strspn(arg + 1, NAME_CHARS);
		char tag[WORD_MAX];
		snprintf(tag, sizeof tag, "<%.*s>", (int)name, arg + 1);
		add(&heads, tag, strlen(tag), line);
	} else {
		add(&heads, arg, len, line);
	}
}

struct reader {
	int depth;	/* .RS nesting */
	bool head;	/* the next line is an item's head */
	int block_item; /* depth of the block item whose text this is; -1: none */
};

static void read_line(struct reader *r, const char *line, unsigned no)
{
	char args[16][256];
	bool item = strncmp(line, ".TP", 3) == 0 || strncmp(line, ".TQ", 3) == 0;
	if (strncmp(line, ".SH", 3) == 0 || strncmp(line, ".SS", 3) == 0 ||
	    ((item || strncmp(line, ".PP", 3) == 0) && r->depth <= r->block_item))
		r->block_item = -1;
	if (strncmp(line, ".RS", 3) == 0)
		r->depth++;
	if (strncmp(line, ".RE", 3) == 0)
		r->depth--;
	if (item) {
		r->head = true;
		return;
	}
	size_t n = bold_args(line, args, 16);
	for (size_t i = 0; i < n; i++)
		add_tags(args[i], no);
	if (r->head && n > 0) {
		add_head(args[0], no);
		if (args[0][0] == '<')
			r->block_item = r->depth;
	}
	for (size_t i = 0; i < n && (r->head || r->block_item >= 0); i++)
		add_keys(args[i], no);
	r->head = false;
}

static bool read_page(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	unsigned no = 0;
	struct reader r = {.depth = 0, .head = false, .block_item = -1};
	if (!f) {
		perror(path);
		return false;
	}
	while (fgets(line, sizeof line, f)) {
		char *comment = strstr(line, "\\\"");
		no++;
		line[strcspn(line, "\n")] = '\0';
		if (comment)
			*comment = '\0';
		read_line(&r, line, no);
	}
	fclose(f);
	return true;
}

static const struct config_key *schema_row(const char *name, bool block)
{
	size_t n;
	const struct config_key *k = config_schema(&n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(k[i].name, name) == 0 && (k[i].kind == CONFIG_KIND_BLOCK) == block)
			return &k[i];
	}
	return NULL;
}

/* Every row of the schema is documented. */
static void test_schema_documented(void)
{
	size_t n;
	const struct config_key *k = config_schema(&n);
	for (size_t i = 0; i < n; i++) {
		bool block = k[i].kind == CONFIG_KIND_BLOCK;
		bool ok = block ? has(&blocks, k[i].name) : has(&keys, k[i].name);
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "  %s: the %s '%s' is not documented\n", MAN_PAGE,
				block ? "block" : "key", k[i].name);
	}
}

/* Every item of the page that documents a key or block names one of the schema. */
static void test_page_keys_exist(void)
{
	for (size_t i = 0; i < heads.n; i++) {
		const char *w = heads.w[i];
		char name[WORD_MAX];
		bool block = w[0] == '<';
		snprintf(name, sizeof name, "%.*s", (int)(strlen(w) - (block ? 2 : 0)),
			 w + (block ? 1 : 0));
		bool ok = schema_row(name, block) != NULL;
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "  %s:%u: documents %s, which the schema does not have\n",
				MAN_PAGE, heads.line[i], w);
	}
}

/* The reader itself, so that an empty result cannot pass. */
static void test_reader(void)
{
	CHECK(heads.n > 50);
	CHECK(has(&heads, "ttl"));
	CHECK(has(&heads, "<collector>"));
	CHECK(has(&heads, "class"));
	CHECK(has(&keys, "args"));	  /* in the text of <flow_send> */
	CHECK(has(&keys, "init_format")); /* in the text of <conntrack> */
	CHECK(has(&blocks, "conf"));	  /* <ptee><conf> */
	CHECK(!has(&heads, "number"));	  /* .I number: a kind of value, not a key */
}

int main(void)
{
	if (!read_page(MAN_PAGE))
		return 1;
	test_reader();
	test_schema_documented();
	test_page_keys_exist();
	CHECK_DONE();
}
