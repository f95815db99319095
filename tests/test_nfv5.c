#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "nfv5.h"

/* The three records of the original nfflowd manual's example, as a NetFlow v5
 * datagram built independently from Cisco's format description. */
static const uint8_t manual_example[168] = {
    0x00, 0x05, 0x00, 0x03, 0x00, 0x04, 0x44, 0xb9, 0x4a, 0x71, 0x80, 0xa0, 0x2b, 0xf1, 0x50, 0x38,
    0x00, 0x00, 0x00, 0x2a, 0x01, 0x07, 0x00, 0x00, 0x0a, 0x00, 0xc3, 0x6a, 0x4a, 0x7d, 0x06, 0xe1,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xd0, 0x00, 0x00, 0x94, 0xa4,
    0x00, 0x02, 0x14, 0x7b, 0x00, 0x04, 0x44, 0xb9, 0xf3, 0xac, 0x00, 0x50, 0x00, 0x00, 0x06, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x4c, 0x07, 0x9a, 0x4a, 0x7d, 0x06, 0xe1,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xd0, 0x00, 0x00, 0x94, 0xa4,
    0x00, 0x02, 0x14, 0x7b, 0x00, 0x04, 0x44, 0xb9, 0xf3, 0xac, 0x00, 0x50, 0x00, 0x00, 0x06, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4a, 0x7d, 0x06, 0xe1, 0xc0, 0x4c, 0x07, 0x9a,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x98, 0x00, 0x1e, 0xee, 0x20,
    0x00, 0x02, 0x14, 0x7b, 0x00, 0x04, 0x44, 0xb9, 0x00, 0x50, 0xf3, 0xac, 0x00, 0x00, 0x06, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

#define NOW_NS	1248952480737235000ull
#define BOOT_MS (1248952480737ull - 279737ull)

static struct flow_rec rec(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			   uint64_t pkts, uint64_t bytes)
{
	struct flow_rec r = {.family = AF_INET,
			     .proto = IPPROTO_TCP,
			     .sport = sport,
			     .dport = dport,
			     .packets = pkts,
			     .bytes = bytes,
			     .first_ms = BOOT_MS + 136315,
			     .last_ms = BOOT_MS + 279737};
	inet_pton(AF_INET, src, r.src);
	inet_pton(AF_INET, dst, r.dst);
	return r;
}

static void manual_records(struct flow_rec r[3])
{
	r[0] = rec("10.0.195.106", 62380, "74.125.6.225", 80, 720, 38052);
	r[1] = rec("192.76.7.154", 62380, "74.125.6.225", 80, 720, 38052);
	r[2] = rec("74.125.6.225", 80, "192.76.7.154", 62380, 1432, 2027040);
}

static void test_known_good(void)
{
	struct nfv5_header h = {.now_ns = NOW_NS,
				.boot_ms = BOOT_MS,
				.flow_sequence = 42,
				.engine_type = 1,
				.engine_id = 7};
	struct flow_rec r[3];
	uint8_t buf[NFV5_MAX_LEN];

	manual_records(r);
	CHECK_EQ_U64(nfv5_encode(buf, sizeof buf, &h, r, 3), sizeof manual_example);
	CHECK_MEM(buf, manual_example, sizeof manual_example);
}

static void test_limits(void)
{
	struct nfv5_header h = {.now_ns = NOW_NS, .boot_ms = BOOT_MS};
	struct flow_rec r[NFV5_MAX_RECORDS + 1];
	uint8_t buf[NFV5_MAX_LEN];

	for (size_t i = 0; i <= NFV5_MAX_RECORDS; i++)
		r[i] = rec("10.0.0.1", 1, "10.0.0.2", 2, 1, 40);
	CHECK_EQ_U64(nfv5_encode(buf, sizeof buf, &h, r, NFV5_MAX_RECORDS), 1464);
	CHECK_EQ_U64(nfv5_encode(buf, sizeof buf, &h, r, NFV5_MAX_RECORDS + 1), 0);
	CHECK_EQ_U64(nfv5_encode(buf, sizeof buf, &h, r, 0), 0);
	CHECK_EQ_U64(nfv5_encode(buf, 100, &h, r, 3), 0); /* too small a buffer */
	r[1].bytes = 0x100000000ull;			  /* must be split first */
	CHECK_EQ_U64(nfv5_encode(buf, sizeof buf, &h, r, 2), 0);
	r[1].bytes = 40;
	r[1].family = AF_INET6; /* v5 has no IPv6 */
	CHECK_EQ_U64(nfv5_encode(buf, sizeof buf, &h, r, 2), 0);
}

static void test_uptime(void)
{
	CHECK_EQ_U64(nfv5_uptime(1000, 1500), 500);
	CHECK_EQ_U64(nfv5_uptime(1000, 999), 0);
	/* 2^32 ms (49.7 days) after boot sysUptime wraps, as on any router. */
	CHECK_EQ_U64(nfv5_uptime(1000, 1000 + 0x100000005ull), 5);
}

int main(void)
{
	test_known_good();
	test_limits();
	test_uptime();
	CHECK_DONE();
}
