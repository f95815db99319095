#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "manual_example.h"
#include "nfv5.h"
#include "timeunit.h"

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

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_known_good(void)
{
	struct nfv5_header h = {.now_ns = MANUAL_NOW_NS,
				.boot_ms = MANUAL_BOOT_MS,
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
	struct nfv5_header h = {.now_ns = MANUAL_NOW_NS, .boot_ms = MANUAL_BOOT_MS};
	struct flow_rec r[NFV5_MAX_RECORDS + 1];
	uint8_t buf[NFV5_MAX_LEN];

	for (size_t i = 0; i <= NFV5_MAX_RECORDS; i++)
		r[i] = manual_rec("10.0.0.1", 1, "10.0.0.2", 2, 1, 40);
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
	CHECK_EQ_U64(timeunit_uptime(1000, 1500), 500);
	/* 2^32 ms (49.7 days) after boot sysUptime wraps, as on any router. */
	CHECK_EQ_U64(timeunit_uptime(1000, 1000 + 0x100000005ull), 5);
	/* Before boot_ms (the wall clock stepped back, or a start older than
	 * the uptime's epoch): modulo 2^32 too, never clamped to 0, so that a
	 * collector's unwrapping against the header's sysUptime gives the
	 * time back. */
	CHECK_EQ_U64(timeunit_uptime(1000, 999), 0xffffffffu);
	CHECK_EQ_U64(timeunit_uptime(1000, 0), 0x100000000ull - 1000);
	CHECK_EQ_U64(timeunit_uptime(0x100000000ull + 50, 10), 0x100000000ull - 40);
	CHECK_EQ_U64(timeunit_uptime(UINT64_MAX, 0), 1);
}

/* A connection that began 5 s before boot_ms, exported 2 s after it: First
 * is 2^32 - 5000, and header uptime - First modulo 2^32 is its age, 7 s. */
static void test_before_boot(void)
{
	struct nfv5_header h = {.now_ns = (MANUAL_BOOT_MS + 2000) * 1000000ull,
				.boot_ms = MANUAL_BOOT_MS};
	struct flow_rec r = manual_rec("10.0.0.1", 1, "10.0.0.2", 2, 1, 40);
	uint8_t buf[NFV5_MAX_LEN];

	r.first_ms = MANUAL_BOOT_MS - 5000;
	r.last_ms = MANUAL_BOOT_MS + 1000;
	CHECK_EQ_U64(nfv5_encode(buf, sizeof buf, &h, &r, 1), NFV5_HEADER_LEN + NFV5_RECORD_LEN);
	uint32_t uptime = be32(buf + 4), first = be32(buf + NFV5_HEADER_LEN + 24),
		 last = be32(buf + NFV5_HEADER_LEN + 28);
	CHECK_EQ_U64(uptime, 2000);
	CHECK_EQ_U64(first, 0x100000000ull - 5000);
	CHECK_EQ_U64(last, 1000);
	CHECK_EQ_U64((uint32_t)(uptime - first), 7000);
}

/* input and output (bytes 12..15 of a record): the ifIndexes; one beyond
 * 16 bits is unknown (0). */
static void test_interfaces(void)
{
	struct nfv5_header h = {.now_ns = MANUAL_NOW_NS, .boot_ms = MANUAL_BOOT_MS};
	struct flow_rec r[2];
	uint8_t buf[NFV5_MAX_LEN];

	r[0] = manual_rec("10.0.0.1", 1, "10.0.0.2", 2, 1, 40);
	r[1] = r[0];
	r[0].in_if = 2;
	r[0].out_if = 65535;
	r[1].in_if = 65536;
	r[1].out_if = 7;
	CHECK_EQ_U64(nfv5_encode(buf, sizeof buf, &h, r, 2), NFV5_HEADER_LEN + 2 * NFV5_RECORD_LEN);
	CHECK_EQ_U64(be32(buf + NFV5_HEADER_LEN + 12), 0x0002ffffu);
	CHECK_EQ_U64(be32(buf + NFV5_HEADER_LEN + NFV5_RECORD_LEN + 12), 0x00000007u);
}

int main(void)
{
	test_interfaces();
	test_known_good();
	test_limits();
	test_uptime();
	test_before_boot();
	CHECK_DONE();
}
