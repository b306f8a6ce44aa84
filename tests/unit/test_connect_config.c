/*
 * test_connect_config.c - rmt-connect's configuration file (librmt/connect_config.c):
 * host sections, the first value that applies wins, and errors that name the line.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "connect_config.h"

static int parse(const char *text, const char *host, struct connect_settings *s, char *error,
                 size_t size)
{
	FILE *file = fmemopen((void *)text, strlen(text), "r");
	int rc;

	cr_assert_not_null(file);
	*s = (struct connect_settings){.tls = -1, .pipeline = -1};
	error[0] = '\0';
	rc = connect_config_parse(file, "test.conf", host, s, error, size);
	fclose(file);
	return rc;
}

Test(connect_config, sections_apply_by_host_and_the_first_value_wins)
{
	const char *text = "# defaults for every host\n"
	                   "port 4000\n"
	                   "\n"
	                   "host tape* backup.example.org   # two patterns\n"
	                   "    tls\n"
	                   "    pipeline\n"
	                   "    ca /etc/rmt-connect/ca.crt\n"
	                   "    port 5000\n"
	                   "host *\n"
	                   "    plaintext\n"
	                   "    classic\n"
	                   "    server-name other\n";
	struct connect_settings s;
	char error[256];

	cr_assert_eq(parse(text, "TAPEHOST", &s, error, sizeof(error)), 0, "%s", error);
	cr_assert_eq(s.tls, 1, "patterns ignore case");
	cr_assert_eq(s.pipeline, 1);
	cr_assert_eq(s.port, 4000, "the statement before any host line came first");
	cr_assert_str_eq(s.ca, "/etc/rmt-connect/ca.crt");
	cr_assert_str_eq(s.server_name, "other");
	cr_assert_null(s.cert);
	connect_settings_free(&s);

	cr_assert_eq(parse(text, "elsewhere", &s, error, sizeof(error)), 0, "%s", error);
	cr_assert_eq(s.tls, 0);
	cr_assert_eq(s.pipeline, 0);
	cr_assert_null(s.ca);
	connect_settings_free(&s);
}

Test(connect_config, errors_name_the_file_and_line)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
	    {"tls\nport 0\n", "test.conf:2: expected a port from 1 to 65535: 0"},
	    {"port 65536\n", "test.conf:1: expected a port from 1 to 65535: 65536"},
	    {"port 80x\n", "test.conf:1: expected a port from 1 to 65535: 80x"},
	    {"tls yes\n", "test.conf:1: takes no value: tls"},
	    {"ca\n", "test.conf:1: unknown statement, or it takes one value: ca"},
	    {"colour blue\n", "test.conf:1: unknown statement: colour"},
	    {"\n\nhost\n", "test.conf:3: host needs a pattern"},
	    {"host a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7\n",
	     "test.conf:1: too many words"},
	};
	struct connect_settings s;
	char error[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse(cases[i].text, "h", &s, error, sizeof(error)), -1, "%s",
		             cases[i].text);
		cr_assert_str_eq(error, cases[i].error);
		connect_settings_free(&s);
	}
}

Test(connect_config, a_section_for_another_host_is_still_checked)
{
	struct connect_settings s;
	char error[256];

	cr_assert_eq(parse("host other\n  port none\n", "me", &s, error, sizeof(error)), -1);
	cr_assert_str_eq(error, "test.conf:2: expected a port from 1 to 65535: none");
	connect_settings_free(&s);
}

Test(connect_config, a_missing_file_is_an_error_only_when_named)
{
	struct connect_settings s = {.tls = -1, .pipeline = -1};
	char error[256] = "";

	cr_assert_eq(connect_config_read("/nonexistent/rmt-connect.conf", false, "h", &s, error,
	                                 sizeof(error)),
	             0);
	cr_assert_eq(connect_config_read("/nonexistent/rmt-connect.conf", true, "h", &s, error,
	                                 sizeof(error)),
	             -1);
	cr_assert_str_eq(error, "/nonexistent/rmt-connect.conf: No such file or directory");
}
