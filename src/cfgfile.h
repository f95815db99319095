/* cfgfile: a Config::General-style parser producing a tree of nodes. Pure: it
 * parses a buffer; reading the file is the caller's. */
#ifndef NFFLOWD_CFGFILE_H
#define NFFLOWD_CFGFILE_H

#include <stdbool.h>
#include <stddef.h>

struct cfg_node {
	char *name;		/* key, or block name ("collector" in <collector core>) */
	char *value;		/* key value, or block argument ("core"); NULL if none */
	bool is_block;		/* true for <name [arg]> ... </name> */
	unsigned line;		/* line where the key or block opens */
	const char *file;	/* file name, shared, owned by the root */
	struct cfg_node *child; /* first child of a block */
	struct cfg_node *next;	/* next sibling, in file order */
};

/* Parse text[0..len) named file. On success returns 0 and *out points to a
 * root block (name "", is_block true) whose children are the top-level items,
 * to be freed with cfgfile_free. On error returns -1, *out is NULL and err
 * holds "file:line: message" (NUL-terminated, truncated to errlen). */
int cfgfile_parse(const char *text, size_t len, const char *file, struct cfg_node **out, char *err,
		  size_t errlen);

/* Free a tree returned by cfgfile_parse; NULL is fine. */
void cfgfile_free(struct cfg_node *root);

#endif
