/*
 * test_backend_st.c - the Linux st backend, as far as it can be proved without a drive.
 *
 * Without a tape drive the backend must recognise nothing (files, pipes, sockets,
 * /dev/null, directories), refuse to open non-tapes cleanly (right errno, no
 * descriptor leaked, nothing created or truncated), and pass calls through to the
 * kernel unchanged (the errno of the ioctl, exactly one read/write). The behaviour
 * on a real drive is proved by tests/realtape (the st driver in a VM).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "backend.h"

static int count_open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int count = 0;

	cr_assert_not_null(dir, "cannot list /proc/self/fd");
	while ((entry = readdir(dir)) != NULL)
		if (entry->d_name[0] != '.')
			count++;
	closedir(dir);
	return count;
}

static char work_dir[PATH_MAX];
static int work_fd = -1;

static void make_work_dir(void)
{
	snprintf(work_dir, sizeof(work_dir), "/tmp/test_backend_st.XXXXXX");
	cr_assert_not_null(mkdtemp(work_dir));
	work_fd = open(work_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(work_fd, 0);
}

static void remove_work_dir(void)
{
	char command[PATH_MAX + 16];

	if (work_fd >= 0)
		close(work_fd);
	work_fd = -1;
	snprintf(command, sizeof(command), "rm -rf '%s'", work_dir);
	cr_expect_eq(system(command), 0);
}

static void write_file(const char *name, const char *content)
{
	int fd = openat(work_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static struct open_target target_in_work(const char *name, int flags)
{
	struct open_target target = {
	    .directory_fd = work_fd,
	    .name = name,
	    .canonical = name,
	    .flags = flags,
	    .max_record = 1 << 20,
	};
	return target;
}

Test(backend_st, recognises_no_regular_file, .init = make_work_dir, .fini = remove_work_dir)
{
	int fd;

	write_file("plain", "not a tape\n");
	fd = openat(work_fd, "plain", O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_expect_not(backend_st_recognises(fd));
	close(fd);
}

Test(backend_st, recognises_no_pipe_socket_or_directory)
{
	int pipe_fds[2], socket_fds[2], dir_fd;

	cr_assert_eq(pipe(pipe_fds), 0);
	cr_expect_not(backend_st_recognises(pipe_fds[0]));
	cr_expect_not(backend_st_recognises(pipe_fds[1]));
	close(pipe_fds[0]);
	close(pipe_fds[1]);

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, socket_fds), 0);
	cr_expect_not(backend_st_recognises(socket_fds[0]));
	close(socket_fds[0]);
	close(socket_fds[1]);

	dir_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dir_fd, 0);
	cr_expect_not(backend_st_recognises(dir_fd));
	close(dir_fd);
}

Test(backend_st, recognises_no_character_device_that_is_not_a_tape)
{
	static const char *const devices[] = {"/dev/null", "/dev/zero", "/dev/urandom"};

	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		int fd = open(devices[i], O_RDWR | O_CLOEXEC);

		cr_assert_geq(fd, 0, "open %s", devices[i]);
		cr_expect_not(backend_st_recognises(fd), "%s taken for a tape", devices[i]);
		close(fd);
	}
}

Test(backend_st, recognises_no_bad_descriptor)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	close(fd);
	cr_expect_not(backend_st_recognises(fd), "a closed descriptor");
	cr_expect_not(backend_st_recognises(-1));
}

Test(backend_st, open_of_dev_null_fails_with_enotty_and_leaks_nothing)
{
	struct open_target target = {
	    .directory_fd = AT_FDCWD,
	    .name = "/dev/null",
	    .canonical = "/dev/null",
	    .flags = O_RDWR,
	    .max_record = 1 << 20,
	};
	struct device dev = {.fd = -1};
	int before = count_open_fds();

	cr_expect_eq(backend_st_ops.open(&dev, &target), -ENOTTY);
	cr_expect_eq(dev.fd, -1, "fd set although the open failed");
	cr_expect_null(dev.state, "state left behind although the open failed");
	cr_expect_eq(count_open_fds(), before, "descriptor leaked by a refused open");
}

Test(backend_st, open_of_regular_file_refuses_and_does_not_truncate, .init = make_work_dir,
     .fini = remove_work_dir)
{
	struct open_target target = target_in_work("archive", O_WRONLY | O_CREAT | O_TRUNC);
	struct device dev = {.fd = -1};
	struct stat st;
	int before;

	write_file("archive", "precious contents\n");
	before = count_open_fds();
	cr_expect_eq(backend_st_ops.open(&dev, &target), -ENOTTY);
	cr_expect_eq(count_open_fds(), before, "descriptor leaked by a refused open");
	cr_assert_eq(fstatat(work_fd, "archive", &st, 0), 0);
	cr_expect_eq(st.st_size, (off_t)strlen("precious contents\n"),
	             "O_TRUNC reached a file that is not a tape");
}

Test(backend_st, open_never_creates, .init = make_work_dir, .fini = remove_work_dir)
{
	struct open_target target = target_in_work("nst9", O_WRONLY | O_CREAT);
	struct device dev = {.fd = -1};
	struct stat st;

	cr_expect_eq(backend_st_ops.open(&dev, &target), -ENOENT);
	cr_expect_eq(fstatat(work_fd, "nst9", &st, AT_SYMLINK_NOFOLLOW), -1,
	             "the st backend created a file for a missing tape");
	cr_expect_eq(errno, ENOENT);
}

Test(backend_st, open_of_directory_fails, .init = make_work_dir, .fini = remove_work_dir)
{
	struct open_target read_only = target_in_work(".", O_RDONLY);
	struct open_target writing = target_in_work(".", O_RDWR);
	struct device dev = {.fd = -1};
	int before = count_open_fds();

	cr_expect_eq(backend_st_ops.open(&dev, &read_only), -ENOTTY);
	cr_expect_eq(backend_st_ops.open(&dev, &writing), -EISDIR);
	cr_expect_eq(count_open_fds(), before);
}

Test(backend_st, open_of_missing_device_gives_enoent)
{
	struct open_target target = {
	    .directory_fd = AT_FDCWD,
	    .name = "/dev/nst-rmtd-test-missing",
	    .canonical = "/dev/nst-rmtd-test-missing",
	    .flags = O_RDONLY | O_NONBLOCK,
	    .max_record = 1 << 20,
	};
	struct device dev = {.fd = -1};

	cr_expect_eq(backend_st_ops.open(&dev, &target), -ENOENT);
}

/* A device the backend did not open itself (state NULL) on /dev/null: the kernel's answers. */
Test(backend_st, calls_pass_the_kernel_answer_through)
{
	struct device dev = {.ops = &backend_st_ops, .fd = -1, .is_tape = true};
	struct mtget status;
	int64_t block = 77;
	char buf[64];

	dev.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	cr_assert_geq(dev.fd, 0);
	cr_expect_eq(backend_st_ops.tape_op(&dev, MTREW, 1), -ENOTTY);
	cr_expect_eq(backend_st_ops.tape_op(&dev, MTFSF, -3), -ENOTTY);
	cr_expect_eq(backend_st_ops.status(&dev, &status), -ENOTTY);
	cr_expect_eq(backend_st_ops.position(&dev, &block), -ENOTTY);
	cr_expect_eq(block, 77, "position changed the output on failure");
	cr_expect_eq(backend_st_ops.locate(&dev, 12), -ENOTTY);
	cr_expect_eq(backend_st_ops.seek(&dev, 4096, SEEK_SET), 0);
	cr_expect_eq(backend_st_ops.seek(&dev, 0, SEEK_CUR), 0);
	cr_expect_eq(backend_st_ops.write(&dev, "record", 6), 6);
	cr_expect_eq(backend_st_ops.read(&dev, buf, sizeof(buf)), 0);
	cr_expect_eq(backend_st_ops.close(&dev), 0);
	cr_expect_eq(dev.fd, -1);
}

/* Numbers that do not fit the ioctl's fields must not be truncated into another call. */
Test(backend_st, refuses_numbers_the_ioctl_cannot_carry)
{
	struct device dev = {.ops = &backend_st_ops, .fd = -1, .is_tape = true};

	dev.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	cr_assert_geq(dev.fd, 0);
	/* 65541 would become 5 (MTWEOF) in the short mt_op. */
	cr_expect_eq(backend_st_ops.tape_op(&dev, 65536 + MTWEOF, 1), -EINVAL);
	cr_expect_eq(backend_st_ops.tape_op(&dev, -40000, 1), -EINVAL);
	cr_expect_eq(backend_st_ops.tape_op(&dev, SHRT_MAX, 1), -ENOTTY, "in range: reaches ioctl");
	cr_expect_eq(backend_st_ops.locate(&dev, (int64_t)INT_MAX + 1), -EINVAL);
	cr_expect_eq(backend_st_ops.locate(&dev, (int64_t)1 << 40), -EINVAL);
	cr_expect_eq(backend_st_ops.locate(&dev, (int64_t)INT_MIN - 1), -EINVAL);
	cr_expect_eq(backend_st_ops.locate(&dev, INT_MAX), -ENOTTY, "in range: reaches ioctl");
	cr_expect_eq(backend_st_ops.close(&dev), 0);
}

/* One write(2) per call, one read(2) per call: a pipe shows the boundaries. */
Test(backend_st, one_call_per_request)
{
	struct device writer = {.ops = &backend_st_ops, .fd = -1, .is_tape = true};
	struct device reader = {.ops = &backend_st_ops, .fd = -1, .is_tape = true};
	int fds[2];
	char buf[32];

	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	reader.fd = fds[0];
	writer.fd = fds[1];
	cr_expect_eq(backend_st_ops.write(&writer, "0123456789", 10), 10);
	cr_expect_eq(backend_st_ops.read(&reader, buf, 4), 4, "read must not loop or over-read");
	cr_expect_arr_eq(buf, "0123", 4);
	cr_expect_eq(backend_st_ops.read(&reader, buf, sizeof(buf)), 6);
	cr_expect_arr_eq(buf, "456789", 6);
	cr_expect_eq(backend_st_ops.close(&writer), 0);
	cr_expect_eq(backend_st_ops.read(&reader, buf, sizeof(buf)), 0);
	cr_expect_eq(backend_st_ops.close(&reader), 0);
	/* close reports errors: a second close of the same number is EBADF. */
	reader.fd = fds[0];
	cr_expect_eq(backend_st_ops.close(&reader), -EBADF);
}
