/* test_config: the typed configuration, from buffers and from the files in
 * tests/data. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "ipfix.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define COLLECTOR                                                                                  \
	"<flow_send>\n"                                                                            \
	"    args 192.0.2.1\n"                                                                     \
	"    args 192.0.2.9\n"                                                                     \
	"    args 2055\n"                                                                          \
	"</flow_send>\n"

struct warnings {
	char text[16][256];
	size_t n;
};

static char err[512];
static struct warnings warned;
static struct nf_config conf;

static void collect(void *ctx, const char *msg)
{
	struct warnings *w = ctx;
	if (w->n < 16)
		snprintf(w->text[w->n], sizeof w->text[0], "%s", msg);
	w->n++;
}

/* Parse text as "t.conf" on top of the defaults; 0 or -1 with err set. */
static int load_text(const char *text)
{
	struct cfg_node *root = NULL;
	memset(&warned, 0, sizeof warned);
	err[0] = '\0';
	config_defaults(&conf);
	if (cfgfile_parse(text, strlen(text), "t.conf", &root, err, sizeof err) != 0)
		return -1;
	int rc = config_from_tree(root, &conf, err, sizeof err, collect, &warned);
	cfgfile_free(root);
	return rc;
}

static const char *error_of(const char *text)
{
	if (load_text(text) == 0)
		return "(no error)";
	return err;
}

static void check_ok(const char *text)
{
	int rc = load_text(text);
	CHECK(rc == 0);
	if (rc != 0)
		fprintf(stderr, "  unexpected error: %s\n", err);
}

static int load_file(const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, name);
	memset(&warned, 0, sizeof warned);
	err[0] = '\0';
	return config_load(path, &conf, err, sizeof err, collect, &warned);
}

/* The message config_load gives for tests/data/name, without the directory. */
static const char *file_error(const char *name)
{
	static char rel[512];
	size_t dir = strlen(TEST_DATA_DIR) + 1;
	if (load_file(name) == 0)
		return "(no error)";
	if (strncmp(err, TEST_DATA_DIR "/", dir) != 0)
		return err;
	snprintf(rel, sizeof rel, "%s", err + dir);
	return rel;
}

static const char *addr_str(const struct sockaddr_storage *ss, unsigned *port)
{
	static char buf[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		*port = ntohs(in->sin_port);
		return inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	*port = ntohs(in6->sin6_port);
	return inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
}

static void check_default_copies(const struct nf_config *c)
{
	CHECK_EQ_U64(c->ncopies, 2);
	CHECK_STR(c->copies[0].name, "screen");
	CHECK(c->copies[0].kind == COPY_SCREEN);
	CHECK(!c->copies[0].to_stderr);
	CHECK_EQ_U64(c->copies[0].min_level, LOG_DEBUG);
	CHECK_EQ_U64(c->copies[0].max_level, LOG_EMERG);
	CHECK_STR(c->copies[1].name, "syslog");
	CHECK(c->copies[1].kind == COPY_SYSLOG);
	CHECK_STR(c->copies[1].ident, "nfflowd");
	CHECK_EQ_U64(c->copies[1].facility, LOG_LOCAL6);
	CHECK_EQ_U64(c->copies[1].min_level, LOG_DEBUG);
	CHECK_EQ_U64(c->copies[1].max_level, LOG_EMERG);
}

static void test_defaults(void)
{
	struct nf_config c;
	memset(&c, 0xa5, sizeof c);
	config_defaults(&c);
	CHECK_EQ_U64(c.ncollectors, 0);
	CHECK_EQ_U64(c.ttl, 604800);
	CHECK_EQ_U64(c.flush_ms, 1000);
	CHECK_EQ_U64(c.engine_type, 0);
	CHECK_EQ_U64(c.engine_id, 0);
	CHECK(c.sysctl_setup);
	CHECK_EQ_U64(c.rcvbuf, 128 * 1024 * 1024);
	CHECK_EQ_U64(c.resync_interval, 10);
	CHECK_EQ_U64(c.log_facility, LOG_DAEMON);
	check_default_copies(&c);
}

static void check_original_collector(void)
{
	unsigned port = 1;
	CHECK_EQ_U64(conf.ncollectors, 1);
	const struct collector_conf *col = &conf.collectors[0];
	CHECK_STR(col->name, "flow_send");
	CHECK_EQ_U64(col->version, 5);
	CHECK_EQ_U64(col->mtu, IPFIX_MTU_DEFAULT); /* as a <collector>'s */
	CHECK_STR(addr_str(&col->addr, &port), "192.0.2.9");
	CHECK_EQ_U64(port, 2055);
	CHECK_EQ_U64(col->addrlen, sizeof(struct sockaddr_in));
	CHECK_STR(addr_str(&col->source, &port), "192.0.2.1");
	CHECK_EQ_U64(port, 0);
	CHECK_EQ_U64(col->sourcelen, sizeof(struct sockaddr_in));
}

static void test_original_file(void)
{
	CHECK(load_file("original.conf") == 0);
	check_original_collector();
	CHECK_EQ_U64(conf.collectors[0].line, 4);
	CHECK_EQ_U64(conf.ttl, 604800);
	check_default_copies(&conf);
	CHECK_EQ_U64(warned.n, 4);
	CHECK_STR(warned.text[0], TEST_DATA_DIR "/original.conf:5: progname in <flow_send> is no "
						"longer used: nfflowd sends NetFlow itself");
	CHECK_STR(warned.text[1], TEST_DATA_DIR "/original.conf:6: format in <flow_send> is no "
						"longer used: nfflowd sends NetFlow itself");
	CHECK_STR(warned.text[2], TEST_DATA_DIR "/original.conf:12: <conntrack> is no longer used: "
						"nfflowd reads conntrack over netlink itself");
	CHECK_STR(warned.text[3], TEST_DATA_DIR "/original.conf:18: <flow_import> is no longer "
						"used: nfflowd builds NetFlow records itself");
}

static void test_minimal_files(void)
{
	CHECK(load_file("minimal.conf") == 0);
	check_original_collector();
	CHECK_EQ_U64(warned.n, 0);
	check_default_copies(&conf);
	CHECK(load_file("crlf.conf") == 0);
	check_original_collector();
	CHECK(load_file("syntax.conf") == 0);
	check_original_collector();
	CHECK_EQ_U64(conf.ttl, 86400);
	CHECK_EQ_U64(conf.ncopies, 1);
	CHECK(conf.copies[0].kind == COPY_SCREEN && conf.copies[0].to_stderr);
	CHECK_EQ_U64(conf.copies[0].min_level, LOG_INFO);
	CHECK_EQ_U64(warned.n, 0);
}

static void test_all_keys(void)
{
	unsigned port;
	CHECK(load_file("all-keys.conf") == 0);
	CHECK_EQ_U64(warned.n, 0);
	CHECK_STR(addr_str(&conf.collectors[0].addr, &port), "2001:db8::9");
	CHECK_EQ_U64(port, 9995);
	CHECK_EQ_U64(conf.collectors[0].addrlen, sizeof(struct sockaddr_in6));
	CHECK_STR(addr_str(&conf.collectors[0].source, &port), "2001:db8::1");
	CHECK_EQ_U64(port, 0);
	CHECK_EQ_U64(conf.ttl, 3600);
	CHECK_EQ_U64(conf.flush_ms, 250);
	CHECK_EQ_U64(conf.engine_type, 3);
	CHECK_EQ_U64(conf.engine_id, 7);
	CHECK(!conf.sysctl_setup);
	CHECK_EQ_U64(conf.rcvbuf, 32 * 1024 * 1024);
	CHECK_EQ_U64(conf.resync_interval, 60);
	CHECK_EQ_U64(conf.log_facility, LOG_LOCAL3);
	CHECK_EQ_U64(conf.ncopies, 2);
	const struct copy_conf *s = &conf.copies[0], *f = &conf.copies[1];
	CHECK_STR(s->name, "syslog");
	CHECK(s->kind == COPY_SYSLOG);
	CHECK_STR(s->ident, "flows");
	CHECK_EQ_U64(s->facility, LOG_LOCAL5);
	CHECK_EQ_U64(s->min_level, LOG_INFO);
	CHECK_EQ_U64(s->max_level, LOG_EMERG);
	CHECK_STR(f->name, "file");
	CHECK(f->kind == COPY_FILE);
	CHECK_STR(f->path, "/var/log/nfflowd/flows.csv");
	CHECK(!f->append);
	CHECK_EQ_U64(f->min_level, LOG_INFO);
}

static void test_file_errors(void)
{
	CHECK_STR(file_error("bad-two-args.conf"),
		  "bad-two-args.conf:2: <flow_send> needs exactly three args (source address on "
		  "this host, collector address, collector port), found 2");
	CHECK_STR(file_error("bad-four-args.conf"),
		  "bad-four-args.conf:5: <flow_send> needs exactly three args (source address on "
		  "this host, collector address, collector port), found 4");
	CHECK_STR(file_error("bad-address.conf"),
		  "bad-address.conf:3: args: '300.1.1.1' is not an IP address");
	CHECK_STR(file_error("bad-unclosed.conf"),
		  "bad-unclosed.conf:6: block <ptee> is not closed");
	CHECK_STR(file_error("bad-mismatch.conf"),
		  "bad-mismatch.conf:5: </flow_sned> does not match <flow_send> opened at line 1");
	CHECK_STR(file_error("bad-unknown-key.conf"),
		  "bad-unknown-key.conf:6: unknown key 'flush_intreval'");
	CHECK_STR(file_error("bad-duplicate.conf"),
		  "bad-duplicate.conf:10: ttl given twice (first at line 7)");
	CHECK_STR(file_error("bad-no-collector.conf"),
		  "bad-no-collector.conf: no collector configured: give <flow_send> args SOURCE "
		  "COLLECTOR PORT, a <collector NAME> block, or a <natlog> block");
	CHECK_STR(
	    file_error("bad-class.conf"),
	    "bad-class.conf:10: class: 'Log::Dispatch::Email::MailSend' is not supported: use "
	    "Log::Dispatch::Screen, Log::Dispatch::Syslog or Log::Dispatch::File");
	CHECK_STR(file_error("bad-heredoc.conf"),
		  "bad-heredoc.conf:4: here-document <<END is not terminated");
	CHECK_STR(file_error("no-such-file.conf"), "no-such-file.conf: No such file or directory");
	CHECK_STR(file_error(""), ": not a regular file");
}

static void test_load_keeps_config_on_error(void)
{
	CHECK(load_file("all-keys.conf") == 0);
	CHECK(load_file("bad-duplicate.conf") == -1);
	CHECK_EQ_U64(conf.ttl, 3600);
	CHECK_EQ_U64(conf.flush_ms, 250);
	CHECK(load_file("no-such-file.conf") == -1);
	CHECK_EQ_U64(conf.engine_id, 7);
	/* config_from_tree alone leaves c as it was on error too */
	struct cfg_node *root = NULL;
	const char *text = COLLECTOR "<ct2ft>\nttl 5\n</ct2ft>\nengine_id 300\n";
	CHECK(cfgfile_parse(text, strlen(text), "t.conf", &root, err, sizeof err) == 0);
	config_defaults(&conf);
	CHECK(config_from_tree(root, &conf, err, sizeof err, NULL, NULL) == -1);
	CHECK_EQ_U64(conf.ttl, 604800);
	CHECK_EQ_U64(conf.ncollectors, 0);
	cfgfile_free(root);
}

static void test_load_too_large(void)
{
	char path[] = "/tmp/nfflowd-test-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(COLLECTOR, f);
	for (int i = 0; i < 1024 * 1024 / 16; i++)
		fputs("# padding......\n", f);
	fclose(f);
	char want[128];
	snprintf(want, sizeof want, "%s: larger than 1 MiB", path);
	CHECK(config_load(path, &conf, err, sizeof err, NULL, NULL) == -1);
	CHECK_STR(err, want);
	f = fopen(path, "w");
	fputs(COLLECTOR, f);
	fclose(f);
	CHECK(config_load(path, &conf, err, sizeof err, NULL, NULL) == 0);
	remove(path);
}

/* A FIFO (or a device) is refused at once: reading it would hang. */
static void test_load_fifo(void)
{
	char dir[] = "/tmp/nfflowd-test-XXXXXX", path[64], want[128];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/fifo.conf", dir);
	CHECK(mkfifo(path, 0600) == 0);
	snprintf(want, sizeof want, "%s: not a regular file", path);
	CHECK(config_load(path, &conf, err, sizeof err, NULL, NULL) == -1);
	CHECK_STR(err, want);
	size_t len;
	CHECK(config_read(path, &len, err, sizeof err) == NULL);
	CHECK_STR(err, want);
	CHECK(config_load("/dev/null", &conf, err, sizeof err, NULL, NULL) == -1);
	CHECK_STR(err, "/dev/null: not a regular file");
	remove(path);
	rmdir(dir);
}

/* config_parse: text from memory, named as the file it came from. */
static void test_parse_text(void)
{
	const char *text = COLLECTOR "<ct2ft>\nttl 77\n</ct2ft>\n";
	config_defaults(&conf);
	CHECK(config_parse(text, strlen(text), "/etc/x.conf", &conf, err, sizeof err, NULL, NULL) ==
	      0);
	CHECK_EQ_U64(conf.ttl, 77);
	CHECK(config_parse("ttl 5\n", 6, "/etc/x.conf", &conf, err, sizeof err, NULL, NULL) == -1);
	CHECK_STR(err, "/etc/x.conf:1: unknown key 'ttl' (ttl belongs in <ct2ft>)");
	CHECK_EQ_U64(conf.ttl, 77);
}

static void test_flow_send(void)
{
	CHECK_STR(error_of("<flow_send>\n</flow_send>\n"),
		  "t.conf:1: <flow_send> needs exactly three args (source address on this host, "
		  "collector address, collector port), found 0");
	CHECK_STR(error_of("<flow_send>\nargs 192.0.2.1 192.0.2.9 2055\n</flow_send>\n"),
		  "t.conf:1: <flow_send> needs exactly three args (source address on this host, "
		  "collector address, collector port), found 1; give each on its own 'args' line");
	CHECK_STR(error_of("<flow_send>\nargs 1.2.3.4\nargs 1.2.3.5\nargs 1\nargs 2\nargs "
			   "3\n</flow_send>\n"),
		  "t.conf:5: <flow_send> needs exactly three args (source address on this host, "
		  "collector address, collector port), found 5");
	CHECK_STR(error_of("<flow_send>\nargs host.example\nargs 192.0.2.9\nargs "
			   "2055\n</flow_send>\n"),
		  "t.conf:2: args: 'host.example' is not an IP address");
	CHECK_STR(error_of("<flow_send>\nargs 192.0.2.1\nargs 192.0.2.9\nargs 0\n</flow_send>\n"),
		  "t.conf:4: args: '0' is not a port number from 1 to 65535");
	CHECK_STR(error_of("<flow_send>\nargs 192.0.2.1\nargs 192.0.2.9\nargs "
			   "65536\n</flow_send>\n"),
		  "t.conf:4: args: '65536' is not a port number from 1 to 65535");
	CHECK_STR(error_of("<flow_send>\nargs 192.0.2.1\nargs 192.0.2.9\nargs "
			   "20x\n</flow_send>\n"),
		  "t.conf:4: args: '20x' is not a port number from 1 to 65535");
	CHECK_STR(error_of("<flow_send>\nargs 192.0.2.1\nargs 2001:db8::9\nargs "
			   "2055\n</flow_send>\n"),
		  "t.conf:3: args: collector 2001:db8::9 and source 192.0.2.1 are not of the same "
		  "address family");
	CHECK_STR(error_of(COLLECTOR COLLECTOR),
		  "t.conf:6: <flow_send> given twice (first at line 1)");
	CHECK_STR(error_of("<flow_send x>\n</flow_send>\n"),
		  "t.conf:1: <flow_send x>: <flow_send> takes no name");
	CHECK_STR(error_of("<flow_send>\nport 1\n</flow_send>\n"),
		  "t.conf:2: unknown key 'port' in <flow_send>");
	CHECK_STR(error_of("<flow_send>\n<x>\n</x>\n</flow_send>\n"),
		  "t.conf:2: unknown block <x> in <flow_send>");
	CHECK_STR(error_of("flow_send 192.0.2.9\n"),
		  "t.conf:1: flow_send is a block: write <flow_send> ... </flow_send>");
	check_ok("<flow_send>\nargs 192.0.2.1\nargs 192.0.2.9\nargs 65535\n</flow_send>\n");
	CHECK_EQ_U64(warned.n, 0);
}

static void test_helpers_and_ct2ft(void)
{
	check_ok(COLLECTOR
		 "<conntrack>\n</conntrack>\n<flow_import>\nprogname x\n</flow_import>\n");
	CHECK_EQ_U64(warned.n, 2);
	CHECK_STR(warned.text[0], "t.conf:6: <conntrack> is no longer used: nfflowd reads "
				  "conntrack over netlink itself");
	CHECK_STR(warned.text[1], "t.conf:8: <flow_import> is no longer used: nfflowd builds "
				  "NetFlow records itself");
	CHECK_STR(error_of(COLLECTOR "<conntrack>\nargs -x\n</conntrack>\n"),
		  "t.conf:7: unknown key 'args' in <conntrack>");
	CHECK_STR(error_of(COLLECTOR "<flow_import>\ninit_format -L\n</flow_import>\n"),
		  "t.conf:7: unknown key 'init_format' in <flow_import>");
	CHECK_STR(error_of(COLLECTOR "ttl 60\n"),
		  "t.conf:6: unknown key 'ttl' (ttl belongs in <ct2ft>)");
	CHECK_STR(error_of(COLLECTOR "<ct2ft>\nttl 0\n</ct2ft>\n"),
		  "t.conf:7: ttl: '0' is not a number from 1 to 31536000");
	CHECK_STR(error_of(COLLECTOR "<ct2ft>\nttl 31536001\n</ct2ft>\n"),
		  "t.conf:7: ttl: '31536001' is not a number from 1 to 31536000");
	CHECK_STR(error_of(COLLECTOR "<ct2ft>\nttl -5\n</ct2ft>\n"),
		  "t.conf:7: ttl: '-5' is not a number from 1 to 31536000");
	CHECK_STR(error_of(COLLECTOR "<ct2ft>\nttl 99999999999999999999999\n</ct2ft>\n"),
		  "t.conf:7: ttl: '99999999999999999999999' is not a number from 1 to 31536000");
	CHECK_STR(error_of(COLLECTOR "<ct2ft>\nttl\n</ct2ft>\n"), "t.conf:7: ttl needs a value");
	CHECK_STR(error_of(COLLECTOR "<ct2ft>\nttl 1\nttl 2\n</ct2ft>\n"),
		  "t.conf:8: ttl given twice (first at line 7)");
	CHECK_STR(error_of(COLLECTOR "<ct2ft>\nmax 1\n</ct2ft>\n"),
		  "t.conf:7: unknown key 'max' in <ct2ft>");
	check_ok(COLLECTOR "<ct2ft>\nttl 31536000\n</ct2ft>\n<ct2ft>\n</ct2ft>\n");
	CHECK_EQ_U64(conf.ttl, 31536000);
}

static void test_top_level_keys(void)
{
	check_ok(COLLECTOR "flush_interval 0.01\nengine_type 255\nengine_id 0\nsysctl_setup "
			   "On\nnetlink_rcvbuf 64k\nresync_interval 3600\nlog_facility LOCAL0\n");
	CHECK_EQ_U64(conf.flush_ms, 10);
	CHECK_EQ_U64(conf.engine_type, 255);
	CHECK(conf.sysctl_setup);
	CHECK_EQ_U64(conf.rcvbuf, 65536);
	CHECK_EQ_U64(conf.resync_interval, 3600);
	CHECK_EQ_U64(conf.log_facility, LOG_LOCAL0);
	check_ok(COLLECTOR "flush_interval 60\nnetlink_rcvbuf 1G\nsysctl_setup false\n");
	CHECK_EQ_U64(conf.flush_ms, 60000);
	CHECK_EQ_U64(conf.rcvbuf, 1073741824);
	CHECK(!conf.sysctl_setup);
	check_ok(COLLECTOR "flush_interval 2.5\nnetlink_rcvbuf 1048576\n");
	CHECK_EQ_U64(conf.flush_ms, 2500);
	CHECK_EQ_U64(conf.rcvbuf, 1048576);
	const char *bad_flush = " is not a number of seconds from 0.01 to 60 (at most three "
				"decimals)";
	static const char *const flushes[] = {"0.009",	"60.001", "1.", ".5",
					      "1.2345", "1e3",	  "-1", "0x10"};
	for (size_t i = 0; i < sizeof flushes / sizeof flushes[0]; i++) {
		char text[256], want[256];
		snprintf(text, sizeof text, COLLECTOR "flush_interval %s\n", flushes[i]);
		snprintf(want, sizeof want, "t.conf:6: flush_interval: '%s'%s", flushes[i],
			 bad_flush);
		CHECK_STR(error_of(text), want);
	}
	CHECK_STR(error_of(COLLECTOR "engine_type 256\n"),
		  "t.conf:6: engine_type: '256' is not a number from 0 to 255");
	CHECK_STR(error_of(COLLECTOR "engine_id 1 \n engine_id 2\n"),
		  "t.conf:7: engine_id given twice (first at line 6)");
	CHECK_STR(error_of(COLLECTOR "sysctl_setup maybe\n"),
		  "t.conf:6: sysctl_setup: 'maybe' is not a boolean (yes/no, on/off, true/false, "
		  "1/0)");
	CHECK_STR(error_of(COLLECTOR "netlink_rcvbuf 63K\n"),
		  "t.conf:6: netlink_rcvbuf: '63K' is not a size from 64K to 1G");
	CHECK_STR(error_of(COLLECTOR "netlink_rcvbuf 2G\n"),
		  "t.conf:6: netlink_rcvbuf: '2G' is not a size from 64K to 1G");
	CHECK_STR(error_of(COLLECTOR "netlink_rcvbuf 8MB\n"),
		  "t.conf:6: netlink_rcvbuf: '8MB' is not a size from 64K to 1G");
	CHECK_STR(error_of(COLLECTOR "netlink_rcvbuf 99999999999999G\n"),
		  "t.conf:6: netlink_rcvbuf: '99999999999999G' is not a size from 64K to 1G");
	/* a byte count without a suffix, up to the range's end (1024G) */
	check_ok(COLLECTOR "record_limit 4294967296\n");
	CHECK_EQ_U64(conf.record_limit, UINT64_C(4) << 30);
	check_ok(COLLECTOR "record_limit 1099511627776\n");
	CHECK_EQ_U64(conf.record_limit, UINT64_C(1) << 40);
	CHECK_STR(error_of(COLLECTOR "record_limit 1099511627777\n"),
		  "t.conf:6: record_limit: '1099511627777' is not a size from 1M to 1024G");
	CHECK_STR(error_of(COLLECTOR "record_limit 18446744073709551616\n"),
		  "t.conf:6: record_limit: '18446744073709551616' is not a size from 1M to 1024G");
	CHECK_STR(error_of(COLLECTOR "resync_interval 0\n"),
		  "t.conf:6: resync_interval: '0' is not a number from 1 to 3600");
	CHECK_STR(error_of(COLLECTOR "log_facility local8\n"),
		  "t.conf:6: log_facility: 'local8' is not a syslog facility (daemon, user, local0 "
		  "to local7, ...)");
	CHECK_STR(error_of(COLLECTOR "log_facility\n"), "t.conf:6: log_facility needs a value");
	CHECK_STR(error_of(COLLECTOR "<engine_id>\n</engine_id>\n"),
		  "t.conf:6: <engine_id> is not a block: write 'engine_id VALUE'");
	CHECK_STR(error_of(COLLECTOR "<collectors>\n</collectors>\n"),
		  "t.conf:6: unknown block <collectors>");
	CHECK_STR(error_of("engine_id 1\n"), "t.conf: no collector configured: give <flow_send> "
					     "args SOURCE COLLECTOR PORT, a <collector NAME> "
					     "block, or a <natlog> block");
}

#define PTEE_OPEN "<ptee>\n<conf>\n"
#define PTEE_END  "</conf>\n</ptee>\n"
#define SYSLOG_BLOCK                                                                               \
	"<syslog>\nclass Log::Dispatch::Syslog\nmin_level debug\nfacility local6\n</syslog>\n"

static void test_ptee_selects_copies(void)
{
	check_ok(COLLECTOR PTEE_OPEN "dispatchers syslog\n" SYSLOG_BLOCK PTEE_END);
	CHECK_EQ_U64(conf.ncopies, 1);
	CHECK(conf.copies[0].kind == COPY_SYSLOG);
	CHECK_STR(conf.copies[0].ident, "nfflowd");
	CHECK_EQ_U64(conf.copies[0].facility, LOG_LOCAL6);
	CHECK_EQ_U64(warned.n, 0);
	check_ok(COLLECTOR PTEE_OPEN PTEE_END);
	CHECK_EQ_U64(conf.ncopies, 0);
	check_ok(COLLECTOR PTEE_OPEN "dispatchers\n" PTEE_END);
	CHECK_EQ_U64(conf.ncopies, 0);
	check_ok(COLLECTOR "<ptee>\n</ptee>\n");
	CHECK_EQ_U64(conf.ncopies, 0);
	CHECK_EQ_U64(warned.n, 1);
	CHECK_STR(warned.text[0], "t.conf:6: <ptee> has no <conf>: no local copies");
	check_ok(COLLECTOR PTEE_OPEN "dispatchers syslog\n" SYSLOG_BLOCK
				     "<screen>\nclass Log::Dispatch::Screen\n</screen>\n" PTEE_END);
	CHECK_EQ_U64(conf.ncopies, 1);
	CHECK_EQ_U64(warned.n, 1);
	CHECK_STR(warned.text[0], "t.conf:14: <screen> is not listed in dispatchers: ignored");
	/* both forms of the list; the list sets the order */
	check_ok(COLLECTOR PTEE_OPEN
		 "dispatchers  b a\ndispatchers c\n"
		 "<a>\nclass Log::Dispatch::Screen\n</a>\n"
		 "<c>\nclass Log::Dispatch::Screen\nname third\n</c>\n"
		 "<b>\nclass Log::Dispatch::File\nfilename /tmp/x\n</b>\n" PTEE_END);
	CHECK_EQ_U64(conf.ncopies, 3);
	CHECK_STR(conf.copies[0].name, "b");
	CHECK(conf.copies[0].kind == COPY_FILE && conf.copies[0].append);
	CHECK_STR(conf.copies[1].name, "a");
	CHECK(conf.copies[1].kind == COPY_SCREEN && conf.copies[1].to_stderr);
	CHECK_STR(conf.copies[2].name, "third");
}

static void test_dispatcher_keys(void)
{
	check_ok(COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nclass Log::Dispatch::Syslog\nlogopt "
				     "pid\nformat %m\nmin_level 1\nmax_level 6\n</s>\n" PTEE_END);
	CHECK_EQ_U64(conf.copies[0].min_level, LOG_INFO);
	CHECK_EQ_U64(conf.copies[0].max_level, LOG_ALERT);
	CHECK_EQ_U64(conf.copies[0].facility, LOG_USER);
	CHECK_EQ_U64(warned.n, 2);
	CHECK_STR(warned.text[0], "t.conf:11: logopt is ignored: nfflowd opens syslog itself");
	CHECK_STR(warned.text[1],
		  "t.conf:12: format is ignored: copies are written as flow-tools CSV lines");
	check_ok(COLLECTOR PTEE_OPEN
		 "dispatchers f\n<f>\nclass Log::Dispatch::File\nfilename "
		 "\"/var/log/a b.csv\"\nmode >>\nmin_level notice\n</f>\n" PTEE_END);
	CHECK_STR(conf.copies[0].path, "/var/log/a b.csv");
	CHECK(conf.copies[0].append);
	CHECK_EQ_U64(warned.n, 1);
	CHECK_STR(warned.text[0], "t.conf:9: <f> takes levels notice to emergency, but flow "
				  "records are written at info: this copy receives nothing");
	check_ok(COLLECTOR PTEE_OPEN "dispatchers f\n<f>\nclass Log::Dispatch::File\nfilename "
				     "x\nmode >\nmax_level warning\n</f>\n" PTEE_END);
	CHECK(!conf.copies[0].append);
	CHECK_EQ_U64(conf.copies[0].max_level, LOG_WARNING);
	CHECK_EQ_U64(warned.n, 0);
	check_ok(COLLECTOR PTEE_OPEN "dispatchers f\n<f>\nclass Log::Dispatch::File\nfilename "
				     "x\nmode write\nmax_level debug\n</f>\n" PTEE_END);
	CHECK_EQ_U64(warned.n, 1);
	CHECK_STR(warned.text[0], "t.conf:9: <f> takes levels debug to debug, but flow "
				  "records are written at info: this copy receives nothing");
}

static void test_dispatcher_errors(void)
{
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers syslog\n" PTEE_END),
		  "t.conf:8: dispatcher 'syslog' has no <syslog> block in <conf>");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers syslog syslog\n" PTEE_END),
		  "t.conf:8: dispatcher 'syslog' listed twice (first at line 8)");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers a b c d e f g h i\n" PTEE_END),
		  "t.conf:8: more than 8 dispatchers");
	CHECK_STR(
	    error_of(COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nmin_level debug\n</s>\n" PTEE_END),
	    "t.conf:9: <s> has no class: give Log::Dispatch::Screen, Log::Dispatch::Syslog or "
	    "Log::Dispatch::File");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nclass Log::Dispatch::Screen\n"
					       "ident x\n</s>\n" PTEE_END),
		  "t.conf:11: unknown key 'ident' for Log::Dispatch::Screen in <s>");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nclass Log::Dispatch::Screen\n"
					       "min_level verbose\n</s>\n" PTEE_END),
		  "t.conf:11: min_level: 'verbose' is not a level (debug, info, notice, warning, "
		  "error, critical, alert, emergency, or 0-7)");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nclass Log::Dispatch::Screen\n"
					       "max_level 8\n</s>\n" PTEE_END),
		  "t.conf:11: max_level: '8' is not a level (debug, info, notice, warning, "
		  "error, critical, alert, emergency, or 0-7)");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nclass Log::Dispatch::Syslog\n"
					       "facility local9\n</s>\n" PTEE_END),
		  "t.conf:11: facility: 'local9' is not a syslog facility (daemon, user, local0 to "
		  "local7, ...)");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nclass Log::Dispatch::Screen\n"
					       "stderr 2\n</s>\n" PTEE_END),
		  "t.conf:11: stderr: '2' is not a boolean (yes/no, on/off, true/false, 1/0)");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers f\n<f>\nclass Log::Dispatch::File\n"
					       "</f>\n" PTEE_END),
		  "t.conf:9: <f> (Log::Dispatch::File) needs a filename");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers f\n<f>\nclass Log::Dispatch::File\n"
					       "filename x\nmode rw\n</f>\n" PTEE_END),
		  "t.conf:12: mode: 'rw' is not append, write, >> or >");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nclass Log::Dispatch::Screen\n"
					       "class Log::Dispatch::Screen\n</s>\n" PTEE_END),
		  "t.conf:11: class given twice (first at line 10)");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN
			   "dispatchers s\n<s>\nclass Log::Dispatch::Screen\n"
			   "</s>\n<s>\nclass Log::Dispatch::Screen\n</s>\n" PTEE_END),
		  "t.conf:12: <s> given twice (first at line 9)");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "dispatchers s\n<s x>\n</s>\n" PTEE_END),
		  "t.conf:9: <s x>: <s> takes no name");
	CHECK_STR(error_of(COLLECTOR PTEE_OPEN "level debug\n" PTEE_END),
		  "t.conf:8: unknown key 'level' in <conf>");
	CHECK_STR(error_of(COLLECTOR "<ptee>\nconf x\n</ptee>\n"),
		  "t.conf:7: unknown key 'conf' in <ptee>");
	CHECK_STR(error_of(COLLECTOR "<ptee>\n</ptee>\n<ptee>\n</ptee>\n"),
		  "t.conf:8: <ptee> given twice (first at line 6)");
	CHECK_STR(error_of(COLLECTOR "<ptee>\n<conf>\n</conf>\n<conf>\n</conf>\n</ptee>\n"),
		  "t.conf:9: <conf> given twice (first at line 7)");
	CHECK_STR(
	    error_of(COLLECTOR PTEE_OPEN
		     "dispatchers s\n<s>\nclass Log::Dispatch::Syslog\n"
		     "ident "
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "\n</s>\n" PTEE_END),
	    "t.conf:11: ident: "
	    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is longer than "
	    "63 bytes");
}

static void test_levels_and_facilities(void)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
	    {"debug", LOG_DEBUG},
	    {"info", LOG_INFO},
	    {"notice", LOG_NOTICE},
	    {"warning", LOG_WARNING},
	    {"warn", LOG_WARNING},
	    {"error", LOG_ERR},
	    {"err", LOG_ERR},
	    {"critical", LOG_CRIT},
	    {"crit", LOG_CRIT},
	    {"alert", LOG_ALERT},
	    {"emergency", LOG_EMERG},
	    {"emerg", LOG_EMERG},
	    {"0", LOG_DEBUG},
	    {"1", LOG_INFO},
	    {"2", LOG_NOTICE},
	    {"3", LOG_WARNING},
	    {"4", LOG_ERR},
	    {"5", LOG_CRIT},
	    {"6", LOG_ALERT},
	    {"7", LOG_EMERG},
	    {"DEBUG", LOG_DEBUG},
	    {"8", -1},
	    {"01", -1},
	    {"", -1},
	    {"debugx", -1},
	    {"-1", -1},
	};
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		CHECK_EQ_U64(config_level(levels[i].name), levels[i].level);
	CHECK_EQ_U64(config_facility("local6"), LOG_LOCAL6);
	CHECK_EQ_U64(config_facility("daemon"), LOG_DAEMON);
	CHECK_EQ_U64(config_facility("authpriv"), LOG_AUTHPRIV);
	CHECK_EQ_U64(config_facility("Local0"), LOG_LOCAL0);
	CHECK_EQ_U64(config_facility("local8"), -1);
	CHECK_EQ_U64(config_facility(""), -1);
}

/* <collector NAME> blocks: any number, each with its own version. */
static void test_collector_blocks(void)
{
	check_ok(COLLECTOR "<collector core>\n  address 192.0.2.10\n  version 10\n"
			   "  source 192.0.2.1\n</collector>\n"
			   "<collector six>\n  address 2001:db8::9\n  port 9996\n  version 9\n"
			   "  mtu 1200\n  template_refresh 30\n  template_refresh_packets 5\n"
			   "  observation_domain 7\n  nat_events no\n  nat_event_codes legacy\n"
			   "</collector>\n");
	CHECK_EQ_U64(conf.ncollectors, 3);
	const struct collector_conf *c = &conf.collectors[1];
	CHECK_STR(c->name, "core");
	CHECK_EQ_U64(c->version, 10);
	CHECK_EQ_U64(ntohs(((const struct sockaddr_in *)&c->addr)->sin_port), 4739);
	CHECK_EQ_U64(c->sourcelen, sizeof(struct sockaddr_in));
	CHECK_EQ_U64(c->mtu, 1280);
	CHECK_EQ_U64(c->refresh_s, 60);
	CHECK_EQ_U64(c->refresh_pkts, 20);
	CHECK(c->nat_events == CONFIG_NAT_EVENTS_CREATE && !c->legacy_nat_events);
	c = &conf.collectors[2];
	CHECK_EQ_U64(c->version, 9);
	CHECK_EQ_U64(c->addr.ss_family, AF_INET6);
	CHECK_EQ_U64(ntohs(((const struct sockaddr_in6 *)&c->addr)->sin6_port), 9996);
	CHECK_EQ_U64(c->sourcelen, 0);
	CHECK_EQ_U64(c->mtu, 1200);
	CHECK_EQ_U64(c->refresh_s, 30);
	CHECK_EQ_U64(c->refresh_pkts, 5);
	CHECK_EQ_U64(c->domain, 7);
	CHECK(c->nat_events == CONFIG_NAT_EVENTS_NO && c->legacy_nat_events);
	check_ok("<collector v5>\n address 192.0.2.9\n version 5\n</collector>\n");
	CHECK_EQ_U64(conf.collectors[0].version, 5);
	CHECK_EQ_U64(ntohs(((const struct sockaddr_in *)&conf.collectors[0].addr)->sin_port), 2055);

	CHECK_STR(error_of("<collector>\n address 192.0.2.9\n</collector>\n"),
		  "t.conf:1: <collector> needs a name: <collector NAME>");
	CHECK_STR(error_of("<collector a>\n port 1\n</collector>\n"),
		  "t.conf:1: <collector a> needs an address");
	CHECK_STR(error_of("<collector a>\n address 192.0.2.300\n</collector>\n"),
		  "t.conf:2: address: '192.0.2.300' is not an IP address");
	CHECK_STR(error_of("<collector a>\n address 192.0.2.9\n version 8\n</collector>\n"),
		  "t.conf:3: version: '8' is not 5, 9 or 10 (IPFIX)");
	/* mtu limits the IP packet of every version, v5 too */
	check_ok("<collector a>\n address 192.0.2.9\n version 5\n mtu 900\n</collector>\n");
	CHECK_EQ_U64(conf.collectors[0].mtu, 900);
	CHECK_STR(error_of("<collector a>\n address 192.0.2.9\n mtu 100\n</collector>\n"),
		  "t.conf:3: mtu: '100' is not a number from 512 to 9000");
	CHECK_STR(error_of("<collector a>\n address 192.0.2.9\n address 192.0.2.8\n"
			   "</collector>\n"),
		  "t.conf:3: address given twice (first at line 2)");
	CHECK_STR(error_of("<collector a>\n address 192.0.2.9\n</collector>\n"
			   "<collector a>\n address 192.0.2.8\n</collector>\n"),
		  "t.conf:4: collector 'a' given twice (first at line 1)");
	CHECK_STR(error_of("<collector a>\n address 2001:db8::1\n source 192.0.2.1\n"
			   "</collector>\n"),
		  "t.conf:3: source 192.0.2.1 and address 2001:db8::1 are not of the same "
		  "address family");
	CHECK_STR(error_of("<collector a>\n address 192.0.2.9\n nat_event_codes new\n"
			   "</collector>\n"),
		  "t.conf:3: nat_event_codes: 'new' is not iana or legacy");
	CHECK_STR(error_of("<collector a>\n address 192.0.2.9\n colour red\n</collector>\n"),
		  "t.conf:3: unknown key 'colour' in <collector>");
}

/* <filter>: which connections are exported. */
static void test_filter_block(void)
{
	check_ok(COLLECTOR "<filter>\n address 10.0.0.0/8\n address 2001:db8::/32\n"
			   " original_address 10.1.0.0/16\n translated_address 203.0.113.1\n"
			   " protocol tcp\n protocol 17\n port 80\n zone 5\n mark 0x10/0xf0\n"
			   " nat_only yes\n</filter>\n");
	const struct filter *f = &conf.filter;
	CHECK_EQ_U64(f->nany, 2);
	CHECK_EQ_U64(f->any[1].family, AF_INET6);
	CHECK_EQ_U64(f->norig, 1);
	CHECK_EQ_U64(f->nxlat, 1);
	CHECK_EQ_U64(f->xlat[0].prefix, 32);
	CHECK_EQ_U64(f->nprotos, 2);
	CHECK_EQ_U64(f->protos[0], 6);
	CHECK_EQ_U64(f->protos[1], 17);
	CHECK_EQ_U64(f->ports[0], 80);
	CHECK_EQ_U64(f->zones[0], 5);
	CHECK_EQ_U64(f->marks[0].value, 0x10);
	CHECK_EQ_U64(f->marks[0].mask, 0xf0);
	CHECK(f->nat_only && !f->export_self);
	CHECK_EQ_U64(f->nself, 1); /* the collector, to leave out our own traffic */
	CHECK_EQ_U64(f->self[0].port, 2055);
	CHECK_STR(error_of(COLLECTOR "<filter>\n address 10.0.0.0/40\n</filter>\n"),
		  "t.conf:7: address: '10.0.0.0/40' is not an address or network (ADDR/PREFIX)");
	CHECK_STR(error_of(COLLECTOR "<filter>\n protocol tcpp\n</filter>\n"),
		  "t.conf:7: protocol: 'tcpp' is not a protocol name or number");
	CHECK_STR(error_of(COLLECTOR "<filter>\n mark 0x10/\n</filter>\n"),
		  "t.conf:7: mark: '0x10/' is not VALUE or VALUE/MASK");
	CHECK_STR(error_of(COLLECTOR "<filter>\n port 0\n</filter>\n"),
		  "t.conf:7: port: '0' is not a number from 1 to 65535");
	CHECK_STR(error_of(COLLECTOR "<filter>\n colour red\n</filter>\n"),
		  "t.conf:7: unknown key 'colour' in <filter>");
	CHECK_STR(error_of(COLLECTOR "<filter>\n</filter>\n<filter>\n</filter>\n"),
		  "t.conf:8: <filter> given twice (first at line 6)");
}

/* The schema's rows are well-formed: what the walker relies on. */
static void test_schema_rows(void)
{
	size_t n = 0;
	const struct config_key *k = config_schema(&n);
	unsigned opened = CONFIG_IN(CONFIG_BLOCK_TOP) | CONFIG_IN(CONFIG_BLOCK_SCREEN) |
			  CONFIG_IN(CONFIG_BLOCK_SYSLOG) | CONFIG_IN(CONFIG_BLOCK_FILE);
	CHECK(n > 50);
	for (size_t i = 0; i < n; i++) {
		unsigned f = k[i].flags;
		bool ok = !(f & CONFIG_ONCE) != !(f & CONFIG_REPEATABLE); /* exactly one */
		ok &= !(f & CONFIG_REQUIRED) || (f & CONFIG_ONCE);
		ok &= k[i].blocks != 0 && k[i].blocks < CONFIG_IN(CONFIG_BLOCK_COUNT);
		ok &= k[i].min <= k[i].max || k[i].max == 0;
		ok &= !k[i].cap || (k[i].size && !k[i].def);
		if (k[i].kind == CONFIG_KIND_BLOCK) {
			ok &= k[i].child != CONFIG_BLOCK_TOP && k[i].child < CONFIG_BLOCK_COUNT;
			opened |= CONFIG_IN(k[i].child);
		}
		if (k[i].kind == CONFIG_KIND_ENUM)
			ok &= k[i].names || k[i].parse;
		if ((k[i].kind == CONFIG_KIND_ADDRESS || k[i].kind == CONFIG_KIND_TEXT) &&
		    !(f & CONFIG_IGNORED))
			ok &= k[i].parse != NULL;
		if (k[i].kind == CONFIG_KIND_UINT && !k[i].parse)
			ok &= k[i].size >= 8 || k[i].max < UINT64_C(1) << (8 * k[i].size);
		for (size_t j = 0; j < i; j++) /* one row per name and block */
			ok &= strcmp(k[i].name, k[j].name) != 0 || !(k[i].blocks & k[j].blocks);
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "  row %zu (%s) is malformed\n", i, k[i].name);
	}
	CHECK_EQ_U64(opened, CONFIG_IN(CONFIG_BLOCK_COUNT) - 1); /* every block is reachable */
}

/* Append "key default" for each row of block that has a default. */
static void write_defaults(char *text, size_t len, enum config_block block)
{
	size_t n = 0;
	const struct config_key *k = config_schema(&n);
	for (size_t i = 0; i < n; i++) {
		if ((k[i].blocks & CONFIG_IN(block)) && k[i].def) {
			size_t at = strlen(text);
			snprintf(text + at, len - at, "%s \"%s\"\n", k[i].name, k[i].def);
		}
	}
}

/* Every default, written out, is accepted and changes nothing: the defaults
 * are valid values, and config_defaults applies the same ones. */
static void test_defaults_written_out(void)
{
	static char text[4096];
	static struct nf_config implicit;
	snprintf(text, sizeof text, "%s",
		 COLLECTOR "<collector c>\n address 192.0.2.8\n</collector>\n");
	check_ok(text);
	implicit = conf;
	snprintf(text, sizeof text, "%s", COLLECTOR "<collector c>\n address 192.0.2.8\n");
	write_defaults(text, sizeof text, CONFIG_BLOCK_COLLECTOR);
	strcat(text, "</collector>\n<ct2ft>\n");
	write_defaults(text, sizeof text, CONFIG_BLOCK_CT2FT);
	strcat(text, "</ct2ft>\n<filter>\n");
	write_defaults(text, sizeof text, CONFIG_BLOCK_FILTER);
	strcat(text, "</filter>\n");
	write_defaults(text, sizeof text, CONFIG_BLOCK_TOP);
	check_ok(text);
	CHECK(memcmp(&implicit, &conf, sizeof conf) == 0);
	CHECK_EQ_U64(warned.n, 0);
	CHECK_EQ_U64(conf.collectors[1].mtu, IPFIX_MTU_DEFAULT);
	CHECK_EQ_U64(conf.collectors[1].version, 10);
	/* and a dispatcher's */
	snprintf(text, sizeof text, "%s",
		 COLLECTOR PTEE_OPEN
		 "dispatchers s\n<s>\nclass Log::Dispatch::Syslog\n</s>\n" PTEE_END);
	check_ok(text);
	implicit = conf;
	snprintf(text, sizeof text, "%s",
		 COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nclass Log::Dispatch::Syslog\n");
	write_defaults(text, sizeof text, CONFIG_BLOCK_SYSLOG);
	strcat(text, "</s>\n" PTEE_END);
	check_ok(text);
	CHECK(memcmp(&implicit, &conf, sizeof conf) == 0);
}

struct bad {
	const char *text;
	const char *error;
};

static void check_bad(const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHECK_STR(error_of(cases[i].text), cases[i].error);
}

#define DISPATCHER_OF(cls, body)                                                                   \
	COLLECTOR PTEE_OPEN "dispatchers s\n<s>\nclass " cls "\n" body "</s>\n" PTEE_END

/* An unknown key or block in each block, at its line. */
static void test_walker_unknown(void)
{
	static const struct bad cases[] = {
	    {COLLECTOR "colour red\n", "t.conf:6: unknown key 'colour'"},
	    {COLLECTOR "<colour>\n</colour>\n", "t.conf:6: unknown block <colour>"},
	    {"<flow_send>\nargs 192.0.2.1\nmtu 1\n</flow_send>\n",
	     "t.conf:3: unknown key 'mtu' in <flow_send>"},
	    {"<collector a>\n address 192.0.2.9\n <x>\n </x>\n</collector>\n",
	     "t.conf:3: unknown block <x> in <collector>"},
	    {"<collector a>\n address 192.0.2.9\n args 1\n</collector>\n",
	     "t.conf:3: unknown key 'args' in <collector>"},
	    {COLLECTOR "<filter>\n <zone>\n </zone>\n</filter>\n",
	     "t.conf:7: unknown block <zone> in <filter>"},
	    {COLLECTOR "<ct2ft>\n<ttl>\n</ttl>\n</ct2ft>\n",
	     "t.conf:7: unknown block <ttl> in <ct2ft>"},
	    {COLLECTOR "<conntrack>\n<x>\n</x>\n</conntrack>\n",
	     "t.conf:7: unknown block <x> in <conntrack>"},
	    {COLLECTOR "<flow_import>\nttl 1\n</flow_import>\n",
	     "t.conf:7: unknown key 'ttl' in <flow_import>"},
	    {COLLECTOR "<ptee>\n<x>\n</x>\n</ptee>\n", "t.conf:7: unknown block <x> in <ptee>"},
	    {DISPATCHER_OF("Log::Dispatch::Syslog", "stderr 1\n"),
	     "t.conf:11: unknown key 'stderr' for Log::Dispatch::Syslog in <s>"},
	    {DISPATCHER_OF("Log::Dispatch::File", "filename x\nident y\n"),
	     "t.conf:12: unknown key 'ident' for Log::Dispatch::File in <s>"},
	    {DISPATCHER_OF("Log::Dispatch::Screen", "<x>\n</x>\n"),
	     "t.conf:11: unknown block <x> in <s>"},
	};
	check_bad(cases, sizeof cases / sizeof cases[0]);
}

/* A key where a block belongs, a block where a key belongs, a key in the
 * wrong block: the top level says where it goes. */
static void test_walker_misplaced(void)
{
	static const struct bad cases[] = {
	    {COLLECTOR "filter 1\n", "t.conf:6: filter is a block: write <filter> ... </filter>"},
	    {COLLECTOR "collector a\n",
	     "t.conf:6: collector is a block: write <collector> ... </collector>"},
	    {COLLECTOR "<user>\n</user>\n", "t.conf:6: <user> is not a block: write 'user VALUE'"},
	    {COLLECTOR "mtu 1400\n", "t.conf:6: unknown key 'mtu' (mtu belongs in <collector>)"},
	    {COLLECTOR "args 1\n", "t.conf:6: unknown key 'args' (args belongs in <flow_send>)"},
	    {COLLECTOR "dispatchers a\n",
	     "t.conf:6: unknown key 'dispatchers' (dispatchers belongs in <ptee><conf>)"},
	    {COLLECTOR "<conf>\n</conf>\n",
	     "t.conf:6: unknown block <conf> (<conf> belongs in <ptee>)"},
	    {COLLECTOR "address 192.0.2.1\n", "t.conf:6: unknown key 'address'"}, /* two homes */
	    {COLLECTOR "stderr 1\n", "t.conf:6: unknown key 'stderr'"}, /* a dispatcher's */
	    {COLLECTOR "<ct2ft>\nflush_interval 1\n</ct2ft>\n",
	     "t.conf:7: unknown key 'flush_interval' in <ct2ft>"},
	    {"<collector a>\n address 192.0.2.9\n <address>\n </address>\n</collector>\n",
	     "t.conf:3: unknown block <address> in <collector>"},
	    {COLLECTOR "<filter x>\n</filter>\n", "t.conf:6: <filter x>: <filter> takes no name"},
	    {COLLECTOR "<ct2ft 1>\n</ct2ft>\n", "t.conf:6: <ct2ft 1>: <ct2ft> takes no name"},
	    {COLLECTOR "<conntrack x>\n</conntrack>\n",
	     "t.conf:6: <conntrack x>: <conntrack> takes no name"},
	    {COLLECTOR "<ptee x>\n</ptee>\n", "t.conf:6: <ptee x>: <ptee> takes no name"},
	    {COLLECTOR "<ptee>\n<conf x>\n</conf>\n</ptee>\n",
	     "t.conf:7: <conf x>: <conf> takes no name"},
	};
	check_bad(cases, sizeof cases / sizeof cases[0]);
}

/* A key or block that may be given once, given twice, in each block. */
static void test_walker_duplicates(void)
{
	static const struct bad cases[] = {
	    {COLLECTOR "user a\nuser b\n", "t.conf:7: user given twice (first at line 6)"},
	    {COLLECTOR "<filter>\n</filter>\n<filter>\n</filter>\n",
	     "t.conf:8: <filter> given twice (first at line 6)"},
	    {COLLECTOR "<ct2ft>\nttl 1\n</ct2ft>\n<ct2ft>\nttl 1\n</ct2ft>\n",
	     "t.conf:10: ttl given twice (first at line 7)"},
	    {"<collector a>\n address 192.0.2.9\n mtu 1400\n mtu 1400\n</collector>\n",
	     "t.conf:4: mtu given twice (first at line 3)"},
	    {"<collector a>\n address 192.0.2.9\n version 9\n version 9\n</collector>\n",
	     "t.conf:4: version given twice (first at line 3)"},
	    {DISPATCHER_OF("Log::Dispatch::Screen", "min_level 1\nmin_level 1\n"),
	     "t.conf:12: min_level given twice (first at line 11)"},
	    {DISPATCHER_OF("Log::Dispatch::Syslog", "logopt a\nlogopt b\n"),
	     "t.conf:12: logopt given twice (first at line 11)"},
	};
	check_bad(cases, sizeof cases / sizeof cases[0]);
	/* Repeatable keys and blocks. */
	check_ok(COLLECTOR "<filter>\n port 1\n port 2\n nat_only yes\n nat_only no\n</filter>\n");
	CHECK_EQ_U64(conf.filter.nports, 2);
	CHECK(!conf.filter.nat_only); /* the last wins */
	check_ok(COLLECTOR "<conntrack>\nprogname a\nprogname b\n</conntrack>\n<ct2ft>\n</ct2ft>\n"
			   "<ct2ft>\n</ct2ft>\n<conntrack>\n</conntrack>\n");
	CHECK_EQ_U64(warned.n, 2);
	/* The same key in two collectors, or two dispatchers, is no duplicate. */
	check_ok("<collector a>\n address 192.0.2.9\n mtu 1000\n</collector>\n"
		 "<collector b>\n address 192.0.2.8\n mtu 2000\n</collector>\n");
	CHECK_EQ_U64(conf.collectors[0].mtu, 1000);
	CHECK_EQ_U64(conf.collectors[1].mtu, 2000);
}

/* Values out of their range, by kind and block. */
static void test_walker_ranges(void)
{
	static const struct bad cases[] = {
	    {COLLECTOR "active_timeout 432001\n",
	     "t.conf:6: active_timeout: '432001' is not a number from 0 to 432000"},
	    {COLLECTOR "resync_interval 3601\n",
	     "t.conf:6: resync_interval: '3601' is not a number from 1 to 3600"},
	    {COLLECTOR "flush_interval 61\n",
	     "t.conf:6: flush_interval: '61' is not a number of seconds from 0.01 to 60 (at most "
	     "three decimals)"},
	    {COLLECTOR "netlink_rcvbuf 65535\n",
	     "t.conf:6: netlink_rcvbuf: '65535' is not a size from 64K to 1G"},
	    {"<collector a>\n address 192.0.2.9\n mtu 9001\n</collector>\n",
	     "t.conf:3: mtu: '9001' is not a number from 512 to 9000"},
	    {"<collector a>\n address 192.0.2.9\n mtu 511\n</collector>\n",
	     "t.conf:3: mtu: '511' is not a number from 512 to 9000"},
	    {"<collector a>\n address 192.0.2.9\n template_refresh 86401\n</collector>\n",
	     "t.conf:3: template_refresh: '86401' is not a number from 0 to 86400"},
	    {"<collector a>\n address 192.0.2.9\n template_refresh_packets 1000001\n"
	     "</collector>\n",
	     "t.conf:3: template_refresh_packets: '1000001' is not a number from 0 to 1000000"},
	    {"<collector a>\n address 192.0.2.9\n observation_domain 4294967296\n</collector>\n",
	     "t.conf:3: observation_domain: '4294967296' is not a number from 0 to 4294967295"},
	    {"<collector a>\n address 192.0.2.9\n port 65536\n</collector>\n",
	     "t.conf:3: port: '65536' is not a number from 1 to 65535"},
	    {"<collector a>\n address 192.0.2.9\n nat_events maybe\n</collector>\n",
	     "t.conf:3: nat_events: 'maybe' is not no, create, all, yes, off, on, false, true, 0 "
	     "or 1"},
	    {COLLECTOR "<filter>\n zone 65536\n</filter>\n",
	     "t.conf:7: zone: '65536' is not a number from 0 to 65535"},
	    {COLLECTOR "<filter>\n protocol 256\n</filter>\n",
	     "t.conf:7: protocol: '256' is not a protocol name or number"},
	    {COLLECTOR "<filter>\n mark 0x100000000\n</filter>\n",
	     "t.conf:7: mark: '0x100000000' is not VALUE or VALUE/MASK"},
	    {COLLECTOR "<filter>\n export_self 2\n</filter>\n",
	     "t.conf:7: export_self: '2' is not a boolean (yes/no, on/off, true/false, 1/0)"},
	    {COLLECTOR "pidfile run/x.pid\n",
	     "t.conf:6: pidfile: 'run/x.pid' is not an absolute path"},
	    {COLLECTOR "user a:b\n", "t.conf:6: user: 'a:b' is not a user name"},
	    /* every key that is used needs a value */
	    {COLLECTOR "sysctl_setup\n", "t.conf:6: sysctl_setup needs a value"},
	    {COLLECTOR "<filter>\n nat_only\n</filter>\n", "t.conf:7: nat_only needs a value"},
	    {DISPATCHER_OF("Log::Dispatch::File", "filename x\nmode\n"),
	     "t.conf:12: mode needs a value"},
	};
	check_bad(cases, sizeof cases / sizeof cases[0]);
	check_ok("<collector a>\n address 192.0.2.9\n mtu 512\n template_refresh 86400\n"
		 " observation_domain 4294967295\n</collector>\n<collector b>\n address 192.0.2.9\n"
		 " mtu 9000\n</collector>\n");
	CHECK_EQ_U64(conf.collectors[0].mtu, IPFIX_MTU_MIN);
	CHECK_EQ_U64(conf.collectors[0].domain, UINT32_MAX);
	CHECK_EQ_U64(conf.collectors[1].mtu, IPFIX_MTU_MAX);
}

/* Lists hold what their struct holds, however they are filled. */
static void test_walker_lists(void)
{
	static char text[8192];
	size_t at = 0;
	for (int i = 0; i < CONFIG_MAX_COLLECTORS; i++)
		at += (size_t)snprintf(text + at, sizeof text - at,
				       "<collector c%d>\n address 192.0.2.9\n</collector>\n", i);
	check_ok(text);
	CHECK_EQ_U64(conf.ncollectors, CONFIG_MAX_COLLECTORS);
	snprintf(text + at, sizeof text - at, "%s", COLLECTOR);
	CHECK_STR(error_of(text), "t.conf:49: more than 16 collectors");
	snprintf(text + at, sizeof text - at, "<collector x>\n address 192.0.2.9\n</collector>\n");
	CHECK_STR(error_of(text), "t.conf:49: more than 16 collectors");
	at = (size_t)snprintf(text, sizeof text, "%s<filter>\n", COLLECTOR);
	for (int i = 0; i <= FILTER_MAX; i++)
		at += (size_t)snprintf(text + at, sizeof text - at, "port %d\n", i + 1);
	snprintf(text + at, sizeof text - at, "</filter>\n");
	CHECK_STR(error_of(text), "t.conf:39: port: more than 32 values");
}

/* Keys that need templates are refused for version 5, at their line, and
 * taken by versions 9 and 10. */
static void test_walker_versions(void)
{
	size_t n = 0, refused = 0;
	const struct config_key *k = config_schema(&n);
	for (size_t i = 0; i < n; i++) {
		char text[512], want[256];
		if (!(k[i].flags & CONFIG_NEEDS_TEMPLATES))
			continue;
		snprintf(text, sizeof text,
			 "<collector a>\n address 192.0.2.9\n version 5\n %s %s\n</collector>\n",
			 k[i].name, k[i].def);
		snprintf(want, sizeof want, "t.conf:4: %s applies to versions 9 and 10, not 5",
			 k[i].name);
		CHECK_STR(error_of(text), want);
		for (int v = 0; v < 3; v++) {
			static const char *const ok[] = {"9", "10", "IPFIX"};
			snprintf(text, sizeof text,
				 "<collector a>\n address 192.0.2.9\n version %s\n %s %s\n"
				 "</collector>\n",
				 ok[v], k[i].name, k[i].def);
			check_ok(text);
		}
		refused++;
	}
	CHECK_EQ_U64(refused, 6);
	/* the version decides even when it comes last */
	CHECK_STR(error_of("<collector a>\n template_refresh 5\n address 192.0.2.9\n version 5\n"
			   "</collector>\n"),
		  "t.conf:2: template_refresh applies to versions 9 and 10, not 5");
	check_ok("<collector a>\n address 192.0.2.9\n version ipfix\n</collector>\n"
		 "<collector b>\n address 2001:db8::9\n version 9\n</collector>\n");
	CHECK_EQ_U64(conf.collectors[0].version, 10);
	CHECK_EQ_U64(ntohs(((const struct sockaddr_in *)&conf.collectors[0].addr)->sin_port), 4739);
	CHECK_EQ_U64(ntohs(((const struct sockaddr_in6 *)&conf.collectors[1].addr)->sin6_port),
		     2055);
}

/* nat_events: no, create (and yes, as before: the default) or all. */
static void test_nat_events(void)
{
	static const struct {
		const char *word;
		int want;
	} cases[] = {{"no", CONFIG_NAT_EVENTS_NO},	{"create", CONFIG_NAT_EVENTS_CREATE},
		     {"yes", CONFIG_NAT_EVENTS_CREATE}, {"all", CONFIG_NAT_EVENTS_ALL},
		     {"ALL", CONFIG_NAT_EVENTS_ALL},	{"off", CONFIG_NAT_EVENTS_NO},
		     {"true", CONFIG_NAT_EVENTS_CREATE}};
	char text[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text,
			 "<collector a>\n address 192.0.2.9\n version 9\n nat_events %s\n"
			 "</collector>\n",
			 cases[i].word);
		check_ok(text);
		CHECK_EQ_U64(conf.collectors[0].nat_events, cases[i].want);
	}
	check_ok("<collector a>\n address 192.0.2.9\n</collector>\n");
	CHECK_EQ_U64(conf.collectors[0].nat_events, CONFIG_NAT_EVENTS_CREATE);
	CHECK_STR(error_of("<collector a>\n address 192.0.2.9\n version 5\n nat_events all\n"
			   "</collector>\n"),
		  "t.conf:4: nat_events applies to versions 9 and 10, not 5");
}

/* RFC 7011 §8.4: templates must be resent. Both refresh keys 0 is refused
 * at the later of the two, naming both; either one alone is fine. */
static void test_template_refresh_never(void)
{
	static const char *const versions[] = {"9", "10"};
	char text[256];

	for (size_t i = 0; i < 2; i++) {
		snprintf(text, sizeof text,
			 "<collector a>\n address 192.0.2.9\n version %s\n template_refresh 0\n"
			 " template_refresh_packets 0\n</collector>\n",
			 versions[i]);
		CHECK_STR(error_of(text),
			  "t.conf:5: template_refresh 0 and template_refresh_packets 0: the "
			  "templates would never be sent again, so a collector that restarts could "
			  "decode nothing more (RFC 7011 §8.4); give one of them a value above 0");
	}
	CHECK_STR(error_of("<collector a>\n template_refresh_packets 0\n address 192.0.2.9\n"
			   " template_refresh 0\n</collector>\n"),
		  "t.conf:4: template_refresh 0 and template_refresh_packets 0: the templates "
		  "would never be sent again, so a collector that restarts could decode nothing "
		  "more (RFC 7011 §8.4); give one of them a value above 0");
	check_ok("<collector a>\n address 192.0.2.9\n template_refresh 0\n</collector>\n");
	CHECK_EQ_U64(conf.collectors[0].refresh_pkts, 20);
	check_ok("<collector a>\n address 192.0.2.9\n template_refresh_packets 0\n</collector>\n");
	CHECK_EQ_U64(conf.collectors[0].refresh_s, 60);
	/* v5 sends no templates: its defaults are not a refresh of 0 */
	check_ok("<collector a>\n address 192.0.2.9\n version 5\n</collector>\n");
}

static void test_walker_files(void)
{
	CHECK_STR(file_error("bad-version5-refresh.conf"),
		  "bad-version5-refresh.conf:7: template_refresh applies to versions 9 and 10, not "
		  "5");
	CHECK_STR(file_error("bad-misplaced.conf"),
		  "bad-misplaced.conf:8: unknown key 'dispatchers' (dispatchers belongs in "
		  "<ptee><conf>)");
}

/* <natlog>: alone a valid configuration; its keys, defaults and errors. */
static void test_natlog_block(void)
{
	check_ok("<natlog>\n file /var/log/nfflowd/nat.log\n</natlog>\n");
	CHECK_EQ_U64(conf.ncollectors, 0);
	CHECK(conf.natlog.enabled);
	CHECK_STR(conf.natlog.file.path, "/var/log/nfflowd/nat.log");
	CHECK_STR(conf.natlog.file.name, "natlog");
	CHECK(conf.natlog.file.kind == COPY_FILE && conf.natlog.file.append);
	CHECK_EQ_U64(conf.natlog.format, NATLOG_JSON);
	CHECK(!conf.natlog.all);
	check_ok("<natlog>\n file /tmp/n.log\n format text\n all yes\n</natlog>\n");
	CHECK_EQ_U64(conf.natlog.format, NATLOG_TEXT);
	CHECK(conf.natlog.all);
	check_ok(COLLECTOR);
	CHECK(!conf.natlog.enabled);
	CHECK_STR(error_of("<natlog>\n format text\n</natlog>\n"),
		  "t.conf:1: <natlog> needs a file");
	CHECK_STR(error_of("<natlog>\n file nat.log\n</natlog>\n"),
		  "t.conf:2: file: 'nat.log' is not an absolute path");
	CHECK_STR(error_of("<natlog>\n file /n.log\n format xml\n</natlog>\n"),
		  "t.conf:3: format: 'xml' is not json or text");
	CHECK_STR(error_of("<natlog>\n file /a\n</natlog>\n<natlog>\n file /b\n</natlog>\n"),
		  "t.conf:4: <natlog> given twice (first at line 1)");
}

int main(void)
{
	test_nat_events();
	test_template_refresh_never();
	test_defaults();
	test_original_file();
	test_minimal_files();
	test_all_keys();
	test_file_errors();
	test_load_keeps_config_on_error();
	test_load_too_large();
	test_load_fifo();
	test_parse_text();
	test_flow_send();
	test_collector_blocks();
	test_filter_block();
	test_helpers_and_ct2ft();
	test_top_level_keys();
	test_ptee_selects_copies();
	test_dispatcher_keys();
	test_dispatcher_errors();
	test_levels_and_facilities();
	test_schema_rows();
	test_defaults_written_out();
	test_walker_unknown();
	test_walker_misplaced();
	test_walker_duplicates();
	test_walker_ranges();
	test_walker_lists();
	test_walker_versions();
	test_walker_files();
	test_natlog_block();
	CHECK_DONE();
}
