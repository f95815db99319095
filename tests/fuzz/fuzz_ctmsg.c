/* fuzz_ctmsg: feeds a netlink buffer, message by message, to ctmsg_parse.
 *
 * Each message is copied into a buffer of exactly nlmsg_len bytes, so that
 * AddressSanitizer reports any read past it. If the first header does not
 * fit the input, its length is clamped to the input size so that mutated
 * inputs still reach the parser. A parsed event is checked for consistency;
 * any inconsistency aborts. */
#include "ctmsg.h"

#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Netlink messages are at most 64 KiB in practice; larger inputs add nothing. */
enum { INPUT_MAX = 1 << 16 };

enum {
	HAVE_ALL = CT_HAVE_REPLY | CT_HAVE_COUNTERS | CT_HAVE_TS_START | CT_HAVE_TS_STOP |
		   CT_HAVE_STATUS | CT_HAVE_TIMEOUT | CT_HAVE_MARK | CT_HAVE_ZONE | CT_HAVE_ID |
		   CT_HAVE_TS_EVENT | CT_HAVE_TCP_STATE,
};

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* IPv4 addresses use the first 4 of the 16 bytes; the rest stay zero. */
static int tuple_ok(const struct ct_tuple *t, uint8_t family)
{
	if (family == AF_INET6)
		return 1;
	return all_zero(t->src + 4, sizeof t->src - 4) && all_zero(t->dst + 4, sizeof t->dst - 4);
}

static int event_ok(const struct ct_event *ev)
{
	if (ev->family != AF_INET && ev->family != AF_INET6)
		return 0;
	if (ev->type != CT_EV_NEW && ev->type != CT_EV_UPDATE && ev->type != CT_EV_DESTROY)
		return 0;
	if (ev->have & ~(uint32_t)HAVE_ALL)
		return 0;
	if (!(ev->have & CT_HAVE_REPLY) && !all_zero((const uint8_t *)&ev->reply, sizeof ev->reply))
		return 0;
	return tuple_ok(&ev->orig, ev->family) && tuple_ok(&ev->reply, ev->family);
}

static void parse_one(const struct nlmsghdr *nlh)
{
	struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
	struct ct_event ev;
	enum ctmsg_result r;

	if (!copy)
		return;
	memcpy(copy, nlh, nlh->nlmsg_len);
	r = ctmsg_parse(copy, &ev);
	free(copy);
	if (r != CTMSG_OK && r != CTMSG_NOT_CT && r != CTMSG_MALFORMED && r != CTMSG_NO_TUPLE)
		abort();
	if (!ctmsg_strerror(r) || (r == CTMSG_OK && !event_ok(&ev)))
		abort();
}

/* mnl_nlmsg_ok compares nlmsg_len as an int: a length of 2 GiB or more
 * passes it, so it is checked here as well. */
static int msg_fits(const struct nlmsghdr *nlh, int left)
{
	return mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_len <= (uint32_t)left;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlmsghdr *buf;
	const struct nlmsghdr *nlh;
	int left = (int)size;

	if (size < sizeof *nlh || size > INPUT_MAX)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (!msg_fits(buf, left))
		buf->nlmsg_len = (uint32_t)size;
	for (nlh = buf; msg_fits(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		parse_one(nlh);
	free(buf);
	return 0;
}
