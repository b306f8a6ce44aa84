/*
 * test_backend_file.c - the plain-file backend: one call per request, errors as -errno,
 * whole records, one writer at a time.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "path.h"
#include "scratch_dir.h"

TestSuite(backend_file, .init = scratch_dir_make, .fini = scratch_dir_remove);

static int open_device(struct device *dev, const char *name, int flags)
{
	struct open_target target = {
	    .directory_fd = directory_fd,
	    .name = name,
	    .canonical = name,
	    .flags = flags,
	    .max_record = 1 << 20,
	};

	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	dev->ops = &backend_file_ops;
	return backend_file_ops.open(dev, &target);
}

Test(backend_file, write_read_seek_round_trip)
{
	struct device dev;
	char buffer[64];

	cr_assert_eq(open_device(&dev, "f", O_RDWR | O_CREAT), 0);
	cr_assert_not(dev.is_tape);
	cr_assert_eq(dev.ops->write(&dev, "hello world", 11), 11);
	cr_assert_eq(dev.ops->seek(&dev, 0, SEEK_CUR), 11);
	cr_assert_eq(dev.ops->seek(&dev, 6, SEEK_SET), 6);
	cr_assert_eq(dev.ops->read(&dev, buffer, sizeof(buffer)), 5);
	cr_assert_eq(memcmp(buffer, "world", 5), 0);
	cr_assert_eq(dev.ops->read(&dev, buffer, sizeof(buffer)), 0, "end of file reads 0");
	cr_assert_eq(dev.ops->seek(&dev, -3, SEEK_END), 8);
	cr_assert_eq(dev.ops->seek(&dev, -100, SEEK_SET), -EINVAL);
	cr_assert_eq(dev.ops->close(&dev), 0);
	cr_assert_eq(dev.fd, -1);
}

Test(backend_file, read_never_returns_more_than_asked)
{
	struct device dev;
	char buffer[8] = {0};

	cr_assert_eq(open_device(&dev, "g", O_RDWR | O_CREAT), 0);
	cr_assert_eq(dev.ops->write(&dev, "0123456789", 10), 10);
	cr_assert_eq(dev.ops->seek(&dev, 0, SEEK_SET), 0);
	cr_assert_eq(dev.ops->read(&dev, buffer, 3), 3);
	cr_assert_eq(memcmp(buffer, "012", 3), 0);
	cr_assert_eq(buffer[3], 0);
	dev.ops->close(&dev);
}

Test(backend_file, tape_operations_are_not_for_files)
{
	struct device dev;
	struct mtget status;
	int64_t block;

	cr_assert_eq(open_device(&dev, "h", O_RDWR | O_CREAT), 0);
	cr_assert_eq(dev.ops->tape_op(&dev, MTREW, 1), -ENOTTY);
	cr_assert_eq(dev.ops->status(&dev, &status), -ENOTTY);
	cr_assert_eq(dev.ops->position(&dev, &block), -ENOTTY);
	cr_assert_eq(dev.ops->locate(&dev, 0), -ENOTTY);
	dev.ops->close(&dev);
}

Test(backend_file, errors_come_back_as_negative_errno)
{
	struct device dev;

	cr_assert_eq(open_device(&dev, "missing", O_RDONLY), -ENOENT);
	cr_assert_eq(mkdirat(directory_fd, "d", 0755), 0);
	cr_assert_eq(open_device(&dev, "d", O_RDONLY), -EISDIR);
	cr_assert_eq(open_device(&dev, "new", O_RDONLY), -ENOENT);
	cr_assert_eq(open_device(&dev, "ro", O_WRONLY | O_CREAT), 0);
	dev.ops->close(&dev);
	cr_assert_eq(open_device(&dev, "ro", O_RDONLY), 0);
	cr_assert_eq(dev.ops->write(&dev, "x", 1), -EBADF, "write on a read-only open");
	dev.ops->close(&dev);
}

Test(backend_file, zero_length_write)
{
	struct device dev;

	cr_assert_eq(open_device(&dev, "z", O_WRONLY | O_CREAT), 0);
	cr_assert_eq(dev.ops->write(&dev, "", 0), 0);
	dev.ops->close(&dev);
}

static off_t size_of(const char *name)
{
	struct stat st;
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

static ssize_t put(struct device *dev, size_t n, int fill)
{
	char *buf = malloc(n);
	ssize_t r;

	memset(buf, fill, n);
	r = backend_file_ops.write(dev, buf, n);
	free(buf);
	return r;
}

/* One writer or several readers between processes (each open is one here). */
Test(backend_file, a_regular_file_has_one_writer_or_readers)
{
	struct device writer, reader, other;

	cr_assert_eq(open_device(&writer, "locked.dat", O_WRONLY | O_CREAT), 0);
	cr_assert_eq(put(&writer, 100, 'a'), 100);
	cr_assert_eq(open_device(&reader, "locked.dat", O_RDONLY), -EBUSY);
	/* a refused O_TRUNC must not have emptied the file it could not lock */
	cr_assert_eq(open_device(&other, "locked.dat", O_WRONLY | O_TRUNC), -EBUSY);
	cr_assert_eq(size_of("locked.dat"), 100);
	cr_assert_eq(backend_file_ops.close(&writer), 0);

	cr_assert_eq(open_device(&reader, "locked.dat", O_RDONLY), 0);
	cr_assert_eq(open_device(&other, "locked.dat", O_RDONLY), 0);
	cr_assert_eq(open_device(&writer, "locked.dat", O_RDWR), -EBUSY);
	cr_assert_eq(backend_file_ops.close(&reader), 0);
	cr_assert_eq(backend_file_ops.close(&other), 0);
	cr_assert_eq(open_device(&writer, "locked.dat", O_WRONLY | O_TRUNC), 0);
	cr_assert_eq(size_of("locked.dat"), 0);
	cr_assert_eq(backend_file_ops.close(&writer), 0);
}

/* A record that does not fit is not there at all, and the next one goes where it began. */
static void partial_record_is_taken_back(int flags)
{
	struct device dev;
	struct rlimit limit;

	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(open_device(&dev, "full.dat", O_WRONLY | O_CREAT | flags), 0);
	cr_assert_eq(put(&dev, 6000, 'a'), 6000);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &limit), 0);
	limit.rlim_cur = 10000;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	cr_assert_eq(put(&dev, 5000, 'b'), -EFBIG); /* 4000 bytes of it fit */
	cr_assert_eq(size_of("full.dat"), 6000);
	cr_assert_eq(put(&dev, 3000, 'c'), 3000);
	cr_assert_eq(size_of("full.dat"), 9000);
	limit.rlim_cur = limit.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	cr_assert_eq(backend_file_ops.close(&dev), 0);
	{
		char path[PATH_MAX + 64], buf[9000];
		int fd;

		snprintf(path, sizeof(path), "%s/full.dat", directory);
		fd = open(path, O_RDONLY);
		cr_assert_eq(read(fd, buf, sizeof(buf)), 9000);
		close(fd);
		for (int i = 0; i < 9000; i++)
			cr_assert_eq(buf[i], i < 6000 ? 'a' : 'c', "byte %d", i);
	}
}

Test(backend_file, a_record_past_the_limit_is_taken_back)
{
	partial_record_is_taken_back(0);
}

Test(backend_file, a_record_past_the_limit_is_taken_back_with_append)
{
	partial_record_is_taken_back(O_APPEND);
}

/* Creating (the directory is synced), exclusive creation, and synchronous records. */
Test(backend_file, create_exclusive_and_synchronous)
{
	struct open_target target = {
	    .directory_fd = directory_fd,
	    .name = "sub/new.dat",
	    .canonical = "sub/new.dat",
	    .flags = O_WRONLY | O_CREAT | O_EXCL,
	    .max_record = 1 << 20,
	    .sync_records = true,
	};
	struct device dev = {.fd = -1, .ops = &backend_file_ops};
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/sub", directory);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(backend_file_ops.open(&dev, &target), 0);
	cr_assert_eq(put(&dev, 512, 'x'), 512);
	cr_assert_eq(backend_file_ops.close(&dev), 0);
	cr_assert_eq(size_of("sub/new.dat"), 512);
	cr_assert_eq(backend_file_ops.open(&dev, &target), -EEXIST);
	target.flags = O_WRONLY | O_CREAT;
	cr_assert_eq(backend_file_ops.open(&dev, &target), 0);
	cr_assert_eq(backend_file_ops.close(&dev), 0);
	cr_assert_eq(size_of("sub/new.dat"), 512);
}

/* A record of head bytes in memory and the rest in a pipe, as rmtd stages a large W. */
static ssize_t put_from_pipe(struct device *dev, size_t head, size_t rest, int fill)
{
	char *buf = malloc(head + rest);
	int p[2];
	ssize_t r;

	memset(buf, fill, head + rest);
	cr_assert_eq(pipe(p), 0);
	cr_assert_geq(fcntl(p[1], F_SETPIPE_SZ, (int)rest), 0);
	cr_assert_eq(write(p[1], buf + head, rest), (ssize_t)rest);
	r = backend_file_ops.write_from_pipe(dev, buf, head, p[0], rest);
	close(p[0]);
	close(p[1]);
	free(buf);
	return r;
}

Test(backend_file, a_record_from_memory_and_a_pipe_is_written_whole)
{
	struct device dev;
	char buf[4096];
	int fd;

	cr_assert_eq(open_device(&dev, "spliced.dat", O_WRONLY | O_CREAT | O_TRUNC), 0);
	cr_assert(dev.pipe_writes, "a regular file takes records from a pipe");
	cr_assert_eq(put(&dev, 100, 'a'), 100);
	cr_assert_eq(put_from_pipe(&dev, 1000, 200000, 'b'), 201000);
	cr_assert_eq(put(&dev, 100, 'c'), 100);
	cr_assert_eq(backend_file_ops.close(&dev), 0);
	cr_assert_not(dev.pipe_writes);
	cr_assert_eq(size_of("spliced.dat"), 201200);
	{
		char path[PATH_MAX + 64];
		size_t at = 0;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/spliced.dat", directory);
		fd = open(path, O_RDONLY);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			for (ssize_t i = 0; i < n; i++, at++)
				cr_assert_eq(buf[i],
				             at < 100      ? 'a'
				             : at < 201100 ? 'b'
				                           : 'c',
				             "byte %zu", at);
		close(fd);
	}
	/* splice(2) refuses files opened for appending: those records are copied. */
	cr_assert_eq(open_device(&dev, "spliced.dat", O_WRONLY | O_APPEND), 0);
	cr_assert_not(dev.pipe_writes);
	cr_assert_eq(put_from_pipe(&dev, 10, 100000, 'd'), -EOPNOTSUPP);
	cr_assert_eq(backend_file_ops.close(&dev), 0);
}

/*
 * A spliced read gives the client page cache pages; a write to the same bytes
 * before it has read them would change what it gets. Only a read-only session
 * splices its reads.
 */
Test(backend_file, only_a_file_opened_read_only_splices_its_reads)
{
	struct device dev;

	cr_assert_eq(open_device(&dev, "r.dat", O_RDWR | O_CREAT), 0);
	cr_assert_not(dev.pipe_reads, "a session that can write must not splice its reads");
	cr_assert(dev.pipe_writes);
	cr_assert_eq(backend_file_ops.close(&dev), 0);
	cr_assert_eq(open_device(&dev, "r.dat", O_WRONLY), 0);
	cr_assert_not(dev.pipe_reads);
	cr_assert_eq(backend_file_ops.close(&dev), 0);
	cr_assert_eq(open_device(&dev, "r.dat", O_RDONLY), 0);
	cr_assert(dev.pipe_reads, "a read-only session splices its reads");
	cr_assert_eq(backend_file_ops.close(&dev), 0);
	cr_assert_not(dev.pipe_reads);
}

Test(backend_file, a_record_from_a_pipe_past_the_limit_is_taken_back)
{
	struct device dev;
	struct rlimit limit;

	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(open_device(&dev, "full.dat", O_WRONLY | O_CREAT), 0);
	cr_assert_eq(put(&dev, 6000, 'a'), 6000);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &limit), 0);
	limit.rlim_cur = 100000;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	/* the head and part of the pipe fit, the rest does not */
	cr_assert_eq(put_from_pipe(&dev, 5000, 150000, 'b'), -EFBIG);
	cr_assert_eq(size_of("full.dat"), 6000);
	cr_assert_eq(put(&dev, 3000, 'c'), 3000);
	cr_assert_eq(size_of("full.dat"), 9000);
	limit.rlim_cur = limit.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &limit), 0);
	cr_assert_eq(backend_file_ops.close(&dev), 0);
}

/*
 * A regular file's offset is the backend's own (no lseek per seek, pread and
 * pwrite): every seek answers what lseek(2) answers on a descriptor of its own,
 * errors included, and reads and writes go where that descriptor's would.
 */
Test(backend_file, seeks_answer_as_lseek_would)
{
	static const struct {
		int64_t offset;
		int whence;
	} seeks[] = {
	    {0, SEEK_SET},          {5000, SEEK_SET},        {-1, SEEK_SET},
	    {100, SEEK_CUR},        {-200, SEEK_CUR},        {-100000, SEEK_CUR},
	    {INT64_MAX, SEEK_CUR},  {7000, SEEK_SET},        {INT64_MAX, SEEK_CUR},
	    {3000000000, SEEK_SET}, {-2999999000, SEEK_CUR}, {INT64_MAX, SEEK_SET},
	    {0, SEEK_END},          {-10, SEEK_END},         {20000, SEEK_SET},
	    {0, SEEK_DATA},         {0, SEEK_HOLE},          {9990, SEEK_SET},
	};
	char path[PATH_MAX + 64], mine[64], theirs[64];
	struct device dev;
	int fd;

	cr_assert_eq(open_device(&dev, "seek.dat", O_RDWR | O_CREAT | O_TRUNC), 0);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(put(&dev, 100, 'a' + i % 26), 100);
	snprintf(path, sizeof(path), "%s/seek.dat", directory);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(lseek(fd, 10000, SEEK_SET), 10000, "both at the end of what was written");
	for (size_t i = 0; i < sizeof(seeks) / sizeof(seeks[0]); i++) {
		off_t expected = lseek(fd, (off_t)seeks[i].offset, seeks[i].whence);
		int64_t got = backend_file_ops.seek(&dev, seeks[i].offset, seeks[i].whence);
		ssize_t n;

		cr_assert_eq(got, expected < 0 ? -errno : expected, "seek %zu (%lld, %d)", i,
		             (long long)seeks[i].offset, seeks[i].whence);
		n = read(fd, theirs, sizeof(theirs));
		cr_assert_eq(backend_file_ops.read(&dev, mine, sizeof(mine)), n < 0 ? -errno : n,
		             "read after seek %zu", i);
		cr_assert(n <= 0 || memcmp(mine, theirs, (size_t)n) == 0, "data after seek %zu", i);
	}
	/* a write goes where the offset is, and the next read after it */
	cr_assert_eq(backend_file_ops.seek(&dev, 50, SEEK_SET), 50);
	cr_assert_eq(put(&dev, 10, 'Z'), 10);
	cr_assert_eq(backend_file_ops.read(&dev, mine, 1), 1);
	cr_assert_eq(mine[0], 'a');
	cr_assert_eq(pread(fd, theirs, 12, 49), 12);
	cr_assert_eq(memcmp(theirs, "aZZZZZZZZZZa", 12), 0);
	close(fd);
	cr_assert_eq(backend_file_ops.close(&dev), 0);
}
