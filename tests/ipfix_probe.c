/* ipfix_probe: encode a few known connections with the v9 or IPFIX encoder
 * and send them to a collector on 127.0.0.1, to check what real decoders
 * (nfcapd/nfdump, tshark) make of them. Loopback only, two datagrams.
 *
 *   ipfix_probe VERSION PORT [old]
 *
 * VERSION is 9 or 10. The seven records go out in two messages (templates and
 * three records, then four records) so that a collector also checks the
 * sequence numbers. "old" sends natEvent 1/2 instead of 4/5.
 *
 * tests/data/ipfix-{nfdump,tshark}-v{9,10}.txt are what Debian's nfdump
 * 1.7.1 and tshark 4.0 decoded, with TZ=UTC, from
 *   nfcapd -b 127.0.0.1 -p PORT -w DIR -t 60      (then SIGTERM)
 *   nfdump -q -N -r DIR/nfcapd.* -o 'fmt:%ts %te %pr %sap %dap %xsap %xdap
 *          %ipkt %ibyt %opkt %obyt %tevt %nevt %ivrf %evrf %in %out'
 *   tshark -i lo -f 'udp port PORT' -w F.pcap
 *   tshark -r F.pcap -d udp.port==PORT,cflow -T fields -E occurrence=a
 *          -E separator='|' -e cflow.version -e cflow.count -e cflow.sequence
 *          -e cflow.srcaddr -e cflow.srcaddrv6 -e cflow.srcport
 *          -e cflow.post_natsource_ipv4_address
 *          -e cflow.post_nat_source_ipv6_address
 *          -e cflow.post_naptsource_transport_port -e cflow.octets
 *          -e cflow.packets -e cflow.initiator_octets -e cflow.responder_octets
 *          -e cflow.initiator_packets -e cflow.responder_packets
 *          -e cflow.icmp_type_code_ipv4 -e cflow.icmp_ipv6_type
 *          -e cflow.icmp_ipv6_code -e cflow.flow_id -e cflow.flow_end_reason
 *          -e cflow.nat_event -e cflow.observation_time_milliseconds
 *          -e cflow.ingress_vrfid -e cflow.egress_vrfid -e cflow.inputint
 *          -e cflow.outputint
 * (nfcapd: 0 sequence errors, 0 bad packets; tshark -Y '_ws.expert ||
 * _ws.malformed': nothing.) tests/e2e/v9_ipfix_probe.sh (CTest
 * e2e_v9_ipfix_probe, label collector) runs the same decoders in a
 * namespace of its own and compares with those files. Built by CMake
 * (tests/probe.cmake): build/tests/ipfix_probe. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipfix.h"

#define PROBE_NOW_NS  1704164645678000000ull /* 2024-01-02 03:04:05.678 UTC */
#define PROBE_BOOT_MS (1704164645678ull - 3600000ull)
#define PROBE_RECS    7

static void addr(uint8_t family, const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(family, text, out) != 1) {
		fprintf(stderr, "bad address %s\n", text);
		exit(2);
	}
}

static void tuple(struct ct_tuple *t, uint8_t family, uint8_t proto, const char *src,
		  uint16_t sport, const char *dst, uint16_t dport)
{
	addr(family, src, t->src);
	addr(family, dst, t->dst);
	t->sport = sport;
	t->dport = dport;
	t->proto = proto;
}

static void counters(struct ct_event *ev, uint64_t op, uint64_t ob, uint64_t rp, uint64_t rb)
{
	ev->have |= CT_HAVE_COUNTERS;
	ev->cnt_orig.packets = op;
	ev->cnt_orig.bytes = ob;
	ev->cnt_reply.packets = rp;
	ev->cnt_reply.bytes = rb;
}

/* 0: IPv4 SNAT TCP; 1: IPv4 ICMP echo with a translated identifier;
 * 2: IPv6 NAT66 UDP; 3: IPv4 SNAT UDP create event (a NAT event: no
 * counters) in zone 7; 4: IPv4 TCP without NAT, its original direction in
 * zone 5 alone; 5: ICMPv6 echo without NAT; 6: IPv6 NAT66 TCP delete event,
 * its reply direction in zone 9 alone. */
static void make_events(struct ct_event ev[PROBE_RECS])
{
	memset(ev, 0, PROBE_RECS * sizeof *ev);
	for (int i = 0; i < PROBE_RECS; i++) {
		ev[i].type = CT_EV_DESTROY;
		ev[i].family = AF_INET;
		ev[i].have = CT_HAVE_REPLY | CT_HAVE_ID;
		ev[i].id = 0x10000000u + (uint32_t)i;
	}
	tuple(&ev[0].orig, AF_INET, IPPROTO_TCP, "10.0.195.106", 62380, "74.125.6.225", 80);
	tuple(&ev[0].reply, AF_INET, IPPROTO_TCP, "74.125.6.225", 80, "192.76.7.154", 40001);
	counters(&ev[0], 720, 38052, 1432, 2027040);

	tuple(&ev[1].orig, AF_INET, IPPROTO_ICMP, "10.0.0.2", 0x1234, "8.8.8.8", 8 * 256);
	tuple(&ev[1].reply, AF_INET, IPPROTO_ICMP, "8.8.8.8", 0x0457, "192.76.7.154", 0);
	counters(&ev[1], 3, 252, 3, 252);

	ev[2].family = AF_INET6;
	tuple(&ev[2].orig, AF_INET6, IPPROTO_UDP, "fd00::2", 5353, "2001:db8::53", 53);
	tuple(&ev[2].reply, AF_INET6, IPPROTO_UDP, "2001:db8::53", 53, "2001:db8:1::1", 61000);
	counters(&ev[2], 1, 80, 1, 120);

	ev[3].type = CT_EV_NEW;
	tuple(&ev[3].orig, AF_INET, IPPROTO_UDP, "10.0.0.3", 40000, "192.0.2.53", 53);
	tuple(&ev[3].reply, AF_INET, IPPROTO_UDP, "192.0.2.53", 53, "192.76.7.154", 1025);
	ev[3].orig_zone = ev[3].reply_zone = 7;

	tuple(&ev[4].orig, AF_INET, IPPROTO_TCP, "192.0.2.10", 51000, "192.0.2.20", 22);
	tuple(&ev[4].reply, AF_INET, IPPROTO_TCP, "192.0.2.20", 22, "192.0.2.10", 51000);
	counters(&ev[4], 10, 1000, 8, 2000);
	ev[4].orig_zone = 5;

	ev[5].family = AF_INET6;
	tuple(&ev[5].orig, AF_INET6, IPPROTO_ICMPV6, "fd00::2", 0x4321, "2001:db8::1", 128 * 256);
	tuple(&ev[5].reply, AF_INET6, IPPROTO_ICMPV6, "2001:db8::1", 0x4321, "fd00::2", 129 * 256);
	counters(&ev[5], 2, 208, 2, 208);

	ev[6].family = AF_INET6;
	tuple(&ev[6].orig, AF_INET6, IPPROTO_TCP, "fd00::3", 41002, "2001:db8::80", 8080);
	tuple(&ev[6].reply, AF_INET6, IPPROTO_TCP, "2001:db8::80", 8080, "2001:db8:1::1", 41002);
	ev[6].reply_zone = 9;
}

static void make_recs(const struct ct_event ev[PROBE_RECS], struct ipfix_rec r[PROBE_RECS], int old)
{
	uint64_t end_ms = PROBE_NOW_NS / 1000000u - 1000;
	uint8_t add = old ? IPFIX_NAT_CREATE : IPFIX_NAT44_SESSION_ADD;
	uint8_t del = old ? IPFIX_NAT_DELETE : IPFIX_NAT44_SESSION_DEL;

	for (int i = 0; i < PROBE_RECS; i++) {
		r[i] = (struct ipfix_rec){.ev = &ev[i],
					  .first_ms = end_ms - 143422 + (uint64_t)i,
					  .last_ms = end_ms + (uint64_t)i,
					  .end_reason = IPFIX_END_OF_FLOW,
					  .nat_event = del};
	}
	r[1].end_reason = IPFIX_END_IDLE;
	r[3].last_ms = r[3].first_ms;
	r[3].end_reason = 0;
	r[3].nat_event = add;
	r[3].kind = IPFIX_NAT_EVENT;
	r[4].nat_event = 0;
	r[5].nat_event = 0;
	r[6].end_reason = 0;
	r[6].nat_event = IPFIX_NAT_DELETE; /* IPv6: no NAT66 code of its own */
	r[6].kind = IPFIX_NAT_EVENT;
	r[0].in_if = 2; /* ingressInterface, egressInterface of flow records */
	r[0].out_if = 3;
	r[2].in_if = 4;
	r[2].out_if = 5;
	r[4].in_if = 70000;
	r[4].out_if = 6;
}

static int send_all(int fd, struct ipfix_state *s, const struct ipfix_rec *r)
{
	static const size_t split[] = {3, PROBE_RECS - 3};
	uint8_t buf[IPFIX_MSG_DEFAULT];
	size_t off = 0;

	for (size_t m = 0; m < 2; m++) {
		size_t used, len;

		len = ipfix_encode(s, buf, sizeof buf, PROBE_NOW_NS + m * 1000000u, PROBE_BOOT_MS,
				   r + off, split[m], &used);
		if (len == 0 || used != split[m] || send(fd, buf, len, 0) != (ssize_t)len) {
			perror("ipfix_probe: encode or send");
			return 1;
		}
		printf("message %zu: %zu bytes, %zu records\n", m, len, used);
		off += used;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct ct_event ev[PROBE_RECS];
	struct ipfix_rec r[PROBE_RECS];
	struct ipfix_state s;
	int fd, rc, port = argc > 2 ? atoi(argv[2]) : 0;

	if (port < 1 || port > 65535 || ipfix_init(&s, atoi(argv[1]), 42, 0, 600, 20) != 0) {
		fprintf(stderr, "usage: ipfix_probe {9|10} PORT [old]\n");
		return 2;
	}
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	make_events(ev);
	make_recs(ev, r, argc > 3 && strcmp(argv[3], "old") == 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		perror("ipfix_probe: socket");
		return 1;
	}
	rc = send_all(fd, &s, r);
	close(fd);
	return rc;
}
