/*
 * fuzz_proto.c - libFuzzer target for the rmt request parser (rmtd/proto.c).
 *
 * The input is a client's byte stream. It is parsed three times: whole, one byte
 * per call, and in pieces whose sizes come from a hash of the input (these two
 * by the uninstrumented copy in proto_plain.c, for speed); W data is swallowed
 * the way the session does. Every request must satisfy the parser's contract,
 * and the three runs must give identical requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "rmt/protocol.h"
#include "fuzz_common.h"

#define MAX_SUMMARIES 4096

/*
 * The harness's own loops and comparisons are not worth coverage feedback, and
 * tracing them (one compare per byte in the byte-by-byte run) costs most of the time.
 */
#if defined(__clang__) && __clang_major__ >= 13
#define HARNESS __attribute__((no_sanitize("coverage")))
#else
#define HARNESS
#endif

/* What a run keeps of each request to compare runs (the path as a hash). */
struct summary {
	enum proto_command command;
	char letter;
	int error;
	const char *error_text;
	uint64_t path_hash;
	size_t path_length;
	int open_flags;
	bool open_flags_symbolic;
	int open_flags_numeric;
	int64_t offset;
	int whence;
	enum proto_seek_order seek_order;
	bool seek_order_ambiguous;
	int ioctl_op;
	int ioctl_count;
	uint64_t length;
	uint64_t data_length;
	char status_letter;
};

struct run {
	struct summary summaries[MAX_SUMMARIES];
	size_t count; /* requests seen, may exceed MAX_SUMMARIES */
	bool cut;
	uint64_t owed;
};

static struct run runs[3];
static struct rmt_request request;

HARNESS static uint64_t hash_bytes(const void *bytes, size_t length)
{
	const unsigned char *p = bytes;
	uint64_t hash = 1469598103934665603ULL;

	for (size_t i = 0; i < length; i++)
		hash = (hash ^ p[i]) * 1099511628211ULL;
	return hash;
}

HARNESS static void check_request(const struct rmt_request *r, uint64_t max_record)
{
	const char *end = memchr(r->path, '\0', sizeof(r->path));

	REQUIRE(end != NULL);
	REQUIRE(memchr(r->path, '\0', sizeof(r->path)) == end);
	REQUIRE(r->command >= PROTO_OPEN && r->command <= PROTO_GARBAGE);
	REQUIRE((r->error == 0) == (r->error_text == NULL));
	if (r->error != 0) {
		REQUIRE(r->error == EINVAL || r->error == ENOMEM || r->error == ENAMETOOLONG);
		REQUIRE(strlen(r->error_text) > 0 && strlen(r->error_text) < 70);
		REQUIRE(strchr(r->error_text, '\n') == NULL);
	}
	if (r->command != PROTO_OPEN)
		REQUIRE(r->path[0] == '\0');
	if (r->command != PROTO_OPEN || r->error != 0)
		REQUIRE(r->open_flags == 0 && !r->open_flags_symbolic);
	if (r->error == ENAMETOOLONG || (r->command == PROTO_OPEN && r->error == EINVAL &&
	                                 strcmp(r->error_text, "Invalid file name") == 0))
		REQUIRE(r->path[0] == '\0');
	if (r->command == PROTO_OPEN && r->error == 0 && !r->open_flags_symbolic)
		REQUIRE(r->open_flags == (r->open_flags_numeric & O_ACCMODE));
	if (r->command == PROTO_OPEN)
		REQUIRE(r->open_flags_numeric >= 0);
	if (r->command == PROTO_SEEK && r->error == 0) {
		REQUIRE((r->whence >= 0 && r->whence <= 4) || r->whence == 10 || r->whence == 11);
		/* Whence-first clients (GNU) never send QFA's 10/11. */
		if (r->seek_order == PROTO_SEEK_ORDER_WHENCE_FIRST)
			REQUIRE(r->whence <= 4);
	}
	REQUIRE(r->seek_order >= PROTO_SEEK_ORDER_UNKNOWN &&
	        r->seek_order <= PROTO_SEEK_ORDER_WHENCE_FIRST);
	if (r->seek_order_ambiguous)
		REQUIRE(r->command == PROTO_SEEK && r->seek_order != PROTO_SEEK_ORDER_UNKNOWN);
	if (r->command == PROTO_SEEK && r->error != 0)
		REQUIRE(r->seek_order == PROTO_SEEK_ORDER_UNKNOWN && !r->seek_order_ambiguous);
	if (r->command != PROTO_WRITE)
		REQUIRE(r->data_length == 0);
	if (r->command == PROTO_WRITE && r->error == 0)
		REQUIRE(r->length == r->data_length && r->length <= max_record);
	if (r->command == PROTO_WRITE && r->error == EINVAL)
		REQUIRE(r->data_length == 0);
	if (r->command == PROTO_READ && r->error == 0)
		REQUIRE(r->length <= max_record);
	if (r->error == ENOMEM)
		REQUIRE((r->command == PROTO_WRITE || r->command == PROTO_READ) &&
		        r->length > max_record);
	if (r->command != PROTO_STATUS_FIELD)
		REQUIRE(r->status_letter == '\0');
	if (r->command == PROTO_GARBAGE)
		REQUIRE(r->error == EINVAL);
	if (r->command != PROTO_IOCTL && r->command != PROTO_IOCTL_EXTENDED)
		REQUIRE(r->ioctl_op == 0 && r->ioctl_count == 0);
}

HARNESS static void summarize(const struct rmt_request *r, struct summary *s)
{
	s->command = r->command;
	s->letter = r->letter;
	s->error = r->error;
	s->error_text = r->error_text;
	s->path_length = strlen(r->path);
	s->path_hash = hash_bytes(r->path, s->path_length);
	s->open_flags = r->open_flags;
	s->open_flags_symbolic = r->open_flags_symbolic;
	s->open_flags_numeric = r->open_flags_numeric;
	s->offset = r->offset;
	s->whence = r->whence;
	s->seek_order = r->seek_order;
	s->seek_order_ambiguous = r->seek_order_ambiguous;
	s->ioctl_op = r->ioctl_op;
	s->ioctl_count = r->ioctl_count;
	s->length = r->length;
	s->data_length = r->data_length;
	s->status_letter = r->status_letter;
}

/* The texts, not their addresses: the plain copy of the parser has its own. */
HARNESS static bool same_text(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

HARNESS static bool same_summary(const struct summary *a, const struct summary *b)
{
	return a->command == b->command && a->letter == b->letter && a->error == b->error &&
	       same_text(a->error_text, b->error_text) && a->path_hash == b->path_hash &&
	       a->path_length == b->path_length && a->open_flags == b->open_flags &&
	       a->open_flags_symbolic == b->open_flags_symbolic &&
	       a->open_flags_numeric == b->open_flags_numeric && a->offset == b->offset &&
	       a->whence == b->whence && a->seek_order == b->seek_order &&
	       a->seek_order_ambiguous == b->seek_order_ambiguous && a->ioctl_op == b->ioctl_op &&
	       a->ioctl_count == b->ioctl_count && a->length == b->length &&
	       a->data_length == b->data_length && a->status_letter == b->status_letter;
}

enum split {
	SPLIT_WHOLE,
	SPLIT_BYTES,
	SPLIT_HASHED,
};

/* The parser's entry points: the instrumented one, or its plain copy (proto_plain.c). */
struct parser_ops {
	void (*init)(struct proto_parser *parser, const struct proto_limits *limits);
	void (*set_seek_order)(struct proto_parser *parser, enum proto_seek_order order);
	size_t (*parse)(struct proto_parser *parser, const void *bytes, size_t len,
	                struct rmt_request *request, enum proto_result *result);
	bool (*in_request)(const struct proto_parser *parser);
};

void proto_plain_parser_init(struct proto_parser *parser, const struct proto_limits *limits);
void proto_plain_parser_set_seek_order(struct proto_parser *parser, enum proto_seek_order order);
size_t proto_plain_parse(struct proto_parser *parser, const void *bytes, size_t len,
                         struct rmt_request *request, enum proto_result *result);
bool proto_plain_parser_in_request(const struct proto_parser *parser);

static const struct parser_ops instrumented = {proto_parser_init, proto_parser_set_seek_order,
                                               proto_parse, proto_parser_in_request};
/*
 * The split runs are the oracle, the whole run the explorer: they run the same
 * code on the same bytes, and tracing every compare of their many small calls
 * cost most of the target's time.
 */
static const struct parser_ops plain = {proto_plain_parser_init, proto_plain_parser_set_seek_order,
                                        proto_plain_parse, proto_plain_parser_in_request};

HARNESS static size_t piece_size(enum split split, uint64_t *state, size_t remaining)
{
	uint64_t x;

	if (split == SPLIT_WHOLE)
		return remaining;
	if (split == SPLIT_BYTES)
		return 1;
	/* xorshift64: mostly small pieces, now and then a large one. */
	x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	if ((x & 15) == 0)
		return 1 + (size_t)((x >> 8) % 4096);
	return 1 + (size_t)((x >> 8) % 7);
}

HARNESS static void parse_run(const uint8_t *data, size_t size, const struct proto_limits *limits,
                              enum proto_seek_order order, enum split split, uint64_t seed,
                              struct run *run)
{
	struct proto_parser parser;
	size_t pos = 0;
	uint64_t owed = 0, state = seed | 1;
	uint64_t max_record = limits->max_record != 0 ? limits->max_record : RMT_MAX_RECORD_DEFAULT;
	const struct parser_ops *ops = split == SPLIT_WHOLE ? &instrumented : &plain;

	ops->init(&parser, limits);
	ops->set_seek_order(&parser, order);
	run->count = 0;
	while (pos < size) {
		size_t piece = piece_size(split, &state, size - pos);
		size_t off = 0;

		if (piece > size - pos)
			piece = size - pos;
		while (off < piece) {
			enum proto_result result;
			size_t used;

			if (owed > 0) {
				size_t take = piece - off < owed ? piece - off : (size_t)owed;

				owed -= take;
				off += take;
				continue;
			}
			used =
			    ops->parse(&parser, data + pos + off, piece - off, &request, &result);
			REQUIRE(used > 0);
			REQUIRE(used <= piece - off);
			off += used;
			if (result == PROTO_NEED_MORE) {
				REQUIRE(off == piece);
				continue;
			}
			REQUIRE(result == PROTO_REQUEST);
			REQUIRE(!ops->in_request(&parser));
			check_request(&request, max_record);
			if (run->count < MAX_SUMMARIES)
				summarize(&request, &run->summaries[run->count]);
			run->count++;
			if (request.command == PROTO_WRITE)
				owed = request.data_length;
		}
		pos += piece;
	}
	run->cut = ops->in_request(&parser);
	run->owed = owed;
}

HARNESS int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t limits_choice[] = {0, 10240, 65536, 1};
	uint64_t hash = hash_bytes(data, size);
	struct proto_limits limits = {.max_record = limits_choice[hash % 4]};
	enum proto_seek_order order = (enum proto_seek_order)((hash >> 2) % 3);

	parse_run(data, size, &limits, order, SPLIT_WHOLE, 0, &runs[0]);
	parse_run(data, size, &limits, order, SPLIT_BYTES, 0, &runs[1]);
	parse_run(data, size, &limits, order, SPLIT_HASHED, hash, &runs[2]);
	for (int r = 1; r < 3; r++) {
		size_t compared = runs[0].count < MAX_SUMMARIES ? runs[0].count : MAX_SUMMARIES;

		REQUIRE(runs[r].count == runs[0].count);
		REQUIRE(runs[r].cut == runs[0].cut);
		REQUIRE(runs[r].owed == runs[0].owed);
		for (size_t i = 0; i < compared; i++)
			REQUIRE(same_summary(&runs[r].summaries[i], &runs[0].summaries[i]));
	}
	return 0;
}
