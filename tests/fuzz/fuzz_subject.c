/*
 * fuzz_subject.c - libFuzzer target for certificate subjects and the identity
 * patterns matched against them (rmtd/subject.c). The subject comes from a
 * client's certificate, the pattern from the configuration.
 *
 * Input: PATTERN '\n' SUBJECT (a missing '\n': all of it is both). Besides
 * "never crash", it checks that a pattern check that fails says why, and that
 * a well-formed subject, used as a pattern, matches itself: escapes decode the
 * same way on both sides, and a '*' or '?' left in it matches itself. ('[' is
 * left out of that check: "[ab]" is a set, not those four characters.)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subject.h"
#include "fuzz_common.h"

static void check_pattern(const char *pattern)
{
	const char *reason = NULL;

	if (subject_pattern_check(pattern, &reason) < 0)
		REQUIRE(reason != NULL && reason[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char pattern[2 * SUBJECT_TEXT_MAX], subject[2 * SUBJECT_TEXT_MAX];
	const uint8_t *newline = memchr(data, '\n', size);
	size_t pattern_length = newline != NULL ? (size_t)(newline - data) : size;
	const uint8_t *rest = newline != NULL ? newline + 1 : data;
	size_t subject_length = newline != NULL ? size - pattern_length - 1 : size;
	const char *reason;

	if (pattern_length >= sizeof(pattern) || subject_length >= sizeof(subject))
		return 0;
	memcpy(pattern, data, pattern_length);
	pattern[pattern_length] = '\0';
	memcpy(subject, rest, subject_length);
	subject[subject_length] = '\0';

	check_pattern(pattern);
	check_pattern(subject);
	(void)subject_matches(pattern, subject);
	if (strchr(subject, '[') == NULL && subject_pattern_check(subject, &reason) == 0)
		REQUIRE(subject_matches(subject, subject));
	return 0;
}
