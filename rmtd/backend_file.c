/*
 * backend_file.c - plain files and FIFOs below an allowed directory, and declared
 * drives that are files or non-tape devices.
 *
 * Every call is the one system call the request names, except that a record
 * written to a regular file is whole or not there (write_record), and may come
 * partly from a pipe of rmtd's own (write_from_pipe). Regular
 * files are locked like virtual tapes. Tape operations answer ENOTTY, as
 * ioctl(2) does on a file with the classic servers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "escape.h"
#include "file_journal.h"
#include "log.h"
#include "path.h"

/*
 * Below an allowed directory only regular files with one link are served: a
 * device node opens whatever device it names, a file with a second hard link
 * also lives somewhere the rules may not allow, and a FIFO or socket is a
 * channel to some other process, never data at rest. Directories answer
 * EISDIR later.
 */
static bool aliases_something(const struct stat *st)
{
	return S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) || S_ISFIFO(st->st_mode) ||
	       S_ISSOCK(st->st_mode) || (S_ISREG(st->st_mode) && st->st_nlink > 1);
}

/* Look before opening, since opening a device node acts on the device (and a FIFO blocks). */
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

	log_warnx("%s: not a regular file with one link (a device node, FIFO, socket or file "
	          "with more than one hard link) inside an allowed directory; not served",
	          escape_text(shown, sizeof(shown), target->canonical));
	return -EACCES;
}

/* What a plain file keeps between calls. */
struct file_state {
	bool regular;      /* a regular file: locked, records atomic, syncable */
	bool sync_records; /* fdatasync each record before it is acknowledged */
	/*
	 * A regular file not opened O_APPEND: its offset is kept here and every
	 * read and write says where (pread, pwrite, splice with an offset), so a
	 * seek is no system call and a write needs no lseek to know where it
	 * began. The descriptor's own offset is not used.
	 */
	bool positioned;
	off_t position;
	off_t size;      /* the file's length as this descriptor made it */
	char *canonical; /* for the log */
	/* Opened for writing: the file's length in whole records, where a kill cannot tear it. */
	struct file_journal journal;
};

/* Make a new name durable: fsync the directory that holds it. */
static int sync_parent_directory(int directory_fd, const char *name)
{
	int fd = path_open_parent(directory_fd, name, O_RDONLY, NULL), error = 0;

	if (fd == -EACCES || fd == -EPERM) {
		/* a directory we may create in but not read: nothing more can be done */
		log_debug("%s: directory not synced: %s", name, strerror(-fd));
		return 0;
	}
	if (fd < 0)
		return fd;
	if (fsync(fd) < 0 && errno != EINVAL)
		error = -errno;
	close(fd);
	return error;
}

/*
 * Open without O_TRUNC (another process's file is not emptied before its lock is
 * seen), and tell whether O_CREAT made the file.
 */
static int open_file(const struct open_target *target, bool *created)
{
	int flags = target->flags & ~O_TRUNC;
	int fd;

	*created = false;
	if (!(flags & O_CREAT))
		return path_open_beneath(target->directory_fd, target->name, flags, 0666);
	for (int tries = 0; tries < 3; tries++) {
		if (!(flags & O_EXCL)) {
			fd = path_open_beneath(target->directory_fd, target->name, flags & ~O_CREAT,
			                       0666);
			if (fd != -ENOENT)
				return fd;
		}
		fd = path_open_beneath(target->directory_fd, target->name, flags | O_EXCL, 0666);
		if (fd >= 0)
			*created = true;
		if (fd != -EEXIST || (flags & O_EXCL))
			return fd;
		/* made by someone else between the two opens: open it as it is now */
	}
	return -EEXIST;
}

static int file_open(struct device *dev, const struct open_target *target)
{
	bool in_spool = target->directory_fd != AT_FDCWD;
	struct file_state *state;
	struct stat st;
	bool created;
	int fd, error;

	if (in_spool && aliases_before_open(target))
		return refuse_alias(target);
	fd = open_file(target, &created);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		error = -errno;
		goto fail;
	}
	/* Swapped in between the look and the open: judged on what was opened. */
	if (in_spool && aliases_something(&st)) {
		close(fd);
		return refuse_alias(target);
	}
	if (S_ISDIR(st.st_mode) || S_ISSOCK(st.st_mode)) {
		error = S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
		goto fail;
	}
	state = calloc(1, sizeof(*state));
	if (state == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	state->canonical = strdup(target->canonical != NULL ? target->canonical : target->name);
	if (state->canonical == NULL) {
		free(state);
		error = -ENOMEM;
		goto fail;
	}
	state->regular = S_ISREG(st.st_mode);
	state->sync_records = target->sync_records;
	state->journal.parent_fd = -1;
	if (state->regular) {
		/* One writer or several readers, as a tape has one holder (rmtd(8)). */
		bool writing = (target->flags & O_ACCMODE) != O_RDONLY;

		error = backend_lock(fd, writing ? LOCK_EX : LOCK_SH);
		if (error == 0)
			error = file_journal_recover(target->directory_fd, target->name, fd,
			                             target->flags, &st, state->canonical);
		if (error == 0 && writing && (target->flags & O_TRUNC)) {
			if (ftruncate(fd, 0) < 0)
				error = -errno;
			st.st_size = 0;
		}
		if (error == 0 && created)
			error = sync_parent_directory(target->directory_fd, target->name);
		if (error < 0) {
			free(state->canonical);
			free(state);
			goto fail;
		}
		state->positioned = !(target->flags & O_APPEND);
		state->position = 0;
		state->size = st.st_size;
		if (writing)
			file_journal_begin(&state->journal, target->directory_fd, target->name, &st,
			                   state->canonical);
	}
	dev->fd = fd;
	dev->is_tape = false;
	/*
	 * splice(2) refuses a file opened O_APPEND; positioned files say where.
	 * A spliced read hands the client the page cache's pages, not a copy: a
	 * write to the same bytes before the client has read them (a pipelined
	 * client rewriting what it just read) would change what it receives. Only
	 * a session that cannot write splices its reads (the drive is its alone).
	 */
	dev->pipe_writes = state->positioned;
	dev->pipe_reads = state->positioned && (target->flags & O_ACCMODE) == O_RDONLY;
	dev->open_flags = target->flags;
	dev->state = state;
	return 0;
fail:
	close(fd);
	return error;
}

static int file_close(struct device *dev)
{
	struct file_state *state = dev->state;
	int error = 0;

	/* Acknowledged data must survive a crash of the host once the client has closed. */
	if ((dev->open_flags & O_ACCMODE) != O_RDONLY && state->regular) {
		struct stat st;
		int journal_error;

		if (fsync(dev->fd) < 0)
			error = -errno;
		if (!state->positioned && fstat(dev->fd, &st) == 0)
			state->size = st.st_size;
		/* Ended, a journal says nothing is in flight: no later open cuts anything. */
		journal_error = file_journal_end(&state->journal, (uint64_t)state->size);
		if (error == 0)
			error = journal_error;
	}
	file_journal_drop(&state->journal);
	if (close(dev->fd) < 0 && error == 0 && errno != EINTR)
		error = -errno;
	free(state->canonical);
	free(state);
	dev->state = NULL;
	dev->fd = -1;
	dev->pipe_writes = false;
	dev->pipe_reads = false;
	return error;
}

static ssize_t file_read(struct device *dev, void *buf, size_t count)
{
	struct file_state *state = dev->state;
	ssize_t n;

	do {
		n = state->positioned ? pread(dev->fd, buf, count, state->position)
		                      : read(dev->fd, buf, count);
	} while (n < 0 && errno == EINTR);
	if (n > 0 && state->positioned)
		state->position += n;
	return n < 0 ? -errno : n;
}

/*
 * Write all of count bytes from buf, or splice them from pipe (buf NULL), at
 * *offset (NULL: at the descriptor's offset); *done counts.
 */
static int put_all(int fd, off_t *offset, const uint8_t *buf, int pipe, size_t count, size_t *done)
{
	size_t put = 0;

	while (put < count) {
		ssize_t n;

		if (buf == NULL)
			n = splice(pipe, NULL, fd, offset, count - put, SPLICE_F_MOVE);
		else if (offset != NULL)
			n = pwrite(fd, buf + put, count - put, *offset);
		else
			n = write(fd, buf + put, count - put);
		if (n > 0 && offset != NULL && buf != NULL)
			*offset += n; /* splice moves the offset it is given itself */

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		put += (size_t)n;
		*done += (size_t)n;
	}
	return 0;
}

/*
 * A record goes into a regular file whole or not at all: if the disk fills (or
 * a limit is reached) part-way, the part written is cut off again and the
 * client gets the error (ENOSPC), as a tape refuses a record that does not fit.
 * Written over older data, the old bytes are not restored; the length is.
 * The record is head, then (pipe_length > 0) the rest from the pipe.
 */
static ssize_t write_record(struct device *dev, const uint8_t *head, size_t head_length, int pipe,
                            size_t pipe_length)
{
	struct file_state *state = dev->state;
	off_t start, old_size, at, *offset = state->positioned ? &at : NULL;
	size_t done = 0;
	int error;

	if (state->positioned) {
		start = state->position;
		old_size = state->size;
	} else {
		struct stat st; /* O_APPEND: the record goes at the end, wherever that is now */

		if (fstat(dev->fd, &st) < 0)
			return -errno;
		start = old_size = st.st_size;
	}
	at = start;
	file_journal_writing(&state->journal, head_length + pipe_length);
	error = put_all(dev->fd, offset, head, -1, head_length, &done);
	if (error == 0 && pipe_length > 0)
		error = put_all(dev->fd, offset, NULL, pipe, pipe_length, &done);
	if (error < 0) {
		/* The file gets its old length back; the next record goes where this one began. */
		if (done > 0 &&
		    ((start + (off_t)done > old_size && ftruncate(dev->fd, old_size) < 0) ||
		     (!state->positioned && lseek(dev->fd, start, SEEK_SET) < 0)))
			log_warn("%s: cannot take back a partly written record", state->canonical);
		else
			file_journal_written(&state->journal, (uint64_t)old_size);
		return error;
	}
	if (state->positioned) {
		state->position = start + (off_t)done;
		if (state->position > state->size)
			state->size = state->position;
		file_journal_written(&state->journal, (uint64_t)state->size);
	} else {
		file_journal_written(&state->journal, (uint64_t)(start + (off_t)done));
	}
	if (state->sync_records && fdatasync(dev->fd) < 0)
		return -errno;
	return (ssize_t)(head_length + pipe_length);
}

static ssize_t file_write(struct device *dev, const void *buf, size_t count)
{
	struct file_state *state = dev->state;
	ssize_t n;

	if (state->regular && count > 0)
		return write_record(dev, buf, count, -1, 0);
	do {
		n = write(dev->fd, buf, count);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/*
 * A large R: up to count bytes from the file into rmtd's pipe, as one read(2)
 * of a regular file would give them (all, or what is left before the end).
 */
static ssize_t file_read_to_pipe(struct device *dev, int pipe, size_t count)
{
	struct file_state *state = dev->state;
	size_t got = 0;

	if (!dev->pipe_reads)
		return -EOPNOTSUPP;
	while (got < count) {
		ssize_t n =
		    splice(dev->fd, &state->position, pipe, NULL, count - got, SPLICE_F_MOVE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return got > 0 ? (ssize_t)got : -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Each page of the file a read touches is one buffer of the pipe. */
static size_t file_pipe_read_size(const struct device *dev, size_t count)
{
	const struct file_state *state = dev->state;
	size_t page = 4096, start = (size_t)(state->position % (off_t)page);

	if (count > SIZE_MAX - 2 * page)
		return SIZE_MAX;
	return (start + count + page - 1) / page * page;
}

/* A large record spliced into rmtd's pipe (pipe_writes: a regular file, not O_APPEND). */
static ssize_t file_write_from_pipe(struct device *dev, const void *head, size_t head_length,
                                    int pipe, size_t pipe_length)
{
	if (!dev->pipe_writes)
		return -EOPNOTSUPP;
	return write_record(dev, head, head_length, pipe, pipe_length);
}

/* Every Linux filesystem takes offsets up to here (MAX_NON_LFS); past it lseek(2) judges. */
#define SURELY_SEEKABLE INT32_MAX

static int64_t file_seek(struct device *dev, int64_t offset, int whence)
{
	struct file_state *state = dev->state;
	off_t result;

	if (state->positioned && (whence == SEEK_SET || whence == SEEK_CUR)) {
		int64_t target = offset;

		/* As lseek(2): before the start, or past what an offset can say, is EINVAL. */
		if (whence == SEEK_CUR && __builtin_add_overflow(state->position, offset, &target))
			return -EINVAL;
		if (target < 0)
			return -EINVAL;
		if (target <= SURELY_SEEKABLE) {
			state->position = (off_t)target;
			return target;
		}
		offset = target;
		whence = SEEK_SET;
	}
	result = lseek(dev->fd, (off_t)offset, whence);
	if (result < 0)
		return -errno;
	if (state->positioned)
		state->position = result;
	return (int64_t)result;
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
    .write_from_pipe = file_write_from_pipe,
    .read_to_pipe = file_read_to_pipe,
    .pipe_read_size = file_pipe_read_size,
};
