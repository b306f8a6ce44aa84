/*
 * test_log.c - rmtd/log.c: one clear line per event. Whatever a message
 * carries (a client's path with a newline, an escape sequence), it stays one
 * line with no control byte; the errno of log_warn is named and left as it
 * was; info needs -v on standard error and debug -vv; fatalx exits 1.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static void to_stderr(void)
{
	cr_redirect_stderr();
	log_init("rmtd", 1, 0);
}

Test(log, a_message_is_one_line_with_the_programs_name, .init = to_stderr)
{
	log_warnx("session %u: %s", 7u, "opened /srv/tapes/a.tap");
	fflush(stderr);
	cr_assert_stderr_eq_str("rmtd: session 7: opened /srv/tapes/a.tap\n");
}

Test(log, a_newline_in_a_message_cannot_forge_a_second_line, .init = to_stderr)
{
	log_warnx("open %s", "x\nrmtd: session 2: root logged in");
	fflush(stderr);
	cr_assert_stderr_eq_str("rmtd: open x\\nrmtd: session 2: root logged in\n");
}

Test(log, control_bytes_never_reach_the_reader, .init = to_stderr)
{
	log_notice("label %s", "\x1b[2J\x07\x7f\xc2\x9b");
	fflush(stderr);
	cr_assert_stderr_eq_str("rmtd: label \\033[2J\\007\\177\\302\\233\n");
}

Test(log, text_already_escaped_keeps_its_backslashes, .init = to_stderr)
{
	/* Callers escape what clients sent (escape.h); the log does not escape it twice. */
	log_warnx("path %s", "a\\nb");
	fflush(stderr);
	cr_assert_stderr_eq_str("rmtd: path a\\nb\n");
}

Test(log, log_warn_names_errno_and_leaves_it_alone, .init = to_stderr)
{
	errno = ENOSPC;
	log_warn("writing %s", "t.tap");
	cr_assert_eq(errno, ENOSPC);
	fflush(stderr);
	cr_assert_stderr_eq_str("rmtd: writing t.tap: No space left on device\n");
}

Test(log, info_needs_v_and_debug_needs_vv, .init = to_stderr)
{
	log_info("hidden at 0");
	log_debug_message("hidden at 0");
	log_set_verbosity(1);
	cr_assert_eq(log_get_verbosity(), 1);
	log_info("shown at 1");
	log_debug_message("hidden at 1");
	log_set_verbosity(2);
	log_debug_message("shown at 2");
	fflush(stderr);
	cr_assert_stderr_eq_str("rmtd: shown at 1\nrmtd: shown at 2\n");
}

Test(log, a_long_message_is_cut_and_stays_one_line, .init = to_stderr)
{
	char long_text[3000], line[8192];
	FILE *err;
	size_t n;

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	log_warnx("%s", long_text);
	fflush(stderr);
	err = cr_get_redirected_stderr();
	n = fread(line, 1, sizeof(line) - 1, err);
	line[n] = '\0';
	cr_assert_gt(n, 1000);
	cr_assert_lt(n, sizeof(long_text));
	cr_assert_eq(strchr(line, '\n'), line + n - 1, "not one line");
}

Test(log, fatalx_exits_1, .init = to_stderr, .exit_code = 1)
{
	fatalx("cannot go on: %s", "no drives");
	cr_assert_fail("fatalx returned");
}
