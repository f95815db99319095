/* nfflowd: NetFlow from Linux netfilter connection tracking. main only reads
 * the command line and hands over. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "daemon.h"

#define DEFAULT_CONFIG "/etc/nfflowd.conf"

static const char usage_text[] =
    "Usage: nfflowd [ -c file ] [ -f ] { start | stop | restart | reload | install | check | "
    "help | version }\n"
    "  -c file     Specify configuration file (instead of " DEFAULT_CONFIG ")\n"
    "  -f          Run in the foreground (don't detach)\n"
    "  start       Starts a new nfflowd\n"
    "  check       Check the configuration file\n"
    "  help        Display this usage info\n"
    "  version     Display the version of nfflowd\n";

static void print_warning(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "nfflowd: %s\n", msg);
}

static int check(const char *path)
{
	static struct nf_config cfg;
	char err[512];

	if (config_load(path, &cfg, err, sizeof err, print_warning, NULL) != 0) {
		fprintf(stderr, "nfflowd: %s\n", err);
		return 1;
	}
	printf("%s: configuration OK (%zu collector(s), ttl %u s)\n", path, cfg.ncollectors,
	       cfg.ttl);
	return 0;
}

static int run_verb(const char *verb, const char *path, bool foreground)
{
	if (strcmp(verb, "start") == 0) {
		if (!foreground) {
			fprintf(stderr, "nfflowd: detaching is not supported yet: use -f\n");
			return 2;
		}
		return daemon_run(path, true);
	}
	if (strcmp(verb, "check") == 0)
		return check(path);
	if (strcmp(verb, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(verb, "version") == 0) {
		printf("nfflowd %s\n", NFFLOWD_VERSION);
		return 0;
	}
	if (!strcmp(verb, "stop") || !strcmp(verb, "restart") || !strcmp(verb, "reload") ||
	    !strcmp(verb, "install")) {
		fprintf(stderr, "nfflowd: '%s' is not supported yet\n", verb);
		return 2;
	}
	fprintf(stderr, "nfflowd: unknown command '%s'\n%s", verb, usage_text);
	return 2;
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	bool foreground = false;
	int opt;

	while ((opt = getopt(argc, argv, "c:fh")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fputs(usage_text, stderr);
		return 2;
	}
	return run_verb(argv[optind], path, foreground);
}
