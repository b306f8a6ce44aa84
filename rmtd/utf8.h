/*
 * utf8.h - is this UTF-8? The one check the JSON and metrics writers share
 * before they let bytes from outside (labels, names) through unescaped.
 */
#ifndef RMTD_UTF8_H
#define RMTD_UTF8_H

#include <stddef.h>

/*
 * The length of the well-formed UTF-8 sequence at p (1 for ASCII), or 0 when
 * the bytes there are not one: a stray continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF, or a sequence cut by a NUL.
 */
size_t utf8_sequence(const unsigned char *p);

#endif
