/*
 * syscall_missing.h - make one system call answer ENOSYS in this process and
 * those it starts, as a kernel too old for it (or a container's seccomp
 * profile) does: a seccomp filter, after no_new_privs, so no privilege needed.
 * Shared by the unit tests and tests/interop/without_openat2.c.
 */
#ifndef RMTD_TESTS_SYSCALL_MISSING_H
#define RMTD_TESTS_SYSCALL_MISSING_H

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>

/* 0, or -errno when the filter could not be installed. */
static inline int syscall_answer_enosys(unsigned int number)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, number, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) < 0)
		return -errno;
	return 0;
}

#endif
