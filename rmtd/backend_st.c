/*
 * backend_st.c - Linux SCSI tape devices (/dev/nst*, /dev/st*) through the st driver.
 *
 * A faithful pass-through: every call is the one system call the request names
 * (one W = one write(2) = one record in variable-block mode, one R = one read(2)),
 * and every answer, including errno, is the driver's own. The semantics the
 * clients rely on (filemark on close after writing, 0 at a filemark, ENOMEM for a
 * short buffer, fixed-block read-ahead) live in st; this module adds only:
 *
 * - Open: target->name is opened relative to target->directory_fd with openat(2)
 *   and the flags as given, plus O_CLOEXEC and O_NOCTTY. O_CREAT, O_EXCL and O_TRUNC
 *   are removed: a tape is never created (a missing /dev/nst5 must give ENOENT, not
 *   a regular file in /dev) and st ignores truncation. O_NONBLOCK is kept: st then
 *   opens a drive with no medium or a write-protected cartridge, and later calls
 *   fail with ENOMEDIUM/EIO/EACCES from the driver.
 * - Recognition: after open the descriptor must be a character device that answers
 *   MTIOCGET (st answers it even with no medium: GMT_DR_OPEN). Anything else is
 *   closed again and the open fails with ENOTTY. We do not fall back to plain-file
 *   semantics: a name that looked like a tape but is not one is a misconfiguration,
 *   and writing archive records to whatever it is (a disk, a serial line) would do
 *   harm.
 * - QFA (DUMP's L whence 10/11): position() is MTIOCPOS and locate() is MTSEEK.
 *   Unlike DUMP's rmt we do NOT first set MTSETDRVBUFFER(MT_ST_BOOLEANS |
 *   MT_ST_SCSI2LOGICAL): MT_ST_BOOLEANS replaces *all* of the drive's boolean options
 *   (buffered and async writes, read-ahead, two-fms, ...) for every later user of
 *   the drive, and it needs CAP_SYS_ADMIN. MTIOCPOS and MTSEEK use the same kind of
 *   address whichever option is set, so a position read with tell() is always valid
 *   for locate() on the same drive, which is all QFA needs.
 * - lseek: st's llseek is a no-op, so seek() answers 0 without calling it.
 * - Flushing st's buffer is the client's MTNOP (or close): rmtd sends no tape
 *   operation of its own, since any MTIOCTOP (and MTIOCGET) also drops fixed-block
 *   read-ahead, which would change what the next read returns.
 *
 * EINTR: st takes its per-drive lock with mutex_lock_interruptible() before doing
 * anything, and the SCSI commands themselves wait uninterruptibly, so EINTR means
 * "nothing was done" and every call except close(2) is retried.
 * Note for callers: MTIOCGET flushes st's fixed-block read-ahead (the rest of a
 * partly read block is lost), so status() must only be called when a client asks.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "path.h"

static int ioctl_retrying(int fd, unsigned long request, void *argument)
{
	int result;

	do {
		result = ioctl(fd, request, argument);
	} while (result < 0 && errno == EINTR);
	return result < 0 ? -errno : 0;
}

bool backend_st_recognises(int fd)
{
	struct mtget status;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode))
		return false;
	memset(&status, 0, sizeof(status));
	return ioctl_retrying(fd, MTIOCGET, &status) == 0;
}

static int tape_open(struct device *dev, const struct open_target *target)
{
	int flags = (target->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC | O_NOCTTY;
	int fd, error = 0;

	/* st waits interruptibly for a drive becoming ready: a watch may end the wait. */
	path_open_watch_begin();
	do {
		fd = openat(target->directory_fd, target->name, flags);
		if (fd < 0)
			error = errno == EINTR ? path_open_watch_interrupted() : errno;
	} while (fd < 0 && error == 0);
	path_open_watch_end();
	if (fd < 0)
		return -error;
	if (!backend_st_recognises(fd)) {
		log_warnx("%s is not a tape drive (no answer to MTIOCGET); refusing it",
		          target->canonical != NULL ? target->canonical : target->name);
		close(fd);
		return -ENOTTY;
	}
	dev->fd = fd;
	dev->is_tape = true;
	dev->open_flags = target->flags;
	return 0;
}

/* close(2) of st writes the pending filemark (and rewinds /dev/stN): its error counts. */
static int tape_close(struct device *dev)
{
	int error = 0;

	if (close(dev->fd) < 0)
		error = -errno; /* no retry: the descriptor is gone whatever happened */
	dev->fd = -1;
	return error;
}

static ssize_t tape_read(struct device *dev, void *buf, size_t count)
{
	ssize_t n;

	do {
		n = read(dev->fd, buf, count);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t tape_write(struct device *dev, const void *buf, size_t count)
{
	ssize_t n;

	do {
		n = write(dev->fd, buf, count);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* st's llseek is noop_llseek: nothing moves, the answer is 0. */
static int64_t tape_seek(struct device *dev, int64_t offset, int whence)
{
	return 0;
}

static int tape_op(struct device *dev, int op, int count)
{
	struct mtop request;

	/* mt_op is a short: a wider number would run some other operation. */
	if (op < SHRT_MIN || op > SHRT_MAX)
		return -EINVAL;
	memset(&request, 0, sizeof(request));
	request.mt_op = (short)op;
	request.mt_count = count;
	return ioctl_retrying(dev->fd, MTIOCTOP, &request);
}

static int tape_status(struct device *dev, struct mtget *status)
{
	return ioctl_retrying(dev->fd, MTIOCGET, status);
}

static int tape_position(struct device *dev, int64_t *block)
{
	struct mtpos position;
	int result;

	memset(&position, 0, sizeof(position));
	result = ioctl_retrying(dev->fd, MTIOCPOS, &position);
	if (result == 0)
		*block = position.mt_blkno;
	return result;
}

static int tape_locate(struct device *dev, int64_t block)
{
	/* MTSEEK carries the block in mt_count, an int. */
	if (block < INT_MIN || block > INT_MAX)
		return -EINVAL;
	return tape_op(dev, MTSEEK, (int)block);
}

const struct backend_ops backend_st_ops = {
    .name = "st",
    .open = tape_open,
    .close = tape_close,
    .read = tape_read,
    .write = tape_write,
    .seek = tape_seek,
    .tape_op = tape_op,
    .status = tape_status,
    .position = tape_position,
    .locate = tape_locate,
};
