/* flowtable: the flowtables that freeze counters, found in rulesets as
 * "nft -j list ruleset" prints them (tests/data/nft/), with their flags
 * from the JSON where it has them and from nft's text listing otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flowtable.h"

static char *slurp(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf = malloc(1 << 16);

	snprintf(path, sizeof path, "%s/nft/%s", TEST_DATA_DIR, name);
	f = fopen(path, "r");
	*len = f && buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
	if (f)
		fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

static int scan(const char *name, struct flowtable_scan *s, char *err, size_t errlen)
{
	size_t len;
	char *json = slurp(name, &len);
	int rc = json && len ? flowtable_scan_json(json, len, s, err, errlen) : -2;

	free(json);
	return rc;
}

/* nftables 1.0.6: no flags in the JSON; a rule offloads to ft. */
static void test_no_counter(void)
{
	static struct flowtable_scan s;
	char err[256], msg[1024];
	size_t len;

	CHECK(scan("offload-nocounter.json", &s, err, sizeof err) == 0);
	CHECK_EQ_U64(s.n, 1);
	CHECK_STR(s.ft[0].family, "inet");
	CHECK_STR(s.ft[0].table, "fw4");
	CHECK_STR(s.ft[0].name, "ft");
	CHECK_EQ_U64(s.ft[0].rules, 1);
	CHECK(!s.ft[0].flags_known);
	CHECK(!flowtable_freezes(&s.ft[0])); /* not known yet */
	/* the flags from its text listing */
	char *text = slurp("flowtable-nocounter.nft", &len);
	s.ft[0].flags_known = true;
	s.ft[0].counter = flowtable_text_counter(text);
	free(text);
	CHECK(flowtable_freezes(&s.ft[0]));
	flowtable_warning(&s.ft[0], msg, sizeof msg);
	CHECK(strstr(msg, "flowtable inet fw4 ft has no counter flag") == msg);
	CHECK(strstr(msg, "1 rule(s) flow add @ft") != NULL);
	CHECK(strstr(msg, "fix: add the line \"counter\" to the definition of flowtable ft in "
			  "table inet fw4") != NULL);
	text = slurp("flowtable-counter.nft", &len);
	CHECK(flowtable_text_counter(text));
	free(text);
	CHECK(!flowtable_text_counter("table inet t {\n\tflowtable counters {\n\t\thook ingress "
				      "priority filter\n\t}\n}\n"));
	CHECK(flowtable_text_counter("\t\tcounter;\n"));
}

/* Flags in the JSON: counter honoured; rules counted once each, per
 * family and table. */
static void test_flags_in_json(void)
{
	static struct flowtable_scan s;
	char err[256];

	CHECK(scan("offload-counter.json", &s, err, sizeof err) == 0);
	CHECK_EQ_U64(s.n, 2);
	CHECK(s.ft[0].flags_known && s.ft[0].counter);
	CHECK(!flowtable_freezes(&s.ft[0]));
	CHECK_EQ_U64(s.ft[0].rules, 1);
	CHECK_STR(s.ft[1].name, "slow");
	CHECK(s.ft[1].flags_known && !s.ft[1].counter); /* "flags": "offload" */
	CHECK(flowtable_freezes(&s.ft[1]));
	CHECK_EQ_U64(s.ft[1].rules, 2);
}

static void test_none_and_errors(void)
{
	static struct flowtable_scan s;
	char err[256];

	CHECK(scan("no-flowtable.json", &s, err, sizeof err) == 0);
	CHECK_EQ_U64(s.n, 0);
	CHECK(flowtable_scan_json("{\"nftables\": [", 14, &s, err, sizeof err) == -1);
	CHECK(strncmp(err, "not JSON", 8) == 0);
	CHECK(flowtable_scan_json("{\"tables\": []}", 14, &s, err, sizeof err) == -1);
	CHECK_STR(err, "no \"nftables\" array");
	/* a rule naming a flowtable of another table does not count */
	const char *j = "{\"nftables\": [{\"flowtable\": {\"family\": \"ip\", \"table\": \"a\", "
			"\"name\": \"f\"}}, {\"rule\": {\"family\": \"ip\", \"table\": \"b\", "
			"\"expr\": [{\"flow\": {\"op\": \"add\", \"flowtable\": \"@f\"}}]}}]}";
	CHECK(flowtable_scan_json(j, strlen(j), &s, err, sizeof err) == 0);
	CHECK_EQ_U64(s.n, 1);
	CHECK_EQ_U64(s.ft[0].rules, 0);
}

/* More flowtables than FLOWTABLE_MAX: counted. */
static void test_many(void)
{
	static struct flowtable_scan s;
	static char j[16384];
	char err[256];
	size_t n = (size_t)snprintf(j, sizeof j, "{\"nftables\": [");

	for (int i = 0; i < FLOWTABLE_MAX + 3; i++)
		n += (size_t)snprintf(j + n, sizeof j - n,
				      "%s{\"flowtable\": {\"family\": \"inet\", \"table\": \"t\", "
				      "\"name\": \"f%d\", \"flags\": []}}",
				      i ? ", " : "", i);
	n += (size_t)snprintf(j + n, sizeof j - n, "]}");
	CHECK(flowtable_scan_json(j, n, &s, err, sizeof err) == 0);
	CHECK_EQ_U64(s.n, FLOWTABLE_MAX);
	CHECK_EQ_U64(s.more, 3);
	CHECK(flowtable_freezes(&s.ft[FLOWTABLE_MAX - 1]));
}

/* What start and check say, through flowtable_report, as offload_check
 * calls it: the listing callback stands in for libnftables. */
struct said {
	char text[4096];
	unsigned warnings, listed;
};

static void say(void *ctx, bool warning, const char *msg)
{
	struct said *s = ctx;
	size_t at = strlen(s->text);

	snprintf(s->text + at, sizeof s->text - at, "%s%s\n", warning ? "W " : "I ", msg);
	s->warnings += warning;
}

static const char *listing(void *ctx, const struct flowtable_info *f)
{
	struct said *s = ctx;
	static char text[512];
	size_t len;
	char *t = slurp(strcmp(f->name, "ft") == 0 ? "flowtable-nocounter.nft" : "x", &len);

	s->listed++;
	snprintf(text, sizeof text, "%s", t ? t : "");
	free(t);
	return len ? text : NULL;
}

static void test_report(void)
{
	struct said s;
	size_t len;
	char *json;

	memset(&s, 0, sizeof s);
	json = slurp("offload-nocounter.json", &len);
	CHECK_EQ_U64(flowtable_report(json, len, listing, &s, say, &s, true), 1);
	free(json);
	CHECK_EQ_U64(s.listed, 1);
	CHECK_EQ_U64(s.warnings, 1);
	CHECK(strncmp(s.text, "W flowtable inet fw4 ft has no counter flag", 43) == 0);
	CHECK(strstr(s.text, "I flow offload: 1 flowtable(s), 1 without counter flag\n") != NULL);

	memset(&s, 0, sizeof s);
	json = slurp("offload-counter.json", &len);
	CHECK_EQ_U64(flowtable_report(json, len, listing, &s, say, &s, false), 1);
	free(json);
	CHECK_EQ_U64(s.listed, 0); /* flags in the JSON */
	CHECK(strncmp(s.text, "W flowtable ip nat slow has no counter flag", 43) == 0);
	CHECK(strstr(s.text, "flow offload:") == NULL); /* start: no summary */

	memset(&s, 0, sizeof s);
	json = slurp("no-flowtable.json", &len);
	CHECK_EQ_U64(flowtable_report(json, len, listing, &s, say, &s, true), 0);
	free(json);
	CHECK_STR(s.text, "I flow offload: 0 flowtable(s), 0 without counter flag\n");

	memset(&s, 0, sizeof s);
	CHECK_EQ_U64(flowtable_report("Error", 5, listing, &s, say, &s, true), 0);
	CHECK(strncmp(s.text, "W flow offload: cannot read the nftables ruleset (not JSON", 58) ==
	      0);
}

int main(void)
{
	test_report();
	test_no_counter();
	test_flags_in_json();
	test_none_and_errors();
	test_many();
	CHECK_DONE();
}
