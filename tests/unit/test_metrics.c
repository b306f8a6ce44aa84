/*
 * test_metrics.c - the Prometheus text of a snapshot: every family announced by
 * HELP and TYPE before its samples and never split, counters named *_total,
 * one drive state set to 1, label values escaped (quotes, backslashes, newlines,
 * bytes that are not UTF-8), and the numbers the snapshot holds.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "metrics.h"

static char *format(const struct status_snapshot *snapshot)
{
	struct evbuffer *buffer = evbuffer_new();
	size_t length;
	char *text;

	cr_assert_not_null(buffer);
	cr_assert_eq(metrics_format(buffer, snapshot), 0);
	length = evbuffer_get_length(buffer);
	text = malloc(length + 1);
	cr_assert_not_null(text);
	evbuffer_remove(buffer, text, length);
	text[length] = '\0';
	evbuffer_free(buffer);
	return text;
}

static char *label_value(const char *s)
{
	struct evbuffer *buffer = evbuffer_new();
	size_t length;
	char *text;

	cr_assert_eq(metrics_label_value(buffer, s), 0);
	length = evbuffer_get_length(buffer);
	text = malloc(length + 1);
	evbuffer_remove(buffer, text, length);
	text[length] = '\0';
	evbuffer_free(buffer);
	return text;
}

/* Two drives, one busy with a session whose tape file has a volume label. */
static struct status_drive drives[2];
static struct status_session sessions[1];
static struct status_snapshot snapshot;

static void setup(void)
{
	memset(drives, 0, sizeof(drives));
	memset(sessions, 0, sizeof(sessions));
	drives[0].name = "/srv/tapes/vt0.tap";
	drives[0].alias = "vt0";
	drives[0].kind = DEVICE_KIND_VTAPE;
	drives[0].declared = true;
	drives[0].device_open = true;
	drives[0].holder = 7;
	drives[0].waiters = 2;
	drives[0].cartridge = "VOL001";
	drives[0].moved.bytes_written = 123456789012ull;
	drives[0].moved.records_written = 12057;
	drives[0].moved.bytes_read = 10240;
	drives[0].moved.records_read = 1;
	drives[0].moved.files_written = 3;
	drives[0].moved.errors = 4;
	drives[0].moved.times_full = 5;
	drives[0].moved.mounts = 6;
	drives[0].sessions = 8;
	drives[1].name = "/srv/spool/odd \"name\"\\\n\xff.tar";
	drives[1].kind = DEVICE_KIND_FILE;
	sessions[0].activity.id = 7;
	strcpy(sessions[0].label, "MONDAY");
	snapshot.when = 1700000000;
	snapshot.started = 1690000000;
	snapshot.drives = drives;
	snapshot.drive_count = 2;
	snapshot.sessions = sessions;
	snapshot.session_count = 1;
	snapshot.sessions_started = 42;
}

TestSuite(metrics, .init = setup);

Test(metrics, label_values_are_escaped_and_utf8)
{
	char *v;

	v = label_value("a\"b\\c\nd");
	cr_assert_str_eq(v, "a\\\"b\\\\c\\nd");
	free(v);
	/* A byte that is not UTF-8 and a control byte become U+FFFD; valid UTF-8 stays. */
	v = label_value("x\xffy\tz\xc3\xa9");
	cr_assert_str_eq(v, "x\xef\xbf\xbdy\xef\xbf\xbdz\xc3\xa9");
	free(v);
	v = label_value(NULL);
	cr_assert_str_eq(v, "");
	free(v);
}

Test(metrics, drive_state_words)
{
	struct status_drive d = {0};

	cr_assert_str_eq(metrics_drive_state(&d), "idle");
	d.holder = 3;
	cr_assert_str_eq(metrics_drive_state(&d), "held");
	d.device_open = true;
	cr_assert_str_eq(metrics_drive_state(&d), "open");
}

/* The name of a sample line: up to '{' or ' '. */
static void sample_name(const char *line, char *out, size_t size)
{
	size_t n = strcspn(line, "{ ");

	cr_assert_lt(n, size);
	memcpy(out, line, n);
	out[n] = '\0';
}

Test(metrics, families_are_announced_and_contiguous)
{
	char *text = format(&snapshot), *save = NULL;
	char current[128] = "", type[16] = "", seen[64][128];
	size_t seen_count = 0, samples = 0;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (strncmp(line, "# HELP ", 7) == 0) {
			sample_name(line + 7, name, sizeof(name));
			for (size_t i = 0; i < seen_count; i++)
				cr_assert_str_neq(seen[i], name, "family %s announced twice", name);
			cr_assert_lt(seen_count, 64);
			strcpy(seen[seen_count++], name);
			strcpy(current, name);
			type[0] = '\0';
			cr_assert_gt(strlen(line), 7 + strlen(name) + 1, "empty HELP: %s", line);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			sample_name(line + 7, name, sizeof(name));
			cr_assert_str_eq(name, current, "TYPE without its HELP: %s", line);
			strcpy(type, line + 7 + strlen(name) + 1);
			cr_assert(strcmp(type, "gauge") == 0 || strcmp(type, "counter") == 0);
			if (strcmp(type, "counter") == 0)
				cr_assert(strlen(name) > 6 &&
				              strcmp(name + strlen(name) - 6, "_total") == 0,
				          "counter %s without _total", name);
			continue;
		}
		cr_assert_neq(line[0], '#', "stray comment: %s", line);
		sample_name(line, name, sizeof(name));
		cr_assert_str_eq(name, current, "sample outside its family: %s", line);
		cr_assert_neq(type[0], '\0', "sample before TYPE: %s", line);
		samples++;
	}
	/* 4 process samples; info, 3 states and 11 numbers for each of 2 drives. */
	cr_assert_eq(samples, 4 + 2 * (1 + 3 + 11), "%zu samples", samples);
	free(text);
}

Test(metrics, values_and_labels)
{
	char *text = format(&snapshot);

	cr_assert_not_null(strstr(text, "rmtd_sessions 1\n"));
	cr_assert_not_null(strstr(text, "rmtd_sessions_total 42\n"));
	cr_assert_not_null(strstr(text, "rmtd_start_time_seconds 1690000000\n"));
	cr_assert_not_null(strstr(text,
	                          "rmtd_drive_info{drive=\"/srv/tapes/vt0.tap\",alias=\"vt0\","
	                          "kind=\"vtape\",declared=\"yes\",cartridge=\"VOL001\","
	                          "label=\"MONDAY\"} 1\n"),
	                   "%s", text);
	cr_assert_not_null(strstr(text,
	                          "rmtd_drive_written_bytes_total{drive=\"/srv/tapes/vt0.tap\"} "
	                          "123456789012\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_written_records_total{drive=\"/srv/tapes/vt0.tap\"} 12057\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_read_bytes_total{drive=\"/srv/tapes/vt0.tap\"} 10240\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_queue_length{drive=\"/srv/tapes/vt0.tap\"} 2\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_errors_total{drive=\"/srv/tapes/vt0.tap\"} 4\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_end_of_medium_total{drive=\"/srv/tapes/vt0.tap\"} 5\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_mounts_total{drive=\"/srv/tapes/vt0.tap\"} 6\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_sessions_total{drive=\"/srv/tapes/vt0.tap\"} 8\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_state{drive=\"/srv/tapes/vt0.tap\",state=\"open\"} 1\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_state{drive=\"/srv/tapes/vt0.tap\",state=\"idle\"} 0\n"));
	cr_assert_not_null(
	    strstr(text, "rmtd_drive_state{drive=\"/srv/tapes/vt0.tap\",state=\"held\"} 0\n"));
	/* The odd name: escaped, one line, valid UTF-8; the idle drive has no label. */
	cr_assert_not_null(strstr(text,
	                          "rmtd_drive_info{drive=\"/srv/spool/odd \\\"name\\\"\\\\\\n"
	                          "\xef\xbf\xbd.tar\",alias=\"\",kind=\"file\",declared=\"no\","
	                          "cartridge=\"\",label=\"\"} 1\n"),
	                   "%s", text);
	cr_assert_not_null(strstr(text, "state=\"idle\"} 1\n"));
	free(text);
}

Test(metrics, no_drives_still_valid)
{
	char *text;

	snapshot.drive_count = 0;
	snapshot.session_count = 0;
	text = format(&snapshot);
	cr_assert_not_null(strstr(text, "# TYPE rmtd_drive_written_bytes_total counter\n"));
	cr_assert_null(strstr(text, "{drive="));
	cr_assert_not_null(strstr(text, "rmtd_sessions 0\n"));
	free(text);
}
