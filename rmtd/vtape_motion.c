/*
 * vtape_motion.c - a virtual tape's position as st keeps it (object and byte
 * offset, mt_fileno/mt_blkno, "eof" state), the appends that extend the image, and
 * the tape operations (MTIOCTOP) that move the position: spacing with st's residue
 * arithmetic, end of data, locate, erase, load and unload, drive settings
 * (doc/st-behaviour.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vtape_internal.h"

/* ------------------------------------------------------------------ position helpers */

void vtape_set_position(struct vtape *vt, uint64_t object)
{
	uint64_t offset = 0;

	if (tapeimage_index_locate(&vt->index, object, &offset) < 0) {
		object = vt->index.n_objects;
		offset = vt->index.data_size;
	}
	vt->obj = object;
	vt->pos = offset;
}

void vtape_go_bot(struct vtape *vt)
{
	vt->obj = 0;
	vt->pos = 0;
	vt->fileno = 0;
	vt->blkno = 0;
	vt->eof = TAPEIMAGE_EOF_NONE;
}

void vtape_go_eod(struct vtape *vt)
{
	vt->obj = vt->index.n_objects;
	vt->pos = vt->index.data_size;
}

void vtape_drop_partial(struct vtape *vt)
{
	vt->partial_length = vt->partial_used = 0;
	vt->window_left = 0;
}

/* st's counters: unknown (-1) stays unknown, one that would overflow becomes unknown. */
int32_t vtape_counter_add(int32_t value, int64_t delta)
{
	int64_t sum;

	if (value < 0)
		return value;
	sum = (int64_t)value + delta;
	return sum < 0 || sum > INT32_MAX ? -1 : (int32_t)sum;
}

bool vtape_cannot_write(const struct vtape *vt)
{
	return vt->write_prot || vt->access == O_RDONLY;
}

/*
 * The image through read-ahead. Every change to the image changes the index, so what
 * was read ahead is forgotten when the index's generation moved on.
 */
struct tapeimage_reader *vtape_reader(struct vtape *vt)
{
	if (vt->reader_generation != vt->index.generation) {
		tapeimage_reader_forget(&vt->reader);
		vt->reader_generation = vt->index.generation;
	}
	return &vt->reader;
}

/* The object at the position, with gap words skipped through the index. */
int vtape_next_object(struct vtape *vt, struct tapeimage_object *o)
{
	uint64_t start;
	int error;

	if (vt->obj >= vt->index.n_objects) {
		memset(o, 0, sizeof(*o));
		o->kind = TAPEIMAGE_OBJ_EOD;
		o->offset = o->end = vt->pos;
		return 0;
	}
	error = tapeimage_reader_peek(vtape_reader(vt), vt->pos, vt->index.data_size, o);
	if (error < 0)
		return error;
	if (o->kind == TAPEIMAGE_OBJ_MARK || o->kind == TAPEIMAGE_OBJ_RECORD)
		return 0;
	if (tapeimage_index_locate(&vt->index, vt->obj, &start) < 0 || start == vt->pos) {
		o->kind = TAPEIMAGE_OBJ_BAD;
		return 0;
	}
	vt->pos = start;
	error = tapeimage_reader_peek(vtape_reader(vt), vt->pos, vt->index.data_size, o);
	if (error == 0 && o->kind != TAPEIMAGE_OBJ_MARK && o->kind != TAPEIMAGE_OBJ_RECORD)
		o->kind = TAPEIMAGE_OBJ_BAD;
	return error;
}

/* Where a write at the position goes: the end of the previous object. */
uint64_t vtape_write_offset(const struct vtape *vt)
{
	uint64_t end = 0;

	if (vt->obj == vt->index.n_objects)
		return vt->index.data_size;
	if (vt->obj > 0)
		tapeimage_index_object_end(&vt->index, vt->obj - 1, &end);
	return end;
}

int vtape_write_error(int error)
{
	return error == -ENOSPC || error == -EDQUOT || error == -EFBIG ? -ENOSPC : -EIO;
}

/* Make the position the end of data: a drive forgets everything after what it writes. */
int vtape_prepare_append(struct vtape *vt)
{
	int error = vtape_mark_in_use(vt);

	if (error < 0)
		return vtape_write_error(error);
	if (vt->obj == vt->index.n_objects && vt->index.file_size == vt->index.data_size &&
	    vt->pos == vt->index.data_size)
		return 0;
	error = tapeimage_index_truncate(&vt->index, vt->obj);
	if (error < 0)
		return -EIO;
	if (ftruncate(vt->fd, (off_t)vt->index.data_size) < 0) {
		log_warn("%s: ftruncate", vt->canonical);
		return -EIO;
	}
	vt->pos = vt->index.data_size;
	vt->unsynced = true;
	vtape_index_forget(vt);
	return 0;
}

/* Undo a failed append: cut image and index back to `object` objects. */
void vtape_undo_append(struct vtape *vt, uint64_t object, uint64_t offset)
{
	if (vt->index.n_objects > object)
		tapeimage_index_truncate(&vt->index, object);
	if (ftruncate(vt->fd, (off_t)offset) < 0)
		log_warn("%s: ftruncate after a failed write", vt->canonical);
	vt->obj = object;
	vt->pos = offset;
}

/* Append count filemarks at the position. */
int vtape_append_marks(struct vtape *vt, int64_t count)
{
	uint64_t object, offset;
	int error;

	if (count <= 0)
		return 0;
	error = vtape_prepare_append(vt);
	if (error < 0)
		return error;
	object = vt->obj;
	offset = vt->pos;
	error = tapeimage_write_marks(vt->fd, offset, (size_t)count);
	for (int64_t i = 0; error == 0 && i < count; i++)
		error = tapeimage_index_add_mark(&vt->index);
	if (error < 0) {
		vtape_undo_append(vt, object, offset);
		vt->meta.errors++;
		return vtape_write_error(error);
	}
	vt->unsynced = true;
	vt->obj = vt->index.n_objects;
	vt->pos = vt->index.data_size;
	vt->meta.filemarks_written += (uint64_t)count;
	return vt->sync_records ? vtape_image_sync(vt) : 0;
}

/* ------------------------------------------------------------------ tape operations */

int vtape_op_weof(struct vtape *vt, int64_t count, bool immediate)
{
	int error;

	if (vtape_cannot_write(vt))
		return -EACCES;
	error = vtape_append_marks(vt, count);
	if (error < 0) {
		vt->eof = TAPEIMAGE_EOF_NONE;
		return error;
	}
	vt->fileno = vtape_counter_add(vt->fileno, count);
	vt->blkno = 0;
	vt->eof = TAPEIMAGE_EOF_NONE;
	vt->rw = RW_IDLE; /* prevent the automatic filemark at close */
	if (!immediate && (error = vtape_image_sync(vt)) < 0)
		return error;
	if (count > 0 && time(NULL) - vt->index_saved_at >= INDEX_SAVE_INTERVAL)
		vtape_index_save(vt);
	return 0;
}

/*
 * Spacing. st passes the signed count to SCSI SPACE, so a negative count moves the
 * other way, while its file/block bookkeeping follows the operation's own direction
 * (the realtape rig shows it: MTFSF -1 goes back over a mark and reports fileno - 1,
 * blkno 0). The movement helpers below return how many objects they passed and what
 * stopped them; the op_* functions apply st_int_ioctl's bookkeeping, including the
 * residue ("undone") arithmetic of its error paths.
 */
enum stop { STOP_NONE, STOP_MARK, STOP_EOD, STOP_BOT };

/* Forward over n marks: after the nth, or at EOD. */
static enum stop marks_forward(struct vtape *vt, uint64_t n, uint64_t *passed)
{
	size_t file = tapeimage_index_marks_before(&vt->index, vt->obj);
	size_t left = vt->index.n_marks - file;

	if (n == 0) {
		*passed = 0;
		return STOP_NONE;
	}
	if (n <= left) {
		const struct tapeimage_mark *mark = &vt->index.marks[file + (size_t)n - 1];

		vt->obj = mark->object + 1;
		vt->pos = mark->offset + 4;
		*passed = n;
		return STOP_NONE;
	}
	vtape_go_eod(vt);
	*passed = left;
	return STOP_EOD;
}

/* Backward over n marks: before (on the BOT side of) the nth, or at BOT. */
static enum stop marks_backward(struct vtape *vt, uint64_t n, uint64_t *passed)
{
	size_t file = tapeimage_index_marks_before(&vt->index, vt->obj);

	if (n == 0) {
		*passed = 0;
		return STOP_NONE;
	}
	if (n <= file) {
		const struct tapeimage_mark *mark = &vt->index.marks[file - (size_t)n];

		vt->obj = mark->object;
		vt->pos = mark->offset;
		*passed = n;
		return STOP_NONE;
	}
	vt->obj = 0;
	vt->pos = 0;
	*passed = file;
	return STOP_BOT;
}

/* Forward over n records: a mark stops it after the mark, or EOD. */
static enum stop records_forward(struct vtape *vt, uint64_t n, uint64_t *passed)
{
	size_t next = tapeimage_index_marks_before(&vt->index, vt->obj);
	bool mark = next < vt->index.n_marks;
	uint64_t available = (mark ? vt->index.marks[next].object : vt->index.n_objects) - vt->obj;

	if (n <= available) {
		vtape_set_position(vt, vt->obj + n);
		*passed = n;
		return STOP_NONE;
	}
	*passed = available;
	if (!mark) {
		vtape_go_eod(vt);
		return STOP_EOD;
	}
	vt->obj = vt->index.marks[next].object + 1;
	vt->pos = vt->index.marks[next].offset + 4;
	return STOP_MARK;
}

/* Backward over n records: a mark stops it before the mark, or BOT. */
static enum stop records_backward(struct vtape *vt, uint64_t n, uint64_t *passed)
{
	size_t before = tapeimage_index_marks_before(&vt->index, vt->obj);
	uint64_t first = before > 0 ? vt->index.marks[before - 1].object + 1 : 0;
	uint64_t available = vt->obj - first;

	if (n <= available) {
		vtape_set_position(vt, vt->obj - n);
		*passed = n;
		return STOP_NONE;
	}
	*passed = available;
	if (before == 0) {
		vt->obj = 0;
		vt->pos = 0;
		return STOP_BOT;
	}
	vt->obj = vt->index.marks[before - 1].object;
	vt->pos = vt->index.marks[before - 1].offset;
	return STOP_MARK;
}

/* A 64-bit result of st's int arithmetic as mt_fileno/mt_blkno show it. */
int32_t vtape_st_counter(int64_t value)
{
	return value < INT32_MIN || value > INT32_MAX ? -1 : (int32_t)value;
}

/* SPACE's residue: requested minus done, with the sign of the direction moved. */
static int64_t residue(int64_t count, uint64_t passed)
{
	return count >= 0 ? count - (int64_t)passed : count + (int64_t)passed;
}

static int op_fsf(struct vtape *vt, int64_t count)
{
	int64_t fileno = vt->fileno >= 0 ? (int64_t)vt->fileno + count : vt->fileno;
	uint64_t passed;
	enum stop stop = count >= 0 ? marks_forward(vt, (uint64_t)count, &passed)
	                            : marks_backward(vt, (uint64_t)-count, &passed);

	if (stop == STOP_NONE) {
		vt->fileno = vtape_st_counter(fileno);
		vt->blkno = 0;
		vt->eof = TAPEIMAGE_EOF_FM;
		return 0;
	}
	/* EOD (BLANK CHECK) or BOT: the file number loses what was not spaced. */
	if (fileno >= 0)
		fileno -= residue(count, passed);
	vt->fileno = vtape_st_counter(fileno);
	vt->blkno = -1;
	vt->eof = stop == STOP_EOD ? TAPEIMAGE_EOF_EOD : TAPEIMAGE_EOF_NONE;
	return -EIO;
}

static int op_bsf(struct vtape *vt, int64_t count)
{
	int64_t fileno = vt->fileno >= 0 ? (int64_t)vt->fileno - count : vt->fileno;
	uint64_t passed;
	enum stop stop = count >= 0 ? marks_backward(vt, (uint64_t)count, &passed)
	                            : marks_forward(vt, (uint64_t)-count, &passed);
	int64_t undone;

	vt->eof = TAPEIMAGE_EOF_NONE;
	if (stop == STOP_NONE) {
		vt->fileno = vtape_st_counter(fileno);
		vt->blkno = -1;
		return 0;
	}
	/* SPACE went -count marks; st flips a negative residue for a positive count ("some
	 * drives get this wrong"), so undone is what was not spaced, either way. */
	undone = residue(-count, passed);
	if (count > 0 && undone < 0)
		undone = -undone;
	if (vt->fileno >= 0)
		vt->fileno = vtape_st_counter(fileno + undone);
	vt->blkno = 0;
	if (stop == STOP_EOD)
		vt->eof = TAPEIMAGE_EOF_EOD;
	return -EIO;
}

static int op_fsr(struct vtape *vt, int64_t count)
{
	int64_t blkno = vt->blkno >= 0 ? (int64_t)vt->blkno + count : vt->blkno;
	uint64_t passed;
	enum stop stop = count >= 0 ? records_forward(vt, (uint64_t)count, &passed)
	                            : records_backward(vt, (uint64_t)-count, &passed);
	int64_t undone;

	vt->eof = TAPEIMAGE_EOF_NONE;
	if (stop == STOP_NONE) {
		vt->blkno = vtape_st_counter(blkno);
		return 0;
	}
	if (stop == STOP_MARK) {
		/* A filemark stops it: after the mark going forward, before it going back. */
		if (vt->fileno >= 0)
			vt->fileno = vtape_st_counter((int64_t)vt->fileno + 1);
		vt->blkno = 0;
		vt->eof = TAPEIMAGE_EOF_FM;
		return -EIO;
	}
	undone = residue(count, passed);
	vt->blkno = blkno >= undone ? vtape_st_counter(blkno - undone) : -1;
	if (stop == STOP_EOD)
		vt->eof = TAPEIMAGE_EOF_EOD;
	return -EIO;
}

static int op_bsr(struct vtape *vt, int64_t count)
{
	int64_t blkno = vt->blkno >= 0 ? (int64_t)vt->blkno - count : vt->blkno;
	int32_t old_blkno = vt->blkno;
	uint64_t passed;
	enum stop stop = count >= 0 ? records_backward(vt, (uint64_t)count, &passed)
	                            : records_forward(vt, (uint64_t)-count, &passed);
	int64_t undone;

	vt->eof = TAPEIMAGE_EOF_NONE;
	if (stop == STOP_NONE) {
		vt->blkno = vtape_st_counter(blkno);
		return 0;
	}
	if (stop == STOP_MARK) {
		/* st decrements unconditionally; an unknown file number stays unknown here. */
		if (vt->fileno >= 0)
			vt->fileno--;
		vt->blkno = -1;
		return -EIO;
	}
	undone = residue(-count, passed); /* SPACE went -count blocks */
	if (count > 0 && undone < 0)
		undone = -undone;
	/* BOT comes with EOM sense, after which st counts from block 0. */
	if (stop == STOP_BOT || old_blkno >= 0)
		vt->blkno = vtape_st_counter(blkno + undone);
	if (stop == STOP_EOD)
		vt->eof = TAPEIMAGE_EOF_EOD;
	return -EIO;
}

static int op_eom(struct vtape *vt)
{
	size_t file = tapeimage_index_marks_before(&vt->index, vt->obj);

	if (vt->meta.drive_options & MT_ST_FAST_MTEOM)
		vt->fileno = -1;
	else
		vt->fileno = vtape_counter_add(vt->fileno, (int64_t)(vt->index.n_marks - file));
	vtape_go_eod(vt);
	vt->blkno = -1;
	vt->eof = TAPEIMAGE_EOF_EOD;
	return 0;
}

int vtape_op_seek(struct vtape *vt, int64_t block)
{
	vt->eof = TAPEIMAGE_EOF_NONE;
	/* st's LOCATE takes an unsigned block: a negative one is far past the end. */
	if (block < 0 || (uint64_t)block > vt->index.n_objects) {
		vtape_go_eod(vt);
		vt->fileno = vt->blkno = -1;
		return -EIO;
	}
	vtape_set_position(vt, (uint64_t)block);
	vt->fileno = vt->blkno = block == 0 ? 0 : -1;
	return 0;
}

static int op_erase(struct vtape *vt)
{
	int error;

	if (vtape_cannot_write(vt))
		return -EACCES;
	/* Everything from the position on is gone; st's counters do not move. */
	error = vtape_prepare_append(vt);
	if (error == 0)
		error = vtape_image_sync(vt);
	vt->eof = TAPEIMAGE_EOF_NONE;
	return error;
}

static int op_unload(struct vtape *vt)
{
	int error = vtape_image_sync(vt), meta_err;

	vtape_go_bot(vt);
	vtape_index_save(vt);
	vt->loaded = false;
	vt->rewind_on_close = false;
	vt->fileno = vt->blkno = -1;
	if (error == 0)
		vtape_clear_in_use(vt);
	meta_err = vtape_meta_save(vt);
	return error < 0 ? error : meta_err;
}

static int op_load(struct vtape *vt)
{
	if (!vt->loaded) {
		vt->meta.loads++;
		vt->loaded = true;
	}
	vt->rewind_on_close = vt->rewinding_device;
	vtape_go_bot(vt);
	return 0;
}

/* MTSETDRVBUFFER: the st option sub-commands this drive keeps; see rmt-vtape(1). */
static int op_drive_buffer(struct vtape *vt, int count)
{
	uint32_t sub = (uint32_t)count & MT_ST_OPTIONS;
	uint32_t bits = (uint32_t)count & MT_ST_BOOLEAN_BITS;

	switch (sub) {
	case 0:
		vt->meta.drive_buffer = (uint32_t)count & 7u;
		return 0;
	case MT_ST_BOOLEANS:
		vt->meta.drive_options = bits;
		return 0;
	case MT_ST_SETBOOLEANS:
		vt->meta.drive_options |= bits;
		return 0;
	case MT_ST_CLEARBOOLEANS:
		vt->meta.drive_options &= ~bits;
		return 0;
	case MT_ST_WRITE_THRESHOLD:
	case MT_ST_DEF_BLKSIZE:
	case MT_ST_DEF_OPTIONS:
	case MT_ST_TIMEOUTS:
	case MT_ST_SET_CLN:
		return 0; /* accepted; they tune st's buffering, which a vtape does not have */
	default:
		return -EINVAL;
	}
}

/* Operations that need no cartridge in the drive. */
static bool works_without_tape(int op)
{
	return op == MTLOAD || op == MTLOCK || op == MTUNLOCK || op == MTSETDRVBUFFER ||
	       op == MTSETPART || op == MTMKPART;
}

/* Operations after which st still writes the closing filemark (st_ioctl). */
static bool keeps_write_state(int op)
{
	return op == MTNOP || op == MTSETBLK || op == MTSETDENSITY || op == MTWSM ||
	       op == MTSETDRVBUFFER || op == MTSETPART;
}

/* A negative count would make st write 2^24 - n filemarks (the 24-bit SCSI field). */
static bool refuses_negative(int op)
{
	return op == MTWEOF || op == MTWEOFI;
}

int vtape_tape_op(struct device *dev, int op, int count)
{
	struct vtape *vt = vtape_of(dev);
	int64_t n = count;
	int error;

	if (!vt->loaded && !works_without_tape(op))
		return -ENOMEDIUM;
	if (refuses_negative(op) && count < 0)
		return -EINVAL;
	vtape_drop_partial(vt);
	/* "If rewind, offline, bsf, or seek is done and previous tape operation was write, a
	 * filemark is written before moving tape" (st.rst). */
	if (vt->rw == RW_WRITING &&
	    (op == MTREW || op == MTOFFL || op == MTSEEK || op == MTBSF || op == MTBSFM)) {
		error = vtape_op_weof(vt, 1, false);
		if (error < 0)
			return error;
		if (op == MTBSF || op == MTBSFM)
			n++;
	}
	if (!keeps_write_state(op))
		vt->rw = RW_IDLE;

	switch (op) {
	case MTFSF:
		return op_fsf(vt, n);
	case MTBSF:
		return op_bsf(vt, n);
	case MTFSFM:
		error = op_fsf(vt, n);
		if (error == 0)
			error = op_bsf(vt, 1);
		return error;
	case MTBSFM:
		error = op_bsf(vt, n);
		if (error == 0)
			error = op_fsf(vt, 1);
		return error;
	case MTFSR:
		return op_fsr(vt, n);
	case MTBSR:
		return op_bsr(vt, n);
	case MTWEOF:
	case MTWEOFI:
		return vtape_op_weof(vt, n, op == MTWEOFI);
	case MTREW:
	case MTRETEN:
		vtape_go_bot(vt);
		return 0;
	case MTOFFL:
	case MTUNLOAD:
		return op_unload(vt);
	case MTLOAD:
		return op_load(vt);
	case MTNOP:
		/* st flushes its buffer; here it is the point where written data is durable. */
		error = vt->image_writable ? vtape_image_sync(vt) : 0;
		if (vt->image_writable)
			vtape_index_save(vt);
		return error;
	case MTEOM:
		return op_eom(vt);
	case MTERASE:
		return op_erase(vt);
	case MTSETBLK:
		vt->meta.block_size = (uint32_t)count & MT_ST_BLKSIZE_MASK;
		return 0;
	case MTSETDENSITY:
		vt->meta.density = (uint32_t)count & 0xFFu;
		return 0;
	case MTSEEK:
		return vtape_op_seek(vt, n);
	case MTSETDRVBUFFER:
		return op_drive_buffer(vt, count);
	case MTLOCK:
	case MTUNLOCK:
		return 0;
	case MTCOMPRESSION:
		vt->meta.compression = (count & 1) != 0;
		return 0;
	case MTFSS:
	case MTBSS:
		return -EIO; /* no setmarks on this medium (as on LTO) */
	case MTWSM:
		return vtape_cannot_write(vt) ? -EACCES : -EIO;
	case MTSETPART:
	case MTMKPART:
		return -EINVAL; /* no partitions (st without MT_ST_CAN_PARTITIONS) */
	case MTTELL:
	default:
		return -ENOSYS; /* MTTELL: st never implemented it; use MTIOCPOS */
	}
}
