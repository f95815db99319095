/* config: the typed configuration, built from a cfgfile tree. Pure apart from
 * config_read, config_load and config_load_new, which read the file. */
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
#define CONFIG_DEFAULT_PIDFILE "/run/nfflowd/nfflowd.pid"
#define CONFIG_DEFAULT_CONTROL "/run/nfflowd/nfflowd.sock"

struct collector_conf {
	char name[CONFIG_NAME_MAX];   /* "flow_send" for the original's <flow_send> */
	struct sockaddr_storage addr; /* collector address and port */
	socklen_t addrlen;
	struct sockaddr_storage source; /* source address, port 0 */
	socklen_t sourcelen;		/* 0: let the kernel choose */
	int version;			/* 5, 9 or 10 (IPFIX) */
	unsigned mtu;			/* largest IP packet, IP and UDP headers included */
	unsigned refresh_s;		/* 9, 10: resend templates after s (0: never) */
	unsigned refresh_pkts;		/* 9, 10: ... or every this many datagrams */
	uint32_t domain;		/* 9: Source ID; 10: Observation Domain ID */
	uint8_t nat_events;		/* 9, 10: which NAT events, CONFIG_NAT_EVENTS_* */
	bool legacy_nat_events;		/* natEvent 1/2 instead of IANA's 4/5 */
	uint8_t nat_sessions;		/* 9, 10: CONFIG_NAT_SESSIONS_* */
	unsigned line;			/* where it was configured, for messages */
};

/* nat_events: the NAT events (RFC 8158) a v9 or IPFIX collector gets. */
enum config_nat_events {
	CONFIG_NAT_EVENTS_NO,	  /* none */
	CONFIG_NAT_EVENTS_CREATE, /* session create, at NEW (yes) */
	CONFIG_NAT_EVENTS_ALL,	  /* session create at NEW and delete at the end */
};

/* nat_sessions: the per-session NAT events (and NAT log lines) of
 * connections translated inside their own host's port block. */
enum config_nat_sessions {
	CONFIG_NAT_SESSIONS_ALL,	    /* all of them */
	CONFIG_NAT_SESSIONS_OUTSIDE_BLOCKS, /* only those outside their block */
};

/* A local copy of every record: one of the original's Log::Dispatch
 * dispatchers in <ptee><conf>. */
enum copy_kind { COPY_SCREEN, COPY_SYSLOG, COPY_FILE };

struct copy_conf {
	char name[CONFIG_NAME_MAX]; /* dispatcher name */
	enum copy_kind kind;
	int min_level;			/* syslog(3) level; records are written at LOG_INFO */
	int max_level;			/* syslog(3) level */
	bool to_stderr;			/* screen: stderr 1 */
	int facility;			/* syslog: LOG_LOCAL6 etc. */
	char ident[CONFIG_NAME_MAX];	/* syslog ident */
	char path[CONFIG_PATH_MAX];	/* file: filename */
	bool append;			/* file: mode append (default) or write */
	char socket[CONFIG_SOCKET_MAX]; /* syslog: the syslog daemon's socket */
	size_t queue_size;		/* syslog: bytes queued while the daemon is slow */
};

/* <natlog>: the NAT log for retention, one line per NAT session end or
 * interim record (natlog.h). */
enum natlog_format { NATLOG_JSON, NATLOG_TEXT };

struct natlog_conf {
	bool enabled;	       /* a <natlog> block was given */
	struct copy_conf file; /* file: written as a file copy (named "natlog", append) */
	int format;	       /* format: enum natlog_format */
	bool all;	       /* all: connections without NAT too */
	int nat_sessions;      /* nat_sessions: enum config_nat_sessions */
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
	size_t hold_limit;	       /* hold_limit: bytes held for a collector that is down */
	size_t record_limit;	       /* record_limit: bytes a -w recording may grow to */
	unsigned resync_interval;      /* resync_interval: s between table dumps */
	unsigned active_timeout;       /* active_timeout: s between records of open connections */
	unsigned max_connections;      /* max_connections: most entries the tracker stores */
	int log_facility;	       /* log_facility: operational messages */
	struct filter filter;	       /* <filter>: which connections are exported */
	struct natlog_conf natlog;     /* <natlog> */
	char user[CONFIG_NAME_MAX];    /* user: whom to run as after start */
	char pidfile[CONFIG_PATH_MAX]; /* pidfile */
	char control[CONFIG_SOCKET_MAX]; /* control_socket: for check and reload */
};

/* ---- The schema: one row per key or block the file may hold ----
 *
 * config_from_tree walks the file with these rows alone: a row says where a
 * key may appear, what its value is, where it is stored and what it defaults
 * to. Adding a key is one row (in config.c) and one struct field. */

/* The blocks whose keys the schema describes. A dispatcher block in
 * <ptee><conf> is named by the user; its keys depend on its class. */
enum config_block {
	CONFIG_BLOCK_TOP,	  /* the file itself: struct nf_config */
	CONFIG_BLOCK_FLOW_SEND,	  /* <flow_send>: a collector_conf (NetFlow v5) */
	CONFIG_BLOCK_COLLECTOR,	  /* <collector NAME>: a collector_conf */
	CONFIG_BLOCK_FILTER,	  /* <filter>: struct filter */
	CONFIG_BLOCK_CT2FT,	  /* <ct2ft>: struct nf_config */
	CONFIG_BLOCK_CONNTRACK,	  /* <conntrack>: accepted, ignored */
	CONFIG_BLOCK_FLOW_IMPORT, /* <flow_import>: accepted, ignored */
	CONFIG_BLOCK_PTEE,	  /* <ptee> */
	CONFIG_BLOCK_CONF,	  /* <ptee><conf> */
	CONFIG_BLOCK_SCREEN,	  /* a dispatcher of class Log::Dispatch::Screen: copy_conf */
	CONFIG_BLOCK_SYSLOG,	  /* ... Log::Dispatch::Syslog */
	CONFIG_BLOCK_FILE,	  /* ... Log::Dispatch::File */
	CONFIG_BLOCK_NATLOG,	  /* <natlog>: struct natlog_conf */
	CONFIG_BLOCK_COUNT
};

#define CONFIG_IN(block) (1u << (block)) /* a row's blocks: CONFIG_IN(a) | CONFIG_IN(b) */

/* What a value is, and so how it is parsed (unless the row has a parser). */
enum config_kind {
	CONFIG_KIND_BLOCK,    /* <name> ... </name>, with the rows of its own block */
	CONFIG_KIND_UINT,     /* decimal digits, min to max */
	CONFIG_KIND_BOOL,     /* yes/no, on/off, true/false, 1/0 */
	CONFIG_KIND_SIZE,     /* bytes, with an optional k, m or g suffix, min to max */
	CONFIG_KIND_MSEC,     /* seconds with up to three decimals, stored in ms, min to max */
	CONFIG_KIND_STRING,   /* copied into a char array */
	CONFIG_KIND_PATH,     /* an absolute path, copied into a char array */
	CONFIG_KIND_USER,     /* a user name, copied into a char array */
	CONFIG_KIND_FACILITY, /* a syslog facility name: an int LOG_* */
	CONFIG_KIND_LEVEL,    /* a Log::Dispatch or syslog level: an int LOG_* */
	CONFIG_KIND_ENUM,     /* one of the row's names: its int value */
	CONFIG_KIND_ADDRESS,  /* a numeric IPv4 or IPv6 address */
	CONFIG_KIND_NETWORK,  /* ADDRESS or ADDRESS/PREFIX: a struct filter_net */
	CONFIG_KIND_PROTOCOL, /* an IP protocol name or number: a uint8_t */
	CONFIG_KIND_MARK,     /* VALUE or VALUE/MASK: a struct filter_mark */
	CONFIG_KIND_TEXT,     /* any text, for the row's parser (or none if ignored) */
};

/* A row's flags. Every row has exactly one of CONFIG_ONCE and CONFIG_REPEATABLE. */
#define CONFIG_ONCE	       (1u << 0) /* at most once in what its block fills */
#define CONFIG_REPEATABLE      (1u << 1) /* any number: a list collects them, else the last wins */
#define CONFIG_NEEDS_TEMPLATES (1u << 2) /* NetFlow v9 and IPFIX only (collector versions) */
#define CONFIG_IGNORED	       (1u << 3) /* accepted and ignored; warns its note, if any */
#define CONFIG_REQUIRED	       (1u << 4) /* its block must give it */
#define CONFIG_NAMED	       (1u << 5) /* a block that takes a name: <collector NAME> */
#define CONFIG_SELECTOR	       (1u << 6) /* read first: decides the block's other rows */
#define CONFIG_EMPTY_OK	       (1u << 7) /* an empty value is valid */
#define CONFIG_NOCASE	       (1u << 8) /* names (CONFIG_KIND_ENUM) in any case */

/* One word a CONFIG_KIND_ENUM row accepts, and what it stands for. */
struct config_name {
	const char *name;
	int value;
};

struct config_key;
struct config_walk; /* config.c's state while it walks a block */

/* A row's own parser: parse n's value into dst (the row's field, or the next
 * element of its list). Returns 0, or -1 with the error recorded in w. */
typedef int (*config_parse_fn)(struct config_walk *w, const struct config_key *k,
			       const struct cfg_node *n, void *dst);

/* One row of the schema: a key, or a block, of the configuration file. */
struct config_key {
	const char *name;		 /* as written in the file */
	unsigned blocks;		 /* CONFIG_IN() of each block where it may appear */
	enum config_kind kind;		 /* its value */
	unsigned flags;			 /* CONFIG_ONCE, ... */
	enum config_block child;	 /* CONFIG_KIND_BLOCK: the block it opens */
	size_t offset;			 /* its field in the struct its block fills */
	size_t size;			 /* that field's size, or one list element's */
	size_t count;			 /* a list: offset of its size_t count */
	size_t cap;			 /* a list: its capacity (0: not a list) */
	uint64_t min, max;		 /* UINT, SIZE (bytes), MSEC (ms): the range */
	const char *def;		 /* the default, as written in the file; NULL: zero */
	const struct config_name *names; /* ENUM: the words, NULL-terminated */
	const char *what;		 /* ENUM: text before the words in messages; list: items */
	const char *note;		 /* warned when given (CONFIG_IGNORED keys and blocks) */
	config_parse_fn parse;		 /* its own parser, for values that need context */
};

/* Every row of the schema, in table order; *n receives their number. The rows
 * are constant and live as long as the program. A name may have several rows,
 * one per set of blocks where it means something different. */
const struct config_key *config_schema(size_t *n);

/* Called once per warning ("file:line: message"); ctx is passed through. */
typedef void (*config_warn_fn)(void *ctx, const char *msg);

/* Fill c with the built-in defaults (no collector, ttl 604800, the original's
 * screen and syslog copies, ...). */
void config_defaults(struct nf_config *c);

/* Apply a parsed tree on top of c (which holds defaults). Returns 0, or -1 with
 * "file:line: message" in err. Keys that are accepted but no longer used warn
 * through warn (may be NULL). At least one collector or a <natlog> must
 * result. On error c is left unchanged. */
int config_from_tree(const struct cfg_node *root, struct nf_config *c, char *err, size_t errlen,
		     config_warn_fn warn, void *ctx);

/* Read and parse path into c (defaults first): config_read, then
 * config_parse. Returns 0, or -1 with a message in err ("path: No such file
 * or directory", or "file:line: ..."); on error c is left unchanged. */
int config_load(const char *path, struct nf_config *c, char *err, size_t errlen,
		config_warn_fn warn, void *ctx);

/* The largest configuration text, in bytes (a file, or one passed to
 * the daemon by "reload"). */
#define CONFIG_MAX_FILE (1024 * 1024)

/* The bytes of the configuration file path, in a malloc'd buffer of *len
 * bytes (not NUL-terminated), or NULL with "path: message" in err. The file
 * is opened without blocking and must be a regular file (a FIFO or a device
 * is refused at once) of at most CONFIG_MAX_FILE bytes. */
char *config_read(const char *path, size_t *len, char *err, size_t errlen);

/* config_load into a configuration of its own (malloc'd: free it). Returns
 * it, or NULL with the reason in err. */
struct nf_config *config_load_new(const char *path, char *err, size_t errlen, config_warn_fn warn,
				  void *ctx);

/* Parse text[0..len), named name in messages, into c (defaults first).
 * Returns 0, or -1 with "name:line: message" in err; on error c is left
 * unchanged. Text longer than CONFIG_MAX_FILE is refused. Pure. */
int config_parse(const char *text, size_t len, const char *name, struct nf_config *c, char *err,
		 size_t errlen, config_warn_fn warn, void *ctx);

/* Map a syslog facility name ("local6", "daemon", ...) to LOG_*; -1 if unknown. */
int config_facility(const char *name);

/* Map a Log::Dispatch or syslog level name ("debug", "info", "warning", "warn",
 * "err", "error", ..., or "0".."7") to LOG_*; -1 if unknown. */
int config_level(const char *name);

#endif
