/*
 * reply.h - encoding of rmt replies: A<n>\n, E<errno>\n<text>\n, status blobs.
 *
 * Pure functions that format into a caller's buffer. Error texts are kept on one
 * line, at most REPLY_TEXT_MAX bytes, so that every classic client can read them
 * (doc/protocol.md 1.2). A status blob (S) is reply_ok(size) followed by
 * the raw bytes, which the caller sends itself.
 *
 * Both functions never write past size and never produce a partial reply: when
 * the reply does not fit they return 0 (and leave an empty string when size > 0).
 * REPLY_HEADER_MAX always suffices. Thread-safe (no strerror()).
 */
#ifndef RMTD_REPLY_H
#define RMTD_REPLY_H

#include <stddef.h>
#include <stdint.h>

/* Longest error text sent after E<errno>\n (excluding the newline). */
#define REPLY_TEXT_MAX 70
/* Room for any reply header: "E" + errno + "\n" + text + "\n", or "A" + int64 + "\n". */
#define REPLY_HEADER_MAX 96
/* Room for "A" + any int64 + "\n": the longest reply_ok()/reply_signed() header. */
#define REPLY_COUNT_MAX (1 + 20 + 1)

/* "A<value>\n"; negative values are sent as A0 (GNU clients cannot parse A-3). Returns length. */
size_t reply_ok(char *buf, size_t size, int64_t value);

/*
 * "A<value>\n" keeping the sign: for status fields, where -1 means "unknown"
 * (mt_fileno, mt_blkno) and the clients that ask (DUMP, star) read it so.
 */
size_t reply_signed(char *buf, size_t size, int64_t value);

/*
 * "E<errno>\n<text>\n". text NULL or empty means strerror(errnum). Newlines,
 * control bytes and non-ASCII bytes in text are replaced (by ' ' for blanks and
 * line ends, '?' otherwise), and it is cut at REPLY_TEXT_MAX. A negative errnum
 * (a -errno from a backend) is sent as its positive value; 0 and INT_MIN, which
 * clients would misread, as EIO. The status line "E<errno>\n" is at most 12
 * bytes, well under the 29 of the dump client. Returns length.
 */
size_t reply_error(char *buf, size_t size, int errnum, const char *text);

#endif
