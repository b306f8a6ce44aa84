/*
 * backend.h - the one interface every kind of device sits behind.
 *
 * A backend turns rmt requests into calls on one kind of device: a Linux SCSI tape
 * (backend_st.c), a virtual tape in an image file (backend_vtape.c), or a plain
 * file or non-tape device (backend_file.c). Every function may block (they run on a
 * drive's worker thread, never on the event loop) and returns a negative errno on
 * failure, which the session sends to the client as E<errno>.
 *
 * Rules the backends share (doc/protocol.md 1.6):
 * - write() is exactly one write(2) of one contiguous buffer: on a tape, one record.
 *   write_from_pipe() (plain files only) puts a record together from memory and a
 *   pipe with write(2) and splice(2), never before all of it is in rmtd's hands;
 *   read_to_pipe() reads into a pipe with splice(2) what read(2) would give.
 * - read() is exactly one read(2) and never returns more than asked.
 * - tape_op() takes native Linux MTIOCTOP numbers; the session maps RMT V1 numbers.
 */
#ifndef RMTD_BACKEND_H
#define RMTD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/mtio.h>

/* glibc's <sys/mtio.h> predates these Linux ops (include/uapi/linux/mtio.h). */
#ifndef MTWEOFI
#define MTWEOFI 35
#endif

struct device;

/* Where and how to open: the path resolver has already checked it against the rules. */
struct open_target {
	int directory_fd;         /* directory to open name in (O_PATH fd), or AT_FDCWD */
	const char *name;         /* relative to directory_fd (or absolute with AT_FDCWD) */
	const char *canonical;    /* the canonical full name, for logs and status */
	int flags;                /* Linux O_* flags, already filtered by the rules */
	bool rewind_on_close;     /* vtape: the image was named as its rewinding variant */
	uint64_t max_record;      /* largest record this session may write or read */
	uint64_t create_capacity; /* vtape: capacity of a tape made by O_CREAT (0 = default) */
	bool sync_records;        /* fdatasync each record before it is acknowledged */
};

struct backend_ops {
	const char *name; /* "st", "vtape", "file" */

	/* Open the device; on success fill dev->state. */
	int (*open)(struct device *dev, const struct open_target *target);
	/* Close; for tapes after writing this writes the filemark, whose error is returned. */
	int (*close)(struct device *dev);
	ssize_t (*read)(struct device *dev, void *buf, size_t count);
	ssize_t (*write)(struct device *dev, const void *buf, size_t count);
	/* lseek; whence 0..4. Tapes: no meaning (st: returns 0, does nothing). */
	int64_t (*seek)(struct device *dev, int64_t offset, int whence);
	/* MTIOCTOP with a native Linux op. Files answer -ENOTTY. Returns 0 or -errno. */
	int (*tape_op)(struct device *dev, int op, int count);
	/* MTIOCGET. Files answer -ENOTTY. */
	int (*status)(struct device *dev, struct mtget *status);
	/* MTIOCPOS (logical object number). Files answer -ENOTTY. */
	int (*position)(struct device *dev, int64_t *block);
	/* MTSEEK to a logical object. Files answer -ENOTTY. */
	int (*locate)(struct device *dev, int64_t block);
	/*
	 * Bytes that can still be written before early warning (0 when past it), -1
	 * when the medium has no such limit. NULL: the backend cannot tell. Reads
	 * the backend's state only, no device call: a pipelining client paces by it.
	 */
	int64_t (*room)(struct device *dev);
	/*
	 * Write one record whose first head_length bytes are at head and whose rest,
	 * pipe_length bytes, is all in pipe (rmtd's own, holding nothing else), as
	 * write() would: whole or not at all, without copying the rest through
	 * memory. Only when dev->pipe_writes; NULL: the backend never can. Whatever
	 * the result, the pipe is emptied or thrown away by the caller after.
	 */
	ssize_t (*write_from_pipe)(struct device *dev, const void *head, size_t head_length,
	                           int pipe, size_t pipe_length);
	/*
	 * Read as read() would, but into pipe (rmtd's own, empty, with room for
	 * count bytes) instead of memory. Only when dev->pipe_reads; NULL: never.
	 */
	ssize_t (*read_to_pipe)(struct device *dev, int pipe, size_t count);
	/* How large that pipe must be for a read of count bytes now (pages it spans). */
	size_t (*pipe_read_size)(const struct device *dev, size_t count);
};

struct device {
	const struct backend_ops *ops;
	void *state;  /* backend-private */
	int fd;       /* the main descriptor, -1 when closed (for logging and splice) */
	bool is_tape; /* st and vtape: filemarks, records, MTIOCGET */
	/* The open device takes write_from_pipe(), read_to_pipe() (set by open). */
	bool pipe_writes, pipe_reads;
	int open_flags;
};

extern const struct backend_ops backend_file_ops;
extern const struct backend_ops backend_vtape_ops;
extern const struct backend_ops backend_st_ops;

/*
 * Take an flock (LOCK_EX or LOCK_SH) for this process, waiting up to 2 s for
 * another to let go. Returns 0, -EBUSY, or -errno.
 */
int backend_lock(int fd, int operation);

/* The test server (rmtd-fault) puts every backend behind this wrapper; NULL in rmtd. */
extern const struct backend_ops *(*backend_wrapper)(const struct backend_ops *inner);

/* Does this open descriptor answer MTIOCGET, i.e. is it a tape the st backend can drive? */
bool backend_st_recognises(int fd);

#endif
