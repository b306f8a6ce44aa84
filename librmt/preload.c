/*
 * preload.c - librmt-preload.so: unmodified programs use remote tapes.
 *
 * RMT_DEVICES='/dev/nst0=host:/dev/nst0,/dev/tape=rmt://lib1:5400/dev/nst1' names
 * the local paths that go remote. Opening one of them opens the remote device with
 * librmt. The program gets a placeholder descriptor (an O_PATH descriptor of
 * /dev/null, at the number open would have returned); the connection's socket sits
 * on a hidden descriptor above HIDDEN_FD_BASE. Every call the program makes on a
 * placeholder (read, write, lseek, ioctl MTIOCTOP/MTIOCGET/MTIOCPOS, fstat, dup,
 * fcntl, close, ...) becomes the rmt protocol; anything that reaches the kernel
 * without passing through here (stdio's internal writes, raw system calls) fails
 * loudly with EBADF instead of slipping raw bytes into the protocol stream. Every
 * other path and descriptor goes straight to libc after one relaxed load of a
 * counter.
 *
 * dup, fork and exec carry a placeholder like any descriptor; the hidden socket
 * is kept close-on-exec exactly when all its placeholders are, and exec passes
 * "placeholder:socket:inode:caps:flags" in RMT_PRELOAD_FDS (put into the
 * environment of execve and friends, since shells do not use environ) for the
 * next program's shim to adopt.
 *
 * A TLS session lives in this process's memory, so a TLS connection goes across
 * fork but not exec: its placeholder then reaches the new program unadopted, and
 * fails with EBADF there.
 *
 * Sharing: a connection used by one process only ends with C on the last close.
 * Once it may be held by another process (after fork, or inherited across exec),
 * closing it only closes this process's socket: the server sees EOF, and closes
 * the device, when the last holder is gone, which is what the kernel does for a
 * local tape too.
 *
 * This file holds the open, close, dup, fcntl and data interposers; the device
 * names, the placeholder table, fork/exec inheritance and the stat family are
 * preload_names.c, preload_table.c, preload_exec.c and preload_stat.c
 * (preload_internal.h).
 */
#undef _FILE_OFFSET_BITS /* we define open and open64, stat and stat64 ... side by side */
#undef _FORTIFY_SOURCE   /* and read, open and friends without glibc's inline wrappers */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "client_internal.h"
#include "preload_internal.h"

bool verbose;

/* ------------------------------------------------------------------ libc */

/* libc's function, looked up on first use (calls may come before our constructor). */
void *resolve(void **slot, const char *name)
{
	void *function = __atomic_load_n(slot, __ATOMIC_RELAXED);

	if (function == NULL) {
		function = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, function, __ATOMIC_RELAXED);
	}
	return function;
}

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real___open_2)(const char *, int);
static int (*real___open64_2)(const char *, int);
static int (*real___openat_2)(int, const char *, int);
static int (*real___openat64_2)(int, const char *, int);
static int (*real_creat)(const char *, mode_t);
static int (*real_creat64)(const char *, mode_t);
int (*real_close)(int);
static int (*real_close_range)(unsigned int, unsigned int, int);
static void (*real_closefrom)(int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real___read_chk)(int, void *, size_t, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off64_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static off_t (*real_lseek)(int, off_t, int);
static off64_t (*real_lseek64)(int, off64_t, int);
static int (*real_ioctl)(int, unsigned long, ...);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
int (*real_fcntl)(int, int, ...);
static int (*real_fcntl64)(int, int, ...);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);

/* Old programs call these glibc < 2.33 entry points; newer headers no longer declare them. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buffer, size_t count, size_t buffer_size);
int fcntl64(int fd, int command, ...);
void __chk_fail(void) __attribute__((noreturn));

/* ------------------------------------------------------------------ diagnostics */

void report(const char *what, const char *name, const char *text)
{
	if (verbose)
		dprintf(STDERR_FILENO, "librmt-preload: %s %s: %s\n", what, name,
		        text != NULL && text[0] != '\0' ? text : strerror(errno));
}

static int fail(int error)
{
	errno = error;
	return -1;
}

/* ------------------------------------------------------------------ open */

static int remote_open(const struct device_map *d, int flags)
{
	struct rmt_handle *handle;
	struct remote *r;
	int fd, error;

	handle = rmt_open(d->remote, flags, NULL);
	if (handle == NULL) {
		error = errno;
		report("cannot open", d->remote, rmt_error_text(NULL));
		return fail(error);
	}
	/* The socket first goes high, so the placeholder gets the number open would give. */
	librmt_set_fd(handle, move_high(rmt_fileno(handle)));
	fd = REAL(open)("/dev/null", O_PATH | (flags & O_CLOEXEC));
	r = fd >= 0 ? new_remote(handle, flags, false) : NULL;
	if (r == NULL) {
		error = fd >= 0 ? ENOMEM : errno;
		if (fd >= 0)
			REAL(close)(fd);
		rmt_close(handle);
		return fail(error);
	}
	pthread_mutex_lock(&table_lock);
	r->next = remotes;
	remotes = r;
	table_put(fd, r);
	sync_cloexec(r);
	update_environment();
	pthread_mutex_unlock(&table_lock);
	return fd;
}

static mode_t mode_argument(int flags, va_list ap)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return (mode_t)va_arg(ap, int);
	return 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	const struct device_map *d = match_device(path);
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_argument(flags, ap);
	va_end(ap);
	if (d != NULL)
		return remote_open(d, flags);
	return REAL(open)(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	const struct device_map *d = match_device(path);
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_argument(flags, ap);
	va_end(ap);
	if (d != NULL)
		return remote_open(d, flags);
	return REAL(open64)(path, flags, mode);
}

/* Relative names under another directory descriptor are never mapped. */
static const struct device_map *match_at(int dirfd, const char *path)
{
	if (path != NULL && (path[0] == '/' || dirfd == AT_FDCWD))
		return match_device(path);
	return NULL;
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	const struct device_map *d = match_at(dirfd, path);
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_argument(flags, ap);
	va_end(ap);
	if (d != NULL)
		return remote_open(d, flags);
	return REAL(openat)(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	const struct device_map *d = match_at(dirfd, path);
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_argument(flags, ap);
	va_end(ap);
	if (d != NULL)
		return remote_open(d, flags);
	return REAL(openat64)(dirfd, path, flags, mode);
}

EXPORT int __open_2(const char *path, int flags)
{
	const struct device_map *d = match_device(path);

	return d != NULL ? remote_open(d, flags) : REAL(__open_2)(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	const struct device_map *d = match_device(path);

	return d != NULL ? remote_open(d, flags) : REAL(__open64_2)(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	const struct device_map *d = match_at(dirfd, path);

	return d != NULL ? remote_open(d, flags) : REAL(__openat_2)(dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	const struct device_map *d = match_at(dirfd, path);

	return d != NULL ? remote_open(d, flags) : REAL(__openat64_2)(dirfd, path, flags);
}

EXPORT int creat(const char *path, mode_t mode)
{
	const struct device_map *d = match_device(path);

	return d != NULL ? remote_open(d, O_CREAT | O_WRONLY | O_TRUNC) : REAL(creat)(path, mode);
}

EXPORT int creat64(const char *path, mode_t mode)
{
	const struct device_map *d = match_device(path);

	return d != NULL ? remote_open(d, O_CREAT | O_WRONLY | O_TRUNC) : REAL(creat64)(path, mode);
}

/* ------------------------------------------------------------------ close, dup */

/* close(2) on fd with the remote side handled. */
static int close_descriptor(int fd)
{
	bool last;
	struct remote *r = detach(fd, &last);
	int result, error;

	if (r == NULL) {
		/* A close-everything loop must not cut our connections: pretend. */
		if (is_hidden_socket(fd))
			return 0;
		return REAL(close)(fd);
	}
	if (!last)
		return REAL(close)(fd);
	result = finish_remote(r);
	error = errno;
	REAL(close)(fd);
	if (result < 0)
		errno = error;
	return result;
}

EXPORT int close(int fd)
{
	if (!any_remote())
		return REAL(close)(fd);
	return close_descriptor(fd);
}

/* Sorted hidden sockets in [first, last], at most max of them. Under table_lock. */
static int hidden_in_range(unsigned int first, unsigned int last, int *out, int max)
{
	int n = 0;

	for (struct remote *r = remotes; r != NULL && n < max; r = r->next)
		if (r->sock >= 0 && (unsigned int)r->sock >= first && (unsigned int)r->sock <= last)
			out[n++] = r->sock;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
			int t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* close_range over [first, last] minus our hidden sockets. */
static int remote_close_range(unsigned int first, unsigned int last, int flags)
{
	int hidden[64], count, result = 0;
	bool mark_only = (flags & 4) != 0; /* CLOSE_RANGE_CLOEXEC */

	/* Placeholders first, each with its remote side. */
	for (unsigned int fd = first;; fd++) {
		int found = -1;

		pthread_mutex_lock(&table_lock);
		for (int i = (int)fd; i < table_size && (unsigned int)i <= last; i++)
			if (table[i] != NULL) {
				found = i;
				break;
			}
		pthread_mutex_unlock(&table_lock);
		if (found < 0)
			break;
		if (mark_only)
			REAL(fcntl)(found, F_SETFD, FD_CLOEXEC);
		else
			close_descriptor(found);
		fd = (unsigned int)found;
	}
	pthread_mutex_lock(&table_lock);
	count = hidden_in_range(first, last, hidden, 64);
	pthread_mutex_unlock(&table_lock);
	for (int i = 0; i <= count && result == 0; i++) {
		unsigned int end = i < count ? (unsigned int)hidden[i] - 1 : last;

		if (end >= first && !(i < count && (unsigned int)hidden[i] == 0))
			result = REAL(close_range)(first, end, flags);
		if (i < count)
			first = (unsigned int)hidden[i] + 1;
		if (first == 0) /* wrapped past ~0U */
			break;
	}
	if (mark_only) {
		pthread_mutex_lock(&table_lock);
		for (struct remote *r = remotes; r != NULL; r = r->next)
			sync_cloexec(r);
		update_environment();
		pthread_mutex_unlock(&table_lock);
	}
	return result;
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	if (!any_remote() || first > last)
		return REAL(close_range)(first, last, flags);
	return remote_close_range(first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
	if (!any_remote() || lowfd < 0) {
		REAL(closefrom)(lowfd);
		return;
	}
	if (remote_close_range((unsigned int)lowfd, ~0U, 0) < 0) {
		/* No close_range in this kernel: one by one, up to the limit. */
		long max = sysconf(_SC_OPEN_MAX);

		for (long fd = lowfd; fd < (max > 0 ? max : 1024); fd++)
			close_descriptor((int)fd);
	}
}

/* newfd now refers to what oldfd does: remember it if that is a placeholder. */
static int after_dup(int oldfd, int newfd)
{
	struct remote *r;

	if (newfd < 0 || !any_remote())
		return newfd;
	pthread_mutex_lock(&table_lock);
	r = placeholder(oldfd);
	if (r != NULL && oldfd != newfd && table_put(newfd, r) == 0) {
		sync_cloexec(r);
		update_environment();
	}
	pthread_mutex_unlock(&table_lock);
	return newfd;
}

static bool is_placeholder(int fd)
{
	bool found;

	pthread_mutex_lock(&table_lock);
	found = placeholder(fd) != NULL;
	pthread_mutex_unlock(&table_lock);
	return found;
}

/* Before dup2/dup3 onto newfd: make room, and end newfd properly if it is remote. */
static int before_dup_onto(int oldfd, int newfd)
{
	if (!any_remote() || oldfd == newfd)
		return 0;
	if (REAL(fcntl)(oldfd, F_GETFD) < 0)
		return -1; /* EBADF: fail the way dup2 would, with nothing changed */
	vacate(newfd);
	if (is_placeholder(newfd))
		close_descriptor(newfd);
	return 0;
}

EXPORT int dup(int oldfd)
{
	return after_dup(oldfd, REAL(dup)(oldfd));
}

EXPORT int dup2(int oldfd, int newfd)
{
	if (before_dup_onto(oldfd, newfd) < 0)
		return -1;
	return after_dup(oldfd, REAL(dup2)(oldfd, newfd));
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (before_dup_onto(oldfd, newfd) < 0)
		return -1;
	return after_dup(oldfd, REAL(dup3)(oldfd, newfd, flags));
}

static int fcntl_common(int (*real)(int, int, ...), int fd, int command, void *arg)
{
	struct remote *r;
	int result;

	if (!any_remote())
		return real(fd, command, arg);
	r = acquire(fd);
	if (r != NULL) {
		if (command == F_GETFL) {
			result = r->open_flags;
			release(r);
			return result;
		}
		if (command == F_SETFL) {
			/* Remember what was asked; the placeholder has nothing to set. */
			r->open_flags =
			    (r->open_flags & O_ACCMODE) |
			    ((int)(long)arg & (O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC));
			release(r);
			return 0;
		}
		release(r);
	}
	if (command == F_DUPFD || command == F_DUPFD_CLOEXEC)
		return after_dup(fd, real(fd, command, arg));
	result = real(fd, command, arg);
	if (r != NULL && command == F_SETFD && result == 0) {
		pthread_mutex_lock(&table_lock);
		r = placeholder(fd);
		if (r != NULL) {
			sync_cloexec(r);
			update_environment();
		}
		pthread_mutex_unlock(&table_lock);
	}
	return result;
}

/* fcntl's third argument is an int or a pointer; passing it on as a pointer is what glibc does. */
EXPORT int fcntl(int fd, int command, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, command);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl), fd, command, arg);
}

EXPORT int fcntl64(int fd, int command, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, command);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl64) != NULL ? real_fcntl64 : REAL(fcntl), fd, command, arg);
}

/* ------------------------------------------------------------------ data */

EXPORT ssize_t read(int fd, void *buffer, size_t count)
{
	struct remote *r;
	ssize_t n;

	if (!any_remote())
		return REAL(read)(fd, buffer, count);
	r = acquire(fd);
	if (r == NULL)
		return REAL(read)(fd, buffer, count);
	n = rmt_read(r->handle, buffer, count);
	if (n < 0)
		report("read", "remote device", rmt_error_text(r->handle));
	release(r);
	return n;
}

EXPORT ssize_t __read_chk(int fd, void *buffer, size_t count, size_t buffer_size)
{
	if (count > buffer_size)
		__chk_fail();
	if (!any_remote())
		return REAL(__read_chk)(fd, buffer, count, buffer_size);
	return read(fd, buffer, count);
}

EXPORT ssize_t write(int fd, const void *buffer, size_t count)
{
	struct remote *r;
	ssize_t n;

	if (!any_remote())
		return REAL(write)(fd, buffer, count);
	r = acquire(fd);
	if (r == NULL)
		return REAL(write)(fd, buffer, count);
	n = rmt_write(r->handle, buffer, count);
	if (n < 0)
		report("write", "remote device", rmt_error_text(r->handle));
	release(r);
	return n;
}

static size_t iov_total(const struct iovec *iov, int count)
{
	size_t total = 0;

	for (int i = 0; i < count; i++) {
		if (iov[i].iov_len > SSIZE_MAX - total)
			return SSIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

/* readv/writev: one record, as the local driver makes one of a vectored call. */
EXPORT ssize_t readv(int fd, const struct iovec *iov, int count)
{
	struct remote *r;
	unsigned char *buffer;
	size_t total;
	ssize_t n;

	if (!any_remote())
		return REAL(readv)(fd, iov, count);
	r = acquire(fd);
	if (r == NULL)
		return REAL(readv)(fd, iov, count);
	total = iov_total(iov, count);
	buffer = malloc(total > 0 ? total : 1);
	if (buffer == NULL) {
		release(r);
		return fail(ENOMEM);
	}
	n = rmt_read(r->handle, buffer, total);
	for (ssize_t done = 0, i = 0; n > 0 && done < n; i++) {
		size_t part =
		    iov[i].iov_len < (size_t)(n - done) ? iov[i].iov_len : (size_t)(n - done);

		memcpy(iov[i].iov_base, buffer + done, part);
		done += (ssize_t)part;
	}
	release(r);
	free(buffer);
	return n;
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int count)
{
	struct remote *r;
	unsigned char *buffer;
	size_t total, done = 0;
	ssize_t n;

	if (!any_remote())
		return REAL(writev)(fd, iov, count);
	r = acquire(fd);
	if (r == NULL)
		return REAL(writev)(fd, iov, count);
	total = iov_total(iov, count);
	buffer = malloc(total > 0 ? total : 1);
	if (buffer == NULL) {
		release(r);
		return fail(ENOMEM);
	}
	for (int i = 0; i < count && done < total; i++) {
		size_t part = iov[i].iov_len < total - done ? iov[i].iov_len : total - done;

		memcpy(buffer + done, iov[i].iov_base, part);
		done += part;
	}
	n = rmt_write(r->handle, buffer, total);
	release(r);
	free(buffer);
	return n;
}

/* Positioned I/O on a tape is ESPIPE, as on a local character device. */
static bool is_remote(int fd)
{
	struct remote *r = acquire(fd);

	if (r == NULL)
		return false;
	release(r);
	return true;
}

EXPORT ssize_t pread(int fd, void *buffer, size_t count, off_t offset)
{
	return is_remote(fd) ? fail(ESPIPE) : REAL(pread)(fd, buffer, count, offset);
}

EXPORT ssize_t pread64(int fd, void *buffer, size_t count, off64_t offset)
{
	return is_remote(fd) ? fail(ESPIPE) : REAL(pread64)(fd, buffer, count, offset);
}

EXPORT ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset)
{
	return is_remote(fd) ? fail(ESPIPE) : REAL(pwrite)(fd, buffer, count, offset);
}

EXPORT ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset)
{
	return is_remote(fd) ? fail(ESPIPE) : REAL(pwrite64)(fd, buffer, count, offset);
}

static off64_t remote_lseek(struct remote *r, off64_t offset, int whence)
{
	off_t result = rmt_lseek(r->handle, (off_t)offset, whence);

	if (result < 0)
		report("lseek", "remote device", rmt_error_text(r->handle));
	return result;
}

EXPORT off_t lseek(int fd, off_t offset, int whence)
{
	struct remote *r;
	off_t result;

	if (!any_remote())
		return REAL(lseek)(fd, offset, whence);
	r = acquire(fd);
	if (r == NULL)
		return REAL(lseek)(fd, offset, whence);
	result = (off_t)remote_lseek(r, offset, whence);
	release(r);
	return result;
}

EXPORT off64_t lseek64(int fd, off64_t offset, int whence)
{
	struct remote *r;
	off64_t result;

	if (!any_remote())
		return REAL(lseek64)(fd, offset, whence);
	r = acquire(fd);
	if (r == NULL)
		return REAL(lseek64)(fd, offset, whence);
	result = remote_lseek(r, offset, whence);
	release(r);
	return result;
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
	struct remote *r;
	va_list ap;
	void *arg;
	int result;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	r = acquire(fd);
	if (r == NULL)
		return REAL(ioctl)(fd, request, arg);
	/* Tape requests go remote; nothing else reaches the socket (FIONBIO would break it). */
	result = rmt_ioctl(r->handle, request, arg);
	if (result < 0 && errno != ENOTTY)
		report("ioctl", "remote device", rmt_error_text(r->handle));
	release(r);
	return result;
}

/*
 * fsync and fdatasync: done once the server has acknowledged every record (a
 * local st would say EINVAL, but a program that syncs wants to know its data is
 * there). Pipelined writes still in flight are waited for, and one that failed
 * is this call's error.
 */
static int remote_sync(int fd, int (*real)(int), const char *what)
{
	struct remote *r;
	int result;

	if (!any_remote())
		return real(fd);
	r = acquire(fd);
	if (r == NULL)
		return real(fd);
	result = librmt_sync(r->handle);
	if (result < 0)
		report(what, "remote device", rmt_error_text(r->handle));
	release(r);
	return result;
}

EXPORT int fsync(int fd)
{
	return remote_sync(fd, REAL(fsync), "fsync");
}

EXPORT int fdatasync(int fd)
{
	return remote_sync(fd, REAL(fdatasync), "fdatasync");
}

EXPORT int ftruncate(int fd, off_t length)
{
	return is_remote(fd) ? fail(EINVAL) : REAL(ftruncate)(fd, length);
}

EXPORT int ftruncate64(int fd, off64_t length)
{
	return is_remote(fd) ? fail(EINVAL) : REAL(ftruncate64)(fd, length);
}
