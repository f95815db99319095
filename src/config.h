/* config: the typed configuration, built from a cfgfile tree. Pure apart from
 * config_load, which reads the file. */
#ifndef NFFLOWD_CONFIG_H
#define NFFLOWD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cfgfile.h"
#include "filter.h"

#define CONFIG_MAX_COLLECTORS  16
#define CONFIG_MAX_COPIES      8
#define CONFIG_NAME_MAX	       64
#define CONFIG_PATH_MAX	       4096
#define CONFIG_SOCKET_MAX      108 /* sizeof sockaddr_un.sun_path */
#define CONFIG_DEFAULT_USER    "nfflowd"
#define CONFIG_DEFAULT_PIDFILE "/run/nfflowd.pid"
#define CONFIG_DEFAULT_CONTROL "/run/nfflowd.sock"

struct collector_conf {
	char name[CONFIG_NAME_MAX];   /* "flow_send" for the original's <flow_send> */
	struct sockaddr_storage addr; /* collector address and port */
	socklen_t addrlen;
	struct sockaddr_storage source; /* source address, port 0 */
	socklen_t sourcelen;		/* 0: let the kernel choose */
	int version;			/* 5, 9 or 10 (IPFIX) */
	unsigned mtu;			/* 9, 10: largest datagram */
	unsigned refresh_s;		/* 9, 10: resend templates after s (0: never) */
	unsigned refresh_pkts;		/* 9, 10: ... or every this many datagrams */
	uint32_t domain;		/* 9: Source ID; 10: Observation Domain ID */
	bool nat_events;		/* 9, 10: a NAT create event at NEW */
	bool legacy_nat_events;		/* natEvent 1/2 instead of IANA's 4/5 */
	unsigned line;			/* where it was configured, for messages */
};

/* A local copy of every record: one of the original's Log::Dispatch
 * dispatchers in <ptee><conf>. */
enum copy_kind { COPY_SCREEN, COPY_SYSLOG, COPY_FILE };

struct copy_conf {
	char name[CONFIG_NAME_MAX]; /* dispatcher name */
	enum copy_kind kind;
	int min_level;		     /* syslog(3) level; records are written at LOG_INFO */
	int max_level;		     /* syslog(3) level */
	bool to_stderr;		     /* screen: stderr 1 */
	int facility;		     /* syslog: LOG_LOCAL6 etc. */
	char ident[CONFIG_NAME_MAX]; /* syslog ident */
	char path[CONFIG_PATH_MAX];  /* file: filename */
	bool append;		     /* file: mode append (default) or write */
};

struct nf_config {
	struct collector_conf collectors[CONFIG_MAX_COLLECTORS];
	size_t ncollectors;
	struct copy_conf copies[CONFIG_MAX_COPIES];
	size_t ncopies;
	unsigned ttl;		       /* <ct2ft> ttl: forget unfinished connections, s */
	unsigned flush_ms;	       /* flush_interval: longest a record waits, ms */
	uint8_t engine_type;	       /* engine_type: NetFlow v5 header */
	uint8_t engine_id;	       /* engine_id: NetFlow v5 header */
	bool sysctl_setup;	       /* sysctl_setup: set nf_conntrack_{acct,timestamp,events} */
	size_t rcvbuf;		       /* netlink_rcvbuf: bytes */
	bool netlink_reliable;	       /* netlink_reliable: the kernel's reliable event delivery */
	unsigned resync_interval;      /* resync_interval: s between table dumps */
	unsigned active_timeout;       /* active_timeout: s between records of open connections */
	int log_facility;	       /* log_facility: operational messages */
	struct filter filter;	       /* <filter>: which connections are exported */
	char user[CONFIG_NAME_MAX];    /* user: whom to run as after start */
	char pidfile[CONFIG_PATH_MAX]; /* pidfile */
	char control[CONFIG_SOCKET_MAX]; /* control_socket: for check and reload */
};

/* Called once per warning ("file:line: message"); ctx is passed through. */
typedef void (*config_warn_fn)(void *ctx, const char *msg);

/* Fill c with the built-in defaults (no collector, ttl 604800, the original's
 * screen and syslog copies, ...). */
void config_defaults(struct nf_config *c);

/* Apply a parsed tree on top of c (which holds defaults). Returns 0, or -1 with
 * "file:line: message" in err. Keys that are accepted but no longer used warn
 * through warn (may be NULL). At least one collector must result. On error c
 * is left unchanged. */
int config_from_tree(const struct cfg_node *root, struct nf_config *c, char *err, size_t errlen,
		     config_warn_fn warn, void *ctx);

/* Read and parse path into c (defaults first). Returns 0, or -1 with a
 * message in err ("path: No such file or directory", or "file:line: ...");
 * on error c is left unchanged. Files larger than 1 MiB are refused. */
int config_load(const char *path, struct nf_config *c, char *err, size_t errlen,
		config_warn_fn warn, void *ctx);

/* Map a syslog facility name ("local6", "daemon", ...) to LOG_*; -1 if unknown. */
int config_facility(const char *name);

/* Map a Log::Dispatch or syslog level name ("debug", "info", "warning", "warn",
 * "err", "error", ..., or "0".."7") to LOG_*; -1 if unknown. */
int config_level(const char *name);

#endif
