/*
 * fuzz_reply.c - libFuzzer target for the rmt reply encoder (rmtd/reply.c).
 *
 * The first 8 bytes are a value for reply_ok and, in their low 4 bytes, an errno
 * for reply_error; the rest is the error text (NULL when it is empty). Each reply
 * must have the shape every client can read, also in buffers of every small size.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "rmt/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a crash, with the condition in the log. */
#define check(condition)                                                                           \
	do {                                                                                       \
		if (!(condition)) {                                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,           \
			        #condition);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_ok_reply(const char *buf, size_t n, int64_t value)
{
	uint64_t parsed = 0;

	check(n >= 3 && buf[0] == 'A' && buf[n - 1] == '\n' && buf[n] == '\0');
	for (size_t i = 1; i < n - 1; i++) {
		check(buf[i] >= '0' && buf[i] <= '9');
		parsed = parsed * 10 + (uint64_t)(buf[i] - '0');
	}
	check(parsed == (value < 0 ? 0 : (uint64_t)value));
	check(n == 3 || buf[1] != '0');
}

static void check_error_reply(const char *buf, size_t n)
{
	const char *newline = memchr(buf, '\n', n);

	check(n >= 4 && buf[0] == 'E' && buf[n - 1] == '\n' && buf[n] == '\0');
	check(newline != NULL && newline - buf >= 2);
	check((size_t)(newline - buf) + 1 < RMT_REPLY_LINE_MAX);
	for (const char *p = buf + 1; p < newline; p++)
		check(*p >= '0' && *p <= '9');
	check(buf[1] != '0');
	check(n - (size_t)(newline + 1 - buf) - 1 <= REPLY_TEXT_MAX);
	for (const char *p = newline + 1; p < buf + n - 1; p++)
		check((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[REPLY_HEADER_MAX], small[REPLY_HEADER_MAX];
	char *text = NULL;
	int64_t value = 0;
	int errnum;
	size_t n;

	if (size >= sizeof(value)) {
		memcpy(&value, data, sizeof(value));
		data += sizeof(value);
		size -= sizeof(value);
	}
	errnum = (int)(uint32_t)value;
	if (size > 0) {
		text = malloc(size + 1);
		check(text != NULL);
		memcpy(text, data, size);
		text[size] = '\0';
	}

	n = reply_ok(buf, sizeof(buf), value);
	check_ok_reply(buf, n, value);
	for (size_t s = 0; s <= n; s++)
		check(reply_ok(small, s, value) == 0);
	check(reply_ok(small, n + 1, value) == n && memcmp(small, buf, n + 1) == 0);

	n = reply_error(buf, sizeof(buf), errnum, text);
	check_error_reply(buf, n);
	for (size_t s = 0; s <= n; s++)
		check(reply_error(small, s, errnum, text) == 0);
	check(reply_error(small, n + 1, errnum, text) == n && memcmp(small, buf, n + 1) == 0);

	free(text);
	return 0;
}
