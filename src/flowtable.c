#include "flowtable.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "nftjson.h"

static void copy_str(char *dst, size_t len, const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";

	snprintf(dst, len, "%s", s);
}

/* The flags member of a flowtable: a string or an array of strings. */
static void read_flags(struct flowtable_info *f, const json_t *flags)
{
	size_t i;
	const json_t *v;

	if (json_is_string(flags)) {
		f->flags_known = true;
		f->counter = strcmp(json_string_value(flags), "counter") == 0;
		return;
	}
	if (!json_is_array(flags))
		return;
	f->flags_known = true;
	json_array_foreach(flags, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), "counter") == 0)
			f->counter = true;
	}
}

static void add_flowtable(struct flowtable_scan *s, const json_t *o)
{
	struct flowtable_info *f;

	if (!json_is_object(o))
		return;
	if (s->n == FLOWTABLE_MAX) {
		s->more++;
		return;
	}
	f = &s->ft[s->n++];
	memset(f, 0, sizeof *f);
	copy_str(f->family, sizeof f->family, json_object_get(o, "family"));
	copy_str(f->table, sizeof f->table, json_object_get(o, "table"));
	copy_str(f->name, sizeof f->name, json_object_get(o, "name"));
	read_flags(f, json_object_get(o, "flags"));
}

/* The flowtables a rule's statements offload to: every {"flow": {"op":
 * "add", "flowtable": "@NAME"}} anywhere in v, counted once per rule. */
static void find_flow_add(const json_t *v, const char *family, const char *table,
			  struct flowtable_scan *s, bool *seen)
{
	const char *key;
	size_t i;
	json_t *e;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e) find_flow_add(e, family, table, s, seen);
		return;
	}
	if (!json_is_object(v))
		return;
	const json_t *flow = json_object_get(v, "flow");
	const json_t *op = flow ? json_object_get(flow, "op") : NULL;
	const json_t *ft = flow ? json_object_get(flow, "flowtable") : NULL;
	if (json_is_string(op) && strcmp(json_string_value(op), "add") == 0 && json_is_string(ft)) {
		const char *name = json_string_value(ft);
		name += name[0] == '@';
		for (size_t k = 0; k < s->n; k++) {
			struct flowtable_info *f = &s->ft[k];
			if (!seen[k] && strcmp(f->name, name) == 0 &&
			    strcmp(f->table, table) == 0 && strcmp(f->family, family) == 0) {
				f->rules++;
				seen[k] = true;
			}
		}
	}
	json_object_foreach((json_t *)v, key, e) find_flow_add(e, family, table, s, seen);
}

int flowtable_scan_json(const char *json, size_t len, struct flowtable_scan *s, char *err,
			size_t errlen)
{
	json_t *root, *list, *item, *o;
	size_t i;

	memset(s, 0, sizeof *s);
	if (!(list = nftjson_list(json, len, &root, err, errlen)))
		return -1;
	/* Flowtables first: a rule may come before the flowtable it names. */
	json_array_foreach(list, i, item)
	{
		if ((o = json_object_get(item, "flowtable")))
			add_flowtable(s, o);
	}
	json_array_foreach(list, i, item)
	{
		bool seen[FLOWTABLE_MAX] = {false};
		char family[16], table[FLOWTABLE_NAME_MAX];
		if (!(o = json_object_get(item, "rule")) || !json_is_object(o))
			continue;
		copy_str(family, sizeof family, json_object_get(o, "family"));
		copy_str(table, sizeof table, json_object_get(o, "table"));
		find_flow_add(json_object_get(o, "expr"), family, table, s, seen);
	}
	json_decref(root);
	return 0;
}

bool flowtable_text_counter(const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == ';'))
			n--;
		if (n == 7 && strncmp(p, "counter", 7) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

bool flowtable_freezes(const struct flowtable_info *f)
{
	return f->flags_known && !f->counter;
}

size_t flowtable_warning(const struct flowtable_info *f, char *buf, size_t len)
{
	int n =
	    snprintf(buf, len,
		     "flowtable %s %s %s has no counter flag: connections offloaded to it "
		     "(%u rule(s) flow add @%s) keep frozen conntrack counters, and their "
		     "records undercount packets and bytes; fix: add the line \"counter\" to "
		     "the definition of flowtable %s in table %s %s and load the ruleset again",
		     f->family, f->table, f->name, f->rules, f->name, f->name, f->family, f->table);

	return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

unsigned flowtable_report(const char *json, size_t len, flowtable_listing_fn listing, void *lctx,
			  flowtable_say_fn say, void *sctx, bool with_info)
{
	struct flowtable_scan s;
	char msg[1024], err[256];
	unsigned frozen = 0;

	if (flowtable_scan_json(json, len, &s, err, sizeof err) != 0) {
		snprintf(msg, sizeof msg,
			 "flow offload: cannot read the nftables ruleset (%s): flowtables that "
			 "freeze counters are not detected",
			 err);
		say(sctx, true, msg);
		return 0;
	}
	for (size_t i = 0; i < s.n; i++) {
		struct flowtable_info *f = &s.ft[i];
		const char *text = f->flags_known ? NULL : listing(lctx, f);
		if (text) {
			f->flags_known = true;
			f->counter = flowtable_text_counter(text);
		}
		if (!flowtable_freezes(f))
			continue;
		flowtable_warning(f, msg, sizeof msg);
		say(sctx, true, msg);
		frozen++;
	}
	if (with_info) {
		snprintf(msg, sizeof msg,
			 "flow offload: %zu flowtable(s), %u without counter flag%s", s.n + s.more,
			 frozen, s.more ? " (the first 32 checked)" : "");
		say(sctx, false, msg);
	}
	return frozen;
}
