#include "offload.h"

#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "flowtable.h"
#include "nftwatch.h"

/* The kernel can offload if nf_flow_table is loaded or built in
 * (/sys/module), or a module it can load (modules.dep, modules.builtin). */
static bool kernel_has_flowtables(void)
{
	static const char *const lists[] = {"modules.dep", "modules.builtin"};
	struct stat st;
	struct utsname u;
	char path[512], line[512];

	if (stat("/sys/module/nf_flow_table", &st) == 0)
		return true;
	if (uname(&u) != 0)
		return true; /* cannot tell: assume it can */
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		snprintf(path, sizeof path, "/lib/modules/%s/%s", u.release, lists[i]);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		bool found = false;
		while (!found && fgets(line, sizeof line, f))
			found = strstr(line, "/nf_flow_table.ko") != NULL;
		fclose(f);
		if (found)
			return true;
	}
	return false;
}

/* flowtable_listing_fn: a flowtable in nft's text format. */
static const char *listing(void *ctx, const struct flowtable_info *f)
{
	char cmd[256], err[256];

	snprintf(cmd, sizeof cmd, "list flowtable %s %s %s", f->family, f->table, f->name);
	return nftwatch_run(ctx, cmd, false, "failed", err, sizeof err);
}

unsigned offload_check(offload_say_fn say, void *ctx, bool with_info)
{
	char msg[1024], err[512];
	unsigned frozen;
	struct nft_ctx *nft;
	const char *out;
	char *json;

	if (!kernel_has_flowtables()) {
		if (with_info)
			say(ctx, false,
			    "flow offload: this kernel has no flowtable support (no nf_flow_table "
			    "module): no connection can be offloaded, counters are not frozen");
		return 0;
	}
	nft = nftwatch_ctx_new();
	if (!nft) {
		say(ctx, true, "flow offload: cannot run libnftables: out of memory");
		return 0;
	}
	out = nftwatch_run(nft, "list ruleset", true, "failed", err, sizeof err);
	if (!out) {
		snprintf(msg, sizeof msg,
			 "flow offload: cannot list the nftables ruleset (%s): flowtables that "
			 "freeze counters are not detected",
			 err);
		say(ctx, true, msg);
		nft_ctx_free(nft);
		return 0;
	}
	json = strdup(out); /* the listings below reuse the output buffer */
	frozen = json ? flowtable_report(json, strlen(json), listing, nft, say, ctx, with_info) : 0;
	free(json);
	nft_ctx_free(nft);
	return frozen;
}
