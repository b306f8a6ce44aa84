/*
 * number.c - strict parsing of numbers in text (number.h). Pure: no I/O, no
 * logging; linked into the fuzz build with the parsers that use it, and into
 * librmt and rmt-connect, which read the same kind of numbers from servers,
 * the environment and the command line.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "number.h"

int decimal_parse_u64(const char *text, size_t length, uint64_t *out)
{
	uint64_t value = 0;
	bool digits = length > 0, overflow = false;

	/* Every byte is checked before overflow is reported: "99...9x" is malformed. */
	for (size_t i = 0; i < length; i++) {
		unsigned digit = (unsigned)(unsigned char)text[i] - '0';

		if (digit > 9)
			digits = false;
		else if (__builtin_mul_overflow(value, 10, &value) ||
		         __builtin_add_overflow(value, digit, &value))
			overflow = true;
	}
	if (!digits)
		return -EINVAL;
	if (overflow)
		return -ERANGE;
	*out = value;
	return 0;
}

int decimal_parse_i64(const char *text, size_t length, int64_t minimum, int64_t maximum,
                      int64_t *out)
{
	bool negative = length > 0 && text[0] == '-';
	uint64_t magnitude;
	int64_t value;
	int error = decimal_parse_u64(text + negative, length - negative, &magnitude);

	if (error < 0)
		return error;
	if (negative) {
		if (magnitude > (uint64_t)INT64_MAX + 1)
			return -ERANGE;
		value = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
	} else {
		if (magnitude > (uint64_t)INT64_MAX)
			return -ERANGE;
		value = (int64_t)magnitude;
	}
	if (value < minimum || value > maximum)
		return -ERANGE;
	*out = value;
	return 0;
}

int decimal_parse_range(const char *text, int64_t minimum, int64_t maximum, int64_t *out)
{
	return decimal_parse_i64(text, strlen(text), minimum, maximum, out);
}

int decimal_parse_size(const char *text, size_t length, uint64_t *out)
{
	static const char units[] = "kmgt";
	uint64_t value, scale = 1;
	const char *unit;
	int error;

	if (length > 0 && text[length - 1] != '\0' &&
	    (unit = strchr(units, text[length - 1] | 0x20)) != NULL) {
		scale = (uint64_t)1 << (10 * (unit - units + 1));
		length--;
	}
	if ((error = decimal_parse_u64(text, length, &value)) < 0)
		return error;
	if (value > UINT64_MAX / scale)
		return -ERANGE;
	*out = value * scale;
	return 0;
}

int octal_parse_u64(const char *text, size_t length, uint64_t *out)
{
	uint64_t value = 0;

	if (length == 0)
		return -EINVAL;
	for (size_t i = 0; i < length; i++)
		if (text[i] < '0' || text[i] > '7')
			return -EINVAL;
	for (size_t i = 0; i < length; i++) {
		if (value > UINT64_MAX >> 3)
			return -ERANGE;
		value = value << 3 | (uint64_t)(text[i] - '0');
	}
	*out = value;
	return 0;
}

int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
