/*
 * proto.c - the incremental rmt request parser (see proto.h for the contract).
 *
 * A byte-level state machine in the BSD style: the command letter, then its
 * argument lines, each collected into a bounded buffer (or only counted when its
 * content does not matter). A request is judged only once all of it has been
 * read, so a malformed one costs an error reply, never the stream's step.
 * Pure: no I/O, no allocation, no global state; safe to use from any thread.
 */
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "number.h"
#include "rmt/protocol.h"

enum parser_state {
	STATE_LETTER,        /* at command-letter position */
	STATE_STATUS_LETTER, /* after 's': the next byte is the sub-command */
	STATE_LINE,          /* inside argument line number lines_done */
};

/* Error texts: short constants, one line each. */
static const char text_garbage[] = "Garbage command";
static const char text_path_too_long[] = "File name too long";
static const char text_path_nul[] = "Invalid file name";
static const char text_flags_missing[] = "Missing open flags";
static const char text_flags_invalid[] = "Invalid open flags";
static const char text_flag_unknown[] = "invalid open flag";
static const char text_count_invalid[] = "Invalid byte count";
static const char text_count_too_large[] = "Byte count over the record size limit";
static const char text_seek_whence[] = "Invalid seek direction";
static const char text_seek_offset[] = "Invalid seek offset";
static const char text_ioctl_op[] = "Invalid operation code";
static const char text_ioctl_count[] = "Invalid operation count";

/* ---------------------------------------------------------------- numbers */

enum number_status {
	NUMBER_OK,
	NUMBER_INVALID,  /* not strict decimal */
	NUMBER_OVERFLOW, /* more than 64 bits of magnitude */
};

struct decimal {
	bool negative;
	uint64_t magnitude;
};

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Drop one trailing '\r', so that CRLF clients (and hand-typed tests) work. */
static size_t strip_carriage_return(const char *text, size_t length)
{
	if (length > 0 && text[length - 1] == '\r')
		return length - 1;
	return length;
}

static size_t skip_blanks(const char *text, size_t length, size_t pos)
{
	while (pos < length && is_blank((unsigned char)text[pos]))
		pos++;
	return pos;
}

/*
 * Strict decimal: [blanks] [+|-] digits ['\r'], nothing else. The magnitude is
 * checked against 64-bit overflow; callers check their own range.
 */
static enum number_status parse_decimal(const char *text, size_t length, struct decimal *out)
{
	size_t pos;
	int error;

	length = strip_carriage_return(text, length);
	pos = skip_blanks(text, length, 0);
	out->negative = false;
	if (pos < length && (text[pos] == '+' || text[pos] == '-')) {
		out->negative = text[pos] == '-';
		pos++;
	}
	error = decimal_parse_u64(text + pos, length - pos, &out->magnitude);
	if (error == -ERANGE)
		return NUMBER_OVERFLOW;
	return error == 0 ? NUMBER_OK : NUMBER_INVALID;
}

/* A signed value within [minimum, maximum]; false if malformed or out of range. */
static bool parse_signed(const char *text, size_t length, int64_t minimum, int64_t maximum,
                         int64_t *out)
{
	struct decimal number;
	int64_t value;

	if (parse_decimal(text, length, &number) != NUMBER_OK)
		return false;
	if (number.negative) {
		/* -(INT64_MIN) does not fit; compare magnitudes in unsigned arithmetic. */
		if (number.magnitude > (uint64_t)INT64_MAX + 1)
			return false;
		value = number.magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN
		                                                    : -(int64_t)number.magnitude;
	} else {
		if (number.magnitude > (uint64_t)INT64_MAX)
			return false;
		value = (int64_t)number.magnitude;
	}
	if (value < minimum || value > maximum)
		return false;
	*out = value;
	return true;
}

/* ---------------------------------------------------------------- requests */

/* Every field of a finished request gets a defined value, whatever came before. */
static void request_begin(struct rmt_request *request, enum proto_command command, char letter)
{
	request->command = command;
	request->letter = letter;
	request->error = 0;
	request->error_text = NULL;
	request->path[0] = '\0';
	request->open_flags = 0;
	request->open_flags_symbolic = false;
	request->open_flags_numeric = 0;
	request->offset = 0;
	request->whence = 0;
	request->seek_order = PROTO_SEEK_ORDER_UNKNOWN;
	request->seek_order_ambiguous = false;
	request->ioctl_op = 0;
	request->ioctl_count = 0;
	request->length = 0;
	request->data_length = 0;
	request->status_letter = '\0';
}

static void request_fail(struct rmt_request *request, int error, const char *text)
{
	/* The first problem found is the one reported. */
	if (request->error != 0)
		return;
	request->error = error;
	request->error_text = text;
}

/* ---------------------------------------------------------------- O flags */

struct open_flag_name {
	const char *name;
	int value;
};

/* The union of every server's names (doc/protocol.md 2.1); TEXT, BINARY, PRIV, LARGEFILE
 * mean nothing. */
static const struct open_flag_name open_flag_names[] = {
    {"RDONLY", O_RDONLY}, {"WRONLY", O_WRONLY}, {"RDWR", O_RDWR},
    {"CREAT", O_CREAT},   {"EXCL", O_EXCL},     {"NOCTTY", O_NOCTTY},
    {"TRUNC", O_TRUNC},   {"APPEND", O_APPEND}, {"NONBLOCK", O_NONBLOCK},
    {"NDELAY", O_NDELAY}, {"SYNC", O_SYNC},     {"FSYNC", O_FSYNC},
    {"DSYNC", O_DSYNC},   {"RSYNC", O_RSYNC},   {"ASYNC", O_ASYNC},
    {"LARGEFILE", 0},     {"TEXT", 0},          {"BINARY", 0},
    {"PRIV", 0},
};

static bool is_name_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_';
}

static bool lookup_open_flag(const char *name, size_t length, int *value)
{
	if (length > 2 && name[0] == 'O' && name[1] == '_') {
		name += 2;
		length -= 2;
	}
	for (size_t i = 0; i < sizeof(open_flag_names) / sizeof(open_flag_names[0]); i++) {
		if (strlen(open_flag_names[i].name) == length &&
		    memcmp(open_flag_names[i].name, name, length) == 0) {
			*value = open_flag_names[i].value;
			return true;
		}
	}
	return false;
}

/* Digits only, into a non-negative int; pos is advanced past them. */
static bool parse_flag_number(const char *text, size_t length, size_t *pos, int *value)
{
	uint64_t result;
	size_t start = *pos;

	while (*pos < length && is_digit((unsigned char)text[*pos]))
		(*pos)++;
	if (decimal_parse_u64(text + start, *pos - start, &result) < 0 || result > INT_MAX)
		return false;
	*value = (int)result;
	return true;
}

/*
 * The flags line: "<number>", "<number> <list>", or "<list>", where list is
 * item ('|' item)*, an item a name (O_ optional) or a number, blanks allowed
 * around '|'. A list, when present, wins; a number alone is masked to O_ACCMODE.
 */
static void parse_open_flags(const char *text, size_t length, struct rmt_request *request)
{
	size_t pos;
	int mode = 0;

	length = strip_carriage_return(text, length);
	pos = skip_blanks(text, length, 0);
	if (pos == length) {
		request_fail(request, EINVAL, text_flags_missing);
		return;
	}
	if (is_digit((unsigned char)text[pos])) {
		int number;
		size_t after;

		if (!parse_flag_number(text, length, &pos, &number)) {
			request_fail(request, EINVAL, text_flags_invalid);
			return;
		}
		request->open_flags_numeric = number;
		after = skip_blanks(text, length, pos);
		if (after == length) {
			request->open_flags = number & O_ACCMODE;
			return;
		}
		if (text[after] == '|') {
			/* "64|512": the number is the list's first item. */
			mode = number;
			pos = after + 1;
		} else if (after == pos) {
			/* "12abc": a number must be followed by a blank or '|'. */
			request_fail(request, EINVAL, text_flags_invalid);
			return;
		} else {
			pos = after;
		}
	}
	for (;;) {
		int value;

		pos = skip_blanks(text, length, pos);
		if (pos == length) {
			request_fail(request, EINVAL, text_flags_invalid); /* empty item */
			return;
		}
		if (is_digit((unsigned char)text[pos])) {
			if (!parse_flag_number(text, length, &pos, &value)) {
				request_fail(request, EINVAL, text_flags_invalid);
				return;
			}
		} else if (is_name_byte((unsigned char)text[pos])) {
			size_t start = pos;

			while (pos < length && is_name_byte((unsigned char)text[pos]))
				pos++;
			if (!lookup_open_flag(text + start, pos - start, &value)) {
				request_fail(request, EINVAL, text_flag_unknown);
				return;
			}
		} else {
			request_fail(request, EINVAL, text_flags_invalid);
			return;
		}
		mode |= value;
		pos = skip_blanks(text, length, pos);
		if (pos == length)
			break;
		if (text[pos] != '|') {
			request_fail(request, EINVAL, text_flags_invalid);
			return;
		}
		pos++;
	}
	request->open_flags = mode;
	request->open_flags_symbolic = true;
}

/* ---------------------------------------------------------------- L */

/*
 * An L line is a symbolic whence or a signed 64-bit number. Which numbers can be
 * a whence depends on the order: offset-first clients (BSD, DUMP, SCHILY, SUN)
 * send 0..4 and DUMP's QFA 10/11, whence-first clients (GNU rtapelib since 2023)
 * only 0..2, which is all the GNU server they follow accepts. So "L10\n0\n" can
 * only be offset 10 from SEEK_SET.
 */
struct seek_line {
	bool symbolic; /* SET, CUR, END, DATA, HOLE, with or without SEEK_ */
	bool number;   /* a valid signed 64-bit decimal */
	int64_t value; /* the whence when symbolic, else the number */
};

static bool is_offset_first_whence(int64_t value)
{
	return (value >= RMT_SEEK_SET && value <= RMT_SEEK_HOLE) ||
	       value == RMT_SEEK_TAPE_POSITION || value == RMT_SEEK_TAPE_LOCATE;
}

static bool is_whence_first_whence(int64_t value)
{
	return value >= RMT_SEEK_SET && value <= RMT_SEEK_END;
}

static bool parse_symbolic_whence(const char *text, size_t length, int64_t *whence)
{
	static const struct {
		const char *name;
		size_t length;
		int value;
	} names[] = {
	    {"SET", 3, RMT_SEEK_SET},   {"CUR", 3, RMT_SEEK_CUR},   {"END", 3, RMT_SEEK_END},
	    {"DATA", 4, RMT_SEEK_DATA}, {"HOLE", 4, RMT_SEEK_HOLE},
	};
	size_t pos;

	length = strip_carriage_return(text, length);
	pos = skip_blanks(text, length, 0);
	text += pos;
	length -= pos;
	/* Every L has two lines, nearly always numbers: they are told apart at once. */
	if (length == 0 || text[0] < 'A' || text[0] > 'Z')
		return false;
	if (length > 5 && memcmp(text, "SEEK_", 5) == 0) {
		text += 5;
		length -= 5;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].length == length && memcmp(names[i].name, text, length) == 0) {
			*whence = names[i].value;
			return true;
		}
	}
	return false;
}

static void classify_seek_line(const char *text, size_t length, bool overflowed,
                               struct seek_line *line)
{
	line->symbolic = false;
	line->number = false;
	line->value = 0;
	if (overflowed)
		return;
	if (parse_symbolic_whence(text, length, &line->value)) {
		line->symbolic = true;
		return;
	}
	line->number = parse_signed(text, length, INT64_MIN, INT64_MAX, &line->value);
}

static void seek_take(struct rmt_request *request, int64_t offset, int64_t whence,
                      enum proto_seek_order order)
{
	request->offset = offset;
	request->whence = (int)whence;
	request->seek_order = order;
}

/*
 * The rules of doc/protocol.md 2.3, with both lines read: (a) a symbolic line is
 * the whence; (b) if only one reading gives a valid whence, take it; (c) if both
 * do and differ, take the one whose offset is 0 (a tell); (d) otherwise the
 * session's order, else BSD's, flagged as ambiguous. Orders settled by (a) to (c)
 * are remembered for (d).
 */
static void parse_seek(struct proto_parser *parser, struct rmt_request *request)
{
	struct seek_line first, second;
	bool offset_first, whence_first;

	classify_seek_line(parser->lines[0], parser->lengths[0], parser->overflowed[0], &first);
	classify_seek_line(parser->lines[1], parser->lengths[1], parser->overflowed[1], &second);

	if (first.symbolic && second.symbolic) {
		request_fail(request, EINVAL, text_seek_whence);
		return;
	}
	if (first.symbolic || second.symbolic) {
		if (!(first.symbolic ? second.number : first.number)) {
			request_fail(request, EINVAL, text_seek_offset);
			return;
		}
		if (first.symbolic)
			seek_take(request, second.value, first.value,
			          PROTO_SEEK_ORDER_WHENCE_FIRST);
		else
			seek_take(request, first.value, second.value,
			          PROTO_SEEK_ORDER_OFFSET_FIRST);
	} else {
		if (!first.number || !second.number) {
			request_fail(request, EINVAL, text_seek_offset);
			return;
		}
		offset_first = is_offset_first_whence(second.value);
		whence_first = is_whence_first_whence(first.value);
		if (!offset_first && !whence_first) {
			request_fail(request, EINVAL, text_seek_whence);
			return;
		}
		if (offset_first && whence_first && first.value == second.value) {
			/* Both readings are the same lseek; the order is not shown. */
			seek_take(request, first.value, second.value, PROTO_SEEK_ORDER_UNKNOWN);
			return;
		}
		if (offset_first && whence_first && first.value != 0 && second.value != 0) {
			/* (d): undecidable. Not remembered, so one guess cannot feed the next. */
			if (parser->seek_order == PROTO_SEEK_ORDER_WHENCE_FIRST)
				seek_take(request, second.value, first.value,
				          PROTO_SEEK_ORDER_WHENCE_FIRST);
			else
				seek_take(request, first.value, second.value,
				          PROTO_SEEK_ORDER_OFFSET_FIRST);
			request->seek_order_ambiguous = true;
			return;
		}
		/* (b), or (c): the reading that is valid, or whose offset is 0. */
		if (offset_first && (!whence_first || first.value == 0))
			seek_take(request, first.value, second.value,
			          PROTO_SEEK_ORDER_OFFSET_FIRST);
		else
			seek_take(request, second.value, first.value,
			          PROTO_SEEK_ORDER_WHENCE_FIRST);
	}
	parser->seek_order = request->seek_order;
}

/* ---------------------------------------------------------------- other commands */

/* R and W counts: unsigned, at most limits.max_record. */
static void parse_count(struct proto_parser *parser, struct rmt_request *request)
{
	struct decimal number;
	enum number_status status = NUMBER_INVALID;

	if (!parser->overflowed[0])
		status = parse_decimal(parser->lines[0], parser->lengths[0], &number);
	if (status == NUMBER_INVALID || number.negative) {
		/* How many data bytes follow cannot be known: none are swallowed. */
		request_fail(request, EINVAL, text_count_invalid);
		return;
	}
	if (status == NUMBER_OVERFLOW) {
		/* More than 2^64 bytes announced: everything after is the client's data. */
		request->length = UINT64_MAX;
		if (request->command == PROTO_WRITE)
			request->data_length = UINT64_MAX;
		request_fail(request, ENOMEM, text_count_too_large);
		return;
	}
	request->length = number.magnitude;
	if (request->command == PROTO_WRITE)
		request->data_length = number.magnitude;
	if (number.magnitude > parser->limits.max_record)
		request_fail(request, ENOMEM, text_count_too_large);
}

static void parse_ioctl(struct proto_parser *parser, struct rmt_request *request)
{
	int64_t op, count;

	if (parser->overflowed[0] ||
	    !parse_signed(parser->lines[0], parser->lengths[0], INT_MIN, INT_MAX, &op)) {
		request_fail(request, EINVAL, text_ioctl_op);
		return;
	}
	if (parser->overflowed[1] ||
	    !parse_signed(parser->lines[1], parser->lengths[1], INT_MIN, INT_MAX, &count)) {
		request_fail(request, EINVAL, text_ioctl_count);
		return;
	}
	request->ioctl_op = (int)op;
	request->ioctl_count = (int)count;
}

static void parse_open(struct proto_parser *parser, struct rmt_request *request)
{
	/* A NUL means it is no path at all, so that verdict comes before the length. */
	if (parser->path_error_nul)
		request_fail(request, EINVAL, text_path_nul);
	else if (parser->path_error_too_long)
		request_fail(request, ENAMETOOLONG, text_path_too_long);
	else
		memcpy(request->path, parser->path, parser->lengths[0] + 1);
	/* The flags are judged even after a bad path, so both lines are always read. */
	if (parser->overflowed[1])
		request_fail(request, EINVAL, text_flags_invalid);
	else
		parse_open_flags(parser->lines[1], parser->lengths[1], request);
	if (request->error != 0) {
		request->open_flags = 0;
		request->open_flags_symbolic = false;
	}
}

/* ---------------------------------------------------------------- the machine */

static enum proto_command command_of(char letter)
{
	switch (letter) {
	case RMT_CMD_OPEN:
		return PROTO_OPEN;
	case RMT_CMD_CLOSE:
		return PROTO_CLOSE;
	case RMT_CMD_SEEK:
		return PROTO_SEEK;
	case RMT_CMD_WRITE:
		return PROTO_WRITE;
	case RMT_CMD_READ:
		return PROTO_READ;
	case RMT_CMD_IOCTL:
		return PROTO_IOCTL;
	case RMT_CMD_IOCTL_EXTENDED:
		return PROTO_IOCTL_EXTENDED;
	case RMT_CMD_STATUS:
		return PROTO_STATUS;
	case RMT_CMD_STATUS_FIELD:
		return PROTO_STATUS_FIELD;
	case RMT_CMD_VERSION_BSD:
		return PROTO_VERSION_BSD;
	case RMT_CMD_VERSION_SCHILY:
		return PROTO_VERSION_SCHILY;
	default:
		return PROTO_GARBAGE;
	}
}

static int lines_of(enum proto_command command)
{
	switch (command) {
	case PROTO_OPEN:
	case PROTO_SEEK:
	case PROTO_IOCTL:
	case PROTO_IOCTL_EXTENDED:
		return 2;
	case PROTO_STATUS:
	case PROTO_STATUS_FIELD:
		return 0;
	default:
		return 1;
	}
}

/*
 * Where the current line is stored, and how big that buffer is; NULL for lines
 * whose content is ignored (C, V, v, the rest of a garbage line).
 */
static char *line_buffer(struct proto_parser *parser, size_t *capacity)
{
	enum proto_command command = command_of(parser->letter);

	if (lines_of(command) < 2 && command != PROTO_WRITE && command != PROTO_READ)
		return NULL;
	if (command == PROTO_OPEN && parser->lines_done == 0) {
		*capacity = sizeof(parser->path);
		return parser->path;
	}
	*capacity = sizeof(parser->lines[0]);
	return parser->lines[parser->lines_done];
}

static void line_begin(struct proto_parser *parser)
{
	parser->line_length = 0;
	parser->line_overflow = false;
	parser->line_has_nul = false;
}

/* Add a piece of the current line (no '\n' in it). Beyond the buffer, only count. */
static void line_append(struct proto_parser *parser, const unsigned char *bytes, size_t count)
{
	size_t capacity;
	char *buffer = line_buffer(parser, &capacity);

	if (buffer == NULL || count == 0)
		return;
	if (memchr(bytes, '\0', count) != NULL)
		parser->line_has_nul = true;
	if (!parser->line_overflow && count <= capacity - 1 - parser->line_length) {
		memcpy(buffer + parser->line_length, bytes, count);
		parser->line_length += count;
	} else {
		parser->line_overflow = true;
	}
}

/* The '\n' of the current line has arrived. True when the request is complete. */
static bool line_end(struct proto_parser *parser)
{
	size_t capacity;
	char *buffer = line_buffer(parser, &capacity);
	int index = parser->lines_done;

	if (buffer != NULL) {
		buffer[parser->line_overflow ? 0 : parser->line_length] = '\0';
		parser->lengths[index] = parser->line_overflow ? 0 : parser->line_length;
		parser->overflowed[index] = parser->line_overflow;
		if (buffer == parser->path) {
			parser->path_error_too_long = parser->line_overflow;
			parser->path_error_nul = parser->line_has_nul;
		}
	}
	parser->lines_done++;
	line_begin(parser);
	return parser->lines_done >= parser->lines_wanted;
}

static void request_complete(struct proto_parser *parser, struct rmt_request *request)
{
	enum proto_command command = command_of(parser->letter);

	request_begin(request, command, parser->letter);
	switch (command) {
	case PROTO_OPEN:
		parse_open(parser, request);
		break;
	case PROTO_SEEK:
		parse_seek(parser, request);
		break;
	case PROTO_WRITE:
	case PROTO_READ:
		parse_count(parser, request);
		break;
	case PROTO_IOCTL:
	case PROTO_IOCTL_EXTENDED:
		parse_ioctl(parser, request);
		break;
	case PROTO_GARBAGE:
		request_fail(request, EINVAL, text_garbage);
		break;
	case PROTO_CLOSE:
	case PROTO_STATUS:
	case PROTO_STATUS_FIELD:
	case PROTO_VERSION_BSD:
	case PROTO_VERSION_SCHILY:
		break;
	}
	parser->state = STATE_LETTER;
}

/* A command letter arrived. True when that alone completes the request (S). */
static bool request_start(struct proto_parser *parser, unsigned char letter,
                          struct rmt_request *request)
{
	enum proto_command command = command_of((char)letter);

	parser->letter = (char)letter;
	parser->lines_wanted = lines_of(command);
	parser->lines_done = 0;
	parser->lengths[0] = parser->lengths[1] = 0;
	parser->overflowed[0] = parser->overflowed[1] = false;
	parser->path_error_too_long = false;
	parser->path_error_nul = false;
	parser->path[0] = '\0';
	line_begin(parser);
	if (command == PROTO_STATUS) {
		request_complete(parser, request);
		return true;
	}
	parser->state = command == PROTO_STATUS_FIELD ? STATE_STATUS_LETTER : STATE_LINE;
	return false;
}

static bool is_separator(unsigned char c)
{
	return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

void proto_parser_init(struct proto_parser *parser, const struct proto_limits *limits)
{
	memset(parser, 0, sizeof(*parser));
	parser->limits.max_record = RMT_MAX_RECORD_DEFAULT;
	if (limits != NULL && limits->max_record != 0)
		parser->limits.max_record = limits->max_record;
	parser->state = STATE_LETTER;
	parser->seek_order = PROTO_SEEK_ORDER_UNKNOWN;
}

void proto_parser_set_seek_order(struct proto_parser *parser, enum proto_seek_order order)
{
	if (order == PROTO_SEEK_ORDER_OFFSET_FIRST || order == PROTO_SEEK_ORDER_WHENCE_FIRST)
		parser->seek_order = order;
	else
		parser->seek_order = PROTO_SEEK_ORDER_UNKNOWN;
}

bool proto_parser_in_request(const struct proto_parser *parser)
{
	return parser->state != STATE_LETTER;
}

size_t proto_parse(struct proto_parser *parser, const void *bytes, size_t len,
                   struct rmt_request *request, enum proto_result *result)
{
	const unsigned char *input = bytes;
	size_t pos = 0;

	*result = PROTO_NEED_MORE;
	while (pos < len) {
		switch (parser->state) {
		case STATE_LETTER: {
			unsigned char c = input[pos++];

			if (is_separator(c))
				continue;
			if (request_start(parser, c, request)) {
				*result = PROTO_REQUEST;
				return pos;
			}
			break;
		}
		case STATE_STATUS_LETTER:
			request_complete(parser, request);
			request->status_letter = (char)input[pos++];
			*result = PROTO_REQUEST;
			return pos;
		case STATE_LINE:
		default: {
			const unsigned char *newline = memchr(input + pos, '\n', len - pos);
			size_t count =
			    newline != NULL ? (size_t)(newline - (input + pos)) : len - pos;

			line_append(parser, input + pos, count);
			pos += count;
			if (newline == NULL)
				break;
			pos++;
			if (line_end(parser)) {
				request_complete(parser, request);
				*result = PROTO_REQUEST;
				return pos;
			}
			break;
		}
		}
	}
	return pos;
}
