/*
 * test_tapeop_class.c - the tape operation table, the check at each op, and
 * the rules' settings grant that feeds it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "acl.h"
#include "backend.h"
#include "config.h"
#include "tapeop_class.h"

static const int settings_ops[] = {MTSETBLK, MTSETDENSITY, MTCOMPRESSION, MTSETDRVBUFFER,
                                   MTUNLOAD, MTOFFL,       MTLOAD,        MTLOCK,
                                   MTUNLOCK, MTSETPART,    MTRESET};
static const int moving_ops[] = {MTFSF,  MTBSF,  MTFSR, MTBSR,  MTREW, MTRETEN,
                                 MTBSFM, MTFSFM, MTEOM, MTSEEK, MTFSS, MTBSS};
static const int writing_ops[] = {MTWEOF, MTWEOFI, MTERASE, MTWSM};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

Test(tapeop_class, every_op_has_its_class)
{
	for (size_t i = 0; i < COUNT(settings_ops); i++)
		cr_assert_eq(tapeop_classify(settings_ops[i]), TAPEOP_SETTINGS, "op %d",
		             settings_ops[i]);
	for (size_t i = 0; i < COUNT(moving_ops); i++)
		cr_assert_eq(tapeop_classify(moving_ops[i]), TAPEOP_MOVES, "op %d", moving_ops[i]);
	for (size_t i = 0; i < COUNT(writing_ops); i++)
		cr_assert_eq(tapeop_classify(writing_ops[i]), TAPEOP_WRITES, "op %d",
		             writing_ops[i]);
	cr_assert_eq(tapeop_classify(MTNOP), TAPEOP_READS);
	cr_assert_eq(tapeop_classify(MTTELL), TAPEOP_READS);
	cr_assert_eq(tapeop_classify(MTMKPART), TAPEOP_FORMATS);
}

Test(tapeop_class, unknown_ops_count_as_settings)
{
	char buffer[16];

	/* MTRAS1..3 are reserved; 36 and up, and negative numbers, do not exist yet. */
	for (int op = -2; op <= 63; op++) {
		if (op >= 14 && op <= 16)
			cr_assert_eq(tapeop_classify(op), TAPEOP_SETTINGS, "op %d", op);
		if (op < 0 || op > MTWEOFI)
			cr_assert_eq(tapeop_classify(op), TAPEOP_SETTINGS, "op %d", op);
	}
	cr_assert_str_eq(tapeop_name(MTSETBLK, buffer, sizeof(buffer)), "MTSETBLK");
	cr_assert_str_eq(tapeop_name(99, buffer, sizeof(buffer)), "op 99");
}

Test(tapeop_class, read_only_open_without_settings)
{
	struct tapeop_grant grant = {.writable = false, .settings = false};
	const char *reason;

	for (size_t i = 0; i < COUNT(settings_ops); i++) {
		cr_assert_eq(tapeop_allowed(settings_ops[i], &grant, &reason), -EPERM, "op %d",
		             settings_ops[i]);
		cr_assert_not_null(reason);
	}
	for (size_t i = 0; i < COUNT(writing_ops); i++)
		cr_assert_eq(tapeop_allowed(writing_ops[i], &grant, &reason), -EACCES, "op %d",
		             writing_ops[i]);
	for (size_t i = 0; i < COUNT(moving_ops); i++)
		cr_assert_eq(tapeop_allowed(moving_ops[i], &grant, &reason), 0, "op %d",
		             moving_ops[i]);
	cr_assert_eq(tapeop_allowed(MTNOP, &grant, &reason), 0);
	cr_assert_eq(tapeop_allowed(MTMKPART, &grant, &reason), -EACCES);
	cr_assert_eq(tapeop_allowed(77, &grant, &reason), -EPERM);
}

Test(tapeop_class, writable_open_still_needs_the_settings_grant)
{
	struct tapeop_grant writer = {.writable = true, .settings = false};
	struct tapeop_grant ejector = {.writable = false, .settings = true};
	struct tapeop_grant both = {.writable = true, .settings = true};
	const char *reason;

	cr_assert_eq(tapeop_allowed(MTWEOF, &writer, &reason), 0);
	cr_assert_eq(tapeop_allowed(MTERASE, &writer, &reason), 0);
	cr_assert_eq(tapeop_allowed(MTSETBLK, &writer, &reason), -EPERM);
	cr_assert_eq(tapeop_allowed(MTMKPART, &writer, &reason), -EPERM);
	cr_assert_eq(tapeop_allowed(MTSETBLK, &ejector, &reason), 0);
	cr_assert_eq(tapeop_allowed(MTUNLOAD, &ejector, &reason), 0);
	cr_assert_eq(tapeop_allowed(MTWEOF, &ejector, &reason), -EACCES);
	cr_assert_eq(tapeop_allowed(MTMKPART, &both, &reason), 0);
}

static void decide(const char *text, int flags, struct access_decision *decision)
{
	static struct config config;
	struct client_identity who = {.user = "backup", .peer = "local"};
	struct resolved_path vt0;
	const char *reason;
	char error[600];

	memset(&config, 0, sizeof(config));
	cr_assert_eq(
	    config_parse("t.conf", text, strlen(text), &config, false, error, sizeof(error)), 0,
	    "%s", error);
	memset(&vt0, 0, sizeof(vt0));
	strcpy(vt0.drive_name, "vt0");
	strcpy(vt0.canonical, "/srv/vt0.tap");
	cr_assert_eq(acl_check(&config.rules, &who, &vt0, flags, decision, &reason), 0, "%s",
	             reason);
}

Test(tapeop_class, rules_grant_settings_only_when_they_say_so)
{
	struct access_decision d;

	decide("drive vt0 /srv/vt0.tap\nidentity b user backup\nallow b drive vt0 read-write\n",
	       O_RDWR, &d);
	cr_assert_not(d.may_change_settings, "read-write alone is no settings grant");
	decide("drive vt0 /srv/vt0.tap\nidentity b user backup\n"
	       "allow b drive vt0 read-write settings\n",
	       O_RDONLY, &d);
	cr_assert(d.may_change_settings);
	decide("drive vt0 /srv/vt0.tap\nidentity b user backup\n"
	       "allow b drive vt0 read-only settings\n",
	       O_RDONLY, &d);
	cr_assert(d.may_change_settings, "an operator may eject without writing");
	decide("", O_RDONLY, &d);
	cr_assert(d.may_change_settings, "without rules nothing is withheld");
}
