/*
 * fuzz_reply.c - libFuzzer target for the rmt reply encoder (rmtd/reply.c).
 *
 * The first 8 bytes are a value for reply_ok and, in their low 4 bytes, an errno
 * for reply_error; the rest is the error text (NULL when it is empty). Each reply
 * must have the shape every client can read, and a buffer one byte too small must
 * get nothing. The buffer sizes tried are the edges (0, the reply's length, and one
 * more where it fits) and one chosen by the input, so that a campaign goes through
 * every size while an input costs a handful of calls instead of one per size.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "rmt/protocol.h"
#include "fuzz_common.h"

/* The harness's own loops are not worth coverage feedback, and tracing them costs time. */
#if defined(__clang__) && __clang_major__ >= 13
#define HARNESS __attribute__((no_sanitize("coverage")))
#else
#define HARNESS
#endif

HARNESS static void check_ok_reply(const char *buf, size_t n, int64_t value)
{
	uint64_t parsed = 0;

	REQUIRE(n >= 3 && buf[0] == 'A' && buf[n - 1] == '\n' && buf[n] == '\0');
	for (size_t i = 1; i < n - 1; i++) {
		REQUIRE(buf[i] >= '0' && buf[i] <= '9');
		parsed = parsed * 10 + (uint64_t)(buf[i] - '0');
	}
	REQUIRE(parsed == (value < 0 ? 0 : (uint64_t)value));
	REQUIRE(n == 3 || buf[1] != '0');
}

HARNESS static void check_error_reply(const char *buf, size_t n)
{
	const char *newline = memchr(buf, '\n', n);

	REQUIRE(n >= 4 && buf[0] == 'E' && buf[n - 1] == '\n' && buf[n] == '\0');
	REQUIRE(newline != NULL && newline - buf >= 2);
	REQUIRE((size_t)(newline - buf) + 1 < RMT_REPLY_LINE_MAX);
	for (const char *p = buf + 1; p < newline; p++)
		REQUIRE(*p >= '0' && *p <= '9');
	REQUIRE(buf[1] != '0');
	REQUIRE(n - (size_t)(newline + 1 - buf) - 1 <= REPLY_TEXT_MAX);
	for (const char *p = newline + 1; p < buf + n - 1; p++)
		REQUIRE((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

enum size_choice {
	SIZE_ZERO,
	SIZE_ONE_LESS, /* the reply itself, without room for its NUL */
	SIZE_CHOSEN,   /* any size from 0 to the reply's length, from the input */
};

static const enum size_choice too_small[] = {SIZE_ZERO, SIZE_ONE_LESS, SIZE_CHOSEN};

/* A buffer size at most n, where a reply of n bytes plus its NUL cannot fit. */
HARNESS static size_t too_small_size(enum size_choice choice, size_t n, uint64_t chooser)
{
	switch (choice) {
	case SIZE_ZERO:
		return 0;
	case SIZE_ONE_LESS:
		return n;
	default:
		return (size_t)(chooser % (n + 1));
	}
}

/* Which buffer size an input tries besides the edges. */
HARNESS static uint64_t chooser_of(const uint8_t *data, size_t size)
{
	uint64_t chooser = size;

	for (size_t i = 0; i < size; i++)
		chooser = chooser * 31 + data[i];
	return chooser;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[REPLY_HEADER_MAX], small[REPLY_HEADER_MAX];
	char *text = NULL;
	int64_t value = 0;
	uint64_t chooser = chooser_of(data, size);
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
		REQUIRE(text != NULL);
		memcpy(text, data, size);
		text[size] = '\0';
	}

	n = reply_ok(buf, sizeof(buf), value);
	check_ok_reply(buf, n, value);
	for (size_t i = 0; i < sizeof(too_small) / sizeof(too_small[0]); i++) {
		size_t s = too_small_size(too_small[i], n, chooser);

		REQUIRE(reply_ok(small, s, value) == 0);
		REQUIRE(s == 0 || small[0] == '\0');
	}
	REQUIRE(reply_ok(small, n + 1, value) == n && memcmp(small, buf, n + 1) == 0);

	n = reply_error(buf, sizeof(buf), errnum, text);
	check_error_reply(buf, n);
	for (size_t i = 0; i < sizeof(too_small) / sizeof(too_small[0]); i++) {
		size_t s = too_small_size(too_small[i], n, chooser);

		REQUIRE(reply_error(small, s, errnum, text) == 0);
		REQUIRE(s == 0 || small[0] == '\0');
	}
	REQUIRE(reply_error(small, n + 1, errnum, text) == n && memcmp(small, buf, n + 1) == 0);

	free(text);
	return 0;
}
