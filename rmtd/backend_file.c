/*
 * backend_file.c - plain files, FIFOs and non-tape devices below an allowed directory.
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
#include "path.h"

static int file_open(struct device *dev, const struct open_target *target)
{
	struct stat st;
	int fd;

	fd = path_open_beneath(target->directory_fd, target->name, target->flags, 0666);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		int error = -errno;

		close(fd);
		return error;
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
