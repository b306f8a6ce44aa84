/*
 * preload_stat.c - the stat family on placeholders and on mapped paths: a
 * character device (the tape's major and minor, or a made-up one) instead of
 * what /dev/null or the missing local path would say.
 */
#undef _FILE_OFFSET_BITS /* we define open and open64, stat and stat64 ... side by side */
#undef _FORTIFY_SOURCE   /* and read, open and friends without glibc's inline wrappers */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "preload_internal.h"

static int (*real___fxstat)(int, int, struct stat *);
static int (*real___fxstat64)(int, int, struct stat64 *);
static int (*real___fxstatat)(int, int, const char *, struct stat *, int);
static int (*real___fxstatat64)(int, int, const char *, struct stat64 *, int);
static int (*real___lxstat)(int, const char *, struct stat *);
static int (*real___lxstat64)(int, const char *, struct stat64 *);
static int (*real___xstat)(int, const char *, struct stat *);
static int (*real___xstat64)(int, const char *, struct stat64 *);
int (*real_fstat)(int, struct stat *);
static int (*real_fstat64)(int, struct stat64 *);
static int (*real_fstatat)(int, const char *, struct stat *, int);
static int (*real_fstatat64)(int, const char *, struct stat64 *, int);
static int (*real_lstat)(const char *, struct stat *);
static int (*real_lstat64)(const char *, struct stat64 *);
static int (*real_stat)(const char *, struct stat *);
static int (*real_stat64)(const char *, struct stat64 *);
static int (*real_statx)(int, const char *, int, unsigned int, struct statx *);

/* glibc's internal names, interposed too (no prototypes in its headers) */
int __fxstat(int version, int fd, struct stat *buf);
int __fxstat64(int version, int fd, struct stat64 *buf);
int __xstat(int version, const char *path, struct stat *buf);
int __xstat64(int version, const char *path, struct stat64 *buf);
int __lxstat(int version, const char *path, struct stat *buf);
int __lxstat64(int version, const char *path, struct stat64 *buf);
int __fxstatat(int version, int dirfd, const char *path, struct stat *buf, int flags);
int __fxstatat64(int version, int dirfd, const char *path, struct stat64 *buf, int flags);

/* ------------------------------------------------------------------ stat */

/* What a remote descriptor or a mapped name looks like: a character device. */
static void fake_stat(struct stat64 *st, ino_t ino, dev_t rdev)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0660;
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_rdev = rdev;
	st->st_ino = ino;
	st->st_dev = makedev(0, 5); /* devtmpfs-like */
	st->st_blksize = 10240;     /* tar's default record */
	st->st_atim = st->st_mtim = st->st_ctim = now;
}

static void stat64_to_stat(const struct stat64 *in, struct stat *out)
{
	memset(out, 0, sizeof(*out));
	out->st_dev = in->st_dev;
	out->st_ino = (ino_t)in->st_ino;
	out->st_mode = in->st_mode;
	out->st_nlink = in->st_nlink;
	out->st_uid = in->st_uid;
	out->st_gid = in->st_gid;
	out->st_rdev = in->st_rdev;
	out->st_blksize = in->st_blksize;
	out->st_atim = in->st_atim;
	out->st_mtim = in->st_mtim;
	out->st_ctim = in->st_ctim;
}

/* 1 and *st filled if fd is remote; 0 otherwise. */
static int stat_remote_fd(int fd, struct stat64 *st)
{
	struct remote *r = acquire(fd);

	if (r == NULL)
		return 0;
	fake_stat(st, r->ino, r->rdev);
	release(r);
	return 1;
}

/* 1 and *st filled if path is a mapped name; 0 otherwise. */
static int stat_mapped_path(const char *path, struct stat64 *st)
{
	const struct device_map *d = match_device(path);
	unsigned long hash = 5381;

	if (d == NULL)
		return 0;
	for (const char *p = d->local; *p != '\0'; p++)
		hash = hash * 33 + (unsigned char)*p;
	fake_stat(st, (ino_t)hash, makedev(9, 128 + (unsigned int)(d - devices)));
	return 1;
}

EXPORT int fstat(int fd, struct stat *buf)
{
	struct stat64 st;

	if (stat_remote_fd(fd, &st)) {
		stat64_to_stat(&st, buf);
		return 0;
	}
	return REAL(fstat)(fd, buf);
}

EXPORT int fstat64(int fd, struct stat64 *buf)
{
	if (stat_remote_fd(fd, buf))
		return 0;
	return REAL(fstat64)(fd, buf);
}

EXPORT int __fxstat(int version, int fd, struct stat *buf)
{
	struct stat64 st;

	if (stat_remote_fd(fd, &st)) {
		stat64_to_stat(&st, buf);
		return 0;
	}
	if (REAL(__fxstat) == NULL)
		return REAL(fstat)(fd, buf);
	return real___fxstat(version, fd, buf);
}

EXPORT int __fxstat64(int version, int fd, struct stat64 *buf)
{
	if (stat_remote_fd(fd, buf))
		return 0;
	if (REAL(__fxstat64) == NULL)
		return REAL(fstat64)(fd, buf);
	return real___fxstat64(version, fd, buf);
}

/* fstatat(fd, "", AT_EMPTY_PATH) is an fstat; otherwise a name, perhaps a mapped one. */
static int stat_at(int dirfd, const char *path, int flags, struct stat64 *st)
{
	if ((flags & AT_EMPTY_PATH) && path != NULL && path[0] == '\0')
		return stat_remote_fd(dirfd, st);
	if (device_count == 0 || path == NULL || (path[0] != '/' && dirfd != AT_FDCWD))
		return 0;
	return stat_mapped_path(path, st);
}

EXPORT int fstatat(int dirfd, const char *path, struct stat *buf, int flags)
{
	struct stat64 st;

	if (stat_at(dirfd, path, flags, &st)) {
		stat64_to_stat(&st, buf);
		return 0;
	}
	return REAL(fstatat)(dirfd, path, buf, flags);
}

EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags)
{
	if (stat_at(dirfd, path, flags, buf))
		return 0;
	return REAL(fstatat64)(dirfd, path, buf, flags);
}

EXPORT int __fxstatat(int version, int dirfd, const char *path, struct stat *buf, int flags)
{
	struct stat64 st;

	if (stat_at(dirfd, path, flags, &st)) {
		stat64_to_stat(&st, buf);
		return 0;
	}
	if (REAL(__fxstatat) == NULL)
		return REAL(fstatat)(dirfd, path, buf, flags);
	return real___fxstatat(version, dirfd, path, buf, flags);
}

EXPORT int __fxstatat64(int version, int dirfd, const char *path, struct stat64 *buf, int flags)
{
	if (stat_at(dirfd, path, flags, buf))
		return 0;
	if (REAL(__fxstatat64) == NULL)
		return REAL(fstatat64)(dirfd, path, buf, flags);
	return real___fxstatat64(version, dirfd, path, buf, flags);
}

EXPORT int stat(const char *path, struct stat *buf)
{
	struct stat64 st;

	if (stat_mapped_path(path, &st)) {
		stat64_to_stat(&st, buf);
		return 0;
	}
	return REAL(stat)(path, buf);
}

EXPORT int stat64(const char *path, struct stat64 *buf)
{
	if (stat_mapped_path(path, buf))
		return 0;
	return REAL(stat64)(path, buf);
}

EXPORT int lstat(const char *path, struct stat *buf)
{
	struct stat64 st;

	if (stat_mapped_path(path, &st)) {
		stat64_to_stat(&st, buf);
		return 0;
	}
	return REAL(lstat)(path, buf);
}

EXPORT int lstat64(const char *path, struct stat64 *buf)
{
	if (stat_mapped_path(path, buf))
		return 0;
	return REAL(lstat64)(path, buf);
}

EXPORT int __xstat(int version, const char *path, struct stat *buf)
{
	struct stat64 st;

	if (stat_mapped_path(path, &st)) {
		stat64_to_stat(&st, buf);
		return 0;
	}
	if (REAL(__xstat) == NULL)
		return REAL(stat)(path, buf);
	return real___xstat(version, path, buf);
}

EXPORT int __xstat64(int version, const char *path, struct stat64 *buf)
{
	if (stat_mapped_path(path, buf))
		return 0;
	if (REAL(__xstat64) == NULL)
		return REAL(stat64)(path, buf);
	return real___xstat64(version, path, buf);
}

EXPORT int __lxstat(int version, const char *path, struct stat *buf)
{
	struct stat64 st;

	if (stat_mapped_path(path, &st)) {
		stat64_to_stat(&st, buf);
		return 0;
	}
	if (REAL(__lxstat) == NULL)
		return REAL(lstat)(path, buf);
	return real___lxstat(version, path, buf);
}

EXPORT int __lxstat64(int version, const char *path, struct stat64 *buf)
{
	if (stat_mapped_path(path, buf))
		return 0;
	if (REAL(__lxstat64) == NULL)
		return REAL(lstat64)(path, buf);
	return real___lxstat64(version, path, buf);
}

EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)
{
	struct stat64 st;

	if (!stat_at(dirfd, path, flags, &st))
		return REAL(statx)(dirfd, path, flags, mask, buf);
	memset(buf, 0, sizeof(*buf));
	buf->stx_mask = STATX_BASIC_STATS;
	buf->stx_blksize = (uint32_t)st.st_blksize;
	buf->stx_nlink = (uint32_t)st.st_nlink;
	buf->stx_uid = st.st_uid;
	buf->stx_gid = st.st_gid;
	buf->stx_mode = (uint16_t)st.st_mode;
	buf->stx_ino = st.st_ino;
	buf->stx_rdev_major = major(st.st_rdev);
	buf->stx_rdev_minor = minor(st.st_rdev);
	buf->stx_dev_major = major(st.st_dev);
	buf->stx_dev_minor = minor(st.st_dev);
	buf->stx_atime.tv_sec = st.st_atim.tv_sec;
	buf->stx_mtime.tv_sec = st.st_mtim.tv_sec;
	buf->stx_ctime.tv_sec = st.st_ctim.tv_sec;
	return 0;
}
