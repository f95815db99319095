#include "nftwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mnl_socket *nftwatch_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int group = NFNLGRP_NFTABLES;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0 ||
	    fcntl(mnl_socket_get_fd(nl), F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	return nl;
}

bool nftwatch_drain(struct mnl_socket *nl)
{
	static char buf[16384]; /* MNL_SOCKET_BUFFER_SIZE at most 8192 */
	bool changed = false;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
		if (n > 0) {
			changed = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) { /* lost messages: read it all again */
			changed = true;
			continue;
		}
		return changed;
	}
}

struct nft_ctx *nftwatch_ctx_new(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

	if (nft && (nft_ctx_buffer_output(nft) != 0 || nft_ctx_buffer_error(nft) != 0)) {
		nft_ctx_free(nft);
		return NULL;
	}
	return nft;
}

const char *nftwatch_run(struct nft_ctx *nft, const char *cmd, bool json, const char *fallback,
			 char *err, size_t errlen)
{
	nft_ctx_output_set_flags(nft, json ? NFT_CTX_OUTPUT_JSON : 0);
	if (nft_run_cmd_from_buffer(nft, cmd) != 0) {
		const char *e = nft_ctx_get_error_buffer(nft);
		snprintf(err, errlen, "%s", e && *e ? e : fallback);
		err[strcspn(err, "\n")] = '\0';
		return NULL;
	}
	return nft_ctx_get_output_buffer(nft);
}

char *nftwatch_ruleset_json(char *err, size_t errlen)
{
	struct nft_ctx *nft = nftwatch_ctx_new();
	const char *out;
	char *json = NULL;

	if (!nft) {
		snprintf(err, errlen, "cannot run libnftables: out of memory");
		return NULL;
	}
	out = nftwatch_run(nft, "list ruleset", true, "list ruleset failed", err, errlen);
	if (out && !(json = strdup(out)))
		snprintf(err, errlen, "out of memory");
	nft_ctx_free(nft);
	return json;
}
