/* fuzz_pcapnl: a recording (-w) as replay reads it: the pcap file header,
 * then record headers and packets, each packet's netlink datagram walked
 * message by message into ctmsg_parse. */
#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>

#include "ctmsg.h"
#include "pcapnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const uint8_t *dgram, size_t len)
{
	/* A copy of exactly len bytes, so that a read past it is caught. */
	uint8_t *copy = malloc(len ? len : 1);
	struct ct_event ev;

	if (!copy)
		return;
	memcpy(copy, dgram, len);
	const struct nlmsghdr *nlh = (const void *)copy;
	int rem = (int)len;
	for (; mnl_nlmsg_ok(nlh, rem) && nlh->nlmsg_len <= (uint32_t)rem;
	     nlh = mnl_nlmsg_next(nlh, &rem))
		ctmsg_parse(nlh, &ev);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcapnl_reader r;
	char err[128];
	uint64_t ts;
	size_t caplen, dlen;
	const uint8_t *dgram;

	if (pcapnl_open(&r, data, size, err, sizeof err) != 0)
		return 0;
	size_t off = PCAPNL_FILE_HEADER_LEN;
	while (size - off >= PCAPNL_RECORD_HEADER_LEN) {
		if (pcapnl_record(&r, data + off, &ts, &caplen) != 0)
			return 0;
		off += PCAPNL_RECORD_HEADER_LEN;
		if (caplen > size - off)
			return 0;
		if (pcapnl_payload(data + off, caplen, &dgram, &dlen) == 0)
			walk(dgram, dlen);
		off += caplen;
	}
	return 0;
}
