/*
 * tapeimage.c - SIMH .tap framing: one object peeked, read or written at an
 * offset, directly or through a reader's read-ahead (the index is tapeindex.c's,
 * the .meta file tapemeta.c's).
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
#include <sys/uio.h>
#include <unistd.h>

#include "tapeimage.h"
#include "tapeimage_io.h"

#define WRITE_BATCH 300 /* records per pwritev: 3 iovecs each, below IOV_MAX (1024) */

/* ------------------------------------------------------------------ plain I/O */

/* Read until length bytes or end of file, at offset (pread) or, when positioned, where fd is. */
static ssize_t read_until_end(int fd, void *buf, size_t length, uint64_t offset, bool positioned)
{
	size_t done = 0;

	if (!positioned && offset > (uint64_t)INT64_MAX - length)
		return -EINVAL;
	while (done < length) {
		ssize_t n = positioned ? read(fd, (char *)buf + done, length - done)
		                       : pread(fd, (char *)buf + done, length - done,
		                               (off_t)(offset + done));

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

ssize_t tapeimage_pread_full(int fd, void *buf, size_t length, uint64_t offset)
{
	return read_until_end(fd, buf, length, offset, false);
}

ssize_t tapeimage_read_full(int fd, void *buf, size_t length)
{
	return read_until_end(fd, buf, length, 0, true);
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

int tapeimage_write_full(int fd, const void *buf, size_t length)
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

/* ------------------------------------------------------------------ objects */

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
	} else if (!tapeimage_is_record_word(word)) {
		out->kind = TAPEIMAGE_OBJ_BAD;
	} else {
		uint32_t length = word & TAPEIMAGE_MAX_RECORD;
		uint64_t span = tapeimage_record_span(length);

		out->length = length;
		out->end = offset + span;
		out->kind = span > limit - offset ? TAPEIMAGE_OBJ_BAD : TAPEIMAGE_OBJ_RECORD;
	}
}

/* A peek answered by where it is (end of data, or no room for a word): true. */
static bool peek_answered_by_offset(uint64_t offset, uint64_t limit, struct tapeimage_object *out)
{
	memset(out, 0, sizeof(*out));
	out->offset = out->end = offset;
	if (offset >= limit) {
		out->kind = TAPEIMAGE_OBJ_EOD;
		return true;
	}
	if (limit - offset < 4) {
		out->kind = TAPEIMAGE_OBJ_BAD;
		return true;
	}
	return false;
}

int tapeimage_peek(int fd, uint64_t offset, uint64_t limit, struct tapeimage_object *out)
{
	unsigned char buf[4];
	ssize_t n;

	if (peek_answered_by_offset(offset, limit, out))
		return 0;
	n = tapeimage_pread_full(fd, buf, 4, offset);
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

/* ------------------------------------------------------------------ reader */

/* After a record larger than this, read only READ_AHEAD_AFTER_LARGE ahead. */
#define READ_AHEAD_SMALL_SPAN  (TAPEIMAGE_READ_AHEAD / 4)
#define READ_AHEAD_AFTER_LARGE 4096u

void tapeimage_reader_init(struct tapeimage_reader *reader, int fd)
{
	reader->fd = fd;
	reader->last_span = 0;
	tapeimage_reader_forget(reader);
}

void tapeimage_reader_forget(struct tapeimage_reader *reader)
{
	reader->start = 0;
	reader->length = 0;
}

/* Does the reader hold [offset, offset + length)? */
static bool reader_holds(const struct tapeimage_reader *reader, uint64_t offset, uint64_t length)
{
	return offset >= reader->start && offset - reader->start <= reader->length &&
	       length <= reader->length - (offset - reader->start);
}

/*
 * Read ahead from offset, at least `need` bytes (need <= TAPEIMAGE_READ_AHEAD) unless
 * the file ends first, and no further than limit.
 */
static int reader_fill(struct tapeimage_reader *reader, uint64_t offset, uint64_t limit,
                       size_t need)
{
	size_t want = reader->last_span <= READ_AHEAD_SMALL_SPAN ? TAPEIMAGE_READ_AHEAD
	                                                         : READ_AHEAD_AFTER_LARGE;
	ssize_t n;

	if (need > TAPEIMAGE_READ_AHEAD)
		return -EINVAL;
	if (want < need)
		want = need;
	if (offset >= limit)
		want = 0;
	else if (limit - offset < want)
		want = (size_t)(limit - offset);
	tapeimage_reader_forget(reader);
	n = tapeimage_pread_full(reader->fd, reader->buf, want, offset);
	if (n < 0)
		return (int)n;
	reader->start = offset;
	reader->length = (size_t)n;
	return 0;
}

int tapeimage_reader_word(struct tapeimage_reader *reader, uint64_t offset, uint64_t limit,
                          uint32_t *word)
{
	if (!reader_holds(reader, offset, 4)) {
		int error = reader_fill(reader, offset, limit, 4);

		if (error < 0)
			return error;
		if (reader->length < 4)
			return -EIO; /* the file ends inside limit */
	}
	*word = get_le32(reader->buf + (offset - reader->start));
	return 0;
}

int tapeimage_reader_peek(struct tapeimage_reader *reader, uint64_t offset, uint64_t limit,
                          struct tapeimage_object *out)
{
	uint32_t word;
	int error;

	if (peek_answered_by_offset(offset, limit, out))
		return 0;
	error = tapeimage_reader_word(reader, offset, limit, &word);
	if (error < 0)
		return error;
	classify_word(word, offset, limit, out);
	if (out->kind == TAPEIMAGE_OBJ_RECORD)
		reader->last_span = out->end - out->offset;
	return 0;
}

int tapeimage_reader_read_data(struct tapeimage_reader *reader,
                               const struct tapeimage_object *object, void *buf)
{
	uint64_t span = object->end - object->offset;
	const unsigned char *record;

	if (object->kind != TAPEIMAGE_OBJ_RECORD)
		return -EINVAL;
	if (!reader_holds(reader, object->offset, span)) {
		int error;

		/* A large record goes straight to the caller: copying it twice gains nothing. */
		if (span > READ_AHEAD_SMALL_SPAN)
			return tapeimage_read_data(reader->fd, object, buf);
		/* On past the record: what follows it is the next object. */
		error = reader_fill(reader, object->offset, UINT64_MAX, (size_t)span);
		if (error < 0)
			return error;
		if (!reader_holds(reader, object->offset, span))
			return -EIO; /* the file ends inside the record */
	}
	record = reader->buf + (object->offset - reader->start);
	memcpy(buf, record + 4, object->length);
	return get_le32(record + span - 4) == object->word ? 0 : -EIO;
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
