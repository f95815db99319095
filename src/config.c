/* config: the typed configuration. One schema, keys[], has a row for every
 * key and block of the file: where it may appear, what its value is, where it
 * is stored, its limits and its default. One walker checks the cfgfile tree
 * against those rows and builds a fresh nf_config that replaces the caller's
 * only when the whole file is good. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "ipfix.h"
#include "nfv5.h"
#include "timeunit.h"

#define SHOW	     "%.80s" /* how a user's value is quoted in messages */
#define STRINGIFY(x) #x
#define DECIMAL(x)   STRINGIFY(x) /* a numeric macro as a default: "1400" */

/* ---- the words some values are made of ---- */

static const struct config_name levels[] = {{"debug", LOG_DEBUG},
					    {"info", LOG_INFO},
					    {"notice", LOG_NOTICE},
					    {"warning", LOG_WARNING},
					    {"warn", LOG_WARNING},
					    {"error", LOG_ERR},
					    {"err", LOG_ERR},
					    {"critical", LOG_CRIT},
					    {"crit", LOG_CRIT},
					    {"alert", LOG_ALERT},
					    {"emergency", LOG_EMERG},
					    {"emerg", LOG_EMERG},
					    {NULL, 0}};

static const struct config_name facilities[] = {
    {"kern", LOG_KERN},	    {"user", LOG_USER},		{"mail", LOG_MAIL},
    {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},		{"syslog", LOG_SYSLOG},
    {"lpr", LOG_LPR},	    {"news", LOG_NEWS},		{"uucp", LOG_UUCP},
    {"cron", LOG_CRON},	    {"authpriv", LOG_AUTHPRIV}, {"ftp", LOG_FTP},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},	{"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},	{"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},	{NULL, 0}};

static const struct config_name protocols[] = {
    {"icmp", 1},    {"tcp", 6},	   {"udp", 17},	     {"gre", 47},  {"esp", 50}, {"ah", 51},
    {"icmpv6", 58}, {"sctp", 132}, {"udplite", 136}, {"dccp", 33}, {NULL, 0}};

static const struct config_name nat_codes[] = {{"iana", 0}, {"legacy", 1}, {NULL, 0}};

/* nat_events: yes (and the other boolean words) as before it took more. */
static const struct config_name nat_events[] = {{"no", CONFIG_NAT_EVENTS_NO},
						{"create", CONFIG_NAT_EVENTS_CREATE},
						{"all", CONFIG_NAT_EVENTS_ALL},
						{"yes", CONFIG_NAT_EVENTS_CREATE},
						{"off", CONFIG_NAT_EVENTS_NO},
						{"on", CONFIG_NAT_EVENTS_CREATE},
						{"false", CONFIG_NAT_EVENTS_NO},
						{"true", CONFIG_NAT_EVENTS_CREATE},
						{"0", CONFIG_NAT_EVENTS_NO},
						{"1", CONFIG_NAT_EVENTS_CREATE},
						{NULL, 0}};

static const struct config_name nat_sessions[] = {
    {"all", CONFIG_NAT_SESSIONS_ALL},
    {"outside-blocks", CONFIG_NAT_SESSIONS_OUTSIDE_BLOCKS},
    {NULL, 0}};

static const struct config_name natlog_formats[] = {
    {"json", NATLOG_JSON}, {"text", NATLOG_TEXT}, {NULL, 0}};

/* <ptee><conf> dispatchers' mode; the order is the one messages list. */
static const struct config_name file_modes[] = {
    {"append", 1}, {"write", 0}, {">>", 1}, {">", 0}, {NULL, 0}};

static const struct config_name classes[] = {{"Log::Dispatch::Screen", COPY_SCREEN},
					     {"Log::Dispatch::Syslog", COPY_SYSLOG},
					     {"Log::Dispatch::File", COPY_FILE},
					     {NULL, 0}};

/* The block whose rows a dispatcher of each class takes. */
static const enum config_block class_blocks[] = {
    [COPY_SCREEN] = CONFIG_BLOCK_SCREEN,
    [COPY_SYSLOG] = CONFIG_BLOCK_SYSLOG,
    [COPY_FILE] = CONFIG_BLOCK_FILE,
};

/* The collector versions: what each can send, and its default port (2055:
 * NetFlow's customary one; 4739: IANA's for IPFIX, RFC 7011 §10). The
 * capabilities are schema flags: a row flagged CONFIG_NEEDS_TEMPLATES is
 * refused for a version without it. */
static const struct version {
	const char *name;  /* as written after "version" */
	const char *alias; /* another name for it, in any case, or NULL */
	int version;	   /* collector_conf.version */
	unsigned caps;	   /* CONFIG_NEEDS_TEMPLATES: it sends templates */
	uint16_t port;	   /* the collector's port unless one is given */
} versions[] = {
    {"5", NULL, NFV5_VERSION, 0, 2055},
    {"9", NULL, IPFIX_V9, CONFIG_NEEDS_TEMPLATES, 2055},
    {"10", "ipfix", IPFIX_V10, CONFIG_NEEDS_TEMPLATES, 4739},
};

#define NVERSIONS   (sizeof versions / sizeof versions[0])
#define CONFIG_CAPS CONFIG_NEEDS_TEMPLATES /* the flags that are version capabilities */

/* How messages name a block a key belongs in: "(ttl belongs in <ct2ft>)". */
static const char *const block_tags[CONFIG_BLOCK_COUNT] = {
    [CONFIG_BLOCK_FLOW_SEND] = "<flow_send>", [CONFIG_BLOCK_COLLECTOR] = "<collector>",
    [CONFIG_BLOCK_FILTER] = "<filter>",	      [CONFIG_BLOCK_CT2FT] = "<ct2ft>",
    [CONFIG_BLOCK_CONNTRACK] = "<conntrack>", [CONFIG_BLOCK_FLOW_IMPORT] = "<flow_import>",
    [CONFIG_BLOCK_PTEE] = "<ptee>",	      [CONFIG_BLOCK_CONF] = "<ptee><conf>",
    [CONFIG_BLOCK_NATLOG] = "<natlog>",
};

/* ---- the schema ---- */

/* The parsers of rows whose values need more than their own text. */
static int do_flow_send(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
			void *dst);
static int flow_send_arg(struct config_walk *w, const struct config_key *k,
			 const struct cfg_node *n, void *dst);
static int do_collector(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
			void *dst);
static int collector_version(struct config_walk *w, const struct config_key *k,
			     const struct cfg_node *n, void *dst);
static int collector_port(struct config_walk *w, const struct config_key *k,
			  const struct cfg_node *n, void *dst);
static int collector_address(struct config_walk *w, const struct config_key *k,
			     const struct cfg_node *n, void *dst);
static int collector_source(struct config_walk *w, const struct config_key *k,
			    const struct cfg_node *n, void *dst);
static int do_ptee(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
		   void *dst);
static int do_conf(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
		   void *dst);
static int conf_dispatchers(struct config_walk *w, const struct config_key *k,
			    const struct cfg_node *n, void *dst);
static int do_natlog(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
		     void *dst);

#define TOP	    CONFIG_IN(CONFIG_BLOCK_TOP)
#define FLOW_SEND   CONFIG_IN(CONFIG_BLOCK_FLOW_SEND)
#define COLLECTOR   CONFIG_IN(CONFIG_BLOCK_COLLECTOR)
#define FILTER	    CONFIG_IN(CONFIG_BLOCK_FILTER)
#define CT2FT	    CONFIG_IN(CONFIG_BLOCK_CT2FT)
#define CONNTRACK   CONFIG_IN(CONFIG_BLOCK_CONNTRACK)
#define FLOW_IMPORT CONFIG_IN(CONFIG_BLOCK_FLOW_IMPORT)
#define PTEE	    CONFIG_IN(CONFIG_BLOCK_PTEE)
#define CONF	    CONFIG_IN(CONFIG_BLOCK_CONF)
#define SCREEN	    CONFIG_IN(CONFIG_BLOCK_SCREEN)
#define SYSLOG	    CONFIG_IN(CONFIG_BLOCK_SYSLOG)
#define TO_FILE	    CONFIG_IN(CONFIG_BLOCK_FILE)
#define NATLOG	    CONFIG_IN(CONFIG_BLOCK_NATLOG)
#define DISPATCHER  (SCREEN | SYSLOG | TO_FILE)

#define ONCE	   CONFIG_ONCE
#define REPEATABLE CONFIG_REPEATABLE
#define TEMPLATES  CONFIG_NEEDS_TEMPLATES
#define IGNORED	   CONFIG_IGNORED
#define REQUIRED   CONFIG_REQUIRED
#define NAMED	   CONFIG_NAMED
#define SELECTOR   CONFIG_SELECTOR
#define EMPTY_OK   CONFIG_EMPTY_OK
#define NOCASE	   CONFIG_NOCASE

#define KEY(n, in, k, fl) .name = (n), .blocks = (in), .kind = CONFIG_KIND_##k, .flags = (fl)
#define FIELD(type, f)	  .offset = offsetof(type, f), .size = sizeof(((type *)NULL)->f)
#define LIST(type, f, n)                                                                           \
	.offset = offsetof(type, f), .size = sizeof(((type *)NULL)->f[0]),                         \
	.count = offsetof(type, n),                                                                \
	.cap = sizeof(((type *)NULL)->f) / sizeof(((type *)NULL)->f[0])
#define NF(f)		      FIELD(struct nf_config, f)
#define COL(f)		      FIELD(struct collector_conf, f)
#define COPY(f)		      FIELD(struct copy_conf, f)
#define FLT(f)		      FIELD(struct filter, f)
#define FLTS(f)		      LIST(struct filter, f, n##f)
#define NL(f)		      FIELD(struct natlog_conf, f)
#define KIB		      UINT64_C(1024)
#define FORMAT_IGNORED	      "format is ignored: copies are written as flow-tools CSV lines"
#define FLOW_SEND_UNUSED(key) key " in <flow_send> is no longer used: nfflowd sends NetFlow itself"

static const struct config_key keys[] = {
    /* The top level. */
    {KEY("flow_send", TOP, BLOCK, ONCE), .child = CONFIG_BLOCK_FLOW_SEND,
     LIST(struct nf_config, collectors, ncollectors), .what = "collectors", .parse = do_flow_send},
    {KEY("collector", TOP, BLOCK, REPEATABLE | NAMED), .child = CONFIG_BLOCK_COLLECTOR,
     LIST(struct nf_config, collectors, ncollectors), .what = "collectors", .parse = do_collector},
    {KEY("filter", TOP, BLOCK, ONCE), .child = CONFIG_BLOCK_FILTER, NF(filter)},
    {KEY("ct2ft", TOP, BLOCK, REPEATABLE), .child = CONFIG_BLOCK_CT2FT},
    {KEY("natlog", TOP, BLOCK, ONCE), .child = CONFIG_BLOCK_NATLOG, NF(natlog), .parse = do_natlog},
    {KEY("ptee", TOP, BLOCK, ONCE), .child = CONFIG_BLOCK_PTEE, .parse = do_ptee},
    {KEY("conntrack", TOP, BLOCK, REPEATABLE | IGNORED), .child = CONFIG_BLOCK_CONNTRACK,
     .note = "<conntrack> is no longer used: nfflowd reads conntrack over netlink itself"},
    {KEY("flow_import", TOP, BLOCK, REPEATABLE | IGNORED), .child = CONFIG_BLOCK_FLOW_IMPORT,
     .note = "<flow_import> is no longer used: nfflowd builds NetFlow records itself"},
    {KEY("flush_interval", TOP, MSEC, ONCE), NF(flush_ms), .min = 10, .max = 60000, .def = "1"},
    {KEY("engine_type", TOP, UINT, ONCE), NF(engine_type), .max = 255, .def = "0"},
    {KEY("engine_id", TOP, UINT, ONCE), NF(engine_id), .max = 255, .def = "0"},
    {KEY("sysctl_setup", TOP, BOOL, ONCE), NF(sysctl_setup), .def = "yes"},
    /* 128M: no loss at 250k events/s here (bench/run.sh) */
    {KEY("netlink_rcvbuf", TOP, SIZE, ONCE), NF(rcvbuf), .min = 64 * KIB, .max = KIB * KIB * KIB,
     .def = "128M"},
    {KEY("resync_interval", TOP, UINT, ONCE), NF(resync_interval), .min = 1, .max = 3600,
     .def = "10"},
    /* yes: no DESTROY lost at any burst; the trade-off is in nfflowd.conf(5) */
    {KEY("netlink_reliable", TOP, BOOL, ONCE), NF(netlink_reliable), .def = "yes"},
    {KEY("hold_limit", TOP, SIZE, ONCE), NF(hold_limit), .min = 64 * KIB, .max = KIB * KIB * KIB,
     .def = "16M"},
    {KEY("record_limit", TOP, SIZE, ONCE), NF(record_limit), .min = KIB * KIB,
     .max = KIB * KIB * KIB * KIB, .def = "1G"},
    {KEY("active_timeout", TOP, UINT, ONCE), NF(active_timeout), .max = 432000, .def = "1800"},
    {KEY("max_connections", TOP, UINT, ONCE), NF(max_connections), .min = 1000, .max = 100000000,
     .def = "2000000"},
    {KEY("log_facility", TOP, FACILITY, ONCE), NF(log_facility), .def = "daemon"},
    {KEY("user", TOP, USER, ONCE), NF(user), .def = CONFIG_DEFAULT_USER},
    {KEY("pidfile", TOP, PATH, ONCE), NF(pidfile), .def = CONFIG_DEFAULT_PIDFILE},
    {KEY("control_socket", TOP, PATH, ONCE), NF(control), .def = CONFIG_DEFAULT_CONTROL},

    /* <ct2ft>: fills nf_config, so ttl is once in all of them together. */
    {KEY("ttl", CT2FT, UINT, ONCE), NF(ttl), .min = 1, .max = 31536000, .def = "604800"},

    /* <flow_send>: SOURCE COLLECTOR PORT, one per args line. */
    {KEY("args", FLOW_SEND, TEXT, REPEATABLE | EMPTY_OK), .parse = flow_send_arg},
    {KEY("progname", FLOW_SEND, TEXT, REPEATABLE | IGNORED), .note = FLOW_SEND_UNUSED("progname")},
    {KEY("format", FLOW_SEND, TEXT, REPEATABLE | IGNORED), .note = FLOW_SEND_UNUSED("format")},

    /* <collector NAME>: collected first, then applied in this order. */
    {KEY("version", COLLECTOR, ENUM, ONCE | SELECTOR), COL(version), .def = "10",
     .parse = collector_version},
    {KEY("port", COLLECTOR, UINT, ONCE), .min = 1, .max = 65535, .parse = collector_port},
    {KEY("address", COLLECTOR, ADDRESS, ONCE | REQUIRED), COL(addr), .parse = collector_address},
    {KEY("source", COLLECTOR, ADDRESS, ONCE), COL(source), .parse = collector_source},
    {KEY("mtu", COLLECTOR, UINT, ONCE), COL(mtu), .min = IPFIX_MTU_MIN, .max = IPFIX_MTU_MAX,
     .def = DECIMAL(IPFIX_MTU_DEFAULT)},
    {KEY("template_refresh", COLLECTOR, UINT, ONCE | TEMPLATES), COL(refresh_s), .max = 86400,
     .def = "60"},
    {KEY("template_refresh_packets", COLLECTOR, UINT, ONCE | TEMPLATES), COL(refresh_pkts),
     .max = 1000000, .def = "20"},
    {KEY("observation_domain", COLLECTOR, UINT, ONCE | TEMPLATES), COL(domain), .max = UINT32_MAX,
     .def = "0"},
    {KEY("nat_events", COLLECTOR, ENUM, ONCE | TEMPLATES | NOCASE), COL(nat_events),
     .names = nat_events, .def = "create"},
    {KEY("nat_event_codes", COLLECTOR, ENUM, ONCE | TEMPLATES | NOCASE), COL(legacy_nat_events),
     .names = nat_codes, .def = "iana"},
    {KEY("nat_sessions", COLLECTOR, ENUM, ONCE | TEMPLATES), COL(nat_sessions),
     .names = nat_sessions, .def = "all"},

    /* <filter>: each key any number of times. */
    {KEY("address", FILTER, NETWORK, REPEATABLE), FLTS(any)},
    {KEY("original_address", FILTER, NETWORK, REPEATABLE), FLTS(orig)},
    {KEY("translated_address", FILTER, NETWORK, REPEATABLE), FLTS(xlat)},
    {KEY("protocol", FILTER, PROTOCOL, REPEATABLE), FLTS(protos)},
    {KEY("port", FILTER, UINT, REPEATABLE), FLTS(ports), .min = 1, .max = 65535},
    {KEY("zone", FILTER, UINT, REPEATABLE), FLTS(zones), .max = 65535},
    {KEY("mark", FILTER, MARK, REPEATABLE), FLTS(marks)},
    {KEY("nat_only", FILTER, BOOL, REPEATABLE), FLT(nat_only), .def = "no"},
    {KEY("export_self", FILTER, BOOL, REPEATABLE), FLT(export_self), .def = "no"},

    /* <natlog>: the NAT log for retention. */
    {KEY("file", NATLOG, PATH, ONCE | REQUIRED), NL(file.path)},
    {KEY("format", NATLOG, ENUM, ONCE), NL(format), .names = natlog_formats, .def = "json"},
    {KEY("all", NATLOG, BOOL, ONCE), NL(all), .def = "no"},
    {KEY("nat_sessions", NATLOG, ENUM, ONCE), NL(nat_sessions), .names = nat_sessions,
     .def = "all"},

    /* The original's helper programs: checked, then ignored. */
    {KEY("progname", CONNTRACK | FLOW_IMPORT, TEXT, REPEATABLE | IGNORED)},
    {KEY("init_format", CONNTRACK, TEXT, REPEATABLE | IGNORED)},
    {KEY("format", CONNTRACK | FLOW_IMPORT, TEXT, REPEATABLE | IGNORED)},

    /* <ptee><conf>: the Log::Dispatch dispatchers, named by the user. */
    {KEY("conf", PTEE, BLOCK, ONCE), .child = CONFIG_BLOCK_CONF, .parse = do_conf},
    {KEY("dispatchers", CONF, TEXT, REPEATABLE | EMPTY_OK), .parse = conf_dispatchers},
    {KEY("format", CONF, TEXT, REPEATABLE | IGNORED), .note = FORMAT_IGNORED},

    /* A dispatcher block: its class decides which of these it takes. */
    {KEY("class", DISPATCHER, ENUM, ONCE | SELECTOR), COPY(kind), .names = classes,
     .what = "supported: use "},
    {KEY("name", DISPATCHER, STRING, ONCE), COPY(name)},
    {KEY("min_level", DISPATCHER, LEVEL, ONCE), COPY(min_level), .def = "debug"},
    {KEY("max_level", DISPATCHER, LEVEL, ONCE), COPY(max_level), .def = "emergency"},
    {KEY("format", DISPATCHER, TEXT, ONCE | IGNORED), .note = FORMAT_IGNORED},
    {KEY("stderr", SCREEN, BOOL, ONCE), COPY(to_stderr), .def = "yes"},
    {KEY("newline", SCREEN, BOOL, ONCE | IGNORED)},
    {KEY("ident", SYSLOG, STRING, ONCE), COPY(ident), .def = "nfflowd"},
    {KEY("facility", SYSLOG, FACILITY, ONCE), COPY(facility), .def = "user"},
    {KEY("socket", SYSLOG, PATH, ONCE), COPY(socket), .def = "/dev/log"},
    {KEY("queue_size", SYSLOG, SIZE, ONCE), COPY(queue_size), .min = 64 * KIB,
     .max = KIB * KIB * KIB, .def = "64M"},
    {KEY("logopt", SYSLOG, TEXT, ONCE | IGNORED),
     .note = "logopt is ignored: nfflowd opens syslog itself"},
    {KEY("filename", TO_FILE, STRING, ONCE | REQUIRED), COPY(path)},
    {KEY("mode", TO_FILE, ENUM, ONCE), COPY(append), .names = file_modes, .def = "append"},
};

#define NKEYS (sizeof keys / sizeof keys[0])

/* See config.h: the rows above. */
const struct config_key *config_schema(size_t *n)
{
	*n = NKEYS;
	return keys;
}

/* ---- the state of a walk, and its messages ---- */

struct ctx {
	struct nf_config *c;
	const char *file;
	char *err;
	size_t errlen;
	config_warn_fn warn;
	void *wctx;
	unsigned seen[NKEYS]; /* per row: its first line in what nf_config's blocks fill */
};

enum pass { PASS_ALL, PASS_KEYS, PASS_BLOCKS };

/* One block being walked. */
struct config_walk {
	struct ctx *x;
	enum config_block block;       /* whose rows apply */
	const char *in;		       /* the block's name in messages; NULL at the top level */
	const char *cls;	       /* a dispatcher's class, for messages */
	void *dst;		       /* the struct the rows' offsets point into */
	unsigned *seen;		       /* per row: the line where it was first given, or 0 */
	const struct cfg_node **nodes; /* per row: its node, to apply later; NULL: apply now */
	enum pass pass;		       /* the items it looks at */
	int (*named)(struct config_walk *w, const struct cfg_node *b); /* blocks the user names */
	void *state; /* the block's own, for its rows' parsers */
};

static void vformat(char *buf, size_t len, const char *file, unsigned line, const char *fmt,
		    va_list ap) __attribute__((format(printf, 5, 0)));

static void vformat(char *buf, size_t len, const char *file, unsigned line, const char *fmt,
		    va_list ap)
{
	if (!buf || len == 0)
		return;
	int n = line ? snprintf(buf, len, "%s:%u: ", file, line) : snprintf(buf, len, "%s: ", file);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(buf + n, len - (size_t)n, fmt, ap);
}

static int fail(struct ctx *x, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report "file:line: message" (or "file: message" for line 0); returns -1. */
static int fail(struct ctx *x, unsigned line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vformat(x->err, x->errlen, x->file, line, fmt, ap);
	va_end(ap);
	return -1;
}

static void warning(struct ctx *x, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warning(struct ctx *x, unsigned line, const char *fmt, ...)
{
	if (!x->warn)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vformat(msg, sizeof msg, x->file, line, fmt, ap);
	va_end(ap);
	x->warn(x->wctx, msg);
}

static const char *val(const struct cfg_node *n)
{
	return n->value ? n->value : "";
}

static int need_value(struct ctx *x, const struct cfg_node *n)
{
	if (val(n)[0] == '\0')
		return fail(x, n->line, "%s needs a value", n->name);
	return 0;
}

static int no_argument(struct ctx *x, const struct cfg_node *b)
{
	if (b->value)
		return fail(x, b->line, "<%s " SHOW ">: <%s> takes no name", b->name, b->value,
			    b->name);
	return 0;
}

/* "a, b or c" into buf, from n words; last joins the last two. */
static const char *join(char *buf, size_t len, const char *const *words, size_t n, const char *last)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? last : ", ";
		int r = snprintf(buf + at, len - at, "%s%s", sep, words[i]);
		if (r < 0 || (size_t)r >= len - at)
			break;
		at += (size_t)r;
	}
	return buf;
}

/* The names of a NULL-terminated table, "a, b or c". */
static const char *name_list(char *buf, size_t len, const struct config_name *t)
{
	const char *words[16];
	size_t n = 0;
	while (t[n].name && n < 16) {
		words[n] = t[n].name;
		n++;
	}
	return join(buf, len, words, n, " or ");
}

static int lookup(const struct config_name *t, const char *name, bool nocase)
{
	for (size_t i = 0; t[i].name; i++) {
		if ((nocase ? strcasecmp(t[i].name, name) : strcmp(t[i].name, name)) == 0)
			return t[i].value;
	}
	return -1;
}

/* The first name of value in a NULL-terminated table, or "?". */
static const char *name_of(const struct config_name *t, int value)
{
	for (size_t i = 0; t[i].name; i++) {
		if (t[i].value == value)
			return t[i].name;
	}
	return "?";
}

/* ---- values ---- */

/* See config.h: a level name or Log::Dispatch number to LOG_*, or -1. */
int config_level(const char *name)
{
	/* Log::Dispatch numbers levels 0 (debug) to 7 (emergency), the reverse
	 * of syslog(3). */
	if (!name)
		return -1;
	if (name[0] >= '0' && name[0] <= '7' && name[1] == '\0')
		return LOG_DEBUG - (name[0] - '0');
	return lookup(levels, name, true);
}

/* See config.h: a facility name to LOG_*, or -1. */
int config_facility(const char *name)
{
	if (!name)
		return -1;
	return lookup(facilities, name, true);
}

/* Strict unsigned decimal: digits only, at most max. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Seconds with up to three decimals, as milliseconds. */
static bool parse_ms(const char *s, uint64_t *out)
{
	uint64_t sec = 0, ms = 0;
	size_t i = 0, frac = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (sec > 100000)
			return false;
		sec = sec * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return false;
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9' && frac < 3; i++, frac++)
			ms = ms * 10 + (uint64_t)(s[i] - '0');
		if (frac == 0)
			return false;
	}
	for (; frac < 3; frac++)
		ms *= 10;
	*out = sec * MS_PER_S + ms;
	return s[i] == '\0';
}

/* Bytes with an optional k, m or g suffix (powers of 1024), at most
 * UINT64_MAX bytes in all. */
static bool parse_size(const char *s, uint64_t *out)
{
	char digits[32];
	size_t len = strlen(s);
	unsigned shift = 0;
	if (len == 0 || len >= sizeof digits)
		return false;
	const char *suffix = strchr("kKmMgG", s[len - 1]);
	if (suffix) {
		shift = 10u * (unsigned)(1 + (suffix - "kKmMgG") / 2);
		len--;
	}
	memcpy(digits, s, len);
	digits[len] = '\0';
	uint64_t v = 0;
	if (!parse_u64(digits, UINT64_MAX >> shift, &v))
		return false;
	*out = v << shift;
	return true;
}

/* A size as messages write it: "64K", "1G". */
static const char *show_size(char *buf, size_t len, uint64_t v)
{
	static const char units[] = "GMK";
	for (unsigned i = 0; i < 3; i++) {
		uint64_t unit = UINT64_C(1) << (10 * (3 - i));
		if (v >= unit && v % unit == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(v / unit), units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

/* Milliseconds as messages write them, in seconds: "0.01", "60". */
static const char *show_ms(char *buf, size_t len, uint64_t ms)
{
	int n = snprintf(buf, len, "%llu.%03llu", (unsigned long long)(ms / MS_PER_S),
			 (unsigned long long)(ms % MS_PER_S));
	while (n > 0 && (size_t)n < len && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && (size_t)n < len && buf[n - 1] == '.')
		buf[--n] = '\0';
	return buf;
}

static int boolean(const char *s)
{
	static const char *const yes[] = {"yes", "on", "true", "1"};
	static const char *const no[] = {"no", "off", "false", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static bool parse_addr(const char *s, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof *in;
		return true;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof *in6;
		return true;
	}
	return false;
}

/* Store v in a field of size bytes (an unsigned, uint8_t, int, size_t, ...). */
static void store_uint(void *dst, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;
	switch (size) {
	case 1:
		memcpy(dst, &u8, 1);
		break;
	case 2:
		memcpy(dst, &u16, 2);
		break;
	case 4:
		memcpy(dst, &u32, 4);
		break;
	default:
		memcpy(dst, &v, sizeof v);
		break;
	}
}

/* ---- the parsers of each kind: walk_item has refused an empty value ---- */

static int number(struct ctx *x, const struct cfg_node *n, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (!parse_u64(val(n), hi, out) || *out < lo)
		return fail(x, n->line, "%s: '" SHOW "' is not a number from %llu to %llu", n->name,
			    val(n), (unsigned long long)lo, (unsigned long long)hi);
	return 0;
}

static int parse_uint(struct ctx *x, const struct config_key *k, const struct cfg_node *n,
		      void *dst)
{
	uint64_t v = 0;
	if (number(x, n, k->min, k->max, &v) < 0)
		return -1;
	store_uint(dst, k->size, v);
	return 0;
}

static int parse_bool(struct ctx *x, const struct cfg_node *n, void *dst)
{
	int b = boolean(val(n));
	if (b < 0)
		return fail(x, n->line,
			    "%s: '" SHOW "' is not a boolean (yes/no, on/off, true/false, 1/0)",
			    n->name, val(n));
	bool v = b == 1;
	memcpy(dst, &v, sizeof v);
	return 0;
}

static int parse_bytes(struct ctx *x, const struct config_key *k, const struct cfg_node *n,
		       void *dst)
{
	uint64_t v = 0;
	char lo[24], hi[24];
	if (!parse_size(val(n), &v) || v < k->min || v > k->max)
		return fail(x, n->line, "%s: '" SHOW "' is not a size from %s to %s", n->name,
			    val(n), show_size(lo, sizeof lo, k->min),
			    show_size(hi, sizeof hi, k->max));
	store_uint(dst, k->size, v);
	return 0;
}

static int parse_msec(struct ctx *x, const struct config_key *k, const struct cfg_node *n,
		      void *dst)
{
	uint64_t ms = 0;
	char lo[24], hi[24];
	if (!parse_ms(val(n), &ms) || ms < k->min || ms > k->max)
		return fail(x, n->line,
			    "%s: '" SHOW "' is not a number of seconds from %s to %s (at most "
			    "three decimals)",
			    n->name, val(n), show_ms(lo, sizeof lo, k->min),
			    show_ms(hi, sizeof hi, k->max));
	store_uint(dst, k->size, ms);
	return 0;
}

static int parse_string(struct ctx *x, const struct cfg_node *n, char *dst, size_t len)
{
	if (strlen(val(n)) >= len)
		return fail(x, n->line, "%s: '" SHOW "' is longer than %zu bytes", n->name, val(n),
			    len - 1);
	strcpy(dst, val(n));
	return 0;
}

static int parse_path(struct ctx *x, const struct config_key *k, const struct cfg_node *n,
		      char *dst)
{
	if (parse_string(x, n, dst, k->size) < 0)
		return -1;
	if (dst[0] != '/')
		return fail(x, n->line, "%s: '" SHOW "' is not an absolute path", n->name, val(n));
	return 0;
}

static int parse_user(struct ctx *x, const struct config_key *k, const struct cfg_node *n,
		      char *dst)
{
	if (parse_string(x, n, dst, k->size) < 0)
		return -1;
	if (strpbrk(dst, " \t:/") != NULL)
		return fail(x, n->line, "%s: '" SHOW "' is not a user name", n->name, val(n));
	return 0;
}

/* A word that word_to maps to an int LOG_* (-1: not one); what describes it. */
static int parse_word(struct ctx *x, const struct config_key *k, const struct cfg_node *n,
		      void *dst, int (*word_to)(const char *), const char *what)
{
	int v = word_to(val(n));
	if (v < 0)
		return fail(x, n->line, "%s: '" SHOW "' is not %s", n->name, val(n), what);
	store_uint(dst, k->size, (uint64_t)v);
	return 0;
}

static int parse_enum(struct ctx *x, const struct config_key *k, const struct cfg_node *n,
		      void *dst)
{
	char list[256];
	int v = lookup(k->names, val(n), (k->flags & CONFIG_NOCASE) != 0);
	if (v < 0)
		return fail(x, n->line, "%s: '" SHOW "' is not %s%s", n->name, val(n),
			    k->what ? k->what : "", name_list(list, sizeof list, k->names));
	store_uint(dst, k->size, (uint64_t)v);
	return 0;
}

/* n's value, a numeric IPv4 or IPv6 address, with port into ss and len. */
static int parse_address(struct ctx *x, const struct cfg_node *n, uint16_t port,
			 struct sockaddr_storage *ss, socklen_t *len)
{
	if (!parse_addr(val(n), port, ss, len))
		return fail(x, n->line, "%s: '" SHOW "' is not an IP address", n->name, val(n));
	return 0;
}

static int parse_network(struct ctx *x, const struct cfg_node *n, struct filter_net *dst)
{
	if (filter_parse_net(val(n), dst) != 0)
		return fail(x, n->line, "%s: '" SHOW "' is not an address or network (ADDR/PREFIX)",
			    n->name, val(n));
	return 0;
}

static int parse_protocol(struct ctx *x, const struct cfg_node *n, uint8_t *dst)
{
	int p = lookup(protocols, val(n), true);
	uint64_t v = 0;
	if (p < 0 && !parse_u64(val(n), 255, &v))
		return fail(x, n->line, "%s: '" SHOW "' is not a protocol name or number", n->name,
			    val(n));
	*dst = (uint8_t)(p < 0 ? (int)v : p);
	return 0;
}

/* A mark: VALUE or VALUE/MASK, decimal or 0x hexadecimal. */
static int parse_mark(struct ctx *x, const struct cfg_node *n, struct filter_mark *dst)
{
	char *end;
	const char *s = val(n);
	struct filter_mark m = {.mask = UINT32_MAX};
	unsigned long long v = strtoull(s, &end, 0);
	bool ok = s[0] >= '0' && s[0] <= '9' && v <= UINT32_MAX;
	if (ok && *end == '/') {
		s = end + 1;
		unsigned long long mk = strtoull(s, &end, 0);
		ok = s[0] >= '0' && s[0] <= '9' && mk <= UINT32_MAX;
		m.mask = (uint32_t)mk;
	}
	if (!ok || *end)
		return fail(x, n->line, "%s: '" SHOW "' is not VALUE or VALUE/MASK", n->name,
			    val(n));
	m.value = (uint32_t)v & m.mask;
	*dst = m;
	return 0;
}

/* Parse n's value as k's kind into dst. */
static int parse_kind(struct ctx *x, const struct config_key *k, const struct cfg_node *n,
		      void *dst)
{
	switch (k->kind) {
	case CONFIG_KIND_UINT:
		return parse_uint(x, k, n, dst);
	case CONFIG_KIND_BOOL:
		return parse_bool(x, n, dst);
	case CONFIG_KIND_SIZE:
		return parse_bytes(x, k, n, dst);
	case CONFIG_KIND_MSEC:
		return parse_msec(x, k, n, dst);
	case CONFIG_KIND_STRING:
		return parse_string(x, n, dst, k->size);
	case CONFIG_KIND_PATH:
		return parse_path(x, k, n, dst);
	case CONFIG_KIND_USER:
		return parse_user(x, k, n, dst);
	case CONFIG_KIND_FACILITY:
		return parse_word(x, k, n, dst, config_facility,
				  "a syslog facility (daemon, user, local0 to local7, ...)");
	case CONFIG_KIND_LEVEL:
		return parse_word(x, k, n, dst, config_level,
				  "a level (debug, info, notice, warning, error, critical, alert, "
				  "emergency, or 0-7)");
	case CONFIG_KIND_ENUM:
		return parse_enum(x, k, n, dst);
	case CONFIG_KIND_NETWORK:
		return parse_network(x, n, dst);
	case CONFIG_KIND_PROTOCOL:
		return parse_protocol(x, n, dst);
	case CONFIG_KIND_MARK:
		return parse_mark(x, n, dst);
	case CONFIG_KIND_BLOCK:
	case CONFIG_KIND_ADDRESS:
	case CONFIG_KIND_TEXT:
		break;
	}
	return fail(x, n->line, "%s: no parser for this key", n->name); /* a bad row */
}

/* ---- the walker ---- */

static size_t row(const struct config_key *k)
{
	return (size_t)(k - keys);
}

static bool is_block(const struct config_key *k)
{
	return k->kind == CONFIG_KIND_BLOCK;
}

/* The row called name in one of blocks (a CONFIG_IN mask), or NULL. */
static const struct config_key *find_key(unsigned blocks, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if ((keys[i].blocks & blocks) && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

/* The row that decides which other rows of blocks apply, or NULL. */
static const struct config_key *selector(unsigned blocks)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if ((keys[i].blocks & blocks) && (keys[i].flags & CONFIG_SELECTOR))
			return &keys[i];
	}
	return NULL;
}

/* The only block, with a tag, where an item like n belongs; NULL if none or several. */
static const char *home_of(const struct cfg_node *n)
{
	unsigned blocks = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		if (is_block(&keys[i]) == n->is_block && strcmp(keys[i].name, n->name) == 0)
			blocks |= keys[i].blocks;
	}
	for (unsigned b = 0; b < CONFIG_BLOCK_COUNT; b++) {
		if (blocks == CONFIG_IN(b))
			return block_tags[b];
	}
	return NULL;
}

static int unknown_here(struct config_walk *w, const struct cfg_node *n)
{
	if (n->is_block)
		return fail(w->x, n->line, "unknown block <%s> in <%s>", n->name, w->in);
	if (w->cls)
		return fail(w->x, n->line, "unknown key '%s' for %s in <%s>", n->name, w->cls,
			    w->in);
	return fail(w->x, n->line, "unknown key '%s' in <%s>", n->name, w->in);
}

static int unknown_top(struct config_walk *w, const struct cfg_node *n)
{
	const char *home = home_of(n);
	if (n->is_block && home)
		return fail(w->x, n->line, "unknown block <%s> (<%s> belongs in %s)", n->name,
			    n->name, home);
	if (n->is_block)
		return fail(w->x, n->line, "unknown block <%s>", n->name);
	if (home)
		return fail(w->x, n->line, "unknown key '%s' (%s belongs in %s)", n->name, n->name,
			    home);
	return fail(w->x, n->line, "unknown key '%s'", n->name);
}

/* n has no row k here, or k is a block and n a key or the other way round. */
static int not_here(struct config_walk *w, const struct cfg_node *n, const struct config_key *k)
{
	if (w->in)
		return unknown_here(w, n);
	if (!k)
		return unknown_top(w, n);
	if (is_block(k))
		return fail(w->x, n->line, "%s is a block: write <%s> ... </%s>", n->name, n->name,
			    n->name);
	return fail(w->x, n->line, "<%s> is not a block: write '%s VALUE'", n->name, n->name);
}

/* Remember where k was first given; a second CONFIG_ONCE is an error. */
static int once(struct config_walk *w, const struct config_key *k, const struct cfg_node *n)
{
	unsigned *seen = &w->seen[row(k)];
	if (*seen && (k->flags & CONFIG_ONCE))
		return fail(w->x, n->line,
			    n->is_block ? "<%s> given twice (first at line %u)"
					: "%s given twice (first at line %u)",
			    n->name, *seen);
	if (!*seen)
		*seen = n->line;
	return 0;
}

static bool takes_value(const struct config_key *k, const struct cfg_node *n)
{
	return !n->is_block && !(k->flags & (CONFIG_IGNORED | CONFIG_EMPTY_OK));
}

/* A block of the schema: its own rows, on the struct at dst. */
static struct config_walk nested(const struct config_walk *w, enum config_block block,
				 const struct cfg_node *b, void *dst)
{
	return (struct config_walk){
	    .x = w->x, .block = block, .in = b->name, .dst = dst, .seen = w->seen};
}

static int walk(struct config_walk *w, const struct cfg_node *b);

static int open_block(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
		      void *dst)
{
	if (!(k->flags & CONFIG_NAMED) && no_argument(w->x, b) < 0)
		return -1;
	if (k->note)
		warning(w->x, b->line, "%s", k->note);
	if (k->parse)
		return k->parse(w, k, b, dst);
	struct config_walk inner = nested(w, k->child, b, dst);
	return walk(&inner, b);
}

/* n's value (or block) by its row k, into dst. */
static int parse_value(struct config_walk *w, const struct config_key *k, const struct cfg_node *n,
		       void *dst)
{
	if (is_block(k))
		return open_block(w, k, n, dst);
	if (k->note)
		warning(w->x, n->line, "%s", k->note);
	if (k->flags & CONFIG_IGNORED)
		return 0;
	if (k->parse)
		return k->parse(w, k, n, dst);
	return parse_kind(w->x, k, n, dst);
}

static int list_full(struct config_walk *w, const struct config_key *k, const struct cfg_node *n)
{
	if (k->what)
		return fail(w->x, n->line, "more than %zu %s", k->cap, k->what);
	return fail(w->x, n->line, "%s: more than %zu values", n->name, k->cap);
}

/* Apply n by its row k: into k's field of w->dst, or onto the end of its list. */
static int apply(struct config_walk *w, const struct config_key *k, const struct cfg_node *n)
{
	char *base = w->dst;
	size_t count = 0;
	if (!k->cap)
		return parse_value(w, k, n, base + k->offset);
	memcpy(&count, base + k->count, sizeof count);
	if (count == k->cap)
		return list_full(w, k, n);
	if (parse_value(w, k, n, base + k->offset + count * k->size) < 0)
		return -1;
	count++;
	memcpy(base + k->count, &count, sizeof count);
	return 0;
}

static bool in_pass(const struct config_walk *w, const struct cfg_node *n)
{
	return w->pass == PASS_ALL || (w->pass == PASS_BLOCKS) == n->is_block;
}

/* One item of a block: find its row, check it, then apply it or keep it. */
static int walk_item(struct config_walk *w, const struct cfg_node *n)
{
	const struct config_key *k = find_key(CONFIG_IN(w->block), n->name);
	if (!k && n->is_block && w->named)
		return w->named(w, n);
	if (!k || is_block(k) != n->is_block)
		return not_here(w, n, k);
	if (once(w, k, n) < 0 || (takes_value(k, n) && need_value(w->x, n) < 0))
		return -1;
	if (w->nodes) {
		w->nodes[row(k)] = n;
		return 0;
	}
	if (k->flags & CONFIG_SELECTOR)
		return 0; /* read before the walk */
	return apply(w, k, n);
}

/* The walker: every item of b (of w->pass) against the rows of w->block. */
static int walk(struct config_walk *w, const struct cfg_node *b)
{
	for (const struct cfg_node *n = b->child; n; n = n->next) {
		if (in_pass(w, n) && walk_item(w, n) < 0)
			return -1;
	}
	return 0;
}

/* After a walk that kept its nodes: apply them in table order. */
static int apply_kept(struct config_walk *w)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (w->nodes[i] && !(keys[i].flags & CONFIG_SELECTOR) &&
		    apply(w, &keys[i], w->nodes[i]) < 0)
			return -1;
	}
	return 0;
}

/* Every CONFIG_REQUIRED row of w->block was given; tag names the block. */
static int check_required(struct config_walk *w, const struct cfg_node *b, const char *tag)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &keys[i];
		if (!(k->blocks & CONFIG_IN(w->block)) || !(k->flags & CONFIG_REQUIRED) ||
		    w->seen[i])
			continue;
		return fail(w->x, b->line, "%s needs %s %s", tag,
			    strchr("aeiou", k->name[0]) ? "an" : "a", k->name);
	}
	return 0;
}

/* The defaults of the rows of blocks (a CONFIG_IN mask) into dst, and of the
 * plain blocks they open that fill a part of dst. */
static void apply_defaults(struct config_walk *w, unsigned blocks, void *dst)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &keys[i];
		char *field = (char *)dst + k->offset;
		if (!(k->blocks & blocks) || k->cap || (k->flags & CONFIG_IGNORED))
			continue;
		if (is_block(k) && !k->parse) {
			apply_defaults(w, CONFIG_IN(k->child), field);
		} else if (k->def) {
			struct cfg_node n = {.name = (char *)k->name, .value = (char *)k->def};
			if (k->parse)
				k->parse(w, k, &n, field);
			else
				parse_kind(w->x, k, &n, field);
		}
	}
}

/* ---- <flow_send>: the original's collector ---- */

struct collector_state {
	uint16_t port;			/* the port key's, else the version's */
	const struct cfg_node *address; /* for the source's message */
};

/* The collector of block b before its keys: the <collector> rows'
 * defaults, and the default version's port in st. */
static void collector_defaults(const struct config_walk *w, const struct cfg_node *b,
			       struct collector_conf *col, struct collector_state *st)
{
	struct config_walk d = nested(w, CONFIG_BLOCK_COLLECTOR, b, col);
	d.state = st;
	memset(col, 0, sizeof *col);
	col->line = b->line;
	apply_defaults(&d, COLLECTOR, col);
}

struct flow_send_args {
	const struct cfg_node *a[3];
	size_t count;
	unsigned extra; /* the line of the fourth */
};

static int flow_send_arg(struct config_walk *w, const struct config_key *k,
			 const struct cfg_node *n, void *dst)
{
	struct flow_send_args *s = w->state;
	(void)k;
	(void)dst;
	if (s->count < 3)
		s->a[s->count] = n;
	else if (s->count == 3)
		s->extra = n->line;
	s->count++;
	return 0;
}

static int bad_count(struct ctx *x, unsigned line, size_t count, bool spaced)
{
	return fail(x, line,
		    "<flow_send> needs exactly three args (source address on this host, collector "
		    "address, collector port), found %zu%s",
		    count, spaced ? "; give each on its own 'args' line" : "");
}

/* The three args of <flow_send>: SOURCE COLLECTOR PORT. */
static int flow_send_collector(struct ctx *x, const struct cfg_node *const a[3],
			       struct collector_conf *col)
{
	uint64_t port = 0;
	if (!parse_u64(val(a[2]), 65535, &port) || port == 0)
		return fail(x, a[2]->line, "args: '" SHOW "' is not a port number from 1 to 65535",
			    val(a[2]));
	if (parse_address(x, a[0], 0, &col->source, &col->sourcelen) < 0 ||
	    parse_address(x, a[1], (uint16_t)port, &col->addr, &col->addrlen) < 0)
		return -1;
	if (col->source.ss_family != col->addr.ss_family)
		return fail(x, a[1]->line,
			    "args: collector " SHOW " and source " SHOW
			    " are not of the same address family",
			    val(a[1]), val(a[0]));
	return 0;
}

static int do_flow_send(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
			void *dst)
{
	struct collector_conf *col = dst;
	struct flow_send_args s = {.count = 0};
	struct collector_state st = {.port = 0};
	struct config_walk inner = nested(w, k->child, b, col);
	bool spaced = false;
	inner.state = &s;
	if (walk(&inner, b) < 0)
		return -1;
	for (size_t i = 0; i < s.count && i < 3; i++)
		spaced |= strpbrk(val(s.a[i]), " \t") != NULL;
	if (s.count != 3)
		return bad_count(w->x, s.count > 3 ? s.extra : b->line, s.count, spaced);
	collector_defaults(w, b, col, &st);
	strcpy(col->name, "flow_send");
	col->version = NFV5_VERSION; /* <flow_send> is NetFlow v5 */
	return flow_send_collector(w->x, s.a, col);
}

/* ---- <collector NAME>: any number, each with its own version ---- */

static const struct version *version_of(int v)
{
	for (size_t i = 0; i < NVERSIONS; i++) {
		if (versions[i].version == v)
			return &versions[i];
	}
	return &versions[NVERSIONS - 1];
}

static const struct version *version_named(const char *s)
{
	for (size_t i = 0; i < NVERSIONS; i++) {
		if (strcmp(versions[i].name, s) == 0 ||
		    (versions[i].alias && strcasecmp(versions[i].alias, s) == 0))
			return &versions[i];
	}
	return NULL;
}

/* "5, 9 or 10 (IPFIX)": every version; or "9 and 10": those with caps. */
static const char *version_list(char *buf, size_t len, unsigned caps, const char *last)
{
	char shown[NVERSIONS][24];
	const char *words[NVERSIONS];
	size_t n = 0;
	for (size_t i = 0; i < NVERSIONS; i++) {
		const struct version *v = &versions[i];
		size_t at = (size_t)snprintf(shown[n], sizeof shown[n], "%s", v->name);
		if ((v->caps & caps) != caps)
			continue;
		if (!caps && v->alias && at + 3 + strlen(v->alias) < sizeof shown[n]) {
			shown[n][at++] = ' ';
			shown[n][at++] = '(';
			for (const char *a = v->alias; *a; a++)
				shown[n][at++] = (char)toupper((unsigned char)*a);
			shown[n][at++] = ')';
			shown[n][at] = '\0';
		}
		words[n] = shown[n];
		n++;
	}
	return join(buf, len, words, n, last);
}

static int collector_version(struct config_walk *w, const struct config_key *k,
			     const struct cfg_node *n, void *dst)
{
	char list[64];
	const struct version *v = version_named(val(n));
	struct collector_state *st = w->state;
	(void)k;
	if (!v)
		return fail(w->x, n->line, "%s: '" SHOW "' is not %s", n->name, val(n),
			    version_list(list, sizeof list, 0, " or "));
	memcpy(dst, &v->version, sizeof v->version);
	st->port = v->port;
	return 0;
}

static int collector_port(struct config_walk *w, const struct config_key *k,
			  const struct cfg_node *n, void *dst)
{
	uint64_t port = 0;
	struct collector_state *st = w->state;
	(void)dst;
	if (number(w->x, n, k->min, k->max, &port) < 0)
		return -1;
	st->port = (uint16_t)port;
	return 0;
}

static int collector_address(struct config_walk *w, const struct config_key *k,
			     const struct cfg_node *n, void *dst)
{
	struct collector_conf *col = w->dst;
	struct collector_state *st = w->state;
	(void)k;
	(void)dst;
	if (parse_address(w->x, n, st->port, &col->addr, &col->addrlen) < 0)
		return -1;
	st->address = n;
	return 0;
}

static int collector_source(struct config_walk *w, const struct config_key *k,
			    const struct cfg_node *n, void *dst)
{
	struct collector_conf *col = w->dst;
	struct collector_state *st = w->state;
	(void)k;
	(void)dst;
	if (parse_address(w->x, n, 0, &col->source, &col->sourcelen) < 0)
		return -1;
	if (st->address && col->source.ss_family != col->addr.ss_family)
		return fail(w->x, n->line,
			    "source " SHOW " and address " SHOW
			    " are not of the same address family",
			    val(n), val(st->address));
	return 0;
}

/* The kept keys that the collector's version cannot send. */
static int check_caps(struct config_walk *w, int version)
{
	char list[64];
	unsigned caps = version_of(version)->caps;
	for (size_t i = 0; i < NKEYS; i++) {
		unsigned needs = keys[i].flags & CONFIG_CAPS;
		if (!w->nodes[i] || (needs & caps) == needs)
			continue;
		return fail(w->x, w->nodes[i]->line, "%s applies to versions %s, not %s",
			    keys[i].name, version_list(list, sizeof list, needs, " and "),
			    version_of(version)->name);
	}
	return 0;
}

/* RFC 7011 §8.4 and RFC 3954 §9: over UDP the templates must be sent again
 * from time to time, or a collector that restarts cannot decode anything
 * after. Both refresh keys 0 would never send them again. */
static int check_refresh(struct config_walk *w, const struct collector_conf *col)
{
	const struct cfg_node *s = w->nodes[row(find_key(COLLECTOR, "template_refresh"))];
	const struct cfg_node *p = w->nodes[row(find_key(COLLECTOR, "template_refresh_packets"))];
	unsigned line = col->line;
	if (col->version == NFV5_VERSION || col->refresh_s || col->refresh_pkts)
		return 0;
	if (s && s->line > line)
		line = s->line;
	if (p && p->line > line)
		line = p->line;
	return fail(w->x, line,
		    "template_refresh 0 and template_refresh_packets 0: the templates would never "
		    "be sent again, so a collector that restarts could decode nothing more (RFC "
		    "7011 §8.4); give one of them a value above 0");
}

static int collector_name(struct ctx *x, const struct cfg_node *b, struct collector_conf *col)
{
	if (!b->value || b->value[0] == '\0')
		return fail(x, b->line, "<collector> needs a name: <collector NAME>");
	for (size_t i = 0; i < x->c->ncollectors; i++)
		if (strcmp(x->c->collectors[i].name, b->value) == 0)
			return fail(x, b->line,
				    "collector '" SHOW "' given twice (first at line %u)", b->value,
				    x->c->collectors[i].line);
	return parse_string(x, b, col->name, sizeof col->name);
}

/* Its keys are kept, then read: the version first, which decides the rest. */
static int do_collector(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
			void *dst)
{
	struct collector_conf *col = dst;
	const struct cfg_node *nodes[NKEYS] = {NULL};
	unsigned seen[NKEYS] = {0};
	struct collector_state st = {.port = 0};
	struct config_walk c = nested(w, k->child, b, col);
	const struct config_key *sel = selector(CONFIG_IN(k->child));
	char tag[128];
	c.seen = seen;
	c.nodes = nodes;
	c.state = &st;
	collector_defaults(w, b, col, &st);
	if (collector_name(w->x, b, col) < 0 || walk(&c, b) < 0)
		return -1;
	if (nodes[row(sel)] && apply(&c, sel, nodes[row(sel)]) < 0)
		return -1;
	snprintf(tag, sizeof tag, "<collector " SHOW ">", val(b));
	if (check_caps(&c, col->version) < 0 || check_required(&c, b, tag) < 0)
		return -1;
	if (apply_kept(&c) < 0)
		return -1;
	return check_refresh(&c, col);
}

/* Every collector's address and port, so that the filter can leave out
 * nfflowd's own export traffic. */
static void filter_collectors(struct nf_config *c)
{
	struct filter *f = &c->filter;
	for (size_t i = 0; i < c->ncollectors && f->nself < sizeof f->self / sizeof f->self[0];
	     i++) {
		struct filter_self *s = &f->self[f->nself++];
		memset(s, 0, sizeof *s);
		s->family = filter_endpoint(&c->collectors[i].addr, s->addr, &s->port);
	}
}

/* ---- <ptee><conf>: the Log::Dispatch dispatchers ---- */

struct dispatcher {
	char name[CONFIG_NAME_MAX];
	unsigned line;	/* of the dispatchers key naming it */
	unsigned block; /* line of its block, 0 until seen */
};

struct dispatch_list {
	struct dispatcher d[CONFIG_MAX_COPIES];
	size_t n;
};

static void copy_defaults(struct copy_conf *cp, enum copy_kind kind, const char *name)
{
	struct ctx x = {.file = ""};
	struct config_walk w = {.x = &x, .dst = cp, .seen = x.seen};
	memset(cp, 0, sizeof *cp);
	apply_defaults(&w, DISPATCHER, cp);
	snprintf(cp->name, sizeof cp->name, "%s", name);
	cp->kind = kind;
}

/* Its first class key, read before the rest: it decides their rows. */
static int dispatcher_class(struct config_walk *w, const struct cfg_node *b, enum copy_kind *kind)
{
	const struct config_key *sel = selector(DISPATCHER);
	char list[256];
	for (const struct cfg_node *n = b->child; n; n = n->next) {
		if (!n->is_block && strcmp(n->name, sel->name) == 0)
			return parse_kind(w->x, sel, n, kind);
	}
	return fail(w->x, b->line, "<%s> has no %s: give %s", b->name, sel->name,
		    name_list(list, sizeof list, sel->names));
}

static int do_dispatcher(struct config_walk *w, const struct cfg_node *b, struct copy_conf *cp)
{
	enum copy_kind kind = COPY_SCREEN;
	unsigned seen[NKEYS] = {0};
	char tag[CONFIG_NAME_MAX + 64];
	if (no_argument(w->x, b) < 0 || dispatcher_class(w, b, &kind) < 0)
		return -1;
	copy_defaults(cp, kind, b->name);
	struct config_walk d = nested(w, class_blocks[kind], b, cp);
	d.cls = name_of(classes, (int)kind);
	d.seen = seen;
	snprintf(tag, sizeof tag, "<%s> (%s)", b->name, d.cls);
	if (walk(&d, b) < 0 || check_required(&d, b, tag) < 0)
		return -1;
	if (cp->min_level < LOG_INFO || cp->max_level > LOG_INFO)
		warning(w->x, b->line,
			"<%s> takes levels %s to %s, but flow records are written at info: "
			"this copy receives nothing",
			b->name, name_of(levels, cp->min_level), name_of(levels, cp->max_level));
	return 0;
}

static int add_dispatcher(struct ctx *x, struct dispatch_list *l, const char *s, size_t len,
			  unsigned line)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strlen(l->d[i].name) == len && memcmp(l->d[i].name, s, len) == 0)
			return fail(x, line, "dispatcher '%.*s' listed twice (first at line %u)",
				    (int)len, s, l->d[i].line);
	}
	if (l->n == CONFIG_MAX_COPIES)
		return fail(x, line, "more than %d dispatchers", CONFIG_MAX_COPIES);
	if (len >= CONFIG_NAME_MAX)
		return fail(x, line, "dispatcher name '%.40s...' is longer than %d bytes", s,
			    CONFIG_NAME_MAX - 1);
	memcpy(l->d[l->n].name, s, len);
	l->d[l->n].name[len] = '\0';
	l->d[l->n].line = line;
	l->d[l->n].block = 0;
	l->n++;
	return 0;
}

/* "dispatchers a b": each whitespace-separated word names a dispatcher. */
static int conf_dispatchers(struct config_walk *w, const struct config_key *k,
			    const struct cfg_node *n, void *dst)
{
	const char *s = val(n);
	(void)k;
	(void)dst;
	while (*s) {
		size_t skip = strspn(s, " \t\r\n\v\f");
		s += skip;
		size_t len = strcspn(s, " \t\r\n\v\f");
		if (len && add_dispatcher(w->x, w->state, s, len, n->line) < 0)
			return -1;
		s += len;
	}
	return 0;
}

/* A block in <conf>: the dispatcher of that name. */
static int conf_block(struct config_walk *w, const struct cfg_node *b)
{
	struct dispatch_list *l = w->state;
	struct nf_config *c = w->dst;
	size_t i = 0;
	while (i < l->n && strcmp(l->d[i].name, b->name) != 0)
		i++;
	if (i == l->n) {
		warning(w->x, b->line, "<%s> is not listed in dispatchers: ignored", b->name);
		return 0;
	}
	if (l->d[i].block)
		return fail(w->x, b->line, "<%s> given twice (first at line %u)", b->name,
			    l->d[i].block);
	l->d[i].block = b->line;
	return do_dispatcher(w, b, &c->copies[i]);
}

/* Its keys first (they list the dispatchers), then its blocks. */
static int do_conf(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
		   void *dst)
{
	struct nf_config *c = dst;
	struct dispatch_list l = {.n = 0};
	struct config_walk inner = nested(w, k->child, b, dst);
	inner.state = &l;
	inner.pass = PASS_KEYS;
	if (walk(&inner, b) < 0)
		return -1;
	inner.pass = PASS_BLOCKS;
	inner.named = conf_block;
	if (walk(&inner, b) < 0)
		return -1;
	for (size_t i = 0; i < l.n; i++) {
		if (!l.d[i].block)
			return fail(w->x, l.d[i].line,
				    "dispatcher '%s' has no <%s> block in <conf>", l.d[i].name,
				    l.d[i].name);
	}
	c->ncopies = l.n;
	return 0;
}

static int do_ptee(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
		   void *dst)
{
	struct nf_config *c = dst;
	struct config_walk inner = nested(w, k->child, b, dst);
	c->ncopies = 0;
	if (walk(&inner, b) < 0)
		return -1;
	if (!b->child) /* the walk let nothing but <conf> through */
		warning(w->x, b->line, "<ptee> has no <conf>: no local copies");
	return 0;
}

/* ---- <natlog> ---- */

/* Its keys, then the file it names as a file copy with a File dispatcher's
 * defaults: appended to, 0640. */
static int do_natlog(struct config_walk *w, const struct config_key *k, const struct cfg_node *b,
		     void *dst)
{
	struct natlog_conf *nl = dst;
	struct config_walk inner = nested(w, k->child, b, dst);

	memset(nl, 0, sizeof *nl);
	apply_defaults(&inner, CONFIG_IN(k->child), nl);
	copy_defaults(&nl->file, COPY_FILE, "natlog");
	if (walk(&inner, b) < 0 || check_required(&inner, b, "<natlog>") < 0)
		return -1;
	nl->enabled = true;
	return 0;
}

/* ---- the whole file ---- */

/* See config.h: the schema's defaults, and the original's two copies. */
void config_defaults(struct nf_config *c)
{
	struct ctx x = {.c = c, .file = ""};
	struct config_walk w = {.x = &x, .block = CONFIG_BLOCK_TOP, .dst = c, .seen = x.seen};
	memset(c, 0, sizeof *c);
	apply_defaults(&w, TOP, c);
	copy_defaults(&c->copies[0], COPY_SCREEN, "screen");
	c->copies[0].to_stderr = false;
	copy_defaults(&c->copies[1], COPY_SYSLOG, "syslog");
	c->copies[1].facility = LOG_LOCAL6;
	c->ncopies = 2;
}

static int apply_tree(struct ctx *x, const struct cfg_node *root)
{
	struct config_walk w = {.x = x, .block = CONFIG_BLOCK_TOP, .dst = x->c, .seen = x->seen};
	if (walk(&w, root) < 0)
		return -1;
	filter_collectors(x->c);
	if (x->c->ncollectors == 0 && !x->c->natlog.enabled)
		return fail(x, 0,
			    "no collector configured: give <flow_send> args SOURCE COLLECTOR PORT, "
			    "a <collector NAME> block, or a <natlog> block");
	return 0;
}

/* See config.h: all or nothing, on a copy of c. */
int config_from_tree(const struct cfg_node *root, struct nf_config *c, char *err, size_t errlen,
		     config_warn_fn warn, void *ctx)
{
	struct ctx x = {.file = root->file ? root->file : "",
			.err = err,
			.errlen = errlen,
			.warn = warn,
			.wctx = ctx};
	if (err && errlen)
		err[0] = '\0';
	x.c = malloc(sizeof *x.c);
	if (!x.c)
		return fail(&x, 0, "out of memory");
	*x.c = *c;
	int rc = apply_tree(&x, root);
	if (rc == 0)
		*c = *x.c;
	free(x.c);
	return rc;
}

static void load_error(char *err, size_t errlen, const char *path, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, msg);
}

/* Open path for reading without blocking (a FIFO or a device would hang
 * the reader) and refuse anything but a regular file. Returns the stream,
 * or NULL with a message in err. */
static FILE *open_regular(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		load_error(err, errlen, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		load_error(err, errlen, path, "not a regular file");
		close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		load_error(err, errlen, path, strerror(errno));
		close(fd);
	}
	return f;
}

/* See config.h: at most CONFIG_MAX_FILE bytes of a regular file. */
char *config_read(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = open_regular(path, err, errlen);
	if (!f)
		return NULL;
	char *buf = malloc(CONFIG_MAX_FILE + 1);
	size_t n = buf ? fread(buf, 1, CONFIG_MAX_FILE + 1, f) : 0;
	int e = errno;
	const char *msg = NULL;
	if (!buf)
		msg = "out of memory";
	else if (ferror(f))
		msg = strerror(e);
	else if (n > CONFIG_MAX_FILE)
		msg = "larger than 1 MiB";
	fclose(f);
	if (msg) {
		load_error(err, errlen, path, msg);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* See config.h: defaults, then the text, replacing c only on success. */
int config_parse(const char *text, size_t len, const char *name, struct nf_config *c, char *err,
		 size_t errlen, config_warn_fn warn, void *ctx)
{
	struct cfg_node *root;
	if (len > CONFIG_MAX_FILE) {
		load_error(err, errlen, name, "larger than 1 MiB");
		return -1;
	}
	if (cfgfile_parse(text, len, name, &root, err, errlen) < 0)
		return -1;
	struct nf_config *fresh = malloc(sizeof *fresh);
	if (!fresh) {
		cfgfile_free(root);
		load_error(err, errlen, name, "out of memory");
		return -1;
	}
	config_defaults(fresh);
	int rc = config_from_tree(root, fresh, err, errlen, warn, ctx);
	if (rc == 0)
		*c = *fresh;
	free(fresh);
	cfgfile_free(root);
	return rc;
}

/* See config.h: config_load into a malloc'd configuration. */
struct nf_config *config_load_new(const char *path, char *err, size_t errlen, config_warn_fn warn,
				  void *ctx)
{
	struct nf_config *cfg = malloc(sizeof *cfg);

	if (!cfg) {
		load_error(err, errlen, path, "out of memory");
		return NULL;
	}
	if (config_load(path, cfg, err, errlen, warn, ctx) != 0) {
		free(cfg);
		return NULL;
	}
	return cfg;
}

/* See config.h: config_read, then config_parse. */
int config_load(const char *path, struct nf_config *c, char *err, size_t errlen,
		config_warn_fn warn, void *ctx)
{
	size_t len;
	char *text = config_read(path, &len, err, errlen);
	if (!text)
		return -1;
	int rc = config_parse(text, len, path, c, err, errlen, warn, ctx);
	free(text);
	return rc;
}
