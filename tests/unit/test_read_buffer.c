/*
 * test_read_buffer.c - large R records, the total they share, and the few
 * kept for the next request. Criterion runs each test in a process of its own.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "config.h"
#include "read_buffer.h"

#define MIB ((size_t)1024 * 1024)

Test(read_buffer, the_total_is_never_passed)
{
	struct read_buffer a, b, c;
	uint64_t total = 3 * MIB;

	cr_assert_eq(read_buffer_in_use(), 0);
	cr_assert_eq(read_buffer_take(&a, 2 * MIB, total), 0);
	cr_assert_geq(a.size, 2 * MIB);
	memset(a.data, 'a', 2 * MIB); /* the memory is there and writable */
	cr_assert_eq(read_buffer_take(&b, MIB + 1, total), -ENOBUFS, "rounded to 2 MiB: no room");
	cr_assert_null(b.data);
	cr_assert_eq(read_buffer_take(&b, MIB, total), 0);
	cr_assert_eq(read_buffer_in_use(), total);
	cr_assert_eq(read_buffer_take(&c, 1, total), -ENOBUFS);
	read_buffer_give(&b);
	cr_assert_null(b.data);
	read_buffer_give(&b); /* nothing held: nothing happens */
	cr_assert_eq(read_buffer_in_use(), total, "a given-back buffer is kept, and counted");
	cr_assert_eq(read_buffer_take(&c, 1000 * 1000, total), 0, "the kept one is taken again");
	cr_assert_eq(read_buffer_in_use(), total);
	read_buffer_give(&a);
	read_buffer_give(&c);
	cr_assert_eq(read_buffer_in_use(), total, "3 MiB kept, within the 16 MiB kept at most");
	/* A size nothing kept fits: the kept ones give way rather than refuse it. */
	cr_assert_eq(read_buffer_take(&a, 3 * MIB, 4 * MIB), 0);
	cr_assert_eq(read_buffer_in_use(), 4 * MIB);
	read_buffer_give(&a);
}

Test(read_buffer, kept_buffers_are_bounded)
{
	struct read_buffer held[4];
	uint64_t total = 256 * MIB;

	for (int i = 0; i < 4; i++)
		cr_assert_eq(read_buffer_take(&held[i], 16 * MIB - 1, total), 0);
	cr_assert_eq(read_buffer_in_use(), 64 * MIB);
	for (int i = 0; i < 4; i++)
		read_buffer_give(&held[i]);
	cr_assert_eq(read_buffer_in_use(), 16 * MIB, "one largest record is kept, no more");
	cr_assert_eq(read_buffer_take(&held[0], 17 * MIB, total), 0);
	read_buffer_give(&held[0]);
	cr_assert_eq(read_buffer_in_use(), 16 * MIB, "a buffer above 16 MiB is never kept");
}

/* A record that waits in rmtd's pipe is counted in the same total, with no memory. */
Test(read_buffer, a_record_held_elsewhere_counts_in_the_total)
{
	struct read_buffer a, b;
	uint64_t total = 3 * MIB;

	cr_assert_eq(read_buffer_take(&a, 2 * MIB, total), 0);
	cr_assert_eq(read_buffer_count(2 * MIB, total), -ENOBUFS, "1 MiB left");
	cr_assert_eq(read_buffer_count(MIB, total), 0);
	cr_assert_eq(read_buffer_in_use(), total);
	cr_assert_eq(read_buffer_take(&b, 1, total), -ENOBUFS, "the counted record holds its part");
	cr_assert_eq(read_buffer_count(1, total), -ENOBUFS);
	read_buffer_uncount(MIB);
	cr_assert_eq(read_buffer_in_use(), 2 * MIB);
	/* A kept buffer gives way to a record counted, as to one taken. */
	read_buffer_give(&a);
	cr_assert_eq(read_buffer_in_use(), 2 * MIB, "kept");
	cr_assert_eq(read_buffer_count(3 * MIB, total), 0);
	cr_assert_eq(read_buffer_in_use(), 3 * MIB, "the kept one unmapped to make room");
	read_buffer_uncount(3 * MIB);
	cr_assert_eq(read_buffer_in_use(), 0);
}

Test(read_buffer, larger_than_the_total_and_overflow)
{
	struct read_buffer a;

	cr_assert_eq(read_buffer_take(&a, 2048 * 1024, 1024 * 1024), -ENOBUFS);
	cr_assert_eq(read_buffer_take(&a, SIZE_MAX / 2, UINT64_MAX), -ENOMEM);
	cr_assert_eq(read_buffer_in_use(), 0);
}

Test(read_buffer, configured_in_the_limits)
{
	static struct config config;
	static const char good[] = "limit read-buffers 256M\n";
	static const char bad[] = "limit read-buffers 0\n";
	char error[600];

	cr_assert_eq(
	    config_parse("t.conf", good, strlen(good), &config, false, error, sizeof(error)), 0,
	    "%s", error);
	cr_assert_eq(config.read_buffers, (int64_t)256 * 1024 * 1024);
	memset(&config, 0, sizeof(config));
	cr_assert_eq(config_parse("t.conf", bad, strlen(bad), &config, false, error, sizeof(error)),
	             -1);
	cr_assert(strstr(error, "expected a size") != NULL, "%s", error);
}
