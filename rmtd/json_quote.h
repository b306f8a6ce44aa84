/*
 * json_quote.h - a C string as a JSON string literal, the one way rmtd writes
 * one: '"' and '\\' escaped, newline and tab as \n and \t, other control bytes
 * and DEL as \u00XX, well-formed UTF-8 kept as it is.
 */
#ifndef RMTD_JSON_QUOTE_H
#define RMTD_JSON_QUOTE_H

#include <stddef.h>

/* What becomes of a byte that is not UTF-8. */
enum json_bytes {
	JSON_BYTES_REPLACE, /* U+FFFD: reports, for people and their tools */
	JSON_BYTES_KEEP,    /* \u00XX: the state files, whose reader turns it back into the byte */
};

/*
 * Hand the literal of s (quotes included; NULL is "") to emit, piece by piece.
 * Returns 0, or emit's first non-zero return.
 */
int json_quote(const char *s, enum json_bytes bytes,
               int (*emit)(void *arg, const char *piece, size_t length), void *arg);

#endif
