/* fuzz_cfgfile: any bytes through the parser and, when they parse, through
 * the typed config. Both must return cleanly, free everything, and report
 * errors as "fuzz.conf:..." messages. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_warning(void *ctx, const char *msg)
{
	size_t *n = ctx;
	if (strncmp(msg, "fuzz.conf:", 10) != 0)
		abort();
	(*n)++;
}

static void check_error(const char *err)
{
	if (strncmp(err, "fuzz.conf:", 10) != 0 && strcmp(err, "fuzz.conf: out of memory") != 0)
		abort();
}

static void check_config(const struct nf_config *c)
{
	if (c->ncollectors == 0 || c->ncollectors > CONFIG_MAX_COLLECTORS ||
	    c->ncopies > CONFIG_MAX_COPIES)
		abort();
	for (size_t i = 0; i < c->ncopies; i++) {
		if (memchr(c->copies[i].name, '\0', sizeof c->copies[i].name) == NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct cfg_node *root = NULL;
	if (cfgfile_parse((const char *)data, size, "fuzz.conf", &root, err, sizeof err) != 0) {
		if (root)
			abort();
		check_error(err);
		return 0;
	}
	struct nf_config *c = malloc(sizeof *c);
	if (c) {
		size_t warnings = 0;
		config_defaults(c);
		if (config_from_tree(root, c, err, sizeof err, count_warning, &warnings) == 0)
			check_config(c);
		else
			check_error(err);
		free(c);
	}
	cfgfile_free(root);
	return 0;
}
