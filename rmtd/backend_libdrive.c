/*
 * backend_libdrive.c - a library's drive: the inner backend on the loaded
 * cartridge, and the autoloader's unload-and-load-next.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend_libdrive.h"
#include "library_runtime.h"
#include "log.h"

#define HP_LOADER_OFFSET 0x10000
/* How long a changer's drive may take to become ready after a load. */
#define READY_WAIT_SECONDS 60

struct libdrive {
	struct library_runtime *lib;
	int drive;
	const struct backend_ops *inner_ops;
	struct device inner;
	bool attached;
	struct open_target target; /* as the client opened the drive */
	char barcode[LIBRARY_BARCODE_MAX + 1];
	char accounted[PATH_MAX]; /* backend_libdrive_cartridge() */
	int folder_fd;            /* virtual: the cartridge folder */
	bool check_position;      /* the next write looks where it is first */
	bool written;             /* written since loaded */
	bool wrote_since_mark;    /* a close or unload writes the file's filemark */
	uint64_t write_file;      /* the tape file being written */
	bool went_out;            /* the cartridge left during the last call (unloaded) */
	bool came_in;             /* attached during the last call, standing at came_in_at */
	struct mtget came_in_at;
};

static struct libdrive *libdrive_of(struct device *dev)
{
	return dev->state;
}

const struct backend_ops *backend_libdrive_for(const char *device, const struct backend_ops *ops)
{
	int drive;

	return libraries_of_drive(device, &drive) != NULL ? &backend_libdrive_ops : ops;
}

bool backend_libdrive_went_out(struct device *dev)
{
	struct libdrive *ld = dev->state;

	if (dev->ops != &backend_libdrive_ops || ld == NULL || !ld->went_out)
		return false;
	ld->went_out = false;
	return true;
}

bool backend_libdrive_came_in(struct device *dev, struct mtget *where)
{
	struct libdrive *ld = dev->state;

	if (dev->ops != &backend_libdrive_ops || ld == NULL || !ld->came_in)
		return false;
	ld->came_in = false;
	*where = ld->came_in_at;
	return true;
}

const char *backend_libdrive_cartridge(const struct device *dev)
{
	const struct libdrive *ld = dev->state;

	if (dev->ops != &backend_libdrive_ops || ld == NULL || !ld->attached)
		return NULL;
	return ld->accounted;
}

/* Open the inner backend on the cartridge the library has put in the drive, if any. */
static int attach(struct libdrive *ld)
{
	struct open_target target = ld->target;
	char barcode[LIBRARY_BARCODE_MAX + 1];
	int error;

	if (ld->attached)
		return 0;
	library_lock(ld->lib);
	snprintf(barcode, sizeof(barcode), "%s", ld->lib->state.drives[ld->drive].barcode);
	library_unlock(ld->lib);
	if (barcode[0] == '\0')
		return -ENOMEDIUM;
	target.flags &= ~(O_CREAT | O_TRUNC | O_EXCL);
	if (ld->lib->spec.is_virtual) {
		char file[LIBRARY_BARCODE_MAX + 8];

		snprintf(file, sizeof(file), "%s.tap", barcode);
		target.directory_fd = ld->folder_fd;
		target.name = file;
		library_image_path(ld->lib, barcode, ld->accounted, sizeof(ld->accounted));
		target.canonical = ld->accounted;
		memset(&ld->inner, 0, sizeof(ld->inner));
		ld->inner.fd = -1;
		ld->inner.ops = ld->inner_ops;
		error = ld->inner_ops->open(&ld->inner, &target);
	} else {
		snprintf(ld->accounted, sizeof(ld->accounted), "%s", barcode);
		/* A changer's drive takes a while to load the tape and become ready. */
		for (int waited = 0;; waited++) {
			memset(&ld->inner, 0, sizeof(ld->inner));
			ld->inner.fd = -1;
			ld->inner.ops = ld->inner_ops;
			error = ld->inner_ops->open(&ld->inner, &target);
			if ((error != -ENOMEDIUM && error != -EIO && error != -EBUSY) ||
			    waited >= READY_WAIT_SECONDS)
				break;
			sleep(1);
		}
	}
	if (error < 0)
		return error;
	snprintf(ld->barcode, sizeof(ld->barcode), "%s", barcode);
	ld->attached = true;
	ld->check_position = true;
	ld->written = false;
	ld->wrote_since_mark = false;
	/* The session learns the new cartridge's position before the call's records. */
	memset(&ld->came_in_at, 0, sizeof(ld->came_in_at));
	ld->came_in = ld->inner_ops->status(&ld->inner, &ld->came_in_at) == 0;
	return 0;
}

static int detach(struct libdrive *ld, struct device *dev)
{
	int error = 0;

	if (ld->attached) {
		error = ld->inner_ops->close(&ld->inner);
		ld->went_out = true;
	}
	ld->attached = false;
	dev->fd = -1;
	return error;
}

/* Attach if a cartridge came in since; the descriptor the session sees follows. */
static int ready(struct device *dev)
{
	struct libdrive *ld = libdrive_of(dev);
	int error = attach(ld);

	dev->fd = ld->attached ? ld->inner.fd : -1;
	return error;
}

static int libdrive_open(struct device *dev, const struct open_target *target)
{
	struct libdrive *ld = calloc(1, sizeof(*ld));
	int error;

	if (ld == NULL)
		return -ENOMEM;
	ld->lib = libraries_of_drive(target->canonical, &ld->drive);
	if (ld->lib == NULL) {
		free(ld);
		return -ENODEV;
	}
	ld->folder_fd = -1;
	ld->target = *target;
	ld->inner_ops = ld->lib->spec.is_virtual ? &backend_vtape_ops : &backend_st_ops;
	if (ld->lib->spec.is_virtual) {
		ld->folder_fd = open(ld->lib->spec.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (ld->folder_fd < 0) {
			error = -errno;
			free(ld);
			return error;
		}
	}
	library_lock(ld->lib);
	error = ld->lib->retired ? -ENODEV /* a reload took it out since the lookup */
	        : ld->lib->drive_open[ld->drive] ? -EBUSY
	                                         : library_drive_claim(ld->lib, ld->drive);
	if (error < 0) {
		if (error == -EBUSY && !ld->lib->drive_open[ld->drive])
			log_warnx("library %s: drive %d (%s) is open in another rmtd process",
			          ld->lib->spec.name, ld->drive,
			          ld->lib->spec.drive_names[ld->drive]);
		library_unlock(ld->lib);
		if (ld->folder_fd >= 0)
			close(ld->folder_fd);
		free(ld);
		return error;
	}
	ld->lib->drive_open[ld->drive] = true;
	library_unlock(ld->lib);
	dev->state = ld;
	dev->is_tape = true;
	dev->fd = -1;
	error = ready(dev);
	ld->came_in = false; /* the open reports where the tape is itself */
	if (error < 0 && error != -ENOMEDIUM) {
		library_lock(ld->lib);
		ld->lib->drive_open[ld->drive] = false;
		library_drive_unclaim(ld->lib, ld->drive);
		library_unlock(ld->lib);
		if (ld->folder_fd >= 0)
			close(ld->folder_fd);
		free(ld);
		dev->state = NULL;
		return error;
	}
	return 0;
}

static int libdrive_close(struct device *dev)
{
	struct libdrive *ld = libdrive_of(dev);
	bool filemark = ld->attached && ld->wrote_since_mark;
	int error = detach(ld, dev);

	library_lock(ld->lib);
	if (filemark && error == 0) /* closing after writing wrote the file's filemark */
		library_note_filemark(&ld->lib->state, ld->barcode, 1);
	ld->lib->drive_open[ld->drive] = false;
	library_drive_unclaim(ld->lib, ld->drive);
	library_save_locked(ld->lib);
	library_unlock(ld->lib);
	if (ld->folder_fd >= 0)
		close(ld->folder_fd);
	free(ld);
	dev->state = NULL;
	dev->fd = -1;
	return error;
}

static ssize_t libdrive_read(struct device *dev, void *buf, size_t count)
{
	struct libdrive *ld = libdrive_of(dev);
	int error = ready(dev);

	if (error < 0)
		return error;
	return ld->inner_ops->read(&ld->inner, buf, count);
}

static bool cartridge_readonly(struct libdrive *ld)
{
	const struct cartridge_record *r;
	bool readonly;

	library_lock(ld->lib);
	r = library_record(&ld->lib->state, ld->barcode, false);
	readonly = r != NULL && r->readonly;
	library_unlock(ld->lib);
	return readonly;
}

static ssize_t libdrive_write(struct device *dev, const void *buf, size_t count)
{
	struct libdrive *ld = libdrive_of(dev);
	struct library_runtime *lib = ld->lib;
	int error = ready(dev);
	ssize_t n;

	if (error < 0)
		return error;
	if (cartridge_readonly(ld))
		return -EROFS;
	if (ld->check_position) {
		struct mtget mt;

		if (ld->inner_ops->status(&ld->inner, &mt) == 0 && mt.mt_fileno >= 0) {
			ld->write_file = (uint64_t)mt.mt_fileno;
			if (mt.mt_fileno == 0 && mt.mt_blkno == 0) {
				library_lock(lib);
				library_note_rewritten(&lib->state, ld->barcode);
				library_unlock(lib);
			}
		}
		ld->check_position = false;
	}
	n = ld->inner_ops->write(&ld->inner, buf, count);
	library_lock(lib);
	if (n > 0) {
		ld->written = true;
		ld->wrote_since_mark = true;
		lib->state.drives[ld->drive].written = true;
		lib->state.drives[ld->drive].written_file = ld->write_file;
		library_note_write(&lib->state, ld->barcode, (uint64_t)n, (uint32_t)count,
		                   time(NULL));
		if (library_note_drive_write(&lib->state, ld->drive, ld->barcode, ld->write_file))
			library_save_locked(lib);
	} else if (n == -ENOSPC) {
		library_note_full(&lib->state, ld->barcode);
		library_save_locked(lib);
	}
	library_unlock(lib);
	return n;
}

static int64_t libdrive_seek(struct device *dev, int64_t offset, int whence)
{
	struct libdrive *ld = libdrive_of(dev);
	int error = ready(dev);

	if (error < 0)
		return error;
	return ld->inner_ops->seek(&ld->inner, offset, whence);
}

/* Rewinding or unloading after a write wrote the file's filemark (saved with the move). */
static void note_unload_filemark(struct libdrive *ld)
{
	if (!ld->wrote_since_mark)
		return;
	library_lock(ld->lib);
	library_note_filemark(&ld->lib->state, ld->barcode, 1);
	library_unlock(ld->lib);
	ld->wrote_since_mark = false;
}

/* mt offline: put the cartridge back, the next one in. */
static int unload_and_next(struct device *dev, int op)
{
	struct libdrive *ld = libdrive_of(dev);
	char loaded[LIBRARY_BARCODE_MAX + 1];
	bool written = ld->written;
	uint64_t file = ld->write_file;
	int error = 0;

	if (ld->attached) {
		/* A virtual cartridge goes back rewound (and loaded, for its next drive). */
		error =
		    ld->inner_ops->tape_op(&ld->inner, ld->lib->spec.is_virtual ? MTREW : op, 1);
		if (error < 0)
			return error;
		note_unload_filemark(ld);
		if ((error = detach(ld, dev)) < 0)
			return error;
	}
	error = library_op_next(ld->lib, ld->drive, written, file, loaded, sizeof(loaded));
	if (error == -ENOMEDIUM)
		return 0; /* the drive is empty now, as st's after an unload */
	if (error < 0)
		return error;
	error = ready(dev);
	return error == -ENOMEDIUM ? 0 : error;
}

static int load_slot(struct device *dev, int slot)
{
	struct libdrive *ld = libdrive_of(dev);
	char loaded[LIBRARY_BARCODE_MAX + 1];
	int error;

	if (ld->attached) {
		error = ld->inner_ops->tape_op(&ld->inner,
		                               ld->lib->spec.is_virtual ? MTREW : MTOFFL, 1);
		if (error < 0)
			return error;
		note_unload_filemark(ld);
		if ((error = detach(ld, dev)) < 0)
			return error;
	}
	error = library_op_load_slot(ld->lib, ld->drive, slot, loaded, sizeof(loaded));
	if (error < 0) {
		ready(dev); /* what was there went nowhere or came back */
		return error;
	}
	return ready(dev);
}

static int libdrive_tape_op(struct device *dev, int op, int count)
{
	struct libdrive *ld = libdrive_of(dev);
	int error;

	if (op == MTOFFL || op == MTUNLOAD) {
		ready(dev);
		return unload_and_next(dev, op);
	}
	if (op == MTLOAD && count >= HP_LOADER_OFFSET)
		return load_slot(dev, count - HP_LOADER_OFFSET);
	error = ready(dev);
	if (op == MTLOAD && error == -ENOMEDIUM)
		return unload_and_next(dev, op);
	if (error < 0)
		return error;
	ld->check_position = true;
	error = ld->inner_ops->tape_op(&ld->inner, op, count);
	if (error == 0 && (op == MTWEOF || op == MTWEOFI) && count > 0) {
		ld->wrote_since_mark = false;
		library_lock(ld->lib);
		library_note_filemark(&ld->lib->state, ld->barcode, (uint64_t)count);
		library_save_locked(ld->lib);
		library_unlock(ld->lib);
	}
	return error;
}

static int libdrive_status(struct device *dev, struct mtget *status)
{
	struct libdrive *ld = libdrive_of(dev);
	int error = ready(dev);

	if (error == -ENOMEDIUM) {
		/* What st says of an empty drive: door open, no position. */
		memset(status, 0, sizeof(*status));
		status->mt_type = MT_ISSCSI2;
		status->mt_fileno = -1;
		status->mt_blkno = -1;
		status->mt_gstat = GMT_DR_OPEN(-1);
		return 0;
	}
	if (error < 0)
		return error;
	return ld->inner_ops->status(&ld->inner, status);
}

static int libdrive_position(struct device *dev, int64_t *block)
{
	struct libdrive *ld = libdrive_of(dev);
	int error = ready(dev);

	if (error < 0)
		return error;
	return ld->inner_ops->position(&ld->inner, block);
}

static int libdrive_locate(struct device *dev, int64_t block)
{
	struct libdrive *ld = libdrive_of(dev);
	int error = ready(dev);

	if (error < 0)
		return error;
	ld->check_position = true;
	return ld->inner_ops->locate(&ld->inner, block);
}

const struct backend_ops backend_libdrive_ops = {
    .name = "library",
    .open = libdrive_open,
    .close = libdrive_close,
    .read = libdrive_read,
    .write = libdrive_write,
    .seek = libdrive_seek,
    .tape_op = libdrive_tape_op,
    .status = libdrive_status,
    .position = libdrive_position,
    .locate = libdrive_locate,
};
