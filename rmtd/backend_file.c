/*
 * backend_file.c - plain files and FIFOs below an allowed directory, and declared
 * drives that are files or non-tape devices.
 *
 * Every call is the one system call the request names. Tape operations answer
 * ENOTTY, as ioctl(2) does on a file with the classic servers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "escape.h"
#include "log.h"
#include "path.h"

/*
 * Below an allowed directory nothing that aliases something else is served: a
 * device node opens whatever device it names, and a file with a second hard link
 * also lives somewhere the rules may not allow.
 */
static bool aliases_something(const struct stat *st)
{
	return S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ||
	       (S_ISREG(st->st_mode) && st->st_nlink > 1);
}

/* Look before opening, since opening a device node acts on the device. */
static bool aliases_before_open(const struct open_target *target)
{
	int fd = path_open_beneath(target->directory_fd, target->name, O_PATH, 0);
	struct stat st;
	bool aliases;

	if (fd < 0)
		return false; /* nothing there yet, or refused: the open itself says why */
	aliases = fstat(fd, &st) == 0 && aliases_something(&st);
	close(fd);
	return aliases;
}

static int refuse_alias(const struct open_target *target)
{
	char shown[4 * 256 + 1];

	log_warnx("%s: a device node, or a file with more than one hard link, inside an allowed "
	          "directory; not served",
	          escape_text(shown, sizeof(shown), target->canonical));
	return -EACCES;
}

static int file_open(struct device *dev, const struct open_target *target)
{
	bool in_spool = target->directory_fd != AT_FDCWD;
	struct stat st;
	int fd;

	if (in_spool && aliases_before_open(target))
		return refuse_alias(target);
	fd = path_open_beneath(target->directory_fd, target->name, target->flags, 0666);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int error = -errno;

		close(fd);
		return error;
	}
	/* Swapped in between the look and the open: judged on what was opened. */
	if (in_spool && aliases_something(&st)) {
		close(fd);
		return refuse_alias(target);
	}
	if (S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
	}
	dev->fd = fd;
	dev->is_tape = false;
	dev->open_flags = target->flags;
	dev->state = NULL;
	return 0;
}

static int file_close(struct device *dev)
{
	struct stat st;
	int error = 0;

	/* Acknowledged data must survive a crash of the host once the client has closed. */
	if ((dev->open_flags & O_ACCMODE) != O_RDONLY && fstat(dev->fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && fsync(dev->fd) < 0)
		error = -errno;
	if (close(dev->fd) < 0 && error == 0 && errno != EINTR)
		error = -errno;
	dev->fd = -1;
	return error;
}

static ssize_t file_read(struct device *dev, void *buf, size_t count)
{
	ssize_t n;

	do {
		n = read(dev->fd, buf, count);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t file_write(struct device *dev, const void *buf, size_t count)
{
	ssize_t n;

	do {
		n = write(dev->fd, buf, count);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int64_t file_seek(struct device *dev, int64_t offset, int whence)
{
	off_t result = lseek(dev->fd, (off_t)offset, whence);

	return result < 0 ? -errno : (int64_t)result;
}

static int file_tape_op(struct device *dev, int op, int count)
{
	return -ENOTTY;
}

static int file_status(struct device *dev, struct mtget *status)
{
	return -ENOTTY;
}

static int file_position(struct device *dev, int64_t *block)
{
	return -ENOTTY;
}

static int file_locate(struct device *dev, int64_t block)
{
	return -ENOTTY;
}

static int file_flush(struct device *dev)
{
	return fsync(dev->fd) < 0 && errno != EINVAL ? -errno : 0;
}

const struct backend_ops backend_file_ops = {
    .name = "file",
    .open = file_open,
    .close = file_close,
    .read = file_read,
    .write = file_write,
    .seek = file_seek,
    .tape_op = file_tape_op,
    .status = file_status,
    .position = file_position,
    .locate = file_locate,
    .flush = file_flush,
};
