/*
 * sandbox.c - dropping privileges, Landlock, and a seccomp filter.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sandbox.h"

/*
 * LeakSanitizer stops the world at exit with ptrace and reads /proc/self/task:
 * a sanitizer build keeps both, or every test would end in a sanitizer error.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif

/* Access rights newer than some kernels' headers. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

int sandbox_drop_privileges(const char *user, const char *group)
{
	const struct passwd *pw;
	gid_t gid;

	if (user == NULL || user[0] == '\0')
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		log_warnx("user %s: no such user", user);
		return -1;
	}
	gid = pw->pw_gid;
	if (group != NULL && group[0] != '\0') {
		const struct group *gr = getgrnam(group);

		if (gr == NULL) {
			log_warnx("group %s: no such group", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	/* Started as this user and group already (systemd's User=, Group=): nothing to give up. */
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid && getgid() == gid &&
	    getegid() == gid && pw->pw_uid != 0) {
		log_info("running as %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid,
		         (unsigned)gid);
		return 0;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		log_warn("cannot become %s", user);
		return -1;
	}
	/* Changing to a non-root uid clears every capability; make sure none can come back. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_warnx("could become root again after dropping to %s; refusing to run", user);
		return -1;
	}
	log_info("running as %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid, (unsigned)gid);
	return 0;
}

/* ---------------------------------------------------------------- Landlock */

static int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

static __u64 handled_rights(int abi)
{
	__u64 rights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	               LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	               LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	               LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
	               LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
	               LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
	               LANDLOCK_ACCESS_FS_MAKE_SYM;

	if (abi >= 2)
		rights |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return rights;
}

/* Allow rights on path (a directory and what is below it, or one file). Missing: skipped. */
static int allow_path(int ruleset, const char *path, __u64 rights, __u64 handled)
{
	struct landlock_path_beneath_attr rule = {0};
	struct stat st;
	int fd;

	if (path == NULL || path[0] == '\0')
		return 0;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return 0; /* nothing there yet: nothing to allow */
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		rights &= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		          LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
	rule.allowed_access = rights & handled;
	rule.parent_fd = fd;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0) {
		log_warn("landlock: %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The directory that holds path (a vtape image's sidecars live beside it). */
static void parent_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		snprintf(out, size, "/");
	else
		snprintf(out, size, "%.*s", (int)(slash - path), path);
}

int sandbox_restrict_filesystem(const struct config *config)
{
	const __u64 files = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	                    LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV;
	const __u64 directories = files | LANDLOCK_ACCESS_FS_READ_DIR |
	                          LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	                          LANDLOCK_ACCESS_FS_MAKE_DIR;
	struct landlock_ruleset_attr attr = {0};
	int abi = landlock_abi();
	int ruleset, failures = 0;
	glob_t tapes;

	if (abi <= 0) {
		log_info("landlock: not available in this kernel; filesystem not confined");
		return 0;
	}
	tzset(); /* the time zone file is read now, not after the door is shut */
	attr.handled_access_fs = handled_rights(abi);
	ruleset =
	    (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr.handled_access_fs), 0);
	if (ruleset < 0) {
		log_warn("landlock: cannot create a ruleset");
		return -1;
	}
	for (int i = 0; i < config->policy.directory_count; i++)
		failures += allow_path(ruleset, config->policy.directories[i].path, directories,
		                       attr.handled_access_fs) < 0;
	for (int i = 0; i < config->policy.drive_count; i++) {
		char parent[PATH_MAX];

		if (strncmp(config->policy.drives[i].device, "/dev/", 5) == 0) {
			failures += allow_path(ruleset, config->policy.drives[i].device, files,
			                       attr.handled_access_fs) < 0;
			continue;
		}
		parent_of(config->policy.drives[i].device, parent, sizeof(parent));
		failures += allow_path(ruleset, parent, directories, attr.handled_access_fs) < 0;
	}
	if (config->policy.allow_tape_devices &&
	    glob("/dev/{n,}st[0-9]*", GLOB_BRACE | GLOB_NOSORT, NULL, &tapes) == 0) {
		for (size_t i = 0; i < tapes.gl_pathc; i++)
			failures += allow_path(ruleset, tapes.gl_pathv[i], files,
			                       attr.handled_access_fs) < 0;
		globfree(&tapes);
	}
	failures +=
	    allow_path(ruleset, config->state_directory, directories, attr.handled_access_fs) < 0;
	failures +=
	    allow_path(ruleset, config->status_directory, directories, attr.handled_access_fs) < 0;
	/* The control socket is removed when the daemon ends. */
	if (config->control_socket[0] != '\0') {
		char parent[PATH_MAX];

		parent_of(config->control_socket, parent, sizeof(parent));
		failures += allow_path(ruleset, parent, LANDLOCK_ACCESS_FS_REMOVE_FILE,
		                       attr.handled_access_fs) < 0;
	}
#ifdef SANITIZER_BUILD
	failures +=
	    allow_path(ruleset, "/proc", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR,
	               attr.handled_access_fs) < 0;
#endif
	/* SIGHUP reads the configuration again. */
	failures += allow_path(ruleset, config->path[0] == '/' ? config->path : NULL,
	                       LANDLOCK_ACCESS_FS_READ_FILE, attr.handled_access_fs) < 0;
	if (failures > 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
		log_warn("landlock: cannot restrict the filesystem");
		close(ruleset);
		return -1;
	}
	close(ruleset);
	log_info("landlock (ABI %d): filesystem confined to the configured paths", abi);
	return abi;
}

/* ---------------------------------------------------------------- seccomp */

#define REFUSE(name)                                                                               \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1),                                    \
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))

int sandbox_restrict_system_calls(void)
{
	/*
	 * A deny list, not an allow list: libevent, OpenSSL and glibc choose their
	 * system calls themselves, and an allow list that misses one kills a backup
	 * in the middle. These are the calls that turn a server bug into a host
	 * compromise; none of them is part of serving a tape.
	 */
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), /* other ABIs: left alone */
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    REFUSE(execve),
	    REFUSE(execveat),
#ifndef SANITIZER_BUILD
	    REFUSE(ptrace),
#endif
	    REFUSE(process_vm_readv),
	    REFUSE(process_vm_writev),
	    REFUSE(mount),
	    REFUSE(umount2),
	    REFUSE(pivot_root),
	    REFUSE(chroot),
	    REFUSE(init_module),
	    REFUSE(finit_module),
	    REFUSE(delete_module),
	    REFUSE(kexec_load),
	    REFUSE(kexec_file_load),
	    REFUSE(bpf),
	    REFUSE(perf_event_open),
	    REFUSE(keyctl),
	    REFUSE(add_key),
	    REFUSE(request_key),
	    REFUSE(unshare),
	    REFUSE(setns),
	    REFUSE(reboot),
	    REFUSE(swapon),
	    REFUSE(swapoff),
	    REFUSE(acct),
	    REFUSE(settimeofday),
	    REFUSE(clock_settime),
	    REFUSE(userfaultfd),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = {
	    .len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
	    .filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) < 0) {
		log_warn("seccomp: cannot install the filter");
		return -1;
	}
	log_info("seccomp: exec, ptrace, mount and kernel administration calls refused");
	return 0;
}
