/*
 * state_file.c - the files rmtd keeps between runs (counters, catalogs,
 * status files, a virtual tape's sidecars): safe file names for drive and
 * cartridge names, atomic replacement (temporary file, fsync, rename), appends
 * and bounded reads. Every function returns 0 or -errno and follows no symlink.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state_file.h"

#define STATE_DIR_MODE    0750
#define STATE_FILE_MODE   0640
#define STATE_HASH_DIGITS 16
#define TEMPORARY_TRIES   100

/* ---------------------------------------------------------------------------
 * Names and directories
 */

static bool safe_name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '+' || c == ',' || c == '=' || c == '@';
}

/* FNV-1a, 64 bits: only to keep cut names distinct, not for security. */
static uint64_t name_hash(const char *name)
{
	uint64_t h = 14695981039346656037ull;

	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		h ^= *s;
		h *= 1099511628211ull;
	}
	return h;
}

/* Encode name into out up to limit bytes; returns the length, *complete when all fit. */
static size_t encode_name(const char *name, char *out, size_t limit, bool *complete)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t used = 0;

	*complete = true;
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		bool plain = safe_name_byte(*s) && !(s == (const unsigned char *)name && *s == '.');

		if (used + (plain ? 1 : 3) > limit) {
			*complete = false;
			break;
		}
		if (plain) {
			out[used++] = (char)*s;
		} else {
			out[used++] = '%';
			out[used++] = hex[*s >> 4];
			out[used++] = hex[*s & 15];
		}
	}
	out[used] = '\0';
	return used;
}

int state_safe_name(const char *name, char *out, size_t size)
{
	bool complete;
	size_t used;

	if (!name || name[0] == '\0')
		return -EINVAL;
	if (size < STATE_NAME_MAX + 1)
		return -ENAMETOOLONG;
	encode_name(name, out, STATE_NAME_MAX, &complete);
	if (complete)
		return 0;
	/* too long: a prefix, "~" and a hash of the whole name keep it distinct */
	used = encode_name(name, out, STATE_NAME_MAX - 1 - STATE_HASH_DIGITS, &complete);
	snprintf(out + used, size - used, "~%016" PRIx64, name_hash(name));
	return 0;
}

static const char *kind_directory(enum counters_kind kind)
{
	return kind == COUNTERS_DRIVE ? "drives" : "cartridges";
}

static int make_directory(const char *path)
{
	struct stat st;

	if (mkdir(path, STATE_DIR_MODE) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int state_directory(const char *state_dir, enum counters_kind kind, bool create, char *out,
                    size_t size)
{
	int n, error;

	if (!state_dir || state_dir[0] == '\0')
		return -EINVAL;
	n = snprintf(out, size, "%s/%s", state_dir, kind_directory(kind));
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (!create)
		return 0;
	if ((error = make_directory(state_dir)) < 0)
		return error;
	return make_directory(out);
}

int state_file_location(const char *state_dir, enum counters_kind kind, const char *name,
                        const char *suffix, bool create, char *dir, size_t dir_size, char *file,
                        size_t file_size)
{
	char stem[STATE_NAME_MAX + 1];
	int error;

	if ((error = state_safe_name(name, stem, sizeof(stem))) < 0)
		return error;
	if ((error = state_directory(state_dir, kind, create, dir, dir_size)) < 0)
		return error;
	if ((size_t)snprintf(file, file_size, "%s%s", stem, suffix) >= file_size)
		return -ENAMETOOLONG;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Writing and reading
 */

static int write_all(int fd, const void *data, size_t length)
{
	const char *p = data;

	while (length > 0) {
		ssize_t n = write(fd, p, length);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		length -= (size_t)n;
	}
	return 0;
}

static int sync_directory_fd(int dir_fd)
{
	/* EINVAL: a file system without directory fsync; EBADF: an O_PATH directory. */
	if (fsync(dir_fd) < 0 && errno != EINVAL && errno != EBADF)
		return -errno;
	return 0;
}

/* A new temporary file in dir_fd: how->temporary, or ".NAME.XXXXXX" with a fresh suffix. */
static int create_temporary(int dir_fd, const char *name, const struct state_replace *how,
                            char *temporary, size_t size)
{
	int flags =
	    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (how->nonblocking ? O_NONBLOCK : 0);

	if (how->temporary != NULL) {
		if ((size_t)snprintf(temporary, size, "%s", how->temporary) >= size)
			return -ENAMETOOLONG;
		return openat(dir_fd, temporary, flags | O_TRUNC, how->create_mode);
	}
	for (int tries = 0; tries < TEMPORARY_TRIES; tries++) {
		int fd;

		if ((size_t)snprintf(temporary, size, ".%s.%08" PRIx32, name, arc4random()) >= size)
			return -ENAMETOOLONG;
		fd = openat(dir_fd, temporary, flags | O_EXCL, how->create_mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1; /* errno: EEXIST */
}

int state_replace_at(int dir_fd, const char *name, const struct state_replace *how,
                     int (*fill)(int fd, const void *arg), const void *arg)
{
	char temporary[NAME_MAX + 1];
	struct stat st;
	int fd, error = 0;

	fd = create_temporary(dir_fd, name, how, temporary, sizeof(temporary));
	if (fd == -ENAMETOOLONG)
		return fd;
	if (fd < 0)
		return -errno;
	/* O_NONBLOCK: a FIFO planted under the temporary name must not hang us, nor be written. */
	if (how->nonblocking && fstat(fd, &st) < 0)
		error = -errno;
	else if (how->nonblocking && !S_ISREG(st.st_mode))
		error = -EINVAL;
	if (error == 0 && how->set_mode && fchmod(fd, how->mode) < 0)
		error = -errno;
	if (error == 0)
		error = fill(fd, arg);
	if (error == 0 && how->durable && fsync(fd) < 0)
		error = -errno;
	if (close(fd) < 0 && error == 0)
		error = -errno;
	if (error == 0 && renameat(dir_fd, temporary, dir_fd, name) < 0)
		error = -errno;
	if (error < 0) {
		unlinkat(dir_fd, temporary, 0);
		return error;
	}
	/* The rename itself must reach the disk before the data is called safe. */
	return how->durable ? sync_directory_fd(dir_fd) : 0;
}

struct bytes {
	const void *data;
	size_t length;
};

static int fill_bytes(int fd, const void *arg)
{
	const struct bytes *b = arg;

	return write_all(fd, b->data, b->length);
}

int state_write_atomic(const char *dir, const char *file_name, const void *data, size_t length)
{
	static const struct state_replace how = {
	    .create_mode = 0600, .mode = STATE_FILE_MODE, .set_mode = true, .durable = true};
	struct bytes bytes = {data, length};
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int error;

	if (dir_fd < 0)
		return -errno;
	error = state_replace_at(dir_fd, file_name, &how, fill_bytes, &bytes);
	close(dir_fd);
	return error;
}

int state_append_file(const char *dir, const char *file_name, const void *data, size_t length)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, error = 0, n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, file_name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		error = -errno;
	else if (!S_ISREG(st.st_mode))
		error = -EINVAL;
	if (error == 0)
		error = write_all(fd, data, length);
	if (error == 0 && fsync(fd) < 0)
		error = -errno;
	if (close(fd) < 0 && error == 0)
		error = -errno;
	return error;
}

int state_read_file(const char *path, size_t max_size, char **data, size_t *length)
{
	struct stat st;
	char *buffer;
	size_t used = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	*data = NULL;
	*length = 0;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int error = -errno;

		close(fd);
		return error;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max_size) {
		close(fd);
		return -EFBIG;
	}
	buffer = malloc((size_t)st.st_size + 1);
	if (!buffer) {
		close(fd);
		return -ENOMEM;
	}
	/* read up to the size fstat gave; a file growing meanwhile is cut there */
	while (used < (size_t)st.st_size) {
		ssize_t n = read(fd, buffer + used, (size_t)st.st_size - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int error = -errno;

			free(buffer);
			close(fd);
			return error;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buffer[used] = '\0';
	*data = buffer;
	*length = used;
	return 0;
}

int state_load(const char *state_dir, enum counters_kind kind, const char *name, const char *suffix,
               size_t max_size, char *path, size_t path_size, char **data, size_t *length)
{
	char dir[PATH_MAX], file[NAME_MAX + 1];
	int error;

	*data = NULL;
	*length = 0;
	error = state_file_location(state_dir, kind, name, suffix, false, dir, sizeof(dir), file,
	                            sizeof(file));
	if (error < 0)
		return error;
	if ((size_t)snprintf(path, path_size, "%s/%s", dir, file) >= path_size)
		return -ENAMETOOLONG;
	error = state_read_file(path, max_size, data, length);
	if (error == -ENOENT || error == -ENOTDIR)
		return 0;
	if (error < 0) {
		errno = -error;
		log_warn("%s", path);
	}
	return error;
}
