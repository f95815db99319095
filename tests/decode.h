/* decode.h: decoders for what nfflowd sends, written for the tests from the
 * formats' descriptions, independently of the encoders in src/:
 *   - NetFlow v5 datagrams (Cisco's export format: a 24-byte header, then
 *     48-byte records);
 *   - NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) messages, whose data
 *     records are read by the templates received before them (field IDs,
 *     enterprise numbers and lengths as the template says), never by an
 *     assumed layout.
 * Each decoder appends the records of every datagram it is given to a list
 * and checks the framing (version, lengths, counts, set padding) and the
 * sequence numbers from one datagram to the next; what is wrong is
 * reported on stderr and counted in ->errors. */
#ifndef NFFLOWD_TEST_DECODE_H
#define NFFLOWD_TEST_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Big-endian unsigned integer of len (1..8) bytes. */
static inline uint64_t dec_be(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint16_t dec_u16(const uint8_t *p)
{
	return (uint16_t)dec_be(p, 2);
}

static inline uint32_t dec_u32(const uint8_t *p)
{
	return (uint32_t)dec_be(p, 4);
}

/* Make room for one more element of size sz in *arr (n used, *cap room). */
static inline void *dec_grow(void *arr, size_t n, size_t *cap, size_t sz)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 64;
	arr = realloc(arr, *cap * sz);
	if (!arr) {
		fprintf(stderr, "decode: out of memory\n");
		abort();
	}
	return arr;
}

/* ---- NetFlow v5 --------------------------------------------------------- */

#define DEC_V5_HEADER_LEN 24
#define DEC_V5_RECORD_LEN 48
#define DEC_V5_MAX_COUNT  30

/* One v5 record, with the header fields of its datagram. */
struct dec_v5_rec {
	uint8_t src[4], dst[4], nexthop[4];
	uint16_t input, output;
	uint32_t packets, bytes;
	uint32_t first, last; /* sysUptime ms */
	uint16_t sport, dport;
	uint8_t tcp_flags, proto, tos;
	/* the header */
	uint32_t uptime, unix_secs, unix_nsecs, flow_sequence;
	uint8_t engine_type, engine_id;
};

struct dec_v5 {
	struct dec_v5_rec *recs;
	size_t n, cap;
	size_t dgrams;
	uint32_t next_seq; /* flow_sequence: records sent before */
	unsigned errors;
};

static inline bool dec_v5_fail(struct dec_v5 *d, const char *what, uint64_t got)
{
	fprintf(stderr, "v5 datagram %zu: %s (%llu)\n", d->dgrams, what, (unsigned long long)got);
	d->errors++;
	return false;
}

static inline void dec_v5_record(struct dec_v5 *d, const uint8_t *h, const uint8_t *p)
{
	struct dec_v5_rec *r;

	d->recs = dec_grow(d->recs, d->n, &d->cap, sizeof *d->recs);
	r = &d->recs[d->n++];
	memset(r, 0, sizeof *r);
	memcpy(r->src, p, 4);
	memcpy(r->dst, p + 4, 4);
	memcpy(r->nexthop, p + 8, 4);
	r->input = dec_u16(p + 12);
	r->output = dec_u16(p + 14);
	r->packets = dec_u32(p + 16);
	r->bytes = dec_u32(p + 20);
	r->first = dec_u32(p + 24);
	r->last = dec_u32(p + 28);
	r->sport = dec_u16(p + 32);
	r->dport = dec_u16(p + 34);
	r->tcp_flags = p[37];
	r->proto = p[38];
	r->tos = p[39];
	r->uptime = dec_u32(h + 4);
	r->unix_secs = dec_u32(h + 8);
	r->unix_nsecs = dec_u32(h + 12);
	r->flow_sequence = dec_u32(h + 16);
	r->engine_type = h[20];
	r->engine_id = h[21];
}

/* Decode one datagram; false (counted) if it is not a well-formed v5
 * datagram continuing the stream's sequence. */
static inline bool dec_v5_datagram(struct dec_v5 *d, const uint8_t *buf, size_t len)
{
	size_t count;
	bool ok = true;

	if (len < DEC_V5_HEADER_LEN)
		return dec_v5_fail(d, "shorter than a header", len);
	if (dec_u16(buf) != 5)
		return dec_v5_fail(d, "version is not 5", dec_u16(buf));
	count = dec_u16(buf + 2);
	if (count == 0 || count > DEC_V5_MAX_COUNT)
		return dec_v5_fail(d, "count out of 1..30", count);
	if (len != DEC_V5_HEADER_LEN + count * DEC_V5_RECORD_LEN)
		return dec_v5_fail(d, "length does not match the count", len);
	if (dec_u32(buf + 16) != d->next_seq)
		ok = dec_v5_fail(d, "flow_sequence is not the records sent before",
				 dec_u32(buf + 16));
	for (size_t i = 0; i < count; i++)
		dec_v5_record(d, buf, buf + DEC_V5_HEADER_LEN + i * DEC_V5_RECORD_LEN);
	d->next_seq = dec_u32(buf + 16) + (uint32_t)count;
	d->dgrams++;
	return ok;
}

static inline void dec_v5_free(struct dec_v5 *d)
{
	free(d->recs);
	memset(d, 0, sizeof *d);
}

/* ---- NetFlow v9 and IPFIX ----------------------------------------------- */

#define DEC_MAX_FIELDS	  64
#define DEC_MAX_TEMPLATES 16
#define DEC_VALUE_MAX	  16 /* longest field kept (an IPv6 address) */

struct dec_field {
	uint16_t id; /* without the enterprise bit */
	uint32_t pen;
	uint16_t len;
};

struct dec_template {
	uint16_t id;
	size_t n;
	size_t scope; /* options templates: the first scope fields are its scope */
	struct dec_field f[DEC_MAX_FIELDS];
};

struct dec_value {
	struct dec_field f;
	uint8_t raw[DEC_VALUE_MAX];
};

/* One data record as its template described it, with its message's header. */
struct dec_rec {
	uint16_t template_id;
	size_t n;
	struct dec_value v[DEC_MAX_FIELDS];
	uint32_t export_secs; /* v9 UNIX Secs, IPFIX Export Time */
	uint32_t uptime;      /* v9 sysUpTime; 0 in IPFIX */
};

struct dec_ipx {
	int version; /* 9 or 10: messages of another version are errors */
	struct dec_template t[DEC_MAX_TEMPLATES];
	size_t nt;
	struct dec_rec *recs;
	size_t n, cap;
	size_t msgs;	     /* messages decoded */
	size_t tmpl_msgs;    /* of which carried templates */
	size_t tmpl_records; /* template records seen */
	uint32_t next_seq;   /* v9: messages sent before; IPFIX: data records sent before */
	unsigned errors;
};

/* Set IDs: RFC 3954 §5.2 (v9: 0 template, 1 options template) and RFC 7011
 * §3.3.2 (IPFIX: 2 template, 3 options template); data sets from 256. */
#define DEC_V9_TEMPLATE_SET    0
#define DEC_V9_OPTIONS_SET     1
#define DEC_IPFIX_TEMPLATE_SET 2
#define DEC_IPFIX_OPTIONS_SET  3
#define DEC_FIRST_DATA_SET     256
#define DEC_ENTERPRISE_BIT     0x8000u
/* v9 scope fields (RFC 3954 §6.1: 1 System, 2 Interface, ...) are kept with
 * this pen, so that their types do not look like IANA's IEs. */
#define DEC_V9_SCOPE_PEN 0xffffffffu

static inline void dec_ipx_init(struct dec_ipx *d, int version)
{
	memset(d, 0, sizeof *d);
	d->version = version;
}

static inline void dec_ipx_free(struct dec_ipx *d)
{
	free(d->recs);
	dec_ipx_init(d, d->version);
}

static inline bool dec_ipx_fail(struct dec_ipx *d, const char *what, uint64_t got)
{
	fprintf(stderr, "v%d message %zu: %s (%llu)\n", d->version, d->msgs, what,
		(unsigned long long)got);
	d->errors++;
	return false;
}

static inline struct dec_template *dec_ipx_template(struct dec_ipx *d, uint16_t id)
{
	for (size_t i = 0; i < d->nt; i++)
		if (d->t[i].id == id)
			return &d->t[i];
	return NULL;
}

static inline size_t dec_template_len(const struct dec_template *t)
{
	size_t len = 0;

	for (size_t i = 0; i < t->n; i++)
		len += t->f[i].len;
	return len;
}

/* One field specifier at p + *off into f (IPFIX: with its PEN); false if it
 * does not fit or has a length nfflowd never sends. */
static inline bool dec_ipx_field(struct dec_ipx *d, const uint8_t *p, size_t len, size_t *off,
				 struct dec_field *f)
{
	if (*off + 4 > len)
		return false;
	f->id = dec_u16(p + *off);
	f->len = dec_u16(p + *off + 2);
	f->pen = 0;
	*off += 4;
	if (d->version == 10 && (f->id & DEC_ENTERPRISE_BIT)) {
		if (*off + 4 > len)
			return false;
		f->id &= (uint16_t)~DEC_ENTERPRISE_BIT;
		f->pen = dec_u32(p + *off);
		*off += 4;
	}
	return f->len != 0 && (f->len <= 8 || f->len == DEC_VALUE_MAX);
}

/* Keep t, replacing a template of its ID seen before; false if there is
 * no room for another. */
static inline bool dec_ipx_keep(struct dec_ipx *d, const struct dec_template *t)
{
	struct dec_template *slot = dec_ipx_template(d, t->id);

	if (!slot && d->nt == DEC_MAX_TEMPLATES)
		return false;
	*(slot ? slot : &d->t[d->nt++]) = *t;
	d->tmpl_records++;
	return true;
}

/* One template record at p (at most len bytes); returns its length, 0 if
 * it does not fit. A template ID seen before is replaced. */
static inline size_t dec_ipx_template_record(struct dec_ipx *d, const uint8_t *p, size_t len)
{
	struct dec_template t = {.id = 0};
	size_t off = 4, count;

	if (len < 4)
		return 0;
	t.id = dec_u16(p);
	count = dec_u16(p + 2);
	if (t.id < DEC_FIRST_DATA_SET || count == 0 || count > DEC_MAX_FIELDS)
		return 0;
	for (size_t i = 0; i < count; i++)
		if (!dec_ipx_field(d, p, len, &off, &t.f[t.n++]))
			return 0;
	return dec_ipx_keep(d, &t) ? off : 0;
}

/* One options template record at p: IPFIX (RFC 7011 §3.4.2.2: Template ID,
 * Field Count, Scope Field Count, the fields, scope first) or v9 (RFC 3954
 * §6.1: Template ID, Option Scope Length, Option Length in bytes, the scope
 * fields, then the option fields). Returns its length, 0 if malformed. */
static inline size_t dec_ipx_options_record(struct dec_ipx *d, const uint8_t *p, size_t len)
{
	struct dec_template t = {.id = 0};
	size_t off, count, scope;

	if (len < 6)
		return 0;
	t.id = dec_u16(p);
	if (d->version == 10) {
		count = dec_u16(p + 2);
		scope = dec_u16(p + 4);
	} else {
		if (dec_u16(p + 2) % 4 || dec_u16(p + 4) % 4)
			return 0;
		scope = dec_u16(p + 2) / 4u;
		count = scope + dec_u16(p + 4) / 4u;
	}
	off = 6;
	if (t.id < DEC_FIRST_DATA_SET || scope == 0 || scope > count || count > DEC_MAX_FIELDS)
		return 0;
	for (size_t i = 0; i < count; i++) {
		struct dec_field *f = &t.f[t.n++];
		if (!dec_ipx_field(d, p, len, &off, f))
			return 0;
		if (d->version == 9 && i < scope)
			f->pen = DEC_V9_SCOPE_PEN;
	}
	t.scope = scope;
	return dec_ipx_keep(d, &t) ? off : 0;
}

/* A set of records each read by rec (which returns the bytes used, 0 on an
 * error) while at least min bytes are left, then at most 3 bytes of zero
 * padding. Returns the number of records, or -1. */
static inline int dec_ipx_records(struct dec_ipx *d, const uint8_t *p, size_t len, size_t min,
				  size_t (*rec)(struct dec_ipx *, const uint8_t *, size_t))
{
	size_t off = 0, used;
	int n = 0;

	while (len - off >= min) {
		used = rec(d, p + off, len - off);
		if (!used)
			return -1;
		off += used;
		n++;
	}
	for (; off < len; off++)
		if (p[off] != 0)
			return -1;
	return n;
}

/* An options template set's body, as a template set's. */
static inline int dec_ipx_options_set(struct dec_ipx *d, const uint8_t *p, size_t len)
{
	return dec_ipx_records(d, p, len, 6, dec_ipx_options_record);
}

/* A template set's body: template records, then at most 3 bytes of zero
 * padding. Returns the number of records, or -1. */
static inline int dec_ipx_template_set(struct dec_ipx *d, const uint8_t *p, size_t len)
{
	return dec_ipx_records(d, p, len, 4, dec_ipx_template_record);
}

static inline void dec_ipx_record(struct dec_ipx *d, const struct dec_template *t, const uint8_t *p,
				  const uint8_t *hdr)
{
	struct dec_rec *r;
	size_t off = 0;

	d->recs = dec_grow(d->recs, d->n, &d->cap, sizeof *d->recs);
	r = &d->recs[d->n++];
	memset(r, 0, sizeof *r);
	r->template_id = t->id;
	r->n = t->n;
	for (size_t i = 0; i < t->n; i++) {
		r->v[i].f = t->f[i];
		memcpy(r->v[i].raw, p + off, t->f[i].len);
		off += t->f[i].len;
	}
	r->export_secs = dec_u32(hdr + (d->version == 9 ? 8 : 4));
	r->uptime = d->version == 9 ? dec_u32(hdr + 4) : 0;
}

/* A data set's body: records of its template, then padding shorter than a
 * record (v9: fewer than 4 bytes, zero). Returns the number, or -1. */
static inline int dec_ipx_data_set(struct dec_ipx *d, uint16_t id, const uint8_t *p, size_t len,
				   const uint8_t *hdr)
{
	const struct dec_template *t = dec_ipx_template(d, id);
	size_t rlen, off = 0;
	int n = 0;

	if (!t)
		return -1; /* no template received for it */
	rlen = dec_template_len(t);
	for (; len - off >= rlen; off += rlen, n++)
		dec_ipx_record(d, t, p + off, hdr);
	if (len - off >= 4)
		return -1;
	for (; off < len; off++)
		if (p[off] != 0)
			return -1;
	return n;
}

/* The sets after the header: returns template + data records, or -1. */
static inline int dec_ipx_sets(struct dec_ipx *d, const uint8_t *buf, size_t hlen, size_t len,
			       unsigned *data)
{
	uint16_t tmpl_set = d->version == 9 ? DEC_V9_TEMPLATE_SET : DEC_IPFIX_TEMPLATE_SET;
	uint16_t opt_set = d->version == 9 ? DEC_V9_OPTIONS_SET : DEC_IPFIX_OPTIONS_SET;
	size_t off = hlen;
	int total = 0, n;
	bool tmpl = false;

	while (off < len) {
		if (len - off < 4)
			return -1;
		uint16_t id = dec_u16(buf + off), slen = dec_u16(buf + off + 2);
		if (slen < 4 || slen > len - off || (d->version == 9 && slen % 4))
			return -1;
		if (id == tmpl_set) {
			n = dec_ipx_template_set(d, buf + off + 4, slen - 4u);
			tmpl = true;
		} else if (id == opt_set) {
			n = dec_ipx_options_set(d, buf + off + 4, slen - 4u);
		} else if (id >= DEC_FIRST_DATA_SET) {
			n = dec_ipx_data_set(d, id, buf + off + 4, slen - 4u, buf);
			*data += n > 0 ? (unsigned)n : 0;
		} else {
			return -1;
		}
		if (n < 0)
			return -1;
		total += n;
		off += slen;
	}
	d->tmpl_msgs += tmpl;
	return total;
}

/* Decode one message; false (counted) if it is malformed, has records of a
 * template never received, or breaks the sequence. */
static inline bool dec_ipx_message(struct dec_ipx *d, const uint8_t *buf, size_t len)
{
	size_t hlen = d->version == 9 ? 20 : 16;
	unsigned data = 0;
	bool ok = true;
	int recs;

	if (len < hlen)
		return dec_ipx_fail(d, "shorter than a header", len);
	if (dec_u16(buf) != d->version)
		return dec_ipx_fail(d, "wrong version", dec_u16(buf));
	if (d->version == 10 && dec_u16(buf + 2) != len)
		return dec_ipx_fail(d, "IPFIX Length is not the message length", dec_u16(buf + 2));
	uint32_t seq = dec_u32(buf + (d->version == 9 ? 12 : 8));
	if (seq != d->next_seq)
		ok = dec_ipx_fail(d, "sequence number", seq);
	recs = dec_ipx_sets(d, buf, hlen, len, &data);
	if (recs < 0)
		ok = dec_ipx_fail(d, "malformed set or unknown template", len);
	else if (d->version == 9 && dec_u16(buf + 2) != (unsigned)recs)
		ok = dec_ipx_fail(d, "v9 Count is not the records in the packet", dec_u16(buf + 2));
	d->next_seq = seq + (d->version == 9 ? 1u : data);
	d->msgs++;
	return ok;
}

/* The value of field id (IANA's, pen 0, or an enterprise's) in r, or NULL. */
static inline const struct dec_value *dec_find(const struct dec_rec *r, uint16_t id, uint32_t pen)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].f.id == id && r->v[i].f.pen == pen)
			return &r->v[i];
	return NULL;
}

/* A numeric field (any length up to 8), 0 when absent. */
static inline uint64_t dec_num(const struct dec_rec *r, uint16_t id, uint32_t pen)
{
	const struct dec_value *v = dec_find(r, id, pen);

	return v && v->f.len <= 8 ? dec_be(v->raw, v->f.len) : 0;
}

/* An address field of len bytes, or NULL when absent or of another length. */
static inline const uint8_t *dec_addr(const struct dec_rec *r, uint16_t id, size_t len)
{
	const struct dec_value *v = dec_find(r, id, 0);

	return v && v->f.len == len ? v->raw : NULL;
}

#endif
