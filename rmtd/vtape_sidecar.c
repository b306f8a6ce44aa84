/*
 * vtape_sidecar.c - the files beside a virtual tape's image (doc/vtape-format.md):
 * NAME.tap.idx, the saved index, and NAME.tap.meta, the cartridge, drive settings,
 * position and the in-use mark. Both are replaced atomically through state_file.c
 * with the image's permissions; .meta durably, the index not (it is derived and a
 * torn one fails its CRC). Also the image's own fdatasync.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "state_file.h"
#include "vtape_internal.h"

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
int vtape_sidecar_replace(struct vtape *vt, const char *suffix, bool durable,
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

int vtape_sidecar_open(int dir_fd, const char *base, const char *suffix)
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

int vtape_fill_meta(int fd, const void *arg)
{
	return tapeimage_meta_write(fd, arg);
}

/* Save the index if it changed. It is derived data: no fsync (a torn one fails its CRC). */
void vtape_index_save(struct vtape *vt)
{
	struct index_fill f = {.index = &vt->index};
	int error;

	if (vt->index.generation == vt->saved_generation && vt->index_on_disk)
		return;
	error = tapeimage_tail_check(vt->fd, vt->index.file_size, &f.tail_check);
	if (error == 0)
		error = vtape_sidecar_replace(vt, ".idx", false, fill_index, &f);
	if (error < 0) {
		log_debug("%s: index not saved: %s", vt->canonical, strerror(-error));
		return;
	}
	vt->saved_generation = vt->index.generation;
	vt->index_on_disk = true;
	vt->index_saved_at = time(NULL);
}

/* After a truncation the saved index describes a file that no longer exists: drop it. */
void vtape_index_forget(struct vtape *vt)
{
	char name[NAME_MAX + 32];

	if (!vt->index_on_disk || sidecar_name(vt, ".idx", name, sizeof(name)) < 0)
		return;
	if (unlinkat(vt->dir_fd, name, 0) == 0 || errno == ENOENT)
		vt->index_on_disk = false;
}

/* Save .meta durably if it changed. Returns 0 or -errno (logged once per open). */
int vtape_meta_save(struct vtape *vt)
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
	error = vtape_sidecar_replace(vt, ".meta", true, vtape_fill_meta, &vt->meta);
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
int vtape_mark_in_use(struct vtape *vt)
{
	int error;

	if (vt->in_use_saved)
		return 0;
	vt->meta.in_use = true;
	vt->meta.in_use_rewinds = vt->rewind_on_close;
	error = vtape_meta_save(vt);
	if (error < 0) {
		vt->meta.in_use = false;
		return error;
	}
	vt->in_use_saved = true;
	return 0;
}

/* Remember the metadata as the file holds it, for vtape_meta_save's comparison. */
void vtape_meta_loaded(struct vtape *vt)
{
	size_t length;

	free(vt->meta_on_disk);
	if (tapeimage_meta_format(&vt->meta, &vt->meta_on_disk, &length) < 0)
		vt->meta_on_disk = NULL;
}

int vtape_image_sync(struct vtape *vt)
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

int vtape_read_meta(int dir_fd, const char *base, struct tapeimage_meta *meta, bool *found,
                    const char *canonical)
{
	int fd = vtape_sidecar_open(dir_fd, base, ".meta");
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
