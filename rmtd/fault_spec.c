/*
 * fault_spec.c - parse and match the schedule of a fault-injecting drive.
 *
 * The grammar is in fault_spec.h. Every byte is checked: an unknown call, an
 * errno out of range, a count that overflows or a range that runs backwards is
 * an error with the rule's number, never a rule that silently does something else.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fault_spec.h"
#include "number.h"

#define FAULT_ERRNO_MAX  4095
#define FAULT_AMOUNT_MAX ((uint64_t)1 << 40)
#define FAULT_NUMBER_MAX ((uint64_t)1 << 62)

static const char *const call_names[] = {
    [FAULT_CALL_OPEN] = "open",     [FAULT_CALL_CLOSE] = "close",
    [FAULT_CALL_READ] = "read",     [FAULT_CALL_WRITE] = "write",
    [FAULT_CALL_IOCTL] = "ioctl",   [FAULT_CALL_STATUS] = "status",
    [FAULT_CALL_SEEK] = "seek",     [FAULT_CALL_POSITION] = "position",
    [FAULT_CALL_LOCATE] = "locate", [FAULT_CALL_ANY] = "any",
};

/* The errnos a device call can plausibly give, by name. Others go by number. */
static const struct {
	const char *name;
	int value;
} errno_names[] = {
    {"EPERM", EPERM},
    {"ENOENT", ENOENT},
    {"EINTR", EINTR},
    {"EIO", EIO},
    {"ENXIO", ENXIO},
    {"EBADF", EBADF},
    {"EAGAIN", EAGAIN},
    {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},
    {"EBUSY", EBUSY},
    {"EEXIST", EEXIST},
    {"ENODEV", ENODEV},
    {"EISDIR", EISDIR},
    {"EINVAL", EINVAL},
    {"ENFILE", ENFILE},
    {"EMFILE", EMFILE},
    {"ENOTTY", ENOTTY},
    {"EFBIG", EFBIG},
    {"ENOSPC", ENOSPC},
    {"ESPIPE", ESPIPE},
    {"EROFS", EROFS},
    {"EPIPE", EPIPE},
    {"EOVERFLOW", EOVERFLOW},
    {"ENOTSUP", ENOTSUP},
    {"ETIMEDOUT", ETIMEDOUT},
    {"EDQUOT", EDQUOT},
    {"ECANCELED", ECANCELED},
    {"ENOMEDIUM", ENOMEDIUM},
    {"EMEDIUMTYPE", EMEDIUMTYPE},
};

const char *fault_call_name(enum fault_call call)
{
	if ((int)call < 0 || call > FAULT_CALL_ANY)
		return "?";
	return call_names[call];
}

const char *fault_errno_name(int error)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].value == error)
			return errno_names[i].name;
	return NULL;
}

/* A piece of the text: [start, end). */
struct span {
	const char *start, *end;
};

static size_t span_length(struct span s)
{
	return (size_t)(s.end - s.start);
}

static bool span_equals(struct span s, const char *word)
{
	size_t n = strlen(word);

	return span_length(s) == n && memcmp(s.start, word, n) == 0;
}

static struct span span_trim(struct span s)
{
	while (s.start < s.end && (*s.start == ' ' || *s.start == '\t'))
		s.start++;
	while (s.end > s.start && (s.end[-1] == ' ' || s.end[-1] == '\t'))
		s.end--;
	return s;
}

/* The first c in s, or s.end. */
static const char *span_find(struct span s, char c)
{
	const char *p = memchr(s.start, c, span_length(s));

	return p != NULL ? p : s.end;
}

/* A decimal number up to limit, the whole span. */
static bool parse_number(struct span s, uint64_t limit, uint64_t *out)
{
	uint64_t value;

	if (decimal_parse_u64(s.start, (size_t)(s.end - s.start), &value) < 0 || value > limit)
		return false;
	*out = value;
	return true;
}

static bool parse_call(struct span s, enum fault_call *out)
{
	for (int i = 0; i <= FAULT_CALL_ANY; i++) {
		if (span_equals(s, call_names[i])) {
			*out = (enum fault_call)i;
			return true;
		}
	}
	return false;
}

/* "N", "N+", "N-M" or "*". */
static bool parse_which(struct span s, struct fault_rule *rule)
{
	const char *dash;

	if (span_equals(s, "*")) {
		rule->first = 1;
		rule->last = UINT64_MAX;
		return true;
	}
	if (s.end > s.start && s.end[-1] == '+') {
		rule->last = UINT64_MAX;
		return parse_number((struct span){s.start, s.end - 1}, FAULT_NUMBER_MAX,
		                    &rule->first) &&
		       rule->first >= 1;
	}
	dash = span_find(s, '-');
	if (dash == s.end) {
		if (!parse_number(s, FAULT_NUMBER_MAX, &rule->first))
			return false;
		rule->last = rule->first;
	} else if (!parse_number((struct span){s.start, dash}, FAULT_NUMBER_MAX, &rule->first) ||
	           !parse_number((struct span){dash + 1, s.end}, FAULT_NUMBER_MAX, &rule->last)) {
		return false;
	}
	return rule->first >= 1 && rule->first <= rule->last;
}

static bool parse_errno(struct span s, int *out)
{
	uint64_t value;

	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++) {
		if (span_equals(s, errno_names[i].name)) {
			*out = errno_names[i].value;
			return true;
		}
	}
	if (!parse_number(s, FAULT_ERRNO_MAX, &value) || value == 0)
		return false;
	*out = (int)value;
	return true;
}

/* "ERRNO", "ERRNO@after", "short:BYTES", "delay:MS" or "hang". */
static bool parse_action(struct span s, struct fault_rule *rule)
{
	static const char short_word[] = "short:", delay_word[] = "delay:";
	const char *at;

	if (span_equals(s, "hang")) {
		rule->action = FAULT_HANG;
		return true;
	}
	if (span_length(s) > strlen(short_word) &&
	    memcmp(s.start, short_word, strlen(short_word)) == 0) {
		rule->action = FAULT_SHORT;
		return parse_number((struct span){s.start + strlen(short_word), s.end},
		                    FAULT_AMOUNT_MAX, &rule->amount);
	}
	if (span_length(s) > strlen(delay_word) &&
	    memcmp(s.start, delay_word, strlen(delay_word)) == 0) {
		rule->action = FAULT_DELAY;
		return parse_number((struct span){s.start + strlen(delay_word), s.end},
		                    FAULT_AMOUNT_MAX, &rule->amount);
	}
	rule->action = FAULT_FAIL;
	at = span_find(s, '@');
	if (at != s.end) {
		if (!span_equals((struct span){at + 1, s.end}, "after"))
			return false;
		rule->after = true;
	}
	return parse_errno((struct span){s.start, at}, &rule->error);
}

static int parse_fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int parse_fail(char *error, size_t error_size, const char *format, ...)
{
	va_list args;

	if (error_size > 0) {
		va_start(args, format);
		vsnprintf(error, error_size, format, args);
		va_end(args);
	}
	return -1;
}

static int parse_rule(struct span s, int number, struct fault_rule *rule, char *error,
                      size_t error_size)
{
	const char *hash = span_find(s, '#');
	const char *equals = span_find(s, '=');

	memset(rule, 0, sizeof(*rule));
	if (hash == s.end || equals == s.end || equals < hash)
		return parse_fail(error, error_size, "rule %d: expected CALL#WHICH=ACTION", number);
	if (!parse_call(span_trim((struct span){s.start, hash}), &rule->call))
		return parse_fail(error, error_size,
		                  "rule %d: unknown call (open, close, read, write, ioctl, "
		                  "status, seek, position, locate or any)",
		                  number);
	if (!parse_which(span_trim((struct span){hash + 1, equals}), rule))
		return parse_fail(error, error_size,
		                  "rule %d: expected N, N+, N-M (from 1, N <= M) or * after '#'",
		                  number);
	if (!parse_action(span_trim((struct span){equals + 1, s.end}), rule))
		return parse_fail(error, error_size,
		                  "rule %d: expected an errno (EIO or 1..%d, optionally @after), "
		                  "short:BYTES, delay:MS or hang",
		                  number, FAULT_ERRNO_MAX);
	if (rule->action == FAULT_SHORT && rule->call != FAULT_CALL_READ &&
	    rule->call != FAULT_CALL_WRITE)
		return parse_fail(error, error_size,
		                  "rule %d: short: applies to read and write only", number);
	return 0;
}

int fault_schedule_parse(const char *text, size_t length, struct fault_schedule *schedule,
                         char *error, size_t error_size)
{
	struct span rest = {text, text + length};

	memset(schedule, 0, sizeof(*schedule));
	if (error_size > 0)
		error[0] = '\0';
	while (rest.start < rest.end) {
		const char *semicolon = span_find(rest, ';');
		struct span piece = span_trim((struct span){rest.start, semicolon});

		rest.start = semicolon < rest.end ? semicolon + 1 : rest.end;
		if (piece.start == piece.end)
			continue; /* empty rules (";;", a trailing ';') are allowed */
		if (memchr(piece.start, '\0', span_length(piece)) != NULL)
			return parse_fail(error, error_size, "rule %d: a NUL byte",
			                  schedule->rule_count + 1);
		if (schedule->rule_count == FAULT_RULES_MAX)
			return parse_fail(error, error_size, "more than %d rules", FAULT_RULES_MAX);
		if (parse_rule(piece, schedule->rule_count + 1,
		               &schedule->rules[schedule->rule_count], error, error_size) < 0)
			return -1;
		schedule->rule_count++;
	}
	return 0;
}

const struct fault_rule *fault_schedule_match(const struct fault_schedule *schedule,
                                              enum fault_call call, uint64_t number,
                                              uint64_t any_number)
{
	for (int i = 0; i < schedule->rule_count; i++) {
		const struct fault_rule *rule = &schedule->rules[i];
		uint64_t n = rule->call == FAULT_CALL_ANY ? any_number : number;

		if ((rule->call == call || rule->call == FAULT_CALL_ANY) && n >= rule->first &&
		    n <= rule->last)
			return rule;
	}
	return NULL;
}
