/*
 * state_file.h - the files rmtd keeps between runs: safe names, the state
 * directory's layout, atomic replacement, appends and bounded reads.
 */
#ifndef RMTD_STATE_FILE_H
#define RMTD_STATE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "counters.h"

/* Longest safe file-name stem (leaves room for suffix and temporary name). */
#define STATE_NAME_MAX 180

/*
 * Turn a drive or cartridge name into a safe file-name stem: letters, digits
 * and "-_.+,=@" stay, every other byte (and a leading '.') becomes %XX, so
 * "/", "..", control bytes and blanks cannot escape or hide. A stem longer than
 * STATE_NAME_MAX is cut and ends in "~" + 16 hex digits of a hash of the whole
 * name, so long names stay distinct. Returns 0, -EINVAL (empty name) or
 * -ENAMETOOLONG (out too small; needs STATE_NAME_MAX + 1).
 */
int state_safe_name(const char *name, char *out, size_t size);

/*
 * Directory of one kind of state file ("<state_dir>/drives" or
 * "<state_dir>/cartridges") into out; with create, make it (0750) if missing.
 */
int state_directory(const char *state_dir, enum counters_kind kind, bool create, char *out,
                    size_t size);

/*
 * Where the state file of a drive or cartridge lies: its directory (made when
 * create) and its file name, the safe stem of name followed by suffix.
 */
int state_file_location(const char *state_dir, enum counters_kind kind, const char *name,
                        const char *suffix, bool create, char *dir, size_t dir_size, char *file,
                        size_t file_size);

/*
 * Replace dir/file_name by data atomically: temporary file in dir, write,
 * fsync, rename, fsync dir. Mode 0640. Returns 0 or -errno; on failure the
 * old file is untouched and the temporary file is removed.
 */
int state_write_atomic(const char *dir, const char *file_name, const void *data, size_t length);

/* How state_replace_at makes a file. */
struct state_replace {
	const char *temporary; /* the name written first; NULL: ".NAME.<random>" */
	mode_t create_mode;    /* for openat (the umask applies) */
	bool set_mode;         /* then fchmod to mode, whatever the umask */
	mode_t mode;
	bool durable;     /* fsync the file before the rename and the directory after it */
	bool nonblocking; /* O_NONBLOCK, and only a regular file is written (a planted FIFO) */
};

/*
 * Replace name in dir_fd atomically: a temporary file in the same directory
 * is created (no symlink followed), filled by fill(fd, arg), made durable as
 * asked and renamed over name. On failure the old file is untouched and the
 * temporary one removed. Returns 0, fill's error or -errno.
 */
int state_replace_at(int dir_fd, const char *name, const struct state_replace *how,
                     int (*fill)(int fd, const void *arg), const void *arg);

/*
 * Append data to the existing regular file dir/file_name (no symlinks) and
 * fsync it. A crash may leave a torn tail: the reader must accept that (the
 * catalog ignores an unterminated last line). Returns 0 or -errno (-ENOENT if
 * the file is not there).
 */
int state_append_file(const char *dir, const char *file_name, const void *data, size_t length);

/*
 * Read a whole regular file (no symlinks) of at most max_size bytes into a
 * malloc'd, NUL-terminated buffer. Returns 0, -ENOENT, -EFBIG or -errno.
 */
int state_read_file(const char *path, size_t max_size, char **data, size_t *length);

/*
 * Read the state file of (kind, name) with suffix whole: 0 with *data
 * malloc'd (NUL-terminated), or 0 with *data NULL when there is none yet. On
 * any other error the file is named in the log and -errno returned. path
 * receives the file's path, for the caller's messages.
 */
int state_load(const char *state_dir, enum counters_kind kind, const char *name, const char *suffix,
               size_t max_size, char *path, size_t path_size, char **data, size_t *length);

#endif
