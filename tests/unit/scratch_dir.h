/*
 * scratch_dir.h - for unit tests that need files: a fresh directory below /tmp, with
 * an O_PATH descriptor of it (as rmtd keeps for an allowed directory), removed after.
 */
#ifndef RMTD_TEST_SCRATCH_DIR_H
#define RMTD_TEST_SCRATCH_DIR_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char directory[PATH_MAX];
static int directory_fd;

/* A Criterion .init: directory and directory_fd name a new, empty directory. */
static inline void scratch_dir_make(void)
{
	char template[] = "/tmp/rmtd-unit-XXXXXX";

	cr_assert_not_null(mkdtemp(template));
	snprintf(directory, sizeof(directory), "%s", template);
	directory_fd = open(directory, O_PATH | O_DIRECTORY);
	cr_assert_geq(directory_fd, 0);
}

/* The matching .fini: the directory goes, with whatever the test left in it. */
static inline void scratch_dir_remove(void)
{
	char command[PATH_MAX + 16];

	close(directory_fd);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	(void)!system(command);
}

#endif
