/*
 * test_config_reader.c - rmtd/config_reader.c: the child that opens the
 * configuration file for SIGHUP once the daemon is confined. What it promises:
 * each request opens the file as it is now (a new inode after an editor's
 * rename included), an error comes back as the file's errno, a symbolic link
 * in its place is not followed and a FIFO does not hang it, the child holds no
 * descriptor but its own, and it ends when the daemon lets it go.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "config_reader.h"
#include "log.h"
#include "syscall_missing.h"

/* A reader that never ends would hang config_reader_stop: fail instead. */
TestSuite(config_reader, .timeout = 10);

static char dir[] = "/tmp/test_config_reader.XXXXXX";
static char path[sizeof(dir) + 16];

static void setup(void)
{
	log_init("test", 1, 0);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rmtd.conf", dir);
}

static void teardown(void)
{
	char name[sizeof(path) + 8];

	unlink(path);
	snprintf(name, sizeof(name), "%s.new", path);
	unlink(name);
	rmdir(dir);
}

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	cr_assert_not_null(f, "%s: %s", name, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* What the reader's descriptor reads, whole. */
static const char *read_back(int fd)
{
	static char text[256];
	ssize_t n;

	cr_assert_geq(fd, 0, "open: %s", strerror(-fd));
	n = read(fd, text, sizeof(text) - 1);
	cr_assert_geq(n, 0);
	text[n] = '\0';
	close(fd);
	return text;
}

/* The reader's pid: this test's only child. */
static pid_t child_pid(void)
{
	char name[64], text[64] = "";
	FILE *f;

	snprintf(name, sizeof(name), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(name, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(text, sizeof(text), f));
	fclose(f);
	return (pid_t)atoi(text);
}

Test(config_reader, each_open_sees_the_file_as_it_is_now, .init = setup, .fini = teardown)
{
	struct config_reader *reader;
	char renamed[sizeof(path) + 8];

	write_file(path, "listen 127.0.0.1:7000\n");
	reader = config_reader_start(path);
	cr_assert_not_null(reader);
	cr_assert_str_eq(read_back(config_reader_open(reader)), "listen 127.0.0.1:7000\n");
	/* As sed -i and vim write it: a new file renamed over the old one. */
	snprintf(renamed, sizeof(renamed), "%s.new", path);
	write_file(renamed, "listen 127.0.0.1:7001\n");
	cr_assert_eq(rename(renamed, path), 0);
	cr_assert_str_eq(read_back(config_reader_open(reader)), "listen 127.0.0.1:7001\n");
	config_reader_stop(reader);
}

Test(config_reader, a_missing_file_is_its_errno, .init = setup, .fini = teardown)
{
	struct config_reader *reader = config_reader_start(path);

	cr_assert_not_null(reader);
	cr_assert_eq(config_reader_open(reader), -ENOENT);
	write_file(path, "x\n");
	cr_assert_str_eq(read_back(config_reader_open(reader)), "x\n");
	config_reader_stop(reader);
}

Test(config_reader, a_symbolic_link_is_not_followed, .init = setup, .fini = teardown)
{
	struct config_reader *reader;

	cr_assert_eq(symlink("/etc/passwd", path), 0);
	reader = config_reader_start(path);
	cr_assert_not_null(reader);
	cr_assert_eq(config_reader_open(reader), -ELOOP);
	config_reader_stop(reader);
}

Test(config_reader, a_fifo_in_its_place_does_not_hang_it, .init = setup, .fini = teardown)
{
	struct config_reader *reader;
	int fd;

	cr_assert_eq(mkfifo(path, 0600), 0);
	reader = config_reader_start(path);
	cr_assert_not_null(reader);
	fd = config_reader_open(reader);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	close(fd);
	/* And it still answers. */
	fd = config_reader_open(reader);
	cr_assert_geq(fd, 0);
	close(fd);
	config_reader_stop(reader);
}

Test(config_reader, a_relative_name_is_read_from_the_current_directory, .init = setup,
     .fini = teardown)
{
	struct config_reader *reader;
	char here[4096];

	write_file(path, "relative\n");
	cr_assert_not_null(getcwd(here, sizeof(here)));
	cr_assert_eq(chdir(dir), 0);
	reader = config_reader_start("rmtd.conf");
	cr_assert_eq(chdir(here), 0);
	cr_assert_not_null(reader);
	cr_assert_str_eq(read_back(config_reader_open(reader)), "relative\n");
	config_reader_stop(reader);
}

/* The child's descriptors above 3 (the first one, in *highest), and how many it has in all. */
static int child_descriptors(pid_t pid, int *highest)
{
	char name[64];
	struct dirent *entry;
	DIR *fds;
	int count = 0;

	snprintf(name, sizeof(name), "/proc/%d/fd", (int)pid);
	fds = opendir(name);
	cr_assert_not_null(fds);
	*highest = -1;
	while ((entry = readdir(fds)) != NULL) {
		int fd = atoi(entry->d_name);

		if (entry->d_name[0] == '.')
			continue;
		if (fd > *highest)
			*highest = fd;
		count++;
	}
	closedir(fds);
	return count;
}

static void child_holds_no_descriptor_but_its_own(void)
{
	struct config_reader *reader;
	int spare = open("/dev/null", O_RDONLY), count = 0, highest = -1, open_fd;
	pid_t pid;

	/* A descriptor the daemon has (a listener, a client) must not reach the child. */
	cr_assert_geq(spare, 0);
	write_file(path, "x\n");
	reader = config_reader_start(path);
	cr_assert_not_null(reader);
	open_fd = config_reader_open(reader);
	cr_assert_geq(open_fd, 0);
	close(open_fd);
	pid = child_pid();
	/* The child closes the file it sent just after sending it: give it a moment. */
	for (int tries = 0; tries < 200; tries++) {
		count = child_descriptors(pid, &highest);
		if (highest <= 3)
			break;
		usleep(10 * 1000);
	}
	cr_assert_leq(highest, 3, "the reader holds descriptor %d", highest);
	cr_assert_eq(count, 4); /* /dev/null as 0, 1 and 2, and its end of the pair */
	close(spare);
	config_reader_stop(reader);
}

Test(config_reader, the_child_holds_no_descriptor_but_its_own, .init = setup, .fini = teardown)
{
	child_holds_no_descriptor_but_its_own();
}

/* close_range(2) came with Linux 5.9: before, the child closes them one by one. */
Test(config_reader, without_close_range_too, .init = setup, .fini = teardown)
{
	cr_assert_eq(syscall_answer_enosys(SYS_close_range), 0);
	child_holds_no_descriptor_but_its_own();
}

Test(config_reader, stop_ends_and_reaps_the_child, .init = setup, .fini = teardown)
{
	struct config_reader *reader;
	pid_t pid;

	write_file(path, "x\n");
	reader = config_reader_start(path);
	cr_assert_not_null(reader);
	pid = child_pid();
	cr_assert_gt(pid, 0);
	config_reader_stop(reader);
	/* Reaped: not even a zombie is left. */
	cr_assert_eq(kill(pid, 0), -1);
	cr_assert_eq(errno, ESRCH);
}

Test(config_reader, a_reader_that_died_is_reported, .init = setup, .fini = teardown)
{
	struct config_reader *reader;

	write_file(path, "x\n");
	reader = config_reader_start(path);
	cr_assert_not_null(reader);
	cr_assert_eq(kill(child_pid(), SIGKILL), 0);
	cr_assert_lt(config_reader_open(reader), 0);
	config_reader_stop(reader);
}
