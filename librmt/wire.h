/*
 * wire.h - librmt's request encoding and reply-line parsing. Pure: no I/O.
 *
 * The encodings follow doc/protocol.md: open flags as a number plus the
 * symbolic names every symbolic server accepts, the two orders of L, and the
 * RMT V1 numbering of tape operations.
 */
#ifndef LIBRMT_WIRE_H
#define LIBRMT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest reply status line librmt accepts, without its '\n' (GNU's client allows 64). */
#define WIRE_STATUS_LINE_MAX 64
/* Longest error text line accepted after E/F. */
#define WIRE_ERROR_TEXT_MAX 1024
/* Largest errno number taken from a server as is. */
#define WIRE_ERRNO_MAX 4095

enum wire_reply_kind {
	WIRE_REPLY_OK,    /* A<value> */
	WIRE_REPLY_ERROR, /* E<errno>, then a text line */
	WIRE_REPLY_FATAL, /* F<errno>, then a text line; the connection is done */
};

struct wire_reply {
	enum wire_reply_kind kind;
	int64_t value; /* A: the number (may be negative); E/F: the errno as sent */
};

/*
 * Parse a status line (without '\n'): a letter A, E or F, a strict decimal
 * (optional '-', within int64_t; number.h), an optional trailing '\r'.
 * Anything else is -EPROTO.
 */
int wire_parse_status(const char *line, size_t length, struct wire_reply *reply);

/* The errno an E/F value stands for: itself when 1..WIRE_ERRNO_MAX, else EIO. */
int wire_errno(int64_t value);

/* Copy an error text, keeping printable ASCII only, cut to fit. */
void wire_clean_text(char *dst, size_t size, const char *src);

/*
 * O<path>\n<number> <SYMBOLIC>\n. Only flags the protocol can carry are sent
 * (access mode, APPEND CREAT DSYNC EXCL NOCTTY NONBLOCK SYNC TRUNC); local-only
 * ones (O_CLOEXEC, O_DIRECTORY, ...) are dropped. Returns the length, or -EINVAL
 * (newline in the path, empty path) / -ENAMETOOLONG.
 */
int wire_format_open(char *buffer, size_t size, const char *path, int flags);

/*
 * L request. whence_first: GNU servers since 2009, which take only 0..2.
 * Otherwise offset then whence; SEEK_SET to 1 or 2 names the whence (SEEK_SET)
 * because the line pair 1/0 or 2/0 would read as a whence-first tell or seek
 * to the end to a server that accepts both orders. whence 10/11 is DUMP's QFA.
 * Returns the length, or -EINVAL for a whence the order cannot carry.
 */
int wire_format_seek(char *buffer, size_t size, int64_t offset, int whence, bool whence_first);

/* How one Linux MTIOCTOP operation goes out. */
struct wire_tape_op {
	char letter; /* 'I' or 'i' */
	int code;
};

/*
 * Translate a native Linux op. Classic sessions send the native number with I.
 * After I-1 (v1) the standard numbers go with I, and RETEN/ERASE/EOM with i;
 * an op V1 cannot name returns -EOPNOTSUPP (the caller emulates FSFM, BSFM and
 * MTSEEK).
 */
int wire_tape_op(int native_op, bool v1, struct wire_tape_op *out);

#endif
