/*
 * test_backend_file.c - the plain-file backend: one call per request, errors as -errno.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "path.h"

static char directory[PATH_MAX];
static int directory_fd;

static void setup(void)
{
	char template[] = "/tmp/rmtd-file-XXXXXX";

	cr_assert_not_null(mkdtemp(template));
	snprintf(directory, sizeof(directory), "%s", template);
	directory_fd = open(directory, O_PATH | O_DIRECTORY);
	cr_assert_geq(directory_fd, 0);
}

static void teardown(void)
{
	char command[PATH_MAX + 16];

	close(directory_fd);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	(void)!system(command);
}

TestSuite(backend_file, .init = setup, .fini = teardown);

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
