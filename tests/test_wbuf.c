#include "check.h"
#include "wbuf.h"

static void test_big_endian(void)
{
	uint8_t buf[15];
	struct wbuf w;
	static const uint8_t want[15] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
					 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

	wbuf_init(&w, buf, sizeof buf);
	wbuf_put_u8(&w, 0x01);
	wbuf_put_u16(&w, 0x0203);
	wbuf_put_u32(&w, 0x04050607);
	wbuf_put_u64(&w, 0x08090a0b0c0d0e0full);
	CHECK(!w.overflow);
	CHECK_EQ_U64(w.len, 15);
	CHECK_MEM(buf, want, 15);
	CHECK_EQ_U64(wbuf_room(&w), 0);
}

static void test_overflow_is_sticky(void)
{
	uint8_t buf[8] = {0};
	struct wbuf w;

	wbuf_init(&w, buf, 5);
	wbuf_put_u32(&w, 0xdeadbeef);
	wbuf_put_u16(&w, 0xffff); /* does not fit: nothing written */
	CHECK(w.overflow);
	CHECK_EQ_U64(w.len, 4);
	CHECK_EQ_U64(buf[4], 0);
	wbuf_put_u8(&w, 1); /* would fit, but overflow is sticky */
	CHECK_EQ_U64(w.len, 4);
	CHECK_EQ_U64(wbuf_room(&w), 0);
}

static void test_patch(void)
{
	uint8_t buf[8];
	struct wbuf w;

	wbuf_init(&w, buf, sizeof buf);
	wbuf_put_u16(&w, 0);
	wbuf_put_u16(&w, 0);
	wbuf_patch_u16(&w, 2, 0xabcd);
	CHECK(!w.overflow);
	CHECK_EQ_U64(buf[2], 0xab);
	CHECK_EQ_U64(buf[3], 0xcd);
	wbuf_patch_u16(&w, 3, 1); /* past what was written */
	CHECK(w.overflow);
}

static void test_bytes(void)
{
	uint8_t buf[4];
	struct wbuf w;
	static const uint8_t addr[4] = {192, 0, 2, 1};

	wbuf_init(&w, buf, sizeof buf);
	wbuf_put_bytes(&w, addr, 4);
	CHECK_MEM(buf, addr, 4);
	wbuf_put_bytes(&w, addr, 1);
	CHECK(w.overflow);
}

int main(void)
{
	test_big_endian();
	test_overflow_is_sticky();
	test_patch();
	test_bytes();
	CHECK_DONE();
}
