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
#include <signal.h>
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

/* Run call in a confined child; how did the child end? */
static int confined_child(long (*call)(void))
{
	pid_t child = fork();
	int status;

	if (child == 0) {
		if (sandbox_restrict_system_calls() < 0)
			_exit(44);
		call();
		_exit(43); /* the call returned: the filter let it through */
	}
	cr_assert_gt(child, 0);
	cr_assert_eq(waitpid(child, &status, 0), child);
	return status;
}

#if defined(__x86_64__)
/* getpid through the 32-bit entry (its number there is 20); reboot would be 88. */
static long i386_getpid(void)
{
	long result;

	__asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
	return result;
}

/* getpid with the x32 bit set: the filter must judge it before the kernel does. */
static long x32_getpid(void)
{
	return syscall(0x40000000L | SYS_getpid);
}

Test(sandbox, foreign_system_call_abis_kill_the_process)
{
	int status;

	cr_assert_eq(i386_getpid(), getpid(), "the 32-bit entry works unconfined");
	status = confined_child(i386_getpid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	          "int 0x80 reached the kernel (status %#x)", status);
	status = confined_child(x32_getpid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
	          "an x32 call reached the kernel (status %#x)", status);
}
#endif

Test(sandbox, dropping_to_a_missing_user_fails_cleanly)
{
	cr_assert_eq(sandbox_drop_privileges("no-such-user-rmtd", NULL), -1);
}

/* A field of /proc/self/status, as a number in base. */
static unsigned long long status_field(const char *name, int base)
{
	char line[256];
	unsigned long long value = ~0ULL;
	FILE *f = fopen("/proc/self/status", "r");

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == ':')
			value = strtoull(line + strlen(name) + 1, NULL, base);
	fclose(f);
	return value;
}

Test(sandbox, no_user_line_keeps_no_capability)
{
	uid_t expected = sandbox_run_uid(NULL);

	cr_assert_eq(sandbox_drop_privileges(NULL, NULL), 0);
	cr_assert_eq(getuid(), expected, "the default account, or the same uid");
	cr_assert_eq(status_field("CapEff", 16), 0);
	cr_assert_eq(status_field("CapPrm", 16), 0);
	cr_assert_eq(status_field("CapAmb", 16), 0);
	cr_assert_eq(status_field("NoNewPrivs", 10), 1);
	if (expected == 0) {
		/* Root without capabilities: none in reach either, and no file of another user. */
		cr_assert_eq(status_field("CapBnd", 16), 0);
		/* This thread's own call: glibc would abort when criterion's thread still may. */
		cr_assert_eq(syscall(SYS_setresuid, 1, 1, 1), -1, "CAP_SETUID is gone");
	}
}

Test(sandbox, user_root_keeps_root_when_asked)
{
	if (getuid() != 0) {
		cr_assert_eq(sandbox_drop_privileges("root", NULL), -1, "only root can stay root");
		return;
	}
	cr_assert_eq(sandbox_drop_privileges("root", NULL), 0);
	cr_assert_neq(status_field("CapEff", 16), 0);
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
