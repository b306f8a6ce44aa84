/*
 * test_config.c - rmtd.conf: every statement, and errors as file:line: message.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static struct config config;
static char error[600];

static int parse(const char *text)
{
	error[0] = '\0';
	return config_parse("t.conf", text, strlen(text), &config, false, error, sizeof(error));
}

static void expect_error(const char *text, const char *expected)
{
	cr_assert_eq(parse(text), -1, "accepted: %s", text);
	cr_assert(strstr(error, expected) != NULL, "error \"%s\" lacks \"%s\"", error, expected);
}

Test(config, full_example)
{
	const char *text = "listen 127.0.0.1:5400\n"
	                   "listen 0.0.0.0:5401 tls   # TLS for the network\n"
	                   "tls certificate /etc/rmtd/server.crt\n"
	                   "tls key /etc/rmtd/server.key\n"
	                   "tls ca \"/etc/rmtd/my ca.crt\"\n"
	                   "user _rmtd\ngroup tape\n"
	                   "state-directory /var/lib/rmtd\n"
	                   "control /run/rmtd/control.sock mode 0660 group operator\n"
	                   "limit sessions 100\nlimit per-peer 5\nlimit record 1M\n"
	                   "limit idle-timeout 0\n"
	                   "spool /srv/spool\n"
	                   "drive vt0 /srv/tapes/vt0.tap\n"
	                   "identity backup user backup\n"
	                   "identity backup peer 10.0.0.0/8\n"
	                   "allow backup drive vt0 read-write\n"
	                   "allow * path /srv/spool/*.tar read-write create record 64K\n";

	cr_assert_eq(parse(text), 0, "%s", error);
	cr_assert_eq(config.listen_count, 2);
	cr_assert(config.listens[1].tls);
	cr_assert_str_eq(config.tls_ca, "/etc/rmtd/my ca.crt");
	cr_assert_str_eq(config.user, "_rmtd");
	cr_assert_eq(config.control_mode, 0660);
	cr_assert_str_eq(config.control_group, "operator");
	cr_assert_eq(config.max_sessions, 100);
	cr_assert_eq(config.max_sessions_per_peer, 5);
	cr_assert_eq(config.max_record, 1024 * 1024);
	cr_assert_eq(config.idle_timeout, 0);
	cr_assert_eq(config.request_timeout, -1, "not set");
	cr_assert_eq(config.policy.directory_count, 1);
	cr_assert_eq(config.policy.drive_count, 1);
	cr_assert_eq(config.rules.matcher_count, 2);
	cr_assert_eq(config.rules.rule_count, 2);
	cr_assert(config.rules.enabled);
	cr_assert_eq(config.rules.rules[1].max_record, 64 * 1024);
	cr_assert_eq(config.rules.rules[1].permissions, RULE_MAY_CREATE);
	cr_assert_eq(config.rules.rules[1].line, 19);
	config_free(&config);
}

Test(config, empty_file_is_no_rules)
{
	cr_assert_eq(parse("# nothing\n\n   \n"), 0);
	cr_assert_not(config.rules.enabled);
}

Test(config, errors_name_the_line)
{
	expect_error("user a\nbogus x\n", "t.conf:2: \"bogus\": unknown statement");
	expect_error("listen 10.1.1.1:5400\n", "t.conf:1: plaintext on 10.1.1.1:5400");
	expect_error("listen 0.0.0.0:5400 tls\n", "t.conf: a tls listener needs");
	expect_error("limit sessions x\n", "t.conf:1: \"x\": expected a number");
	expect_error("limit record 17M\n", "expected a size");
	expect_error("limit record -1\n", "expected a size");
	expect_error("drive a/b /dev/nst0\n", "t.conf:1: drive a/b");
	expect_error("drive vt0 relative.tap\n", "absolute device path");
	expect_error("drive v /x.tap\ndrive v /y.tap\n", "t.conf:2: drive v is declared twice");
	expect_error("allow nobody drive vt0 read-only\n", "identity nobody is not defined");
	expect_error("identity a any\nallow a drive vt0 read-only\n", "drive vt0 is not declared");
	expect_error("identity a any\nallow a path relative read-only\n", "must be absolute");
	expect_error("identity a any\nallow a path /a/../b read-only\n", "must not contain");
	expect_error("identity a any\nallow a path /a read-only create\n",
	             "a read-only rule cannot create");
	expect_error("identity a any\nallow a path /a read-mostly\n", "expected read-only");
	expect_error("identity a peer 10.0.0.0/33\n", "expected an address");
	expect_error("identity a fingerprint sha256:abc\n", "64 hex digits");
	expect_error("identity * any\n", "already means anyone");
	expect_error("tls key relative\n", "must be an absolute path");
	expect_error("control /x mode 0666\n", "never for others");
	/* Octal digits only, through number.c: strtol took these. */
	expect_error("control /x mode +0660\n", "never for others");
	expect_error("control /x mode \" 0660\"\n", "never for others");
	expect_error("control /x mode \"\"\n", "never for others");
	expect_error("control /x mode 0680\n", "never for others");
	expect_error("user \"unterminated\n", "unterminated quoted string");
	expect_error("spool /srv\n", "no allow rule");
}

Test(config, sync_records)
{
	cr_assert_eq(parse("# nothing\n"), 0);
	cr_assert_eq(config.sync_records, -1);
	config_free(&config);
	cr_assert_eq(parse("sync yes\n"), 0);
	cr_assert_eq(config.sync_records, 1);
	config_free(&config);
	cr_assert_eq(parse("sync no\n"), 0);
	cr_assert_eq(config.sync_records, 0);
	config_free(&config);
	expect_error("sync maybe\n", "t.conf:1: sync \"maybe\": expected yes or no");
}

Test(config, drive_timing_limits)
{
	cr_assert_eq(parse("limit hold-timeout 600\nlimit stop-grace 5\n"), 0, "%s", error);
	cr_assert_eq(config.hold_timeout, 600);
	cr_assert_eq(config.stop_grace, 5);
	config_free(&config);
	cr_assert_eq(parse("limit hold-timeout 0\n"), 0, "%s", error);
	cr_assert_eq(config.hold_timeout, 0, "0: never");
	cr_assert_eq(config.stop_grace, -1, "not set");
	config_free(&config);
	expect_error("limit stop-grace 0\n", "0 where it must be positive");
}

Test(config, nul_bytes_and_long_lines)
{
	char text[8000];

	cr_assert_eq(config_parse("t.conf", "user a\0b\n", 9, &config, false, error, sizeof(error)),
	             -1);
	cr_assert(strstr(error, "NUL") != NULL);
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	expect_error(text, "line too long");
}

Test(config, file_writable_by_others_is_refused)
{
	char path[] = "/tmp/rmtd-conf-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "user a\n", 7), 7);
	close(fd);
	chmod(path, 0646);
	cr_assert_eq(config_load(path, &config, error, sizeof(error)), -1);
	cr_assert(strstr(error, "writable by others") != NULL, "%s", error);
	chmod(path, 0644);
	cr_assert_eq(config_load(path, &config, error, sizeof(error)), 0, "%s", error);
	config_free(&config);
	unlink(path);
	cr_assert_eq(config_load(path, &config, error, sizeof(error)), -1);
	cr_assert(strstr(error, "No such file") != NULL);
}
