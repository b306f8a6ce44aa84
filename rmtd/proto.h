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
 */
#ifndef RMTD_PROTO_H
#define RMTD_PROTO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest argument line other than a path. Numbers and flag lists fit easily. */
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

/* How the two lines of an L request were read (rmt-protocol.md section 6.3). */
enum proto_seek_order {
	PROTO_SEEK_ORDER_UNKNOWN,
	PROTO_SEEK_ORDER_OFFSET_FIRST, /* BSD, DUMP, SCHILY, SUN, GNU clients <= 2023-05 */
	PROTO_SEEK_ORDER_WHENCE_FIRST, /* GNU server since 2009, GNU clients since 2023-05 */
};

struct rmt_request {
	enum proto_command command;
	char letter; /* the command letter as received */

	/*
	 * Nonzero when the request is malformed and must be refused with this errno
	 * (and error_text) without touching the device. For W the data bytes must
	 * still be swallowed (data_length says how many).
	 */
	int error;
	const char *error_text;

	/* O */
	char path[PATH_MAX]; /* NUL-terminated; never contains a NUL from the wire */
	int open_flags;      /* Linux O_* bits: symbolic names when present, else numeric */
	bool open_flags_symbolic;
	int open_flags_numeric; /* the number as sent (may be in another OS's bits) */

	/* L */
	int64_t offset;
	int whence; /* 0..4, or 10/11 (QFA) */
	enum proto_seek_order seek_order;
	bool seek_order_ambiguous; /* rule (d) of section 6.3: both lines 1/2 */

	/* I, i */
	int ioctl_op;
	int ioctl_count;

	/* R, W: the count; for W also the number of data bytes that follow. */
	uint64_t length;
	uint64_t data_length; /* W only: bytes the caller must consume after this request */

	/* s */
	char status_letter;
};

struct proto_limits {
	uint64_t max_record; /* W and R counts above this are refused (E12 / E22) */
};

/*
 * Parser state. Defined here so a session can embed it without allocating; the
 * fields are private to proto.c.
 */
struct proto_parser {
	struct proto_limits limits;
	int state;
	char letter;
	size_t line_length;
	bool line_overflow;
	bool line_has_nul;
	int lines_done;
	enum proto_seek_order seek_order;
	char first_line[PROTO_ARGUMENT_MAX];
	char line[PATH_MAX];
};

void proto_parser_init(struct proto_parser *parser, const struct proto_limits *limits);

/* The seek order this session has shown so far, used to settle ambiguous L requests. */
void proto_parser_set_seek_order(struct proto_parser *parser, enum proto_seek_order order);

enum proto_result {
	PROTO_NEED_MORE, /* all input consumed, no request complete yet */
	PROTO_REQUEST,   /* *request is complete; the return value says how much was consumed */
};

/*
 * Feed up to len bytes. Returns the number of bytes consumed and sets *result.
 * On PROTO_REQUEST the caller handles the request (and, for W, its data_length
 * data bytes) before feeding the rest of its input.
 */
size_t proto_parse(struct proto_parser *parser, const void *bytes, size_t len,
		   struct rmt_request *request, enum proto_result *result);

/* True when the parser holds part of a request (EOF now means a truncated command). */
bool proto_parser_in_request(const struct proto_parser *parser);

#endif
