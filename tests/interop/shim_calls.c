/*
 * shim_calls.c - the C library calls librmt-preload.so interposes that none of
 * the unmodified programs in test-preload.sh makes, each made once on a mapped
 * name (argv[1], mapped to an empty virtual tape): open's 64-bit and fortified
 * variants and creat, the stat family, writev and readv, __read_chk, positioned
 * I/O, ftruncate, lseek64, fsync, dup3, close_range and closefrom. One line per
 * check; exits 1 at the first that fails.
 */
#undef _FILE_OFFSET_BITS /* open and open64, pread and pread64 ... each by its own name */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* The fortified entry points, declared here as glibc's headers do only under _FORTIFY_SOURCE. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buffer, size_t count, size_t buffer_size);

#define CHECK(condition, what)                                                                     \
	do {                                                                                       \
		if (!(condition)) {                                                                \
			printf("FAIL %s: %s (errno %d, %s)\n", __func__, what, errno,              \
			       strerror(errno));                                                   \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static const char *name;

static bool is_character_device(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode);
}

static void tape_op(int fd, short op, int count)
{
	struct mtop mt = {.mt_op = op, .mt_count = count};

	CHECK(ioctl(fd, MTIOCTOP, &mt) == 0, "MTIOCTOP");
}

/* One at a time (the drive has one holder): a placeholder that fstat shows as a tape. */
static void opened(int fd, const char *what)
{
	CHECK(fd >= 0, what);
	CHECK(is_character_device(fd), what);
	CHECK(close(fd) == 0, what);
}

static void open_variants(void)
{
	/* creat first: on an empty tape it has nothing to truncate. */
	opened(creat(name, 0600), "creat");
	opened(creat64(name, 0600), "creat64");
	opened(open64(name, O_RDWR), "open64");
	opened(openat64(AT_FDCWD, name, O_RDWR), "openat64");
	opened(__open_2(name, O_RDWR), "__open_2");
	opened(__open64_2(name, O_RDWR), "__open64_2");
	opened(__openat_2(AT_FDCWD, name, O_RDWR), "__openat_2");
	opened(__openat64_2(AT_FDCWD, name, O_RDWR), "__openat64_2");
	printf("ok creat, creat64, open64, openat64 and the four fortified opens\n");
}

/* The mapped name, not opened, looks like a tape device to every stat. */
static void stats(void)
{
	struct stat st;
	struct stat64 st64;

	CHECK(stat(name, &st) == 0 && S_ISCHR(st.st_mode), "stat");
	CHECK(lstat(name, &st) == 0 && S_ISCHR(st.st_mode), "lstat");
	CHECK(fstatat(AT_FDCWD, name, &st, 0) == 0 && S_ISCHR(st.st_mode), "fstatat");
	CHECK(stat64(name, &st64) == 0 && S_ISCHR(st64.st_mode), "stat64");
	CHECK(lstat64(name, &st64) == 0 && S_ISCHR(st64.st_mode), "lstat64");
	CHECK(fstatat64(AT_FDCWD, name, &st64, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st64.st_mode),
	      "fstatat64");
	printf("ok stat, lstat, fstatat and their 64-bit twins see a character device\n");
}

/* writev makes one record of its pieces, readv scatters one record, as st does. */
static void vectored(int fd, const char *first, const char *second)
{
	char a[1000], b[2000], c[1024];
	struct iovec out[3] = {
	    {(void *)first, 1000}, {(void *)first + 1000, 1000}, {(void *)first + 2000, 1000}};
	struct iovec in[3] = {{a, sizeof(a)}, {b, sizeof(b)}, {c, sizeof(c)}};

	CHECK(writev(fd, out, 3) == 3000, "writev");
	CHECK(write(fd, second, 500) == 500, "write");
	tape_op(fd, MTREW, 1);
	CHECK(readv(fd, in, 3) == 3000, "readv");
	CHECK(memcmp(a, first, 1000) == 0 && memcmp(b, first + 1000, 2000) == 0, "readv data");
	printf("ok writev wrote one record of 3000 bytes, readv read it back in pieces\n");
}

static void read_chk(int fd, const char *second)
{
	char buffer[4096];

	CHECK(__read_chk(fd, buffer, sizeof(buffer), sizeof(buffer)) == 500, "__read_chk");
	CHECK(memcmp(buffer, second, 500) == 0, "__read_chk data");
	printf("ok __read_chk read the next record\n");
}

/* As on a local character device: no positioned I/O, no truncation. */
static void refused(int fd)
{
	char byte = 0;

	errno = 0;
	CHECK(pread(fd, &byte, 1, 0) < 0 && errno == ESPIPE, "pread");
	errno = 0;
	CHECK(pwrite(fd, &byte, 1, 0) < 0 && errno == ESPIPE, "pwrite");
	errno = 0;
	CHECK(pread64(fd, &byte, 1, 0) < 0 && errno == ESPIPE, "pread64");
	errno = 0;
	CHECK(pwrite64(fd, &byte, 1, 0) < 0 && errno == ESPIPE, "pwrite64");
	errno = 0;
	CHECK(ftruncate(fd, 0) < 0 && errno == EINVAL, "ftruncate");
	errno = 0;
	CHECK(ftruncate64(fd, 0) < 0 && errno == EINVAL, "ftruncate64");
	CHECK(lseek64(fd, 0, SEEK_CUR) == lseek(fd, 0, SEEK_CUR), "lseek64");
	CHECK(fsync(fd) == 0 && fdatasync(fd) == 0, "fsync");
	printf("ok pread, pwrite and their 64-bit twins ESPIPE, ftruncate EINVAL, "
	       "lseek64 as lseek, fsync 0\n");
}

/* dup3 makes another placeholder for the same connection, with its own flag. */
static void duplicate(int fd, const char *first)
{
	char buffer[4096];
	int copy = dup3(fd, 60, O_CLOEXEC);

	CHECK(copy == 60, "dup3");
	CHECK((fcntl(copy, F_GETFD) & FD_CLOEXEC) != 0, "dup3 O_CLOEXEC");
	CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0, "the original's flag");
	tape_op(copy, MTREW, 1);
	CHECK(read(copy, buffer, sizeof(buffer)) == 3000, "read through the copy");
	CHECK(memcmp(buffer, first, 3000) == 0, "data through the copy");
	CHECK(close(copy) == 0, "close the copy");
	CHECK(read(fd, buffer, sizeof(buffer)) == 500, "read after the copy's close");
	printf("ok dup3 onto 60 with O_CLOEXEC, the original goes on after its close\n");
}

/*
 * close_range and closefrom above the descriptor close its copies there, and
 * never the hidden socket the connection runs on (200 and above).
 */
static void close_everything_above(int fd, const char *first)
{
	char buffer[4096];

	CHECK(dup2(fd, fd + 5) == fd + 5, "dup2");
	CHECK(close_range((unsigned)fd + 1, ~0U, 0) == 0, "close_range");
	errno = 0;
	CHECK(fcntl(fd + 5, F_GETFD) < 0 && errno == EBADF, "the copy closed by close_range");
	tape_op(fd, MTREW, 1);
	CHECK(read(fd, buffer, sizeof(buffer)) == 3000, "read after close_range");
	CHECK(dup2(fd, fd + 7) == fd + 7, "dup2");
	closefrom(fd + 1);
	errno = 0;
	CHECK(fcntl(fd + 7, F_GETFD) < 0 && errno == EBADF, "the copy closed by closefrom");
	CHECK(read(fd, buffer, sizeof(buffer)) == 500, "read after closefrom");
	CHECK(close_range((unsigned)fd, (unsigned)fd, CLOSE_RANGE_CLOEXEC) == 0,
	      "close_range CLOEXEC");
	CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "marked close-on-exec");
	tape_op(fd, MTREW, 1);
	CHECK(read(fd, buffer, sizeof(buffer)) == 3000 && memcmp(buffer, first, 3000) == 0,
	      "read after marking");
	printf("ok close_range and closefrom closed the copies above, not the connection\n");
}

int main(int argc, char **argv)
{
	static char first[3000], second[500];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: shim_calls MAPPED-NAME\n");
		return 2;
	}
	name = argv[1];
	for (size_t i = 0; i < sizeof(first); i++)
		first[i] = (char)(i * 7 + 1);
	memset(second, 'z', sizeof(second));
	stats();
	open_variants();
	fd = open(name, O_RDWR);
	CHECK(fd >= 0, "open");
	vectored(fd, first, second);
	read_chk(fd, second);
	refused(fd);
	duplicate(fd, first);
	close_everything_above(fd, first);
	CHECK(close(fd) == 0, "close");
	return 0;
}
