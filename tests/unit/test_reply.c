/*
 * test_reply.c - unit tests of the rmt reply encoder (rmtd/reply.c).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "reply.h"
#include "rmt/protocol.h"

static void assert_ok_reply(int64_t value, const char *expected)
{
	char buf[REPLY_HEADER_MAX];
	size_t n = reply_ok(buf, sizeof(buf), value);

	cr_assert_eq(n, strlen(expected), "value %lld: length %zu", (long long)value, n);
	cr_assert_str_eq(buf, expected);
}

static size_t error_reply(char *buf, size_t size, int errnum, const char *text)
{
	size_t n = reply_error(buf, size, errnum, text);
	const char *first_newline;

	/* Shape every client relies on: E<digits>\n<one line>\n, nothing else. */
	cr_assert_gt(n, 0);
	cr_assert_eq(strlen(buf), n);
	cr_assert_eq(buf[0], 'E');
	first_newline = strchr(buf, '\n');
	cr_assert_not_null(first_newline);
	cr_assert_lt((size_t)(first_newline - buf) + 1, RMT_REPLY_LINE_MAX,
	             "status line too long for the dump client");
	for (const char *p = buf + 1; p < first_newline; p++)
		cr_assert(*p >= '0' && *p <= '9', "status line \"%s\"", buf);
	cr_assert_gt(first_newline - buf, 1, "no errno digits");
	cr_assert_eq(buf[n - 1], '\n');
	cr_assert_eq(strchr(first_newline + 1, '\n'), buf + n - 1, "text spans lines");
	cr_assert_leq(n - 1 - (size_t)(first_newline + 1 - buf), REPLY_TEXT_MAX);
	for (const char *p = first_newline + 1; p < buf + n - 1; p++)
		cr_assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f,
		          "byte %#x in the text", (unsigned char)*p);
	return n;
}

Test(reply, ok_values)
{
	assert_ok_reply(0, "A0\n");
	assert_ok_reply(1, "A1\n");
	assert_ok_reply(48, "A48\n");
	assert_ok_reply(10240, "A10240\n");
	assert_ok_reply(5000000000, "A5000000000\n");
	assert_ok_reply(INT64_MAX, "A9223372036854775807\n");
}

Test(reply, ok_negative_is_zero)
{
	/* GNU clients cannot parse "A-3" (a count after I1 -3). */
	assert_ok_reply(-3, "A0\n");
	assert_ok_reply(-1, "A0\n");
	assert_ok_reply(INT64_MIN, "A0\n");
}

Test(reply, ok_buffer_too_small)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(reply_ok(buf, 4, 100), 0, "A100\\n needs 5 bytes with its NUL");
	cr_assert_eq(buf[0], '\0');
	cr_assert_eq(buf[1], 'x', "nothing written past the first byte");
	cr_assert_eq(reply_ok(buf, 5, 100), 0);
	cr_assert_eq(reply_ok(buf, 6, 100), 5);
	cr_assert_str_eq(buf, "A100\n");
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(reply_ok(buf, 0, 1), 0);
	cr_assert_eq(buf[0], 'x', "size 0 writes nothing");
}

Test(reply, ok_fits_the_header_size)
{
	char buf[REPLY_HEADER_MAX];

	cr_assert_gt(reply_ok(buf, sizeof(buf), INT64_MAX), 0);
}

Test(reply, error_with_text)
{
	char buf[REPLY_HEADER_MAX];
	size_t n = error_reply(buf, sizeof(buf), EINVAL, "Garbage command");

	cr_assert_str_eq(buf, "E22\nGarbage command\n");
	cr_assert_eq(n, 20);
}

Test(reply, error_without_text_uses_strerror)
{
	char buf[REPLY_HEADER_MAX], expected[REPLY_HEADER_MAX];

	error_reply(buf, sizeof(buf), EIO, NULL);
	cr_assert_str_eq(buf, "E5\nInput/output error\n");
	error_reply(buf, sizeof(buf), ENOSPC, NULL);
	cr_assert_str_eq(buf, "E28\nNo space left on device\n");
	error_reply(buf, sizeof(buf), EBADF, "");
	cr_assert_str_eq(buf, "E9\nBad file descriptor\n");
	error_reply(buf, sizeof(buf), ENOTTY, NULL);
	snprintf(expected, sizeof(expected), "E%d\n%s\n", ENOTTY, strerror(ENOTTY));
	cr_assert_str_eq(buf, expected);
}

Test(reply, error_unknown_errno)
{
	char buf[REPLY_HEADER_MAX];

	error_reply(buf, sizeof(buf), 9999, NULL);
	cr_assert_str_eq(buf, "E9999\nUnknown error 9999\n");
}

Test(reply, error_negative_and_zero_errno)
{
	char buf[REPLY_HEADER_MAX];

	error_reply(buf, sizeof(buf), -ENOSPC, "x");
	cr_assert_str_eq(buf, "E28\nx\n", "a backend's -errno is sent positive");
	error_reply(buf, sizeof(buf), 0, "x");
	cr_assert_str_eq(buf, "E5\nx\n", "E0 is misread by GNU-2018 clients");
	error_reply(buf, sizeof(buf), INT_MIN, "x");
	cr_assert_str_eq(buf, "E5\nx\n");
}

Test(reply, error_status_line_is_short_for_any_errno)
{
	char buf[REPLY_HEADER_MAX];
	const int numbers[] = {1, 5, 22, 123, 9999, 65535, INT_MAX, -INT_MAX, 0, INT_MIN};

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		error_reply(buf, sizeof(buf), numbers[i], NULL);
	error_reply(buf, sizeof(buf), INT_MAX, "t");
	cr_assert_str_eq(buf, "E2147483647\nt\n");
}

Test(reply, error_text_is_one_clean_line)
{
	char buf[REPLY_HEADER_MAX];

	error_reply(buf, sizeof(buf), EACCES, "not\nallowed\r\there");
	cr_assert_str_eq(buf, "E13\nnot allowed  here\n");
	error_reply(buf, sizeof(buf), EACCES, "bell\a esc\x1b del\x7f");
	cr_assert_str_eq(buf, "E13\nbell? esc? del?\n");
	error_reply(buf, sizeof(buf), EACCES, "caf\xc3\xa9");
	cr_assert_str_eq(buf, "E13\ncaf??\n");
	error_reply(buf, sizeof(buf), EACCES, "\n");
	cr_assert_str_eq(buf, "E13\n \n");
}

Test(reply, error_text_is_cut)
{
	char buf[REPLY_HEADER_MAX], text[300], expected[REPLY_HEADER_MAX];

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	size_t n = error_reply(buf, sizeof(buf), ENOENT, text);

	cr_assert_eq(n, 3 + REPLY_TEXT_MAX + 1);
	memset(text, 'a', REPLY_TEXT_MAX);
	text[REPLY_TEXT_MAX] = '\0';
	snprintf(expected, sizeof(expected), "E2\n%.*s\n", REPLY_TEXT_MAX, text);
	cr_assert_str_eq(buf, expected);

	/* Exactly REPLY_TEXT_MAX bytes are kept whole. */
	error_reply(buf, sizeof(buf), ENOENT, text);
	cr_assert_str_eq(buf, expected);
	text[REPLY_TEXT_MAX - 1] = '\0';
	n = error_reply(buf, sizeof(buf), ENOENT, text);
	cr_assert_eq(n, 3 + REPLY_TEXT_MAX);
}

Test(reply, error_worst_case_fits_the_header_size)
{
	char buf[REPLY_HEADER_MAX], text[200];

	memset(text, '\n', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	cr_assert_gt(reply_error(buf, sizeof(buf), INT_MAX, text), 0);
	cr_assert_gt(reply_error(buf, sizeof(buf), INT_MIN, NULL), 0);
}

Test(reply, error_buffer_too_small)
{
	char buf[32];

	memset(buf, 'x', sizeof(buf));
	/* "E22\nGarbage command\n" is 20 bytes, 21 with the NUL. */
	cr_assert_eq(reply_error(buf, 20, EINVAL, "Garbage command"), 0);
	cr_assert_eq(buf[0], '\0');
	cr_assert_eq(buf[1], 'x');
	cr_assert_eq(reply_error(buf, 21, EINVAL, "Garbage command"), 20);
	cr_assert_str_eq(buf, "E22\nGarbage command\n");
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(reply_error(buf, 0, EINVAL, NULL), 0);
	cr_assert_eq(buf[0], 'x');
}

struct thread_work {
	int errnum;
	bool ok;
};

static void *encode_many(void *argument)
{
	struct thread_work *work = argument;
	char buf[REPLY_HEADER_MAX], expected[REPLY_HEADER_MAX];

	snprintf(expected, sizeof(expected), "E%d\n%s\n", work->errnum, strerror(work->errnum));
	work->ok = true;
	for (int i = 0; i < 20000; i++) {
		reply_error(buf, sizeof(buf), work->errnum, NULL);
		if (strcmp(buf, expected) != 0)
			work->ok = false;
	}
	return NULL;
}

Test(reply, error_is_thread_safe)
{
	/* Different errnos at once: a shared static buffer would mix their texts. */
	struct thread_work work[6] = {{EIO, false},    {ENOSPC, false}, {EBADF, false},
	                              {EACCES, false}, {EROFS, false},  {ENOMEDIUM, false}};
	pthread_t threads[6];

	for (size_t i = 0; i < 6; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, encode_many, &work[i]), 0);
	for (size_t i = 0; i < 6; i++) {
		cr_assert_eq(pthread_join(threads[i], NULL), 0);
		cr_assert(work[i].ok, "errno %d got a wrong text", work[i].errnum);
	}
}

Test(reply, signed_values_keep_their_sign)
{
	char buf[REPLY_HEADER_MAX];

	cr_assert_eq(reply_signed(buf, sizeof(buf), -1), 4);
	cr_assert_str_eq(buf, "A-1\n");
	cr_assert_eq(reply_signed(buf, sizeof(buf), 42), 4);
	cr_assert_str_eq(buf, "A42\n");
	cr_assert_gt(reply_signed(buf, sizeof(buf), INT64_MIN), 0);
	cr_assert_str_eq(buf, "A-9223372036854775808\n");
	cr_assert_eq(reply_signed(buf, 3, -1), 0, "never a partial reply");
}
