/*
 * reply.c - encoding of rmt replies (see reply.h).
 *
 * Numbers are formatted by hand, so the output does not depend on the locale and
 * the functions stay pure and thread-safe.
 */
#include "reply.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Decimal digits of a non-negative value into out (no NUL); returns the count. */
static size_t format_unsigned(char *out, uint64_t value)
{
	char digits[20];
	char *first = digits + sizeof(digits);

	/* Last digit first, from the end of digits: no reversing afterwards. */
	do {
		*--first = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
	memcpy(out, first, (size_t)(digits + sizeof(digits) - first));
	return (size_t)(digits + sizeof(digits) - first);
}
/* The description of errnum, without touching errno's static buffer (strerror is not MT-safe). */
static const char *error_description(int errnum, char *buffer, size_t size)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(errnum, buffer, size);
#else
	if (strerror_r(errnum, buffer, size) != 0)
		snprintf(buffer, size, "Unknown error %d", errnum);
	return buffer;
#endif
}

static char printable(unsigned char c)
{
	if (c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f')
		return ' ';
	if (c < 0x20 || c >= 0x7f)
		return '?';
	return (char)c;
}

/* The whole reply into buf with a NUL, or an empty string and 0 when it does not fit. */
static size_t copy_reply(char *buf, size_t size, const char *line, size_t length)
{
	if (length + 1 > size) {
		if (size > 0)
			buf[0] = '\0';
		return 0;
	}
	memcpy(buf, line, length);
	buf[length] = '\0';
	return length;
}

size_t reply_signed(char *buf, size_t size, int64_t value)
{
	char line[1 + 1 + 20 + 1];
	size_t length = 0;
	uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;

	line[length++] = 'A';
	if (value < 0)
		line[length++] = '-';
	length += format_unsigned(line + length, magnitude);
	line[length++] = '\n';
	return copy_reply(buf, size, line, length);
}

size_t reply_ok(char *buf, size_t size, int64_t value)
{
	/* GNU clients cannot parse A-3: a count below zero goes out as A0. */
	return reply_signed(buf, size, value < 0 ? 0 : value);
}

size_t reply_error(char *buf, size_t size, int errnum, const char *text)
{
	char line[1 + 10 + 1 + REPLY_TEXT_MAX + 1];
	char description[128];
	size_t length = 0;

	if (errnum < 0 && errnum != INT_MIN)
		errnum = -errnum;
	if (errnum <= 0)
		errnum = EIO;
	if (text == NULL || text[0] == '\0')
		text = error_description(errnum, description, sizeof(description));

	line[length++] = 'E';
	length += format_unsigned(line + length, (uint64_t)errnum);
	line[length++] = '\n';
	for (size_t i = 0; i < REPLY_TEXT_MAX && text[i] != '\0'; i++)
		line[length++] = printable((unsigned char)text[i]);
	line[length++] = '\n';
	return copy_reply(buf, size, line, length);
}
