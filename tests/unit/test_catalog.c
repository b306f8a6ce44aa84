/*
 * test_catalog.c - the per-cartridge catalog: filling it as files pass,
 * save/load round trips (full rewrite and append), what a crash leaves
 * (stray/truncated temporary files, a torn appended line), compaction,
 * escaping in JSON and in the table, and mutated files.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "counters.h"

static char base[PATH_MAX];
static char state_dir[PATH_MAX];

static void setup(void)
{
	char template[] = "/tmp/rmtd-catalog-XXXXXX";

	cr_assert_not_null(mkdtemp(template));
	snprintf(base, sizeof(base), "%s", template);
	snprintf(state_dir, sizeof(state_dir), "%s/state", template);
}

static void teardown(void)
{
	char command[PATH_MAX + 32];

	snprintf(command, sizeof(command), "rm -rf '%s'", base);
	cr_assert_eq(system(command), 0);
}

static void catalog_path(char *out, size_t size, const char *stem)
{
	snprintf(out, size, "%s/cartridges/%s.catalog", state_dir, stem);
}

static char *read_all(const char *path, size_t *length)
{
	FILE *f = fopen(path, "rb");
	char *data = malloc(1 << 20);

	cr_assert_not_null(f, "%s", path);
	*length = fread(data, 1, (1 << 20) - 1, f);
	data[*length] = '\0';
	fclose(f);
	return data;
}

static void write_all_file(const char *path, const char *data, size_t length, const char *mode)
{
	FILE *f = fopen(path, mode);

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, length, f), length);
	cr_assert_eq(fclose(f), 0);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* Recognise the first record of a sample (10240 bytes at most). */
static void sample_content(const char *name, struct tape_content *c)
{
	char path[PATH_MAX];
	static uint8_t record[10240];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	n = fread(record, 1, sizeof(record), f);
	fclose(f);
	cr_assert(label_recognise(record, n, c), "%s", name);
}

static void same_string(const char *a, const char *b, const char *what)
{
	if (!a || !b)
		cr_assert(a == b, "%s: %s vs %s", what, a ? a : "(null)", b ? b : "(null)");
	else
		cr_assert_str_eq(a, b, "%s", what);
}

static void assert_same_entry(const struct catalog_entry *a, const struct catalog_entry *b)
{
	cr_assert_eq(a->file_number, b->file_number);
	cr_assert_str_eq(a->format, b->format);
	cr_assert_str_eq(a->variant, b->variant);
	same_string(a->label, b->label, "label");
	same_string(a->host, b->host, "host");
	same_string(a->filesystem, b->filesystem, "filesystem");
	same_string(a->device, b->device, "device");
	same_string(a->member, b->member, "member");
	same_string(a->compression, b->compression, "compression");
	cr_assert_eq(a->level, b->level);
	cr_assert_eq(a->date, b->date);
	cr_assert_eq(a->previous_date, b->previous_date);
	cr_assert_eq(a->volume, b->volume);
	cr_assert_eq(a->continuation, b->continuation);
	cr_assert_eq(a->offset, b->offset);
	cr_assert_eq(a->bytes, b->bytes);
	cr_assert_eq(a->records, b->records);
	cr_assert_eq(a->record_size, b->record_size);
	cr_assert_eq(a->complete, b->complete);
	cr_assert_eq(a->written, b->written);
	cr_assert_eq(a->seen, b->seen);
}

static void assert_same_catalog(const struct catalog *a, const struct catalog *b)
{
	cr_assert_str_eq(a->cartridge, b->cartridge);
	cr_assert_eq(a->count, b->count);
	for (size_t i = 0; i < a->count; i++)
		assert_same_entry(&a->entries[i], &b->entries[i]);
}

/* The logical tape of sample.tap: a dump (two records), a labelled tar, then
 * some unrecognised data, all written. */
static void write_sample_tape(struct catalog *cat)
{
	struct tape_content c;
	uint8_t junk[5] = "abcde";

	sample_content("level0.dump", &c);
	cr_assert_eq(catalog_file_begin(cat, 0, &c, 10240, true, 1000), 0);
	catalog_file_record(cat, 0, 10240);
	catalog_file_end(cat, 0);
	sample_content("gnu-label.tar", &c);
	cr_assert_eq(catalog_file_begin(cat, 1, &c, 10240, true, 1001), 0);
	catalog_file_end(cat, 1);
	cr_assert_not(label_recognise(junk, sizeof(junk), &c));
	cr_assert_eq(catalog_file_begin(cat, 2, &c, 5, true, 1002), 0);
	catalog_file_record(cat, 2, 6);
	catalog_file_end(cat, 2);
}

/* ---------------------------------------------------------------------------
 * Filling
 */

Test(catalog_fill, files_as_they_pass)
{
	struct catalog cat;
	const struct catalog_entry *e;

	cr_assert_eq(catalog_init(&cat, "sample"), 0);
	write_sample_tape(&cat);
	cr_assert_eq(cat.count, 3);

	e = catalog_find(&cat, 0);
	cr_assert_not_null(e);
	cr_assert_str_eq(e->format, "dump");
	cr_assert_str_eq(e->variant, "new-fs little endian");
	cr_assert_str_eq(e->label, "mylabel");
	cr_assert_str_eq(e->host, "vm");
	cr_assert_str_eq(e->filesystem, "an unlisted file system");
	cr_assert_str_eq(e->device, "/tmp/fmt/img.ext2");
	cr_assert_null(e->member);
	cr_assert_eq(e->level, 0);
	cr_assert_eq(e->date, 1795282665);
	cr_assert_eq(e->volume, 1);
	cr_assert_eq(e->bytes, 20480);
	cr_assert_eq(e->records, 2);
	cr_assert_eq(e->record_size, 10240);
	cr_assert(e->complete && e->written);
	cr_assert_eq(e->seen, 1000);

	e = catalog_find(&cat, 1);
	cr_assert_str_eq(e->format, "tar");
	cr_assert_str_eq(e->label, "MYVOL-001");
	cr_assert_str_eq(e->member, "hello.txt");
	cr_assert_eq(e->level, -1);
	cr_assert_eq(e->bytes, 10240);

	e = catalog_find(&cat, 2);
	cr_assert_str_eq(e->format, "unknown");
	cr_assert_null(e->label);
	cr_assert_eq(e->bytes, 11);
	cr_assert_eq(e->records, 2);
	cr_assert_null(catalog_find(&cat, 3));
	cr_assert_str_eq(catalog_content_label(&cat), "mylabel");
	catalog_free(&cat);
}

Test(catalog_fill, writing_a_file_forgets_the_rest_of_the_tape)
{
	struct catalog cat;
	struct tape_content c;

	cr_assert_eq(catalog_init(&cat, "x"), 0);
	write_sample_tape(&cat);
	sample_content("ustar.tar", &c);
	/* rewind, skip one file, write: files 1 and 2 are gone */
	cr_assert_eq(catalog_file_begin(&cat, 1, &c, 10240, true, 2000), 0);
	cr_assert_eq(cat.count, 2);
	cr_assert_str_eq(catalog_find(&cat, 1)->variant, "ustar");
	cr_assert_not(catalog_find(&cat, 1)->complete);
	cr_assert_null(catalog_find(&cat, 2));
	/* writing at BOT empties it */
	cr_assert_eq(catalog_file_begin(&cat, 0, &c, 512, true, 2001), 0);
	cr_assert_eq(cat.count, 1);
	cr_assert_null(catalog_content_label(&cat));
	catalog_free(&cat);
}

Test(catalog_fill, reading_keeps_complete_entries_and_discovers_others)
{
	struct catalog cat;
	struct tape_content c;
	const struct catalog_entry *e;

	cr_assert_eq(catalog_init(&cat, "x"), 0);
	write_sample_tape(&cat);

	/* reading file 0 again (restore): the size we know stays */
	sample_content("level0.dump", &c);
	cr_assert_eq(catalog_file_begin(&cat, 0, &c, 10240, false, 3000), 0);
	catalog_file_record(&cat, 0, 10240);
	catalog_file_end(&cat, 0);
	e = catalog_find(&cat, 0);
	cr_assert_eq(e->bytes, 20480);
	cr_assert_eq(e->records, 2);
	cr_assert_eq(e->seen, 1000);

	/* a tape from elsewhere: file 7 read first, then file 4 (fsf) */
	sample_content("cpio-newc.cpio", &c);
	cr_assert_eq(catalog_file_begin(&cat, 7, &c, 512, false, 3001), 0);
	catalog_file_record(&cat, 7, 512);
	sample_content("pax-label.tar", &c);
	cr_assert_eq(catalog_file_begin(&cat, 4, &c, 10240, false, 3002), 0);
	catalog_file_end(&cat, 4);
	cr_assert_eq(cat.count, 5);
	for (size_t i = 1; i < cat.count; i++)
		cr_assert_lt(cat.entries[i - 1].file_number, cat.entries[i].file_number);
	e = catalog_find(&cat, 7);
	cr_assert_str_eq(e->format, "cpio");
	cr_assert_eq(e->bytes, 1024);
	cr_assert_not(e->complete, "file 7's end was not seen");
	cr_assert_not(e->written);
	e = catalog_find(&cat, 4);
	cr_assert_str_eq(e->label, "PAXVOL");
	cr_assert(e->complete);

	/* different content read where a complete file was: replaced */
	sample_content("ustar.tar", &c);
	cr_assert_eq(catalog_file_begin(&cat, 0, &c, 10240, false, 3003), 0);
	e = catalog_find(&cat, 0);
	cr_assert_str_eq(e->format, "tar");
	cr_assert_null(e->host);
	cr_assert_eq(e->bytes, 10240);
	cr_assert_not(e->written);
	catalog_free(&cat);
}

Test(catalog_fill, limits)
{
	struct catalog cat;

	cr_assert_eq(catalog_init(&cat, "x"), 0);
	cr_assert_eq(catalog_file_begin(&cat, CATALOG_MAX_FILES, NULL, 1, true, 1), -ENOSPC);
	cr_assert_eq(catalog_file_begin(&cat, CATALOG_MAX_FILES - 1, NULL, 1, false, 1), 0);
	catalog_file_record(&cat, 12345, 10); /* unknown file: ignored */
	catalog_file_end(&cat, 12345);
	cr_assert_eq(cat.count, 1);
	catalog_free(&cat);
}

/* ---------------------------------------------------------------------------
 * Persistence
 */

Test(catalog_files, missing_catalog_is_empty, .init = setup, .fini = teardown)
{
	struct catalog cat;

	cr_assert_eq(catalog_load(state_dir, "NEW", &cat), 0);
	cr_assert_eq(cat.count, 0);
	cr_assert_str_eq(cat.cartridge, "NEW");
	catalog_free(&cat);
	cr_assert_eq(catalog_load(state_dir, "", &cat), -EINVAL);
	catalog_free(&cat);
}

Test(catalog_files, round_trip_rewrite_and_append, .init = setup, .fini = teardown)
{
	struct catalog cat, back;
	struct tape_content c;
	char path[PATH_MAX + 64];
	char *text;
	size_t length;

	cr_assert_eq(catalog_init(&cat, "sample.tap"), 0);
	write_sample_tape(&cat);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	catalog_path(path, sizeof(path), "sample.tap");
	text = read_all(path, &length);
	cr_assert_eq(count_lines(text), 4, "header + 3 entries:\n%s", text);
	cr_assert_eq(strncmp(text, "{\"rmtd_catalog\":2,\"cartridge\":\"sample.tap\"}\n", 44), 0);
	free(text);

	cr_assert_eq(catalog_load(state_dir, "sample.tap", &back), 0);
	assert_same_catalog(&cat, &back);
	catalog_free(&back);

	/* overwrite from file 1 and add a file: appended, not rewritten */
	sample_content("mv2.tar", &c);
	cr_assert_eq(catalog_file_begin(&cat, 1, &c, 10240, true, 5000), 0);
	catalog_file_end(&cat, 1);
	sample_content("cpio-odc.cpio", &c);
	cr_assert_eq(catalog_file_begin(&cat, 2, &c, 512, true, 5001), 0);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	text = read_all(path, &length);
	cr_assert_eq(count_lines(text), 7, "%s", text);
	cr_assert_not_null(strstr(text, "\n{\"truncate\":1}\n"), "%s", text);
	free(text);

	cr_assert_eq(catalog_load(state_dir, "sample.tap", &back), 0);
	assert_same_catalog(&cat, &back);
	cr_assert_str_eq(catalog_find(&back, 1)->label, "MVSET Volume 2");
	cr_assert(catalog_find(&back, 1)->continuation);
	cr_assert_eq(catalog_find(&back, 1)->offset, 19456);
	cr_assert_eq(catalog_find(&back, 1)->volume, 2);
	cr_assert_not(catalog_find(&back, 2)->complete);

	/* after a restart, an unfinished file is not counted on by chance */
	catalog_file_record(&back, 2, 512);
	catalog_file_end(&back, 2);
	cr_assert_not(catalog_find(&back, 2)->complete);
	/* the loaded copy goes on appending where the first left off */
	sample_content("cpio-crc.cpio", &c);
	cr_assert_eq(catalog_file_begin(&back, 3, &c, 512, true, 5002), 0);
	catalog_file_record(&back, 3, 512);
	catalog_file_end(&back, 3);
	cr_assert_eq(catalog_save(state_dir, &back), 0);
	text = read_all(path, &length);
	cr_assert_eq(count_lines(text), 8, "%s", text);
	free(text);
	catalog_free(&cat);
	cr_assert_eq(catalog_load(state_dir, "sample.tap", &cat), 0);
	assert_same_catalog(&cat, &back);
	cr_assert(catalog_find(&cat, 3)->complete);
	cr_assert_eq(catalog_find(&cat, 3)->bytes, 1024);
	/* nothing changed: nothing written */
	text = read_all(path, &length);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	{
		size_t length2;
		char *text2 = read_all(path, &length2);

		cr_assert_eq(length, length2);
		free(text2);
	}
	free(text);
	catalog_free(&cat);
	catalog_free(&back);
}

Test(catalog_files, a_cut_archive_stays_incomplete_and_compression_is_kept, .init = setup,
     .fini = teardown)
{
	struct catalog cat, back;
	struct tape_content c;
	const struct catalog_entry *e;
	char path[PATH_MAX + 64];
	char *text;
	size_t length;

	cr_assert_eq(catalog_init(&cat, "cut.tap"), 0);
	/* file 0: a dump -z, ended normally; file 1: a tar whose writer was killed */
	sample_content("level0.dump", &c);
	snprintf(c.compression, sizeof(c.compression), "compressed");
	cr_assert_eq(catalog_file_begin(&cat, 0, &c, 10240, true, 1000), 0);
	catalog_file_end(&cat, 0);
	sample_content("ustar.tar", &c);
	cr_assert_eq(catalog_file_begin(&cat, 1, &c, 10240, true, 1001), 0);
	catalog_file_record(&cat, 1, 10240);
	catalog_file_cut(&cat, 1);
	/* the filemark the close then writes does not make it whole */
	catalog_file_end(&cat, 1);
	e = catalog_find(&cat, 1);
	cr_assert_not(e->complete);
	cr_assert_eq(e->bytes, 20480);
	cr_assert(catalog_find(&cat, 0)->complete);
	cr_assert_str_eq(catalog_find(&cat, 0)->compression, "compressed");
	cr_assert_null(e->compression);

	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	catalog_path(path, sizeof(path), "cut.tap");
	text = read_all(path, &length);
	cr_assert(strstr(text, "\"compression\":\"compressed\",\"compressed\":true") != NULL, "%s",
	          text);
	cr_assert(strstr(text, "\"compressed\":false") != NULL, "%s", text);
	free(text);
	cr_assert_eq(catalog_load(state_dir, "cut.tap", &back), 0);
	assert_same_catalog(&cat, &back);

	/* reading the cut file back to its filemark keeps what the writing left */
	cr_assert_eq(catalog_file_begin(&back, 1, &c, 10240, false, 2000), 0);
	catalog_file_record(&back, 1, 10240);
	catalog_file_end(&back, 1);
	e = catalog_find(&back, 1);
	cr_assert_not(e->complete, "a cut archive read to its filemark is still cut");
	cr_assert_eq(e->bytes, 20480);
	catalog_free(&back);
	catalog_free(&cat);
}

Test(catalog_files, journal_is_compacted, .init = setup, .fini = teardown)
{
	struct catalog cat, back;
	char path[PATH_MAX + 64];
	char *text;
	size_t length;

	cr_assert_eq(catalog_init(&cat, "busy"), 0);
	write_sample_tape(&cat);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	/* the same file read over and over, each time only partly */
	for (int i = 0; i < 500; i++) {
		cr_assert_eq(catalog_file_begin(&cat, 3, NULL, 100 + i, false, 6000 + i), 0);
		cr_assert_eq(catalog_save(state_dir, &cat), 0);
	}
	catalog_path(path, sizeof(path), "busy");
	text = read_all(path, &length);
	cr_assert_leq(count_lines(text), 2 * 4 + 64 + 2, "%zu lines", count_lines(text));
	free(text);
	cr_assert_eq(catalog_load(state_dir, "busy", &back), 0);
	assert_same_catalog(&cat, &back);
	cr_assert_eq(catalog_find(&back, 3)->bytes, 599);
	catalog_free(&cat);
	catalog_free(&back);
}

Test(catalog_crash, stray_and_truncated_temporary_files, .init = setup, .fini = teardown)
{
	struct catalog cat, back;
	char path[PATH_MAX + 64];
	char *text;
	size_t length;

	cr_assert_eq(catalog_init(&cat, "T1"), 0);
	write_sample_tape(&cat);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	catalog_path(path, sizeof(path), "T1");
	text = read_all(path, &length);

	/* a crash during a rewrite: temporary files, one garbage, one cut short */
	snprintf(path, sizeof(path), "%s/cartridges/.T1.catalog.Qw3rTy", state_dir);
	write_all_file(path, "\xff\xfe\x00junk", 7, "wb");
	snprintf(path, sizeof(path), "%s/cartridges/.T1.catalog.AsDfGh", state_dir);
	write_all_file(path, text, length / 2, "wb");

	cr_assert_eq(catalog_load(state_dir, "T1", &back), 0);
	assert_same_catalog(&cat, &back);
	cr_assert_not(back.needs_rewrite);
	catalog_free(&back);
	free(text);
	catalog_free(&cat);
}

Test(catalog_crash, torn_appended_line, .init = setup, .fini = teardown)
{
	struct catalog cat, back;
	struct tape_content c;
	char path[PATH_MAX + 64];
	char *text;
	size_t length;

	cr_assert_eq(catalog_init(&cat, "T2"), 0);
	write_sample_tape(&cat);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	catalog_path(path, sizeof(path), "T2");

	/* a crash half-way through appending an entry */
	write_all_file(path, "{\"file\":3,\"format\":\"tar\",\"vari", 30, "ab");
	cr_assert_eq(catalog_load(state_dir, "T2", &back), 0);
	assert_same_catalog(&cat, &back);
	cr_assert(back.needs_rewrite);

	/* the next save rewrites the whole file: the torn tail is gone */
	sample_content("ustar.tar", &c);
	cr_assert_eq(catalog_file_begin(&back, 3, &c, 10240, true, 7000), 0);
	cr_assert_eq(catalog_save(state_dir, &back), 0);
	text = read_all(path, &length);
	cr_assert_eq(text[length - 1], '\n');
	cr_assert_eq(count_lines(text), 5);
	free(text);
	catalog_free(&cat);
	cr_assert_eq(catalog_load(state_dir, "T2", &cat), 0);
	cr_assert_not(cat.needs_rewrite);
	assert_same_catalog(&cat, &back);
	catalog_free(&cat);
	catalog_free(&back);
}

Test(catalog_crash, bad_lines_and_deleted_file, .init = setup, .fini = teardown)
{
	struct catalog cat, back;
	char path[PATH_MAX + 64];
	const char *lines = "not json\n"
	                    "{\"file\":-1}\n"
	                    "{\"file\":9,\"level\":\"zero\"}\n"
	                    "{\"file\":9,\"format\":\"tar\",\"new_key\":[1]}\n"
	                    "{\"file\":8,\"format\":\"tar\",\"future\":\"ok\",\"level\":2}\n"
	                    "\n";

	cr_assert_eq(catalog_init(&cat, "T3"), 0);
	write_sample_tape(&cat);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	catalog_path(path, sizeof(path), "T3");
	write_all_file(path, lines, strlen(lines), "ab");
	cr_assert_eq(catalog_load(state_dir, "T3", &back), 0);
	cr_assert_eq(back.count, 5, "3 entries + files 8 and 9");
	cr_assert_eq(catalog_find(&back, 8)->level, 2);
	/* the bad line said nothing; the next one's unknown key is skipped, whatever its type */
	cr_assert_str_eq(catalog_find(&back, 9)->format, "tar");
	cr_assert_eq(catalog_find(&back, 9)->level, -1);
	cr_assert(back.needs_rewrite);
	catalog_free(&back);

	/* the file disappears behind our back: the next save writes it whole */
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(catalog_file_begin(&cat, 3, NULL, 100, true, 9), 0);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	cr_assert_eq(catalog_load(state_dir, "T3", &back), 0);
	assert_same_catalog(&cat, &back);
	catalog_free(&back);
	catalog_free(&cat);
}

Test(catalog_crash, mutated_files_never_crash, .init = setup, .fini = teardown)
{
	struct catalog cat, back;
	char path[PATH_MAX + 64];
	char *text, *mutated;
	size_t length;
	uint64_t state = 88172645463325252ull;

	cr_assert_eq(catalog_init(&cat, "M"), 0);
	write_sample_tape(&cat);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	catalog_path(path, sizeof(path), "M");
	text = read_all(path, &length);
	mutated = malloc(length + 1);
	for (int round = 0; round < 400; round++) {
		size_t cut;

		memcpy(mutated, text, length);
		for (int k = 0; k < 1 + round % 8; k++) {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			mutated[state % length] = (char)(state >> 32);
		}
		cut = round % 3 == 0 ? (size_t)(state >> 40) % length : length;
		write_all_file(path, mutated, cut, "wb");
		cr_assert_eq(catalog_load(state_dir, "M", &back), 0);
		cr_assert_leq(back.count, 3);
		for (size_t i = 0; i < back.count; i++)
			cr_assert_lt(back.entries[i].file_number, CATALOG_MAX_FILES);
		catalog_free(&back);
	}
	free(mutated);
	free(text);
	catalog_free(&cat);
}

/* ---------------------------------------------------------------------------
 * Output
 */

Test(catalog_output, hostile_strings_round_trip_and_stay_escaped, .init = setup, .fini = teardown)
{
	struct catalog cat, back;
	struct tape_content c;
	char *json = NULL;
	size_t json_size = 0;
	FILE *out;

	sample_content("level0.dump", &c);
	snprintf(c.label, sizeof(c.label), "q\"b\\s\n\x1b[2J\xff");
	snprintf(c.host, sizeof(c.host), "h\xc3\xa9h\xed\xa0\x80"); /* UTF-8 + a surrogate */
	cr_assert_eq(catalog_init(&cat, "evil\"/../\n"), 0);
	cr_assert_eq(catalog_file_begin(&cat, 0, &c, 10240, true, 1), 0);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	cr_assert_eq(catalog_load(state_dir, "evil\"/../\n", &back), 0);
	assert_same_catalog(&cat, &back);

	out = open_memstream(&json, &json_size);
	cr_assert_eq(catalog_write_json(&back, out), 0);
	fclose(out);
	cr_assert_eq(
	    strncmp(json, "{\"cartridge\":\"evil\\\"/../\\n\",\"files\":[{\"file\":0,", 46), 0,
	    "%s", json);
	/* not UTF-8: the text with U+FFFD for people, the bytes in hex */
	cr_assert_not_null(strstr(json, "\"label\":\"q\\\"b\\\\s\\n\\u001B[2J\xef\xbf\xbd\","
	                                "\"label_hex\":\"7122625c730a1b5b324aff\""),
	                   "%s", json);
	cr_assert_not_null(strstr(json,
	                          "\"host\":\"h\xc3\xa9h\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\","
	                          "\"host_hex\":\"68c3a968eda080\""),
	                   "%s", json);
	cr_assert_null(strstr(json, "\"filesystem_hex\""), "UTF-8 needs no hex: %s", json);
	cr_assert_not_null(strstr(json, "\"member\":null"), "%s", json);
	cr_assert_eq(json[strlen(json) - 1], '}');
	for (const char *p = json; *p; p++)
		cr_assert((unsigned char)*p >= 0x20, "raw control byte in JSON");
	free(json);
	catalog_free(&back);
	catalog_free(&cat);
}

Test(catalog_output, table)
{
	struct catalog cat;
	struct tape_content c;
	char *table = NULL;
	size_t size = 0;
	FILE *out;

	cr_assert_eq(catalog_init(&cat, "sample.tap"), 0);
	write_sample_tape(&cat);
	sample_content("mv2.tar", &c);
	snprintf(c.label, sizeof(c.label), "bad\x1b[31mlabel-that-is-long");
	cr_assert_eq(catalog_file_begin(&cat, 3, &c, 10240, true, 1795282739), 0);

	out = open_memstream(&table, &size);
	cr_assert_eq(catalog_write_table(&cat, out), 0);
	fclose(out);
	cr_assert_not_null(strstr(table, "cartridge sample.tap: 4 files\n"), "%s", table);
	cr_assert_not_null(strstr(table, " FILE FORMAT"), "%s", table);
	cr_assert_not_null(strstr(table,
	                          "    0 dump       new-fs little endian mylabel          vm  "
	                          "         an unlisted file system    0 2026-11-21 17:37   "
	                          "1        20480        2   10240\n"),
	                   "%s", table);
	cr_assert_not_null(
	    strstr(table, "    2 unknown    -                    -                -  "), "%s",
	    table);
	/* the escaped label is cut to its column and marked */
	cr_assert_not_null(strstr(table, "bad\\033[31mlabe~ "), "%s", table);
	cr_assert_not_null(strstr(table, "10240+"), "an unfinished file is marked: %s", table);
	for (const char *p = table; *p; p++)
		cr_assert((unsigned char)*p >= 0x20 || *p == '\n', "raw control byte in table");
	free(table);
	catalog_free(&cat);
}

/*
 * A version 1 catalog wrote bytes that were not UTF-8 as \u00XX and UTF-8 as it
 * is: both read back as the bytes they were, and the next save writes version 2.
 */
Test(catalog_files, version_1_bytes_read_back, .init = setup, .fini = teardown)
{
	const char *v1 = "{\"rmtd_catalog\":1,\"cartridge\":\"c\\u00e9\"}\n"
	                 "{\"file\":0,\"format\":\"tar\",\"variant\":\"ustar\","
	                 "\"label\":\"a\\u00ffb\xc3\xa9\\\\u00e9\",\"host\":\"\\u001b\\u00e9\","
	                 "\"member\":null,\"level\":-1,\"bytes\":7}\n";
	struct catalog cat;
	char path[PATH_MAX + 64], *text, **listed;
	size_t length, count;

	snprintf(path, sizeof(path), "%s/cartridges", state_dir);
	cr_assert(mkdir(state_dir, 0700) == 0 || errno == EEXIST);
	cr_assert_eq(mkdir(path, 0700), 0, "%s", strerror(errno));
	catalog_path(path, sizeof(path), "cv1");
	write_all_file(path, v1, strlen(v1), "w");
	cr_assert_eq(catalog_list(state_dir, &listed, &count), 0);
	cr_assert_eq(count, 1);
	cr_assert_str_eq(listed[0], "c\xe9", "the header's name, as bytes");
	catalog_list_free(listed, count);
	cr_assert_eq(catalog_load(state_dir, "cv1", &cat), 0);
	cr_assert_eq(cat.count, 1);
	cr_assert(cat.needs_rewrite, "an old version is rewritten");
	cr_assert_str_eq(cat.entries[0].label, "a\xff"
	                                       "b\xc3\xa9\\u00e9");
	cr_assert_str_eq(cat.entries[0].host, "\x1b\xe9");
	cr_assert_eq(cat.entries[0].bytes, 7);
	cr_assert_eq(catalog_save(state_dir, &cat), 0);
	catalog_free(&cat);

	text = read_all(path, &length);
	cr_assert_eq(strncmp(text, "{\"rmtd_catalog\":2,\"cartridge\":\"cv1\"}\n", 36), 0, "%s",
	             text);
	cr_assert_not_null(strstr(text, "\"label_hex\":\"61ff62c3a95c7530306539\""), "%s", text);
	free(text);
	cr_assert_eq(catalog_load(state_dir, "cv1", &cat), 0);
	cr_assert_not(cat.needs_rewrite);
	cr_assert_str_eq(cat.entries[0].label, "a\xff"
	                                       "b\xc3\xa9\\u00e9");
	cr_assert_str_eq(cat.entries[0].host, "\x1b\xe9");
	catalog_free(&cat);
}

/* The list names cartridges as their catalogs do, whatever bytes the names hold. */
Test(catalog_files, list_names_every_catalog_by_its_header, .init = setup, .fini = teardown)
{
	static const char *const names[] = {"zulu", "/dev/nst0", "odd \"name\"\\\x01\xe9"};
	struct catalog cat;
	char path[PATH_MAX + 64], **listed;
	size_t count;

	cr_assert_eq(catalog_list(state_dir, &listed, &count), 0);
	cr_assert_eq(count, 0);
	catalog_list_free(listed, count);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(catalog_init(&cat, names[i]), 0);
		write_sample_tape(&cat);
		cr_assert_eq(catalog_save(state_dir, &cat), 0);
		catalog_free(&cat);
	}
	/* Not a catalog: a header without a cartridge, and a file with another suffix. */
	catalog_path(path, sizeof(path), "headless");
	write_all_file(path, "{\"rmtd_catalog\":1}\n", 19, "w");
	snprintf(path, sizeof(path), "%s/cartridges/zulu.counters.catalog.old", state_dir);
	write_all_file(path, "{\"rmtd_catalog\":1,\"cartridge\":\"x\"}\n", 36, "w");

	cr_assert_eq(catalog_list(state_dir, &listed, &count), 0);
	cr_assert_eq(count, 3);
	cr_assert_str_eq(listed[0], "/dev/nst0");
	cr_assert_str_eq(listed[1], "odd \"name\"\\\x01\xe9");
	cr_assert_str_eq(listed[2], "zulu");
	catalog_list_free(listed, count);
}
