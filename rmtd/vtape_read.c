/*
 * vtape_read.c - one read(2) on a virtual tape as st answers it: a variable-block
 * read returns one record (cut to the buffer, ENOMEM as st), a fixed-block read
 * whole blocks through st's READ window and read-ahead, filemarks and end of data
 * as st reports them (doc/st-behaviour.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <unistd.h>

#include "vtape_internal.h"

/* ------------------------------------------------------------------ read */

/* Reading at end of data (BLANK CHECK): 0 once right after a filemark, else EIO. */
static ssize_t read_at_eod(struct vtape *vt)
{
	vt->blkno = -1;
	if (vt->eof == TAPEIMAGE_EOF_FM) {
		vt->eof = TAPEIMAGE_EOF_EOD; /* EOD_2, then EOD when nothing was read */
		return 0;
	}
	return -EIO;
}

/* Reading a filemark: 0, the position after it. */
static ssize_t read_filemark(struct vtape *vt, const struct tapeimage_object *o)
{
	vt->pos = o->end;
	vt->obj++;
	vt->eof = TAPEIMAGE_EOF_FM;
	vt->blkno = 0;
	vt->fileno = vtape_counter_add(vt->fileno, 1);
	return 0;
}

static ssize_t read_error(struct vtape *vt, const struct tapeimage_object *o, bool consume)
{
	if (consume) {
		vt->pos = o->end;
		vt->obj++;
	}
	vt->blkno = -1;
	vt->meta.errors++;
	return -EIO;
}

/* st_read's check before touching the tape: the eof states past end of data. */
static bool eod_state_answer(struct vtape *vt, ssize_t *answer)
{
	if (vt->eof < TAPEIMAGE_EOF_EOD_1)
		return false;
	if (vt->eof < TAPEIMAGE_EOF_EOD) {
		vt->eof++;
		*answer = 0;
	} else {
		*answer = -EIO;
	}
	return true;
}

static ssize_t read_variable(struct vtape *vt, void *buf, size_t count)
{
	struct tapeimage_object o;
	ssize_t answer;
	int error;

	if (eod_state_answer(vt, &answer))
		return answer;
	error = vtape_next_object(vt, &o);
	if (error < 0)
		return read_error(vt, &o, false);
	switch (o.kind) {
	case TAPEIMAGE_OBJ_EOD:
		return read_at_eod(vt);
	case TAPEIMAGE_OBJ_MARK:
		return read_filemark(vt, &o);
	case TAPEIMAGE_OBJ_RECORD:
		break;
	default:
		return read_error(vt, &o, false);
	}
	if (o.word & TAPEIMAGE_ERROR_FLAG)
		return read_error(vt, &o, true);
	if (o.length > count) {
		/* st: "Failed to read N byte block with M byte transfer"; the block is gone. */
		vt->pos = o.end;
		vt->obj++;
		vt->blkno = vtape_counter_add(vt->blkno, 1);
		return -ENOMEM;
	}
	if (tapeimage_reader_read_data(vtape_reader(vt), &o, buf) < 0)
		return read_error(vt, &o, true);
	vt->pos = o.end;
	vt->obj++;
	vt->blkno = vtape_counter_add(vt->blkno, 1);
	if (vt->eof == TAPEIMAGE_EOF_FM)
		vt->eof = TAPEIMAGE_EOF_NONE;
	vt->meta.bytes_read += o.length;
	vt->meta.records_read++;
	return (ssize_t)o.length;
}

/* st's fixed-block read-ahead: a buffer of 32 KiB (buffer_kbs), at least one block. */
#define ST_READ_AHEAD_BYTES 32768

/*
 * How many blocks st asks the drive for when it must fetch more: with direct I/O (the
 * count a multiple of the block size, until a read that is not) the blocks still
 * wanted; otherwise a whole read-ahead buffer.
 */
static uint32_t read_window(const struct vtape *vt, size_t count, size_t total)
{
	uint32_t block = vt->meta.block_size;
	uint64_t blocks;

	if (vt->buffered_reads)
		blocks = block >= ST_READ_AHEAD_BYTES ? 1 : ST_READ_AHEAD_BYTES / block;
	else
		blocks = (count - total + block - 1) / block;
	return blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)blocks;
}

/*
 * Does end of data come within the next window blocks, before a filemark or any
 * other object that would end the drive's READ? *blocks: the whole blocks before it.
 * The position is not changed.
 */
static bool window_meets_eod(struct vtape *vt, uint32_t window, uint32_t *blocks)
{
	uint64_t pos = vt->pos, obj = vt->obj;
	bool eod = false;

	*blocks = 0;
	/* The walk meets EOD only within window objects of it: far from it, not at all. */
	if (obj < vt->index.n_objects && vt->index.n_objects - obj >= window)
		return false;
	while (*blocks < window) {
		struct tapeimage_object o;

		if (vtape_next_object(vt, &o) < 0)
			break;
		if (o.kind == TAPEIMAGE_OBJ_EOD) {
			eod = true;
			break;
		}
		if (o.kind != TAPEIMAGE_OBJ_RECORD || o.length != vt->meta.block_size ||
		    (o.word & TAPEIMAGE_ERROR_FLAG))
			break;
		vt->pos = o.end;
		vt->obj++;
		(*blocks)++;
	}
	vt->pos = pos;
	vt->obj = obj;
	return eod;
}

/*
 * Fixed-block mode: any count is served from whole blocks; the rest of a block a short
 * read cut is kept for the next read until any other call (st's read-ahead buffer, which
 * MTIOCGET and every other operation flush). A filemark after some blocks ends the read;
 * the next read meets it. When st's READ of a window of blocks runs into end of data the
 * drive answers BLANK CHECK with the blocks it read; st drops them and the tape is at end
 * of data, block unknown: the read fails with EIO, or returns 0 right after a filemark.
 */
static ssize_t read_fixed(struct vtape *vt, unsigned char *buf, size_t count)
{
	uint32_t block = vt->meta.block_size;
	size_t total = 0;

	if (count % block != 0)
		vt->buffered_reads = true; /* st: direct I/O cannot split a block */

	if (vt->partial_used < vt->partial_length) {
		size_t n = vt->partial_length - vt->partial_used;

		if (n > count)
			n = count;
		memcpy(buf, vt->partial + vt->partial_used, n);
		vt->partial_used += n;
		total = n;
	}
	while (total < count) {
		struct tapeimage_object o;
		size_t want = count - total;
		ssize_t answer;

		if (total == 0 && eod_state_answer(vt, &answer))
			return answer;
		if (vt->window_left == 0) {
			uint32_t window = read_window(vt, count, total), blocks;

			if (window_meets_eod(vt, window, &blocks) && (blocks > 0 || total > 0)) {
				vt->meta.records_read += blocks;
				vtape_go_eod(vt);
				vtape_drop_partial(vt);
				return read_at_eod(vt);
			}
			vt->window_left = window;
		}
		if (vtape_next_object(vt, &o) < 0)
			o.kind = TAPEIMAGE_OBJ_BAD;
		if (o.kind != TAPEIMAGE_OBJ_RECORD || o.length != block ||
		    (o.word & TAPEIMAGE_ERROR_FLAG))
			vt->window_left = 0; /* the drive's READ ends here */
		if (total > 0 && (o.kind != TAPEIMAGE_OBJ_RECORD || o.length != block ||
		                  (o.word & TAPEIMAGE_ERROR_FLAG)))
			break;
		if (o.kind == TAPEIMAGE_OBJ_EOD)
			return read_at_eod(vt);
		if (o.kind == TAPEIMAGE_OBJ_MARK)
			return read_filemark(vt, &o);
		if (o.kind != TAPEIMAGE_OBJ_RECORD)
			return read_error(vt, &o, false);
		if (o.word & TAPEIMAGE_ERROR_FLAG)
			return read_error(vt, &o, true);
		if (o.length != block) {
			/* st: "Incorrect block size"; it spaces back, so nothing moves. */
			vt->meta.errors++;
			return -EIO;
		}
		if (want >= block) {
			if (tapeimage_reader_read_data(vtape_reader(vt), &o, buf + total) < 0)
				return total > 0 ? (ssize_t)total : read_error(vt, &o, true);
			total += block;
		} else {
			if (vt->partial_capacity < block) {
				unsigned char *p = realloc(vt->partial, block);

				if (p == NULL)
					return total > 0 ? (ssize_t)total : -ENOMEM;
				vt->partial = p;
				vt->partial_capacity = block;
			}
			if (tapeimage_reader_read_data(vtape_reader(vt), &o, vt->partial) < 0)
				return total > 0 ? (ssize_t)total : read_error(vt, &o, true);
			memcpy(buf + total, vt->partial, want);
			vt->partial_length = block;
			vt->partial_used = want;
			total += want;
		}
		vt->pos = o.end;
		vt->obj++;
		vt->blkno = vtape_counter_add(vt->blkno, 1);
		vt->meta.records_read++;
		vt->window_left--;
	}
	if (vt->eof == TAPEIMAGE_EOF_FM)
		vt->eof = TAPEIMAGE_EOF_NONE;
	vt->meta.bytes_read += total;
	return (ssize_t)total;
}

ssize_t vtape_read(struct device *dev, void *buf, size_t count)
{
	struct vtape *vt = vtape_of(dev);

	if (vt->access == O_WRONLY)
		return -EBADF; /* the VFS refuses read(2) on a write-only descriptor */
	if (!vt->loaded)
		return -ENOMEDIUM;
	if (count == 0)
		return 0;
	if (vt->meta.block_size == 0 && count > TAPEIMAGE_MAX_RECORD)
		return -EINVAL; /* outside READ BLOCK LIMITS */
	if (vt->meta.block_size != 0 && count % vt->meta.block_size != 0 &&
	    !(vt->meta.drive_options & MT_ST_READ_AHEAD))
		return -EINVAL;
	vt->rw = RW_READING;
	if (vt->meta.block_size == 0)
		return read_variable(vt, buf, count);
	return read_fixed(vt, buf, count);
}
