#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "check.h"
#include "ifcache.h"

static void a4(const char *text, uint8_t out[16])
{
	CHECK(inet_pton(AF_INET, text, out) == 1);
}

/* A lookup is found again for the same family and address only; a clear
 * forgets everything; the table never grows. */
static void test_get_put_clear(struct ifcache *c)
{
	uint8_t a[16] = {0}, b[16] = {0}, six[16] = {0};
	uint32_t ifx = 99;

	ifcache_clear(c);
	a4("10.0.0.1", a);
	a4("10.0.0.2", b);
	CHECK(inet_pton(AF_INET6, "::a00:1", six) == 1);
	CHECK(!ifcache_get(c, AF_INET, a, &ifx));
	ifcache_put(c, AF_INET, a, 2);
	ifcache_put(c, AF_INET, b, 0); /* no route: remembered as well */
	CHECK(ifcache_get(c, AF_INET, a, &ifx));
	CHECK_EQ_U64(ifx, 2);
	CHECK(ifcache_get(c, AF_INET, b, &ifx));
	CHECK_EQ_U64(ifx, 0);
	CHECK(!ifcache_get(c, AF_INET6, six, &ifx)); /* same bytes, other family */
	CHECK(!ifcache_get(c, AF_INET6, a, &ifx));
	ifcache_clear(c);
	CHECK(!ifcache_get(c, AF_INET, a, &ifx));
	CHECK_EQ_U64(c->hits, 2);
	CHECK_EQ_U64(c->misses, 4);
}

/* Many more addresses than slots: a newer one takes its slot, and what is
 * found is always right. */
static void test_bounded(struct ifcache *c)
{
	uint8_t a[16] = {0};
	unsigned found = 0, wrong = 0;

	ifcache_clear(c);
	for (uint32_t i = 0; i < 4 * IFCACHE_SLOTS; i++) {
		a[0] = 10;
		a[1] = (uint8_t)(i >> 16);
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		ifcache_put(c, AF_INET, a, i + 1);
	}
	for (uint32_t i = 0; i < 4 * IFCACHE_SLOTS; i++) {
		uint32_t ifx;
		a[1] = (uint8_t)(i >> 16);
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		if (ifcache_get(c, AF_INET, a, &ifx)) {
			found++;
			wrong += ifx != i + 1;
		}
	}
	CHECK(found > 0 && found <= IFCACHE_SLOTS);
	CHECK_EQ_U64(wrong, 0);
}

int main(void)
{
	struct ifcache *c = calloc(1, sizeof *c);

	CHECK(c != NULL);
	if (c) {
		test_get_put_clear(c);
		test_bounded(c);
	}
	free(c);
	CHECK_DONE();
}
