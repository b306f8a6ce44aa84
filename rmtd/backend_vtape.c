/*
 * backend_vtape.c - a virtual tape in a SIMH .tap image that behaves like the Linux st
 * driver (doc/st-behaviour.md; the files: doc/vtape-format.md).
 *
 * One file because it is one state machine: st's position (file and block numbers)
 * and "eof" state, moved by every operation and read by every status, over one image.
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

/* Linux mtio.h values glibc's header lacks. */
#ifndef MT_ST_TIMEOUTS
#define MT_ST_TIMEOUTS 0x70000000
#endif
#ifndef MT_ST_SET_CLN
#define MT_ST_SET_CLN 0x80000000
#endif
#define MT_ST_BOOLEAN_BITS 0xFFFFu /* BUFFER_WRITES .. NOWAIT_EOF */
#define GMT_BIT_EOF        0x80000000u
#define GMT_BIT_BOT        0x40000000u
#define GMT_BIT_EOT        0x20000000u
#define GMT_BIT_EOD        0x08000000u
#define GMT_BIT_WR_PROT    0x04000000u
#define GMT_BIT_ONLINE     0x01000000u
#define GMT_BIT_D_6250     0x00800000u
#define GMT_BIT_D_1600     0x00400000u
#define GMT_BIT_D_800      0x00200000u
#define GMT_BIT_DR_OPEN    0x00040000u
#define GMT_BIT_IM_REP_EN  0x00010000u

/* At a filemark the index is saved at most this often (seconds); a crash costs at most a
 * forward scan over what was written since. Close, unload and MTNOP always save it. */
#define INDEX_SAVE_INTERVAL 1

enum rw_state { RW_IDLE, RW_READING, RW_WRITING };

struct vtape {
	int dir_fd;                 /* the image's directory */
	char base[NAME_MAX + 1];    /* the image's name in dir_fd */
	char *canonical;            /* for logs */
	int fd;                     /* the image */
	bool image_writable;        /* fd is open O_RDWR */
	int access;                 /* O_ACCMODE of the client's open */
	bool rewind_on_close;       /* st: rew_at_close */
	bool rewinding_device;      /* st: autorew_dev (restored by MTLOAD) */
	bool loaded;                /* a cartridge is in the drive */
	bool write_prot;            /* the cartridge's write-protect tab */
	struct tapeimage_meta meta; /* cartridge, drive settings, counters */
	struct tapeimage_index index;
	uint64_t saved_generation; /* index generation on disk */
	bool index_on_disk;        /* an .idx file may exist */
	time_t index_saved_at;
	bool unsynced;      /* written since the last fdatasync */
	bool sync_records;  /* fdatasync every record and filemark before answering */
	bool in_use_saved;  /* .meta says a process is changing the image */
	bool unclean_kept;  /* a dead writer's filemark could not be written: keep the mark */
	bool meta_warned;   /* saving .meta failed once: say it once */
	char *meta_on_disk; /* the .meta as last read or written, formatted */
	/* st's position bookkeeping */
	uint64_t pos;          /* byte offset: after the previous object */
	uint64_t obj;          /* logical object number */
	int32_t fileno, blkno; /* drv_file, drv_block; -1 = unknown */
	enum tapeimage_eof_state eof;
	enum rw_state rw;
	/* fixed-block mode: the unread rest of a block a short read consumed */
	unsigned char *partial;
	size_t partial_capacity, partial_length, partial_used;
	/* fixed-block mode: blocks left of st's last READ window, and whether st has
	 * given up direct I/O for this open (after a read that splits a block) */
	uint32_t window_left;
	bool buffered_reads;
};

static struct vtape *vtape_of(struct device *dev)
{
	return dev->state;
}

/* ------------------------------------------------------------------ sidecar files */

static int sidecar_name(const struct vtape *vt, const char *suffix, char *out, size_t size)
{
	if (snprintf(out, size, "%s%s", vt->base, suffix) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

static int regular_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

/* Write a sidecar atomically (state_file.h): NAME.new first, optional fsync, rename. */
static int sidecar_replace(struct vtape *vt, const char *suffix, bool durable,
                           int (*fill)(int fd, const void *arg), const void *arg)
{
	char name[NAME_MAX + 32], temp[NAME_MAX + 40];
	struct state_replace how = {
	    .temporary = temp, .create_mode = 0666, .durable = durable, .nonblocking = true};
	struct stat image;
	int error;

	if ((error = sidecar_name(vt, suffix, name, sizeof(name))) < 0 ||
	    (error = sidecar_name(vt, suffix, temp, sizeof(temp))) < 0)
		return error;
	strlcat(temp, ".new", sizeof(temp));
	/*
	 * The sidecars carry the image's own permissions, whatever umask the
	 * client left rmtd with: a world-writable .meta would let anyone lift
	 * the write protection or change the capacity.
	 */
	if (vt->fd >= 0 && fstat(vt->fd, &image) == 0) {
		how.set_mode = true;
		how.mode = image.st_mode & 0666 & ~(mode_t)0022;
	}
	return state_replace_at(vt->dir_fd, name, &how, fill, arg);
}

static int sidecar_open(int dir_fd, const char *base, const char *suffix)
{
	char name[NAME_MAX + 32];
	int fd;

	if (snprintf(name, sizeof(name), "%s%s", base, suffix) >= (int)sizeof(name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && regular_file(fd) < 0) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

struct index_fill {
	const struct tapeimage_index *index;
	uint32_t tail_check;
};

static int fill_index(int fd, const void *arg)
{
	const struct index_fill *f = arg;

	return tapeimage_index_save(fd, f->index, f->tail_check);
}

static int fill_meta(int fd, const void *arg)
{
	return tapeimage_meta_write(fd, arg);
}

/* Save the index if it changed. It is derived data: no fsync (a torn one fails its CRC). */
static void index_save(struct vtape *vt)
{
	struct index_fill f = {.index = &vt->index};
	int error;

	if (vt->index.generation == vt->saved_generation && vt->index_on_disk)
		return;
	error = tapeimage_tail_check(vt->fd, vt->index.file_size, &f.tail_check);
	if (error == 0)
		error = sidecar_replace(vt, ".idx", false, fill_index, &f);
	if (error < 0) {
		log_debug("%s: index not saved: %s", vt->canonical, strerror(-error));
		return;
	}
	vt->saved_generation = vt->index.generation;
	vt->index_on_disk = true;
	vt->index_saved_at = time(NULL);
}

/* After a truncation the saved index describes a file that no longer exists: drop it. */
static void index_forget(struct vtape *vt)
{
	char name[NAME_MAX + 32];

	if (!vt->index_on_disk || sidecar_name(vt, ".idx", name, sizeof(name)) < 0)
		return;
	if (unlinkat(vt->dir_fd, name, 0) == 0 || errno == ENOENT)
		vt->index_on_disk = false;
}

/* Save .meta durably if it changed. Returns 0 or -errno (logged once per open). */
static int meta_save(struct vtape *vt)
{
	char *text = NULL;
	size_t length;
	int error;

	vt->meta.has_position = true;
	vt->meta.position = vt->obj;
	vt->meta.position_offset = vt->pos;
	vt->meta.file_number = vt->fileno;
	vt->meta.block_number = vt->blkno;
	vt->meta.eof_state = vt->eof;
	vt->meta.loaded = vt->loaded;
	/* An open and close that changed nothing (mt status) need not rewrite the file. */
	if (tapeimage_meta_format(&vt->meta, &text, &length) < 0)
		text = NULL;
	if (text != NULL && vt->meta_on_disk != NULL && strcmp(text, vt->meta_on_disk) == 0) {
		free(text);
		return 0;
	}
	free(vt->meta_on_disk);
	vt->meta_on_disk = NULL;
	error = sidecar_replace(vt, ".meta", true, fill_meta, &vt->meta);
	if (error == 0) {
		vt->meta_on_disk = text;
		return 0;
	}
	free(text);
	if (!vt->meta_warned) {
		log_warnx("%s: cannot save the tape's metadata (position is lost): %s",
		          vt->canonical, strerror(-error));
		vt->meta_warned = true;
	}
	return error;
}

/*
 * Before the first change to the image, say durably in .meta that a process is
 * changing it; a clean close takes it back. Finding it at open means the last
 * holder died without its closing filemark (see recover_unclean_end).
 */
static int mark_in_use(struct vtape *vt)
{
	int error;

	if (vt->in_use_saved)
		return 0;
	vt->meta.in_use = true;
	vt->meta.in_use_rewinds = vt->rewind_on_close;
	error = meta_save(vt);
	if (error < 0) {
		vt->meta.in_use = false;
		return error;
	}
	vt->in_use_saved = true;
	return 0;
}

/* Remember the metadata as the file holds it, for meta_save's comparison. */
static void meta_loaded(struct vtape *vt)
{
	size_t length;

	free(vt->meta_on_disk);
	if (tapeimage_meta_format(&vt->meta, &vt->meta_on_disk, &length) < 0)
		vt->meta_on_disk = NULL;
}

static int image_sync(struct vtape *vt)
{
	if (!vt->unsynced)
		return 0;
	if (fdatasync(vt->fd) < 0) {
		log_warn("%s: fdatasync", vt->canonical);
		return -EIO;
	}
	vt->unsynced = false;
	return 0;
}

/* ------------------------------------------------------------------ position helpers */

static void set_position(struct vtape *vt, uint64_t object)
{
	uint64_t offset = 0;

	if (tapeimage_index_locate(&vt->index, object, &offset) < 0) {
		object = vt->index.n_objects;
		offset = vt->index.data_size;
	}
	vt->obj = object;
	vt->pos = offset;
}

static void go_bot(struct vtape *vt)
{
	vt->obj = 0;
	vt->pos = 0;
	vt->fileno = 0;
	vt->blkno = 0;
	vt->eof = TAPEIMAGE_EOF_NONE;
}

static void go_eod(struct vtape *vt)
{
	vt->obj = vt->index.n_objects;
	vt->pos = vt->index.data_size;
}

static void drop_partial(struct vtape *vt)
{
	vt->partial_length = vt->partial_used = 0;
	vt->window_left = 0;
}

/* st's counters: unknown (-1) stays unknown, one that would overflow becomes unknown. */
static int32_t counter_add(int32_t value, int64_t delta)
{
	int64_t sum;

	if (value < 0)
		return value;
	sum = (int64_t)value + delta;
	return sum < 0 || sum > INT32_MAX ? -1 : (int32_t)sum;
}

static bool cannot_write(const struct vtape *vt)
{
	return vt->write_prot || vt->access == O_RDONLY;
}

/* The object at the position, with gap words skipped through the index. */
static int next_object(struct vtape *vt, struct tapeimage_object *o)
{
	uint64_t start;
	int error;

	if (vt->obj >= vt->index.n_objects) {
		memset(o, 0, sizeof(*o));
		o->kind = TAPEIMAGE_OBJ_EOD;
		o->offset = o->end = vt->pos;
		return 0;
	}
	error = tapeimage_peek(vt->fd, vt->pos, vt->index.data_size, o);
	if (error < 0)
		return error;
	if (o->kind == TAPEIMAGE_OBJ_MARK || o->kind == TAPEIMAGE_OBJ_RECORD)
		return 0;
	if (tapeimage_index_locate(&vt->index, vt->obj, &start) < 0 || start == vt->pos) {
		o->kind = TAPEIMAGE_OBJ_BAD;
		return 0;
	}
	vt->pos = start;
	error = tapeimage_peek(vt->fd, vt->pos, vt->index.data_size, o);
	if (error == 0 && o->kind != TAPEIMAGE_OBJ_MARK && o->kind != TAPEIMAGE_OBJ_RECORD)
		o->kind = TAPEIMAGE_OBJ_BAD;
	return error;
}

/* Where a write at the position goes: the end of the previous object. */
static uint64_t write_offset(const struct vtape *vt)
{
	uint64_t end = 0;

	if (vt->obj == vt->index.n_objects)
		return vt->index.data_size;
	if (vt->obj > 0)
		tapeimage_index_object_end(&vt->index, vt->obj - 1, &end);
	return end;
}

static int write_error(int error)
{
	return error == -ENOSPC || error == -EDQUOT || error == -EFBIG ? -ENOSPC : -EIO;
}

/* Make the position the end of data: a drive forgets everything after what it writes. */
static int prepare_append(struct vtape *vt)
{
	int error = mark_in_use(vt);

	if (error < 0)
		return write_error(error);
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
	index_forget(vt);
	return 0;
}

/* Undo a failed append: cut image and index back to `object` objects. */
static void undo_append(struct vtape *vt, uint64_t object, uint64_t offset)
{
	if (vt->index.n_objects > object)
		tapeimage_index_truncate(&vt->index, object);
	if (ftruncate(vt->fd, (off_t)offset) < 0)
		log_warn("%s: ftruncate after a failed write", vt->canonical);
	vt->obj = object;
	vt->pos = offset;
}

/* Append count filemarks at the position. */
static int append_marks(struct vtape *vt, int64_t count)
{
	uint64_t object, offset;
	int error;

	if (count <= 0)
		return 0;
	error = prepare_append(vt);
	if (error < 0)
		return error;
	object = vt->obj;
	offset = vt->pos;
	error = tapeimage_write_marks(vt->fd, offset, (size_t)count);
	for (int64_t i = 0; error == 0 && i < count; i++)
		error = tapeimage_index_add_mark(&vt->index);
	if (error < 0) {
		undo_append(vt, object, offset);
		vt->meta.errors++;
		return write_error(error);
	}
	vt->unsynced = true;
	vt->obj = vt->index.n_objects;
	vt->pos = vt->index.data_size;
	vt->meta.filemarks_written += (uint64_t)count;
	return vt->sync_records ? image_sync(vt) : 0;
}

/* ------------------------------------------------------------------ open and close */

static int open_directory(int directory_fd, const char *name, char *base, size_t base_size)
{
	const char *slash = strrchr(name, '/');
	char dir[PATH_MAX];
	int fd;

	if (slash == NULL) {
		strlcpy(dir, ".", sizeof(dir));
		slash = name - 1;
	} else if (slash == name) {
		strlcpy(dir, "/", sizeof(dir));
	} else {
		if ((size_t)(slash - name) >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, name, (size_t)(slash - name));
		dir[slash - name] = '\0';
	}
	if (strlen(slash + 1) >= base_size)
		return -ENAMETOOLONG;
	strlcpy(base, slash + 1, base_size);
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -EINVAL;
	fd = path_open_beneath(directory_fd, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -EACCES)
		fd = path_open_beneath(directory_fd, dir, O_PATH | O_DIRECTORY, 0);
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
static int32_t st_counter(int64_t value);

/* Load the index: use the saved one when it describes the image, else scan; repair. */
static int load_index(struct vtape *vt, uint64_t image_size)
{
	int idx_fd = sidecar_open(vt->dir_fd, vt->base, ".idx");
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
		index_forget(vt);
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

	go_bot(vt);
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

	go_eod(vt);
	vt->fileno = st_counter((int64_t)vt->index.n_marks);
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
		go_eod(vt);
		vt->blkno = -1;
		vt->eof = TAPEIMAGE_EOF_NONE;
	}
	if (rewinds)
		go_bot(vt);
	log_warnx("%s: the last process writing this tape ended without closing it; %s; "
	          "the tape is at %s (object %llu)",
	          vt->canonical, what, rewinds ? "BOT (rewinding device)" : "the end of data",
	          (unsigned long long)vt->obj);
	if (vt->unclean_kept)
		return; /* the mark stays for an open that can write the filemark */
	vt->meta.in_use = false;
	vt->meta.in_use_rewinds = false;
	vt->in_use_saved = false;
	meta_save(vt); /* a failure is logged; the close tries again and reports it */
}

/* The image needs no recovery any more: a clean close or unload takes the mark back. */
static void clear_in_use(struct vtape *vt)
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

static int read_meta(int dir_fd, const char *base, struct tapeimage_meta *meta, bool *found,
                     const char *canonical)
{
	int fd = sidecar_open(dir_fd, base, ".meta");
	int result;

	*found = false;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	result = tapeimage_meta_read(fd, meta);
	close(fd);
	if (result < 0)
		return result;
	if (result > 0 && canonical != NULL)
		log_warnx("%s: %d bad line(s) in the metadata file ignored", canonical, result);
	*found = true;
	return 0;
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
		error = read_meta(vt->dir_fd, vt->base, &vt->meta, &found, vt->canonical);
		if (error < 0) {
			log_warnx("%s: metadata file unreadable: %s", vt->canonical,
			          strerror(-error));
			error = error == -ENOMEM ? -ENOMEM : -EIO;
			goto fail;
		}
		if (found)
			meta_loaded(vt);
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
	if (created && (error = meta_save(vt)) < 0)
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
	int error = append_marks(vt, two ? 2 : 1);

	if (error < 0)
		return error;
	vt->fileno = counter_add(vt->fileno, 1);
	vt->blkno = 0;
	vt->eof = TAPEIMAGE_EOF_FM;
	if (two)
		set_position(vt, vt->obj - 1);
	return image_sync(vt);
}

static int vtape_close(struct device *dev)
{
	struct vtape *vt = vtape_of(dev);
	int result = 0, error;

	drop_partial(vt);
	if (vt->loaded && vt->rw == RW_WRITING)
		result = close_filemarks(vt);
	vt->rw = RW_IDLE;
	if (vt->loaded && vt->rewind_on_close)
		go_bot(vt);
	if (vt->image_writable) {
		error = image_sync(vt);
		if (result == 0)
			result = error;
	}
	index_save(vt);
	/* The data is synced: the image no longer needs recovering (unless this fails). */
	clear_in_use(vt);
	error = meta_save(vt);
	/* A read-only image's position is kept where possible, but is no reason to fail. */
	if (result == 0 && vt->image_writable)
		result = error;
	vtape_free(vt);
	dev->state = NULL;
	dev->fd = -1;
	return result;
}

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
	vt->fileno = counter_add(vt->fileno, 1);
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
	error = next_object(vt, &o);
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
		vt->blkno = counter_add(vt->blkno, 1);
		return -ENOMEM;
	}
	if (tapeimage_read_data(vt->fd, &o, buf) < 0)
		return read_error(vt, &o, true);
	vt->pos = o.end;
	vt->obj++;
	vt->blkno = counter_add(vt->blkno, 1);
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
	while (*blocks < window) {
		struct tapeimage_object o;

		if (next_object(vt, &o) < 0)
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
				go_eod(vt);
				drop_partial(vt);
				return read_at_eod(vt);
			}
			vt->window_left = window;
		}
		if (next_object(vt, &o) < 0)
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
			if (tapeimage_read_data(vt->fd, &o, buf + total) < 0)
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
			if (tapeimage_read_data(vt->fd, &o, vt->partial) < 0)
				return total > 0 ? (ssize_t)total : read_error(vt, &o, true);
			memcpy(buf + total, vt->partial, want);
			vt->partial_length = block;
			vt->partial_used = want;
			total += want;
		}
		vt->pos = o.end;
		vt->obj++;
		vt->blkno = counter_add(vt->blkno, 1);
		vt->meta.records_read++;
		vt->window_left--;
	}
	if (vt->eof == TAPEIMAGE_EOF_FM)
		vt->eof = TAPEIMAGE_EOF_NONE;
	vt->meta.bytes_read += total;
	return (ssize_t)total;
}

static ssize_t vtape_read(struct device *dev, void *buf, size_t count)
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
	if (cannot_write(vt))
		return -EACCES;
	drop_partial(vt);
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
	offset = write_offset(vt);
	fit = blocks;
	if (vt->meta.capacity != 0)
		fit = offset >= vt->meta.capacity ? 0 : (vt->meta.capacity - offset) / span;
	if (fit == 0) {
		vt->eof = TAPEIMAGE_EOF_EOM_OK; /* VOLUME OVERFLOW: nothing written */
		return -ENOSPC;
	}
	if (fit > blocks)
		fit = blocks;
	error = prepare_append(vt);
	if (error < 0)
		return error;
	object = vt->obj;
	error = tapeimage_write_records(vt->fd, offset, buf, length, (size_t)fit);
	for (uint64_t i = 0; error == 0 && i < fit; i++)
		error = tapeimage_index_add_record(&vt->index, length);
	if (error < 0) {
		log_warnx("%s: write of %zu bytes failed: %s", vt->canonical, count,
		          strerror(-error));
		undo_append(vt, object, offset);
		vt->meta.errors++;
		vt->blkno = -1;
		return write_error(error);
	}
	vt->unsynced = true;
	vt->obj = vt->index.n_objects;
	vt->pos = end = vt->index.data_size;
	vt->blkno = counter_add(vt->blkno, (int64_t)fit);
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
	if (vt->sync_records && (error = image_sync(vt)) < 0)
		return error;
	return (ssize_t)(fit * length);
}

/* ------------------------------------------------------------------ tape operations */

static int op_weof(struct vtape *vt, int64_t count, bool immediate)
{
	int error;

	if (cannot_write(vt))
		return -EACCES;
	error = append_marks(vt, count);
	if (error < 0) {
		vt->eof = TAPEIMAGE_EOF_NONE;
		return error;
	}
	vt->fileno = counter_add(vt->fileno, count);
	vt->blkno = 0;
	vt->eof = TAPEIMAGE_EOF_NONE;
	vt->rw = RW_IDLE; /* prevent the automatic filemark at close */
	if (!immediate && (error = image_sync(vt)) < 0)
		return error;
	if (count > 0 && time(NULL) - vt->index_saved_at >= INDEX_SAVE_INTERVAL)
		index_save(vt);
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
	go_eod(vt);
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
		set_position(vt, vt->obj + n);
		*passed = n;
		return STOP_NONE;
	}
	*passed = available;
	if (!mark) {
		go_eod(vt);
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
		set_position(vt, vt->obj - n);
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
static int32_t st_counter(int64_t value)
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
		vt->fileno = st_counter(fileno);
		vt->blkno = 0;
		vt->eof = TAPEIMAGE_EOF_FM;
		return 0;
	}
	/* EOD (BLANK CHECK) or BOT: the file number loses what was not spaced. */
	if (fileno >= 0)
		fileno -= residue(count, passed);
	vt->fileno = st_counter(fileno);
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
		vt->fileno = st_counter(fileno);
		vt->blkno = -1;
		return 0;
	}
	/* SPACE went -count marks; st flips a negative residue for a positive count ("some
	 * drives get this wrong"), so undone is what was not spaced, either way. */
	undone = residue(-count, passed);
	if (count > 0 && undone < 0)
		undone = -undone;
	if (vt->fileno >= 0)
		vt->fileno = st_counter(fileno + undone);
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
		vt->blkno = st_counter(blkno);
		return 0;
	}
	if (stop == STOP_MARK) {
		/* A filemark stops it: after the mark going forward, before it going back. */
		if (vt->fileno >= 0)
			vt->fileno = st_counter((int64_t)vt->fileno + 1);
		vt->blkno = 0;
		vt->eof = TAPEIMAGE_EOF_FM;
		return -EIO;
	}
	undone = residue(count, passed);
	vt->blkno = blkno >= undone ? st_counter(blkno - undone) : -1;
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
		vt->blkno = st_counter(blkno);
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
		vt->blkno = st_counter(blkno + undone);
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
		vt->fileno = counter_add(vt->fileno, (int64_t)(vt->index.n_marks - file));
	go_eod(vt);
	vt->blkno = -1;
	vt->eof = TAPEIMAGE_EOF_EOD;
	return 0;
}

static int op_seek(struct vtape *vt, int64_t block)
{
	vt->eof = TAPEIMAGE_EOF_NONE;
	/* st's LOCATE takes an unsigned block: a negative one is far past the end. */
	if (block < 0 || (uint64_t)block > vt->index.n_objects) {
		go_eod(vt);
		vt->fileno = vt->blkno = -1;
		return -EIO;
	}
	set_position(vt, (uint64_t)block);
	vt->fileno = vt->blkno = block == 0 ? 0 : -1;
	return 0;
}

static int op_erase(struct vtape *vt)
{
	int error;

	if (cannot_write(vt))
		return -EACCES;
	/* Everything from the position on is gone; st's counters do not move. */
	error = prepare_append(vt);
	if (error == 0)
		error = image_sync(vt);
	vt->eof = TAPEIMAGE_EOF_NONE;
	return error;
}

static int op_unload(struct vtape *vt)
{
	int error = image_sync(vt), meta_err;

	go_bot(vt);
	index_save(vt);
	vt->loaded = false;
	vt->rewind_on_close = false;
	vt->fileno = vt->blkno = -1;
	if (error == 0)
		clear_in_use(vt);
	meta_err = meta_save(vt);
	return error < 0 ? error : meta_err;
}

static int op_load(struct vtape *vt)
{
	if (!vt->loaded) {
		vt->meta.loads++;
		vt->loaded = true;
	}
	vt->rewind_on_close = vt->rewinding_device;
	go_bot(vt);
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

static int vtape_tape_op(struct device *dev, int op, int count)
{
	struct vtape *vt = vtape_of(dev);
	int64_t n = count;
	int error;

	if (!vt->loaded && !works_without_tape(op))
		return -ENOMEDIUM;
	if (refuses_negative(op) && count < 0)
		return -EINVAL;
	drop_partial(vt);
	/* "If rewind, offline, bsf, or seek is done and previous tape operation was write, a
	 * filemark is written before moving tape" (st.rst). */
	if (vt->rw == RW_WRITING &&
	    (op == MTREW || op == MTOFFL || op == MTSEEK || op == MTBSF || op == MTBSFM)) {
		error = op_weof(vt, 1, false);
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
		return op_weof(vt, n, op == MTWEOFI);
	case MTREW:
	case MTRETEN:
		go_bot(vt);
		return 0;
	case MTOFFL:
	case MTUNLOAD:
		return op_unload(vt);
	case MTLOAD:
		return op_load(vt);
	case MTNOP:
		/* st flushes its buffer; here it is the point where written data is durable. */
		error = vt->image_writable ? image_sync(vt) : 0;
		if (vt->image_writable)
			index_save(vt);
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
		return op_seek(vt, n);
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
		return cannot_write(vt) ? -EACCES : -EIO;
	case MTSETPART:
	case MTMKPART:
		return -EINVAL; /* no partitions (st without MT_ST_CAN_PARTITIONS) */
	case MTTELL:
	default:
		return -ENOSYS; /* MTTELL: st never implemented it; use MTIOCPOS */
	}
}

static int vtape_status(struct device *dev, struct mtget *status)
{
	struct vtape *vt = vtape_of(dev);
	uint32_t gstat = 0;
	uint32_t options = vt->meta.drive_options;

	drop_partial(vt); /* MTIOCGET flushes st's read-ahead */
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
	drop_partial(vt);
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
	drop_partial(vt);
	if (vt->rw == RW_WRITING) {
		error = op_weof(vt, 1, false);
		if (error < 0)
			return error;
	}
	vt->rw = RW_IDLE;
	return op_seek(vt, block);
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
	offset = write_offset(vt);
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
	index_forget(vt);
	error = sidecar_replace(vt, ".meta", true, fill_meta, meta);
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
	error = read_meta(vt->dir_fd, vt->base, &vt->meta, &found, NULL);
	if (error < 0)
		goto out;
	/* Without a .meta the defaults stand (no capacity limit), now written down. */
	vt->meta.write_protect = protect;
	error = sidecar_replace(vt, ".meta", true, fill_meta, &vt->meta);
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
	error = read_meta(dir_fd, base, &out->meta, &out->has_meta, NULL);
	if (error < 0)
		goto out;
	idx_fd = sidecar_open(dir_fd, base, ".idx");
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
