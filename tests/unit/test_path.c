/*
 * test_path.c - which names a client may open, and how they resolve.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "file_journal.h"
#include "path.h"
#include "syscall_missing.h"

static char base_directory[PATH_MAX];
static char spool[PATH_MAX];
static char readonly_dir[PATH_MAX];
static struct path_policy policy;

static void setup(void)
{
	char template[] = "/tmp/rmtd-path-XXXXXX";
	char *base = mkdtemp(template);

	cr_assert_not_null(base);
	snprintf(base_directory, sizeof(base_directory), "%s", base);
	snprintf(spool, sizeof(spool), "%s/spool", base);
	snprintf(readonly_dir, sizeof(readonly_dir), "%s/ro", base);
	cr_assert_eq(mkdir(spool, 0755), 0);
	cr_assert_eq(mkdir(readonly_dir, 0755), 0);
	path_policy_init(&policy);
	cr_assert_eq(path_policy_allow(&policy, spool, true), 0);
	cr_assert_eq(path_policy_allow(&policy, readonly_dir, false), 0);
}

static void teardown(void)
{
	char command[PATH_MAX + 32];

	path_policy_free(&policy);
	snprintf(command, sizeof(command), "rm -rf '%s'", base_directory);
	(void)!system(command);
}

TestSuite(path, .init = setup, .fini = teardown);

static int resolve(const char *name, int flags, struct resolved_path *out)
{
	const char *reason;
	int result = path_resolve(&policy, name, flags, out, &reason);

	if (result < 0)
		cr_assert_not_null(reason, "a refusal must say why");
	return result;
}

Test(path, file_below_allowed_directory)
{
	struct resolved_path out;
	char name[PATH_MAX + 16];

	snprintf(name, sizeof(name), "%s/a/b.tar", spool);
	cr_assert_eq(resolve(name, O_WRONLY | O_CREAT, &out), 0);
	cr_assert_eq(out.kind, DEVICE_KIND_FILE);
	cr_assert_str_eq(out.name, "a/b.tar");
	cr_assert_str_eq(out.canonical, name);
	cr_assert_eq(out.flags, O_WRONLY | O_CREAT);
}

Test(path, dot_components_are_normalised)
{
	struct resolved_path out;
	char name[PATH_MAX + 16], expected[PATH_MAX + 16];

	snprintf(name, sizeof(name), "%s//./x.tar", spool);
	snprintf(expected, sizeof(expected), "%s/x.tar", spool);
	cr_assert_eq(resolve(name, O_RDONLY, &out), 0);
	cr_assert_str_eq(out.canonical, expected);
}

Test(path, relative_names_go_below_the_first_directory)
{
	struct resolved_path out;
	char expected[PATH_MAX + 16];

	snprintf(expected, sizeof(expected), "%s/t.tar", spool);
	cr_assert_eq(resolve("t.tar", O_RDONLY, &out), 0);
	cr_assert_str_eq(out.canonical, expected);
}

Test(path, outside_is_refused)
{
	struct resolved_path out;

	cr_assert_eq(resolve("/etc/shadow", O_RDONLY, &out), -EACCES);
	cr_assert_eq(resolve("/etc/passwd", O_WRONLY | O_CREAT | O_TRUNC, &out), -EACCES);
	cr_assert_eq(resolve("/", O_RDONLY, &out), -EACCES);
}

Test(path, dot_dot_is_refused_everywhere)
{
	struct resolved_path out;
	char name[PATH_MAX + 32];

	snprintf(name, sizeof(name), "%s/../ro/x", spool);
	cr_assert_eq(resolve(name, O_RDONLY, &out), -EACCES);
	snprintf(name, sizeof(name), "%s/a/..", spool);
	cr_assert_eq(resolve(name, O_RDONLY, &out), -EACCES);
	cr_assert_eq(resolve("../etc/passwd", O_RDONLY, &out), -EACCES);
	cr_assert_eq(resolve("..", O_RDONLY, &out), -EACCES);
	cr_assert_eq(resolve("/dev/../etc/shadow", O_RDONLY, &out), -EACCES);
}

Test(path, prefix_of_a_directory_name_is_not_inside)
{
	struct resolved_path out;
	char name[PATH_MAX + 16];

	/* /tmp/x/spool2 must not count as below /tmp/x/spool. */
	snprintf(name, sizeof(name), "%s2/file", spool);
	cr_assert_eq(resolve(name, O_RDONLY, &out), -EACCES);
}

Test(path, the_directory_itself_is_not_a_device)
{
	struct resolved_path out;

	cr_assert_eq(resolve(spool, O_RDONLY, &out), -EISDIR);
}

Test(path, creation_only_where_allowed)
{
	struct resolved_path out;
	char name[PATH_MAX + 16];

	snprintf(name, sizeof(name), "%s/x", readonly_dir);
	cr_assert_eq(resolve(name, O_RDONLY, &out), 0);
	cr_assert_eq(resolve(name, O_WRONLY, &out), 0);
	cr_assert_eq(resolve(name, O_WRONLY | O_CREAT, &out), -EACCES);
	cr_assert_eq(resolve(name, O_WRONLY | O_TRUNC, &out), -EACCES);
	cr_assert_eq(resolve(name, O_WRONLY | O_APPEND, &out), -EACCES);
}

Test(path, tape_devices)
{
	struct resolved_path out;

	cr_assert_eq(resolve("/dev/nst0", O_WRONLY | O_CREAT | O_TRUNC, &out), 0);
	cr_assert_eq(out.kind, DEVICE_KIND_TAPE);
	cr_assert_eq(out.flags, O_WRONLY, "create and truncate mean nothing to a tape");
	cr_assert_not(out.rewind_on_close);
	cr_assert_eq(resolve("/dev/st12", O_RDONLY, &out), 0);
	cr_assert(out.rewind_on_close);
	cr_assert_eq(resolve("/dev/nst0l", O_RDONLY, &out), 0);
	cr_assert_eq(resolve("/dev/nst", O_RDONLY, &out), -EACCES);
	cr_assert_eq(resolve("/dev/nst0x", O_RDONLY, &out), -EACCES);
	cr_assert_eq(resolve("/dev/sda", O_RDONLY, &out), -EACCES);
	cr_assert_eq(resolve("dev/nst0", O_RDONLY, &out), 0, "relative: a file below the spool");
	cr_assert_eq(out.kind, DEVICE_KIND_FILE);
}

Test(path, virtual_tapes_and_their_rewinding_names)
{
	struct resolved_path out;
	char name[PATH_MAX + 32], expected[PATH_MAX + 32];

	snprintf(name, sizeof(name), "%s/t.tap", spool);
	cr_assert_eq(resolve(name, O_RDWR, &out), 0);
	cr_assert_eq(out.kind, DEVICE_KIND_VTAPE);
	cr_assert_not(out.rewind_on_close);
	snprintf(name, sizeof(name), "%s/t.tap.rewind", spool);
	snprintf(expected, sizeof(expected), "%s/t.tap", spool);
	cr_assert_eq(resolve(name, O_RDWR, &out), 0);
	cr_assert_eq(out.kind, DEVICE_KIND_VTAPE);
	cr_assert(out.rewind_on_close);
	cr_assert_str_eq(out.canonical, expected, "both names are one drive");
	cr_assert_str_eq(out.name, "t.tap");
}

Test(path, a_virtual_tapes_sidecars_are_not_files)
{
	struct resolved_path out;
	char name[PATH_MAX + 32];

	for (const char *const *suffix =
	         (const char *const[]){".idx", ".meta", ".idx.new", ".meta.new", NULL};
	     *suffix != NULL; suffix++) {
		snprintf(name, sizeof(name), "%s/t.tap%s", spool, *suffix);
		cr_assert_eq(resolve(name, O_RDWR, &out), -EACCES, "%s", name);
	}
}

Test(path, a_files_journal_is_not_a_file)
{
	struct resolved_path out;
	char name[PATH_MAX + 32];

	snprintf(name, sizeof(name), "%s/archive.tar" FILE_JOURNAL_SUFFIX, spool);
	cr_assert_eq(resolve(name, O_RDONLY, &out), -EACCES);
	cr_assert_eq(resolve(name, O_WRONLY | O_CREAT, &out), -EACCES);
	snprintf(name, sizeof(name), "%s/archive.tar", spool);
	cr_assert_eq(resolve(name, O_WRONLY | O_CREAT, &out), 0);
}

Test(path, declared_drives)
{
	struct resolved_path out;

	cr_assert_eq(path_policy_declare_drive(&policy, "vt0", "/srv/tapes/vt0.tap"), 0);
	cr_assert_eq(path_policy_declare_drive(&policy, "st0", "/dev/nst0"), 0);
	cr_assert_eq(path_policy_declare_drive(&policy, "vt0", "/x.tap"), -EEXIST);
	cr_assert_eq(path_policy_declare_drive(&policy, "a/b", "/x.tap"), -EINVAL);
	cr_assert_eq(path_policy_declare_drive(&policy, "rel", "x.tap"), -EINVAL);
	cr_assert_eq(resolve("vt0", O_RDWR, &out), 0);
	cr_assert_eq(out.kind, DEVICE_KIND_VTAPE);
	cr_assert_str_eq(out.canonical, "/srv/tapes/vt0.tap");
	cr_assert_eq(resolve("/vt0", O_RDWR, &out), 0);
	cr_assert_eq(resolve("st0", O_WRONLY | O_CREAT, &out), 0);
	cr_assert_eq(out.kind, DEVICE_KIND_TAPE);
	cr_assert_eq(out.flags, O_WRONLY);
}

Test(path, empty_and_overlong_names)
{
	struct resolved_path out;
	char *name = malloc(PATH_MAX + 10);

	cr_assert_eq(resolve("", O_RDONLY, &out), -ENOENT);
	memset(name, 'a', PATH_MAX + 8);
	name[PATH_MAX + 8] = '\0';
	cr_assert_eq(resolve(name, O_RDONLY, &out), -ENAMETOOLONG);
	free(name);
}

Test(path, open_beneath_refuses_symlinks_out)
{
	char link[PATH_MAX + 16], inner[PATH_MAX + 16];
	int dirfd = policy.directories[0].fd;
	int fd;

	snprintf(link, sizeof(link), "%s/escape", spool);
	cr_assert_eq(symlink("/etc/passwd", link), 0);
	cr_assert_eq(path_open_beneath(dirfd, "escape", O_RDONLY, 0), -EACCES);
	/* Even a symlink that stays inside is refused: nothing is ever followed. */
	snprintf(inner, sizeof(inner), "%s/inner", spool);
	cr_assert_eq(symlink("real", inner), 0);
	fd = path_open_beneath(dirfd, "real", O_WRONLY | O_CREAT, 0666);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(path_open_beneath(dirfd, "inner", O_RDONLY, 0), -EACCES);
	cr_assert_eq(path_open_beneath(dirfd, "missing", O_RDONLY, 0), -ENOENT);
}

Test(path, open_beneath_refuses_a_symlinked_directory)
{
	char link[PATH_MAX + 16];
	int dirfd = policy.directories[0].fd;

	snprintf(link, sizeof(link), "%s/etc", spool);
	cr_assert_eq(symlink("/etc", link), 0);
	cr_assert_eq(path_open_beneath(dirfd, "etc/passwd", O_RDONLY, 0), -EACCES);
}

/*
 * This test's process gets ENOSYS from openat2, as under a kernel before 5.6 or
 * an old container seccomp profile: path_open_beneath() walks instead.
 */
static void openat2_answers_enosys(void)
{
	cr_assert_eq(syscall_answer_enosys(SYS_openat2), 0);
	cr_assert_eq(syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0), -1);
	cr_assert_eq(errno, ENOSYS);
}

/* What openat2 refuses, the walk refuses too; what it opens, the walk opens. */
static void open_beneath_as_openat2_would(void)
{
	char path[PATH_MAX + 32];
	int dirfd = policy.directories[0].fd;
	int fd;
	struct stat st;

	snprintf(path, sizeof(path), "%s/escape", spool);
	cr_assert_eq(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/etc", spool);
	cr_assert_eq(symlink("/etc", path), 0);
	snprintf(path, sizeof(path), "%s/inner", spool);
	cr_assert_eq(symlink("real", path), 0);
	snprintf(path, sizeof(path), "%s/sub", spool);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub/deeper", spool);
	cr_assert_eq(mkdir(path, 0755), 0);

	fd = path_open_beneath(dirfd, "real", O_WRONLY | O_CREAT, 0666);
	cr_assert_geq(fd, 0);
	close(fd);
	fd = path_open_beneath(dirfd, "sub/deeper/t.tap", O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	close(fd);
	snprintf(path, sizeof(path), "%s/sub/deeper/t.tap", spool);
	cr_assert_eq(access(path, F_OK), 0, "created somewhere else");
	fd = path_open_beneath(dirfd, "sub/./deeper//t.tap", O_RDONLY, 0);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	close(fd);
	fd = path_open_beneath(dirfd, "sub/deeper", O_PATH, 0);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	close(fd);

	cr_assert_eq(path_open_beneath(dirfd, "escape", O_RDONLY, 0), -EACCES);
	cr_assert_eq(path_open_beneath(dirfd, "inner", O_RDONLY, 0), -EACCES);
	/* O_PATH opens the link itself, to look at (backend_file.c), never its target. */
	fd = path_open_beneath(dirfd, "escape", O_PATH, 0);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	close(fd);
	cr_assert_eq(path_open_beneath(dirfd, "etc/passwd", O_RDONLY, 0), -EACCES);
	cr_assert_eq(path_open_beneath(dirfd, "etc", O_RDONLY, 0), -EACCES);
	/* Asked for a directory, a symlink is not one. */
	cr_assert_eq(path_open_beneath(dirfd, "etc", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	cr_assert_eq(path_open_beneath(dirfd, "etc", O_PATH | O_DIRECTORY, 0), -ENOTDIR);
	cr_assert_eq(path_open_beneath(dirfd, "sub/../../ro/x", O_RDONLY, 0), -EACCES);
	cr_assert_eq(path_open_beneath(dirfd, "/etc/passwd", O_RDONLY, 0), -EACCES);
	cr_assert_eq(path_open_beneath(dirfd, "missing", O_RDONLY, 0), -ENOENT);
	cr_assert_eq(path_open_beneath(dirfd, "missing/t.tap", O_RDWR | O_CREAT, 0600), -ENOENT);
	cr_assert_eq(path_open_beneath(dirfd, "real/t.tap", O_RDONLY, 0), -ENOTDIR);
	fd = path_open_parent(dirfd, "sub/deeper/t.tap", O_RDONLY, NULL);
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	close(fd);
	cr_assert_eq(path_open_parent(dirfd, "etc/passwd", O_RDONLY, NULL), -ENOTDIR);
}

Test(path, open_beneath_with_openat2)
{
	cr_assert(path_openat2_available());
	open_beneath_as_openat2_would();
}

Test(path, open_beneath_without_openat2_walks_and_refuses_the_same)
{
	openat2_answers_enosys();
	cr_assert_not(path_openat2_available(), "rmtd would not say that it walks");
	open_beneath_as_openat2_would();
}

/* A watch like stdio mode's: a tick every 20 ms, giving up at the third. */
static int ticks;

static void tick(int signal_number)
{
}

static void watch_begin(void)
{
	struct itimerval every = {.it_interval = {0, 20000}, .it_value = {0, 20000}};

	setitimer(ITIMER_REAL, &every, NULL);
}

static int watch_interrupted(void)
{
	return ++ticks >= 3 ? ECONNRESET : 0;
}

static void watch_end(void)
{
	struct itimerval off = {0};

	setitimer(ITIMER_REAL, &off, NULL);
}

Test(path, a_blocking_open_ends_when_the_watch_says_so, .timeout = 10)
{
	static const struct path_open_watch watch = {watch_begin, watch_interrupted, watch_end};
	struct sigaction action = {.sa_handler = tick};
	char fifo[PATH_MAX + 8];

	snprintf(fifo, sizeof(fifo), "%s/fifo", spool);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	sigemptyset(&action.sa_mask);
	sigaction(SIGALRM, &action, NULL); /* no SA_RESTART: the open sees EINTR */
	path_set_open_watch(&watch);
	/* Nobody opens the other end: without the watch this waits for ever. */
	cr_assert_eq(path_open_beneath(policy.directories[0].fd, "fifo", O_WRONLY, 0), -ECONNRESET);
	cr_assert_eq(ticks, 3, "asked at each interruption");
	path_set_open_watch(NULL);
}
