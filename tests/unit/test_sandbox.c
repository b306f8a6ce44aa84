/*
 * test_sandbox.c - once confined, the process reaches only the configured paths
 * and cannot run programs. Criterion runs each test in a process of its own.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "sandbox.h"

static int landlock_available(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */) > 0;
}

Test(sandbox, filesystem_is_confined_to_the_spool)
{
	char spool[] = "/tmp/rmtd-sandbox-XXXXXX";
	char inside[PATH_MAX + 16];
	struct config *config = config_new();
	int fd;

	cr_assert_not_null(mkdtemp(spool));
	cr_assert_eq(path_policy_allow(&config->policy, spool, true), 0);
	snprintf(inside, sizeof(inside), "%s/t.tar", spool);
	if (!landlock_available()) {
		cr_assert_eq(sandbox_restrict_filesystem(config), 0, "no Landlock: nothing done");
		return;
	}
	cr_assert_gt(sandbox_restrict_filesystem(config), 0);
	fd = open(inside, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0, "the spool stays usable: %s", strerror(errno));
	close(fd);
	cr_assert_eq(open("/etc/passwd", O_RDONLY), -1, "outside the spool is unreachable");
	cr_assert_eq(errno, EACCES);
	cr_assert_eq(open("/tmp/rmtd-sandbox-elsewhere", O_WRONLY | O_CREAT, 0644), -1);
	unlink(inside);
	rmdir(spool);
	config_release(config);
}

Test(sandbox, no_programs_can_be_run)
{
	pid_t child;
	int status;

	cr_assert_eq(sandbox_restrict_system_calls(), 0);
	child = fork();
	if (child == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(errno == EPERM ? 42 : 43);
	}
	cr_assert_gt(child, 0);
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 42, "execve is refused with EPERM");
}

Test(sandbox, dropping_to_a_missing_user_fails_cleanly)
{
	cr_assert_eq(sandbox_drop_privileges("no-such-user-rmtd", NULL), -1);
	cr_assert_eq(sandbox_drop_privileges(NULL, NULL), 0, "no user configured: nothing to do");
}

Test(sandbox, dropping_privileges_for_good)
{
	if (getuid() != 0) {
		cr_assert_eq(sandbox_drop_privileges("nobody", NULL), -1, "only root can drop");
		return;
	}
	cr_assert_eq(sandbox_drop_privileges("nobody", NULL), 0);
	cr_assert_neq(getuid(), 0);
	cr_assert_eq(setuid(0), -1, "no way back to root");
}

/* A service manager that started rmtd as its user leaves nothing to drop, and no right to. */
Test(sandbox, started_as_the_user_already)
{
	const struct passwd *pw;
	char user[64], group[64];

	if (getuid() == 0) {
		pw = getpwnam("nobody");
		cr_assert_not_null(pw);
		gid_t gid = pw->pw_gid;

		cr_assert_eq(setgroups(1, &gid), 0);
		cr_assert_eq(setresgid(gid, gid, gid), 0);
		cr_assert_eq(setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid), 0);
	}
	pw = getpwuid(getuid());
	cr_assert_not_null(pw);
	snprintf(user, sizeof(user), "%s", pw->pw_name);
	const struct group *gr = getgrgid(getgid());

	cr_assert_not_null(gr);
	snprintf(group, sizeof(group), "%s", gr->gr_name);
	cr_assert_eq(sandbox_drop_privileges(user, NULL), 0);
	cr_assert_eq(sandbox_drop_privileges(user, group), 0);
	cr_assert_eq(sandbox_drop_privileges("root", NULL), -1, "no way to another user");
}
