/*
 * tapeindex.c - the index of a SIMH .tap image: marks and runs of equal
 * records, built by scanning the image or loaded from its sidecar file (which
 * a CRC-32C of the image's tail ties to the image it describes).
 *
 * Pure module (linked into the fuzz build): no libevent and no logging; every
 * function returns a negative errno and every length taken from a file is checked.
 * The file layout is described in tapeindex.h and man/rmt-vtape.1.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tapeimage.h"
#include "tapeimage_io.h"
#include "tapeindex.h"

#define INDEX_MAGIC       "RMTDTIX1"
#define INDEX_VERSION     1u
#define INDEX_HEADER_SIZE 72u
#define INDEX_MARK_SIZE   16u
#define INDEX_RUN_SIZE    24u
#define TAIL_CHECK_SPAN   65536u

/* ------------------------------------------------------------------ index */

void tapeimage_index_init(struct tapeimage_index *index)
{
	memset(index, 0, sizeof(*index));
	index->max_marks = TAPEIMAGE_DEFAULT_MAX_MARKS;
	index->max_runs = TAPEIMAGE_DEFAULT_MAX_RUNS;
}

void tapeimage_index_free(struct tapeimage_index *index)
{
	free(index->marks);
	free(index->runs);
	index->marks = NULL;
	index->runs = NULL;
	index->marks_capacity = index->runs_capacity = 0;
	tapeimage_index_reset(index);
}

void tapeimage_index_reset(struct tapeimage_index *index)
{
	index->data_size = 0;
	index->file_size = 0;
	index->n_objects = 0;
	index->n_marks = 0;
	index->n_runs = 0;
	index->end = TAPEIMAGE_END_CLEAN;
	index->generation++;
}

/* Make room for one more element of size `size` in *array. */
static int grow(void **array, size_t *capacity, size_t used, size_t size, size_t limit)
{
	size_t wanted;
	void *p;

	if (used < *capacity)
		return 0;
	if (used >= limit)
		return -E2BIG;
	wanted = *capacity < 64 ? 64 : *capacity * 2;
	if (wanted > limit)
		wanted = limit;
	if (wanted > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*array, wanted * size);
	if (p == NULL)
		return -ENOMEM;
	*array = p;
	*capacity = wanted;
	return 0;
}

static int add_mark_at(struct tapeimage_index *index, uint64_t offset)
{
	int error = grow((void **)&index->marks, &index->marks_capacity, index->n_marks,
	                 sizeof(*index->marks), index->max_marks);

	if (error < 0)
		return error;
	index->marks[index->n_marks].offset = offset;
	index->marks[index->n_marks].object = index->n_objects;
	index->n_marks++;
	index->n_objects++;
	index->data_size = offset + 4;
	index->generation++;
	return 0;
}

static int add_record_at(struct tapeimage_index *index, uint64_t offset, uint32_t word)
{
	uint64_t span = tapeimage_record_span(word & TAPEIMAGE_MAX_RECORD);

	if (!tapeimage_is_record_word(word))
		return -EINVAL;
	if (index->n_runs > 0) {
		struct tapeimage_run *run = &index->runs[index->n_runs - 1];

		if (run->word == word && run->count < UINT32_MAX &&
		    run->first_object + run->count == index->n_objects &&
		    run->offset + run->count * span == offset) {
			run->count++;
			goto added;
		}
	}
	{
		int error = grow((void **)&index->runs, &index->runs_capacity, index->n_runs,
		                 sizeof(*index->runs), index->max_runs);

		if (error < 0)
			return error;
	}
	index->runs[index->n_runs].offset = offset;
	index->runs[index->n_runs].first_object = index->n_objects;
	index->runs[index->n_runs].word = word;
	index->runs[index->n_runs].count = 1;
	index->n_runs++;
added:
	index->n_objects++;
	index->data_size = offset + span;
	index->generation++;
	return 0;
}

int tapeimage_index_add_record(struct tapeimage_index *index, uint32_t word)
{
	int error = add_record_at(index, index->data_size, word);

	if (error == 0) {
		index->file_size = index->data_size;
		index->end = TAPEIMAGE_END_CLEAN;
	}
	return error;
}

int tapeimage_index_add_mark(struct tapeimage_index *index)
{
	int error = add_mark_at(index, index->data_size);

	if (error == 0) {
		index->file_size = index->data_size;
		index->end = TAPEIMAGE_END_CLEAN;
	}
	return error;
}

int tapeimage_scan(int fd, uint64_t file_size, struct tapeimage_index *index)
{
	struct tapeimage_reader *reader;
	uint64_t offset = index->data_size;
	enum tapeimage_end end = TAPEIMAGE_END_CLEAN;
	int error = 0;

	reader = malloc(sizeof(*reader));
	if (reader == NULL)
		return -ENOMEM;
	tapeimage_reader_init(reader, fd);
	while (offset < file_size) {
		uint32_t word, trailer;
		uint64_t span;

		if (file_size - offset < 4) {
			end = TAPEIMAGE_END_TORN;
			break;
		}
		error = tapeimage_reader_word(reader, offset, file_size, &word);
		if (error < 0)
			break;
		if (word == TAPEIMAGE_WORD_MARK) {
			if (add_mark_at(index, offset) < 0) {
				end = TAPEIMAGE_END_CORRUPT;
				break;
			}
			offset += 4;
			continue;
		}
		if (word == TAPEIMAGE_WORD_EOM) {
			end = TAPEIMAGE_END_EOM;
			break;
		}
		if (word == TAPEIMAGE_WORD_GAP || word == TAPEIMAGE_WORD_HALF_GAP) {
			offset += word == TAPEIMAGE_WORD_GAP ? 4 : 2;
			continue;
		}
		if (!tapeimage_is_record_word(word)) {
			end = TAPEIMAGE_END_CORRUPT;
			break;
		}
		span = tapeimage_record_span(word & TAPEIMAGE_MAX_RECORD);
		if (span > file_size - offset) {
			end = TAPEIMAGE_END_TORN;
			break;
		}
		error = tapeimage_reader_word(reader, offset + span - 4, file_size, &trailer);
		if (error < 0)
			break;
		if (trailer != word) {
			end =
			    offset + span == file_size ? TAPEIMAGE_END_TORN : TAPEIMAGE_END_CORRUPT;
			break;
		}
		if (add_record_at(index, offset, word) < 0) {
			end = TAPEIMAGE_END_CORRUPT;
			break;
		}
		reader->last_span = span; /* large records: read only a little ahead */
		offset += span;
	}
	free(reader);
	if (error < 0)
		return error;
	index->file_size = file_size;
	index->end = end;
	index->generation++;
	return 0;
}

/* First mark whose object is >= object. */
static size_t mark_lower_bound(const struct tapeimage_index *index, uint64_t object)
{
	size_t low = 0, high = index->n_marks;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (index->marks[mid].object < object)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

/* Number of runs whose first object is <= object. */
static size_t run_upper_bound(const struct tapeimage_index *index, uint64_t object)
{
	size_t low = 0, high = index->n_runs;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (index->runs[mid].first_object <= object)
			low = mid + 1;
		else
			high = mid;
	}
	return low;
}

size_t tapeimage_index_marks_before(const struct tapeimage_index *index, uint64_t object)
{
	return mark_lower_bound(index, object);
}

bool tapeimage_index_is_mark(const struct tapeimage_index *index, uint64_t object)
{
	size_t i = mark_lower_bound(index, object);

	return i < index->n_marks && index->marks[i].object == object;
}

/* The run holding record `object`, or NULL. */
static const struct tapeimage_run *run_of(const struct tapeimage_index *index, uint64_t object)
{
	size_t i = run_upper_bound(index, object);
	const struct tapeimage_run *run;

	if (i == 0)
		return NULL;
	run = &index->runs[i - 1];
	return object - run->first_object < run->count ? run : NULL;
}

/* Where object (< n_objects) starts and how many bytes it takes. */
static int object_place(const struct tapeimage_index *index, uint64_t object, uint64_t *offset,
                        uint64_t *span)
{
	const struct tapeimage_run *run;
	size_t i = mark_lower_bound(index, object);

	if (i < index->n_marks && index->marks[i].object == object) {
		*offset = index->marks[i].offset;
		*span = 4;
		return 0;
	}
	run = run_of(index, object);
	if (run == NULL)
		return -EINVAL;
	*span = tapeimage_record_span(run->word & TAPEIMAGE_MAX_RECORD);
	*offset = run->offset + (object - run->first_object) * *span;
	return 0;
}

int tapeimage_index_locate(const struct tapeimage_index *index, uint64_t object, uint64_t *offset)
{
	uint64_t span;

	if (object > index->n_objects)
		return -EINVAL;
	if (object == index->n_objects) {
		*offset = index->data_size;
		return 0;
	}
	return object_place(index, object, offset, &span);
}

int tapeimage_index_object_end(const struct tapeimage_index *index, uint64_t object, uint64_t *end)
{
	uint64_t offset, span;
	int error;

	if (object >= index->n_objects)
		return -EINVAL;
	if ((error = object_place(index, object, &offset, &span)) < 0)
		return error;
	*end = offset + span;
	return 0;
}

int tapeimage_index_record_word(const struct tapeimage_index *index, uint64_t object,
                                uint32_t *word)
{
	const struct tapeimage_run *run = run_of(index, object);

	if (run == NULL || object >= index->n_objects)
		return -EINVAL;
	*word = run->word;
	return 0;
}

uint64_t tapeimage_index_data_bytes(const struct tapeimage_index *index)
{
	uint64_t total = 0;

	for (size_t i = 0; i < index->n_runs; i++)
		total +=
		    (uint64_t)(index->runs[i].word & TAPEIMAGE_MAX_RECORD) * index->runs[i].count;
	return total;
}

int tapeimage_index_truncate(struct tapeimage_index *index, uint64_t object)
{
	uint64_t end = 0;
	size_t runs;

	if (object > index->n_objects)
		return -EINVAL;
	if (object > 0) {
		int error = tapeimage_index_object_end(index, object - 1, &end);

		if (error < 0)
			return error;
	}
	index->n_marks = mark_lower_bound(index, object);
	runs = object == 0 ? 0 : run_upper_bound(index, object - 1);
	if (runs > 0) {
		struct tapeimage_run *run = &index->runs[runs - 1];

		if (run->first_object + run->count > object)
			run->count = (uint32_t)(object - run->first_object);
	}
	index->n_runs = runs;
	index->n_objects = object;
	index->data_size = end;
	index->file_size = end;
	index->end = TAPEIMAGE_END_CLEAN;
	index->generation++;
	return 0;
}

int tapeimage_index_check(const struct tapeimage_index *index)
{
	uint64_t expected = 0, previous_end = 0;
	size_t m = 0, r = 0;

	if (index->n_marks > index->max_marks || index->n_runs > index->max_runs)
		return -EINVAL;
	while (m < index->n_marks || r < index->n_runs) {
		bool is_mark = m < index->n_marks && index->marks[m].object == expected;
		bool is_run = r < index->n_runs && index->runs[r].first_object == expected;

		if (is_mark == is_run)
			return -EINVAL; /* a hole or two objects with one number */
		if (is_mark) {
			const struct tapeimage_mark *mark = &index->marks[m++];

			if (mark->offset < previous_end || mark->offset > UINT64_MAX - 4)
				return -EINVAL;
			previous_end = mark->offset + 4;
			expected++;
		} else {
			const struct tapeimage_run *run = &index->runs[r++];
			uint64_t span = tapeimage_record_span(run->word & TAPEIMAGE_MAX_RECORD);

			if (!tapeimage_is_record_word(run->word) || run->count == 0 ||
			    run->offset < previous_end ||
			    (UINT64_MAX - run->offset) / span < run->count ||
			    expected > UINT64_MAX - run->count)
				return -EINVAL;
			previous_end = run->offset + span * run->count;
			expected += run->count;
		}
	}
	if (expected != index->n_objects || previous_end != index->data_size ||
	    index->data_size > index->file_size || (unsigned)index->end > TAPEIMAGE_END_CORRUPT)
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------ CRC-32C */

static const uint32_t crc32c_table[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu, 0x26a1e7e8u,
    0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu, 0x4d43cfd0u, 0xbf284cd3u,
    0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu, 0xf165b798u, 0x030e349bu, 0xd7c45070u,
    0x25afd373u, 0x36ff2087u, 0xc494a384u, 0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u,
    0x5d1d08bfu, 0xaf768bbcu, 0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u,
    0x33ed7d2au, 0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
    0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau, 0x30e349b1u,
    0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu, 0x1642ae59u, 0xe4292d5au,
    0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au, 0x7da08661u, 0x8fcb0562u, 0x9c9bf696u,
    0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu, 0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u,
    0x67dafa54u, 0x95b17957u, 0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu,
    0xfe53516fu, 0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu, 0x3ac7f2ebu,
    0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u, 0x61c69362u, 0x93ad1061u,
    0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu, 0x4767748au, 0xb50cf789u, 0xeb1fcbadu,
    0x197448aeu, 0x0a24bb5au, 0xf84f3859u, 0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u,
    0x7198540du, 0x83f3d70eu, 0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u,
    0xa55230e6u, 0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
    0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu, 0x456cac67u,
    0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u, 0xe9141340u, 0x1b7f9043u,
    0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu, 0x92a8fc17u, 0x60c37f14u, 0x73938ce0u,
    0x81f80fe3u, 0x55326b08u, 0xa759e80bu, 0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu,
    0xf94ad42fu, 0x0b21572cu, 0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u,
    0x502036a5u, 0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u, 0x0e330a81u,
    0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du, 0x758fe5d6u, 0x87e466d5u,
    0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u, 0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u,
    0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu, 0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u,
    0x0417b1dbu, 0xf67c32d8u, 0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu,
    0x5a048dffu, 0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u, 0x590ab964u,
    0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u, 0x7fab5e8cu, 0x8dc0dd8fu,
    0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu, 0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u,
    0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u, 0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u,
    0x4f48173du, 0xbd23943eu, 0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au,
    0xc69f7b69u, 0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

#if defined(__x86_64__)
/*
 * SSE4.2's crc32 instruction computes this same CRC (Castagnoli, reflected)
 * eight bytes at a time, about ten times the table's speed: the tail check
 * reads up to 64 KiB at every index load and save.
 */
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p,
                                                               size_t length)
{
	uint64_t wide = crc;

	for (; length >= 8; p += 8, length -= 8) {
		uint64_t word;

		memcpy(&word, p, sizeof(word));
		wide = __builtin_ia32_crc32di(wide, word);
	}
	crc = (uint32_t)wide;
	while (length-- > 0)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

uint32_t tapeimage_crc32c(uint32_t crc, const void *data, size_t length)
{
	const unsigned char *p = data;

	crc = ~crc;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc32c_sse42(crc, p, length);
#endif
	while (length-- > 0)
		crc = crc32c_table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
	return ~crc;
}

int tapeimage_tail_check(int fd, uint64_t size, uint32_t *check)
{
	unsigned char buf[8192];
	uint64_t offset = size > TAIL_CHECK_SPAN ? size - TAIL_CHECK_SPAN : 0;
	uint32_t crc = 0;

	while (offset < size) {
		size_t want = size - offset < sizeof(buf) ? (size_t)(size - offset) : sizeof(buf);
		ssize_t n = tapeimage_pread_full(fd, buf, want, offset);

		if (n < 0)
			return (int)n;
		if ((size_t)n < want)
			return -EIO;
		crc = tapeimage_crc32c(crc, buf, want);
		offset += want;
	}
	*check = crc;
	return 0;
}

/* ------------------------------------------------------------------ index file */

/* Buffered writer that keeps a running CRC. */
struct writer {
	int fd;
	int error;
	uint32_t crc;
	size_t used;
	unsigned char buf[65536];
};

static void writer_put(struct writer *w, const void *data, size_t length)
{
	const unsigned char *p = data;

	if (w->error < 0)
		return;
	w->crc = tapeimage_crc32c(w->crc, data, length);
	while (length > 0) {
		size_t room = sizeof(w->buf) - w->used;
		size_t n = length < room ? length : room;

		memcpy(w->buf + w->used, p, n);
		w->used += n;
		p += n;
		length -= n;
		if (w->used == sizeof(w->buf)) {
			w->error = tapeimage_write_full(w->fd, w->buf, w->used);
			w->used = 0;
			if (w->error < 0)
				return;
		}
	}
}

int tapeimage_index_save(int fd, const struct tapeimage_index *index, uint32_t tail_check)
{
	unsigned char header[INDEX_HEADER_SIZE], item[INDEX_RUN_SIZE], crc[4];
	struct writer *w;
	int error;

	w = malloc(sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->fd = fd;
	w->error = 0;
	w->crc = 0;
	w->used = 0;
	memset(header, 0, sizeof(header));
	memcpy(header, INDEX_MAGIC, 8);
	put_le32(header + 8, INDEX_VERSION);
	put_le32(header + 12, (uint32_t)index->end);
	put_le64(header + 16, index->data_size);
	put_le64(header + 24, index->file_size);
	put_le64(header + 32, index->n_objects);
	put_le64(header + 40, index->n_marks);
	put_le64(header + 48, index->n_runs);
	put_le64(header + 56, index->generation);
	put_le32(header + 64, tail_check);
	writer_put(w, header, sizeof(header));
	for (size_t i = 0; i < index->n_marks; i++) {
		put_le64(item, index->marks[i].offset);
		put_le64(item + 8, index->marks[i].object);
		writer_put(w, item, INDEX_MARK_SIZE);
	}
	for (size_t i = 0; i < index->n_runs; i++) {
		put_le64(item, index->runs[i].offset);
		put_le64(item + 8, index->runs[i].first_object);
		put_le32(item + 16, index->runs[i].word);
		put_le32(item + 20, index->runs[i].count);
		writer_put(w, item, INDEX_RUN_SIZE);
	}
	put_le32(crc, w->crc);
	writer_put(w, crc, 4);
	if (w->error == 0 && w->used > 0)
		w->error = tapeimage_write_full(fd, w->buf, w->used);
	error = w->error;
	free(w);
	return error;
}

/* Read exactly length bytes from fd into buf, folding them into *crc. */
static int read_checked(int fd, void *buf, size_t length, uint32_t *crc)
{
	ssize_t n = tapeimage_read_full(fd, buf, length);

	if (n < 0)
		return (int)n;
	if ((size_t)n != length)
		return -EINVAL;
	*crc = tapeimage_crc32c(*crc, buf, length);
	return 0;
}

/* Parse the index file into index; -EINVAL when it is not a sound index. */
static int index_read(int fd, struct tapeimage_index *index, uint32_t *tail_check)
{
	unsigned char header[INDEX_HEADER_SIZE], trailer[4];
	unsigned char *chunk = NULL;
	uint64_t n_marks, n_runs, expected;
	uint32_t crc = 0;
	struct stat st;
	int error;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)(INDEX_HEADER_SIZE + 4))
		return -EINVAL;
	error = read_checked(fd, header, sizeof(header), &crc);
	if (error < 0)
		return error;
	if (memcmp(header, INDEX_MAGIC, 8) != 0 || get_le32(header + 8) != INDEX_VERSION ||
	    get_le32(header + 12) > TAPEIMAGE_END_CORRUPT)
		return -EINVAL;
	n_marks = get_le64(header + 40);
	n_runs = get_le64(header + 48);
	if (n_marks > index->max_marks || n_runs > index->max_runs)
		return -EINVAL;
	expected = INDEX_HEADER_SIZE + n_marks * INDEX_MARK_SIZE + n_runs * INDEX_RUN_SIZE + 4;
	if ((uint64_t)st.st_size != expected)
		return -EINVAL;
	tapeimage_index_reset(index);
	index->end = (enum tapeimage_end)get_le32(header + 12);
	index->data_size = get_le64(header + 16);
	index->file_size = get_le64(header + 24);
	index->n_objects = get_le64(header + 32);
	index->generation = get_le64(header + 56);
	*tail_check = get_le32(header + 64);
	if (n_marks > index->marks_capacity) {
		void *p = realloc(index->marks, (size_t)n_marks * sizeof(*index->marks));

		if (p == NULL)
			return -ENOMEM;
		index->marks = p;
		index->marks_capacity = (size_t)n_marks;
	}
	if (n_runs > index->runs_capacity) {
		void *p = realloc(index->runs, (size_t)n_runs * sizeof(*index->runs));

		if (p == NULL)
			return -ENOMEM;
		index->runs = p;
		index->runs_capacity = (size_t)n_runs;
	}
	chunk = malloc(4096 * INDEX_RUN_SIZE);
	if (chunk == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < n_marks && error == 0;) {
		size_t batch = n_marks - i < 4096 ? (size_t)(n_marks - i) : 4096;

		error = read_checked(fd, chunk, batch * INDEX_MARK_SIZE, &crc);
		for (size_t k = 0; k < batch && error == 0; k++, i++) {
			index->marks[i].offset = get_le64(chunk + k * INDEX_MARK_SIZE);
			index->marks[i].object = get_le64(chunk + k * INDEX_MARK_SIZE + 8);
		}
	}
	for (uint64_t i = 0; i < n_runs && error == 0;) {
		size_t batch = n_runs - i < 4096 ? (size_t)(n_runs - i) : 4096;

		error = read_checked(fd, chunk, batch * INDEX_RUN_SIZE, &crc);
		for (size_t k = 0; k < batch && error == 0; k++, i++) {
			const unsigned char *p = chunk + k * INDEX_RUN_SIZE;

			index->runs[i].offset = get_le64(p);
			index->runs[i].first_object = get_le64(p + 8);
			index->runs[i].word = get_le32(p + 16);
			index->runs[i].count = get_le32(p + 20);
		}
	}
	free(chunk);
	if (error < 0)
		goto bad;
	index->n_marks = (size_t)n_marks;
	index->n_runs = (size_t)n_runs;
	if (tapeimage_read_full(fd, trailer, 4) != 4 || get_le32(trailer) != crc ||
	    tapeimage_index_check(index) < 0) {
		error = -EINVAL;
		goto bad;
	}
	return 0;
bad:
	tapeimage_index_reset(index);
	return error;
}

int tapeimage_index_load(int index_fd, int image_fd, uint64_t image_size,
                         struct tapeimage_index *index)
{
	uint32_t saved = 0, actual;
	int error;

	if (index_fd < 0 || index_read(index_fd, index, &saved) < 0)
		goto stale;
	if (image_size < index->file_size)
		goto stale;
	if (image_size > index->file_size &&
	    (index->end != TAPEIMAGE_END_CLEAN || index->data_size != index->file_size))
		goto stale;
	error = tapeimage_tail_check(image_fd, index->file_size, &actual);
	if (error < 0) {
		tapeimage_index_reset(index);
		return error;
	}
	if (actual != saved)
		goto stale;
	return image_size == index->file_size ? TAPEIMAGE_INDEX_VALID : TAPEIMAGE_INDEX_GROWN;
stale:
	tapeimage_index_reset(index);
	return TAPEIMAGE_INDEX_STALE;
}

const char *tapeimage_end_name(enum tapeimage_end end)
{
	switch (end) {
	case TAPEIMAGE_END_CLEAN:
		return "clean";
	case TAPEIMAGE_END_EOM:
		return "end-of-medium word";
	case TAPEIMAGE_END_TORN:
		return "torn last object";
	case TAPEIMAGE_END_CORRUPT:
		return "corrupt object";
	}
	return "?";
}
