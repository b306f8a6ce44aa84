/*
 * without_openat2.c - run a command whose openat2(2) calls fail with ENOSYS, as
 * under a kernel before 5.6 or a container seccomp profile older than it.
 *
 *   without_openat2 COMMAND [ARGS...]
 */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../unit/syscall_missing.h"

int main(int argc, char **argv)
{
	int error;

	if (argc < 2) {
		fprintf(stderr, "usage: without_openat2 COMMAND [ARGS...]\n");
		return 2;
	}
	error = syscall_answer_enosys(SYS_openat2);
	if (error < 0) {
		fprintf(stderr, "without_openat2: cannot install the filter: %s\n",
		        strerror(-error));
		return 2;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "without_openat2: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
