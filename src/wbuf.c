#include "wbuf.h"

#include <string.h>

void wbuf_init(struct wbuf *w, void *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
	w->overflow = false;
}

static bool reserve(struct wbuf *w, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return false;
	}
	return true;
}

static void put_be(struct wbuf *w, uint64_t v, size_t n)
{
	if (!reserve(w, n))
		return;
	for (size_t i = 0; i < n; i++)
		w->buf[w->len + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	w->len += n;
}

void wbuf_put_u8(struct wbuf *w, uint8_t v)
{
	put_be(w, v, 1);
}

void wbuf_put_u16(struct wbuf *w, uint16_t v)
{
	put_be(w, v, 2);
}

void wbuf_put_u32(struct wbuf *w, uint32_t v)
{
	put_be(w, v, 4);
}

void wbuf_put_u64(struct wbuf *w, uint64_t v)
{
	put_be(w, v, 8);
}

static void put_le(struct wbuf *w, uint32_t v, size_t n)
{
	if (!reserve(w, n))
		return;
	for (size_t i = 0; i < n; i++)
		w->buf[w->len + i] = (uint8_t)(v >> (8 * i));
	w->len += n;
}

void wbuf_put_le16(struct wbuf *w, uint16_t v)
{
	put_le(w, v, 2);
}

void wbuf_put_le32(struct wbuf *w, uint32_t v)
{
	put_le(w, v, 4);
}

void wbuf_put_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void wbuf_patch_u16(struct wbuf *w, size_t at, uint16_t v)
{
	if (at > w->len || w->len - at < 2) {
		w->overflow = true;
		return;
	}
	w->buf[at] = (uint8_t)(v >> 8);
	w->buf[at + 1] = (uint8_t)v;
}

size_t wbuf_room(const struct wbuf *w)
{
	return w->overflow ? 0 : w->cap - w->len;
}
