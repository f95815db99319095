#include "portblock.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nftjson.h"

/* The order of portblock_set: addresses bytewise (network order), then
 * ports numerically. */
static int cmp(const void *a, const void *b)
{
	const struct portblock *x = a, *y = b;
	int c = memcmp(x->src, y->src, sizeof x->src);

	if (c == 0)
		c = memcmp(x->xsrc, y->xsrc, sizeof x->xsrc);
	if (c == 0)
		c = (x->start > y->start) - (x->start < y->start);
	if (c == 0)
		c = (x->end > y->end) - (x->end < y->end);
	return c;
}

static bool addr4(const json_t *v, uint8_t out[4])
{
	return json_is_string(v) && inet_pton(AF_INET, json_string_value(v), out) == 1;
}

static bool port(const json_t *v, uint16_t *out)
{
	json_int_t p = json_is_integer(v) ? json_integer_value(v) : -1;

	if (p < 0 || p > 65535)
		return false;
	*out = (uint16_t)p;
	return true;
}

/* One map entry: ["SRC", {"concat": ["XSRC", PORT | {"range": [A, B]}]}]. */
static bool parse_entry(const json_t *e, struct portblock *b)
{
	const json_t *data, *concat, *p, *range;

	memset(b, 0, sizeof *b);
	if (!json_is_array(e) || json_array_size(e) != 2 || !addr4(json_array_get(e, 0), b->src))
		return false;
	data = json_array_get(e, 1);
	concat = json_is_object(data) ? json_object_get(data, "concat") : NULL;
	if (!json_is_array(concat) || json_array_size(concat) != 2 ||
	    !addr4(json_array_get(concat, 0), b->xsrc))
		return false;
	p = json_array_get(concat, 1);
	if (port(p, &b->start)) {
		b->end = b->start;
		return true;
	}
	range = json_is_object(p) ? json_object_get(p, "range") : NULL;
	return json_is_array(range) && json_array_size(range) == 2 &&
	       port(json_array_get(range, 0), &b->start) &&
	       port(json_array_get(range, 1), &b->end) && b->start <= b->end;
}

static int add_entries(struct portblock_set *s, const json_t *list)
{
	size_t i;
	const json_t *e;
	struct portblock b;

	json_array_foreach(list, i, e)
	{
		if (!parse_entry(e, &b)) {
			s->skipped++;
			continue;
		}
		if (s->n == PORTBLOCK_MAX) {
			s->more++;
			continue;
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			struct portblock *nb = realloc(s->b, cap * sizeof *nb);
			if (!nb)
				return -1;
			s->b = nb;
			s->cap = cap;
		}
		s->b[s->n++] = b;
	}
	return 0;
}

static bool is_str(const json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

/* The named map a rule's "@NAME" refers to, in family and table. */
static const json_t *named_map(const json_t *list, const char *family, const char *table,
			       const char *name)
{
	size_t i;
	const json_t *item, *m;

	json_array_foreach(list, i, item)
	{
		m = json_object_get(item, "map");
		if (is_str(json_object_get(m, "family"), family) &&
		    is_str(json_object_get(m, "table"), table) &&
		    is_str(json_object_get(m, "name"), name))
			return m;
	}
	return NULL;
}

/* A rule's snat statements whose address is a map keyed by ip saddr, in a
 * table of family ip or inet (where "snat ip to" names IPv4). */
static int scan_rule(struct portblock_set *s, const json_t *list, const json_t *rule)
{
	const json_t *expr = json_object_get(rule, "expr"), *st;
	const char *family = json_string_value(json_object_get(rule, "family"));
	const char *table = json_string_value(json_object_get(rule, "table"));
	size_t i;

	if (!json_is_array(expr) || !family || !table ||
	    (strcmp(family, "ip") != 0 && strcmp(family, "inet") != 0))
		return 0;
	json_array_foreach(expr, i, st)
	{
		const json_t *snat = json_object_get(st, "snat");
		const json_t *map = json_object_get(json_object_get(snat, "addr"), "map");
		const json_t *key = json_object_get(json_object_get(map, "key"), "payload");
		const json_t *data = json_object_get(map, "data");
		if (!is_str(json_object_get(key, "protocol"), "ip") ||
		    !is_str(json_object_get(key, "field"), "saddr"))
			continue;
		if (json_is_string(data) && json_string_value(data)[0] == '@') {
			const json_t *m =
			    named_map(list, family, table, json_string_value(data) + 1);
			data = m ? json_object_get(m, "elem") : NULL;
			if (json_is_array(data) && add_entries(s, data) != 0)
				return -1;
			continue;
		}
		if (json_is_object(data) && json_is_array(json_object_get(data, "set")) &&
		    add_entries(s, json_object_get(data, "set")) != 0)
			return -1;
	}
	return 0;
}

int portblock_scan_json(const char *json, size_t len, struct portblock_set *s, char *err,
			size_t errlen)
{
	json_t *root, *list, *item, *rule;
	size_t i;
	int rc = 0;

	s->n = s->skipped = s->more = 0;
	if (!(list = nftjson_list(json, len, &root, err, errlen)))
		return -1;
	json_array_foreach(list, i, item)
	{
		rule = json_object_get(item, "rule");
		if (json_is_object(rule) && (rc = scan_rule(s, list, rule)) != 0)
			break;
	}
	json_decref(root);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (s->n)
		qsort(s->b, s->n, sizeof *s->b, cmp);
	/* the same block twice (two rules, one map): once */
	size_t w = 0;
	for (size_t r = 0; r < s->n; r++)
		if (w == 0 || cmp(&s->b[w - 1], &s->b[r]) != 0)
			s->b[w++] = s->b[r];
	s->n = w;
	return 0;
}

void portblock_free(struct portblock_set *s)
{
	free(s->b);
	memset(s, 0, sizeof *s);
}

/* The blocks of a that b has not, through fn with alloc. */
static size_t missing(const struct portblock_set *a, const struct portblock_set *b, bool alloc,
		      portblock_event_fn fn, void *ctx)
{
	size_t calls = 0, j = 0;

	for (size_t i = 0; i < a->n; i++) {
		while (j < b->n && cmp(&b->b[j], &a->b[i]) < 0)
			j++;
		if (j < b->n && cmp(&b->b[j], &a->b[i]) == 0)
			continue;
		fn(ctx, &a->b[i], alloc);
		calls++;
	}
	return calls;
}

size_t portblock_diff(const struct portblock_set *old, const struct portblock_set *fresh,
		      portblock_event_fn fn, void *ctx)
{
	size_t calls = missing(old, fresh, false, fn, ctx);

	return calls + missing(fresh, old, true, fn, ctx);
}

uint16_t portblock_num_ports(const struct portblock *b)
{
	unsigned n = (unsigned)b->end - b->start + 1u;

	return n > UINT16_MAX ? UINT16_MAX : (uint16_t)n; /* 0-65535: 65536 does not fit */
}

bool portblock_inside(const struct portblock_set *s, const struct ct_event *ev)
{
	if (ev->family != AF_INET)
		return false;
	/* the blocks are sorted by src first: find the first of orig.src */
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(s->b[mid].src, ev->orig.src, 4) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < s->n && memcmp(s->b[i].src, ev->orig.src, 4) == 0; i++)
		if (memcmp(s->b[i].xsrc, ev->reply.dst, 4) == 0 &&
		    ev->reply.dport >= s->b[i].start && ev->reply.dport <= s->b[i].end)
			return true;
	return false;
}
