/*
 * json_quote.c - C strings as JSON string literals (json_quote.h).
 */
#include <stdio.h>

#include "json_quote.h"
#include "utf8.h"

int json_quote(const char *s, enum json_bytes bytes,
               int (*emit)(void *arg, const char *piece, size_t length), void *arg)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	int rc = emit(arg, "\"", 1);

	while (rc == 0 && *p) {
		const unsigned char *run = p;
		char escape[8];
		size_t n;

		/* Plain printable ASCII and well-formed UTF-8 go out in one piece. */
		while (*p && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f &&
		       (n = utf8_sequence(p)) > 0)
			p += n;
		if (p > run)
			rc = emit(arg, (const char *)run, (size_t)(p - run));
		if (rc != 0 || *p == '\0')
			break;
		if (*p == '"')
			rc = emit(arg, "\\\"", 2);
		else if (*p == '\\')
			rc = emit(arg, "\\\\", 2);
		else if (*p == '\n')
			rc = emit(arg, "\\n", 2);
		else if (*p == '\t')
			rc = emit(arg, "\\t", 2);
		else if (*p < 0x20 || *p == 0x7f || bytes == JSON_BYTES_KEEP)
			rc = emit(arg, escape,
			          (size_t)snprintf(escape, sizeof(escape), "\\u%04x", *p));
		else
			rc = emit(arg, "\\ufffd", 6);
		p++;
	}
	if (rc == 0)
		rc = emit(arg, "\"", 1);
	return rc;
}
