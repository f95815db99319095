#include "natlog.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <time.h>

#include "flow.h"

bool natlog_wants(const struct natlog_conf *conf, const struct ct_event *ev)
{
	return conf->all || flow_nat_changed(ev);
}

void natlog_time(char *buf, uint64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, NATLOG_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0 || n + 5 > NATLOG_TIME_LEN) { /* a year beyond 9999 */
		snprintf(buf, NATLOG_TIME_LEN + 1, "-");
		return;
	}
	snprintf(buf + n, NATLOG_TIME_LEN + 1 - n, ".%03uZ", (unsigned)(ms % 1000));
}

/* The protocol's name, as nfflowd.conf(5) <filter> protocol names them. */
static const char *proto_name(uint8_t p, char *num, size_t len)
{
	switch (p) {
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_GRE:
		return "gre";
	case IPPROTO_ESP:
		return "esp";
	case IPPROTO_AH:
		return "ah";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_DCCP:
		return "dccp";
	case IPPROTO_UDPLITE:
		return "udplite";
	default:
		snprintf(num, len, "%u", p);
		return num;
	}
}

static void addr(char *buf, int family, const uint8_t *a)
{
	if (!inet_ntop(family, a, buf, INET6_ADDRSTRLEN))
		buf[0] = '\0';
}

/* The formats of a connection's line, text and JSON: the same arguments. */
#define CONN_TEXT                                                                                  \
	"%s %s %s %s %s %u %s %u %s %u %s %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %u"
#define CONN_JSON                                                                                  \
	"{\"event\":\"%s\",\"start\":\"%s\",\"end\":\"%s\",\"proto\":\"%s\","                      \
	"\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,"                                 \
	"\"xsrc\":\"%s\",\"xsport\":%u,\"xdst\":\"%s\",\"xdport\":%u,"                             \
	"\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"rpackets\":%" PRIu64                      \
	",\"rbytes\":%" PRIu64 ",\"zone\":%u}"

size_t natlog_format_conn(char *buf, size_t len, int fmt, const struct ct_event *ev,
			  uint64_t first_ms, uint64_t last_ms, bool interim)
{
	char start[NATLOG_TIME_LEN + 1], end[NATLOG_TIME_LEN + 1], num[4];
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], xsrc[INET6_ADDRSTRLEN],
	    xdst[INET6_ADDRSTRLEN];
	const char *event = interim ? "interim" : "end";
	const char *proto = proto_name(ev->orig.proto, num, sizeof num);
	int n;

	natlog_time(start, first_ms);
	natlog_time(end, last_ms);
	addr(src, ev->family, ev->orig.src);
	addr(dst, ev->family, ev->orig.dst);
	addr(xsrc, ev->family, ev->reply.dst); /* after NAT: the reply tuple reversed */
	addr(xdst, ev->family, ev->reply.src);
	n = snprintf(buf, len, fmt == NATLOG_TEXT ? CONN_TEXT : CONN_JSON, event, start, end, proto,
		     src, ev->orig.sport, dst, ev->orig.dport, xsrc, ev->reply.dport, xdst,
		     ev->reply.sport, ev->cnt_orig.packets, ev->cnt_orig.bytes,
		     ev->cnt_reply.packets, ev->cnt_reply.bytes, ev->orig_zone);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

/* The formats of a port block's line, text and JSON: the same arguments. */
#define BLOCK_TEXT "%s %s %s %s %u %u %u %u"
#define BLOCK_JSON                                                                                 \
	"{\"event\":\"%s\",\"time\":\"%s\",\"src\":\"%s\",\"xsrc\":\"%s\","                        \
	"\"port_start\":%u,\"port_end\":%u,\"step\":%u,\"ports\":%u}"

size_t natlog_format_block(char *buf, size_t len, int fmt, const struct portblock *b, bool alloc,
			   uint64_t t_ms)
{
	char t[NATLOG_TIME_LEN + 1], src[INET_ADDRSTRLEN], xsrc[INET_ADDRSTRLEN];
	const char *event = alloc ? "block-alloc" : "block-free";
	int n;

	natlog_time(t, t_ms);
	addr(src, AF_INET, b->src);
	addr(xsrc, AF_INET, b->xsrc);
	n = snprintf(buf, len, fmt == NATLOG_TEXT ? BLOCK_TEXT : BLOCK_JSON, event, t, src, xsrc,
		     b->start, b->end, PORTBLOCK_STEP, (unsigned)b->end - b->start + 1u);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}
