/* wbuf: the one bounded big-endian writer through which bytes reach the wire. */
#ifndef NFFLOWD_WBUF_H
#define NFFLOWD_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool overflow; /* set once a write did not fit; later writes are dropped */
};

/* Start writing into buf[0..cap). */
void wbuf_init(struct wbuf *w, void *buf, size_t cap);
/* Append one value in network byte order; on overflow nothing is written and
 * w->overflow is set. */
void wbuf_put_u8(struct wbuf *w, uint8_t v);
void wbuf_put_u16(struct wbuf *w, uint16_t v);
void wbuf_put_u32(struct wbuf *w, uint32_t v);
void wbuf_put_u64(struct wbuf *w, uint64_t v);
/* Append a value in little-endian order: only for file formats whose writer
 * chooses its byte order (pcap), never for NetFlow or IPFIX. */
void wbuf_put_le16(struct wbuf *w, uint16_t v);
void wbuf_put_le32(struct wbuf *w, uint32_t v);
/* Append n raw bytes (addresses already in network order). */
void wbuf_put_bytes(struct wbuf *w, const void *p, size_t n);
/* Overwrite a u16 at an earlier offset (set and message lengths); an offset
 * outside what was written sets overflow. */
void wbuf_patch_u16(struct wbuf *w, size_t at, uint16_t v);
/* Bytes still free. */
size_t wbuf_room(const struct wbuf *w);

#endif
