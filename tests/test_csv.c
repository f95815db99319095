#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "manual_example.h"
#include "csv.h"

/* The three lines of the original nfflowd manual's example. */
static const char *const manual_lines[3] = {
    "1248952480,737235000,279737,172.16.1.1,720,38052,136315,279737,10.0.195.106,74.125.6.225,"
    "0.0.0.0,0,0,62380,80,6,0,0",
    "1248952480,737235000,279737,172.16.1.1,720,38052,136315,279737,192.76.7.154,74.125.6.225,"
    "0.0.0.0,0,0,62380,80,6,0,0",
    "1248952480,737235000,279737,172.16.1.1,1432,2027040,136315,279737,74.125.6.225,"
    "192.76.7.154,0.0.0.0,0,0,80,62380,6,0,0",
};

int main(void)
{
	struct nfv5_header h = {.now_ns = MANUAL_NOW_NS, .boot_ms = MANUAL_BOOT_MS};
	uint8_t ex[4];
	struct flow_rec r[3];
	char line[CSV_LINE_MAX];

	manual_records(r);
	inet_pton(AF_INET, "172.16.1.1", ex);
	for (int i = 0; i < 3; i++) {
		CHECK(csv_format_v5(line, sizeof line, &h, ex, &r[i]) == strlen(manual_lines[i]));
		CHECK_STR(line, manual_lines[i]);
	}
	CHECK_EQ_U64(csv_format_v5(line, 20, &h, ex, &r[0]), 0);
	/* Counters of any size print exactly. */
	r[0].packets = 4294967295u;
	r[0].proto = IPPROTO_ICMP;
	r[0].sport = 0;
	r[0].dport = 2048;
	CHECK(csv_format_v5(line, sizeof line, &h, ex, &r[0]) > 0);
	CHECK(strstr(line, ",4294967295,38052,") != NULL);
	CHECK(strstr(line, ",0,0,0,2048,1,0,0") != NULL);
	/* input and output as v5 sends them: beyond 16 bits, 0. */
	r[0].in_if = 2;
	r[0].out_if = 70000;
	CHECK(csv_format_v5(line, sizeof line, &h, ex, &r[0]) > 0);
	CHECK(strstr(line, ",0.0.0.0,2,0,0,2048,1,0,0") != NULL);
	r[0].out_if = 3;
	CHECK(csv_format_v5(line, sizeof line, &h, ex, &r[0]) > 0);
	CHECK(strstr(line, ",0.0.0.0,2,3,0,2048,1,0,0") != NULL);
	CHECK_DONE();
}
