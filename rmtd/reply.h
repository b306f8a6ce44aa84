/*
 * reply.h - encoding of rmt replies: A<n>\n, E<errno>\n<text>\n, status blobs.
 *
 * Pure functions that format into a caller's buffer. Error texts are kept on one
 * line, at most REPLY_TEXT_MAX bytes, so that every classic client can read them
 * (rmt-protocol.md section 6.11).
 */
#ifndef RMTD_REPLY_H
#define RMTD_REPLY_H

#include <stddef.h>
#include <stdint.h>

/* Longest error text sent after E<errno>\n (excluding the newline). */
#define REPLY_TEXT_MAX 70
/* Room for any reply header: "E" + errno + "\n" + text + "\n", or "A" + int64 + "\n". */
#define REPLY_HEADER_MAX 96

/* "A<value>\n"; negative values are sent as A0 (GNU clients cannot parse A-3). Returns length. */
size_t reply_ok(char *buf, size_t size, int64_t value);

/*
 * "E<errno>\n<text>\n". text NULL means strerror(errnum). Newlines and control
 * bytes in text are replaced, and it is cut at REPLY_TEXT_MAX. Returns length.
 */
size_t reply_error(char *buf, size_t size, int errnum, const char *text);

#endif
