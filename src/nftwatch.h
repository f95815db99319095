/* nftwatch: the nftables ruleset as nfflowd follows it: listed with
 * libnftables (JSON output) at start and whenever nftables' netlink events
 * (NFNLGRP_NFTABLES) say it changed, for the port blocks of per-source
 * snat maps (portblock.h). */
#ifndef NFFLOWD_NFTWATCH_H
#define NFFLOWD_NFTWATCH_H

#include <stdbool.h>
#include <stddef.h>

struct mnl_socket;
struct nft_ctx;

/* Open a non-blocking socket subscribed to nftables' ruleset changes.
 * NULL with errno set on failure. */
struct mnl_socket *nftwatch_open(void);

/* Read everything queued on nl; true if a change (or a lost message) was
 * seen. */
bool nftwatch_drain(struct mnl_socket *nl);

/* A libnftables context whose output and errors go to buffers, or NULL if
 * out of memory; free it with nft_ctx_free. */
struct nft_ctx *nftwatch_ctx_new(void);

/* Run cmd in nft (from nftwatch_ctx_new), with JSON output if json: its
 * output, valid until the next command or nft_ctx_free; or NULL with nft's
 * first error line in err, or fallback if nft gave none. */
const char *nftwatch_run(struct nft_ctx *nft, const char *cmd, bool json, const char *fallback,
			 char *err, size_t errlen);

/* The ruleset of this network namespace as libnftables' JSON ("list
 * ruleset"), malloc'd (free it), or NULL with the reason in err. */
char *nftwatch_ruleset_json(char *err, size_t errlen);

#endif
