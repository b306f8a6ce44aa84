/*
 * test_proto.c - unit tests of the incremental rmt request parser (rmtd/proto.c).
 *
 * Every input is parsed whole, byte by byte, and in pseudo-random pieces, and the
 * three results must be identical; W data is swallowed the way the session does.
 * The transcripts are real clients' (doc/protocol.md section 3) and the probes of
 * section 1.5.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "rmt/protocol.h"

#define MAX_REQUESTS 64

struct transcript {
	struct rmt_request requests[MAX_REQUESTS];
	size_t count;
	bool cut;           /* the parser was inside a request at the end */
	uint64_t data_owed; /* W data bytes still expected at the end */
};

enum split_mode {
	SPLIT_WHOLE,
	SPLIT_BYTES,
	SPLIT_RANDOM,
};

static size_t next_piece(enum split_mode mode, unsigned *seed, size_t remaining)
{
	switch (mode) {
	case SPLIT_WHOLE:
		return remaining;
	case SPLIT_BYTES:
		return 1;
	case SPLIT_RANDOM:
	default:
		*seed = *seed * 1103515245u + 12345u;
		return 1 + (*seed >> 16) % 13;
	}
}

static void parse_with(const void *data, size_t len, const struct proto_limits *limits,
                       enum proto_seek_order order, enum split_mode mode, unsigned seed,
                       struct transcript *t)
{
	const unsigned char *bytes = data;
	struct proto_parser parser;
	uint64_t owed = 0;
	size_t pos = 0;

	memset(t, 0, sizeof(*t));
	proto_parser_init(&parser, limits);
	if (order != PROTO_SEEK_ORDER_UNKNOWN)
		proto_parser_set_seek_order(&parser, order);
	cr_assert_not(proto_parser_in_request(&parser));
	while (pos < len) {
		size_t piece = next_piece(mode, &seed, len - pos);
		size_t off = 0;

		if (piece > len - pos)
			piece = len - pos;
		while (off < piece) {
			enum proto_result result;
			size_t used;

			if (owed > 0) {
				size_t take = piece - off;

				if (take > owed)
					take = (size_t)owed;
				owed -= take;
				off += take;
				continue;
			}
			cr_assert_lt(t->count, MAX_REQUESTS, "too many requests in one test");
			used = proto_parse(&parser, bytes + pos + off, piece - off,
			                   &t->requests[t->count], &result);
			cr_assert_gt(used, 0, "no progress");
			cr_assert_leq(used, piece - off, "consumed more than given");
			off += used;
			if (result == PROTO_REQUEST) {
				struct rmt_request *r = &t->requests[t->count++];

				cr_assert_lt(strlen(r->path), PATH_MAX);
				if (r->command == PROTO_WRITE)
					owed = r->data_length;
				if (r->error != 0)
					cr_assert_not_null(r->error_text);
			} else {
				cr_assert_eq(off, piece, "NEED_MORE without consuming everything");
			}
		}
		pos += piece;
	}
	t->cut = proto_parser_in_request(&parser);
	t->data_owed = owed;
}

static void assert_same_request(const struct rmt_request *a, const struct rmt_request *b,
                                size_t index)
{
	cr_assert_eq(a->command, b->command, "request %zu: command", index);
	cr_assert_eq(a->letter, b->letter, "request %zu: letter", index);
	cr_assert_eq(a->error, b->error, "request %zu: error", index);
	cr_assert_eq(a->error_text, b->error_text, "request %zu: error text", index);
	cr_assert_str_eq(a->path, b->path, "request %zu: path", index);
	cr_assert_eq(a->open_flags, b->open_flags, "request %zu", index);
	cr_assert_eq(a->open_flags_symbolic, b->open_flags_symbolic, "request %zu", index);
	cr_assert_eq(a->open_flags_numeric, b->open_flags_numeric, "request %zu", index);
	cr_assert_eq(a->offset, b->offset, "request %zu", index);
	cr_assert_eq(a->whence, b->whence, "request %zu", index);
	cr_assert_eq(a->seek_order, b->seek_order, "request %zu", index);
	cr_assert_eq(a->seek_order_ambiguous, b->seek_order_ambiguous, "request %zu", index);
	cr_assert_eq(a->ioctl_op, b->ioctl_op, "request %zu", index);
	cr_assert_eq(a->ioctl_count, b->ioctl_count, "request %zu", index);
	cr_assert_eq(a->length, b->length, "request %zu", index);
	cr_assert_eq(a->data_length, b->data_length, "request %zu", index);
	cr_assert_eq(a->status_letter, b->status_letter, "request %zu", index);
}

static void assert_same_transcript(const struct transcript *a, const struct transcript *b)
{
	cr_assert_eq(a->count, b->count, "request count differs between splits");
	for (size_t i = 0; i < a->count; i++)
		assert_same_request(&a->requests[i], &b->requests[i], i);
	cr_assert_eq(a->cut, b->cut);
	cr_assert_eq(a->data_owed, b->data_owed);
}

/* Parse whole, byte by byte and in random pieces; all must agree. Returns the whole result. */
static struct transcript *parse_limited(const void *data, size_t len, uint64_t max_record,
                                        enum proto_seek_order order)
{
	struct proto_limits limits = {.max_record = max_record};
	struct transcript *whole = calloc(1, sizeof(*whole));
	struct transcript *other = calloc(1, sizeof(*other));

	cr_assert_not_null(whole);
	cr_assert_not_null(other);
	parse_with(data, len, &limits, order, SPLIT_WHOLE, 0, whole);
	parse_with(data, len, &limits, order, SPLIT_BYTES, 0, other);
	assert_same_transcript(whole, other);
	for (unsigned seed = 1; seed <= 5; seed++) {
		parse_with(data, len, &limits, order, SPLIT_RANDOM, seed, other);
		assert_same_transcript(whole, other);
	}
	free(other);
	return whole;
}

#define TEST_MAX_RECORD 65536

static struct transcript *parse_bytes(const void *data, size_t len)
{
	return parse_limited(data, len, TEST_MAX_RECORD, PROTO_SEEK_ORDER_UNKNOWN);
}

/* String literals may hold NULs, so their length comes from sizeof. */
#define PARSE(literal) parse_bytes(literal, sizeof(literal) - 1)

static const struct rmt_request *only_request(const struct transcript *t)
{
	cr_assert_eq(t->count, 1, "expected exactly one request, got %zu", t->count);
	cr_assert_not(t->cut, "parser still inside a request");
	return &t->requests[0];
}

static const struct rmt_request *parse_one(const char *text)
{
	/* Leaked on purpose: a test process is short-lived and Criterion forks per test. */
	return only_request(parse_bytes(text, strlen(text)));
}

static void assert_ok(const struct rmt_request *r, enum proto_command command)
{
	cr_assert_eq(r->command, command, "command %d, expected %d", r->command, command);
	cr_assert_eq(r->error, 0, "unexpected error %d (%s)", r->error,
	             r->error_text ? r->error_text : "");
	cr_assert_null(r->error_text);
}

static void assert_error(const struct rmt_request *r, enum proto_command command, int error)
{
	cr_assert_eq(r->command, command, "command %d, expected %d", r->command, command);
	cr_assert_eq(r->error, error, "error %d, expected %d", r->error, error);
	cr_assert_not_null(r->error_text);
	cr_assert_gt(strlen(r->error_text), 0);
	cr_assert_null(strchr(r->error_text, '\n'));
}

static void assert_seek(const struct rmt_request *r, int64_t offset, int whence,
                        enum proto_seek_order order, bool ambiguous)
{
	assert_ok(r, PROTO_SEEK);
	cr_assert_eq(r->offset, offset, "offset %lld, expected %lld", (long long)r->offset,
	             (long long)offset);
	cr_assert_eq(r->whence, whence, "whence %d, expected %d", r->whence, whence);
	cr_assert_eq(r->seek_order, order, "order %d, expected %d", r->seek_order, order);
	cr_assert_eq(r->seek_order_ambiguous, ambiguous);
}

/* ---------------------------------------------------------------- framing */

Test(proto, empty_input_needs_more)
{
	struct proto_parser parser;
	struct rmt_request request;
	enum proto_result result = PROTO_REQUEST;

	proto_parser_init(&parser, NULL);
	cr_assert_eq(proto_parse(&parser, "", 0, &request, &result), 0);
	cr_assert_eq(result, PROTO_NEED_MORE);
	cr_assert_not(proto_parser_in_request(&parser));
}

Test(proto, whitespace_between_commands_is_skipped)
{
	struct transcript *t = PARSE("\n\r \t\n C\n \r\n\tC\n\n\n");

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_CLOSE);
	assert_ok(&t->requests[1], PROTO_CLOSE);
	cr_assert_not(t->cut);
}

Test(proto, only_whitespace_gives_nothing)
{
	struct transcript *t = PARSE("\n\n\r\n   \t");

	cr_assert_eq(t->count, 0);
	cr_assert_not(t->cut);
}

Test(proto, parse_stops_right_after_a_request)
{
	struct proto_parser parser;
	struct rmt_request request;
	enum proto_result result;
	const char input[] = "W4\nabcdC\n";
	size_t used;

	proto_parser_init(&parser, NULL);
	used = proto_parse(&parser, input, sizeof(input) - 1, &request, &result);
	cr_assert_eq(result, PROTO_REQUEST);
	cr_assert_eq(used, 3, "W's data must not be consumed by the parser");
	cr_assert_eq(request.data_length, 4);
	used = proto_parse(&parser, input + 7, 2, &request, &result);
	cr_assert_eq(result, PROTO_REQUEST);
	cr_assert_eq(used, 2);
	assert_ok(&request, PROTO_CLOSE);
}

Test(proto, in_request_tracks_partial_commands)
{
	struct proto_parser parser;
	struct rmt_request request;
	enum proto_result result;

	proto_parser_init(&parser, NULL);
	proto_parse(&parser, "\n", 1, &request, &result);
	cr_assert_not(proto_parser_in_request(&parser), "whitespace is not a request");
	proto_parse(&parser, "L0", 2, &request, &result);
	cr_assert_eq(result, PROTO_NEED_MORE);
	cr_assert(proto_parser_in_request(&parser));
	proto_parse(&parser, "\n", 1, &request, &result);
	cr_assert(proto_parser_in_request(&parser), "L needs two lines");
	proto_parse(&parser, "0\n", 2, &request, &result);
	cr_assert_eq(result, PROTO_REQUEST);
	cr_assert_not(proto_parser_in_request(&parser));
	proto_parse(&parser, "s", 1, &request, &result);
	cr_assert(proto_parser_in_request(&parser));
	proto_parse(&parser, "T", 1, &request, &result);
	cr_assert_eq(result, PROTO_REQUEST);
	cr_assert_not(proto_parser_in_request(&parser));
}

Test(proto, request_fields_are_reset_between_requests)
{
	struct transcript *t = PARSE("O/dev/nst0\n577 O_WRONLY|O_CREAT|O_TRUNC\nC\n");

	cr_assert_eq(t->count, 2);
	cr_assert_str_eq(t->requests[1].path, "");
	cr_assert_eq(t->requests[1].open_flags, 0);
	cr_assert_eq(t->requests[1].open_flags_numeric, 0);
	cr_assert_not(t->requests[1].open_flags_symbolic);
}

Test(proto, request_struct_garbage_is_overwritten)
{
	struct proto_parser parser;
	struct rmt_request request;
	enum proto_result result;

	memset(&request, 0x5a, sizeof(request));
	proto_parser_init(&parser, NULL);
	proto_parse(&parser, "C\n", 2, &request, &result);
	cr_assert_eq(result, PROTO_REQUEST);
	assert_ok(&request, PROTO_CLOSE);
	cr_assert_str_eq(request.path, "");
	cr_assert_eq(request.length, 0);
	cr_assert_eq(request.data_length, 0);
	cr_assert_eq(request.offset, 0);
	cr_assert_eq(request.seek_order, PROTO_SEEK_ORDER_UNKNOWN);
}

/* ---------------------------------------------------------------- S and s */

Test(proto, status_completes_on_its_letter)
{
	struct proto_parser parser;
	struct rmt_request request;
	enum proto_result result;

	proto_parser_init(&parser, NULL);
	cr_assert_eq(proto_parse(&parser, "S", 1, &request, &result), 1);
	cr_assert_eq(result, PROTO_REQUEST, "S must not wait for a newline");
	assert_ok(&request, PROTO_STATUS);
	cr_assert_eq(request.letter, 'S');
	cr_assert_not(proto_parser_in_request(&parser));
}

Test(proto, status_then_close_without_newline)
{
	/* Probe: "S" then "C\n" -> two requests (GNU-2018 sees "SC" and fails). */
	struct transcript *t = PARSE("SC\n");

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_STATUS);
	assert_ok(&t->requests[1], PROTO_CLOSE);
	cr_assert_not(t->cut);
}

Test(proto, status_newline_then_close)
{
	/* Probe: "S\n" then "C\n": the '\n' is whitespace, not a garbage command. */
	struct transcript *t = PARSE("S\nC\n");

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_STATUS);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, status_crlf_then_close)
{
	struct transcript *t = PARSE("S\r\nC\r\n");

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_STATUS);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, status_field_takes_exactly_one_byte)
{
	/* SCHILY: "sE sT sD sR sF sB sf sb" without newlines, then any other request. */
	struct transcript *t = PARSE("sEsTsDsRsFsBsfsbsxR10\n");
	const char letters[] = "ETDRFBfbx";

	cr_assert_eq(t->count, 10);
	for (size_t i = 0; i < 9; i++) {
		assert_ok(&t->requests[i], PROTO_STATUS_FIELD);
		cr_assert_eq(t->requests[i].letter, 's');
		cr_assert_eq(t->requests[i].status_letter, letters[i]);
	}
	assert_ok(&t->requests[9], PROTO_READ);
	cr_assert_eq(t->requests[9].length, 10);
}

Test(proto, status_field_letter_may_be_a_newline)
{
	/* Exactly one byte, whatever it is: the session refuses '\n' as a field. */
	struct transcript *t = PARSE("s\nC\n");

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_STATUS_FIELD);
	cr_assert_eq(t->requests[0].status_letter, '\n');
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, status_field_cut_by_eof)
{
	struct transcript *t = PARSE("C\ns");

	cr_assert_eq(t->count, 1);
	cr_assert(t->cut);
}

/* ---------------------------------------------------------------- O */

static const struct rmt_request *parse_open(const char *flags_line)
{
	char input[512];

	snprintf(input, sizeof(input), "O/srv/rmtlab/x.tar\n%s\n", flags_line);
	const struct rmt_request *r = parse_one(input);

	cr_assert_eq(r->command, PROTO_OPEN);
	return r;
}

static void assert_open_flags(const char *flags_line, int flags, bool symbolic, int numeric)
{
	const struct rmt_request *r = parse_open(flags_line);

	assert_ok(r, PROTO_OPEN);
	cr_assert_str_eq(r->path, "/srv/rmtlab/x.tar");
	cr_assert_eq(r->open_flags, flags, "\"%s\": flags %#o, expected %#o", flags_line,
	             r->open_flags, flags);
	cr_assert_eq(r->open_flags_symbolic, symbolic, "\"%s\": symbolic", flags_line);
	cr_assert_eq(r->open_flags_numeric, numeric, "\"%s\": numeric %d", flags_line,
	             r->open_flags_numeric);
}

static void assert_open_flags_refused(const char *flags_line, const char *text)
{
	const struct rmt_request *r = parse_open(flags_line);

	assert_error(r, PROTO_OPEN, EINVAL);
	if (text != NULL)
		cr_assert_str_eq(r->error_text, text, "\"%s\"", flags_line);
	cr_assert_eq(r->open_flags, 0);
}

Test(proto, open_gnu_tar_flags)
{
	assert_open_flags("65 O_WRONLY|O_CREAT", O_WRONLY | O_CREAT, true, 65);
	assert_open_flags("0 O_RDONLY", O_RDONLY, true, 0);
	assert_open_flags("66 O_RDWR|O_CREAT", O_RDWR | O_CREAT, true, 66);
}

Test(proto, open_cpio_flags_with_trunc)
{
	assert_open_flags("577 O_WRONLY|O_CREAT|O_TRUNC", O_WRONLY | O_CREAT | O_TRUNC, true, 577);
}

Test(proto, open_dump_flags_access_mode_only)
{
	/* Linux dump sends only the access mode as the number; the names win. */
	assert_open_flags("1 O_WRONLY|O_CREAT|O_TRUNC", O_WRONLY | O_CREAT | O_TRUNC, true, 1);
}

Test(proto, open_star_flags)
{
	assert_open_flags("2 O_RDWR|O_CREAT", O_RDWR | O_CREAT, true, 2);
	assert_open_flags("2 O_RDWR|O_CREAT|O_TEXT|O_PRIV|O_LARGEFILE|O_BINARY", O_RDWR | O_CREAT,
	                  true, 2);
}

Test(proto, open_numeric_only_is_masked)
{
	/* BSD dump and xfsdump send their own OS's bits: keep only the access mode. */
	assert_open_flags("577", O_WRONLY, false, 577);
	assert_open_flags("1537", O_WRONLY, false, 1537);
	assert_open_flags("0", O_RDONLY, false, 0);
	assert_open_flags("2", O_RDWR, false, 2);
	assert_open_flags("  66 ", O_RDWR, false, 66);
	assert_open_flags("65\r", O_WRONLY, false, 65);
}

Test(proto, open_symbolic_without_prefix)
{
	assert_open_flags("WRONLY|CREAT", O_WRONLY | O_CREAT, true, 0);
	assert_open_flags("O_WRONLY | CREAT |O_TRUNC", O_WRONLY | O_CREAT | O_TRUNC, true, 0);
	assert_open_flags("\tRDONLY\t", O_RDONLY, true, 0);
}

Test(proto, open_numbers_mixed_in)
{
	assert_open_flags("64|512", O_CREAT | O_TRUNC, true, 64);
	assert_open_flags("O_WRONLY|64", O_WRONLY | O_CREAT, true, 0);
	assert_open_flags("1 | 64", O_WRONLY | O_CREAT, true, 1);
}

Test(proto, open_every_name)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {
	    {"RDONLY", O_RDONLY}, {"WRONLY", O_WRONLY}, {"RDWR", O_RDWR},
	    {"CREAT", O_CREAT},   {"EXCL", O_EXCL},     {"NOCTTY", O_NOCTTY},
	    {"TRUNC", O_TRUNC},   {"APPEND", O_APPEND}, {"NONBLOCK", O_NONBLOCK},
	    {"NDELAY", O_NDELAY}, {"SYNC", O_SYNC},     {"FSYNC", O_FSYNC},
	    {"DSYNC", O_DSYNC},   {"RSYNC", O_RSYNC},   {"ASYNC", O_ASYNC},
	    {"LARGEFILE", 0},     {"TEXT", 0},          {"BINARY", 0},
	    {"PRIV", 0},
	};
	char line[64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(line, sizeof(line), "0 O_%s", names[i].name);
		assert_open_flags(line, names[i].value, true, 0);
		snprintf(line, sizeof(line), "%s", names[i].name);
		assert_open_flags(line, names[i].value, true, 0);
	}
	/* dump with O_NONBLOCK sends both names (GNU refuses that; we do not). */
	assert_open_flags("2048 O_RDONLY|O_NONBLOCK|O_NDELAY", O_NONBLOCK, true, 2048);
}

Test(proto, open_unknown_flag_is_refused)
{
	assert_open_flags_refused("1 O_WRONLY|O_CREAT|O_BOGUS", "invalid open flag");
	assert_open_flags_refused("O_BOGUS", "invalid open flag");
	assert_open_flags_refused("o_wronly", "invalid open flag");
	assert_open_flags_refused("O_", "invalid open flag");
	assert_open_flags_refused("SEEK_SET", "invalid open flag");
}

Test(proto, open_malformed_flags_are_refused)
{
	assert_open_flags_refused("", NULL);
	assert_open_flags_refused("   ", NULL);
	assert_open_flags_refused("O_WRONLY|", NULL);
	assert_open_flags_refused("|O_WRONLY", NULL);
	assert_open_flags_refused("O_WRONLY||O_CREAT", NULL);
	assert_open_flags_refused("O_WRONLY,O_CREAT", NULL);
	assert_open_flags_refused("O_WRONLY O_CREAT", NULL);
	assert_open_flags_refused("12abc", NULL);
	assert_open_flags_refused("-1", NULL);
	assert_open_flags_refused("99999999999", NULL);
	assert_open_flags_refused("1 O_WRONLY|99999999999", NULL);
	assert_open_flags_refused("0x41", NULL);
}

Test(proto, open_empty_flags_line)
{
	const struct rmt_request *r = parse_one("O/tmp/x\n\n");

	assert_error(r, PROTO_OPEN, EINVAL);
}

Test(proto, open_long_flags_line_is_refused_and_consumed)
{
	char input[2048];
	size_t n = 0;

	n += (size_t)snprintf(input, sizeof(input), "O/tmp/x\n0 O_RDONLY");
	while (n < 1500)
		n += (size_t)snprintf(input + n, sizeof(input) - n, "|O_TEXT");
	n += (size_t)snprintf(input + n, sizeof(input) - n, "\nC\n");
	struct transcript *t = parse_bytes(input, n);

	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_OPEN, EINVAL);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, open_path_is_kept_verbatim)
{
	const struct rmt_request *r = parse_one("O /tmp/with space\t\r\n0\n");

	assert_ok(r, PROTO_OPEN);
	cr_assert_str_eq(r->path, " /tmp/with space\t\r");
}

Test(proto, open_empty_path_is_passed_on)
{
	const struct rmt_request *r = parse_one("O\n0\n");

	assert_ok(r, PROTO_OPEN);
	cr_assert_str_eq(r->path, "");
}

Test(proto, open_path_with_nul_is_refused)
{
	struct transcript *t = PARSE("O/tmp/a\0b\n0 O_RDONLY\nC\n");

	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_OPEN, EINVAL);
	cr_assert_str_eq(t->requests[0].path, "");
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

static struct transcript *parse_long_path(size_t path_length, const char *after)
{
	size_t after_length = strlen(after);
	size_t total = 1 + path_length + strlen("\n0 O_RDONLY\n") + after_length;
	char *input = malloc(total);
	size_t n = 0;

	cr_assert_not_null(input);
	input[n++] = 'O';
	input[n++] = '/';
	memset(input + n, 'p', path_length - 1);
	n += path_length - 1;
	memcpy(input + n, "\n0 O_RDONLY\n", 12);
	n += 12;
	memcpy(input + n, after, after_length);
	n += after_length;
	cr_assert_eq(n, total);
	return parse_bytes(input, total);
}

Test(proto, open_5000_byte_path_keeps_the_stream_in_step)
{
	struct transcript *t = parse_long_path(5000, "R512\nC\n");

	cr_assert_eq(t->count, 3);
	assert_error(&t->requests[0], PROTO_OPEN, ENAMETOOLONG);
	cr_assert_str_eq(t->requests[0].path, "");
	assert_ok(&t->requests[1], PROTO_READ);
	cr_assert_eq(t->requests[1].length, 512);
	assert_ok(&t->requests[2], PROTO_CLOSE);
	cr_assert_not(t->cut);
}

Test(proto, open_path_length_limit_is_exact)
{
	struct transcript *t = parse_long_path(PATH_MAX - 1, "C\n");

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_OPEN);
	cr_assert_eq(strlen(t->requests[0].path), PATH_MAX - 1);
	cr_assert_eq(t->requests[0].path[0], '/');

	t = parse_long_path(PATH_MAX, "C\n");
	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_OPEN, ENAMETOOLONG);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, open_87_byte_path_works)
{
	/* BSD and DUMP cut at 63 bytes and lose step; we must not. */
	struct transcript *t = parse_long_path(87, "C\n");

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_OPEN);
	cr_assert_eq(strlen(t->requests[0].path), 87);
}

Test(proto, open_long_path_with_nul_is_einval)
{
	char *input = malloc(6000);
	size_t n = 0;

	cr_assert_not_null(input);
	input[n++] = 'O';
	memset(input + n, 'x', 5000);
	input[n + 4500] = '\0';
	n += 5000;
	memcpy(input + n, "\n0\nC\n", 5);
	n += 5;
	struct transcript *t = parse_bytes(input, n);

	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_OPEN, EINVAL);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, open_bad_path_and_bad_flags_reports_the_path)
{
	struct transcript *t = PARSE("O/a\0\nO_BOGUS\nC\n");

	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_OPEN, EINVAL);
	cr_assert_str_neq(t->requests[0].error_text, "invalid open flag");
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, open_cut_by_eof)
{
	struct transcript *t = PARSE("O/tmp/x\n0 O_RD");

	cr_assert_eq(t->count, 0);
	cr_assert(t->cut);
}

/* ---------------------------------------------------------------- C, V, v */

Test(proto, close_argument_is_ignored)
{
	assert_ok(parse_one("C\n"), PROTO_CLOSE);
	assert_ok(parse_one("C/dev/nst0\n"), PROTO_CLOSE);
	assert_ok(only_request(PARSE("Cwhatever \0 bytes\r\n")), PROTO_CLOSE);
}

Test(proto, close_with_a_very_long_argument)
{
	char *input = malloc(100003);

	cr_assert_not_null(input);
	input[0] = 'C';
	memset(input + 1, 'z', 100000);
	memcpy(input + 100001, "\nS", 2);
	struct transcript *t = parse_bytes(input, 100003);

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_CLOSE);
	assert_ok(&t->requests[1], PROTO_STATUS);
}

Test(proto, version_commands)
{
	const struct rmt_request *r = parse_one("V2\n");

	assert_ok(r, PROTO_VERSION_BSD);
	cr_assert_eq(r->letter, 'V');
	assert_ok(parse_one("V\n"), PROTO_VERSION_BSD);
	assert_ok(parse_one("v\n"), PROTO_VERSION_SCHILY);
	assert_ok(parse_one("vanything at all\n"), PROTO_VERSION_SCHILY);
}

Test(proto, close_cut_by_eof)
{
	struct transcript *t = PARSE("C");

	cr_assert_eq(t->count, 0);
	cr_assert(t->cut);
}

/* ---------------------------------------------------------------- garbage */

Test(proto, garbage_letter_consumes_its_line)
{
	struct transcript *t = PARSE("X\nC\n");

	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_GARBAGE, EINVAL);
	cr_assert_str_eq(t->requests[0].error_text, "Garbage command");
	cr_assert_eq(t->requests[0].letter, 'X');
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, garbage_line_swallows_what_follows_on_it)
{
	struct transcript *t = PARSE("?junk O/etc/shadow\n0\nC\n");

	cr_assert_eq(t->count, 3, "the O on the garbage line must not run");
	assert_error(&t->requests[0], PROTO_GARBAGE, EINVAL);
	cr_assert_eq(t->requests[0].letter, '?');
	/* "0\n" is the next line: a digit is a garbage letter too. */
	assert_error(&t->requests[1], PROTO_GARBAGE, EINVAL);
	cr_assert_eq(t->requests[1].letter, '0');
	assert_ok(&t->requests[2], PROTO_CLOSE);
}

Test(proto, garbage_bytes_of_every_kind)
{
	const char letters[] =
	    "0123456789AaBbDEFGHJKMNPQTUXYZcdefghjklmnopqrtuwxyz!|\x01\x7f\x80\xff";

	for (size_t i = 0; letters[i] != '\0'; i++) {
		char input[8] = {letters[i], 'q', '\n', 'C', '\n'};
		struct transcript *t = parse_bytes(input, 5);

		cr_assert_eq(t->count, 2, "letter %#x", (unsigned char)letters[i]);
		assert_error(&t->requests[0], PROTO_GARBAGE, EINVAL);
		cr_assert_eq(t->requests[0].letter, letters[i]);
		assert_ok(&t->requests[1], PROTO_CLOSE);
		free(t);
	}
	struct transcript *t = PARSE("\0\nC\n");

	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_GARBAGE, EINVAL);
	cr_assert_eq(t->requests[0].letter, '\0');
}

Test(proto, garbage_cut_by_eof)
{
	struct transcript *t = PARSE("Xabc");

	cr_assert_eq(t->count, 0);
	cr_assert(t->cut);
}

Test(proto, stray_digit_line_after_gnu_desync)
{
	/* What GNU leaves behind after refusing "L50": the "0" line. We read it as garbage. */
	struct transcript *t = PARSE("0\n");

	cr_assert_eq(t->count, 1);
	assert_error(&t->requests[0], PROTO_GARBAGE, EINVAL);
}

/* ---------------------------------------------------------------- W */

static const struct rmt_request *parse_write(const char *count_line, uint64_t max)
{
	char input[1024];
	int n = snprintf(input, sizeof(input), "W%s\n", count_line);
	struct transcript *t = parse_limited(input, (size_t)n, max, PROTO_SEEK_ORDER_UNKNOWN);

	cr_assert_eq(t->count, 1, "\"W%s\"", count_line);
	cr_assert_not(t->cut);
	cr_assert_eq(t->requests[0].command, PROTO_WRITE);
	cr_assert_eq(t->data_owed, t->requests[0].data_length);
	return &t->requests[0];
}

static void assert_write(const char *count_line, uint64_t length)
{
	const struct rmt_request *r = parse_write(count_line, TEST_MAX_RECORD);

	assert_ok(r, PROTO_WRITE);
	cr_assert_eq(r->length, length, "\"W%s\"", count_line);
	cr_assert_eq(r->data_length, length, "\"W%s\"", count_line);
}

static void assert_write_refused(const char *count_line, int error, uint64_t data_length)
{
	const struct rmt_request *r = parse_write(count_line, TEST_MAX_RECORD);

	assert_error(r, PROTO_WRITE, error);
	cr_assert_eq(r->data_length, data_length, "\"W%s\": data_length %llu", count_line,
	             (unsigned long long)r->data_length);
}

Test(proto, write_counts)
{
	assert_write("10240", 10240);
	assert_write("512", 512);
	assert_write("0", 0);
	assert_write(" 2", 2);
	assert_write("\t 2", 2);
	assert_write("+2", 2);
	assert_write("2\r", 2);
	assert_write("65536", TEST_MAX_RECORD);
	assert_write("0000000000000000000000000000000000001", 1);
}

Test(proto, write_over_the_limit_still_swallows_its_data)
{
	assert_write_refused("65537", ENOMEM, 65537);
	assert_write_refused("9223372036854775808", ENOMEM, UINT64_C(9223372036854775808));
	assert_write_refused("18446744073709551615", ENOMEM, UINT64_MAX);
}

Test(proto, write_count_overflow)
{
	assert_write_refused("18446744073709551616", ENOMEM, UINT64_MAX);
	assert_write_refused("99999999999999999999999", ENOMEM, UINT64_MAX);
}

Test(proto, write_malformed_counts)
{
	assert_write_refused("-1", EINVAL, 0);
	assert_write_refused("-0", EINVAL, 0);
	assert_write_refused("1x", EINVAL, 0);
	assert_write_refused("2 ", EINVAL, 0);
	assert_write_refused("", EINVAL, 0);
	assert_write_refused(" ", EINVAL, 0);
	assert_write_refused("+", EINVAL, 0);
	assert_write_refused("++2", EINVAL, 0);
	assert_write_refused("0x10", EINVAL, 0);
	assert_write_refused("1 0", EINVAL, 0);
	assert_write_refused("2\r\r", EINVAL, 0);
	assert_write_refused("\r2", EINVAL, 0);
	assert_write_refused("-99999999999999999999999", EINVAL, 0);
	assert_write_refused("１", EINVAL, 0);
}

Test(proto, write_count_line_too_long)
{
	char line[600];

	memset(line, '0', sizeof(line) - 2);
	line[sizeof(line) - 2] = '5';
	line[sizeof(line) - 1] = '\0';
	assert_write_refused(line, EINVAL, 0);
}

Test(proto, write_with_the_default_limit)
{
	char count[32];

	snprintf(count, sizeof(count), "%u", RMT_MAX_RECORD_DEFAULT);
	const struct rmt_request *r = parse_write(count, 0);

	assert_ok(r, PROTO_WRITE);
	cr_assert_eq(r->data_length, RMT_MAX_RECORD_DEFAULT);
	snprintf(count, sizeof(count), "%u", RMT_MAX_RECORD_DEFAULT + 1);
	r = parse_write(count, 0);
	assert_error(r, PROTO_WRITE, ENOMEM);
	cr_assert_eq(r->data_length, RMT_MAX_RECORD_DEFAULT + 1);
}

Test(proto, write_data_that_looks_like_commands)
{
	/* The data is the caller's to take: nothing inside it is parsed. */
	struct transcript *t = PARSE("W7\nC\nS\nX\n\nR5\n");

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_WRITE);
	assert_ok(&t->requests[1], PROTO_READ);
	cr_assert_eq(t->requests[1].length, 5);
}

Test(proto, refused_write_data_is_swallowed)
{
	struct transcript *t =
	    parse_limited("W5\nabcdeW3\nxyzC\n", 16, 4, PROTO_SEEK_ORDER_UNKNOWN);

	cr_assert_eq(t->count, 3);
	assert_error(&t->requests[0], PROTO_WRITE, ENOMEM);
	cr_assert_eq(t->requests[0].data_length, 5);
	assert_ok(&t->requests[1], PROTO_WRITE);
	assert_ok(&t->requests[2], PROTO_CLOSE);
}

Test(proto, write_premature_eof)
{
	/* Probe: "W100\nabc" then EOF: 97 bytes still owed; the session answers E5. */
	struct transcript *t = PARSE("W100\nabc");

	cr_assert_eq(t->count, 1);
	assert_ok(&t->requests[0], PROTO_WRITE);
	cr_assert_eq(t->data_owed, 97);
	cr_assert_not(t->cut);
}

Test(proto, write_cut_in_its_count)
{
	struct transcript *t = PARSE("W10");

	cr_assert_eq(t->count, 0);
	cr_assert(t->cut);
}

/* ---------------------------------------------------------------- R */

static const struct rmt_request *parse_read(const char *count_line)
{
	char input[256];
	int n = snprintf(input, sizeof(input), "R%s\n", count_line);
	const struct rmt_request *r = only_request(parse_bytes(input, (size_t)n));

	cr_assert_eq(r->command, PROTO_READ);
	cr_assert_eq(r->data_length, 0, "R has no data");
	return r;
}

static void assert_read(const char *count_line, uint64_t length)
{
	const struct rmt_request *r = parse_read(count_line);

	assert_ok(r, PROTO_READ);
	cr_assert_eq(r->length, length, "\"R%s\"", count_line);
}

static void assert_read_refused(const char *count_line, int error)
{
	assert_error(parse_read(count_line), PROTO_READ, error);
}

Test(proto, read_counts)
{
	/* Probes: "R 2" / "R+2" are 2; "R2 " is refused (strict, like GNU). */
	assert_read("10", 10);
	assert_read("10240", 10240);
	assert_read("0", 0);
	assert_read(" 2", 2);
	assert_read("+2", 2);
	assert_read("2\r", 2);
	assert_read("65536", TEST_MAX_RECORD);
}

Test(proto, read_refused_counts)
{
	assert_read_refused("2 ", EINVAL);
	assert_read_refused("-1", EINVAL);
	assert_read_refused("1x", EINVAL);
	assert_read_refused("", EINVAL);
	assert_read_refused("65537", ENOMEM);
	assert_read_refused("99999999999999", ENOMEM);
	assert_read_refused("9223372036854775808", ENOMEM);
	assert_read_refused("99999999999999999999999", ENOMEM);
}

Test(proto, restore_block_size_probe)
{
	/* restore's first read is R32768; it is fine under the default limit. */
	struct transcript *t = parse_limited("R32768\n", 7, 0, PROTO_SEEK_ORDER_UNKNOWN);

	cr_assert_eq(t->count, 1);
	assert_ok(&t->requests[0], PROTO_READ);
	cr_assert_eq(t->requests[0].length, 32768);
}

/* ---------------------------------------------------------------- I and i */

static void assert_ioctl(const char *input, enum proto_command command, int op, int count)
{
	const struct rmt_request *r = parse_one(input);

	assert_ok(r, command);
	cr_assert_eq(r->ioctl_op, op, "%s", input);
	cr_assert_eq(r->ioctl_count, count, "%s", input);
}

static void assert_ioctl_refused(const char *input, enum proto_command command)
{
	struct transcript *t;
	char buffer[256];
	int n = snprintf(buffer, sizeof(buffer), "%sC\n", input);

	t = parse_bytes(buffer, (size_t)n);
	cr_assert_eq(t->count, 2, "%s: both lines must be consumed", input);
	assert_error(&t->requests[0], command, EINVAL);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, ioctl_requests)
{
	assert_ioctl("I6\n1\n", PROTO_IOCTL, 6, 1);
	assert_ioctl("I1\n-3\n", PROTO_IOCTL, 1, -3);
	assert_ioctl("I-1\n0\n", PROTO_IOCTL, -1, 0);
	assert_ioctl("I-2\n0\n", PROTO_IOCTL, -2, 0);
	assert_ioctl("I 12\n+1\r\n", PROTO_IOCTL, 12, 1);
	assert_ioctl("I2147483647\n-2147483648\n", PROTO_IOCTL, INT_MAX, INT_MIN);
	assert_ioctl("i2\n1\n", PROTO_IOCTL_EXTENDED, 2, 1);
	assert_ioctl("i0\n1\n", PROTO_IOCTL_EXTENDED, 0, 1);
	assert_ioctl("i6\n1\n", PROTO_IOCTL_EXTENDED, 6, 1);
}

Test(proto, ioctl_malformed_consumes_both_lines)
{
	/* Probe: "I6x\n1\n": GNU refuses and then reads "1" as garbage; we stay in step. */
	assert_ioctl_refused("I6x\n1\n", PROTO_IOCTL);
	assert_ioctl_refused("I6\n1x\n", PROTO_IOCTL);
	assert_ioctl_refused("I\n1\n", PROTO_IOCTL);
	assert_ioctl_refused("I6\n\n", PROTO_IOCTL);
	assert_ioctl_refused("I2147483648\n1\n", PROTO_IOCTL);
	assert_ioctl_refused("I1\n-2147483649\n", PROTO_IOCTL);
	assert_ioctl_refused("I99999999999999999999999\n1\n", PROTO_IOCTL);
	assert_ioctl_refused("iX\n1\n", PROTO_IOCTL_EXTENDED);
	assert_ioctl_refused("i2\n 1 \n", PROTO_IOCTL_EXTENDED);

	const struct rmt_request *r = parse_one("I6x\n1\n");
	cr_assert_str_eq(r->error_text, "Invalid operation code");
	r = parse_one("I6\nz\n");
	cr_assert_str_eq(r->error_text, "Invalid operation count");
}

Test(proto, ioctl_long_lines_are_refused_in_step)
{
	char input[1200];
	size_t n = 0;

	/* A 300-digit op line, then a count line of 300 blanks and a 1. */
	input[n++] = 'I';
	memset(input + n, '7', 300);
	n += 300;
	input[n++] = '\n';
	input[n++] = '1';
	input[n++] = '\n';
	input[n++] = 'i';
	input[n++] = '2';
	input[n++] = '\n';
	memset(input + n, ' ', 300);
	n += 300;
	memcpy(input + n, "1\nC\n", 4);
	n += 4;
	struct transcript *t = parse_bytes(input, n);

	cr_assert_eq(t->count, 3);
	assert_error(&t->requests[0], PROTO_IOCTL, EINVAL);
	cr_assert_str_eq(t->requests[0].error_text, "Invalid operation code");
	assert_error(&t->requests[1], PROTO_IOCTL_EXTENDED, EINVAL);
	cr_assert_str_eq(t->requests[1].error_text, "Invalid operation count");
	assert_ok(&t->requests[2], PROTO_CLOSE);
}

Test(proto, ioctl_cut_by_eof)
{
	/* GNU crashes on EOF between I's lines; we only report that a request was cut. */
	struct transcript *t = PARSE("I6\n");

	cr_assert_eq(t->count, 0);
	cr_assert(t->cut);
}

Test(proto, star_version_query_pairs)
{
	/* star: I-1 after O and before every ioctl and status call. */
	struct transcript *t = PARSE("O/dev/nst0\n2 O_RDWR|O_CREAT\nI-1\n0\nI-1\n0\nI5\n1\n"
	                             "I-1\n0\nsEsTsDsRsFsBsfsbI-1\n0\ni4\n1\nC\n");
	const char fields[] = "ETDRFBfb";

	cr_assert_eq(t->count, 16);
	assert_ok(&t->requests[0], PROTO_OPEN);
	cr_assert_eq(t->requests[0].open_flags, O_RDWR | O_CREAT);
	for (size_t i = 1; i <= 2; i++) {
		assert_ok(&t->requests[i], PROTO_IOCTL);
		cr_assert_eq(t->requests[i].ioctl_op, RMT_IOCTL_VERSION_QUERY);
		cr_assert_eq(t->requests[i].ioctl_count, 0);
	}
	assert_ok(&t->requests[3], PROTO_IOCTL);
	cr_assert_eq(t->requests[3].ioctl_op, RMT_V1_REW);
	cr_assert_eq(t->requests[4].ioctl_op, RMT_IOCTL_VERSION_QUERY);
	for (size_t i = 0; i < 8; i++) {
		assert_ok(&t->requests[5 + i], PROTO_STATUS_FIELD);
		cr_assert_eq(t->requests[5 + i].status_letter, fields[i]);
	}
	cr_assert_eq(t->requests[13].ioctl_op, RMT_IOCTL_VERSION_QUERY);
	assert_ok(&t->requests[14], PROTO_IOCTL_EXTENDED);
	cr_assert_eq(t->requests[14].ioctl_op, RMT_EXT_EOM);
	assert_ok(&t->requests[15], PROTO_CLOSE);
}

/* ---------------------------------------------------------------- L */

static const struct rmt_request *parse_seek_in(const char *input, enum proto_seek_order order)
{
	struct transcript *t = parse_limited(input, strlen(input), TEST_MAX_RECORD, order);

	return only_request(t);
}

static void assert_seek_refused(const char *input)
{
	struct transcript *t;
	char buffer[256];
	int n = snprintf(buffer, sizeof(buffer), "%sC\n", input);

	t = parse_bytes(buffer, (size_t)n);
	cr_assert_eq(t->count, 2, "%s: both lines must be consumed", input);
	assert_error(&t->requests[0], PROTO_SEEK, EINVAL);
	cr_assert_eq(t->requests[0].seek_order, PROTO_SEEK_ORDER_UNKNOWN);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, seek_bsd_tell)
{
	/* (c): tar 1.34's "tell": offset 0, SEEK_CUR (GNU-2009+ servers read SEEK_SET 1). */
	assert_seek(parse_one("L0\n1\n"), 0, RMT_SEEK_CUR, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
}

Test(proto, seek_gnu_2023_tell)
{
	assert_seek(parse_one("L1\n0\n"), 0, RMT_SEEK_CUR, PROTO_SEEK_ORDER_WHENCE_FIRST, false);
}

Test(proto, seek_zero_zero_shows_no_order)
{
	assert_seek(parse_one("L0\n0\n"), 0, RMT_SEEK_SET, PROTO_SEEK_ORDER_UNKNOWN, false);
	assert_seek(parse_one("L1\n1\n"), 1, RMT_SEEK_CUR, PROTO_SEEK_ORDER_UNKNOWN, false);
	assert_seek(parse_one("L2\n2\n"), 2, RMT_SEEK_END, PROTO_SEEK_ORDER_UNKNOWN, false);
}

Test(proto, seek_only_one_line_is_a_whence)
{
	/* (b): "L50\n0\n" is offset 50 from SEEK_SET (GNU refuses it and loses step). */
	assert_seek(parse_one("L50\n0\n"), 50, RMT_SEEK_SET, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(parse_one("L10240\n0\n"), 10240, RMT_SEEK_SET, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
	assert_seek(parse_one("L10240\n1\n"), 10240, RMT_SEEK_CUR, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
	assert_seek(parse_one("L-10\n2\n"), -10, RMT_SEEK_END, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
	assert_seek(parse_one("L0\n5000000000\n"), 5000000000, RMT_SEEK_SET,
	            PROTO_SEEK_ORDER_WHENCE_FIRST, false);
	assert_seek(parse_one("L2\n-10\n"), -10, RMT_SEEK_END, PROTO_SEEK_ORDER_WHENCE_FIRST,
	            false);
	assert_seek(parse_one("L1\n20480\n"), 20480, RMT_SEEK_CUR, PROTO_SEEK_ORDER_WHENCE_FIRST,
	            false);
}

Test(proto, seek_symbolic_whence)
{
	/* (a) */
	assert_seek(parse_one("LSEEK_END\n-10\n"), -10, RMT_SEEK_END, PROTO_SEEK_ORDER_WHENCE_FIRST,
	            false);
	assert_seek(parse_one("LCUR\n0\n"), 0, RMT_SEEK_CUR, PROTO_SEEK_ORDER_WHENCE_FIRST, false);
	assert_seek(parse_one("LSET\n1\n"), 1, RMT_SEEK_SET, PROTO_SEEK_ORDER_WHENCE_FIRST, false);
	assert_seek(parse_one("LSEEK_CUR\r\n2\r\n"), 2, RMT_SEEK_CUR, PROTO_SEEK_ORDER_WHENCE_FIRST,
	            false);
	assert_seek(parse_one("L0\nSEEK_END\n"), 0, RMT_SEEK_END, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
	assert_seek(parse_one("L2\nSEEK_SET\n"), 2, RMT_SEEK_SET, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
	assert_seek(parse_one("LSEEK_DATA\n0\n"), 0, RMT_SEEK_DATA, PROTO_SEEK_ORDER_WHENCE_FIRST,
	            false);
	assert_seek(parse_one("L7\nHOLE\n"), 7, RMT_SEEK_HOLE, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
}

Test(proto, seek_qfa)
{
	/* DUMP's QFA: "L0\n10\n" asks for the tape position, "L<pos>\n11\n" goes there. */
	assert_seek(parse_one("L0\n10\n"), 0, RMT_SEEK_TAPE_POSITION, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
	assert_seek(parse_one("L123456\n11\n"), 123456, RMT_SEEK_TAPE_LOCATE,
	            PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	/* Whence-first clients only send 0..2: "L10\n0\n" can only be offset 10. */
	assert_seek(parse_one("L10\n0\n"), 10, RMT_SEEK_SET, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(parse_one("L3\n0\n"), 3, RMT_SEEK_SET, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(parse_one("L4\n1\n"), 4, RMT_SEEK_CUR, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(parse_one("L3\n4\n"), 3, RMT_SEEK_HOLE, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
}

Test(proto, seek_ambiguous_defaults_to_bsd_order)
{
	/* (d) */
	assert_seek(parse_one("L1\n2\n"), 1, RMT_SEEK_END, PROTO_SEEK_ORDER_OFFSET_FIRST, true);
	assert_seek(parse_one("L2\n1\n"), 2, RMT_SEEK_CUR, PROTO_SEEK_ORDER_OFFSET_FIRST, true);
	assert_seek(parse_one("L1\n3\n"), 1, RMT_SEEK_DATA, PROTO_SEEK_ORDER_OFFSET_FIRST, true);
	assert_seek(parse_one("L2\n11\n"), 2, RMT_SEEK_TAPE_LOCATE, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            true);
}

Test(proto, seek_ambiguous_follows_the_session_order)
{
	assert_seek(parse_seek_in("L1\n2\n", PROTO_SEEK_ORDER_WHENCE_FIRST), 2, RMT_SEEK_CUR,
	            PROTO_SEEK_ORDER_WHENCE_FIRST, true);
	assert_seek(parse_seek_in("L2\n1\n", PROTO_SEEK_ORDER_WHENCE_FIRST), 1, RMT_SEEK_END,
	            PROTO_SEEK_ORDER_WHENCE_FIRST, true);
	assert_seek(parse_seek_in("L2\n1\n", PROTO_SEEK_ORDER_OFFSET_FIRST), 2, RMT_SEEK_CUR,
	            PROTO_SEEK_ORDER_OFFSET_FIRST, true);
}

Test(proto, seek_session_order_does_not_override_clear_cases)
{
	assert_seek(parse_seek_in("L0\n1\n", PROTO_SEEK_ORDER_WHENCE_FIRST), 0, RMT_SEEK_CUR,
	            PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(parse_seek_in("L1\n0\n", PROTO_SEEK_ORDER_OFFSET_FIRST), 0, RMT_SEEK_CUR,
	            PROTO_SEEK_ORDER_WHENCE_FIRST, false);
	assert_seek(parse_seek_in("L50\n0\n", PROTO_SEEK_ORDER_WHENCE_FIRST), 50, RMT_SEEK_SET,
	            PROTO_SEEK_ORDER_OFFSET_FIRST, false);
}

Test(proto, seek_parser_remembers_orders_it_decided)
{
	/* A GNU-2023 client shows its order with a tell; the next ambiguous L follows it. */
	struct transcript *t = PARSE("L1\n0\nL1\n2\nL0\n0\nL2\n1\n");

	cr_assert_eq(t->count, 4);
	assert_seek(&t->requests[0], 0, RMT_SEEK_CUR, PROTO_SEEK_ORDER_WHENCE_FIRST, false);
	assert_seek(&t->requests[1], 2, RMT_SEEK_CUR, PROTO_SEEK_ORDER_WHENCE_FIRST, true);
	assert_seek(&t->requests[2], 0, RMT_SEEK_SET, PROTO_SEEK_ORDER_UNKNOWN, false);
	assert_seek(&t->requests[3], 1, RMT_SEEK_END, PROTO_SEEK_ORDER_WHENCE_FIRST, true);

	/* An offset-first client: restore's "L<n>\n1\n" skip. */
	t = PARSE("L10240\n1\nL2\n1\n");
	cr_assert_eq(t->count, 2);
	assert_seek(&t->requests[1], 2, RMT_SEEK_CUR, PROTO_SEEK_ORDER_OFFSET_FIRST, true);
}

Test(proto, seek_set_order_unknown_forgets)
{
	struct proto_parser parser;
	struct rmt_request request;
	enum proto_result result;

	proto_parser_init(&parser, NULL);
	proto_parser_set_seek_order(&parser, PROTO_SEEK_ORDER_WHENCE_FIRST);
	proto_parser_set_seek_order(&parser, PROTO_SEEK_ORDER_UNKNOWN);
	proto_parse(&parser, "L1\n2\n", 5, &request, &result);
	cr_assert_eq(result, PROTO_REQUEST);
	assert_seek(&request, 1, RMT_SEEK_END, PROTO_SEEK_ORDER_OFFSET_FIRST, true);
}

Test(proto, seek_64_bit_offsets)
{
	assert_seek(parse_one("L9223372036854775807\n0\n"), INT64_MAX, RMT_SEEK_SET,
	            PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(parse_one("L-9223372036854775808\n1\n"), INT64_MIN, RMT_SEEK_CUR,
	            PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(parse_one("L0\n-9223372036854775808\n"), INT64_MIN, RMT_SEEK_SET,
	            PROTO_SEEK_ORDER_WHENCE_FIRST, false);
	assert_seek(parse_one("L +5\n\t0\r\n"), 5, RMT_SEEK_SET, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
}

Test(proto, seek_malformed_consumes_both_lines)
{
	assert_seek_refused("L9223372036854775808\n0\n");
	assert_seek_refused("L-9223372036854775809\n0\n");
	assert_seek_refused("L99999999999999999999999\n1\n");
	assert_seek_refused("L5\n6\n");
	assert_seek_refused("L50\n60\n");
	assert_seek_refused("L\n\n");
	assert_seek_refused("L0\n\n");
	assert_seek_refused("L0\nx\n");
	assert_seek_refused("L0x\n0\n");
	assert_seek_refused("LSEEK_SET\nSEEK_CUR\n");
	assert_seek_refused("LSEEK_SET\nabc\n");
	assert_seek_refused("LSEEK_BOGUS\n0\n");
	assert_seek_refused("Lseek_set\n0\n");
	assert_seek_refused("L1 \n0\n");

	const struct rmt_request *r = parse_one("L5\n6\n");
	cr_assert_str_eq(r->error_text, "Invalid seek direction");
}

Test(proto, seek_refusal_is_not_remembered)
{
	struct transcript *t = PARSE("LSET\nx\nL1\n2\n");

	cr_assert_eq(t->count, 2);
	assert_seek(&t->requests[1], 1, RMT_SEEK_END, PROTO_SEEK_ORDER_OFFSET_FIRST, true);
}

Test(proto, seek_long_line_is_refused_in_step)
{
	char input[1024];
	size_t n = 0;

	input[n++] = 'L';
	memset(input + n, '1', 700);
	n += 700;
	memcpy(input + n, "\n0\nC\n", 5);
	n += 5;
	struct transcript *t = parse_bytes(input, n);

	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_SEEK, EINVAL);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, seek_cut_by_eof)
{
	/* Probe: "O…\n0\nL0" then EOF (GNU: SIGSEGV). */
	struct transcript *t = PARSE("O/tmp/x\n0\nL0");

	cr_assert_eq(t->count, 1);
	assert_ok(&t->requests[0], PROTO_OPEN);
	cr_assert(t->cut);
	t = PARSE("O/tmp/x\n0\nL0\n");
	cr_assert_eq(t->count, 1);
	cr_assert(t->cut);
}

/* ---------------------------------------------------------------- real transcripts */

static char *build_with_records(const char *const *parts, size_t part_count, size_t *length)
{
	/* A part "#<n>" stands for n data bytes (a record), everything else is literal. */
	size_t total = 0, n = 0;
	char *out;

	for (size_t i = 0; i < part_count; i++)
		total += parts[i][0] == '#' ? (size_t)atol(parts[i] + 1) : strlen(parts[i]);
	out = malloc(total + 1);
	cr_assert_not_null(out);
	for (size_t i = 0; i < part_count; i++) {
		if (parts[i][0] == '#') {
			size_t count = (size_t)atol(parts[i] + 1);

			/* Data full of command letters and newlines, to catch any peeking. */
			for (size_t j = 0; j < count; j++)
				out[n + j] = "OCLWRIS\n s0\r"[j % 12];
			n += count;
		} else {
			memcpy(out + n, parts[i], strlen(parts[i]));
			n += strlen(parts[i]);
		}
	}
	*length = n;
	return out;
}

Test(proto, transcript_tar_create)
{
	const char *const parts[] = {
	    "O/srv/rmtlab/x.tar\n65 O_WRONLY|O_CREAT\n",
	    "W10240\n",
	    "#10240",
	    "W10240\n",
	    "#10240",
	    "C\n",
	};
	size_t length;
	char *input = build_with_records(parts, 6, &length);
	struct transcript *t = parse_limited(input, length, 0, PROTO_SEEK_ORDER_UNKNOWN);

	cr_assert_eq(t->count, 4);
	assert_ok(&t->requests[0], PROTO_OPEN);
	cr_assert_str_eq(t->requests[0].path, "/srv/rmtlab/x.tar");
	cr_assert_eq(t->requests[0].open_flags, O_WRONLY | O_CREAT);
	assert_ok(&t->requests[1], PROTO_WRITE);
	cr_assert_eq(t->requests[1].data_length, 10240);
	assert_ok(&t->requests[2], PROTO_WRITE);
	assert_ok(&t->requests[3], PROTO_CLOSE);
	cr_assert_not(t->cut);
	cr_assert_eq(t->data_owed, 0);
}

Test(proto, transcript_tar_append_and_verify)
{
	/* tar -r (1.34): R, R, I4 1, the BSD-order tell, L0 0, W, C; then -W verify's I2 1. */
	const char *const parts[] = {
	    "O/srv/rmtlab/y.tar\n66 O_RDWR|O_CREAT\n",
	    "R10240\nR10240\nI4\n1\nL0\n1\nL0\n0\nW10240\n",
	    "#10240",
	    "I2\n1\nL0\n0\nR10240\nC\n",
	};
	size_t length;
	char *input = build_with_records(parts, 4, &length);
	struct transcript *t = parse_limited(input, length, 0, PROTO_SEEK_ORDER_UNKNOWN);

	cr_assert_eq(t->count, 11);
	assert_ok(&t->requests[0], PROTO_OPEN);
	cr_assert_eq(t->requests[0].open_flags, O_RDWR | O_CREAT);
	assert_ok(&t->requests[1], PROTO_READ);
	assert_ok(&t->requests[2], PROTO_READ);
	assert_ok(&t->requests[3], PROTO_IOCTL);
	cr_assert_eq(t->requests[3].ioctl_op, 4);
	assert_seek(&t->requests[4], 0, RMT_SEEK_CUR, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(&t->requests[5], 0, RMT_SEEK_SET, PROTO_SEEK_ORDER_UNKNOWN, false);
	assert_ok(&t->requests[6], PROTO_WRITE);
	assert_ok(&t->requests[7], PROTO_IOCTL);
	cr_assert_eq(t->requests[7].ioctl_op, 2);
	assert_seek(&t->requests[8], 0, RMT_SEEK_SET, PROTO_SEEK_ORDER_UNKNOWN, false);
	assert_ok(&t->requests[9], PROTO_READ);
	assert_ok(&t->requests[10], PROTO_CLOSE);
}

Test(proto, transcript_cpio)
{
	const char *const parts[] = {
	    "O/srv/rmtlab/c.cpio\n577 O_WRONLY|O_CREAT|O_TRUNC\n",
	    "W512\n",
	    "#512",
	    "W512\n",
	    "#512",
	    "C\nO/srv/rmtlab/c.cpio\n0 O_RDONLY\nR512\nR512\nC\n",
	};
	size_t length;
	char *input = build_with_records(parts, 6, &length);
	struct transcript *t = parse_bytes(input, length);

	cr_assert_eq(t->count, 8);
	cr_assert_eq(t->requests[0].open_flags, O_WRONLY | O_CREAT | O_TRUNC);
	cr_assert_eq(t->requests[0].open_flags_numeric, 577);
	cr_assert_eq(t->requests[4].open_flags, O_RDONLY);
	cr_assert(t->requests[4].open_flags_symbolic);
	assert_ok(&t->requests[7], PROTO_CLOSE);
}

Test(proto, transcript_dump_and_restore)
{
	const char *const parts[] = {
	    "O/srv/rmtlab/d.dump\n1 O_WRONLY|O_CREAT|O_TRUNC\n",
	    "W10240\n",
	    "#10240",
	    "W10240\n",
	    "#10240",
	    "W10240\n",
	    "#10240",
	    "C\nO/srv/rmtlab/d.dump\n0 O_RDONLY\nC\n",
	    "O/srv/rmtlab/d.dump\n0 O_RDONLY\nR32768\nI1\n4\nI3\n1\nL10240\n1\nL0\n10\n"
	    "L20480\n11\nS",
	    "C\n",
	};
	size_t length;
	char *input = build_with_records(parts, 10, &length);
	struct transcript *t = parse_limited(input, length, 0, PROTO_SEEK_ORDER_UNKNOWN);

	cr_assert_eq(t->count, 16);
	cr_assert_eq(t->requests[0].open_flags, O_WRONLY | O_CREAT | O_TRUNC);
	cr_assert_eq(t->requests[0].open_flags_numeric, 1);
	for (size_t i = 1; i <= 3; i++)
		assert_ok(&t->requests[i], PROTO_WRITE);
	assert_ok(&t->requests[4], PROTO_CLOSE);
	assert_ok(&t->requests[5], PROTO_OPEN);
	assert_ok(&t->requests[6], PROTO_CLOSE);
	assert_ok(&t->requests[7], PROTO_OPEN);
	cr_assert_eq(t->requests[8].length, 32768);
	cr_assert_eq(t->requests[9].ioctl_op, 1);
	cr_assert_eq(t->requests[9].ioctl_count, 4);
	assert_seek(&t->requests[11], 10240, RMT_SEEK_CUR, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(&t->requests[12], 0, RMT_SEEK_TAPE_POSITION, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
	assert_seek(&t->requests[13], 20480, RMT_SEEK_TAPE_LOCATE, PROTO_SEEK_ORDER_OFFSET_FIRST,
	            false);
	assert_ok(&t->requests[14], PROTO_STATUS);
	assert_ok(&t->requests[15], PROTO_CLOSE);
}

Test(proto, transcript_xfsdump)
{
	/* Numeric-only O, then V2 (must be answered A2), native ioctls, S without newline. */
	struct transcript *t = PARSE("O/dev/nst0\n1\nV2\nI6\n1\nSW4\nxfs!C\n");

	cr_assert_eq(t->count, 6);
	assert_ok(&t->requests[0], PROTO_OPEN);
	cr_assert_eq(t->requests[0].open_flags, O_WRONLY);
	cr_assert_not(t->requests[0].open_flags_symbolic);
	assert_ok(&t->requests[1], PROTO_VERSION_BSD);
	assert_ok(&t->requests[2], PROTO_IOCTL);
	assert_ok(&t->requests[3], PROTO_STATUS);
	assert_ok(&t->requests[4], PROTO_WRITE);
	assert_ok(&t->requests[5], PROTO_CLOSE);
}

Test(proto, transcript_bsd_dump)
{
	/* FreeBSD dump: numeric FreeBSD bits (1537 = O_WRONLY|O_CREAT|O_TRUNC there), "S\n". */
	struct transcript *t = PARSE("O/dev/nsa0\n1537\nS\nW3\nabcI5\n1\nC\n");

	cr_assert_eq(t->count, 5);
	cr_assert_eq(t->requests[0].open_flags, O_WRONLY);
	cr_assert_eq(t->requests[0].open_flags_numeric, 1537);
	assert_ok(&t->requests[1], PROTO_STATUS);
	assert_ok(&t->requests[2], PROTO_WRITE);
	assert_ok(&t->requests[3], PROTO_IOCTL);
	assert_ok(&t->requests[4], PROTO_CLOSE);
}

Test(proto, transcript_gnu_head)
{
	/* GNU-HEAD: whence-first L, "S\n". */
	struct transcript *t = PARSE("O/srv/x.tar\n66 O_RDWR|O_CREAT\nL1\n0\nS\nL0\n20480\n"
	                             "L2\n-512\nL1\n2\nC\n");

	cr_assert_eq(t->count, 7);
	assert_seek(&t->requests[1], 0, RMT_SEEK_CUR, PROTO_SEEK_ORDER_WHENCE_FIRST, false);
	assert_ok(&t->requests[2], PROTO_STATUS);
	assert_seek(&t->requests[3], 20480, RMT_SEEK_SET, PROTO_SEEK_ORDER_WHENCE_FIRST, false);
	assert_seek(&t->requests[4], -512, RMT_SEEK_END, PROTO_SEEK_ORDER_WHENCE_FIRST, false);
	assert_seek(&t->requests[5], 2, RMT_SEEK_CUR, PROTO_SEEK_ORDER_WHENCE_FIRST, true);
	assert_ok(&t->requests[6], PROTO_CLOSE);
}

Test(proto, transcript_mt_gnu)
{
	struct transcript *t = PARSE("O/dev/nst0\n0 O_RDONLY\nI8\n1\nSO/dev/nst0\n1 O_WRONLY\n"
	                             "I5\n3\nI13\n1\nI12\n1\n");

	cr_assert_eq(t->count, 7);
	assert_ok(&t->requests[2], PROTO_STATUS);
	cr_assert_eq(t->requests[3].open_flags, O_WRONLY);
	cr_assert_eq(t->requests[4].ioctl_count, 3);
	cr_assert_eq(t->requests[6].ioctl_op, 12);
}

/* ---------------------------------------------------------------- section 8 probes */

Test(proto, probe_open_numeric_577_is_masked)
{
	struct transcript *t = PARSE("O/x/new\n577\nC\n");

	cr_assert_eq(t->count, 2);
	assert_ok(&t->requests[0], PROTO_OPEN);
	cr_assert_eq(t->requests[0].open_flags, O_WRONLY, "577 must not create or truncate");
	cr_assert_eq(t->requests[0].open_flags_numeric, 577);
	cr_assert_not(t->requests[0].open_flags_symbolic);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, probe_open_symbolic_without_prefix)
{
	struct transcript *t = PARSE("O/x/n\nWRONLY|CREAT\nC\n");

	cr_assert_eq(t->count, 2);
	cr_assert_eq(t->requests[0].open_flags, O_WRONLY | O_CREAT);
}

Test(proto, probe_open_bogus_flag)
{
	struct transcript *t = PARSE("O/x/n\n1 O_WRONLY|O_CREAT|O_BOGUS\nC\n");

	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_OPEN, EINVAL);
	cr_assert_str_eq(t->requests[0].error_text, "invalid open flag");
	cr_assert_str_eq(t->requests[0].path, "/x/n", "a valid path is kept for the log");
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

Test(proto, probe_version_query_after_open)
{
	struct transcript *t = PARSE("O/x/f\n0\nI-1\n0\n");

	cr_assert_eq(t->count, 2);
	cr_assert_eq(t->requests[1].ioctl_op, -1);
}

Test(proto, probe_version_letters_after_open)
{
	struct transcript *t = PARSE("O/x/f\n0\nV\nv\nX\nC\n");

	cr_assert_eq(t->count, 5);
	assert_ok(&t->requests[1], PROTO_VERSION_BSD);
	assert_ok(&t->requests[2], PROTO_VERSION_SCHILY);
	assert_error(&t->requests[3], PROTO_GARBAGE, EINVAL);
	assert_ok(&t->requests[4], PROTO_CLOSE);
}

Test(proto, probe_write_zero)
{
	const struct rmt_request *r = parse_one("W0\n");

	assert_ok(r, PROTO_WRITE);
	cr_assert_eq(r->data_length, 0);
}

Test(proto, probe_read_twice)
{
	struct transcript *t = PARSE("R100\nR100\n");

	cr_assert_eq(t->count, 2);
	cr_assert_eq(t->requests[1].length, 100);
}

Test(proto, probe_read_r99999999999999)
{
	struct transcript *t = parse_limited("R99999999999999\n", 16, 0, PROTO_SEEK_ORDER_UNKNOWN);

	cr_assert_eq(t->count, 1);
	assert_error(&t->requests[0], PROTO_READ, ENOMEM);
	cr_assert_eq(t->requests[0].length, 99999999999999ULL);
}

Test(proto, probe_seek_at_offset_50)
{
	struct transcript *t = PARSE("L50\n0\nL0\n1\n");

	cr_assert_eq(t->count, 2);
	assert_seek(&t->requests[0], 50, RMT_SEEK_SET, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
	assert_seek(&t->requests[1], 0, RMT_SEEK_CUR, PROTO_SEEK_ORDER_OFFSET_FIRST, false);
}

Test(proto, probe_ioctls_on_fake_tape)
{
	struct transcript *t = PARSE("I6\n1\nI1\n-3\nI-1\n0\nI5\n1\nI0\n1\nI7\n1\nI8\n1\nI10\n1\n"
	                             "I11\n1\ni0\n1\ni1\n1\ni2\n1\ni3\n1\ni4\n1\ni5\n1\ni6\n1\n");
	const int ops[] = {6, 1, -1, 5, 0, 7, 8, 10, 11};

	cr_assert_eq(t->count, 16);
	for (size_t i = 0; i < 9; i++) {
		assert_ok(&t->requests[i], PROTO_IOCTL);
		cr_assert_eq(t->requests[i].ioctl_op, ops[i]);
	}
	cr_assert_eq(t->requests[1].ioctl_count, -3);
	for (size_t i = 9; i < 16; i++) {
		assert_ok(&t->requests[i], PROTO_IOCTL_EXTENDED);
		cr_assert_eq(t->requests[i].ioctl_op, (int)(i - 9));
	}
}

Test(proto, probe_open_close_open_close)
{
	struct transcript *t = PARSE("O/x/f\n0\nC\nO/x/f\n0\nC\n");

	cr_assert_eq(t->count, 4, "C must not end the parse");
	assert_ok(&t->requests[2], PROTO_OPEN);
	assert_ok(&t->requests[3], PROTO_CLOSE);
}

Test(proto, probe_login_shell_style_command_is_garbage)
{
	/* "-c /etc/rmt" belongs in argv; on the wire it is one garbage line. */
	struct transcript *t = PARSE("-c /etc/rmt\nC\n");

	cr_assert_eq(t->count, 2);
	assert_error(&t->requests[0], PROTO_GARBAGE, EINVAL);
	assert_ok(&t->requests[1], PROTO_CLOSE);
}

/* ---------------------------------------------------------------- split equivalence */

Test(proto, every_split_point_of_a_mixed_stream)
{
	/* Two pieces, cut at every position, against the whole buffer. */
	static const char input[] = "\nO/dev/nst0\n577 O_WRONLY|O_CREAT|O_TRUNC\nI-1\n0\nsTS\n"
	                            "W5\nab\ncdL0\n1\nLSEEK_END\n-10\nR 2\nX junk\ni4\n1\nV2\n"
	                            "v\nO/a\0b\nO_BOGUS\nW-1\nL1\n2\nC\n";
	size_t len = sizeof(input) - 1;
	struct transcript *whole = calloc(1, sizeof(*whole));
	struct transcript *split = calloc(1, sizeof(*split));
	struct proto_limits limits = {.max_record = TEST_MAX_RECORD};

	cr_assert_not_null(whole);
	cr_assert_not_null(split);
	parse_with(input, len, &limits, PROTO_SEEK_ORDER_UNKNOWN, SPLIT_WHOLE, 0, whole);
	cr_assert_eq(whole->count, 16);
	for (size_t cut = 1; cut < len; cut++) {
		/* Feed [0,cut) then [cut,len) through one parser. */
		struct proto_parser parser;
		size_t count = 0, pos = 0;
		uint64_t owed = 0;

		proto_parser_init(&parser, &limits);
		while (pos < len) {
			size_t end = pos < cut ? cut : len;
			enum proto_result result;

			if (owed > 0) {
				size_t take = end - pos < owed ? end - pos : (size_t)owed;

				owed -= take;
				pos += take;
				continue;
			}
			pos += proto_parse(&parser, input + pos, end - pos, &split->requests[count],
			                   &result);
			if (result == PROTO_REQUEST) {
				const struct rmt_request *r = &split->requests[count];

				if (r->command == PROTO_WRITE)
					owed = r->data_length;
				assert_same_request(r, &whole->requests[count], count);
				count++;
			}
		}
		cr_assert_eq(count, whole->count, "cut at %zu", cut);
	}
}
