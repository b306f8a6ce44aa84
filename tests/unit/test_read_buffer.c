/*
 * test_read_buffer.c - large R records and the total they share.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "config.h"
#include "read_buffer.h"

Test(read_buffer, the_total_is_never_passed)
{
	struct read_buffer a, b, c;
	uint64_t total = 3 * 1024 * 1024;

	cr_assert_eq(read_buffer_in_use(), 0);
	cr_assert_eq(read_buffer_take(&a, 2 * 1024 * 1024, total), 0);
	memset(a.data, 'a', a.size); /* the memory is there and writable */
	cr_assert_eq(read_buffer_take(&b, 1024 * 1024 + 1, total), -ENOBUFS);
	cr_assert_null(b.data);
	cr_assert_eq(read_buffer_take(&b, 1024 * 1024, total), 0);
	cr_assert_eq(read_buffer_in_use(), total);
	cr_assert_eq(read_buffer_take(&c, 1, total), -ENOBUFS);
	read_buffer_give(&a);
	cr_assert_null(a.data);
	cr_assert_eq(read_buffer_in_use(), 1024 * 1024);
	read_buffer_give(&a); /* nothing held: nothing happens */
	cr_assert_eq(read_buffer_in_use(), 1024 * 1024);
	cr_assert_eq(read_buffer_take(&c, 2 * 1024 * 1024, total), 0);
	read_buffer_give(&b);
	read_buffer_give(&c);
	cr_assert_eq(read_buffer_in_use(), 0);
}

Test(read_buffer, larger_than_the_total_and_overflow)
{
	struct read_buffer a;

	cr_assert_eq(read_buffer_take(&a, 2048, 1024), -ENOBUFS);
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
