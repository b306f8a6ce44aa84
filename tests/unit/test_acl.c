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

static struct config config;

static void load(void)
{
	static const char text[] =
	    "drive vt0 /srv/tapes/vt0.tap\n"
	    "drive lto /dev/nst0\n"
	    "identity backup user backup\n"
	    "identity office peer 192.168.1.0/24\n"
	    "identity v6 peer 2001:db8::/32\n"
	    "identity ops subject \"CN=ops.*\"\n"
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
