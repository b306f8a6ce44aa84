/*
 * tapeimage.c - SIMH .tap framing, scanning and repair, the sidecar index, and .meta.
 *
 * Pure module (linked into the fuzz build): no libevent and no logging; every
 * function returns a negative errno and every length taken from a file is checked.
 * The file layouts are described in tapeimage.h and man/rmt-vtape.1.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tapeimage.h"

#define INDEX_MAGIC       "RMTDTIX1"
#define INDEX_VERSION     1u
#define INDEX_HEADER_SIZE 72u
#define INDEX_MARK_SIZE   16u
#define INDEX_RUN_SIZE    24u
#define TAIL_CHECK_SPAN   65536u
#define SCAN_WINDOW       4096u
#define WRITE_BATCH       300 /* records per pwritev: 3 iovecs each, below IOV_MAX (1024) */

/* ------------------------------------------------------------------ little endian */

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ------------------------------------------------------------------ plain I/O */

/* pread until length bytes or end of file. Returns bytes read or -errno. */
static ssize_t pread_full(int fd, void *buf, size_t length, uint64_t offset)
{
	size_t done = 0;

	if (offset > (uint64_t)INT64_MAX - length)
		return -EINVAL;
	while (done < length) {
		ssize_t n = pread(fd, (char *)buf + done, length - done, (off_t)(offset + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Advance an iovec array past `skip` bytes. */
static void iov_advance(struct iovec **iov, int *count, size_t skip)
{
	while (*count > 0 && skip >= (*iov)->iov_len) {
		skip -= (*iov)->iov_len;
		(*iov)++;
		(*count)--;
	}
	if (*count > 0 && skip > 0) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + skip;
		(*iov)->iov_len -= skip;
	}
}

static size_t iov_total(const struct iovec *iov, int count)
{
	size_t total = 0;

	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	return total;
}

/*
 * pwritev or preadv all of it (the iovecs are consumed). Returns 0 or -errno; a
 * file that ends first is -EIO, an offset past what off_t holds -EFBIG (writing).
 */
static int vectored_full(int fd, struct iovec *iov, int count, uint64_t offset, bool writing)
{
	size_t left = iov_total(iov, count);

	if (offset > (uint64_t)INT64_MAX - left)
		return writing ? -EFBIG : -EIO;
	while (left > 0) {
		ssize_t n = writing ? pwritev(fd, iov, count, (off_t)offset)
		                    : preadv(fd, iov, count, (off_t)offset);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		offset += (uint64_t)n;
		left -= (size_t)n;
		iov_advance(&iov, &count, (size_t)n);
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t length)
{
	size_t done = 0;

	while (done < length) {
		ssize_t n = write(fd, (const char *)buf + done, length - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* read until length bytes or end of file. Returns bytes read or -errno. */
static ssize_t read_full(int fd, void *buf, size_t length)
{
	size_t done = 0;

	while (done < length) {
		ssize_t n = read(fd, (char *)buf + done, length - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* ------------------------------------------------------------------ objects */

/* A word that can lead a data record: bits 30-24 clear, non-zero length. */
static bool is_record_word(uint32_t word)
{
	return (word & 0x7F000000u) == 0 && (word & TAPEIMAGE_MAX_RECORD) != 0;
}

static void classify_word(uint32_t word, uint64_t offset, uint64_t limit,
                          struct tapeimage_object *out)
{
	out->offset = offset;
	out->word = word;
	out->length = 0;
	out->end = offset + 4;
	if (word == TAPEIMAGE_WORD_MARK) {
		out->kind = TAPEIMAGE_OBJ_MARK;
	} else if (word == TAPEIMAGE_WORD_EOM) {
		out->kind = TAPEIMAGE_OBJ_EOD;
		out->end = offset;
	} else if (word == TAPEIMAGE_WORD_GAP) {
		out->kind = TAPEIMAGE_OBJ_GAP;
	} else if (word == TAPEIMAGE_WORD_HALF_GAP) {
		out->kind = TAPEIMAGE_OBJ_GAP;
		out->end = offset + 2;
	} else if (!is_record_word(word)) {
		out->kind = TAPEIMAGE_OBJ_BAD;
	} else {
		uint32_t length = word & TAPEIMAGE_MAX_RECORD;
		uint64_t span = tapeimage_record_span(length);

		out->length = length;
		out->end = offset + span;
		out->kind = span > limit - offset ? TAPEIMAGE_OBJ_BAD : TAPEIMAGE_OBJ_RECORD;
	}
}

int tapeimage_peek(int fd, uint64_t offset, uint64_t limit, struct tapeimage_object *out)
{
	unsigned char buf[4];
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->offset = out->end = offset;
	if (offset >= limit) {
		out->kind = TAPEIMAGE_OBJ_EOD;
		return 0;
	}
	if (limit - offset < 4) {
		out->kind = TAPEIMAGE_OBJ_BAD;
		return 0;
	}
	n = pread_full(fd, buf, 4, offset);
	if (n < 0)
		return (int)n;
	if (n < 4)
		return -EIO;
	classify_word(get_le32(buf), offset, limit, out);
	return 0;
}

int tapeimage_read_data(int fd, const struct tapeimage_object *object, void *buf)
{
	unsigned char tail[5];
	size_t pad = object->length & 1u;
	struct iovec iov[2];
	int error;

	if (object->kind != TAPEIMAGE_OBJ_RECORD)
		return -EINVAL;
	iov[0].iov_base = buf;
	iov[0].iov_len = object->length;
	iov[1].iov_base = tail;
	iov[1].iov_len = pad + 4;
	error = vectored_full(fd, iov, 2, object->offset + 4, false);
	if (error < 0)
		return error;
	return get_le32(tail + pad) == object->word ? 0 : -EIO;
}

int tapeimage_write_records(int fd, uint64_t offset, const void *data, uint32_t length,
                            size_t count)
{
	unsigned char head[4], tail[5];
	struct iovec iov[3 * WRITE_BATCH];
	size_t pad = length & 1u;
	uint64_t span = tapeimage_record_span(length);
	const char *p = data;

	if (length == 0 || length > TAPEIMAGE_MAX_RECORD)
		return -EINVAL;
	put_le32(head, length);
	tail[0] = 0;
	put_le32(tail + pad, length);
	while (count > 0) {
		size_t batch = count < WRITE_BATCH ? count : WRITE_BATCH;
		int error;

		for (size_t i = 0; i < batch; i++) {
			iov[3 * i].iov_base = head;
			iov[3 * i].iov_len = 4;
			iov[3 * i + 1].iov_base = (void *)(p + i * length);
			iov[3 * i + 1].iov_len = length;
			iov[3 * i + 2].iov_base = tail;
			iov[3 * i + 2].iov_len = pad + 4;
		}
		error = vectored_full(fd, iov, (int)(3 * batch), offset, true);
		if (error < 0)
			return error;
		offset += span * batch;
		p += (size_t)length * batch;
		count -= batch;
	}
	return 0;
}

int tapeimage_write_marks(int fd, uint64_t offset, size_t count)
{
	static const unsigned char zeros[4096];

	while (count > 0) {
		size_t batch = count < sizeof(zeros) / 4 ? count : sizeof(zeros) / 4;
		struct iovec iov = {.iov_base = (void *)zeros, .iov_len = batch * 4};
		int error = vectored_full(fd, &iov, 1, offset, true);

		if (error < 0)
			return error;
		offset += batch * 4;
		count -= batch;
	}
	return 0;
}

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

	if (!is_record_word(word))
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

/* Reads words of an image through a small window, for the scan. */
struct window {
	int fd;
	uint64_t file_size;
	uint64_t start;
	size_t length;
	unsigned char buf[SCAN_WINDOW];
};

/* The word at offset (offset + 4 <= file_size). */
static int window_word(struct window *w, uint64_t offset, uint32_t *word)
{
	if (offset < w->start || offset - w->start + 4 > w->length) {
		uint64_t left = w->file_size - offset;
		size_t want = left < SCAN_WINDOW ? (size_t)left : SCAN_WINDOW;
		ssize_t n = pread_full(w->fd, w->buf, want, offset);

		if (n < 0)
			return (int)n;
		if (n < 4)
			return -EIO; /* the file shrank under us */
		w->start = offset;
		w->length = (size_t)n;
	}
	*word = get_le32(w->buf + (offset - w->start));
	return 0;
}

int tapeimage_scan(int fd, uint64_t file_size, struct tapeimage_index *index)
{
	struct window *w;
	uint64_t offset = index->data_size;
	enum tapeimage_end end = TAPEIMAGE_END_CLEAN;
	int error = 0;

	w = malloc(sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->fd = fd;
	w->file_size = file_size;
	w->start = 0;
	w->length = 0;
	while (offset < file_size) {
		uint32_t word, trailer;
		uint64_t span;

		if (file_size - offset < 4) {
			end = TAPEIMAGE_END_TORN;
			break;
		}
		error = window_word(w, offset, &word);
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
		if (!is_record_word(word)) {
			end = TAPEIMAGE_END_CORRUPT;
			break;
		}
		span = tapeimage_record_span(word & TAPEIMAGE_MAX_RECORD);
		if (span > file_size - offset) {
			end = TAPEIMAGE_END_TORN;
			break;
		}
		error = window_word(w, offset + span - 4, &trailer);
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
		offset += span;
	}
	free(w);
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

int tapeimage_index_locate(const struct tapeimage_index *index, uint64_t object, uint64_t *offset)
{
	const struct tapeimage_run *run;
	size_t i;

	if (object > index->n_objects)
		return -EINVAL;
	if (object == index->n_objects) {
		*offset = index->data_size;
		return 0;
	}
	i = mark_lower_bound(index, object);
	if (i < index->n_marks && index->marks[i].object == object) {
		*offset = index->marks[i].offset;
		return 0;
	}
	run = run_of(index, object);
	if (run == NULL)
		return -EINVAL;
	*offset = run->offset + (object - run->first_object) *
	                            tapeimage_record_span(run->word & TAPEIMAGE_MAX_RECORD);
	return 0;
}

int tapeimage_index_object_end(const struct tapeimage_index *index, uint64_t object, uint64_t *end)
{
	const struct tapeimage_run *run;
	size_t i;

	if (object >= index->n_objects)
		return -EINVAL;
	i = mark_lower_bound(index, object);
	if (i < index->n_marks && index->marks[i].object == object) {
		*end = index->marks[i].offset + 4;
		return 0;
	}
	run = run_of(index, object);
	if (run == NULL)
		return -EINVAL;
	*end = run->offset + (object - run->first_object + 1) *
	                         tapeimage_record_span(run->word & TAPEIMAGE_MAX_RECORD);
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

			if (!is_record_word(run->word) || run->count == 0 ||
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

uint32_t tapeimage_crc32c(uint32_t crc, const void *data, size_t length)
{
	const unsigned char *p = data;

	crc = ~crc;
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
		ssize_t n = pread_full(fd, buf, want, offset);

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
			w->error = write_full(w->fd, w->buf, w->used);
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
		w->error = write_full(fd, w->buf, w->used);
	error = w->error;
	free(w);
	return error;
}

/* Read exactly length bytes from fd into buf, folding them into *crc. */
static int read_checked(int fd, void *buf, size_t length, uint32_t *crc)
{
	ssize_t n = read_full(fd, buf, length);

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
	if (read_full(fd, trailer, 4) != 4 || get_le32(trailer) != crc ||
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

/* ------------------------------------------------------------------ metadata */

static const char *const eof_state_names[] = {
    "none", "fm_hit", "fm", "eom_ok", "eom_error", "eod_1", "eod_2", "eod",
};

const char *tapeimage_eof_state_name(enum tapeimage_eof_state state)
{
	if ((unsigned)state >= sizeof(eof_state_names) / sizeof(eof_state_names[0]))
		return "?";
	return eof_state_names[state];
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

uint64_t tapeimage_default_early_warning(uint64_t capacity)
{
	uint64_t ew = capacity / 100;

	return ew > ((uint64_t)256 << 20) ? (uint64_t)256 << 20 : ew;
}

void tapeimage_meta_init(struct tapeimage_meta *meta, uint64_t capacity)
{
	memset(meta, 0, sizeof(*meta));
	meta->capacity = capacity;
	meta->early_warning = tapeimage_default_early_warning(capacity);
	meta->loaded = true;
	/* st's defaults: buffered and asynchronous writes, read-ahead (st_options.h). */
	meta->drive_options = MT_ST_BUFFER_WRITES | MT_ST_ASYNC_WRITES | MT_ST_READ_AHEAD;
	meta->drive_buffer = 1;
	meta->file_number = 0;
	meta->block_number = 0;
}

void tapeimage_meta_free(struct tapeimage_meta *meta)
{
	free(meta->extra);
	meta->extra = NULL;
	meta->extra_length = 0;
}

/* Unsigned number: decimal, or hex with 0x. The whole of [text, text+length). */
static bool parse_u64(const char *text, size_t length, uint64_t *out)
{
	unsigned base = 10;
	uint64_t value = 0;
	size_t i = 0;

	if (length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == length)
		return false;
	for (; i < length; i++) {
		unsigned digit;
		char c = text[i];

		if (c >= '0' && c <= '9')
			digit = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			digit = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			digit = (unsigned)(c - 'A' + 10);
		else
			return false;
		if (value > (UINT64_MAX - digit) / base)
			return false;
		value = value * base + digit;
	}
	*out = value;
	return true;
}

static bool parse_i64(const char *text, size_t length, int64_t *out)
{
	uint64_t magnitude;

	if (length > 0 && text[0] == '-') {
		if (!parse_u64(text + 1, length - 1, &magnitude) || magnitude > (uint64_t)INT64_MAX)
			return false;
		*out = -(int64_t)magnitude;
		return true;
	}
	if (!parse_u64(text, length, &magnitude) || magnitude > (uint64_t)INT64_MAX)
		return false;
	*out = (int64_t)magnitude;
	return true;
}

static bool parse_size_span(const char *text, size_t length, uint64_t *out)
{
	uint64_t value, scale = 1;

	if (length > 0) {
		switch (text[length - 1]) {
		case 'k':
		case 'K':
			scale = (uint64_t)1 << 10;
			break;
		case 'm':
		case 'M':
			scale = (uint64_t)1 << 20;
			break;
		case 'g':
		case 'G':
			scale = (uint64_t)1 << 30;
			break;
		case 't':
		case 'T':
			scale = (uint64_t)1 << 40;
			break;
		}
		if (scale != 1)
			length--;
	}
	if (!parse_u64(text, length, &value) || value > UINT64_MAX / scale)
		return false;
	*out = value * scale;
	return true;
}

int tapeimage_parse_size(const char *text, uint64_t *out)
{
	return parse_size_span(text, strlen(text), out) ? 0 : -EINVAL;
}

static bool parse_bool(const char *text, size_t length, bool *out)
{
	if (length == 1 && (text[0] == '0' || text[0] == '1')) {
		*out = text[0] == '1';
		return true;
	}
	return false;
}

enum meta_type { META_U64, META_SIZE, META_I64, META_BOOL, META_U32, META_I32 };

struct meta_key {
	const char *name;
	enum meta_type type;
	size_t offset;
	uint64_t max; /* for META_U32 */
};

#define FIELD(f) offsetof(struct tapeimage_meta, f)
static const struct meta_key meta_keys[] = {
    {"created", META_I64, FIELD(created), 0},
    {"write_protect", META_BOOL, FIELD(write_protect), 0},
    {"capacity", META_SIZE, FIELD(capacity), 0},
    {"early_warning", META_SIZE, FIELD(early_warning), 0},
    {"loaded", META_BOOL, FIELD(loaded), 0},
    {"loads", META_U64, FIELD(loads), 0},
    {"block_size", META_U32, FIELD(block_size), TAPEIMAGE_MAX_RECORD},
    {"density", META_U32, FIELD(density), 255},
    {"compression", META_BOOL, FIELD(compression), 0},
    {"drive_options", META_U32, FIELD(drive_options), 0x0FFFFFFF},
    {"drive_buffer", META_U32, FIELD(drive_buffer), 7},
    {"position", META_U64, FIELD(position), 0},
    {"position_offset", META_U64, FIELD(position_offset), 0},
    {"file_number", META_I32, FIELD(file_number), 0},
    {"block_number", META_I32, FIELD(block_number), 0},
    {"bytes_written", META_U64, FIELD(bytes_written), 0},
    {"bytes_read", META_U64, FIELD(bytes_read), 0},
    {"records_written", META_U64, FIELD(records_written), 0},
    {"records_read", META_U64, FIELD(records_read), 0},
    {"filemarks_written", META_U64, FIELD(filemarks_written), 0},
    {"errors", META_U64, FIELD(errors), 0},
    {"in_use", META_BOOL, FIELD(in_use), 0},
    {"in_use_rewinds", META_BOOL, FIELD(in_use_rewinds), 0},
};
#undef FIELD

static bool set_known(struct tapeimage_meta *meta, const struct meta_key *key, const char *value,
                      size_t length)
{
	char *field = (char *)meta + key->offset;
	uint64_t u;
	int64_t i;
	bool b;

	switch (key->type) {
	case META_U64:
		if (!parse_u64(value, length, &u))
			return false;
		memcpy(field, &u, sizeof(u));
		return true;
	case META_SIZE:
		if (!parse_size_span(value, length, &u))
			return false;
		memcpy(field, &u, sizeof(u));
		return true;
	case META_I64:
		if (!parse_i64(value, length, &i))
			return false;
		memcpy(field, &i, sizeof(i));
		return true;
	case META_BOOL:
		if (!parse_bool(value, length, &b))
			return false;
		memcpy(field, &b, sizeof(b));
		return true;
	case META_U32: {
		uint32_t v;

		if (!parse_u64(value, length, &u) || u > key->max)
			return false;
		v = (uint32_t)u;
		memcpy(field, &v, sizeof(v));
		return true;
	}
	case META_I32: {
		int32_t v;

		if (!parse_i64(value, length, &i) || i < -1 || i > INT32_MAX)
			return false;
		v = (int32_t)i;
		memcpy(field, &v, sizeof(v));
		return true;
	}
	}
	return false;
}

static bool key_is(const char *key, size_t length, const char *name)
{
	return strlen(name) == length && memcmp(key, name, length) == 0;
}

static bool set_value(struct tapeimage_meta *meta, const char *key, size_t key_length,
                      const char *value, size_t length)
{
	if (key_is(key, key_length, "barcode")) {
		if (length > TAPEIMAGE_BARCODE_MAX)
			return false;
		for (size_t i = 0; i < length; i++)
			if (value[i] < 0x21 || value[i] > 0x7e)
				return false;
		memcpy(meta->barcode, value, length);
		meta->barcode[length] = '\0';
		return true;
	}
	if (key_is(key, key_length, "eof_state")) {
		for (size_t i = 0; i < sizeof(eof_state_names) / sizeof(eof_state_names[0]); i++) {
			if (key_is(value, length, eof_state_names[i])) {
				meta->eof_state = (enum tapeimage_eof_state)i;
				return true;
			}
		}
		return false;
	}
	if (key_is(key, key_length, "version")) {
		uint64_t version;

		return parse_u64(value, length, &version) && version == 1;
	}
	for (size_t i = 0; i < sizeof(meta_keys) / sizeof(meta_keys[0]); i++) {
		if (key_is(key, key_length, meta_keys[i].name)) {
			if (!set_known(meta, &meta_keys[i], value, length))
				return false;
			if (key_is(key, key_length, "position"))
				meta->has_position = true;
			return true;
		}
	}
	return false;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Keep an unknown line (with its newline) for the next rewrite. */
static int keep_extra(struct tapeimage_meta *meta, const char *line, size_t length)
{
	char *p;

	if (meta->extra_length + length + 1 > TAPEIMAGE_META_MAX_SIZE)
		return -EFBIG;
	p = realloc(meta->extra, meta->extra_length + length + 2);
	if (p == NULL)
		return -ENOMEM;
	memcpy(p + meta->extra_length, line, length);
	p[meta->extra_length + length] = '\n';
	meta->extra_length += length + 1;
	p[meta->extra_length] = '\0';
	meta->extra = p;
	return 0;
}

int tapeimage_meta_parse(struct tapeimage_meta *meta, const char *text, size_t length)
{
	size_t pos = 0;
	int skipped = 0;

	if (length > TAPEIMAGE_META_MAX_SIZE)
		return -EFBIG;
	while (pos < length) {
		const char *line = text + pos, *eq, *key, *value;
		size_t line_length, key_length, value_length;
		const char *nl = memchr(line, '\n', length - pos);

		line_length = nl != NULL ? (size_t)(nl - line) : length - pos;
		pos += line_length + (nl != NULL);
		while (line_length > 0 && is_blank(line[line_length - 1]))
			line_length--;
		key = line;
		while (key < line + line_length && is_blank(*key))
			key++;
		if (key == line + line_length || *key == '#')
			continue;
		eq = memchr(key, '=', (size_t)(line + line_length - key));
		if (eq == NULL || eq == key || memchr(line, '\0', line_length) != NULL) {
			skipped++;
			continue;
		}
		key_length = (size_t)(eq - key);
		while (key_length > 0 && is_blank(key[key_length - 1]))
			key_length--;
		value = eq + 1;
		while (value < line + line_length && is_blank(*value))
			value++;
		value_length = (size_t)(line + line_length - value);
		if (set_value(meta, key, key_length, value, value_length))
			continue;
		/* A known key with a bad value is dropped; an unknown one is kept. */
		if (key_is(key, key_length, "barcode") || key_is(key, key_length, "eof_state") ||
		    key_is(key, key_length, "version")) {
			skipped++;
			continue;
		}
		{
			bool known = false;

			for (size_t i = 0; i < sizeof(meta_keys) / sizeof(meta_keys[0]); i++)
				known |= key_is(key, key_length, meta_keys[i].name);
			if (known) {
				skipped++;
				continue;
			}
		}
		{
			int error = keep_extra(meta, line, line_length);

			if (error < 0)
				return error;
		}
	}
	return skipped;
}

int tapeimage_meta_format(const struct tapeimage_meta *meta, char **out, size_t *length)
{
	size_t size = 2048 + meta->extra_length;
	char *buf = malloc(size);
	size_t used = 0;
	int n;

	if (buf == NULL)
		return -ENOMEM;
#define EMIT(...)                                                                                  \
	do {                                                                                       \
		n = snprintf(buf + used, size - used, __VA_ARGS__);                                \
		if (n < 0 || (size_t)n >= size - used)                                             \
			goto too_long;                                                             \
		used += (size_t)n;                                                                 \
	} while (0)
	EMIT("# rmtd virtual tape metadata (key=value), see rmt-vtape(1)\n");
	EMIT("version=1\n");
	EMIT("barcode=%s\n", meta->barcode);
	EMIT("created=%lld\n", (long long)meta->created);
	EMIT("write_protect=%d\n", meta->write_protect ? 1 : 0);
	EMIT("capacity=%llu\n", (unsigned long long)meta->capacity);
	EMIT("early_warning=%llu\n", (unsigned long long)meta->early_warning);
	EMIT("loaded=%d\n", meta->loaded ? 1 : 0);
	EMIT("loads=%llu\n", (unsigned long long)meta->loads);
	EMIT("block_size=%u\n", meta->block_size);
	EMIT("density=%u\n", meta->density);
	EMIT("compression=%d\n", meta->compression ? 1 : 0);
	EMIT("drive_options=0x%x\n", meta->drive_options);
	EMIT("drive_buffer=%u\n", meta->drive_buffer);
	if (meta->has_position) {
		EMIT("position=%llu\n", (unsigned long long)meta->position);
		EMIT("position_offset=%llu\n", (unsigned long long)meta->position_offset);
		EMIT("file_number=%d\n", meta->file_number);
		EMIT("block_number=%d\n", meta->block_number);
		EMIT("eof_state=%s\n", tapeimage_eof_state_name(meta->eof_state));
	}
	EMIT("bytes_written=%llu\n", (unsigned long long)meta->bytes_written);
	EMIT("bytes_read=%llu\n", (unsigned long long)meta->bytes_read);
	EMIT("records_written=%llu\n", (unsigned long long)meta->records_written);
	EMIT("records_read=%llu\n", (unsigned long long)meta->records_read);
	EMIT("filemarks_written=%llu\n", (unsigned long long)meta->filemarks_written);
	EMIT("errors=%llu\n", (unsigned long long)meta->errors);
	if (meta->in_use) {
		EMIT("in_use=1\n");
		EMIT("in_use_rewinds=%d\n", meta->in_use_rewinds ? 1 : 0);
	}
#undef EMIT
	if (meta->extra_length > 0) {
		if (meta->extra_length >= size - used)
			goto too_long;
		memcpy(buf + used, meta->extra, meta->extra_length);
		used += meta->extra_length;
	}
	buf[used] = '\0';
	*out = buf;
	*length = used;
	return 0;
too_long:
	free(buf);
	return -ENOMEM;
}

int tapeimage_meta_read(int fd, struct tapeimage_meta *meta)
{
	char *buf = malloc(TAPEIMAGE_META_MAX_SIZE + 1);
	ssize_t n;
	int result;

	if (buf == NULL)
		return -ENOMEM;
	n = read_full(fd, buf, TAPEIMAGE_META_MAX_SIZE + 1);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	if (n > TAPEIMAGE_META_MAX_SIZE) {
		free(buf);
		return -EFBIG;
	}
	result = tapeimage_meta_parse(meta, buf, (size_t)n);
	free(buf);
	return result;
}

int tapeimage_meta_write(int fd, const struct tapeimage_meta *meta)
{
	char *text;
	size_t length;
	int error = tapeimage_meta_format(meta, &text, &length);

	if (error < 0)
		return error;
	error = write_full(fd, text, length);
	free(text);
	return error;
}
