/*
 * test_tapeimage.c - SIMH framing, scan and repair classification, the index and its file,
 * and the .meta format (rmtd/tapeimage.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tapeimage.h"
#include "tapeindex.h"
#include "tapemeta.h"
#include "read_calls.h"

static int memfd(void)
{
	int fd = memfd_create("tapeimage-test", 0);

	cr_assert_geq(fd, 0);
	return fd;
}

static uint64_t fd_size(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	return (uint64_t)st.st_size;
}

static void put_word(int fd, uint64_t offset, uint32_t word)
{
	unsigned char b[4] = {(unsigned char)word, (unsigned char)(word >> 8),
	                      (unsigned char)(word >> 16), (unsigned char)(word >> 24)};

	cr_assert_eq(pwrite(fd, b, 4, (off_t)offset), 4);
}

/* Append a record of `length` bytes of `fill` at the end of fd. */
static void append_record(int fd, uint32_t length, int fill)
{
	unsigned char *data = malloc(length);

	memset(data, fill, length);
	cr_assert_eq(tapeimage_write_records(fd, fd_size(fd), data, length, 1), 0);
	free(data);
}

static void append_mark(int fd)
{
	cr_assert_eq(tapeimage_write_marks(fd, fd_size(fd), 1), 0);
}

static void full_scan(int fd, struct tapeimage_index *index)
{
	tapeimage_index_init(index);
	cr_assert_eq(tapeimage_scan(fd, fd_size(fd), index), 0);
	cr_assert_eq(tapeimage_index_check(index), 0);
}

static int open_sample(const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", SAMPLES_DIR, name);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "cannot open %s", path);
	return fd;
}

Test(tapeimage, crc32c_known_vector)
{
	cr_assert_eq(tapeimage_crc32c(0, "123456789", 9), 0xE3069283u);
	cr_assert_eq(tapeimage_crc32c(0, "", 0), 0u);
	/* Incremental equals one-shot. */
	cr_assert_eq(tapeimage_crc32c(tapeimage_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

/*
 * Whichever way the machine computes it (SSE4.2's crc32, eight bytes at a time,
 * or the table a byte at a time), the values the table gave: lengths around the
 * eight-byte steps and large ones, at three alignments. The values were made
 * with the table code.
 */
Test(tapeimage, crc32c_every_length_and_alignment_as_the_table_gives_it)
{
	static const struct {
		size_t offset, length;
		uint32_t crc;
	} vectors[] = {
	    {0, 1, 0xa016d052u},     {1, 1, 0x1711ff36u},     {2, 1, 0x86b737bau},
	    {0, 7, 0x0af3765au},     {1, 7, 0xa293ecf3u},     {2, 7, 0xf8078c71u},
	    {0, 8, 0xdcb94933u},     {1, 8, 0xda0d409fu},     {2, 8, 0x0e9db014u},
	    {0, 9, 0x19fe4cfeu},     {1, 9, 0x41f7ade5u},     {2, 9, 0xcbfa65dau},
	    {0, 15, 0xafb3758eu},    {1, 15, 0x911d2dfeu},    {2, 15, 0xa939f375u},
	    {0, 16, 0x726f6efau},    {1, 16, 0xcf72549cu},    {2, 16, 0x6332cf65u},
	    {0, 63, 0xd00c46e8u},    {1, 63, 0x407bb861u},    {2, 63, 0x768e33dbu},
	    {0, 64, 0xa7df5954u},    {1, 64, 0xf0769d4fu},    {2, 64, 0x9eb01d51u},
	    {0, 65, 0xf5836403u},    {1, 65, 0xcb048ef7u},    {2, 65, 0xe6eaf8b3u},
	    {0, 1000, 0x36f349dfu},  {1, 1000, 0x814971b3u},  {2, 1000, 0xd7650d6au},
	    {0, 4099, 0x3d1fc4acu},  {1, 4099, 0xf52445f1u},  {2, 4099, 0x86d9f9c9u},
	    {0, 65536, 0x0acf5572u}, {1, 65536, 0xa71cec64u}, {2, 65536, 0x07175c10u},
	    {0, 69990, 0x985230adu}, {1, 69990, 0xd29a5b13u}, {2, 69990, 0x4f011385u},
	};
	static unsigned char buffer[70000];

	for (size_t i = 0; i < sizeof(buffer); i++)
		buffer[i] = (unsigned char)(i * 131 + (i >> 8) * 7 + 1);
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		cr_assert_eq(tapeimage_crc32c(0, buffer + vectors[i].offset, vectors[i].length),
		             vectors[i].crc, "offset %zu, length %zu", vectors[i].offset,
		             vectors[i].length);
	/* Split anywhere, the same: the word loop's tail carries into the next call. */
	for (size_t cut = 0; cut <= 17; cut++)
		cr_assert_eq(
		    tapeimage_crc32c(tapeimage_crc32c(0, buffer, cut), buffer + cut, 4099 - cut),
		    tapeimage_crc32c(0, buffer, 4099));
}

Test(tapeimage, record_framing_even_and_odd)
{
	int fd = memfd();
	unsigned char expect[] = {5, 0, 0, 0,   'a', 'b', 'c', 'd', 'e', 0, 5, 0, 0, 0, 4,
	                          0, 0, 0, 'w', 'x', 'y', 'z', 4,   0,   0, 0, 0, 0, 0, 0};
	unsigned char got[sizeof(expect)];
	struct tapeimage_object o;
	char buf[8];

	cr_assert_eq(tapeimage_write_records(fd, 0, "abcde", 5, 1), 0);
	cr_assert_eq(tapeimage_write_records(fd, 14, "wxyz", 4, 1), 0);
	cr_assert_eq(tapeimage_write_marks(fd, 26, 1), 0);
	cr_assert_eq(fd_size(fd), sizeof(expect));
	cr_assert_eq(pread(fd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	cr_assert_arr_eq(got, expect, sizeof(expect));

	cr_assert_eq(tapeimage_peek(fd, 0, 30, &o), 0);
	cr_assert_eq(o.kind, TAPEIMAGE_OBJ_RECORD);
	cr_assert_eq(o.length, 5);
	cr_assert_eq(o.end, 14);
	cr_assert_eq(tapeimage_read_data(fd, &o, buf), 0);
	cr_assert_arr_eq(buf, "abcde", 5);
	cr_assert_eq(tapeimage_peek(fd, 26, 30, &o), 0);
	cr_assert_eq(o.kind, TAPEIMAGE_OBJ_MARK);
	cr_assert_eq(tapeimage_peek(fd, 30, 30, &o), 0);
	cr_assert_eq(o.kind, TAPEIMAGE_OBJ_EOD);
	/* A record whose span passes the limit is not a record. */
	cr_assert_eq(tapeimage_peek(fd, 14, 20, &o), 0);
	cr_assert_eq(o.kind, TAPEIMAGE_OBJ_BAD);
	/* A trailer that does not match is an error. */
	put_word(fd, 10, 6);
	cr_assert_eq(tapeimage_peek(fd, 0, 30, &o), 0);
	cr_assert_eq(tapeimage_read_data(fd, &o, buf), -EIO);
	close(fd);
}

Test(tapeimage, many_records_in_one_call)
{
	int fd = memfd();
	unsigned char data[3 * 1000];
	struct tapeimage_index index;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i / 3);
	/* 1000 records of 3 bytes: more than one pwritev batch. */
	cr_assert_eq(tapeimage_write_records(fd, 0, data, 3, 1000), 0);
	cr_assert_eq(fd_size(fd), 1000 * tapeimage_record_span(3));
	full_scan(fd, &index);
	cr_assert_eq(index.n_objects, 1000);
	cr_assert_eq(index.n_runs, 1);
	cr_assert_eq(index.runs[0].count, 1000);
	{
		struct tapeimage_object o;
		uint64_t offset;
		unsigned char got[3];

		cr_assert_eq(tapeimage_index_locate(&index, 777, &offset), 0);
		cr_assert_eq(tapeimage_peek(fd, offset, index.data_size, &o), 0);
		cr_assert_eq(tapeimage_read_data(fd, &o, got), 0);
		cr_assert_eq(got[0], (unsigned char)777);
	}
	tapeimage_index_free(&index);
	close(fd);
}

/* Record i's length: small ones, odd and even, with a few larger than the read-ahead. */
static uint32_t walk_length(size_t i)
{
	if (i % 97 == 50)
		return TAPEIMAGE_READ_AHEAD + 3 + (uint32_t)i; /* read straight to the caller */
	if (i % 31 == 7)
		return 20000 + (uint32_t)i; /* past the small span: a little read-ahead after it */
	return 1 + (uint32_t)(i * 37 % 1500);
}

/*
 * The reader answers as the direct calls do for every object of an image of mixed
 * records and marks, and small records cost a system call per read-ahead, not two each.
 */
Test(tapeimage, reader_walks_an_image_as_direct_reads_do)
{
	int fd = memfd();
	size_t count = 600, big = TAPEIMAGE_READ_AHEAD + 1000;
	unsigned char *record = malloc(big), *direct = malloc(big), *through = malloc(big);
	struct tapeimage_reader *reader = malloc(sizeof(*reader));
	struct tapeimage_object a, b;
	uint64_t offset = 0, limit;
	long before;

	cr_assert(record && direct && through && reader);
	for (size_t i = 0; i < count; i++) {
		uint32_t length = walk_length(i);

		for (uint32_t j = 0; j < length; j++)
			record[j] = (unsigned char)(i * 7 + j);
		if (i % 50 == 49) {
			cr_assert_eq(tapeimage_write_marks(fd, offset, 1), 0);
			offset += 4;
		}
		cr_assert_eq(tapeimage_write_records(fd, offset, record, length, 1), 0);
		offset += tapeimage_record_span(length);
	}
	limit = offset;

	tapeimage_reader_init(reader, fd);
	for (offset = 0;; offset = a.end) {
		cr_assert_eq(tapeimage_peek(fd, offset, limit, &a), 0);
		cr_assert_eq(tapeimage_reader_peek(reader, offset, limit, &b), 0);
		cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "object at %llu differs",
		             (unsigned long long)offset);
		if (a.kind != TAPEIMAGE_OBJ_RECORD) {
			if (a.kind == TAPEIMAGE_OBJ_EOD)
				break;
			continue;
		}
		cr_assert_eq(tapeimage_read_data(fd, &a, direct), 0);
		cr_assert_eq(tapeimage_reader_read_data(reader, &b, through), 0);
		cr_assert_arr_eq(direct, through, a.length, "record at %llu differs",
		                 (unsigned long long)offset);
	}
	cr_assert_eq(offset, limit);

	/* 100 records of at most 1500 bytes: a few read-aheads, where direct reads make 200. */
	tapeimage_reader_init(reader, fd);
	before = read_calls();
	for (offset = 0; offset < 100 * 1510;) {
		cr_assert_eq(tapeimage_reader_peek(reader, offset, limit, &b), 0);
		if (b.kind == TAPEIMAGE_OBJ_RECORD)
			cr_assert_eq(tapeimage_reader_read_data(reader, &b, through), 0);
		offset = b.end;
	}
	cr_assert_leq(read_calls() - before, 20, "%ld read calls", read_calls() - before);

	/* A trailer that does not match is still an error, and a file cut short one too. */
	tapeimage_reader_init(reader, fd);
	cr_assert_eq(tapeimage_reader_peek(reader, 0, limit, &b), 0);
	put_word(fd, b.end - 4, b.length + 2);
	tapeimage_reader_forget(reader);
	cr_assert_eq(tapeimage_reader_read_data(reader, &b, through), -EIO);
	cr_assert_eq(ftruncate(fd, 6), 0);
	tapeimage_reader_forget(reader);
	cr_assert_eq(tapeimage_reader_read_data(reader, &b, through), -EIO);
	tapeimage_reader_forget(reader);
	cr_assert_eq(tapeimage_reader_peek(reader, 4, limit, &b), -EIO);
	free(reader);
	free(record);
	free(direct);
	free(through);
	close(fd);
}

Test(tapeimage, scan_sample_tap)
{
	int fd = open_sample("sample.tap");
	struct tapeimage_index index;

	full_scan(fd, &index);
	/* 2 records, mark, 1 record, mark, mark, then an EOM word. */
	cr_assert_eq(index.n_objects, 6);
	cr_assert_eq(index.n_marks, 3);
	cr_assert_eq(index.marks[0].object, 2);
	cr_assert_eq(index.marks[0].offset, 20496);
	cr_assert_eq(index.marks[1].object, 4);
	cr_assert_eq(index.marks[2].object, 5);
	cr_assert_eq(index.n_runs, 2);
	cr_assert_eq(index.runs[0].count, 2);
	cr_assert_eq(index.runs[0].word, 10240);
	cr_assert_eq(index.end, TAPEIMAGE_END_EOM);
	cr_assert_eq(index.data_size, 30756);
	cr_assert_eq(index.file_size, 30760);
	cr_assert_eq(tapeimage_index_data_bytes(&index), 30720);
	tapeimage_index_free(&index);
	close(fd);
}

Test(tapeimage, scan_odd_tap_tolerates_error_flag_gap_and_eom)
{
	int fd = open_sample("odd.tap");
	struct tapeimage_index index;
	uint64_t offset;
	uint32_t word;

	full_scan(fd, &index);
	cr_assert_eq(index.n_objects, 3);
	cr_assert_eq(index.n_runs, 2);
	cr_assert_eq(index.runs[0].word, 5);
	cr_assert_eq(index.runs[1].word, 0x80000004u);
	cr_assert_eq(tapeimage_index_record_word(&index, 1, &word), 0);
	cr_assert_eq(word, 0x80000004u);
	/* The gap word at 26 is skipped: the mark is at 30. */
	cr_assert_eq(index.n_marks, 1);
	cr_assert_eq(index.marks[0].offset, 30);
	cr_assert_eq(tapeimage_index_locate(&index, 2, &offset), 0);
	cr_assert_eq(offset, 30);
	cr_assert_eq(tapeimage_index_object_end(&index, 1, &offset), 0);
	cr_assert_eq(offset, 26);
	cr_assert_eq(index.end, TAPEIMAGE_END_EOM);
	cr_assert_eq(index.data_size, 34);
	tapeimage_index_free(&index);
	close(fd);
}

Test(tapeimage, runs_merge_equal_adjacent_records_only)
{
	int fd = memfd();
	struct tapeimage_index index;

	append_record(fd, 100, 'a');
	append_record(fd, 100, 'b');
	append_record(fd, 100, 'c');
	append_record(fd, 50, 'd');
	append_mark(fd);
	append_record(fd, 50, 'e'); /* same size as before the mark: a new run */
	append_record(fd, 7, 'f');
	append_record(fd, 50, 'g');
	full_scan(fd, &index);
	cr_assert_eq(index.n_objects, 8);
	cr_assert_eq(index.n_runs, 5);
	cr_assert_eq(index.runs[0].count, 3);
	cr_assert_eq(index.runs[1].word, 50);
	cr_assert_eq(index.runs[2].first_object, 5);
	cr_assert_eq(tapeimage_index_marks_before(&index, 0), 0);
	cr_assert_eq(tapeimage_index_marks_before(&index, 4), 0);
	cr_assert_eq(tapeimage_index_marks_before(&index, 5), 1);
	cr_assert(tapeimage_index_is_mark(&index, 4));
	cr_assert_not(tapeimage_index_is_mark(&index, 5));
	/* Every object's offset agrees with walking the image. */
	{
		uint64_t offset = 0;

		for (uint64_t k = 0; k < index.n_objects; k++) {
			struct tapeimage_object o;
			uint64_t located, end;

			cr_assert_eq(tapeimage_index_locate(&index, k, &located), 0);
			cr_assert_eq(located, offset, "object %llu", (unsigned long long)k);
			cr_assert_eq(tapeimage_peek(fd, offset, index.data_size, &o), 0);
			cr_assert_eq(tapeimage_index_object_end(&index, k, &end), 0);
			cr_assert_eq(end, o.end);
			offset = o.end;
		}
		cr_assert_eq(offset, index.data_size);
	}
	cr_assert_eq(tapeimage_index_locate(&index, 9, &(uint64_t){0}), -EINVAL);
	tapeimage_index_free(&index);
	close(fd);
}

Test(tapeimage, incremental_index_equals_scan)
{
	int fd = memfd();
	struct tapeimage_index built, scanned;

	tapeimage_index_init(&built);
	for (int i = 0; i < 300; i++) {
		uint32_t length = (uint32_t)(i % 7 == 0 ? 33 : 512);

		if (i % 50 == 49) {
			append_mark(fd);
			cr_assert_eq(tapeimage_index_add_mark(&built), 0);
		} else {
			append_record(fd, length, i);
			cr_assert_eq(tapeimage_index_add_record(&built, length), 0);
		}
	}
	full_scan(fd, &scanned);
	cr_assert_eq(built.n_objects, scanned.n_objects);
	cr_assert_eq(built.data_size, scanned.data_size);
	cr_assert_eq(built.n_marks, scanned.n_marks);
	cr_assert_eq(built.n_runs, scanned.n_runs);
	cr_assert_arr_eq(built.marks, scanned.marks, built.n_marks * sizeof(*built.marks));
	cr_assert_arr_eq(built.runs, scanned.runs, built.n_runs * sizeof(*built.runs));
	tapeimage_index_free(&built);
	tapeimage_index_free(&scanned);
	close(fd);
}

Test(tapeimage, truncate_cuts_marks_and_runs)
{
	int fd = memfd();
	struct tapeimage_index index, rescanned;

	for (int i = 0; i < 5; i++)
		append_record(fd, 64, i);
	append_mark(fd);
	for (int i = 0; i < 5; i++)
		append_record(fd, 64, i);
	full_scan(fd, &index);
	cr_assert_eq(index.n_runs, 2);
	/* Cut inside the second run: object 8 is the third record after the mark. */
	cr_assert_eq(tapeimage_index_truncate(&index, 8), 0);
	cr_assert_eq(index.n_objects, 8);
	cr_assert_eq(index.n_marks, 1);
	cr_assert_eq(index.runs[1].count, 2);
	cr_assert_eq(index.data_size, 5 * 72 + 4 + 2 * 72);
	cr_assert_eq(ftruncate(fd, (off_t)index.data_size), 0);
	full_scan(fd, &rescanned);
	cr_assert_eq(rescanned.n_objects, 8);
	cr_assert_arr_eq(index.runs, rescanned.runs, index.n_runs * sizeof(*index.runs));
	/* Cut at the mark itself, then everything. */
	cr_assert_eq(tapeimage_index_truncate(&index, 5), 0);
	cr_assert_eq(index.n_marks, 0);
	cr_assert_eq(index.n_runs, 1);
	cr_assert_eq(index.data_size, 5 * 72);
	cr_assert_eq(tapeimage_index_truncate(&index, 0), 0);
	cr_assert_eq(index.n_runs, 0);
	cr_assert_eq(index.data_size, 0);
	cr_assert_eq(tapeimage_index_truncate(&index, 1), -EINVAL);
	tapeimage_index_free(&index);
	tapeimage_index_free(&rescanned);
	close(fd);
}

Test(tapeimage, torn_tails_are_classified_for_repair)
{
	struct tapeimage_index index;
	int fd;

	/* Leading length word and part of the data: an interrupted write. */
	fd = memfd();
	append_record(fd, 10, 'a');
	append_mark(fd);
	put_word(fd, 22, 1000);
	cr_assert_eq(pwrite(fd, "partial", 7, 26), 7);
	full_scan(fd, &index);
	cr_assert_eq(index.end, TAPEIMAGE_END_TORN);
	cr_assert_eq(index.data_size, 22);
	cr_assert_eq(index.n_objects, 2);
	tapeimage_index_free(&index);
	close(fd);

	/* Whole length but a trailer that does not match, at the end of the file. */
	fd = memfd();
	append_record(fd, 10, 'a');
	append_record(fd, 10, 'b');
	put_word(fd, 18 + 14, 0);
	full_scan(fd, &index);
	cr_assert_eq(index.end, TAPEIMAGE_END_TORN);
	cr_assert_eq(index.data_size, 18);
	tapeimage_index_free(&index);
	close(fd);

	/* Two bytes of a word. */
	fd = memfd();
	append_mark(fd);
	cr_assert_eq(pwrite(fd, "\x10\x00", 2, 4), 2);
	full_scan(fd, &index);
	cr_assert_eq(index.end, TAPEIMAGE_END_TORN);
	cr_assert_eq(index.data_size, 4);
	tapeimage_index_free(&index);
	close(fd);
}

Test(tapeimage, corruption_in_the_middle_is_not_a_torn_tail)
{
	struct tapeimage_index index;
	int fd = memfd();

	append_record(fd, 10, 'a');
	append_record(fd, 10, 'b');
	append_record(fd, 10, 'c');
	put_word(fd, 18 + 14, 11); /* second record's trailer */
	full_scan(fd, &index);
	cr_assert_eq(index.end, TAPEIMAGE_END_CORRUPT);
	cr_assert_eq(index.n_objects, 1);
	cr_assert_eq(index.data_size, 18);
	tapeimage_index_free(&index);

	/* A reserved class word. */
	put_word(fd, 18 + 14, 10);
	put_word(fd, 18, 0x12000010u);
	full_scan(fd, &index);
	cr_assert_eq(index.end, TAPEIMAGE_END_CORRUPT);
	cr_assert_eq(index.data_size, 18);
	tapeimage_index_free(&index);
	close(fd);
}

Test(tapeimage, limits_bound_memory)
{
	struct tapeimage_index index;
	int fd = memfd();

	cr_assert_eq(tapeimage_write_marks(fd, 0, 100), 0);
	tapeimage_index_init(&index);
	index.max_marks = 10;
	cr_assert_eq(tapeimage_scan(fd, fd_size(fd), &index), 0);
	cr_assert_eq(index.n_marks, 10);
	cr_assert_eq(index.end, TAPEIMAGE_END_CORRUPT);
	cr_assert_eq(tapeimage_index_add_mark(&index), -E2BIG);
	tapeimage_index_free(&index);
	close(fd);
}

/* Save an index to a fresh memfd; return the fd positioned at 0. */
static int save_index(const struct tapeimage_index *index, int image_fd)
{
	int fd = memfd();
	uint32_t check;

	cr_assert_eq(tapeimage_tail_check(image_fd, index->file_size, &check), 0);
	cr_assert_eq(tapeimage_index_save(fd, index, check), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static int load_index(int index_fd, int image_fd, struct tapeimage_index *index)
{
	tapeimage_index_init(index);
	cr_assert_eq(lseek(index_fd, 0, SEEK_SET), 0);
	return tapeimage_index_load(index_fd, image_fd, fd_size(image_fd), index);
}

Test(tapeimage, index_file_round_trip_and_validation)
{
	int image = memfd(), saved;
	struct tapeimage_index index, loaded;

	for (int i = 0; i < 20; i++) {
		append_record(image, (uint32_t)(100 + (i % 3)), i);
		if (i % 4 == 3)
			append_mark(image);
	}
	full_scan(image, &index);
	saved = save_index(&index, image);

	cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_VALID);
	cr_assert_eq(loaded.n_objects, index.n_objects);
	cr_assert_eq(loaded.data_size, index.data_size);
	cr_assert_arr_eq(loaded.marks, index.marks, index.n_marks * sizeof(*index.marks));
	cr_assert_arr_eq(loaded.runs, index.runs, index.n_runs * sizeof(*index.runs));
	tapeimage_index_free(&loaded);

	/* The image grew: the index describes a prefix; a scan from data_size completes it. */
	append_record(image, 999, 'z');
	append_mark(image);
	cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_GROWN);
	cr_assert_eq(tapeimage_scan(image, fd_size(image), &loaded), 0);
	{
		struct tapeimage_index full;

		full_scan(image, &full);
		cr_assert_eq(loaded.n_objects, full.n_objects);
		cr_assert_eq(loaded.n_runs, full.n_runs);
		cr_assert_arr_eq(loaded.runs, full.runs, full.n_runs * sizeof(*full.runs));
		cr_assert_arr_eq(loaded.marks, full.marks, full.n_marks * sizeof(*full.marks));
		tapeimage_index_free(&full);
	}
	tapeimage_index_free(&loaded);

	/* A change inside the described tail: stale. */
	cr_assert_eq(ftruncate(image, (off_t)index.file_size), 0);
	cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_VALID);
	tapeimage_index_free(&loaded);
	cr_assert_eq(pwrite(image, "X", 1, (off_t)index.file_size - 10), 1);
	cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_STALE);
	cr_assert_eq(loaded.n_objects, 0);
	tapeimage_index_free(&loaded);

	/* A shorter image: stale. */
	cr_assert_eq(ftruncate(image, (off_t)index.file_size - 4), 0);
	cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_STALE);
	tapeimage_index_free(&loaded);
	/* No index at all. */
	tapeimage_index_init(&loaded);
	cr_assert_eq(tapeimage_index_load(-1, image, fd_size(image), &loaded),
	             TAPEIMAGE_INDEX_STALE);
	tapeimage_index_free(&loaded);
	tapeimage_index_free(&index);
	close(saved);
	close(image);
}

Test(tapeimage, damaged_index_files_are_stale)
{
	int image = memfd(), saved;
	struct tapeimage_index index, loaded;
	unsigned char byte;
	uint64_t size;

	for (int i = 0; i < 10; i++) {
		append_record(image, 200, i);
		append_mark(image);
	}
	full_scan(image, &index);
	saved = save_index(&index, image);
	size = fd_size(saved);
	/* Flip each byte in turn: the CRC or the checks must catch every one. */
	for (uint64_t at = 0; at < size; at += 7) {
		cr_assert_eq(pread(saved, &byte, 1, (off_t)at), 1);
		byte ^= 0x40;
		cr_assert_eq(pwrite(saved, &byte, 1, (off_t)at), 1);
		cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_STALE, "byte %llu",
		             (unsigned long long)at);
		tapeimage_index_free(&loaded);
		byte ^= 0x40;
		cr_assert_eq(pwrite(saved, &byte, 1, (off_t)at), 1);
	}
	/* Cut short. */
	cr_assert_eq(ftruncate(saved, (off_t)size - 1), 0);
	cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_STALE);
	tapeimage_index_free(&loaded);
	tapeimage_index_free(&index);
	close(saved);
	close(image);
}

Test(tapeimage, index_with_valid_crc_but_inconsistent_content_is_stale)
{
	int image = memfd(), saved;
	struct tapeimage_index index, loaded;

	append_record(image, 10, 'a');
	append_mark(image);
	append_record(image, 10, 'b');
	full_scan(image, &index);
	/* Two objects claiming one number. */
	index.marks[0].object = 0;
	saved = save_index(&index, image);
	cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_STALE);
	tapeimage_index_free(&loaded);
	close(saved);
	/* Overlapping offsets. */
	index.marks[0].object = 1;
	index.marks[0].offset = 10;
	saved = save_index(&index, image);
	cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_STALE);
	tapeimage_index_free(&loaded);
	close(saved);
	/* The right one loads. */
	index.marks[0].offset = 18;
	saved = save_index(&index, image);
	cr_assert_eq(load_index(saved, image, &loaded), TAPEIMAGE_INDEX_VALID);
	tapeimage_index_free(&loaded);
	close(saved);
	tapeimage_index_free(&index);
	close(image);
}

Test(tapeimage, meta_round_trip_keeps_unknown_keys)
{
	struct tapeimage_meta meta, back;
	char *text;
	size_t length;

	tapeimage_meta_init(&meta, (uint64_t)1 << 30);
	cr_assert_eq(meta.early_warning, ((uint64_t)1 << 30) / 100);
	strcpy(meta.barcode, "VOL001");
	meta.write_protect = true;
	meta.block_size = 512;
	meta.density = 0x44;
	meta.compression = true;
	meta.drive_options = 0x17;
	meta.has_position = true;
	meta.position = 12;
	meta.position_offset = 4096;
	meta.file_number = 4;
	meta.block_number = -1;
	meta.eof_state = TAPEIMAGE_EOF_EOD;
	meta.bytes_written = 1234567;
	cr_assert_eq(tapeimage_meta_parse(&meta, "catalog.label=dump level 0\n", 27), 0);
	cr_assert_eq(tapeimage_meta_format(&meta, &text, &length), 0);
	tapeimage_meta_init(&back, 0);
	cr_assert_eq(tapeimage_meta_parse(&back, text, length), 0);
	cr_assert_str_eq(back.barcode, "VOL001");
	cr_assert(back.write_protect);
	cr_assert_eq(back.capacity, (uint64_t)1 << 30);
	cr_assert_eq(back.block_size, 512);
	cr_assert_eq(back.density, 0x44);
	cr_assert(back.compression);
	cr_assert_eq(back.drive_options, 0x17);
	cr_assert(back.has_position);
	cr_assert_eq(back.position, 12);
	cr_assert_eq(back.position_offset, 4096);
	cr_assert_eq(back.file_number, 4);
	cr_assert_eq(back.block_number, -1);
	cr_assert_eq(back.eof_state, TAPEIMAGE_EOF_EOD);
	cr_assert_eq(back.bytes_written, 1234567);
	cr_assert_not_null(strstr(text, "catalog.label=dump level 0\n"));
	cr_assert_str_eq(back.extra, "catalog.label=dump level 0\n");
	free(text);
	tapeimage_meta_free(&meta);
	tapeimage_meta_free(&back);
}

Test(tapeimage, meta_bad_lines_are_counted_and_ignored)
{
	static const char text[] = "# comment\n"
	                           "\n"
	                           "  capacity = 10M  \r\n"
	                           "early_warning=1K\n"
	                           "block_size=99999999\n" /* over 24 bits */
	                           "density=256\n"
	                           "write_protect=yes\n"
	                           "file_number=-2\n"
	                           "barcode=has space\n"
	                           "eof_state=sideways\n"
	                           "no equals sign\n"
	                           "position=-1\n"
	                           "loads=18446744073709551616\n" /* 2^64 */
	                           "drive_options=0x30\n";
	struct tapeimage_meta meta;

	tapeimage_meta_init(&meta, 0);
	cr_assert_eq(tapeimage_meta_parse(&meta, text, sizeof(text) - 1), 9);
	cr_assert_eq(meta.capacity, 10u << 20);
	cr_assert_eq(meta.early_warning, 1024);
	cr_assert_eq(meta.block_size, 0);
	cr_assert_eq(meta.density, 0);
	cr_assert_not(meta.write_protect);
	cr_assert_eq(meta.file_number, 0);
	cr_assert_str_eq(meta.barcode, "");
	cr_assert_not(meta.has_position);
	cr_assert_eq(meta.loads, 0);
	cr_assert_eq(meta.drive_options, 0x30);
	cr_assert_null(meta.extra);
	tapeimage_meta_free(&meta);
}

Test(tapeimage, meta_size_limits)
{
	struct tapeimage_meta meta;
	size_t big = TAPEIMAGE_META_MAX_SIZE + 1;
	char *text = malloc(big);

	memset(text, '#', big);
	tapeimage_meta_init(&meta, 0);
	cr_assert_eq(tapeimage_meta_parse(&meta, text, big), -EFBIG);
	/* Embedded NUL bytes do not confuse the parser. */
	cr_assert_eq(tapeimage_meta_parse(&meta, "density=2\0x\nloads=3\n", 20), 1);
	cr_assert_eq(meta.loads, 3);
	cr_assert_eq(meta.density, 0);
	tapeimage_meta_free(&meta);
	free(text);
}

Test(tapeimage, parse_size_suffixes)
{
	uint64_t v;

	cr_assert_eq(tapeimage_parse_size("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(tapeimage_parse_size("512", &v), 0);
	cr_assert_eq(v, 512);
	cr_assert_eq(tapeimage_parse_size("64K", &v), 0);
	cr_assert_eq(v, 65536);
	cr_assert_eq(tapeimage_parse_size("3m", &v), 0);
	cr_assert_eq(v, 3u << 20);
	cr_assert_eq(tapeimage_parse_size("2G", &v), 0);
	cr_assert_eq(v, (uint64_t)2 << 30);
	cr_assert_eq(tapeimage_parse_size("1T", &v), 0);
	cr_assert_eq(v, (uint64_t)1 << 40);
	cr_assert_eq(tapeimage_parse_size("", &v), -EINVAL);
	cr_assert_eq(tapeimage_parse_size("K", &v), -EINVAL);
	cr_assert_eq(tapeimage_parse_size("-1", &v), -EINVAL);
	cr_assert_eq(tapeimage_parse_size("1.5G", &v), -EINVAL);
	cr_assert_eq(tapeimage_parse_size("12X", &v), -EINVAL);
	cr_assert_eq(tapeimage_parse_size("99999999999T", &v), -EINVAL);
}

Test(tapeimage, peek_never_reads_past_limit_on_hostile_words)
{
	int fd = memfd();
	struct tapeimage_object o;

	put_word(fd, 0, 0x00FFFFFFu); /* claims 16 MiB in an 8-byte file */
	put_word(fd, 4, 0x00FFFFFFu);
	cr_assert_eq(tapeimage_peek(fd, 0, fd_size(fd), &o), 0);
	cr_assert_eq(o.kind, TAPEIMAGE_OBJ_BAD);
	cr_assert_eq(tapeimage_peek(fd, 6, fd_size(fd), &o), 0);
	cr_assert_eq(o.kind, TAPEIMAGE_OBJ_BAD);
	put_word(fd, 0, TAPEIMAGE_WORD_GAP);
	cr_assert_eq(tapeimage_peek(fd, 0, fd_size(fd), &o), 0);
	cr_assert_eq(o.kind, TAPEIMAGE_OBJ_GAP);
	cr_assert_eq(o.end, 4);
	put_word(fd, 0, TAPEIMAGE_WORD_EOM);
	cr_assert_eq(tapeimage_peek(fd, 0, fd_size(fd), &o), 0);
	cr_assert_eq(o.kind, TAPEIMAGE_OBJ_EOD);
	close(fd);
}
