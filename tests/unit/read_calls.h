/*
 * read_calls.h - for unit tests that count system calls: how many read calls (read,
 * pread, readv, preadv) this thread has made, from /proc/thread-self/io's syscr.
 */
#ifndef RMTD_TEST_READ_CALLS_H
#define RMTD_TEST_READ_CALLS_H

#include <criterion/criterion.h>
#include <stdio.h>

static inline long read_calls(void)
{
	FILE *f = fopen("/proc/thread-self/io", "r");
	char line[128];
	long calls = -1;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "syscr: %ld", &calls) == 1)
			break;
	fclose(f);
	cr_assert_geq(calls, 0);
	return calls;
}

#endif
