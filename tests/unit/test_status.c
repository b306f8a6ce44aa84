/*
 * test_status.c - the operator's view: operation inference from what the tape
 * holds (with label.c's real descriptions of the samples in tests/data), status lines,
 * JSON (checked by a strict validator, client-controlled strings included),
 * status-file names and the atomic rewrite of a status file.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "label.h"
#include "escape.h"
#include "status.h"
#include "status_format.h"

/* ---------------------------------------------------------------- helpers */

static char *drain(struct evbuffer *buffer)
{
	size_t length = evbuffer_get_length(buffer);
	char *text = malloc(length + 1);

	cr_assert_not_null(text);
	evbuffer_remove(buffer, text, length);
	text[length] = '\0';
	return text;
}

static char *json_of(const char *s)
{
	struct evbuffer *buffer = evbuffer_new();
	char *text;

	cr_assert_eq(status_json_string(buffer, s), 0);
	text = drain(buffer);
	evbuffer_free(buffer);
	return text;
}

/*
 * Valid JSON (RFC 8259) by jansson's strict reader: one whole document,
 * strings with only legal escapes and no raw control bytes, valid UTF-8.
 */
static bool json_valid(const char *text)
{
	json_t *value = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	bool valid = value != NULL;

	json_decref(value);
	return valid;
}

Test(json_validator, accepts_and_rejects)
{
	/* The validator itself must fail where it should, or it proves nothing. */
	cr_assert(json_valid("{\"a\":[1,true,null,\"x\\u00e9\"]}"));
	cr_assert_not(json_valid("{\"a\":\"raw\nnewline\"}"));
	cr_assert_not(json_valid("{\"a\":\"\xff\"}"));
	cr_assert_not(json_valid("{\"a\":\"\\x41\"}"));
	cr_assert_not(json_valid("{\"a\":1,}"));
	cr_assert_not(json_valid("{\"a\":1} x"));
}

/* ---------------------------------------------------------------- JSON strings */

Test(json_string, escapes_what_json_requires)
{
	char *s = json_of("a\"b\\c\nd\te\x01\x1f\x7f/");

	/* DEL needs no escape in JSON */
	cr_assert_str_eq(s, "\"a\\\"b\\\\c\\nd\\te\\u0001\\u001F\x7f/\"");
	cr_assert(json_valid(s));
	free(s);
}

Test(json_string, keeps_valid_utf8)
{
	char *s = json_of("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");

	cr_assert_str_eq(s, "\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"");
	free(s);
}

Test(json_string, replaces_invalid_bytes)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"\xff", "\"\xef\xbf\xbd\""},                                 /* never UTF-8 */
	    {"a\xc0\x80z", "\"a\xef\xbf\xbd\xef\xbf\xbdz\""},             /* overlong NUL */
	    {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* a surrogate */
	    {"\xe6\x97", "\"\xef\xbf\xbd\xef\xbf\xbd\""},                 /* cut at the end */
	    {"\xe6\x97x", "\"\xef\xbf\xbd\xef\xbf\xbdx\""},               /* cut in the middle */
	    {"\xf4\x90\x80\x80",
	     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* beyond U+10FFFF */
	    {"\xc3", "\"\xef\xbf\xbd\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = json_of(cases[i].in);

		cr_assert_str_eq(s, cases[i].out, "case %zu: got %s", i, s);
		cr_assert(json_valid(s), "case %zu", i);
		free(s);
	}
}

Test(json_string, every_byte_gives_valid_json)
{
	char in[3] = {0};

	for (int a = 1; a < 256; a++) {
		for (int b = 0; b < 256; b += 17) {
			char *s;

			in[0] = (char)a;
			in[1] = (char)b;
			s = json_of(in);
			cr_assert(json_valid(s), "bytes %02x %02x gave %s", a, b, s);
			free(s);
		}
	}
}

/* ---------------------------------------------------------------- text escaping */

Test(text_escape, one_line_whatever_the_input)
{
	char out[64];

	status_text_escape(out, sizeof(out), "a\nb\\c\td\x1b[2J\xff");
	cr_assert_str_eq(out, "a\\nb\\\\c\\td\\033[2J\\377");
}

Test(text_escape, never_cuts_an_escape)
{
	char out[6];

	/* "ab" + "\377" would need 7 bytes with the NUL: the escape is left out whole. */
	status_text_escape(out, sizeof(out), "ab\xff");
	cr_assert_str_eq(out, "ab");
	status_text_escape(out, sizeof(out), "abcdefgh");
	cr_assert_str_eq(out, "abcde");
}

/* ---------------------------------------------------------------- operations */

static const char *infer(const char *operation, const char *format)
{
	struct session_activity a;

	memset(&a, 0, sizeof(a));
	a.operation = operation;
	a.format = format;
	return status_infer_operation(&a);
}

Test(operation, from_what_the_client_does_and_the_tape_holds)
{
	cr_assert_str_eq(infer("Write", "dump"), "Dump");
	cr_assert_str_eq(infer("Read", "dump"), "Restore");
	cr_assert_str_eq(infer("Write", "tar"), "Archive");
	cr_assert_str_eq(infer("Read", "cpio"), "Extract");
	cr_assert_str_eq(infer("Write", "amanda"), "Backup");
	cr_assert_str_eq(infer("Read", "bacula"), "Recover");
	cr_assert_str_eq(infer("Write", "ansi"), "Label");
	cr_assert_str_eq(infer("Read", "ansi"), "Scan");
	cr_assert_str_eq(infer("Write", NULL), "Write");
	cr_assert_str_eq(infer("Read", NULL), "Read");
	cr_assert_str_eq(infer("Write", "gzip"), "Write");
	/* label_operation()'s own words are kept (the session may have set them). */
	cr_assert_str_eq(infer("Dump", "dump"), "Dump");
	cr_assert_str_eq(infer("Restore", "dump"), "Restore");
	/* Words that are not data transfers stay as they are. */
	cr_assert_str_eq(infer("Rewind", "dump"), "Rewind");
	cr_assert_str_eq(infer("Position", NULL), "Position");
	cr_assert_str_eq(infer("idle", NULL), "idle");
	cr_assert_str_eq(infer("Drive wait", NULL), "Open");
}

static void check_sample(const char *name, size_t record, bool want_label)
{
	char path[4096], expected[LABEL_TEXT_MAX * 4];
	struct tape_content content;
	unsigned char *data = malloc(record);
	struct status_session entry;
	struct session_activity *a = &entry.activity;
	size_t length;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	length = fread(data, 1, record, f);
	fclose(f);
	cr_assert(label_recognise(data, length, &content), "%s", name);
	free(data);
	/* What the drive keeps of it (medium.c) and the session shows, as it does. */
	memset(&entry, 0, sizeof(entry));
	a->operation = "Write";
	a->format = content.format_name;
	strlcpy(a->label, content.label, sizeof(a->label));
	label_describe(&content, a->content, sizeof(a->content));
	status_session_derive(&entry);
	cr_assert_str_eq(entry.format, content.format_name, "%s", name);
	escape_text(expected, sizeof(expected), content.label);
	if (want_label)
		cr_assert_neq(expected[0], '\0', "%s has a label", name);
	cr_assert_str_eq(entry.label, expected, "%s: \"%s\"", name, a->content);
	cr_assert_str_eq(entry.operation, label_operation(&content, true), "%s", name);
	a->operation = "Read";
	cr_assert_str_eq(status_infer_operation(a), label_operation(&content, false), "%s", name);
}

Test(operation, agrees_with_label_c_on_the_samples)
{
	check_sample("level0.dump", 10240, true);
	check_sample("level1.dump", 10240, false);
	check_sample("nolabel.dump", 10240, false);
	check_sample("gnu-label.tar", 10240, true);
	check_sample("pax-label.tar", 10240, false);
	check_sample("ustar.tar", 10240, false);
	check_sample("cpio-newc.cpio", 5120, false);
	check_sample("cpio-odc.cpio", 5120, false);
}

Test(content, a_label_is_shown_whole_whatever_it_says)
{
	struct status_session entry;

	/* Words the description uses to separate its fields are part of this label. */
	memset(&entry, 0, sizeof(entry));
	entry.activity.operation = "Write";
	entry.activity.format = "tar";
	strlcpy(entry.activity.label, "weekly, label 2, volume 1", sizeof(entry.activity.label));
	strlcpy(entry.activity.content, "tar (gnu) label weekly, label 2, volume 1",
	        sizeof(entry.activity.content));
	status_session_derive(&entry);
	cr_assert_str_eq(entry.format, "tar");
	cr_assert_str_eq(entry.label, "weekly, label 2, volume 1");
	cr_assert_str_eq(entry.operation, "Archive");

	/* Nothing recognised: no format, no label, the session's own word. */
	memset(&entry, 0, sizeof(entry));
	entry.activity.operation = "Write";
	strlcpy(entry.activity.content, "unrecognised data", sizeof(entry.activity.content));
	status_session_derive(&entry);
	cr_assert_str_eq(entry.format, "");
	cr_assert_str_eq(entry.label, "");
	cr_assert_str_eq(entry.operation, "Write");
}

/* ---------------------------------------------------------------- lines and JSON */

static struct status_session sample_session(void)
{
	struct status_session s;

	memset(&s, 0, sizeof(s));
	s.activity.id = 12;
	s.activity.peer = "127.0.0.1:40000";
	s.activity.identity = "alice";
	s.activity.operation = "Write";
	s.activity.state = "";
	s.activity.bytes_written = 1556480;
	s.activity.records_written = 152;
	s.activity.requests = 154;
	s.activity.started = 1700000000;
	s.activity.file_number = 0;
	strlcpy(s.activity.content, "dump level 0 of /dev/vda on vm, label user.pat.backup",
	        sizeof(s.activity.content));
	s.activity.format = "dump";
	strlcpy(s.activity.label, "user.pat.backup", sizeof(s.activity.label));
	s.activity.drive = "/srv/tapes/vt0.tap";
	s.drive = s.activity.drive;
	s.rate = 205 * 1024 + 100;
	s.rate_known = true;
	status_session_derive(&s);
	return s;
}

static char *line_of(const struct status_session *s)
{
	struct evbuffer *buffer = evbuffer_new();
	char *text;

	cr_assert_eq(status_format_session_line(buffer, s), 0);
	text = drain(buffer);
	evbuffer_free(buffer);
	return text;
}

Test(line, like_backup_status)
{
	struct status_session s = sample_session();
	char *line = line_of(&s);

	cr_assert_str_eq(line,
	                 "Session 12:  Dump:   1520 Kbytes transferred, 152 records, 205 KB/s,"
	                 "  volume user.pat.backup, file 0;  drive /srv/tapes/vt0.tap;  alice "
	                 "from 127.0.0.1:40000");
	free(line);
}

Test(line, states)
{
	struct status_session s = sample_session();
	char *line;

	s.activity.state = "[abort requested]";
	status_session_derive(&s);
	line = line_of(&s);
	cr_assert(strstr(line, "  [abort requested]") != NULL, "%s", line);
	cr_assert(strstr(line, "1520 Kbytes transferred") != NULL, "%s", line);
	free(line);

	s = sample_session();
	s.activity.operation = "Drive wait";
	s.activity.state = "[drive wait]";
	s.activity.bytes_written = 0;
	s.activity.file_number = -1;
	s.activity.content[0] = '\0';
	s.activity.format = NULL;
	s.activity.label[0] = '\0';
	status_session_derive(&s);
	line = line_of(&s);
	cr_assert_str_eq(line, "Session 12:  Open:   [drive wait];  drive /srv/tapes/vt0.tap;"
	                       "  alice from 127.0.0.1:40000");
	free(line);

	s = sample_session();
	s.activity.operation = "idle";
	s.activity.content[0] = '\0';
	s.activity.format = NULL;
	s.activity.label[0] = '\0';
	s.activity.drive = NULL;
	s.drive = NULL;
	status_session_derive(&s);
	cr_assert_str_eq(s.state, "idle");
	line = line_of(&s);
	cr_assert_str_eq(line, "Session 12:  idle;  alice from 127.0.0.1:40000");
	free(line);
}

Test(line, client_strings_cannot_forge_lines)
{
	struct status_session s = sample_session();
	char *line;

	s.activity.peer = "x\nSession 99:  Dump:   1 Kbytes transferred";
	s.activity.identity = "bob\r\x1b[2J";
	s.drive = "/srv/a\nb.tap";
	line = line_of(&s);
	cr_assert_null(strchr(line, '\n'), "%s", line);
	cr_assert_null(strchr(line, '\r'), "%s", line);
	cr_assert_null(strchr(line, '\x1b'), "%s", line);
	cr_assert(strstr(line, "x\\nSession 99") != NULL, "%s", line);
	free(line);
}

Test(text, idle_and_busy)
{
	struct status_snapshot snapshot;
	struct status_session s = sample_session();
	struct status_drive d;
	struct evbuffer *buffer = evbuffer_new();
	char *text;

	memset(&snapshot, 0, sizeof(snapshot));
	cr_assert_eq(status_format_text(buffer, &snapshot), 0);
	text = drain(buffer);
	cr_assert_str_eq(text, "Drive is idle\n");
	free(text);

	memset(&d, 0, sizeof(d));
	d.name = "/srv/tapes/vt0.tap";
	d.alias = "vt0";
	d.kind = DEVICE_KIND_VTAPE;
	d.holder = 12;
	d.device_open = true;
	d.waiters = 2;
	snapshot.drives = &d;
	snapshot.drive_count = 1;
	snapshot.sessions = &s;
	snapshot.session_count = 1;
	cr_assert_eq(status_format_text(buffer, &snapshot), 0);
	text = drain(buffer);
	cr_assert(strncmp(text,
	                  "Drive vt0 (/srv/tapes/vt0.tap, vtape): session 12, device open, "
	                  "2 waiting\nSession 12:  Dump:",
	                  strlen("Drive vt0 (/srv/tapes/vt0.tap, vtape): session 12, device "
	                         "open, 2 waiting\nSession 12:  Dump:")) == 0,
	          "%s", text);
	cr_assert_null(strstr(text, "idle"), "%s", text);
	free(text);
	evbuffer_free(buffer);
}

Test(json, snapshot_is_valid_json_with_hostile_strings)
{
	struct status_snapshot snapshot;
	struct status_session sessions[2] = {sample_session(), sample_session()};
	struct status_drive d;
	struct evbuffer *buffer = evbuffer_new();
	char *text;

	sessions[1].activity.id = 13;
	sessions[1].activity.peer = "evil\"peer\\\n\x01\xff";
	sessions[1].activity.identity = "\xc3\xa9l\xc3\xa8ve";
	strlcpy(sessions[1].activity.content, "tar (gnu) label quote\"d\\\\n, first member x",
	        sizeof(sessions[1].activity.content));
	sessions[1].activity.format = "tar";
	strlcpy(sessions[1].activity.label, "quote\"d\\n", sizeof(sessions[1].activity.label));
	sessions[1].rate_known = false;
	sessions[1].activity.file_number = -1;
	status_session_derive(&sessions[1]);
	sessions[1].drive = "/srv/\"odd\"\n\xfe.tap";
	memset(&d, 0, sizeof(d));
	d.name = sessions[1].drive;
	d.kind = DEVICE_KIND_FILE;
	d.holder = 13;
	strlcpy(d.status_file, "/run/rmtd/status/x.status", sizeof(d.status_file));
	snapshot.when = 1700000100;
	snapshot.drives = &d;
	snapshot.drive_count = 1;
	snapshot.sessions = sessions;
	snapshot.session_count = 2;

	cr_assert_eq(status_format_json(buffer, &snapshot), 0);
	text = drain(buffer);
	cr_assert(json_valid(text), "%s", text);
	cr_assert_eq(text[strlen(text) - 1], '\n');
	cr_assert_eq(strchr(text, '\n'), text + strlen(text) - 1, "one JSON document on one line");
	cr_assert(strstr(text, "\"time\":1700000100,\"idle\":false") != NULL, "%s", text);
	cr_assert(strstr(text, "\"id\":12,\"peer\":\"127.0.0.1:40000\",\"identity\":\"alice\","
	                       "\"drive\":\"/srv/tapes/vt0.tap\",\"operation\":\"Dump\","
	                       "\"request\":\"Write\",\"state\":\"\",\"kbytes\":1520,"
	                       "\"bytes_written\":1556480,\"bytes_read\":0,"
	                       "\"records_written\":152,\"records_read\":0") != NULL,
	          "%s", text);
	cr_assert(strstr(text, "\"throughput\":210020,\"throughput_kbs\":205") != NULL, "%s", text);
	cr_assert(strstr(text, "\"label\":\"user.pat.backup\"") != NULL, "%s", text);
	cr_assert(strstr(text, "\"peer\":\"evil\\\"peer\\\\\\n\\u0001\xef\xbf\xbd\"") != NULL, "%s",
	          text);
	cr_assert(strstr(text, "\"identity\":\"\xc3\xa9l\xc3\xa8ve\"") != NULL, "%s", text);
	cr_assert(strstr(text, "\"operation\":\"Archive\"") != NULL, "%s", text);
	cr_assert(strstr(text, "\"throughput\":null") != NULL, "%s", text);
	cr_assert(strstr(text, "\"holder\":13") != NULL, "%s", text);
	free(text);

	cr_assert_eq(status_format_drives_json(buffer, &snapshot), 0);
	text = drain(buffer);
	cr_assert(json_valid(text), "%s", text);
	cr_assert(strstr(text, "\"status_file\":\"/run/rmtd/status/x.status\"") != NULL);
	free(text);

	memset(&snapshot, 0, sizeof(snapshot));
	cr_assert_eq(status_format_json(buffer, &snapshot), 0);
	text = drain(buffer);
	cr_assert_str_eq(text, "{\"time\":0,\"idle\":true,\"drives\":[],\"sessions\":[]}\n");
	free(text);
	evbuffer_free(buffer);
}

/* ---------------------------------------------------------------- status files */

Test(file_name, the_state_files_scheme)
{
	char a[STATUS_FILE_NAME_MAX], b[STATUS_FILE_NAME_MAX], stem[STATE_NAME_MAX + 1];

	cr_assert_eq(status_file_name("vt0", a, sizeof(a)), 0);
	cr_assert_str_eq(a, "vt0.status");
	cr_assert_eq(status_file_name("/srv/tapes/a.tap", a, sizeof(a)), 0);
	cr_assert_str_eq(a, "%2Fsrv%2Ftapes%2Fa.tap.status");
	cr_assert_eq(status_file_name("/srv/tapes_a.tap", b, sizeof(b)), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(status_file_name("../..", a, sizeof(a)), 0);
	cr_assert_null(strchr(a, '/'));
	cr_assert_neq(a[0], '.', "%s", a);
	cr_assert_eq(status_file_name("", a, sizeof(a)), -EINVAL);

	/* One scheme: the status file is the state files' stem plus ".status". */
	static const char *const names[] = {"a+b@c", ".hidden", "x y\n", "\xc3\xa9t\xc3\xa9"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_eq(state_safe_name(names[i], stem, sizeof(stem)), 0);
		cr_assert_eq(status_file_name(names[i], a, sizeof(a)), 0);
		cr_assert_eq(strncmp(a, stem, strlen(stem)), 0, "%s", a);
		cr_assert_str_eq(a + strlen(stem), ".status");
	}

	char long_name[5000];

	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	cr_assert_eq(status_file_name(long_name, a, sizeof(a)), 0);
	cr_assert_lt(strlen(a), sizeof(a));
	cr_assert_str_eq(a + strlen(a) - 7, ".status");
	long_name[4000] = 'y';
	cr_assert_eq(status_file_name(long_name, b, sizeof(b)), 0);
	cr_assert_str_neq(a, b, "long names differing late stay distinct");

	cr_assert_eq(status_file_name("vt0", a, 10), -ENAMETOOLONG);
}

static char directory[] = "/tmp/rmtd-test-status.XXXXXX";

static void make_directory(void)
{
	cr_assert_not_null(mkdtemp(directory));
}

static void remove_directory(void)
{
	char command[256];

	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	(void)!system(command);
}

static char *read_file(int dir_fd, const char *name)
{
	char *text = calloc(1, 65536);
	int fd = openat(dir_fd, name, O_RDONLY);
	ssize_t n;

	cr_assert_geq(fd, 0, "%s: %s", name, strerror(errno));
	n = read(fd, text, 65535);
	cr_assert_geq(n, 0);
	close(fd);
	return text;
}

static int entries(const char *path)
{
	char command[512];
	FILE *p;
	int count = -1;

	snprintf(command, sizeof(command), "ls -A '%s' | wc -l", path);
	p = popen(command, "r");
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%d", &count), 1);
	pclose(p);
	return count;
}

Test(file, atomic_rewrite, .init = make_directory, .fini = remove_directory)
{
	int dir_fd = open(directory, O_RDONLY | O_DIRECTORY);
	struct evbuffer *buffer = evbuffer_new();
	struct stat first, second;
	char *text;
	int old_fd;

	cr_assert_geq(dir_fd, 0);
	evbuffer_add_printf(buffer, "first version\n");
	cr_assert_eq(status_write_file_atomic(dir_fd, "vt0.status", buffer), 0);
	cr_assert_eq(evbuffer_get_length(buffer), 0, "all of it was written");
	text = read_file(dir_fd, "vt0.status");
	cr_assert_str_eq(text, "first version\n");
	free(text);
	cr_assert_eq(fstatat(dir_fd, "vt0.status", &first, 0), 0);

	/* A reader that has the old file open keeps reading the old, whole version. */
	old_fd = openat(dir_fd, "vt0.status", O_RDONLY);
	cr_assert_geq(old_fd, 0);
	evbuffer_add_printf(buffer, "second, longer version\n");
	cr_assert_eq(status_write_file_atomic(dir_fd, "vt0.status", buffer), 0);
	cr_assert_eq(fstatat(dir_fd, "vt0.status", &second, 0), 0);
	cr_assert_neq(first.st_ino, second.st_ino, "replaced by rename, not rewritten in place");
	{
		char old[64] = {0};

		cr_assert_eq(read(old_fd, old, sizeof(old) - 1), 14);
		cr_assert_str_eq(old, "first version\n");
	}
	close(old_fd);
	text = read_file(dir_fd, "vt0.status");
	cr_assert_str_eq(text, "second, longer version\n");
	free(text);
	cr_assert_eq(entries(directory), 1, "no temporary file is left behind");
	close(dir_fd);
	evbuffer_free(buffer);
}

Test(file, symlinked_temporary_is_not_followed, .init = make_directory, .fini = remove_directory)
{
	int dir_fd = open(directory, O_RDONLY | O_DIRECTORY);
	struct evbuffer *buffer = evbuffer_new();
	char victim[512], *text;
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim", directory);
	fd = open(victim, O_WRONLY | O_CREAT, 0644);
	cr_assert_eq(write(fd, "precious\n", 9), 9);
	close(fd);
	cr_assert_eq(symlinkat(victim, dir_fd, ".vt0.status.tmp"), 0);
	evbuffer_add_printf(buffer, "status\n");
	cr_assert_eq(status_write_file_atomic(dir_fd, "vt0.status", buffer), -ELOOP);
	text = read_file(dir_fd, "victim");
	cr_assert_str_eq(text, "precious\n");
	free(text);
	close(dir_fd);
	evbuffer_free(buffer);
}

Test(file, failed_rename_leaves_no_temporary, .init = make_directory, .fini = remove_directory)
{
	int dir_fd = open(directory, O_RDONLY | O_DIRECTORY);
	struct evbuffer *buffer = evbuffer_new();

	cr_assert_eq(mkdirat(dir_fd, "busy.status", 0755), 0);
	cr_assert_eq(mkdirat(dir_fd, "busy.status/inside", 0755), 0);
	evbuffer_add_printf(buffer, "x\n");
	cr_assert_lt(status_write_file_atomic(dir_fd, "busy.status", buffer), 0);
	cr_assert_eq(entries(directory), 1, "only the directory that was in the way");
	close(dir_fd);
	evbuffer_free(buffer);
}

/* The file an earlier rmtd kept under the old scheme's name is replaced, not left stale. */
Test(file, old_name_replaced_on_upgrade, .init = make_directory, .fini = remove_directory)
{
	int dir_fd = open(directory, O_RDONLY | O_DIRECTORY);
	struct evbuffer *buffer = evbuffer_new();
	char *text;
	int fd;

	cr_assert_geq(dir_fd, 0);
	/* What 0.1.0 wrote for /srv/tapes/a.tap (FNV-1a 32 of the path), and an unrelated file. */
	fd = openat(dir_fd, "srv_tapes_a.tap-c9ead33e.status", O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "Drive busy since last year\n", 27), 27);
	close(fd);
	fd = openat(dir_fd, "vt0.status", O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	close(fd);

	evbuffer_add_printf(buffer, "Drive is idle\n");
	cr_assert_eq(status_write_drive_file(dir_fd, "/srv/tapes/a.tap", buffer), 0);
	text = read_file(dir_fd, "%2Fsrv%2Ftapes%2Fa.tap.status");
	cr_assert_str_eq(text, "Drive is idle\n");
	free(text);
	cr_assert_eq(faccessat(dir_fd, "srv_tapes_a.tap-c9ead33e.status", F_OK, 0), -1,
	             "the old name is gone");
	cr_assert_eq(entries(directory), 2, "the new file and vt0.status");

	/* A name both schemes agree on is written in place and nothing else is touched. */
	evbuffer_add_printf(buffer, "Drive is idle\n");
	cr_assert_eq(status_write_drive_file(dir_fd, "vt0", buffer), 0);
	cr_assert_eq(entries(directory), 2);
	close(dir_fd);
	evbuffer_free(buffer);
}

Test(file, contents_busy_and_idle)
{
	struct status_session s = sample_session();
	struct status_drive d;
	struct evbuffer *buffer = evbuffer_new();
	char *text;

	memset(&d, 0, sizeof(d));
	d.name = "/srv/tapes/vt0.tap";
	d.alias = "vt0";
	d.kind = DEVICE_KIND_VTAPE;
	d.holder = 12;
	d.waiters = 1;
	cr_assert_eq(status_format_drive_file(buffer, &d, &s, 1700000100), 0);
	text = drain(buffer);
	cr_assert(strncmp(text, "Session 12:  Dump:   1520 Kbytes transferred", 44) == 0, "%s",
	          text);
	cr_assert(strstr(text, "\nname: vt0\ndrive: /srv/tapes/vt0.tap\nkind: vtape\nstate: busy\n"
	                       "session: 12\npeer: 127.0.0.1:40000\nidentity: alice\n"
	                       "operation: Dump\nkbytes: 1520\nbytes: 1556480\n") != NULL,
	          "%s", text);
	cr_assert(strstr(text, "\nthroughput: 205 KB/s\nlabel: user.pat.backup\n") != NULL, "%s",
	          text);
	cr_assert(strstr(text, "\nwaiting: 1\nupdated: 2023-11-14 22:15:00 UTC\n"
	                       "updated_epoch: 1700000100\n") != NULL,
	          "%s", text);
	free(text);

	d.holder = 0;
	d.waiters = 0;
	cr_assert_eq(status_format_drive_file(buffer, &d, NULL, 1700000100), 0);
	text = drain(buffer);
	cr_assert_str_eq(text, "Drive is idle\nname: vt0\ndrive: /srv/tapes/vt0.tap\nkind: vtape\n"
	                       "state: idle\nwaiting: 0\nupdated: 2023-11-14 22:15:00 UTC\n"
	                       "updated_epoch: 1700000100\n");
	free(text);
	evbuffer_free(buffer);
}
