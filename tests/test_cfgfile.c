/* test_cfgfile: the Config::General-style parser, from buffers. */
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "check.h"

static char err[512];

static struct cfg_node *parse(const char *text)
{
	struct cfg_node *root = NULL;
	if (cfgfile_parse(text, strlen(text), "t.conf", &root, err, sizeof err) != 0)
		return NULL;
	return root;
}

/* The error message for text, or "" if it parsed. */
static const char *parse_error(const char *text)
{
	struct cfg_node *root = NULL;
	int rc = cfgfile_parse(text, strlen(text), "t.conf", &root, err, sizeof err);
	if (rc == 0) {
		cfgfile_free(root);
		return "";
	}
	CHECK(root == NULL);
	return err;
}

/* The i-th child of n (0-based), or NULL. */
static const struct cfg_node *nth(const struct cfg_node *n, int i)
{
	const struct cfg_node *c = n ? n->child : NULL;
	while (c && i-- > 0)
		c = c->next;
	return c;
}

static size_t count(const struct cfg_node *n)
{
	size_t k = 0;
	for (const struct cfg_node *c = n->child; c; c = c->next)
		k++;
	return k;
}

/* Parse "text" and check that it holds one key with the given value. */
static void check_value(const char *text, const char *key, const char *value)
{
	struct cfg_node *root = parse(text);
	CHECK(root != NULL);
	if (!root) {
		fprintf(stderr, "  parsing \"%s\": %s\n", text, err);
		return;
	}
	CHECK_EQ_U64(count(root), 1);
	CHECK_STR(nth(root, 0)->name, key);
	CHECK_STR(nth(root, 0)->value, value);
	CHECK(!nth(root, 0)->is_block);
	cfgfile_free(root);
}

static void test_root(void)
{
	struct cfg_node *root = parse("");
	CHECK(root != NULL);
	CHECK_STR(root->name, "");
	CHECK_STR(root->file, "t.conf");
	CHECK(root->is_block);
	CHECK(root->child == NULL);
	cfgfile_free(root);
	root = parse("\n\n   \n\t\n# only comments\n");
	CHECK(root && root->child == NULL);
	cfgfile_free(root);
	cfgfile_free(NULL);
}

static void test_key_forms(void)
{
	check_value("key value", "key", "value");
	check_value("key value\n", "key", "value");
	check_value("   key    value   \n", "key", "value");
	check_value("key=value", "key", "value");
	check_value("key = value", "key", "value");
	check_value("key\t=\tvalue", "key", "value");
	check_value("key value with  spaces", "key", "value with  spaces");
	check_value("key value = x", "key", "value = x");
	check_value("key = = x", "key", "= x");
	check_value("key", "key", "");
	check_value("key =", "key", "");
	check_value("key = ", "key", "");
	check_value("format -V5 -s %s/%s/%s", "format", "-V5 -s %s/%s/%s");
}

static void test_comments(void)
{
	check_value("# comment\nkey value\n", "key", "value");
	check_value("key value # trailing", "key", "value");
	check_value("key value#trailing", "key", "value");
	check_value("key a\\#b", "key", "a#b");
	check_value("key \"a # b\"", "key", "a # b");
	check_value("key a /* inline */ b", "key", "a   b");
	check_value("/* one line */ key value", "key", "value");
	check_value("/* several\n lines\n */\nkey value", "key", "value");
	check_value("/* several\n lines */ key value", "key", "value");
	check_value("key /var/*/x", "key", "/var/*/x");
	check_value("key /var/log/*.log", "key", "/var/log/*.log");
	check_value("key \"/* kept */\"", "key", "/* kept */");
	check_value("key a */ b", "key", "a */ b");
}

static void test_quotes(void)
{
	check_value("key \"  spaced  value  \"", "key", "  spaced  value  ");
	check_value("key \"\"", "key", "");
	check_value("key \"a\" \"b\"", "key", "a\" \"b");
	check_value("key a\"b\"c", "key", "a\"b\"c");
	check_value("key \"a\\\"b\"", "key", "a\"b");
	check_value("key a\\\\b", "key", "a\\b");
	check_value("key a\\$b", "key", "a$b");
	check_value("key a\\nb", "key", "a\\nb");
}

static void test_continuation(void)
{
	check_value("key one \\\n  two \\\n\tthree\n", "key", "one two three");
	check_value("key one\\\ntwo", "key", "onetwo");
	check_value("key one \\   \ntwo", "key", "one two");
	check_value("key one \\ # comment\ntwo", "key", "one two");
	check_value("key \\\\", "key", "\\");
	check_value("key a \\\\\\\nb", "key", "a \\b");
	check_value("key \"a \\\n b\"", "key", "a b");
	check_value("key a \\", "key", "a");
	struct cfg_node *root = parse("key \\\n\nother x");
	CHECK(root && count(root) == 2);
	CHECK_STR(nth(root, 0)->value, "");
	CHECK_STR(nth(root, 1)->value, "x");
	cfgfile_free(root);
	root = parse("\n\nkey a \\\n b \\\n c\nnext 1\n");
	CHECK(root && nth(root, 0)->line == 3 && nth(root, 1)->line == 6);
	cfgfile_free(root);
}

static void test_heredoc(void)
{
	check_value("key <<EOF\nline one\n  line two\nEOF\n", "key", "line one\n  line two");
	check_value("key = <<EOF\nx # not a comment\nEOF", "key", "x # not a comment");
	check_value("key=<<END\n\ta\n\t  b\n\tEND\n", "key", "a\n  b");
	check_value("key <<EOF\nEOF\n", "key", "");
	check_value("key <<EOF\r\nA\r\nB\r\nEOF\r\n", "key", "A\nB");
	check_value("key << EOF # comment\n\"quoted\"\n  EOF  \n", "key", "\"quoted\"");
	check_value("key <<", "key", "<<");
	check_value("key a<<b", "key", "a<<b");
	struct cfg_node *root = parse("a <<X\n1\n2\nX\nb 2\n");
	CHECK(root && count(root) == 2);
	CHECK(root && nth(root, 0)->line == 1 && nth(root, 1)->line == 5);
	CHECK_STR(nth(root, 1)->value, "2");
	cfgfile_free(root);
}

static void test_blocks(void)
{
	struct cfg_node *root = parse("<outer>\n"
				      "  a 1\n"
				      "  <inner name>\n"
				      "    b 2\n"
				      "  </inner>\n"
				      "  a 3\n"
				      "</outer>\n"
				      "<e/>\n"
				      "<\"quoted name\" \"an arg\">\n"
				      "</\"quoted name\">\n"
				      "<x  spaced arg  >\n"
				      "</x>\n");
	CHECK(root != NULL);
	if (!root) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK_EQ_U64(count(root), 4);
	const struct cfg_node *outer = nth(root, 0);
	CHECK(outer->is_block && outer->value == NULL && outer->line == 1);
	CHECK_STR(outer->name, "outer");
	CHECK_EQ_U64(count(outer), 3);
	CHECK_STR(nth(outer, 0)->value, "1");
	CHECK_STR(nth(outer, 2)->value, "3");
	const struct cfg_node *inner = nth(outer, 1);
	CHECK(inner->is_block && inner->line == 3);
	CHECK_STR(inner->name, "inner");
	CHECK_STR(inner->value, "name");
	CHECK_STR(nth(inner, 0)->name, "b");
	CHECK(nth(inner, 0)->line == 4);
	CHECK_STR(nth(inner, 0)->file, "t.conf");
	CHECK(nth(inner, 0)->file == root->file);
	CHECK(nth(root, 1)->is_block && nth(root, 1)->child == NULL);
	CHECK_STR(nth(root, 1)->name, "e");
	CHECK_STR(nth(root, 2)->name, "quoted name");
	CHECK_STR(nth(root, 2)->value, "an arg");
	CHECK_STR(nth(root, 3)->value, "spaced arg");
	cfgfile_free(root);
}

static void test_repeated_and_crlf(void)
{
	struct cfg_node *root = parse("<flow_send>\r\n"
				      "    args 192.0.2.1\r\n"
				      "    args 192.0.2.9\r\n"
				      "    args 2055\r\n"
				      "</flow_send>\r\n");
	CHECK(root != NULL);
	const struct cfg_node *b = nth(root, 0);
	CHECK(b && count(b) == 3);
	CHECK_STR(nth(b, 0)->value, "192.0.2.1");
	CHECK_STR(nth(b, 1)->value, "192.0.2.9");
	CHECK_STR(nth(b, 2)->value, "2055");
	CHECK(nth(b, 2)->line == 4);
	cfgfile_free(root);
}

static void test_nesting_limit(void)
{
	char text[32 * 12 * 2 + 64];
	size_t o = 0;
	for (int i = 0; i < 32; i++)
		o += (size_t)snprintf(text + o, sizeof text - o, "<b%d>\n", i);
	for (int i = 31; i >= 0; i--)
		o += (size_t)snprintf(text + o, sizeof text - o, "</b%d>\n", i);
	CHECK_STR(parse_error(text), "");
	o = 0;
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(text + o, sizeof text - o, "<b%d>\n", i);
	CHECK_STR(parse_error(text), "t.conf:33: blocks nested more than 32 deep");
}

static void test_line_limit(void)
{
	size_t n = 65536 + 16;
	char *text = malloc(n + 8);
	memset(text, 'x', n);
	memcpy(text, "key ", 4);
	text[65536] = '\0';
	CHECK_STR(parse_error(text), "");
	text[65536] = 'x';
	text[65537] = '\0';
	CHECK_STR(parse_error(text), "t.conf:1: line longer than 65536 bytes");
	/* joined by continuations */
	memset(text, 'x', n);
	memcpy(text, "key ", 4);
	memcpy(text + 40000, " \\\n", 3);
	text[n] = '\0';
	CHECK_STR(parse_error(text), "t.conf:1: line longer than 65536 bytes");
	free(text);
}

static void test_nul(void)
{
	struct cfg_node *root = NULL;
	const char text[] = "a 1\nb 2\nc \0 3\n";
	CHECK(cfgfile_parse(text, sizeof text - 1, "t.conf", &root, err, sizeof err) == -1);
	CHECK_STR(err, "t.conf:3: NUL byte");
	CHECK(root == NULL);
	/* the length is honoured: the NUL that terminates the string is outside */
	CHECK(cfgfile_parse(text, 4, "t.conf", &root, err, sizeof err) == 0);
	CHECK(root && count(root) == 1);
	cfgfile_free(root);
}

static void test_errors(void)
{
	CHECK_STR(parse_error("a 1\n<x>\n<y>\n</y>\n"), "t.conf:2: block <x> is not closed");
	CHECK_STR(parse_error("<x>\n</x>\n</x>\n"), "t.conf:3: </x> without a matching <x>");
	CHECK_STR(parse_error("<x>\n<y>\n</x>\n</y>\n"),
		  "t.conf:3: </x> does not match <y> opened at line 2");
	CHECK_STR(parse_error("<Flow>\n</flow>\n"),
		  "t.conf:2: </flow> does not match <Flow> opened at line 1");
	CHECK_STR(parse_error("a 1\nkey \"abc\n"), "t.conf:2: unterminated quote");
	CHECK_STR(parse_error("key \"abc \\\n def\n"), "t.conf:1: unterminated quote");
	CHECK_STR(parse_error("key \"abc\\\"\n"), "t.conf:1: unterminated quote");
	CHECK_STR(parse_error("a 1\n  /* open\nb 2\n"), "t.conf:2: unterminated /* comment");
	CHECK_STR(parse_error("a 1\nkey <<EOF\nabc\nEOFX\n"),
		  "t.conf:2: here-document <<EOF is not terminated");
	CHECK_STR(parse_error("= value\n"), "t.conf:1: missing key before '='");
	CHECK_STR(parse_error("<<include other.conf>>\n"),
		  "t.conf:1: <<include>> is not supported");
	CHECK_STR(parse_error("<<x>>\n"), "t.conf:1: malformed block tag '<<x>>'");
	CHECK_STR(parse_error("<x\n"), "t.conf:1: malformed block tag '<x': a tag ends with '>'");
	CHECK_STR(parse_error("<x> y\n"),
		  "t.conf:1: malformed block tag '<x> y': a tag ends with '>'");
	CHECK_STR(parse_error("<>\n"), "t.conf:1: block tag without a name");
	CHECK_STR(parse_error("</>\n"), "t.conf:1: block tag without a name");
	CHECK_STR(parse_error("< >\n"), "t.conf:1: block tag without a name");
}

static void test_error_buffer(void)
{
	struct cfg_node *root = NULL;
	char small[8];
	memset(small, 'z', sizeof small);
	CHECK(cfgfile_parse("<x>\n", 4, "t.conf", &root, small, sizeof small) == -1);
	CHECK_STR(small, "t.conf:");
	CHECK(cfgfile_parse("<x>\n", 4, "t.conf", &root, NULL, 0) == -1);
	CHECK(root == NULL);
}

/* A large input parses in time linear in its size (this would take minutes
 * if any step were quadratic). */
static void test_large(void)
{
	size_t lines = 200000;
	char *text = malloc(lines * 8 + 32);
	size_t o = 0;
	o += (size_t)sprintf(text + o, "<b>\n");
	for (size_t i = 0; i < lines; i++)
		o += (size_t)sprintf(text + o, "k /*v\n");
	o += (size_t)sprintf(text + o, "</b>\n");
	struct cfg_node *root = NULL;
	CHECK(cfgfile_parse(text, o, "t.conf", &root, err, sizeof err) == 0);
	CHECK(root && count(root) == 1);
	CHECK(root && count(nth(root, 0)) == lines);
	cfgfile_free(root);
	free(text);
}

int main(void)
{
	test_root();
	test_key_forms();
	test_comments();
	test_quotes();
	test_continuation();
	test_heredoc();
	test_blocks();
	test_repeated_and_crlf();
	test_nesting_limit();
	test_line_limit();
	test_nul();
	test_errors();
	test_error_buffer();
	test_large();
	CHECK_DONE();
}
