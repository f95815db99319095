/* config: the typed configuration. It walks the cfgfile tree once, checks
 * every key against a table of what each block accepts, and builds a fresh
 * nf_config that replaces the caller's only when the whole file is good. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#define CONFIG_MAX_FILE (1024 * 1024)
#define SHOW		"%.80s" /* how a user's value is quoted in messages */

/* Keys that may be given once; the line of the first is kept. */
enum slot {
	SLOT_TTL,
	SLOT_FLUSH,
	SLOT_ENGINE_TYPE,
	SLOT_ENGINE_ID,
	SLOT_SYSCTL,
	SLOT_RCVBUF,
	SLOT_RESYNC,
	SLOT_LOG_FACILITY,
	SLOT_RELIABLE,
	SLOT_ACTIVE,
	SLOT_FILTER,
	SLOT_USER,
	SLOT_PIDFILE,
	SLOT_CONTROL,
	SLOT_FLOW_SEND,
	SLOT_PTEE,
	SLOT_COUNT
};

struct ctx {
	struct nf_config *c;
	const char *file;
	char *err;
	size_t errlen;
	config_warn_fn warn;
	void *wctx;
	unsigned seen[SLOT_COUNT];
};

struct name_value {
	const char *name;
	int value;
};

static const struct name_value levels[] = {
    {"debug", LOG_DEBUG},  {"info", LOG_INFO},	 {"notice", LOG_NOTICE},   {"warning", LOG_WARNING},
    {"warn", LOG_WARNING}, {"error", LOG_ERR},	 {"err", LOG_ERR},	   {"critical", LOG_CRIT},
    {"crit", LOG_CRIT},	   {"alert", LOG_ALERT}, {"emergency", LOG_EMERG}, {"emerg", LOG_EMERG},
};

static const struct name_value facilities[] = {
    {"kern", LOG_KERN},	    {"user", LOG_USER},		{"mail", LOG_MAIL},
    {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},		{"syslog", LOG_SYSLOG},
    {"lpr", LOG_LPR},	    {"news", LOG_NEWS},		{"uucp", LOG_UUCP},
    {"cron", LOG_CRON},	    {"authpriv", LOG_AUTHPRIV}, {"ftp", LOG_FTP},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},	{"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},	{"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

static int lookup(const struct name_value *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(t[i].name, name) == 0)
			return t[i].value;
	}
	return -1;
}

int config_level(const char *name)
{
	/* Log::Dispatch numbers levels 0 (debug) to 7 (emergency), the reverse
	 * of syslog(3). */
	if (!name)
		return -1;
	if (name[0] >= '0' && name[0] <= '7' && name[1] == '\0')
		return LOG_DEBUG - (name[0] - '0');
	return lookup(levels, sizeof levels / sizeof levels[0], name);
}

int config_facility(const char *name)
{
	if (!name)
		return -1;
	return lookup(facilities, sizeof facilities / sizeof facilities[0], name);
}

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

/* A key that may appear once: remember its line, or fail naming both. */
static int once(struct ctx *x, const struct cfg_node *n, unsigned *seen)
{
	if (*seen)
		return fail(x, n->line, "%s given twice (first at line %u)", n->name, *seen);
	*seen = n->line;
	return 0;
}

static int once_block(struct ctx *x, const struct cfg_node *n, unsigned *seen)
{
	if (*seen)
		return fail(x, n->line, "<%s> given twice (first at line %u)", n->name, *seen);
	*seen = n->line;
	return 0;
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

static int number(struct ctx *x, const struct cfg_node *n, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (need_value(x, n) < 0)
		return -1;
	if (!parse_u64(n->value, hi, out) || *out < lo)
		return fail(x, n->line, "%s: '" SHOW "' is not a number from %llu to %llu", n->name,
			    n->value, (unsigned long long)lo, (unsigned long long)hi);
	return 0;
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

static int flag(struct ctx *x, const struct cfg_node *n, bool *out)
{
	int b = boolean(val(n));
	if (b < 0)
		return fail(x, n->line,
			    "%s: '" SHOW "' is not a boolean (yes/no, on/off, true/false, 1/0)",
			    n->name, val(n));
	*out = b == 1;
	return 0;
}

static int copy_name(struct ctx *x, const struct cfg_node *n, char *dst, size_t len)
{
	if (need_value(x, n) < 0)
		return -1;
	if (strlen(n->value) >= len)
		return fail(x, n->line, "%s: '" SHOW "' is longer than %zu bytes", n->name,
			    n->value, len - 1);
	strcpy(dst, n->value);
	return 0;
}

static int unknown(struct ctx *x, const struct cfg_node *n, const char *in)
{
	if (n->is_block)
		return fail(x, n->line, "unknown block <%s>%s%s%s", n->name, in ? " in <" : "",
			    in ? in : "", in ? ">" : "");
	return fail(x, n->line, "unknown key '%s'%s%s%s", n->name, in ? " in <" : "", in ? in : "",
		    in ? ">" : "");
}

static int no_argument(struct ctx *x, const struct cfg_node *b)
{
	if (b->value)
		return fail(x, b->line, "<%s " SHOW ">: <%s> takes no name", b->name, b->value,
			    b->name);
	return 0;
}

/* ---- <flow_send>: the collector ---- */

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

static int bad_count(struct ctx *x, unsigned line, size_t count, bool spaced)
{
	return fail(x, line,
		    "<flow_send> needs exactly three args (source address on this host, collector "
		    "address, collector port), found %zu%s",
		    count, spaced ? "; give each on its own 'args' line" : "");
}

/* The three args of <flow_send>: SOURCE COLLECTOR PORT. */
static int collector_args(struct ctx *x, const struct cfg_node *b, const struct cfg_node *a[3])
{
	struct collector_conf *col = &x->c->collectors[x->c->ncollectors];
	uint64_t port = 0;
	if (!parse_u64(val(a[2]), 65535, &port) || port == 0)
		return fail(x, a[2]->line, "args: '" SHOW "' is not a port number from 1 to 65535",
			    val(a[2]));
	for (int i = 0; i < 2; i++) {
		bool ok = i == 0 ? parse_addr(val(a[0]), 0, &col->source, &col->sourcelen)
				 : parse_addr(val(a[1]), (uint16_t)port, &col->addr, &col->addrlen);
		if (!ok)
			return fail(x, a[i]->line, "args: '" SHOW "' is not an IP address",
				    val(a[i]));
	}
	if (col->source.ss_family != col->addr.ss_family)
		return fail(x, a[1]->line,
			    "args: collector " SHOW " and source " SHOW
			    " are not of the same address family",
			    val(a[1]), val(a[0]));
	strcpy(col->name, "flow_send");
	col->version = 5;
	col->line = b->line;
	x->c->ncollectors++;
	return 0;
}

static int flow_send_key(struct ctx *x, const struct cfg_node *n, const struct cfg_node *a[3],
			 size_t *count, unsigned *extra)
{
	if (n->is_block)
		return unknown(x, n, "flow_send");
	if (strcmp(n->name, "args") == 0) {
		if (*count < 3)
			a[*count] = n;
		else if (*count == 3)
			*extra = n->line;
		(*count)++;
		return 0;
	}
	if (strcmp(n->name, "progname") == 0 || strcmp(n->name, "format") == 0) {
		warning(x, n->line,
			"%s in <flow_send> is no longer used: nfflowd sends NetFlow itself",
			n->name);
		return 0;
	}
	return unknown(x, n, "flow_send");
}

static int do_flow_send(struct ctx *x, const struct cfg_node *b)
{
	if (once_block(x, b, &x->seen[SLOT_FLOW_SEND]) < 0 || no_argument(x, b) < 0)
		return -1;
	const struct cfg_node *a[3] = {NULL, NULL, NULL};
	size_t count = 0;
	unsigned extra = 0;
	bool spaced = false;
	for (const struct cfg_node *n = b->child; n; n = n->next) {
		if (flow_send_key(x, n, a, &count, &extra) < 0)
			return -1;
	}
	for (size_t i = 0; i < count && i < 3; i++)
		spaced |= strpbrk(val(a[i]), " \t") != NULL;
	if (count != 3)
		return bad_count(x, count > 3 ? extra : b->line, count, spaced);
	return collector_args(x, b, a);
}

/* ---- <collector NAME>: any number, each with its own version ---- */

enum ckey {
	CK_ADDRESS,
	CK_PORT,
	CK_VERSION,
	CK_SOURCE,
	CK_MTU,
	CK_REFRESH,
	CK_REFRESH_PKTS,
	CK_DOMAIN,
	CK_NAT_EVENTS,
	CK_NAT_CODES,
	CK_COUNT
};

static const char *const collector_keys[CK_COUNT] = {"address",
						     "port",
						     "version",
						     "source",
						     "mtu",
						     "template_refresh",
						     "template_refresh_packets",
						     "observation_domain",
						     "nat_events",
						     "nat_event_codes"};

/* The keys of one <collector>, each at most once, before they are checked. */
struct collector_keys {
	const struct cfg_node *k[CK_COUNT];
};

static int collector_key(struct ctx *x, const struct cfg_node *n, struct collector_keys *ck)
{
	if (n->is_block)
		return unknown(x, n, "collector");
	for (int i = 0; i < CK_COUNT; i++) {
		if (strcmp(n->name, collector_keys[i]) != 0)
			continue;
		if (ck->k[i])
			return fail(x, n->line, "%s given twice (first at line %u)", n->name,
				    ck->k[i]->line);
		ck->k[i] = n;
		return need_value(x, n);
	}
	return unknown(x, n, "collector");
}

static int collector_version(struct ctx *x, const struct collector_keys *ck,
			     struct collector_conf *col)
{
	const struct cfg_node *n = ck->k[CK_VERSION];
	col->version = 10;
	if (n && strcmp(n->value, "5") != 0 && strcmp(n->value, "9") != 0 &&
	    strcmp(n->value, "10") != 0 && strcasecmp(n->value, "ipfix") != 0)
		return fail(x, n->line, "version: '" SHOW "' is not 5, 9 or 10 (IPFIX)", n->value);
	if (n && (n->value[0] == '5' || n->value[0] == '9'))
		col->version = n->value[0] - '0';
	if (col->version != 5)
		return 0;
	for (int i = CK_MTU; i < CK_COUNT; i++)
		if (ck->k[i])
			return fail(x, ck->k[i]->line, "%s applies to versions 9 and 10, not 5",
				    collector_keys[i]);
	return 0;
}

static int collector_addresses(struct ctx *x, const struct cfg_node *b,
			       const struct collector_keys *ck, struct collector_conf *col)
{
	uint64_t port = col->version == 10 ? 4739 : 2055;
	const struct cfg_node *a = ck->k[CK_ADDRESS], *src = ck->k[CK_SOURCE];
	if (!a)
		return fail(x, b->line, "<collector " SHOW "> needs an address", val(b));
	if (ck->k[CK_PORT] && number(x, ck->k[CK_PORT], 1, 65535, &port) < 0)
		return -1;
	if (!parse_addr(a->value, (uint16_t)port, &col->addr, &col->addrlen))
		return fail(x, a->line, "address: '" SHOW "' is not an IP address", a->value);
	if (src && !parse_addr(src->value, 0, &col->source, &col->sourcelen))
		return fail(x, src->line, "source: '" SHOW "' is not an IP address", src->value);
	if (src && col->source.ss_family != col->addr.ss_family)
		return fail(x, src->line,
			    "source " SHOW " and address " SHOW
			    " are not of the same address family",
			    src->value, a->value);
	return 0;
}

static int nat_codes(struct ctx *x, const struct cfg_node *n, struct collector_conf *col)
{
	col->legacy_nat_events = n && strcasecmp(n->value, "legacy") == 0;
	if (n && !col->legacy_nat_events && strcasecmp(n->value, "iana") != 0)
		return fail(x, n->line, "nat_event_codes: '" SHOW "' is not iana or legacy",
			    n->value);
	return 0;
}

static int collector_options(struct ctx *x, const struct collector_keys *ck,
			     struct collector_conf *col)
{
	uint64_t v;
	col->mtu = 1400;
	col->refresh_s = 60;
	col->refresh_pkts = 20;
	col->nat_events = true;
	if (ck->k[CK_MTU] && number(x, ck->k[CK_MTU], 512, 9000, &v) < 0)
		return -1;
	col->mtu = ck->k[CK_MTU] ? (unsigned)v : col->mtu;
	if (ck->k[CK_REFRESH] && number(x, ck->k[CK_REFRESH], 0, 86400, &v) < 0)
		return -1;
	col->refresh_s = ck->k[CK_REFRESH] ? (unsigned)v : col->refresh_s;
	if (ck->k[CK_REFRESH_PKTS] && number(x, ck->k[CK_REFRESH_PKTS], 0, 1000000, &v) < 0)
		return -1;
	col->refresh_pkts = ck->k[CK_REFRESH_PKTS] ? (unsigned)v : col->refresh_pkts;
	if (ck->k[CK_DOMAIN] && number(x, ck->k[CK_DOMAIN], 0, UINT32_MAX, &v) < 0)
		return -1;
	col->domain = ck->k[CK_DOMAIN] ? (uint32_t)v : 0;
	if (ck->k[CK_NAT_EVENTS] && flag(x, ck->k[CK_NAT_EVENTS], &col->nat_events) < 0)
		return -1;
	return nat_codes(x, ck->k[CK_NAT_CODES], col);
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
	return copy_name(x, b, col->name, sizeof col->name);
}

static int do_collector(struct ctx *x, const struct cfg_node *b)
{
	struct collector_keys ck = {{NULL}};
	if (x->c->ncollectors == CONFIG_MAX_COLLECTORS)
		return fail(x, b->line, "more than %d collectors", CONFIG_MAX_COLLECTORS);
	struct collector_conf *col = &x->c->collectors[x->c->ncollectors];
	memset(col, 0, sizeof *col);
	col->line = b->line;
	if (collector_name(x, b, col) < 0)
		return -1;
	for (const struct cfg_node *n = b->child; n; n = n->next)
		if (collector_key(x, n, &ck) < 0)
			return -1;
	if (collector_version(x, &ck, col) < 0 || collector_addresses(x, b, &ck, col) < 0 ||
	    collector_options(x, &ck, col) < 0)
		return -1;
	x->c->ncollectors++;
	return 0;
}

/* ---- <filter>: which connections are exported ---- */

static int filter_net(struct ctx *x, const struct cfg_node *n, struct filter_net *list,
		      size_t *count)
{
	if (*count == FILTER_MAX)
		return fail(x, n->line, "%s: more than %d values", n->name, FILTER_MAX);
	if (filter_parse_net(val(n), &list[*count]) != 0)
		return fail(x, n->line, "%s: '" SHOW "' is not an address or network (ADDR/PREFIX)",
			    n->name, val(n));
	(*count)++;
	return 0;
}

static int filter_proto(struct ctx *x, const struct cfg_node *n, struct filter *f)
{
	static const struct name_value protos[] = {
	    {"icmp", 1}, {"tcp", 6},	 {"udp", 17},	{"gre", 47},	  {"esp", 50},
	    {"ah", 51},	 {"icmpv6", 58}, {"sctp", 132}, {"udplite", 136}, {"dccp", 33}};
	int p = lookup(protos, sizeof protos / sizeof protos[0], val(n));
	uint64_t v = 0;
	if (f->nprotos == FILTER_MAX)
		return fail(x, n->line, "protocol: more than %d values", FILTER_MAX);
	if (p < 0 && !parse_u64(val(n), 255, &v))
		return fail(x, n->line, "protocol: '" SHOW "' is not a protocol name or number",
			    val(n));
	f->protos[f->nprotos++] = (uint8_t)(p < 0 ? (int)v : p);
	return 0;
}

static int filter_u16(struct ctx *x, const struct cfg_node *n, uint16_t *list, size_t *count,
		      uint64_t lo)
{
	uint64_t v = 0;
	if (*count == FILTER_MAX)
		return fail(x, n->line, "%s: more than %d values", n->name, FILTER_MAX);
	if (number(x, n, lo, 65535, &v) < 0)
		return -1;
	list[(*count)++] = (uint16_t)v;
	return 0;
}

/* A mark: VALUE or VALUE/MASK, decimal or 0x hexadecimal. */
static int filter_mark(struct ctx *x, const struct cfg_node *n, struct filter *f)
{
	char *end;
	const char *s = val(n);
	struct filter_mark m = {.mask = UINT32_MAX};
	unsigned long long v = strtoull(s, &end, 0);
	if (f->nmarks == FILTER_MAX)
		return fail(x, n->line, "mark: more than %d values", FILTER_MAX);
	bool ok = s[0] >= '0' && s[0] <= '9' && v <= UINT32_MAX;
	if (ok && *end == '/') {
		s = end + 1;
		unsigned long long mk = strtoull(s, &end, 0);
		ok = s[0] >= '0' && s[0] <= '9' && mk <= UINT32_MAX;
		m.mask = (uint32_t)mk;
	}
	if (!ok || *end)
		return fail(x, n->line, "mark: '" SHOW "' is not VALUE or VALUE/MASK", val(n));
	m.value = (uint32_t)v & m.mask;
	f->marks[f->nmarks++] = m;
	return 0;
}

static int filter_key(struct ctx *x, const struct cfg_node *n, struct filter *f)
{
	const char *k = n->name;
	if (n->is_block)
		return unknown(x, n, "filter");
	if (need_value(x, n) < 0)
		return -1;
	if (strcmp(k, "address") == 0)
		return filter_net(x, n, f->any, &f->nany);
	if (strcmp(k, "original_address") == 0)
		return filter_net(x, n, f->orig, &f->norig);
	if (strcmp(k, "translated_address") == 0)
		return filter_net(x, n, f->xlat, &f->nxlat);
	if (strcmp(k, "protocol") == 0)
		return filter_proto(x, n, f);
	if (strcmp(k, "port") == 0)
		return filter_u16(x, n, f->ports, &f->nports, 1);
	if (strcmp(k, "zone") == 0)
		return filter_u16(x, n, f->zones, &f->nzones, 0);
	if (strcmp(k, "mark") == 0)
		return filter_mark(x, n, f);
	if (strcmp(k, "nat_only") == 0)
		return flag(x, n, &f->nat_only);
	if (strcmp(k, "export_self") == 0)
		return flag(x, n, &f->export_self);
	return unknown(x, n, "filter");
}

static int do_filter(struct ctx *x, const struct cfg_node *b)
{
	if (once_block(x, b, &x->seen[SLOT_FILTER]) < 0 || no_argument(x, b) < 0)
		return -1;
	for (const struct cfg_node *n = b->child; n; n = n->next)
		if (filter_key(x, n, &x->c->filter) < 0)
			return -1;
	return 0;
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

/* ---- <ct2ft>, and the helper programs' blocks ---- */

static int do_ct2ft(struct ctx *x, const struct cfg_node *b)
{
	if (no_argument(x, b) < 0)
		return -1;
	for (const struct cfg_node *n = b->child; n; n = n->next) {
		uint64_t v = 0;
		if (n->is_block || strcmp(n->name, "ttl") != 0)
			return unknown(x, n, "ct2ft");
		if (once(x, n, &x->seen[SLOT_TTL]) < 0 || number(x, n, 1, 31536000, &v) < 0)
			return -1;
		x->c->ttl = (unsigned)v;
	}
	return 0;
}

/* A block of the original's helper programs: its keys are checked and
 * ignored. keys is a NULL-terminated list. */
static int helper_block(struct ctx *x, const struct cfg_node *b, const char *const *keys,
			const char *why)
{
	if (no_argument(x, b) < 0)
		return -1;
	warning(x, b->line, "<%s> is no longer used: %s", b->name, why);
	for (const struct cfg_node *n = b->child; n; n = n->next) {
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], n->name) != 0)
			i++;
		if (n->is_block || !keys[i])
			return unknown(x, n, b->name);
	}
	return 0;
}

static int do_conntrack(struct ctx *x, const struct cfg_node *b)
{
	static const char *const keys[] = {"progname", "init_format", "format", NULL};
	return helper_block(x, b, keys, "nfflowd reads conntrack over netlink itself");
}

static int do_flow_import(struct ctx *x, const struct cfg_node *b)
{
	static const char *const keys[] = {"progname", "format", NULL};
	return helper_block(x, b, keys, "nfflowd builds NetFlow records itself");
}

/* ---- <ptee><conf>: the Log::Dispatch dispatchers ---- */

enum dkey {
	DK_CLASS,
	DK_NAME,
	DK_MIN,
	DK_MAX,
	DK_FORMAT,
	DK_STDERR,
	DK_NEWLINE,
	DK_IDENT,
	DK_FACILITY,
	DK_LOGOPT,
	DK_FILENAME,
	DK_MODE,
	DK_COUNT
};

#define K_SCREEN (1u << COPY_SCREEN)
#define K_SYSLOG (1u << COPY_SYSLOG)
#define K_FILE	 (1u << COPY_FILE)
#define K_ALL	 (K_SCREEN | K_SYSLOG | K_FILE)

static const struct {
	const char *name;
	unsigned kinds;
} dkeys[DK_COUNT] = {
    [DK_CLASS] = {"class", K_ALL},	    [DK_NAME] = {"name", K_ALL},
    [DK_MIN] = {"min_level", K_ALL},	    [DK_MAX] = {"max_level", K_ALL},
    [DK_FORMAT] = {"format", K_ALL},	    [DK_STDERR] = {"stderr", K_SCREEN},
    [DK_NEWLINE] = {"newline", K_SCREEN},   [DK_IDENT] = {"ident", K_SYSLOG},
    [DK_FACILITY] = {"facility", K_SYSLOG}, [DK_LOGOPT] = {"logopt", K_SYSLOG},
    [DK_FILENAME] = {"filename", K_FILE},   [DK_MODE] = {"mode", K_FILE},
};

static const char *const classes[] = {
    [COPY_SCREEN] = "Log::Dispatch::Screen",
    [COPY_SYSLOG] = "Log::Dispatch::Syslog",
    [COPY_FILE] = "Log::Dispatch::File",
};

struct dispatcher {
	char name[CONFIG_NAME_MAX];
	unsigned line;	/* of the dispatchers key naming it */
	unsigned block; /* line of its block, 0 until seen */
};

struct dispatch_list {
	struct dispatcher d[CONFIG_MAX_COPIES];
	size_t n;
	unsigned conf_line;
};

static int level(struct ctx *x, const struct cfg_node *n, int *out)
{
	if (need_value(x, n) < 0)
		return -1;
	int l = config_level(n->value);
	if (l < 0)
		return fail(x, n->line,
			    "%s: '" SHOW "' is not a level (debug, info, notice, warning, error, "
			    "critical, alert, emergency, or 0-7)",
			    n->name, n->value);
	*out = l;
	return 0;
}

static int facility(struct ctx *x, const struct cfg_node *n, int *out)
{
	if (need_value(x, n) < 0)
		return -1;
	int f = config_facility(n->value);
	if (f < 0)
		return fail(x, n->line,
			    "%s: '" SHOW
			    "' is not a syslog facility (daemon, user, local0 to local7, "
			    "...)",
			    n->name, n->value);
	*out = f;
	return 0;
}

static int file_mode(struct ctx *x, const struct cfg_node *n, bool *append)
{
	const char *v = val(n);
	if (strcmp(v, "append") == 0 || strcmp(v, ">>") == 0)
		*append = true;
	else if (strcmp(v, "write") == 0 || strcmp(v, ">") == 0)
		*append = false;
	else
		return fail(x, n->line, "mode: '" SHOW "' is not append, write, >> or >", v);
	return 0;
}

static int find_class(struct ctx *x, const struct cfg_node *b, enum copy_kind *kind)
{
	const struct cfg_node *cls = NULL;
	for (const struct cfg_node *n = b->child; n; n = n->next) {
		if (!n->is_block && strcmp(n->name, "class") == 0 && !cls)
			cls = n;
	}
	if (!cls)
		return fail(x, b->line,
			    "<%s> has no class: give Log::Dispatch::Screen, "
			    "Log::Dispatch::Syslog or Log::Dispatch::File",
			    b->name);
	for (int k = COPY_SCREEN; k <= COPY_FILE; k++) {
		if (strcmp(val(cls), classes[k]) == 0) {
			*kind = (enum copy_kind)k;
			return 0;
		}
	}
	return fail(x, cls->line,
		    "class: '" SHOW "' is not supported: use Log::Dispatch::Screen, "
		    "Log::Dispatch::Syslog or Log::Dispatch::File",
		    val(cls));
}

static void copy_defaults(struct copy_conf *cp, enum copy_kind kind, const char *name)
{
	memset(cp, 0, sizeof *cp);
	snprintf(cp->name, sizeof cp->name, "%s", name);
	cp->kind = kind;
	cp->min_level = LOG_DEBUG;
	cp->max_level = LOG_EMERG;
	cp->to_stderr = true; /* Log::Dispatch::Screen's default */
	cp->facility = LOG_USER;
	strcpy(cp->ident, "nfflowd");
	cp->append = true;
}

static int dispatcher_key(struct ctx *x, const struct cfg_node *n, enum dkey k,
			  struct copy_conf *cp)
{
	switch (k) {
	case DK_CLASS:
	case DK_NEWLINE:
		return 0;
	case DK_NAME:
		return copy_name(x, n, cp->name, sizeof cp->name);
	case DK_MIN:
		return level(x, n, &cp->min_level);
	case DK_MAX:
		return level(x, n, &cp->max_level);
	case DK_STDERR:
		return flag(x, n, &cp->to_stderr);
	case DK_IDENT:
		return copy_name(x, n, cp->ident, sizeof cp->ident);
	case DK_FACILITY:
		return facility(x, n, &cp->facility);
	case DK_FILENAME:
		return copy_name(x, n, cp->path, sizeof cp->path);
	case DK_MODE:
		return file_mode(x, n, &cp->append);
	case DK_FORMAT:
		warning(x, n->line,
			"format is ignored: copies are written as flow-tools CSV lines");
		return 0;
	case DK_LOGOPT:
		warning(x, n->line, "logopt is ignored: nfflowd opens syslog itself");
		return 0;
	case DK_COUNT:
		break;
	}
	return 0;
}

static enum dkey find_dkey(const char *name)
{
	int k = 0;
	while (k < DK_COUNT && strcmp(dkeys[k].name, name) != 0)
		k++;
	return (enum dkey)k;
}

static int dispatcher_keys(struct ctx *x, const struct cfg_node *b, struct copy_conf *cp,
			   unsigned *seen)
{
	for (const struct cfg_node *n = b->child; n; n = n->next) {
		enum dkey k = n->is_block ? DK_COUNT : find_dkey(n->name);
		if (k == DK_COUNT || !(dkeys[k].kinds & (1u << cp->kind))) {
			if (n->is_block)
				return unknown(x, n, b->name);
			return fail(x, n->line, "unknown key '%s' for %s in <%s>", n->name,
				    classes[cp->kind], b->name);
		}
		if (once(x, n, &seen[k]) < 0 || dispatcher_key(x, n, k, cp) < 0)
			return -1;
	}
	if (cp->kind == COPY_FILE && !seen[DK_FILENAME])
		return fail(x, b->line, "<%s> (Log::Dispatch::File) needs a filename", b->name);
	return 0;
}

static const char *level_name(int l)
{
	static const char *const names[] = {"emergency", "alert",  "critical", "error",
					    "warning",	 "notice", "info",     "debug"};
	return l >= 0 && l < 8 ? names[l] : "?";
}

static int do_dispatcher(struct ctx *x, const struct cfg_node *b, struct copy_conf *cp)
{
	enum copy_kind kind = COPY_SCREEN;
	unsigned seen[DK_COUNT] = {0};
	if (no_argument(x, b) < 0 || find_class(x, b, &kind) < 0)
		return -1;
	copy_defaults(cp, kind, b->name);
	if (dispatcher_keys(x, b, cp, seen) < 0)
		return -1;
	if (cp->min_level < LOG_INFO || cp->max_level > LOG_INFO)
		warning(x, b->line,
			"<%s> takes levels %s to %s, but flow records are written at info: "
			"this copy receives nothing",
			b->name, level_name(cp->min_level), level_name(cp->max_level));
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
static int dispatchers_key(struct ctx *x, struct dispatch_list *l, const struct cfg_node *n)
{
	const char *s = val(n);
	while (*s) {
		size_t skip = strspn(s, " \t\r\n\v\f");
		s += skip;
		size_t len = strcspn(s, " \t\r\n\v\f");
		if (len && add_dispatcher(x, l, s, len, n->line) < 0)
			return -1;
		s += len;
	}
	return 0;
}

static int conf_keys(struct ctx *x, const struct cfg_node *conf, struct dispatch_list *l)
{
	for (const struct cfg_node *n = conf->child; n; n = n->next) {
		if (n->is_block)
			continue;
		if (strcmp(n->name, "dispatchers") == 0) {
			if (dispatchers_key(x, l, n) < 0)
				return -1;
		} else if (strcmp(n->name, "format") == 0) {
			warning(x, n->line,
				"format is ignored: copies are written as flow-tools CSV lines");
		} else {
			return unknown(x, n, "conf");
		}
	}
	return 0;
}

static int conf_block(struct ctx *x, const struct cfg_node *b, struct dispatch_list *l)
{
	size_t i = 0;
	while (i < l->n && strcmp(l->d[i].name, b->name) != 0)
		i++;
	if (i == l->n) {
		warning(x, b->line, "<%s> is not listed in dispatchers: ignored", b->name);
		return 0;
	}
	if (l->d[i].block)
		return fail(x, b->line, "<%s> given twice (first at line %u)", b->name,
			    l->d[i].block);
	l->d[i].block = b->line;
	return do_dispatcher(x, b, &x->c->copies[i]);
}

static int do_conf(struct ctx *x, const struct cfg_node *conf)
{
	struct dispatch_list l = {.n = 0};
	if (no_argument(x, conf) < 0 || conf_keys(x, conf, &l) < 0)
		return -1;
	for (const struct cfg_node *n = conf->child; n; n = n->next) {
		if (n->is_block && conf_block(x, n, &l) < 0)
			return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (!l.d[i].block)
			return fail(x, l.d[i].line, "dispatcher '%s' has no <%s> block in <conf>",
				    l.d[i].name, l.d[i].name);
	}
	x->c->ncopies = l.n;
	return 0;
}

static int do_ptee(struct ctx *x, const struct cfg_node *b)
{
	unsigned conf_seen = 0;
	if (once_block(x, b, &x->seen[SLOT_PTEE]) < 0 || no_argument(x, b) < 0)
		return -1;
	x->c->ncopies = 0;
	for (const struct cfg_node *n = b->child; n; n = n->next) {
		if (!n->is_block || strcmp(n->name, "conf") != 0)
			return unknown(x, n, "ptee");
		if (once_block(x, n, &conf_seen) < 0 || do_conf(x, n) < 0)
			return -1;
	}
	if (!conf_seen)
		warning(x, b->line, "<ptee> has no <conf>: no local copies");
	return 0;
}

/* ---- top-level keys ---- */

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
	*out = sec * 1000 + ms;
	return s[i] == '\0';
}

static int do_flush(struct ctx *x, const struct cfg_node *n)
{
	uint64_t ms = 0;
	if (need_value(x, n) < 0)
		return -1;
	if (!parse_ms(n->value, &ms) || ms < 10 || ms > 60000)
		return fail(x, n->line,
			    "flush_interval: '" SHOW "' is not a number of seconds from 0.01 to 60 "
			    "(at most three decimals)",
			    n->value);
	x->c->flush_ms = (unsigned)ms;
	return 0;
}

/* Bytes with an optional k, m or g suffix (powers of 1024). */
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
	if (!parse_u64(digits, UINT64_C(1) << 31, &v))
		return false;
	*out = v << shift;
	return true;
}

static int do_rcvbuf(struct ctx *x, const struct cfg_node *n)
{
	uint64_t v = 0;
	if (need_value(x, n) < 0)
		return -1;
	if (!parse_size(n->value, &v) || v < 65536 || v > 1073741824)
		return fail(x, n->line, "netlink_rcvbuf: '" SHOW "' is not a size from 64K to 1G",
			    n->value);
	x->c->rcvbuf = (size_t)v;
	return 0;
}

static int do_engine(struct ctx *x, const struct cfg_node *n)
{
	uint64_t v = 0;
	if (number(x, n, 0, 255, &v) < 0)
		return -1;
	if (strcmp(n->name, "engine_type") == 0)
		x->c->engine_type = (uint8_t)v;
	else
		x->c->engine_id = (uint8_t)v;
	return 0;
}

static int do_sysctl(struct ctx *x, const struct cfg_node *n)
{
	return flag(x, n, &x->c->sysctl_setup);
}

static int do_active(struct ctx *x, const struct cfg_node *n)
{
	uint64_t v = 0;
	if (number(x, n, 0, 432000, &v) < 0)
		return -1;
	x->c->active_timeout = (unsigned)v;
	return 0;
}

static int do_reliable(struct ctx *x, const struct cfg_node *n)
{
	return flag(x, n, &x->c->netlink_reliable);
}

static int do_resync(struct ctx *x, const struct cfg_node *n)
{
	uint64_t v = 0;
	if (number(x, n, 1, 3600, &v) < 0)
		return -1;
	x->c->resync_interval = (unsigned)v;
	return 0;
}

static int do_log_facility(struct ctx *x, const struct cfg_node *n)
{
	return facility(x, n, &x->c->log_facility);
}

static int do_user(struct ctx *x, const struct cfg_node *n)
{
	if (copy_name(x, n, x->c->user, sizeof x->c->user) < 0)
		return -1;
	if (x->c->user[0] == '\0' || strpbrk(x->c->user, " \t:/") != NULL)
		return fail(x, n->line, "user: '" SHOW "' is not a user name", n->value);
	return 0;
}

/* pidfile and control_socket: absolute paths. */
static int do_path(struct ctx *x, const struct cfg_node *n)
{
	bool pid = strcmp(n->name, "pidfile") == 0;
	char *dst = pid ? x->c->pidfile : x->c->control;
	size_t max = pid ? sizeof x->c->pidfile : sizeof x->c->control;

	if (copy_name(x, n, dst, max) < 0)
		return -1;
	if (dst[0] != '/')
		return fail(x, n->line, "%s: '" SHOW "' is not an absolute path", n->name,
			    n->value);
	return 0;
}

static const struct top {
	const char *name;
	bool block;
	int slot; /* enum slot for keys given once, -1 for blocks that check themselves */
	int (*fn)(struct ctx *, const struct cfg_node *);
} tops[] = {
    {"flow_send", true, -1, do_flow_send},
    {"collector", true, -1, do_collector},
    {"filter", true, -1, do_filter},
    {"ct2ft", true, -1, do_ct2ft},
    {"ptee", true, -1, do_ptee},
    {"conntrack", true, -1, do_conntrack},
    {"flow_import", true, -1, do_flow_import},
    {"flush_interval", false, SLOT_FLUSH, do_flush},
    {"engine_type", false, SLOT_ENGINE_TYPE, do_engine},
    {"engine_id", false, SLOT_ENGINE_ID, do_engine},
    {"sysctl_setup", false, SLOT_SYSCTL, do_sysctl},
    {"netlink_rcvbuf", false, SLOT_RCVBUF, do_rcvbuf},
    {"resync_interval", false, SLOT_RESYNC, do_resync},
    {"netlink_reliable", false, SLOT_RELIABLE, do_reliable},
    {"active_timeout", false, SLOT_ACTIVE, do_active},
    {"log_facility", false, SLOT_LOG_FACILITY, do_log_facility},
    {"user", false, SLOT_USER, do_user},
    {"pidfile", false, SLOT_PIDFILE, do_path},
    {"control_socket", false, SLOT_CONTROL, do_path},
};

static int misplaced(struct ctx *x, const struct cfg_node *n, const struct top *t)
{
	if (t->block)
		return fail(x, n->line, "%s is a block: write <%s> ... </%s>", n->name, n->name,
			    n->name);
	return fail(x, n->line, "<%s> is not a block: write '%s VALUE'", n->name, n->name);
}

static int top_item(struct ctx *x, const struct cfg_node *n)
{
	const struct top *t = NULL;
	for (size_t i = 0; i < sizeof tops / sizeof tops[0] && !t; i++) {
		if (strcmp(tops[i].name, n->name) == 0)
			t = &tops[i];
	}
	if (!t) {
		if (!n->is_block && strcmp(n->name, "ttl") == 0)
			return fail(x, n->line, "unknown key 'ttl' (ttl belongs in <ct2ft>)");
		return unknown(x, n, NULL);
	}
	if (t->block != n->is_block)
		return misplaced(x, n, t);
	if (t->slot >= 0 && once(x, n, &x->seen[t->slot]) < 0)
		return -1;
	return t->fn(x, n);
}

void config_defaults(struct nf_config *c)
{
	memset(c, 0, sizeof *c);
	c->ttl = 604800;
	c->flush_ms = 1000;
	c->sysctl_setup = true;
	c->rcvbuf = 128u * 1024 * 1024; /* no loss at 250k events/s here: bench/run.sh */
	c->resync_interval = 10;
	c->active_timeout = 1800;
	c->log_facility = LOG_DAEMON;
	strcpy(c->user, CONFIG_DEFAULT_USER);
	strcpy(c->pidfile, CONFIG_DEFAULT_PIDFILE);
	strcpy(c->control, CONFIG_DEFAULT_CONTROL);
	copy_defaults(&c->copies[0], COPY_SCREEN, "screen");
	c->copies[0].to_stderr = false;
	copy_defaults(&c->copies[1], COPY_SYSLOG, "syslog");
	c->copies[1].facility = LOG_LOCAL6;
	c->ncopies = 2;
}

static int apply(struct ctx *x, const struct cfg_node *root)
{
	for (const struct cfg_node *n = root->child; n; n = n->next) {
		if (top_item(x, n) < 0)
			return -1;
	}
	filter_collectors(x->c);
	if (x->c->ncollectors == 0)
		return fail(x, 0,
			    "no collector configured: give <flow_send> args SOURCE COLLECTOR PORT, "
			    "or a <collector NAME> block");
	return 0;
}

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
	int rc = apply(&x, root);
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

/* The file's bytes in a malloc'd buffer, or NULL with a message in err. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		load_error(err, errlen, path, strerror(errno));
		return NULL;
	}
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

int config_load(const char *path, struct nf_config *c, char *err, size_t errlen,
		config_warn_fn warn, void *ctx)
{
	size_t len;
	char *text = read_file(path, &len, err, errlen);
	if (!text)
		return -1;
	struct cfg_node *root;
	int rc = cfgfile_parse(text, len, path, &root, err, errlen);
	free(text);
	if (rc < 0)
		return -1;
	struct nf_config *fresh = malloc(sizeof *fresh);
	if (!fresh) {
		cfgfile_free(root);
		load_error(err, errlen, path, "out of memory");
		return -1;
	}
	config_defaults(fresh);
	rc = config_from_tree(root, fresh, err, errlen, warn, ctx);
	if (rc == 0)
		*c = *fresh;
	free(fresh);
	cfgfile_free(root);
	return rc;
}
