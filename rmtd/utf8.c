/*
 * utf8.c - UTF-8 well-formedness (RFC 3629), one sequence at a time.
 */
#include <stdint.h>

#include "utf8.h"

size_t utf8_sequence(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	uint32_t code;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, code = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, code = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, code = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		code = (code << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && code < 0x800) || (n == 4 && code < 0x10000) || code > 0x10ffff ||
	    (code >= 0xd800 && code <= 0xdfff))
		return 0;
	return n;
}
