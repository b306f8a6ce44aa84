/*
 * escape.c - showing outside bytes safely: one escaper for logs and reports.
 */
#include <stdio.h>
#include <string.h>

#include "escape.h"

const char *escape_bytes(char *out, size_t size, const void *in, size_t length, int flags)
{
	const unsigned char *p = in;
	size_t used = 0;

	if (size == 0)
		return out;
	for (size_t i = 0; i < length; i++) {
		unsigned char c = p[i];
		char piece[5];
		size_t n;

		if (c == '\\' && !(flags & ESCAPE_KEEP_BACKSLASH))
			n = (size_t)snprintf(piece, sizeof(piece), "\\\\");
		else if (c == '\n')
			n = (size_t)snprintf(piece, sizeof(piece), "\\n");
		else if (c == '\t')
			n = (size_t)snprintf(piece, sizeof(piece), "\\t");
		else if (c == '\r')
			n = (size_t)snprintf(piece, sizeof(piece), "\\r");
		else if (c < 0x20 || c >= 0x7f)
			n = (size_t)snprintf(piece, sizeof(piece), "\\%03o", c);
		else
			piece[0] = (char)c, piece[1] = '\0', n = 1;
		if (used + n >= size)
			break; /* never half an escape */
		memcpy(out + used, piece, n);
		used += n;
	}
	out[used] = '\0';
	return out;
}

const char *escape_text(char *out, size_t size, const char *in)
{
	if (in == NULL)
		in = "";
	return escape_bytes(out, size, in, strlen(in), 0);
}
