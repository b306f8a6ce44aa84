/*
 * test_number.c - the one strict number parser: digits only, the whole text,
 * overflow refused (not clamped), malformed told apart from out of range.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "number.h"

static int u64(const char *text, uint64_t *out)
{
	return decimal_parse_u64(text, strlen(text), out);
}

Test(number, decimal_digits_only)
{
	uint64_t v = 7;

	cr_assert_eq(u64("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(u64("18446744073709551615", &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(u64("007", &v), 0);
	cr_assert_eq(v, 7);
	/* What strtoul would take and a strict parser must not. */
	cr_assert_eq(u64("", &v), -EINVAL);
	cr_assert_eq(u64(" 1", &v), -EINVAL);
	cr_assert_eq(u64("+1", &v), -EINVAL);
	cr_assert_eq(u64("-1", &v), -EINVAL);
	cr_assert_eq(u64("0x10", &v), -EINVAL);
	cr_assert_eq(u64("1 ", &v), -EINVAL);
	cr_assert_eq(decimal_parse_u64("12\0"
	                               "3",
	                               4, &v),
	             -EINVAL);
}

Test(number, overflow_is_not_malformed)
{
	uint64_t v = 7;

	cr_assert_eq(u64("18446744073709551616", &v), -ERANGE);
	cr_assert_eq(u64("99999999999999999999999", &v), -ERANGE);
	/* Garbage after an overflowing run is malformed first. */
	cr_assert_eq(u64("99999999999999999999999x", &v), -EINVAL);
	cr_assert_eq(v, 7, "nothing stored on failure");
}

Test(number, range)
{
	int64_t v;

	cr_assert_eq(decimal_parse_range("-5", -10, 10, &v), 0);
	cr_assert_eq(v, -5);
	cr_assert_eq(decimal_parse_range("-9223372036854775808", INT64_MIN, 0, &v), 0);
	cr_assert_eq(v, INT64_MIN);
	cr_assert_eq(decimal_parse_range("11", -10, 10, &v), -ERANGE);
	cr_assert_eq(decimal_parse_range("-11", -10, 10, &v), -ERANGE);
	cr_assert_eq(decimal_parse_range("9223372036854775808", 0, INT64_MAX, &v), -ERANGE);
	cr_assert_eq(decimal_parse_range("--1", -10, 10, &v), -EINVAL);
	cr_assert_eq(decimal_parse_range("-", -10, 10, &v), -EINVAL);
	cr_assert_eq(decimal_parse_range("+1", -10, 10, &v), -EINVAL);
}

/* The counted form that librmt uses on reply lines and URL ports: no NUL needed. */
Test(number, counted_signed)
{
	int64_t v = 7;

	cr_assert_eq(decimal_parse_i64("A-3", 0, INT64_MIN, INT64_MAX, &v), -EINVAL, "empty");
	cr_assert_eq(decimal_parse_i64("-3x", 2, INT64_MIN, INT64_MAX, &v), 0, "only the span");
	cr_assert_eq(v, -3);
	cr_assert_eq(decimal_parse_i64("-9223372036854775808", 20, INT64_MIN, INT64_MAX, &v), 0);
	cr_assert_eq(v, INT64_MIN);
	cr_assert_eq(decimal_parse_i64("-9223372036854775809", 20, INT64_MIN, INT64_MAX, &v),
	             -ERANGE);
	cr_assert_eq(decimal_parse_i64("9223372036854775807", 19, INT64_MIN, INT64_MAX, &v), 0);
	cr_assert_eq(v, INT64_MAX);
	cr_assert_eq(decimal_parse_i64("9223372036854775808", 19, INT64_MIN, INT64_MAX, &v),
	             -ERANGE);
	cr_assert_eq(decimal_parse_i64("99999999999999999999", 20, 0, 10, &v), -ERANGE);
	cr_assert_eq(decimal_parse_i64("-", 1, -10, 10, &v), -EINVAL);
	cr_assert_eq(decimal_parse_i64("1-", 2, -10, 10, &v), -EINVAL);
	cr_assert_eq(decimal_parse_i64("1 ", 2, -10, 10, &v), -EINVAL);
	cr_assert_eq(decimal_parse_i64("0x1", 3, -10, 10, &v), -EINVAL);
	cr_assert_eq(decimal_parse_i64("-0", 2, 0, 10, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(decimal_parse_i64("0", 1, 1, 10, &v), -ERANGE, "below the minimum");
}

Test(number, sizes)
{
	uint64_t v;

	cr_assert_eq(decimal_parse_size("10", 2, &v), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(decimal_parse_size("10k", 3, &v), 0);
	cr_assert_eq(v, 10240);
	cr_assert_eq(decimal_parse_size("2M", 2, &v), 0);
	cr_assert_eq(v, 2u << 20);
	cr_assert_eq(decimal_parse_size("3g", 2, &v), 0);
	cr_assert_eq(v, (uint64_t)3 << 30);
	cr_assert_eq(decimal_parse_size("1T", 2, &v), 0);
	cr_assert_eq(v, (uint64_t)1 << 40);
	cr_assert_eq(decimal_parse_size("K", 1, &v), -EINVAL);
	cr_assert_eq(decimal_parse_size("1KB", 3, &v), -EINVAL);
	cr_assert_eq(decimal_parse_size("1x", 2, &v), -EINVAL);
	cr_assert_eq(decimal_parse_size("16777216T", 9, &v), -ERANGE);
}

Test(number, octal)
{
	uint64_t v = 7;

	cr_assert_eq(octal_parse_u64("0770", 4, &v), 0);
	cr_assert_eq(v, 0770);
	cr_assert_eq(octal_parse_u64("1777777777777777777777", 22, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(octal_parse_u64("2000000000000000000000", 22, &v), -ERANGE);
	cr_assert_eq(octal_parse_u64("", 0, &v), -EINVAL);
	cr_assert_eq(octal_parse_u64("8", 1, &v), -EINVAL);
	cr_assert_eq(octal_parse_u64("+7", 2, &v), -EINVAL);
	cr_assert_eq(octal_parse_u64("-7", 2, &v), -EINVAL);
	cr_assert_eq(octal_parse_u64(" 7", 2, &v), -EINVAL);
	cr_assert_eq(octal_parse_u64("0x7", 3, &v), -EINVAL);
}

Test(number, hex_digits)
{
	cr_assert_eq(hex_digit_value('0'), 0);
	cr_assert_eq(hex_digit_value('9'), 9);
	cr_assert_eq(hex_digit_value('a'), 10);
	cr_assert_eq(hex_digit_value('F'), 15);
	cr_assert_eq(hex_digit_value('g'), -1);
	cr_assert_eq(hex_digit_value('/'), -1);
	cr_assert_eq(hex_digit_value(0xe9), -1);
}
