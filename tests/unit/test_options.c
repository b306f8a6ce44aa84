/*
 * test_options.c - rmtd/options.c: the command line, and how it combines with
 * rmtd.conf. What options.h promises: usage errors exit 64, a value out of
 * range exits 1 with the option named, --help exits 0; installed as "rmt" the
 * server speaks on stdin/stdout; the daemon refuses extra arguments (classic
 * rmt's debug file) while stdio mode ignores them; a limit given on the command
 * line wins over the file's, which wins over the default; stdio mode reads a
 * configuration only when -f names one.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "drive.h"
#include "rmt/protocol.h"
#include "options.h"

#define PARSE(o, ...)                                                                              \
	do {                                                                                       \
		char *argv[] = {__VA_ARGS__, NULL};                                                \
		optind = 0; /* getopt's full reset: a test may parse more than once */             \
		options_parse((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, (o));               \
	} while (0)

static char config_path[] = "/tmp/test_options.XXXXXX";

/* A configuration file with text, named in config_path. */
static void write_config(const char *text)
{
	int fd = mkstemp(config_path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void remove_config(void)
{
	if (strchr(config_path, 'X') == NULL)
		unlink(config_path);
}

static void quiet(void)
{
	cr_redirect_stderr();
	cr_redirect_stdout();
}

Test(options, the_name_rmt_means_stdio_mode)
{
	struct options o;

	PARSE(&o, "/usr/sbin/rmt");
	cr_assert_eq(o.mode, MODE_STDIO);
	PARSE(&o, "rmt");
	cr_assert_eq(o.mode, MODE_STDIO);
	PARSE(&o, "/usr/sbin/rmtd");
	cr_assert_eq(o.mode, MODE_DAEMON);
	PARSE(&o, "/usr/sbin/rmt-tar");
	cr_assert_eq(o.mode, MODE_DAEMON);
}

Test(options, a_login_shell_running_rmt_gets_stdio_mode)
{
	struct options o;

	PARSE(&o, "rmtd", "-c", "/etc/rmt");
	cr_assert_eq(o.mode, MODE_STDIO);
}

Test(options, each_option_lands_in_its_field)
{
	struct options o;

	PARSE(&o, "rmtd", "--inetd", "-d", "-v", "-v", "-n", "-f", "/x.conf", "--allow", "/srv/a",
	      "--allow", "/srv/b", "--drive", "lto=/dev/nst0", "--listen", "127.0.0.1:7000",
	      "--max-record", "64K", "--drive-wait", "0", "--max-sessions", "9", "--max-per-peer",
	      "3", "--idle-timeout", "0", "--request-timeout", "7", "--hold-timeout", "60",
	      "--stop-grace", "4", "--control", "none", "--control-mode", "0660", "--control-group",
	      "tape", "--status-dir", "/run/s", "--status-interval", "2", "--state-dir",
	      "/var/lib/x", "--sync");
	cr_assert_eq(o.mode, MODE_INETD);
	cr_assert(o.foreground && o.check_only && o.sync_records);
	cr_assert_eq(o.verbosity, 2);
	cr_assert_str_eq(o.config_file, "/x.conf");
	cr_assert_eq(o.allowed_count, 2);
	cr_assert_str_eq(o.allowed[1], "/srv/b");
	cr_assert_eq(o.drive_count, 1);
	cr_assert_str_eq(o.drives[0], "lto=/dev/nst0");
	cr_assert_eq(o.listen_count, 1);
	cr_assert_eq(o.max_record, 65536);
	cr_assert_eq(o.drive_wait, 0);
	cr_assert_eq(o.max_sessions, 9);
	cr_assert_eq(o.max_per_peer, 3);
	cr_assert_eq(o.idle_timeout, 0);
	cr_assert_eq(o.request_timeout, 7);
	cr_assert_eq(o.hold_timeout, 60);
	cr_assert_eq(o.stop_grace, 4);
	cr_assert_str_eq(o.control_socket, "");
	cr_assert_eq(o.control_mode, 0660);
	cr_assert_str_eq(o.control_group, "tape");
	cr_assert_str_eq(o.status_directory, "/run/s");
	cr_assert_eq(o.status_interval, 2);
	cr_assert_str_eq(o.state_directory, "/var/lib/x");
}

Test(options, what_is_not_given_stays_unset)
{
	struct options o;

	PARSE(&o, "rmtd");
	cr_assert_eq(o.max_record, -1);
	cr_assert_eq(o.max_sessions, -1);
	cr_assert_eq(o.idle_timeout, -1);
	cr_assert_eq(o.hold_timeout, -1);
	cr_assert_eq(o.control_mode, -1);
	cr_assert_null(o.control_socket);
	cr_assert_null(o.config_file);
}

Test(options, stdio_mode_ignores_extra_arguments)
{
	struct options o;

	/* Classic rmt's debug file: never opened, never truncated. */
	PARSE(&o, "rmt", "/etc/passwd");
	cr_assert_eq(o.mode, MODE_STDIO);
	cr_assert_eq(o.ignored_arguments, 1);
}

Test(options, the_daemon_refuses_extra_arguments, .init = quiet, .exit_code = 64)
{
	struct options o;

	PARSE(&o, "rmtd", "/etc/passwd");
}

Test(options, an_unknown_option_is_a_usage_error, .init = quiet, .exit_code = 64)
{
	struct options o;

	PARSE(&o, "rmtd", "--no-such-option");
}

Test(options, help_exits_0, .init = quiet, .exit_code = 0)
{
	struct options o;

	PARSE(&o, "rmtd", "--help");
	cr_assert_fail("--help returned");
}

/* Parse "rmtd OPTION VALUE", which must exit (1: a value out of range). */
static void parse_refused(const char *option, const char *value)
{
	struct options o;

	PARSE(&o, "rmtd", (char *)option, (char *)value);
	cr_assert_fail("%s %s was taken", option, value);
}

/* Each case its own test: an exit ends the process Criterion runs it in. */
Test(options, zero_sessions_is_refused, .init = quiet, .exit_code = 1)
{
	parse_refused("--max-sessions", "0");
}

Test(options, a_negative_timeout_is_refused, .init = quiet, .exit_code = 1)
{
	parse_refused("--idle-timeout", "-1");
}

Test(options, a_number_with_junk_is_refused, .init = quiet, .exit_code = 1)
{
	parse_refused("--request-timeout", "5s");
}

Test(options, a_count_past_the_largest_is_refused, .init = quiet, .exit_code = 1)
{
	parse_refused("--stop-grace", "1000001");
}

Test(options, a_record_size_past_the_protocols_is_refused, .init = quiet, .exit_code = 1)
{
	parse_refused("--max-record", "1G");
}

Test(options, a_control_socket_for_others_is_refused, .init = quiet, .exit_code = 1)
{
	parse_refused("--control-mode", "0666");
}

Test(options, too_many_listeners_are_refused, .init = quiet, .exit_code = 1)
{
	char *argv[2 + 2 * (OPTIONS_LISTEN_MAX + 1)];
	struct options o;
	int argc = 0;

	argv[argc++] = "rmtd";
	for (int i = 0; i <= OPTIONS_LISTEN_MAX; i++) {
		argv[argc++] = "--listen";
		argv[argc++] = "127.0.0.1:7000";
	}
	argv[argc] = NULL;
	options_parse(argc, argv, &o);
}

Test(options, stdio_mode_reads_a_configuration_only_when_named)
{
	struct options o;

	PARSE(&o, "rmt");
	cr_assert_null(options_config_file(&o));
	PARSE(&o, "rmt", "-f", "/etc/site-rmt.conf");
	cr_assert_str_eq(options_config_file(&o), "/etc/site-rmt.conf");
}

Test(options, the_command_line_wins_over_the_file_which_wins_over_the_default,
     .fini = remove_config)
{
	struct server_limits limits;
	struct options o;
	struct config *config;
	char error[256] = "";
	int drive_wait, hold, grace;

	write_config("limit sessions 7\nlimit idle-timeout 30\nlimit hold-timeout 90\n");
	PARSE(&o, "rmtd", "-f", config_path, "--idle-timeout", "5");
	config = options_configure(&o, error, sizeof(error));
	cr_assert_not_null(config, "%s", error);
	options_limits(&o, config, &limits, &drive_wait);
	options_drive_timing(&o, config, &hold, &grace);
	cr_assert_eq(limits.idle_timeout, 5);                    /* the command line's */
	cr_assert_eq(limits.max_sessions, 7);                    /* the file's */
	cr_assert_eq(hold, 90);                                  /* the file's */
	cr_assert_eq(limits.max_record, RMT_MAX_RECORD_DEFAULT); /* neither: the default */
	cr_assert_eq(grace, DRIVE_STOP_GRACE_DEFAULT);
	config_release(config);
}

Test(options, a_bad_configuration_file_is_reported_with_its_line, .fini = remove_config)
{
	struct options o;
	char error[256] = "";

	write_config("limit sessions 7\nlimit sessions many\n");
	PARSE(&o, "rmtd", "-f", config_path);
	cr_assert_null(options_configure(&o, error, sizeof(error)));
	cr_assert_not_null(strstr(error, ":2:"), "%s", error);
}

Test(options, a_drive_must_be_name_equals_absolute_device)
{
	static const char *bad[] = {"nst0", "=/dev/nst0", "a/b=/dev/nst0", "lto=dev/nst0"};
	struct config *config;
	struct options o;
	char error[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		PARSE(&o, "rmt", "--drive", (char *)bad[i]);
		error[0] = '\0';
		config = options_configure(&o, error, sizeof(error));
		cr_assert_null(config, "--drive %s was taken", bad[i]);
		cr_assert_not_null(strstr(error, "--drive"), "%s", error);
	}
	PARSE(&o, "rmt", "--drive", "lto=/dev/nst0");
	config = options_configure(&o, error, sizeof(error));
	cr_assert_not_null(config, "%s", error);
	config_release(config);
}

Test(options, a_relative_allow_is_refused)
{
	struct options o;
	char error[256] = "";

	PARSE(&o, "rmt", "--allow", "tapes");
	cr_assert_null(options_configure(&o, error, sizeof(error)));
	cr_assert_not_null(strstr(error, "--allow tapes"), "%s", error);
}
