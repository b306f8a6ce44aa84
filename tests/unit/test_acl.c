/*
 * test_acl.c - identities and rules: who may open what, how.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "acl.h"
#include "config.h"
#include "subject.h"

static struct config config;

static void load(void)
{
	static const char text[] =
	    "drive vt0 /srv/tapes/vt0.tap\n"
	    "drive lto /dev/nst0\n"
	    "identity backup user backup\n"
	    "identity office peer 192.168.1.0/24\n"
	    "identity v6 peer 2001:db8::/32\n"
	    "identity ops subject \"CN=ops.*,O=Example\"\n"
	    "identity pinned fingerprint sha256:" /* 64 hex digits */
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
	    "allow backup drive vt0 read-write\n"
	    "allow office path /srv/spool/*.tar read-write create\n"
	    "allow ops path /srv/archive/* write-once create\n"
	    "allow pinned path /srv/spool/* read-write create truncate append "
	    "record 64K\n"
	    "allow * drive lto read-only\n";
	char error[600];

	cr_assert_eq(
	    config_parse("acl.conf", text, strlen(text), &config, false, error, sizeof(error)), 0,
	    "%s", error);
}

TestSuite(acl, .init = load);

static struct resolved_path drive(const char *name, const char *device)
{
	struct resolved_path target;

	memset(&target, 0, sizeof(target));
	strcpy(target.drive_name, name);
	strcpy(target.canonical, device);
	return target;
}

static struct resolved_path file(const char *canonical)
{
	struct resolved_path target;

	memset(&target, 0, sizeof(target));
	strcpy(target.canonical, canonical);
	return target;
}

static int check(const struct client_identity *who, const struct resolved_path *target, int flags,
                 struct access_decision *decision)
{
	const char *reason;
	int result = acl_check(&config.rules, who, target, flags, decision, &reason);

	if (result < 0)
		cr_assert_not_null(reason);
	return result;
}

Test(acl, user_rule_on_a_drive)
{
	struct client_identity backup = {.user = "backup", .peer = "local"};
	struct client_identity other = {.user = "mallory", .peer = "local"};
	struct resolved_path vt0 = drive("vt0", "/srv/tapes/vt0.tap");
	struct access_decision d;

	cr_assert_eq(check(&backup, &vt0, O_RDWR, &d), 0);
	cr_assert_eq(d.rule_line, 8);
	cr_assert_eq(check(&other, &vt0, O_RDONLY, &d), -EACCES, "no rule for mallory");
}

Test(acl, anyone_read_only)
{
	struct client_identity anyone = {.peer = "local"};
	struct resolved_path lto = drive("lto", "/dev/nst0");
	struct access_decision d;

	cr_assert_eq(check(&anyone, &lto, O_RDONLY, &d), 0);
	cr_assert_eq(check(&anyone, &lto, O_WRONLY, &d), -EACCES);
	cr_assert_eq(check(&anyone, &lto, O_RDWR, &d), -EACCES);
}

Test(acl, peer_prefixes)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	struct client_identity who = {.peer = "x", .address = (struct sockaddr *)&in};
	struct resolved_path tar = file("/srv/spool/a.tar");
	struct access_decision d;

	inet_pton(AF_INET, "192.168.1.77", &in.sin_addr);
	cr_assert_eq(check(&who, &tar, O_WRONLY | O_CREAT, &d), 0);
	inet_pton(AF_INET, "192.168.2.77", &in.sin_addr);
	cr_assert_eq(check(&who, &tar, O_RDONLY, &d), -EACCES);
	/* An IPv4 client seen on an IPv6 socket is still in the IPv4 prefix. */
	who.address = (struct sockaddr *)&in6;
	inet_pton(AF_INET6, "::ffff:192.168.1.5", &in6.sin6_addr);
	cr_assert_eq(check(&who, &tar, O_RDONLY, &d), 0);
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	cr_assert_eq(acl_identity_matches(&config.rules, "v6", &who), true);
	inet_pton(AF_INET6, "2001:db9::1", &in6.sin6_addr);
	cr_assert_eq(acl_identity_matches(&config.rules, "v6", &who), false);
}

Test(acl, patterns_stay_within_a_directory)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct client_identity who = {.peer = "x", .address = (struct sockaddr *)&in};
	struct resolved_path nested = file("/srv/spool/sub/a.tar");
	struct access_decision d;

	inet_pton(AF_INET, "192.168.1.1", &in.sin_addr);
	cr_assert_eq(check(&who, &nested, O_RDONLY, &d), -EACCES, "'*' does not cross '/'");
}

Test(acl, create_truncate_append_need_the_rule)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct client_identity who = {.peer = "x", .address = (struct sockaddr *)&in};
	struct resolved_path tar = file("/srv/spool/a.tar");
	struct access_decision d;

	inet_pton(AF_INET, "192.168.1.1", &in.sin_addr);
	cr_assert_eq(check(&who, &tar, O_WRONLY | O_CREAT, &d), 0);
	cr_assert_eq(check(&who, &tar, O_WRONLY | O_CREAT | O_TRUNC, &d), -EACCES);
	cr_assert_eq(check(&who, &tar, O_WRONLY | O_APPEND, &d), -EACCES);
}

Test(acl, write_once)
{
	struct client_identity ops = {.peer = "x", .subject = "CN=ops.example.org,O=Example"};
	struct resolved_path archive = file("/srv/archive/monday.tar");
	struct access_decision d;

	cr_assert_eq(check(&ops, &archive, O_WRONLY | O_CREAT, &d), 0);
	cr_assert(d.flags & O_EXCL, "only something new may be written");
	cr_assert_eq(check(&ops, &archive, O_WRONLY, &d), -EACCES, "no rewriting");
	cr_assert_eq(check(&ops, &archive, O_RDONLY, &d), 0, "reading back is fine");
	cr_assert_eq(check(&ops, &archive, O_WRONLY | O_CREAT | O_TRUNC, &d), -EACCES);
}

Test(acl, fingerprint_and_record_limit)
{
	struct client_identity pinned = {
	    .peer = "x",
	    .fingerprint = "SHA256:00112233445566778899AABBCCDDEEFF00112233445566778899AABB"
	                   "CCDDEEFF",
	};
	struct resolved_path f = file("/srv/spool/x");
	struct access_decision d;

	cr_assert_eq(check(&pinned, &f, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, &d), 0);
	cr_assert_eq(d.max_record, 64 * 1024);
	pinned.fingerprint = "sha256:ff";
	cr_assert_eq(check(&pinned, &f, O_RDONLY, &d), -EACCES);
}

Test(acl, rules_off_without_a_configuration)
{
	struct access_rules none;
	struct client_identity who = {.peer = "x"};
	struct resolved_path f = file("/anything");
	struct access_decision d;
	const char *reason;

	memset(&none, 0, sizeof(none));
	cr_assert_eq(acl_check(&none, &who, &f, O_WRONLY | O_CREAT | O_TRUNC, &d, &reason), 0);
	cr_assert_eq(d.flags, O_WRONLY | O_CREAT | O_TRUNC);
}

/* ---------------------------------------------------------------- subjects */

Test(subject, whole_components_only)
{
	/* The pattern rmtd.conf(5) shows; then what a careless CA might sign. */
	const char *pattern = "CN=backup.example.org,O=Example";

	cr_assert(subject_matches(pattern, "CN=backup.example.org,O=Example"));
	cr_assert(
	    subject_matches("cn=backup.example.org,o=Example", "CN=backup.example.org,O=Example"),
	    "types ignore case");
	cr_assert_not(subject_matches(pattern, "CN=backup.example.org,O=example"),
	              "values do not ignore case");
	cr_assert_not(subject_matches(pattern, "CN=evil\\,CN=backup.example.org,O=Example"));
	cr_assert_not(subject_matches(pattern, "CN=xCN=backup.example.org,O=Example"));
	cr_assert_not(subject_matches(pattern, "CN=backup.example.org,O=EvilCorp"));
	cr_assert_not(subject_matches(pattern, "CN=backup.example.org,O=Example,DC=evil"),
	              "a component the pattern does not name");
	cr_assert_not(subject_matches(pattern, "OU=x,CN=backup.example.org,O=Example"));
	cr_assert_not(subject_matches(pattern, "CN=backup.example.org"));
	cr_assert_not(subject_matches(pattern, "CN=backup.example.org+UID=7,O=Example"));
	cr_assert_not(subject_matches("CN=backup.example.org", "O=EvilCorp,CN=backup.example.org"));
	cr_assert_not(subject_matches("CN=backup.example.org", "CN=evil\\,CN=backup.example.org"));
}

Test(subject, globs_stay_inside_one_value)
{
	cr_assert(subject_matches("CN=*.example.org,O=Example", "CN=a.example.org,O=Example"));
	cr_assert_not(subject_matches("CN=*,O=Example", "CN=a,OU=b,O=Example"),
	              "'*' does not reach into the next component");
	cr_assert(subject_matches("CN=*,O=*", "CN=a\\,O=b,O=c"), "one CN holding a comma");
	cr_assert_not(subject_matches("CN=*", "CN=a,O=b"));
	cr_assert(subject_matches("CN=host?,O=[EX]xample", "CN=host7,O=Example"));
	cr_assert(subject_matches("CN=a+UID=*,O=b", "CN=a+UID=1000,O=b"), "multi-valued");
	cr_assert_not(subject_matches("CN=a,UID=*,O=b", "CN=a+UID=1000,O=b"));
}

Test(subject, rfc2253_escapes)
{
	cr_assert(subject_matches("CN=a\\,b", "CN=a\\,b"));
	cr_assert(subject_matches("CN=a\\2Cb", "CN=a\\,b"), "\\XX is the byte");
	cr_assert(subject_matches("CN=a\\,b", "CN=a\\2cb"));
	cr_assert(
	    subject_matches("CN=\\\"q\\\"\\+\\;\\<\\>\\=\\\\", "CN=\\\"q\\\"\\+\\;\\<\\>=\\\\"));
	cr_assert(subject_matches("CN=\\ x\\ ", "CN=\\ x\\ "), "blanks at either end");
	cr_assert(subject_matches("CN=\\#1", "CN=\\#1"));
	cr_assert(subject_matches("CN=x\\*", "CN=x*"), "an escaped '*' is a star");
	cr_assert_not(subject_matches("CN=x\\*", "CN=xy"));
	cr_assert(subject_matches("CN=\\E2\\80\\AE", "CN=\xe2\x80\xae"), "UTF-8 bytes");
	cr_assert_not(subject_matches("CN=*", "CN=a\\00b"), "a NUL never matches");
}

Test(subject, bad_patterns_are_refused)
{
	static const char *bad[] = {
	    "*CN=backup.example.org",
	    "CN=backup.example.org,",
	    "",
	    "=x",
	    "CN",
	    "CN=a\\q",
	    "CN=a\\4",
	    "CN=\"x\"",
	    "CN=a\\00",
	};
	const char *reason;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reason = NULL;
		cr_assert_eq(subject_pattern_check(bad[i], &reason), -EINVAL, "%s", bad[i]);
		cr_assert_not_null(reason);
	}
	cr_assert_eq(subject_pattern_check("CN=a, O=b", &reason), 0);
	cr_assert(subject_matches("CN=a, O=b", "CN=a,O=b"), "a blank after ',' is allowed");
}

Test(subject, fingerprints_in_openssl_form)
{
	static const char hex[] =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char colons[128], out[80];

	for (int i = 0; i < 32; i++)
		snprintf(colons + 3 * i, sizeof(colons) - 3 * (size_t)i, i ? ":%02X" : "%02X",
		         i % 16 * 0x11);
	memmove(colons + 2, colons + 3, strlen(colons + 3) + 1); /* "00" then ":11..." */
	cr_assert_eq(acl_parse_fingerprint(hex, out, sizeof(out)), 0);
	cr_assert_str_eq(out + 7, hex);
	cr_assert_eq(acl_parse_fingerprint(colons, out, sizeof(out)), 0, "%s", colons);
	cr_assert_str_eq(out,
	                 "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	cr_assert_eq(
	    acl_parse_fingerprint("SHA256:00112233445566778899AABBCCDDEEFF00112233445566778899"
	                          "AABBCCDDEEFF",
	                          out, sizeof(out)),
	    0);
	cr_assert_eq(acl_parse_fingerprint("sha256:abc", out, sizeof(out)), -EINVAL);
	colons[5] = '-';
	cr_assert_eq(acl_parse_fingerprint(colons, out, sizeof(out)), -EINVAL);
	cr_assert_eq(acl_parse_fingerprint("00:11", out, sizeof(out)), -EINVAL);
}
