/*
 * proto.h - the incremental rmt request parser: bytes in, requests out.
 *
 * Pure: no I/O, no allocation, no global state. The caller feeds whatever bytes it
 * has; the parser returns how many it consumed and, when a request is complete,
 * fills a struct rmt_request. A W request's data bytes are NOT consumed by the
 * parser: after a W request (accepted or refused) the caller must take exactly
 * request.data_length bytes from the stream itself (into a record buffer, or
 * discarded for a refused W) before feeding the parser again. That keeps data off
 * the parser's path (no copy) while every request is still read whole.
 *
 * The result is the same however the input is split: one byte per call or many
 * requests in one buffer. The rules (doc/protocol.md sections 1 and 2):
 *
 *  - At command-letter position '\n', '\r', ' ' and '\t' are skipped silently.
 *  - S is complete as soon as its letter arrives; s after exactly one more byte.
 *  - Every other request is read whole (all its argument lines) before it is
 *    judged, so a malformed request never makes the stream lose step. An error is
 *    reported in request.error/error_text on a complete request.
 *  - Argument lines are bounded (PATH_MAX - 1 bytes for the O path,
 *    PROTO_ARGUMENT_MAX - 1 for the others). A longer line is still consumed up to
 *    its '\n' without being stored, then refused (ENAMETOOLONG / EINVAL).
 *    Lines whose content is ignored (C, V, v, and the rest of a garbage line) are
 *    consumed without any limit.
 *  - Numbers are strict decimal: optional leading blanks, an optional sign, at
 *    least one digit, an optional trailing '\r', nothing else; overflow-checked.
 *  - An unknown command letter gives PROTO_GARBAGE (EINVAL, "Garbage command")
 *    after the rest of its line has been consumed.
 */
#ifndef RMTD_PROTO_H
#define RMTD_PROTO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest argument line other than a path (including room for a NUL). */
#define PROTO_ARGUMENT_MAX 256

enum proto_command {
	PROTO_OPEN,
	PROTO_CLOSE,
	PROTO_SEEK,
	PROTO_WRITE,
	PROTO_READ,
	PROTO_IOCTL,          /* I<op>\n<count>\n */
	PROTO_IOCTL_EXTENDED, /* i<code>\n<count>\n */
	PROTO_STATUS,         /* S */
	PROTO_STATUS_FIELD,   /* s<letter> */
	PROTO_VERSION_BSD,    /* V<anything>\n, answered A2 */
	PROTO_VERSION_SCHILY, /* v<anything>\n, answered A1 */
	PROTO_GARBAGE,        /* unknown command letter; the rest of its line was skipped */
};

/* How the two lines of an L request were read (doc/protocol.md 2.3). */
enum proto_seek_order {
	PROTO_SEEK_ORDER_UNKNOWN,      /* both readings agree (L0\n0\n), or the L was refused */
	PROTO_SEEK_ORDER_OFFSET_FIRST, /* BSD, DUMP, SCHILY, SUN, GNU clients <= 2023-05 */
	PROTO_SEEK_ORDER_WHENCE_FIRST, /* GNU server since 2009, GNU clients since 2023-05 */
};

struct rmt_request {
	enum proto_command command;
	char letter; /* the command letter as received */

	/*
	 * Nonzero when the request is malformed and must be refused with this errno
	 * (and error_text, a short constant) without touching the device. For W the
	 * data bytes must still be swallowed (data_length says how many).
	 */
	int error;
	const char *error_text;

	/*
	 * O. path is NUL-terminated and never contains a NUL from the wire; it is ""
	 * unless this is an O whose path line was valid (it is kept when only the
	 * flags were refused, for the log). open_flags are Linux O_* bits: from the
	 * names when the line has a '|' list or names (open_flags_symbolic), else the
	 * number masked to O_ACCMODE (doc/protocol.md 2.1). open_flags_numeric is the line's
	 * leading number as sent, possibly in another OS's bits (0 if none), for a
	 * configuration that trusts native numeric flags.
	 */
	char path[PATH_MAX];
	int open_flags;
	bool open_flags_symbolic;
	int open_flags_numeric;

	/*
	 * L, read by doc/protocol.md 2.3 (see proto.c). whence is 0..4 or DUMP's QFA 10/11 in
	 * the offset-first order; in the whence-first order a number must be 0..2
	 * (all GNU sends), a name SET/CUR/END/DATA/HOLE (SEEK_ optional) gives 0..4.
	 */
	int64_t offset;
	int whence;
	enum proto_seek_order seek_order; /* the reading taken; UNKNOWN when both agree */
	bool seek_order_ambiguous;        /* rule (d) of doc/protocol.md 2.3: a guess */

	/* I, i */
	int ioctl_op;
	int ioctl_count;

	/* R, W: the count; for W also the number of data bytes that follow. */
	uint64_t length;
	/*
	 * W only: bytes the caller must consume after this request, also when error is
	 * set. It is 0 when the count could not be read at all (not a number, negative),
	 * the announced count when it is over the maximum, and UINT64_MAX when the
	 * count overflows 64 bits (the rest of the stream is the client's data).
	 */
	uint64_t data_length;

	/* s */
	char status_letter;
};

struct proto_limits {
	uint64_t max_record; /* W and R counts above this are refused with E12; 0: the default */
};

/*
 * Parser state. Defined here so a session can embed it without allocating; the
 * fields are private to proto.c. About 4.6 KiB.
 */
struct proto_parser {
	struct proto_limits limits;
	int state;                /* what the next byte is: letter, s sub-command, argument line */
	char letter;              /* command letter of the request being read */
	int lines_wanted;         /* argument lines of this command (1 or 2) */
	int lines_done;           /* argument lines completed so far */
	size_t line_length;       /* bytes of the current line stored so far */
	bool line_overflow;       /* the current line exceeded its buffer and is being skipped */
	bool line_has_nul;        /* the current line held a NUL byte */
	bool path_error_too_long; /* O: verdict on the path line, kept until the request ends */
	bool path_error_nul;
	enum proto_seek_order seek_order;  /* order shown by this session, settles rule (d) */
	size_t lengths[2];                 /* stored lengths of the argument lines */
	bool overflowed[2];                /* argument line i was too long */
	char lines[2][PROTO_ARGUMENT_MAX]; /* argument lines other than the O path */
	char path[PATH_MAX];               /* the O path line */
};

/* limits may be NULL for the defaults (RMT_MAX_RECORD_DEFAULT). */
void proto_parser_init(struct proto_parser *parser, const struct proto_limits *limits);

/*
 * The seek order this session has shown so far, used to settle ambiguous L
 * requests (rule (d)). The parser also remembers the order of every L it could
 * decide by rules (a) to (c) by itself; PROTO_SEEK_ORDER_UNKNOWN forgets it.
 */
void proto_parser_set_seek_order(struct proto_parser *parser, enum proto_seek_order order);

enum proto_result {
	PROTO_NEED_MORE, /* all input consumed, no request complete yet */
	PROTO_REQUEST,   /* *request is complete; the return value says how much was consumed */
};

/*
 * Feed up to len bytes. Returns the number of bytes consumed and sets *result.
 * On PROTO_NEED_MORE every byte was consumed. On PROTO_REQUEST the consumed
 * bytes end with the request's last byte (nothing after it is looked at); the
 * caller handles the request (and, for W, its data_length data bytes) before
 * feeding the rest of its input. With len > 0 at least one byte is consumed.
 * *request is written only when a request completes.
 */
size_t proto_parse(struct proto_parser *parser, const void *bytes, size_t len,
                   struct rmt_request *request, enum proto_result *result);

/* True when the parser holds part of a request (EOF now means a truncated command). */
bool proto_parser_in_request(const struct proto_parser *parser);

#endif
