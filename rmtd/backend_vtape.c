/*
 * backend_vtape.c - a virtual tape in a SIMH .tap image that behaves like the Linux st
 * driver (doc/st-behaviour.md; the files: doc/vtape-format.md).
 *
 * The backend is one state machine (st's position, file and block numbers and "eof"
 * state, moved by every operation and read by every status, over one image) kept in
 * struct vtape (vtape_internal.h) and worked on by four files: this one (open, close,
 * write, status and rmt-vtape's helpers), vtape_sidecar.c (the .idx and .meta files),
 * vtape_motion.c (position and the tape operations) and vtape_read.c (reads).
 *
 * The image is authoritative; the index (tapeindex.c) is kept in memory while the tape is
 * open so that spacing, end-of-data and locate never read the whole image, and is saved
 * beside it. Position and st's "eof" state are saved in NAME.tap.meta at close so that
 * the next process (every rsh call starts a new rmtd) continues where this one stopped.
 *
 * What st reports is reproduced, including its blind spots: mt_fileno/mt_blkno are -1
 * after MTBSF, MTEOM, MTSEEK and errors even though the index knows the numbers.
 * The answers were checked line by line against the real driver with
 * tests/realtape/run.sh differential. Deliberate differences (documented in
 * rmt-vtape(1)): a negative MTWEOF count gives EINVAL, MTSETDRVBUFFER needs no
 * privilege, filemarks may be written past the capacity.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mtio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "backend_vtape.h"
#include "escape.h"
#include "log.h"
#include "path.h"
#include "state_file.h"
#include "tapeimage.h"
#include "tapeindex.h"
#include "tapemeta.h"
#include "vtape_internal.h"

/* ------------------------------------------------------------------ open and close */

static int open_directory(int directory_fd, const char *name, char *base, size_t base_size)
{
	const char *last;
	int fd = path_open_parent(directory_fd, name, O_RDONLY, &last);

	if (fd == -EACCES)
		fd = path_open_parent(directory_fd, name, O_PATH, &last);
	if (fd < 0)
		return fd;
	if (strlen(last) >= base_size) {
		close(fd);
		return -ENAMETOOLONG;
	}
	strlcpy(base, last, base_size);
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Open the image itself: read-write when possible (repair, and a tab-less tape). */
static int open_image(struct vtape *vt, int flags, bool *created)
{
	int fd;

	/* O_NONBLOCK so that a FIFO by that name cannot hang the open (it is refused later). */
	*created = false;
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		/* As open(2) on a file: only a new tape (write-once rules depend on it). */
		fd = path_open_beneath(vt->dir_fd, vt->base, O_RDWR | O_CREAT | O_EXCL, 0666);
		*created = fd >= 0;
		vt->image_writable = fd >= 0;
		return fd;
	}
	fd = path_open_beneath(vt->dir_fd, vt->base, O_RDWR | O_NONBLOCK, 0);
	if (fd == -ENOENT && (flags & O_CREAT)) {
		fd = path_open_beneath(vt->dir_fd, vt->base, O_RDWR | O_CREAT | O_EXCL, 0666);
		if (fd >= 0) {
			*created = true;
			vt->image_writable = true;
			return fd;
		}
		if (fd != -EEXIST)
			return fd; /* say why it could not be created, not that it is missing */
		fd = path_open_beneath(vt->dir_fd, vt->base, O_RDWR | O_NONBLOCK, 0);
	}
	if (fd == -EACCES || fd == -EROFS || fd == -EPERM || fd == -ETXTBSY) {
		fd = path_open_beneath(vt->dir_fd, vt->base, O_RDONLY | O_NONBLOCK, 0);
		vt->image_writable = false;
	} else {
		vt->image_writable = fd >= 0;
	}
	return fd;
}

static int close_filemarks(struct vtape *vt);

/* Load the index: use the saved one when it describes the image, else scan; repair. */
static int load_index(struct vtape *vt, uint64_t image_size)
{
	int idx_fd = vtape_sidecar_open(vt->dir_fd, vt->base, ".idx");
	int state = tapeimage_index_load(idx_fd, vt->fd, image_size, &vt->index);
	int error;

	if (idx_fd >= 0)
		close(idx_fd);
	if (state < 0)
		return state;
	vt->index_on_disk = idx_fd >= 0;
	vt->saved_generation = vt->index.generation;
	if (state != TAPEIMAGE_INDEX_VALID) {
		if (state == TAPEIMAGE_INDEX_STALE)
			tapeimage_index_reset(&vt->index);
		error = tapeimage_scan(vt->fd, image_size, &vt->index);
		if (error < 0)
			return error;
	}
	/* A saved index may describe a torn tail that a read-only open could not cut. */
	if (vt->index.end == TAPEIMAGE_END_TORN && vt->image_writable) {
		log_warnx("%s: incomplete object at offset %llu (interrupted write); image cut "
		          "back to its last whole object (%llu bytes)",
		          vt->canonical, (unsigned long long)vt->index.data_size,
		          (unsigned long long)vt->index.data_size);
		if (ftruncate(vt->fd, (off_t)vt->index.data_size) < 0)
			return -errno;
		vt->index.file_size = vt->index.data_size;
		vt->index.end = TAPEIMAGE_END_CLEAN;
		vt->index.generation++;
		vt->unsynced = true;
		vtape_index_forget(vt);
	} else if (state != TAPEIMAGE_INDEX_VALID && (vt->index.end == TAPEIMAGE_END_TORN ||
	                                              vt->index.end == TAPEIMAGE_END_CORRUPT)) {
		log_warnx("%s: %s at offset %llu: the data ends there", vt->canonical,
		          tapeimage_end_name(vt->index.end),
		          (unsigned long long)vt->index.data_size);
	}
	return 0;
}

/* Continue where the last close left the tape, if the image still agrees. */
static void restore_position(struct vtape *vt)
{
	const struct tapeimage_meta *m = &vt->meta;
	uint64_t start = 0, end = 0;

	vtape_go_bot(vt);
	if (!m->has_position || !m->loaded)
		return;
	if (tapeimage_index_locate(&vt->index, m->position, &start) < 0)
		goto moved;
	if (m->position > 0)
		tapeimage_index_object_end(&vt->index, m->position - 1, &end);
	if (m->position_offset != start && m->position_offset != end)
		goto moved;
	vt->obj = m->position;
	vt->pos = m->position_offset;
	vt->fileno = m->file_number;
	vt->blkno = m->block_number;
	vt->eof = m->eof_state;
	return;
moved:
	log_info("%s: the saved position (object %llu) is not in the image any more; rewound",
	         vt->canonical, (unsigned long long)m->position);
}

/*
 * The last process that changed the image died without closing it (a crash, a kill,
 * a power cut): do what st does when its holder goes away after writing. The
 * data ends with the last whole object (load_index cut a torn one); a filemark is
 * written after it unless one is there, and the tape is at the end of data (at
 * BOT if that process had the rewinding variant), so the next archive goes after
 * every record the dead process had acknowledged.
 */
static void recover_unclean_end(struct vtape *vt)
{
	uint64_t n = vt->index.n_objects;
	bool ends_with_mark = n > 0 && tapeimage_index_is_mark(&vt->index, n - 1);
	bool rewinds = vt->meta.in_use_rewinds;
	char what[160] = "the data already ended with a filemark";
	int error = 0;

	vtape_go_eod(vt);
	vt->fileno = vtape_st_counter((int64_t)vt->index.n_marks);
	vt->blkno = 0;
	vt->eof = n > 0 ? TAPEIMAGE_EOF_FM : TAPEIMAGE_EOF_NONE;
	if (n == 0) {
		strlcpy(what, "the tape is blank", sizeof(what));
	} else if (!ends_with_mark && vt->write_prot) {
		strlcpy(what,
		        "the tape is write-protected, so the filemark after its last record is "
		        "still missing",
		        sizeof(what));
		vt->unclean_kept = true;
	} else if (!ends_with_mark && (error = close_filemarks(vt)) < 0) {
		snprintf(what, sizeof(what),
		         "the filemark after its last record cannot be written "
		         "(%s)",
		         strerror(-error));
		vt->unclean_kept = true;
	} else if (!ends_with_mark) {
		strlcpy(what, "wrote the missing filemark after the last whole record",
		        sizeof(what));
	}
	if (vt->unclean_kept) {
		vtape_go_eod(vt);
		vt->blkno = -1;
		vt->eof = TAPEIMAGE_EOF_NONE;
	}
	if (rewinds)
		vtape_go_bot(vt);
	log_warnx("%s: the last process writing this tape ended without closing it; %s; "
	          "the tape is at %s (object %llu)",
	          vt->canonical, what, rewinds ? "BOT (rewinding device)" : "the end of data",
	          (unsigned long long)vt->obj);
	if (vt->unclean_kept)
		return; /* the mark stays for an open that can write the filemark */
	vt->meta.in_use = false;
	vt->meta.in_use_rewinds = false;
	vt->in_use_saved = false;
	vtape_meta_save(vt); /* a failure is logged; the close tries again and reports it */
}

/* The image needs no recovery any more: a clean close or unload takes the mark back. */
void vtape_clear_in_use(struct vtape *vt)
{
	if (vt->unclean_kept)
		return;
	vt->meta.in_use = false;
	vt->meta.in_use_rewinds = false;
	vt->in_use_saved = false;
}

static void vtape_free(struct vtape *vt)
{
	if (vt->fd >= 0)
		close(vt->fd);
	if (vt->dir_fd >= 0)
		close(vt->dir_fd);
	tapeimage_index_free(&vt->index);
	tapeimage_meta_free(&vt->meta);
	free(vt->partial);
	free(vt->canonical);
	free(vt->meta_on_disk);
	free(vt);
}

static int vtape_open(struct device *dev, const struct open_target *target)
{
	struct vtape *vt;
	struct stat st;
	bool created, found;
	int error;

	vt = calloc(1, sizeof(*vt));
	if (vt == NULL)
		return -ENOMEM;
	vt->fd = -1;
	vt->canonical = strdup(target->canonical != NULL ? target->canonical : target->name);
	tapeimage_index_init(&vt->index);
	tapeimage_meta_init(&vt->meta, 0);
	vt->access = target->flags & O_ACCMODE;
	vt->rewind_on_close = vt->rewinding_device = target->rewind_on_close;
	if (vt->canonical == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	vt->dir_fd = open_directory(target->directory_fd, target->name, vt->base, sizeof(vt->base));
	if (vt->dir_fd < 0) {
		error = vt->dir_fd;
		goto fail;
	}
	/* O_TRUNC is ignored: opening a tape never erases it (st ignores it too). */
	vt->fd = open_image(vt, target->flags, &created);
	if (vt->fd < 0) {
		error = vt->fd;
		goto fail;
	}
	tapeimage_reader_init(&vt->reader, vt->fd);
	if (fstat(vt->fd, &st) < 0) {
		error = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		error = -EINVAL;
		goto fail;
	}
	/* In an allowed directory a second hard link reaches an image the rules may not allow. */
	if (target->directory_fd != AT_FDCWD && st.st_nlink > 1) {
		char shown[PATH_MAX * 4 + 1];

		log_warnx("%s: a virtual tape with more than one hard link inside an allowed "
		          "directory; not served",
		          escape_text(shown, sizeof(shown), vt->canonical));
		error = -EACCES;
		goto fail;
	}
	error = backend_lock(vt->fd, LOCK_EX);
	if (error < 0)
		goto fail;
	if (created) {
		uint64_t capacity =
		    target->create_capacity ? target->create_capacity : VTAPE_DEFAULT_CAPACITY;

		tapeimage_meta_free(&vt->meta);
		tapeimage_meta_init(&vt->meta, capacity);
		vt->meta.created = (int64_t)time(NULL);
		vt->meta.loads = 1;
		log_info("%s: created a blank tape of %llu bytes", vt->canonical,
		         (unsigned long long)capacity);
	} else {
		error = vtape_read_meta(vt->dir_fd, vt->base, &vt->meta, &found, vt->canonical);
		if (error < 0) {
			log_warnx("%s: metadata file unreadable: %s", vt->canonical,
			          strerror(-error));
			error = error == -ENOMEM ? -ENOMEM : -EIO;
			goto fail;
		}
		if (found)
			vtape_meta_loaded(vt);
	}
	vt->write_prot = vt->meta.write_protect || !vt->image_writable;
	if (vt->write_prot && vt->access != O_RDONLY && !(target->flags & O_NONBLOCK)) {
		error = -EROFS;
		goto fail;
	}
	error = load_index(vt, (uint64_t)st.st_size);
	if (error < 0) {
		log_warnx("%s: cannot read the image: %s", vt->canonical, strerror(-error));
		goto fail;
	}
	restore_position(vt);
	if (vt->meta.in_use)
		recover_unclean_end(vt);
	vt->loaded = true;
	if (!vt->meta.loaded) {
		vt->meta.loads++;
		vt->meta.loaded = true;
	}
	vt->rw = RW_IDLE;
	vt->sync_records = target->sync_records;
	if (created && (error = vtape_meta_save(vt)) < 0)
		goto fail;
	dev->fd = vt->fd;
	dev->is_tape = true;
	dev->open_flags = target->flags;
	dev->state = vt;
	return 0;
fail:
	vtape_free(vt);
	return error;
}

/* st_flush: after a write, one filemark (two with MT_ST_TWO_FM, left between them). */
static int close_filemarks(struct vtape *vt)
{
	bool two = (vt->meta.drive_options & MT_ST_TWO_FM) != 0;
	int error = vtape_append_marks(vt, two ? 2 : 1);

	if (error < 0)
		return error;
	vt->fileno = vtape_counter_add(vt->fileno, 1);
	vt->blkno = 0;
	vt->eof = TAPEIMAGE_EOF_FM;
	if (two)
		vtape_set_position(vt, vt->obj - 1);
	return vtape_image_sync(vt);
}

static int vtape_close(struct device *dev)
{
	struct vtape *vt = vtape_of(dev);
	int result = 0, error;

	vtape_drop_partial(vt);
	if (vt->loaded && vt->rw == RW_WRITING)
		result = close_filemarks(vt);
	vt->rw = RW_IDLE;
	if (vt->loaded && vt->rewind_on_close)
		vtape_go_bot(vt);
	if (vt->image_writable) {
		error = vtape_image_sync(vt);
		if (result == 0)
			result = error;
	}
	vtape_index_save(vt);
	/* The data is synced: the image no longer needs recovering (unless this fails). */
	vtape_clear_in_use(vt);
	error = vtape_meta_save(vt);
	/* A read-only image's position is kept where possible, but is no reason to fail. */
	if (result == 0 && vt->image_writable)
		result = error;
	vtape_free(vt);
	dev->state = NULL;
	dev->fd = -1;
	return result;
}

/* ------------------------------------------------------------------ write */

/* Image offset past which writes report early warning. */
static uint64_t early_warning_point(const struct vtape *vt)
{
	if (vt->meta.early_warning >= vt->meta.capacity)
		return 0;
	return vt->meta.capacity - vt->meta.early_warning;
}

static ssize_t vtape_write(struct device *dev, const void *buf, size_t count)
{
	struct vtape *vt = vtape_of(dev);
	uint32_t length = vt->meta.block_size ? vt->meta.block_size : (uint32_t)count;
	uint64_t span, offset, object, blocks, fit, end;
	int error;

	if (vt->access == O_RDONLY)
		return -EBADF; /* the VFS refuses write(2) on a read-only descriptor */
	if (!vt->loaded)
		return -ENOMEDIUM;
	if (count == 0)
		return 0;
	if (vt->meta.block_size == 0 && count > TAPEIMAGE_MAX_RECORD)
		return -EINVAL;
	if (vt->meta.block_size != 0 && count % vt->meta.block_size != 0)
		return -EINVAL;
	if (vtape_cannot_write(vt))
		return -EACCES;
	vtape_drop_partial(vt);
	if (vt->rw == RW_READING)
		vt->rw = RW_WRITING;
	if (vt->eof == TAPEIMAGE_EOF_EOM_OK) {
		vt->eof = TAPEIMAGE_EOF_EOD_1; /* early warning: refuse one, allow the next */
		return -ENOSPC;
	}
	if (vt->eof == TAPEIMAGE_EOF_EOM_ERROR)
		return -EIO;
	vt->rw = RW_WRITING;
	span = tapeimage_record_span(length);
	blocks = count / length;
	offset = vtape_write_offset(vt);
	fit = blocks;
	if (vt->meta.capacity != 0)
		fit = offset >= vt->meta.capacity ? 0 : (vt->meta.capacity - offset) / span;
	if (fit == 0) {
		vt->eof = TAPEIMAGE_EOF_EOM_OK; /* VOLUME OVERFLOW: nothing written */
		return -ENOSPC;
	}
	if (fit > blocks)
		fit = blocks;
	error = vtape_prepare_append(vt);
	if (error < 0)
		return error;
	object = vt->obj;
	error = tapeimage_write_records(vt->fd, offset, buf, length, (size_t)fit);
	for (uint64_t i = 0; error == 0 && i < fit; i++)
		error = tapeimage_index_add_record(&vt->index, length);
	if (error < 0) {
		log_warnx("%s: write of %zu bytes failed: %s", vt->canonical, count,
		          strerror(-error));
		vtape_undo_append(vt, object, offset);
		vt->meta.errors++;
		vt->blkno = -1;
		return vtape_write_error(error);
	}
	vt->unsynced = true;
	vt->obj = vt->index.n_objects;
	vt->pos = end = vt->index.data_size;
	vt->blkno = vtape_counter_add(vt->blkno, (int64_t)fit);
	vt->meta.bytes_written += fit * length;
	vt->meta.records_written += fit;
	if (fit < blocks || (vt->meta.capacity != 0 && vt->meta.early_warning != 0 &&
	                     end > early_warning_point(vt)))
		vt->eof = TAPEIMAGE_EOF_EOM_OK; /* past early warning: GMT_EOT */
	else if (vt->eof == TAPEIMAGE_EOF_EOD_1)
		vt->eof = TAPEIMAGE_EOF_EOM_OK;
	else if (vt->eof != TAPEIMAGE_EOF_EOM_OK)
		vt->eof = TAPEIMAGE_EOF_NONE;
	/* Synchronous records: on the disk before the client hears of them. */
	if (vt->sync_records && (error = vtape_image_sync(vt)) < 0)
		return error;
	return (ssize_t)(fit * length);
}

static int vtape_status(struct device *dev, struct mtget *status)
{
	struct vtape *vt = vtape_of(dev);
	uint32_t gstat = 0;
	uint32_t options = vt->meta.drive_options;

	vtape_drop_partial(vt); /* MTIOCGET flushes st's read-ahead */
	memset(status, 0, sizeof(*status));
	status->mt_type = MT_ISSCSI2;
	status->mt_resid = 0; /* the partition */
	status->mt_dsreg = (long)((vt->meta.block_size & MT_ST_BLKSIZE_MASK) |
	                          ((vt->meta.density & 0xFFu) << MT_ST_DENSITY_SHIFT));
	status->mt_fileno = vt->fileno;
	status->mt_blkno = vt->blkno;
	if (vt->loaded) {
		gstat |= GMT_BIT_ONLINE;
		if (vt->write_prot)
			gstat |= GMT_BIT_WR_PROT;
	} else {
		gstat |= GMT_BIT_DR_OPEN;
	}
	if (vt->blkno == 0)
		gstat |= vt->fileno == 0 ? GMT_BIT_BOT : GMT_BIT_EOF;
	if (vt->eof == TAPEIMAGE_EOF_EOM_OK || vt->eof == TAPEIMAGE_EOF_EOM_ERROR)
		gstat |= GMT_BIT_EOT;
	else if (vt->eof >= TAPEIMAGE_EOF_EOM_OK)
		gstat |= GMT_BIT_EOD;
	if (vt->meta.density == 1)
		gstat |= GMT_BIT_D_800;
	else if (vt->meta.density == 2)
		gstat |= GMT_BIT_D_1600;
	else if (vt->meta.density == 3)
		gstat |= GMT_BIT_D_6250;
	if ((options & MT_ST_ASYNC_WRITES) ||
	    ((options & MT_ST_BUFFER_WRITES) && vt->meta.block_size != 0) ||
	    vt->meta.drive_buffer != 0)
		gstat |= GMT_BIT_IM_REP_EN;
	status->mt_gstat = (long)gstat;
	return 0;
}

static int vtape_position(struct device *dev, int64_t *block)
{
	struct vtape *vt = vtape_of(dev);

	if (!vt->loaded)
		return -ENOMEDIUM;
	vtape_drop_partial(vt);
	*block = (int64_t)vt->obj;
	/* READ POSITION reports BOP there, and st then sets file and block to 0 (get_location). */
	if (vt->obj == 0)
		vt->fileno = vt->blkno = 0;
	return 0;
}

static int vtape_locate(struct device *dev, int64_t block)
{
	struct vtape *vt = vtape_of(dev);
	int error;

	if (!vt->loaded)
		return -ENOMEDIUM;
	vtape_drop_partial(vt);
	if (vt->rw == RW_WRITING) {
		error = vtape_op_weof(vt, 1, false);
		if (error < 0)
			return error;
	}
	vt->rw = RW_IDLE;
	return vtape_op_seek(vt, block);
}

/* lseek on st is noop_llseek: 0, nothing moves. */
static int64_t vtape_seek(struct device *dev, int64_t offset, int whence)
{
	return 0;
}

static int64_t vtape_room(struct device *dev)
{
	const struct vtape *vt = vtape_of(dev);
	uint64_t point = early_warning_point(vt), offset;

	if (vt->meta.capacity == 0 || point == 0)
		return -1;
	offset = vtape_write_offset(vt);
	return offset >= point ? 0 : (int64_t)(point - offset);
}

const struct backend_ops backend_vtape_ops = {
    .name = "vtape",
    .open = vtape_open,
    .close = vtape_close,
    .read = vtape_read,
    .write = vtape_write,
    .seek = vtape_seek,
    .tape_op = vtape_tape_op,
    .status = vtape_status,
    .position = vtape_position,
    .locate = vtape_locate,
    .room = vtape_room,
};

/* ------------------------------------------------------------------ rmt-vtape helpers */

/* rmt-vtape works on an image without opening it as a drive: the name, its directory. */
static int vtape_for_tool(int directory_fd, const char *name, struct vtape **out)
{
	struct vtape *vt = calloc(1, sizeof(*vt));
	int error;

	*out = vt;
	if (vt == NULL)
		return -ENOMEM;
	vt->fd = -1;
	tapeimage_index_init(&vt->index);
	tapeimage_meta_init(&vt->meta, 0);
	vt->canonical = strdup(name);
	vt->dir_fd = open_directory(directory_fd, name, vt->base, sizeof(vt->base));
	if (vt->canonical == NULL || vt->dir_fd < 0) {
		error = vt->canonical == NULL ? -ENOMEM : vt->dir_fd;
		vtape_free(vt);
		*out = NULL;
		return error;
	}
	return 0;
}

int vtape_create(int directory_fd, const char *name, const struct tapeimage_meta *meta)
{
	struct vtape *vt;
	int error;

	error = vtape_for_tool(directory_fd, name, &vt);
	if (error < 0)
		return error;
	vt->fd = path_open_beneath(vt->dir_fd, vt->base, O_RDWR | O_CREAT | O_EXCL, 0666);
	if (vt->fd < 0) {
		error = vt->fd;
		goto out;
	}
	if (flock(vt->fd, LOCK_EX | LOCK_NB) < 0) {
		error = -errno;
		goto out;
	}
	vt->index_on_disk = true;
	vtape_index_forget(vt);
	error = vtape_sidecar_replace(vt, ".meta", true, vtape_fill_meta, meta);
	if (error < 0)
		unlinkat(vt->dir_fd, vt->base, 0);
out:
	vtape_free(vt);
	return error;
}

int vtape_set_write_protect(int directory_fd, const char *name, bool protect)
{
	struct vtape *vt;
	bool found;
	int error;

	error = vtape_for_tool(directory_fd, name, &vt);
	if (error < 0)
		return error;
	vt->fd = path_open_beneath(vt->dir_fd, vt->base, O_RDONLY | O_NONBLOCK, 0);
	if (vt->fd < 0) {
		error = vt->fd;
		goto out;
	}
	/* A drive holding the tape keeps its own copy of the metadata and would overwrite ours. */
	if (flock(vt->fd, LOCK_EX | LOCK_NB) < 0) {
		error = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto out;
	}
	error = vtape_read_meta(vt->dir_fd, vt->base, &vt->meta, &found, NULL);
	if (error < 0)
		goto out;
	/* Without a .meta the defaults stand (no capacity limit), now written down. */
	vt->meta.write_protect = protect;
	error = vtape_sidecar_replace(vt, ".meta", true, vtape_fill_meta, &vt->meta);
out:
	vtape_free(vt);
	return error;
}

int vtape_inspect(int directory_fd, const char *name, struct vtape_inspection *out)
{
	char base[NAME_MAX + 1];
	struct stat st;
	int dir_fd, fd, idx_fd, state, error;

	memset(out, 0, sizeof(*out));
	tapeimage_index_init(&out->index);
	tapeimage_meta_init(&out->meta, 0);
	dir_fd = open_directory(directory_fd, name, base, sizeof(base));
	if (dir_fd < 0)
		return dir_fd;
	fd = path_open_beneath(dir_fd, base, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0) {
		close(dir_fd);
		return fd;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		error = S_ISREG(st.st_mode) ? -errno : -EINVAL;
		goto out;
	}
	out->image_size = (uint64_t)st.st_size;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		out->busy = true;
	error = vtape_read_meta(dir_fd, base, &out->meta, &out->has_meta, NULL);
	if (error < 0)
		goto out;
	idx_fd = vtape_sidecar_open(dir_fd, base, ".idx");
	state = tapeimage_index_load(idx_fd, fd, out->image_size, &out->index);
	if (idx_fd >= 0)
		close(idx_fd);
	if (state < 0) {
		error = state;
		goto out;
	}
	out->index_state = (enum tapeimage_index_state)state;
	if (state != TAPEIMAGE_INDEX_VALID)
		error = tapeimage_scan(fd, out->image_size, &out->index);
out:
	close(fd);
	close(dir_fd);
	return error;
}

void vtape_inspection_free(struct vtape_inspection *inspection)
{
	tapeimage_index_free(&inspection->index);
	tapeimage_meta_free(&inspection->meta);
}
