/* nfflowd: NetFlow from Linux netfilter connection tracking. main only reads
 * the command line and hands over. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "replay.h"

#define DEFAULT_CONFIG "/etc/nfflowd.conf"

static const char usage_text[] =
    "Usage: nfflowd [ -c file ] [ -f ] [ -w file ] { start | stop | restart | reload | install | "
    "check | help | version }\n"
    "       nfflowd [ -c file ] replay file\n"
    "  -c file     Specify configuration file (instead of " DEFAULT_CONFIG ")\n"
    "  -f          Run in the foreground (don't detach)\n"
    "  -w file     Record the netlink stream to a pcap file (start, restart)\n"
    "  start       Starts a new nfflowd if there isn't one running already\n"
    "  stop        Stops a running nfflowd, after it has sent what is pending\n"
    "  restart     Stops a running nfflowd if one is running.  Starts a new one.\n"
    "  reload      Makes the running nfflowd re-read its configuration file\n"
    "  install     Setup nfflowd to run automatically after reboot\n"
    "  check       Check the configuration file and report the daemon state\n"
    "  replay file Run a -w recording through the pipeline, deterministically\n"
    "  help        Display this usage info\n"
    "  version     Display the version of nfflowd\n";

struct args {
	const char *path;
	bool foreground;
	const char *record;
};

static int run_verb(const char *verb, const struct args *a)
{
	const char *path = a->path;

	if (strcmp(verb, "start") == 0)
		return cli_start(path, a->foreground, a->record);
	if (strcmp(verb, "stop") == 0)
		return cli_stop(path);
	if (strcmp(verb, "restart") == 0)
		return cli_restart(path, a->foreground, a->record);
	if (strcmp(verb, "reload") == 0)
		return cli_reload(path);
	if (strcmp(verb, "install") == 0)
		return cli_install(path);
	if (strcmp(verb, "replay") == 0) {
		fprintf(stderr, "nfflowd: replay needs a file: nfflowd -c CONF replay FILE\n");
		return 2;
	}
	if (strcmp(verb, "check") == 0)
		return cli_check(path);
	if (strcmp(verb, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(verb, "version") == 0) {
		printf("nfflowd %s\n", NFFLOWD_VERSION);
		return 0;
	}
	fprintf(stderr, "nfflowd: unknown command '%s'\n%s", verb, usage_text);
	return 2;
}

int main(int argc, char **argv)
{
	struct args a = {.path = DEFAULT_CONFIG};
	int opt;

	while ((opt = getopt(argc, argv, "c:fhw:")) != -1) {
		switch (opt) {
		case 'c':
			a.path = optarg;
			break;
		case 'f':
			a.foreground = true;
			break;
		case 'w':
			a.record = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind == argc - 2 && strcmp(argv[optind], "replay") == 0)
		return replay_run(a.path, argv[optind + 1]);
	if (optind != argc - 1) {
		fputs(usage_text, stderr);
		return 2;
	}
	return run_verb(argv[optind], &a);
}
