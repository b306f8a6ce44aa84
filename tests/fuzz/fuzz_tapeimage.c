/*
 * fuzz_tapeimage.c - libFuzzer target for rmtd/tapeimage.c.
 *
 * Input: [u16 LE image length][image bytes][operation bytes...]. The image goes into a
 * memfd and is scanned; then the operations (one byte each, some followed by arguments)
 * append records and marks, truncate, locate and read objects, save and reload the index,
 * rescan and compare, and parse metadata. Besides "never crash", it checks invariants and
 * aborts when one breaks: the index built incrementally equals a fresh scan, a saved index
 * reloads as valid and equal, every located object is what the image holds there.
 * The whole input is also offered as a hostile .idx file and as .meta text.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tapeimage.h"
#include "tapeindex.h"
#include "tapemeta.h"
#include "fuzz_common.h"

#define MAX_OBJECTS_CHECKED 64
#define MAX_RECORD_WRITTEN  4096
#define LIMIT               4096 /* marks and runs: keep memory small */

/*
 * The length of a record to append: up to 256 bytes, or up to MAX_RECORD_WRITTEN when
 * the top four bits of the two bytes are set. Every length stays within reach, while
 * most inputs keep the image small: each index save and load reads up to 64 KiB of
 * the image's tail.
 */
static unsigned record_length(struct input *in)
{
	unsigned v = take(in, 2);

	return (v >> 12) == 0xf ? (v & (MAX_RECORD_WRITTEN - 1)) + 1 : (v & 0xff) + 1;
}

static uint64_t fd_size(int fd)
{
	struct stat st;

	REQUIRE(fstat(fd, &st) == 0);
	return (uint64_t)st.st_size;
}

static void new_index(struct tapeimage_index *index)
{
	tapeimage_index_init(index);
	index->max_marks = LIMIT;
	index->max_runs = LIMIT;
}

static void require_same(const struct tapeimage_index *a, const struct tapeimage_index *b)
{
	REQUIRE(a->n_objects == b->n_objects);
	REQUIRE(a->data_size == b->data_size);
	REQUIRE(a->n_marks == b->n_marks);
	REQUIRE(a->n_runs == b->n_runs);
	REQUIRE(a->n_marks == 0 || memcmp(a->marks, b->marks, a->n_marks * sizeof(*a->marks)) == 0);
	REQUIRE(a->n_runs == 0 || memcmp(a->runs, b->runs, a->n_runs * sizeof(*a->runs)) == 0);
}

/*
 * The reader (read-ahead) answers as the direct calls do, object after object from the
 * start, up to a bound: the same objects, the same data, the same errors.
 */
static void reader_agrees(int fd, uint64_t limit)
{
	static struct tapeimage_reader reader;
	static uint8_t direct[TAPEIMAGE_READ_AHEAD + 16], through[TAPEIMAGE_READ_AHEAD + 16];
	uint64_t offset = 0;

	tapeimage_reader_init(&reader, fd);
	for (int k = 0; k < MAX_OBJECTS_CHECKED; k++) {
		struct tapeimage_object a, b;
		int ea = tapeimage_peek(fd, offset, limit, &a);
		int eb = tapeimage_reader_peek(&reader, offset, limit, &b);

		REQUIRE(ea == eb);
		if (ea < 0)
			return;
		REQUIRE(memcmp(&a, &b, sizeof(a)) == 0);
		if (a.kind == TAPEIMAGE_OBJ_RECORD && a.length <= sizeof(direct)) {
			ea = tapeimage_read_data(fd, &a, direct);
			eb = tapeimage_reader_read_data(&reader, &b, through);
			REQUIRE(ea == eb);
			REQUIRE(ea < 0 || memcmp(direct, through, a.length) == 0);
		}
		if (a.kind == TAPEIMAGE_OBJ_EOD || a.kind == TAPEIMAGE_OBJ_BAD || a.end <= offset)
			return;
		offset = a.end;
	}
}

/* Every located object (up to a bound) is what the image holds at that offset. */
static void check_objects(int fd, const struct tapeimage_index *index)
{
	uint64_t limit =
	    index->n_objects < MAX_OBJECTS_CHECKED ? index->n_objects : MAX_OBJECTS_CHECKED;

	REQUIRE(tapeimage_index_check(index) == 0);
	for (uint64_t k = 0; k < limit; k++) {
		struct tapeimage_object o;
		uint64_t offset, end;

		REQUIRE(tapeimage_index_locate(index, k, &offset) == 0);
		REQUIRE(tapeimage_index_object_end(index, k, &end) == 0);
		REQUIRE(tapeimage_peek(fd, offset, index->data_size, &o) == 0);
		REQUIRE(o.end == end);
		if (tapeimage_index_is_mark(index, k)) {
			REQUIRE(o.kind == TAPEIMAGE_OBJ_MARK);
		} else {
			uint32_t word;

			REQUIRE(o.kind == TAPEIMAGE_OBJ_RECORD);
			REQUIRE(tapeimage_index_record_word(index, k, &word) == 0);
			REQUIRE(word == o.word);
		}
	}
	REQUIRE(tapeimage_index_marks_before(index, index->n_objects) == index->n_marks);
	reader_agrees(fd, index->data_size);
}

/* Make the file exactly what the index describes, as the backend does before appending. */
static void cut_to_data(int fd, struct tapeimage_index *index)
{
	if (index->file_size != index->data_size || index->end != TAPEIMAGE_END_CLEAN) {
		REQUIRE(tapeimage_index_truncate(index, index->n_objects) == 0);
		REQUIRE(ftruncate(fd, (off_t)index->data_size) == 0);
	}
}

static int save_to_memfd(int image, const struct tapeimage_index *index)
{
	int fd = memfd_create("idx", 0);
	uint32_t check;

	REQUIRE(fd >= 0);
	REQUIRE(tapeimage_tail_check(image, index->file_size, &check) == 0);
	REQUIRE(tapeimage_index_save(fd, index, check) == 0);
	REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

static void round_trip(int image, const struct tapeimage_index *index)
{
	struct tapeimage_index loaded;
	int fd = save_to_memfd(image, index);

	new_index(&loaded);
	REQUIRE(tapeimage_index_load(fd, image, fd_size(image), &loaded) == TAPEIMAGE_INDEX_VALID);
	require_same(index, &loaded);
	tapeimage_index_free(&loaded);
	close(fd);
}

static void rescan_equals(int image, const struct tapeimage_index *index)
{
	struct tapeimage_index fresh;

	new_index(&fresh);
	REQUIRE(tapeimage_scan(image, fd_size(image), &fresh) == 0);
	require_same(index, &fresh);
	tapeimage_index_free(&fresh);
}

static void meta_idempotent(const uint8_t *text, size_t length)
{
	struct tapeimage_meta a, b;
	char *out1, *out2;
	size_t n1, n2;

	tapeimage_meta_init(&a, 0);
	if (tapeimage_meta_parse(&a, (const char *)text, length) < 0) {
		tapeimage_meta_free(&a);
		return;
	}
	REQUIRE(tapeimage_meta_format(&a, &out1, &n1) == 0);
	tapeimage_meta_init(&b, 0);
	REQUIRE(tapeimage_meta_parse(&b, out1, n1) == 0);
	REQUIRE(tapeimage_meta_format(&b, &out2, &n2) == 0);
	REQUIRE(n1 == n2 && memcmp(out1, out2, n1) == 0);
	free(out1);
	free(out2);
	tapeimage_meta_free(&a);
	tapeimage_meta_free(&b);
}

/* The whole input as an index file: whatever loads must be consistent. */
static void hostile_index(int image, const uint8_t *data, size_t size)
{
	struct tapeimage_index index;
	int fd = memfd_create("hostile", 0);
	int state;

	REQUIRE(fd >= 0);
	if (size > 0)
		REQUIRE(write(fd, data, size) == (ssize_t)size);
	/* Give it a correct CRC so that the structural checks behind it get exercised. */
	if (size >= 76 && memcmp(data, "RMTDTIX1", 8) == 0) {
		uint32_t crc = tapeimage_crc32c(0, data, size - 4);
		uint8_t le[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
		                 (uint8_t)(crc >> 24)};

		REQUIRE(pwrite(fd, le, 4, (off_t)(size - 4)) == 4);
	}
	REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
	new_index(&index);
	state = tapeimage_index_load(fd, image, fd_size(image), &index);
	REQUIRE(state >= 0);
	if (state != TAPEIMAGE_INDEX_STALE)
		REQUIRE(tapeimage_index_check(&index) == 0);
	tapeimage_index_free(&index);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct tapeimage_index index;
	unsigned image_length = take(&in, 2);
	uint8_t scratch[MAX_RECORD_WRITTEN];
	int image;

	if (image_length > in.left)
		image_length = (unsigned)in.left;
	image = memfd_create("image", 0);
	if (image < 0)
		return 0;
	if (image_length > 0)
		REQUIRE(write(image, in.p, image_length) == (ssize_t)image_length);
	in.p += image_length;
	in.left -= image_length;

	new_index(&index);
	REQUIRE(tapeimage_scan(image, fd_size(image), &index) == 0);
	check_objects(image, &index);
	hostile_index(image, data, size);

	for (int steps = 0; in.left > 0 && steps < 64; steps++) {
		unsigned opcode = take(&in, 1) % 10;

		switch (opcode) {
		case 0: { /* append a record */
			unsigned length = record_length(&in);
			uint64_t before;

			memset(scratch, (int)length, length);
			cut_to_data(image, &index);
			before = index.data_size;
			REQUIRE(tapeimage_write_records(image, before, scratch, length, 1) == 0);
			if (tapeimage_index_add_record(&index, length) < 0)
				REQUIRE(ftruncate(image, (off_t)before) == 0);
			break;
		}
		case 1: /* append marks */
			cut_to_data(image, &index);
			{
				unsigned count = take(&in, 1) % 4 + 1;
				uint64_t before = index.data_size;

				REQUIRE(tapeimage_write_marks(image, before, count) == 0);
				for (unsigned i = 0; i < count; i++) {
					if (tapeimage_index_add_mark(&index) < 0) {
						REQUIRE(ftruncate(image, (off_t)index.data_size) ==
						        0);
						break;
					}
				}
			}
			break;
		case 2: /* truncate at an object */
			REQUIRE(tapeimage_index_truncate(&index, take(&in, 2) %
			                                             (index.n_objects + 1)) == 0);
			REQUIRE(ftruncate(image, (off_t)index.data_size) == 0);
			break;
		case 3: /* read a record */
			if (index.n_objects > 0) {
				uint64_t k = take(&in, 2) % index.n_objects, offset;
				struct tapeimage_object o;

				REQUIRE(tapeimage_index_locate(&index, k, &offset) == 0);
				REQUIRE(tapeimage_peek(image, offset, index.data_size, &o) == 0);
				if (o.kind == TAPEIMAGE_OBJ_RECORD && o.length <= sizeof(scratch))
					REQUIRE(tapeimage_read_data(image, &o, scratch) == 0);
			}
			break;
		case 4:
			round_trip(image, &index);
			break;
		case 5:
			if (index.end == TAPEIMAGE_END_CLEAN && index.file_size == index.data_size)
				rescan_equals(image, &index);
			break;
		case 6: { /* a grown image: the saved index covers a prefix */
			int fd;
			struct tapeimage_index loaded;

			cut_to_data(image, &index);
			fd = save_to_memfd(image, &index);
			REQUIRE(tapeimage_write_marks(image, index.data_size, 1) == 0);
			new_index(&loaded);
			REQUIRE(tapeimage_index_load(fd, image, fd_size(image), &loaded) ==
			        TAPEIMAGE_INDEX_GROWN);
			REQUIRE(tapeimage_scan(image, fd_size(image), &loaded) == 0);
			if (tapeimage_index_add_mark(&index) < 0) {
				REQUIRE(ftruncate(image, (off_t)index.data_size) == 0);
			} else {
				REQUIRE(loaded.end == TAPEIMAGE_END_CLEAN);
				require_same(&index, &loaded);
			}
			tapeimage_index_free(&loaded);
			close(fd);
			break;
		}
		case 7: { /* metadata text from the input */
			size_t length = take(&in, 1);

			if (length > in.left)
				length = in.left;
			meta_idempotent(in.p, length);
			in.p += length;
			in.left -= length;
			break;
		}
		case 8: /* spoil a byte of the image, then rescan from scratch */
			if (fd_size(image) > 0) {
				uint8_t b = (uint8_t)take(&in, 1);

				REQUIRE(pwrite(image, &b, 1,
				               (off_t)(take(&in, 2) % fd_size(image))) == 1);
				tapeimage_index_reset(&index);
				REQUIRE(tapeimage_scan(image, fd_size(image), &index) == 0);
			}
			break;
		default:
			check_objects(image, &index);
			break;
		}
		REQUIRE(tapeimage_index_check(&index) == 0);
	}
	check_objects(image, &index);
	meta_idempotent(data, size);
	tapeimage_index_free(&index);
	close(image);
	return 0;
}
