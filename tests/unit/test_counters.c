/*
 * test_counters.c - persistent counters: safe file names, save/load round
 * trips, atomic replacement (stray and truncated temporary files from a
 * "crash", a write that fails half-way), malformed files, JSON output.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "counters.h"
#include "state_file.h"

static char state_dir[PATH_MAX];

static void setup(void)
{
	char template[] = "/tmp/rmtd-counters-XXXXXX";

	cr_assert_not_null(mkdtemp(template));
	snprintf(state_dir, sizeof(state_dir), "%s/state", template);
}

static void teardown(void)
{
	char command[PATH_MAX + 32];

	/* state_dir is ".../rmtd-counters-XXXXXX/state": remove the parent */
	snprintf(command, sizeof(command), "rm -rf '%.*s'",
	         (int)(strrchr(state_dir, '/') - state_dir), state_dir);
	cr_assert_eq(system(command), 0);
}

static void write_file(const char *path, const char *text, size_t length)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(text, 1, length, f), length);
	cr_assert_eq(fclose(f), 0);
}

static char *read_text(const char *path)
{
	static char buffer[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buffer, 1, sizeof(buffer) - 1, f);
	buffer[n] = '\0';
	fclose(f);
	return buffer;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static struct counters_delta sample_delta(uint64_t scale)
{
	struct counters_delta d = {
	    .bytes_written = 10240 * scale,
	    .bytes_read = 512 * scale,
	    .records_written = 2 * scale,
	    .records_read = 1 * scale,
	    .files_written = 1 * scale,
	    .files_read = 3 * scale,
	    .times_full = 0,
	    .errors = 1,
	    .mounts = 1,
	};

	return d;
}

static void assert_same(const struct counters *a, const struct counters *b)
{
	cr_assert_eq(a->kind, b->kind);
	cr_assert_str_eq(a->name, b->name);
	cr_assert_eq(memcmp(&a->totals, &b->totals, sizeof(a->totals)), 0);
	cr_assert_eq(a->first_use, b->first_use);
	cr_assert_eq(a->last_use, b->last_use);
}

/* ---------------------------------------------------------------------------
 * Safe names
 */

Test(counters_names, escapes_what_could_escape)
{
	char out[STATE_NAME_MAX + 1];

	cr_assert_eq(state_safe_name("/dev/nst0", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "%2Fdev%2Fnst0");
	cr_assert_eq(state_safe_name("..", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "%2E.");
	cr_assert_eq(state_safe_name(".", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "%2E");
	cr_assert_eq(state_safe_name(".hidden", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "%2Ehidden");
	cr_assert_eq(state_safe_name("a b\n\x1b%", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "a%20b%0A%1B%25");
	cr_assert_eq(state_safe_name("MYVOL-001", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "MYVOL-001");
	cr_assert_eq(state_safe_name("\xc3\xa9t\xc3\xa9", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "%C3%A9t%C3%A9");
	cr_assert_eq(state_safe_name("", out, sizeof(out)), -EINVAL);
	cr_assert_eq(state_safe_name(NULL, out, sizeof(out)), -EINVAL);
	cr_assert_eq(state_safe_name("x", out, 10), -ENAMETOOLONG);
}

Test(counters_names, long_names_are_cut_distinct_and_whole)
{
	char a[STATE_NAME_MAX + 1], b[STATE_NAME_MAX + 1], name[2000];

	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cr_assert_eq(state_safe_name(name, a, sizeof(a)), 0);
	name[1500] = 'y';
	cr_assert_eq(state_safe_name(name, b, sizeof(b)), 0);
	cr_assert_leq(strlen(a), STATE_NAME_MAX);
	cr_assert_str_neq(a, b, "names differing after the cut stay distinct");
	cr_assert_eq(a[strlen(a) - 17], '~');

	/* all-escape names: a cut never splits "%XX" */
	for (int offset = 0; offset < 3; offset++) {
		memset(name, 'k', (size_t)offset);
		memset(name + offset, '/', 1000);
		name[offset + 1000] = '\0';
		cr_assert_eq(state_safe_name(name, a, sizeof(a)), 0);
		cr_assert_leq(strlen(a), STATE_NAME_MAX);
		for (const char *p = strchr(a, '%'); p; p = strchr(p + 1, '%'))
			cr_assert(p[1] == '2' && p[2] == 'F', "split escape in %s", a);
		cr_assert_null(strchr(a, '/'));
	}
}

/* ---------------------------------------------------------------------------
 * Round trips
 */

Test(counters_files, missing_file_is_zero_and_creates_nothing, .init = setup, .fini = teardown)
{
	struct counters c;
	struct stat st;

	cr_assert_eq(counters_load(state_dir, COUNTERS_CARTRIDGE, "NEW-01", &c), 0);
	cr_assert_str_eq(c.name, "NEW-01");
	cr_assert_eq(c.kind, COUNTERS_CARTRIDGE);
	cr_assert_eq(c.totals.bytes_written, 0);
	cr_assert_eq(c.first_use, 0);
	cr_assert_eq(stat(state_dir, &st), -1, "load must not create the state directory");
	cr_assert_eq(counters_load(state_dir, COUNTERS_CARTRIDGE, "", &c), -EINVAL);
}

Test(counters_files, save_load_round_trip, .init = setup, .fini = teardown)
{
	struct counters c, back;
	struct counters_delta d = sample_delta(1), d2 = sample_delta(3);
	char path[PATH_MAX + 64];
	const char *text;

	counters_init(&c, COUNTERS_DRIVE, "/dev/nst0");
	counters_add(&c, &d, 1795282665);
	counters_add(&c, &d2, 1795283012);
	cr_assert_eq(c.totals.bytes_written, 40960);
	cr_assert_eq(c.totals.errors, 2);
	cr_assert_eq(c.first_use, 1795282665);
	cr_assert_eq(c.last_use, 1795283012);
	c.totals.times_full = 4;
	cr_assert_eq(counters_save(state_dir, &c), 0);

	cr_assert_eq(counters_load(state_dir, COUNTERS_DRIVE, "/dev/nst0", &back), 0);
	assert_same(&c, &back);

	/* a file an administrator can read */
	snprintf(path, sizeof(path), "%s/drives/%%2Fdev%%2Fnst0.counters", state_dir);
	text = read_text(path);
	cr_assert_not_null(strstr(text, "\nkind=drive\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nname=/dev/nst0\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nbytes_written=40960\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\ntimes_full=4\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nfirst_use=2026-11-21T17:37:45Z\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nlast_use=2026-11-21T17:43:32Z\n"), "%s", text);

	/* the same name as a cartridge is a different file */
	cr_assert_eq(counters_load(state_dir, COUNTERS_CARTRIDGE, "/dev/nst0", &back), 0);
	cr_assert_eq(back.totals.bytes_written, 0);
}

Test(counters_files, control_bytes_in_name_round_trip, .init = setup, .fini = teardown)
{
	struct counters c, back;
	struct counters_delta d = sample_delta(2);
	char dir[PATH_MAX + 32];
	const char *name = "evil/../name\nwith=\x1b[0m";

	counters_init(&c, COUNTERS_CARTRIDGE, name);
	counters_add(&c, &d, 100);
	cr_assert_eq(counters_save(state_dir, &c), 0);
	cr_assert_eq(counters_load(state_dir, COUNTERS_CARTRIDGE, name, &back), 0);
	assert_same(&c, &back);
	/* exactly one file, inside the cartridges directory */
	snprintf(dir, sizeof(dir), "%s/cartridges", state_dir);
	cr_assert_eq(count_entries(dir), 1);
	cr_assert_eq(count_entries(state_dir), 1);
}

Test(counters_files, many_saves_leave_no_temporary_files, .init = setup, .fini = teardown)
{
	struct counters c, back;
	struct counters_delta d = sample_delta(1);
	char dir[PATH_MAX + 32];

	counters_init(&c, COUNTERS_CARTRIDGE, "VOL-7");
	for (int i = 0; i < 200; i++) {
		counters_add(&c, &d, 1000 + i);
		cr_assert_eq(counters_save(state_dir, &c), 0);
	}
	snprintf(dir, sizeof(dir), "%s/cartridges", state_dir);
	cr_assert_eq(count_entries(dir), 1);
	cr_assert_eq(counters_load(state_dir, COUNTERS_CARTRIDGE, "VOL-7", &back), 0);
	cr_assert_eq(back.totals.bytes_written, 200 * 10240);
	cr_assert_eq(back.first_use, 1000);
	cr_assert_eq(back.last_use, 1199);
}

/* ---------------------------------------------------------------------------
 * Crashes and failures
 */

Test(counters_crash, stray_and_truncated_temporary_files_are_ignored, .init = setup,
     .fini = teardown)
{
	struct counters c, back;
	struct counters_delta d = sample_delta(5);
	char path[PATH_MAX + 64], committed[65536];
	const char *text;

	counters_init(&c, COUNTERS_CARTRIDGE, "TAPE01");
	counters_add(&c, &d, 1795282665);
	cr_assert_eq(counters_save(state_dir, &c), 0);
	snprintf(path, sizeof(path), "%s/cartridges/TAPE01.counters", state_dir);
	snprintf(committed, sizeof(committed), "%s", read_text(path));

	/* what a crash between mkstemp and rename leaves: a stray temporary file
	 * with garbage, and one holding the first half of a newer version */
	snprintf(path, sizeof(path), "%s/cartridges/.TAPE01.counters.AbC123", state_dir);
	write_file(path, "\x00\xff garbage", 10);
	text = "version=1\nkind=cartridge\nname=TAPE01\nbytes_written=99999999\nbytes_r";
	snprintf(path, sizeof(path), "%s/cartridges/.TAPE01.counters.XyZ789", state_dir);
	write_file(path, text, strlen(text));

	cr_assert_eq(counters_load(state_dir, COUNTERS_CARTRIDGE, "TAPE01", &back), 0);
	assert_same(&c, &back);
	snprintf(path, sizeof(path), "%s/cartridges/TAPE01.counters", state_dir);
	cr_assert_str_eq(read_text(path), committed);

	/* the next save still works and is what loads */
	counters_add(&c, &d, 1795290000);
	cr_assert_eq(counters_save(state_dir, &c), 0);
	cr_assert_eq(counters_load(state_dir, COUNTERS_CARTRIDGE, "TAPE01", &back), 0);
	assert_same(&c, &back);
}

Test(counters_crash, failed_write_keeps_the_old_file, .init = setup, .fini = teardown)
{
	struct counters c, back;
	struct counters_delta d = sample_delta(1);
	struct rlimit limit = {100, 100};
	char dir[PATH_MAX + 32];

	counters_init(&c, COUNTERS_DRIVE, "vt0");
	counters_add(&c, &d, 1795282665);
	cr_assert_eq(counters_save(state_dir, &c), 0);

	/* the file system "fills up" half-way through the next save */
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	counters_add(&c, &d, 1795290000);
	cr_assert_eq(counters_save(state_dir, &c), -EFBIG);

	cr_assert_eq(counters_load(state_dir, COUNTERS_DRIVE, "vt0", &back), 0);
	cr_assert_eq(back.totals.bytes_written, 10240, "the previous version is intact");
	cr_assert_eq(back.last_use, 1795282665);
	snprintf(dir, sizeof(dir), "%s/drives", state_dir);
	cr_assert_eq(count_entries(dir), 1, "the temporary file is removed");
}

Test(counters_crash, unusable_state_directory_is_an_error, .init = setup, .fini = teardown)
{
	struct counters c, back;
	char file[PATH_MAX + 16];

	cr_assert_eq(mkdir(state_dir, 0700), 0);
	snprintf(file, sizeof(file), "%s/drives", state_dir);
	write_file(file, "not a directory", 15);
	counters_init(&c, COUNTERS_DRIVE, "vt0");
	cr_assert_eq(counters_save(state_dir, &c), -ENOTDIR);
	cr_assert_eq(counters_load(state_dir, COUNTERS_DRIVE, "vt0", &back), 0);
	cr_assert_eq(counters_save("", &c), -EINVAL);
}

/* ---------------------------------------------------------------------------
 * Malformed and hostile files
 */

Test(counters_parse, bad_lines_are_skipped, .init = setup, .fini = teardown)
{
	struct counters c;
	char path[PATH_MAX + 64];
	const char *text = "# comment\n"
	                   "garbage without equals\n"
	                   "bytes_written=12345\r\n"
	                   "bytes_read=-5\n"
	                   "records_written=99999999999999999999999\n"
	                   "records_read=7 \n"
	                   "future_key=whatever\n"
	                   "errors=3x\n"
	                   "mounts=42\n"
	                   "first_use=1795282665\n"
	                   "last_use=2026-13-45T99:99:99Z\n"
	                   "files_read";

	cr_assert_eq(mkdir(state_dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/cartridges", state_dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/cartridges/X.counters", state_dir);
	write_file(path, text, strlen(text));
	cr_assert_eq(counters_load(state_dir, COUNTERS_CARTRIDGE, "X", &c), 0);
	cr_assert_eq(c.totals.bytes_written, 12345);
	cr_assert_eq(c.totals.bytes_read, 0);
	cr_assert_eq(c.totals.records_written, 0, "overflow is refused");
	cr_assert_eq(c.totals.records_read, 7);
	cr_assert_eq(c.totals.errors, 0);
	cr_assert_eq(c.totals.mounts, 42);
	cr_assert_eq(c.first_use, 1795282665);
	cr_assert_eq(c.last_use, 0);
}

/*
 * Found by fuzz_catalog: a time the file can hold but not write back (year
 * 5,593,000 in seconds) was taken, saved as a date no load reads, and so lost.
 * Times outside 1970 to 9999 are refused like any bad value.
 */
Test(counters_parse, times_must_be_writable)
{
	struct counters c, back;
	char text[] = "first_use=176454724547200\n"
	              "last_use=1900-01-01T00:00:00Z\n";
	char edge[] = "first_use=253402300799\n"
	              "last_use=9999-12-31T23:59:59Z\n";
	char written[COUNTERS_TEXT_SIZE];
	int n;

	counters_init(&c, COUNTERS_DRIVE, "d");
	counters_parse(&c, text, "test");
	cr_assert_eq(c.first_use, 0);
	cr_assert_eq(c.last_use, 0);

	counters_parse(&c, edge, "test");
	cr_assert_eq(c.first_use, 253402300799);
	cr_assert_eq(c.last_use, 253402300799);
	n = counters_text(&c, written, sizeof(written));
	cr_assert_gt(n, 0);
	cr_assert_not_null(strstr(written, "\nfirst_use=9999-12-31T23:59:59Z\n"), "%s", written);
	counters_init(&back, COUNTERS_DRIVE, "d");
	counters_parse(&back, written, "test");
	cr_assert_eq(back.first_use, c.first_use);
	cr_assert_eq(back.last_use, c.last_use);
}

Test(counters_parse, oversized_and_symlinked_files_are_refused, .init = setup, .fini = teardown)
{
	struct counters c;
	char path[PATH_MAX + 64], target[PATH_MAX + 64];
	char *big = malloc(70000);

	cr_assert_eq(mkdir(state_dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/drives", state_dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	memset(big, '#', 70000);
	snprintf(path, sizeof(path), "%s/drives/big.counters", state_dir);
	write_file(path, big, 70000);
	cr_assert_eq(counters_load(state_dir, COUNTERS_DRIVE, "big", &c), -EFBIG);

	snprintf(target, sizeof(target), "%s/elsewhere", state_dir);
	write_file(target, "bytes_written=5\n", 16);
	snprintf(path, sizeof(path), "%s/drives/link.counters", state_dir);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(counters_load(state_dir, COUNTERS_DRIVE, "link", &c), -ELOOP);
	cr_assert_eq(c.totals.bytes_written, 0);
	free(big);
}

Test(counters_parse, saturating_add)
{
	struct counters c;
	struct counters_delta d = {.bytes_written = UINT64_MAX - 1};
	struct counters_delta e = {.bytes_written = 5, .errors = 1};

	counters_init(&c, COUNTERS_DRIVE, "x");
	counters_add(&c, &d, 10);
	counters_add(&c, &e, 5);
	cr_assert_eq(c.totals.bytes_written, UINT64_MAX);
	cr_assert_eq(c.totals.errors, 1);
	cr_assert_eq(c.first_use, 10);
	cr_assert_eq(c.last_use, 10, "last_use never goes back");
}

Test(counters_json, escapes_names)
{
	struct counters c;
	char *text;
	json_t *o;
	struct counters_delta d = {.bytes_written = 7, .files_written = 1};

	counters_init(&c, COUNTERS_CARTRIDGE, "a\"b\\c\n\x01\xc3\xa9\xff");
	counters_add(&c, &d, 1795282665);
	o = counters_json(&c);
	cr_assert_not_null(o);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	cr_assert_str_eq(
	    text, "{\"kind\":\"cartridge\",\"name\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\xef\xbf\xbd\","
	          "\"name_hex\":\"6122625c630a01c3a9ff\","
	          "\"bytes_written\":7,\"bytes_read\":0,\"records_written\":0,"
	          "\"records_read\":0,\"files_written\":1,\"files_read\":0,"
	          "\"times_full\":0,\"errors\":0,\"mounts\":0,"
	          "\"first_use\":1795282665,\"last_use\":1795282665}");
	free(text);
}
