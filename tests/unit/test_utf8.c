/*
 * test_utf8.c - rmtd/utf8.c: which bytes the JSON and metrics writers may let
 * through unescaped. Every code point is encoded and must be taken whole
 * (surrogates refused); every overlong, cut or out-of-range form is refused;
 * and random byte strings get the same verdict as glibc's UTF-8 decoder.
 */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "utf8.h"

/* code in n bytes (n may be longer than needed: an overlong form); returns n. */
static size_t encode(uint32_t code, size_t n, unsigned char out[5])
{
	static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};

	for (size_t i = n - 1; i > 0; i--) {
		out[i] = (unsigned char)(0x80 | (code & 0x3f));
		code >>= 6;
	}
	out[0] = n == 1 ? (unsigned char)code : (unsigned char)(lead[n] | code);
	out[n] = '\0';
	return n;
}

static size_t shortest(uint32_t code)
{
	return code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
}

Test(utf8, every_code_point_is_taken_whole_and_surrogates_are_refused)
{
	unsigned char bytes[5];

	for (uint32_t code = 1; code <= 0x10ffff; code++) {
		size_t n = encode(code, shortest(code), bytes);
		size_t want = code >= 0xd800 && code <= 0xdfff ? 0 : n;

		if (utf8_sequence(bytes) != want)
			cr_assert_fail("U+%04X: %zu, not %zu", code, utf8_sequence(bytes), want);
	}
}

Test(utf8, overlong_forms_are_refused)
{
	unsigned char bytes[5];

	for (uint32_t code = 0; code < 0x10000; code++)
		for (size_t n = shortest(code) + 1; n <= 4; n++) {
			if (n == 1)
				continue;
			encode(code, n, bytes);
			if (utf8_sequence(bytes) != 0)
				cr_assert_fail("U+%04X in %zu bytes was taken", code, n);
		}
}

Test(utf8, beyond_u10ffff_is_refused)
{
	unsigned char bytes[5];

	for (uint32_t code = 0x110000; code < 0x200000; code += 0x1000 - 1) {
		encode(code, 4, bytes);
		cr_assert_eq(utf8_sequence(bytes), 0, "U+%X", code);
	}
}

Test(utf8, a_sequence_cut_short_or_by_a_nul_is_refused)
{
	unsigned char bytes[5];

	encode(0x20ac, 3, bytes); /* the euro sign */
	cr_assert_eq(utf8_sequence(bytes), 3);
	bytes[2] = '\0';
	cr_assert_eq(utf8_sequence(bytes), 0);
	bytes[1] = 'A';
	cr_assert_eq(utf8_sequence(bytes), 0);
	/* A stray continuation byte, and the bytes that never begin a sequence. */
	cr_assert_eq(utf8_sequence((const unsigned char *)"\x80"), 0);
	cr_assert_eq(utf8_sequence((const unsigned char *)"\xc0\x80"), 0);
	cr_assert_eq(utf8_sequence((const unsigned char *)"\xf5\x80\x80\x80"), 0);
	cr_assert_eq(utf8_sequence((const unsigned char *)"\xff"), 0);
}

/*
 * Random strings, judged also by glibc (mbrtowc in C.UTF-8): the same length
 * for a well-formed sequence, and a refusal where it reports an invalid or
 * incomplete one or decodes what RFC 3629 rules out.
 */
Test(utf8, random_bytes_get_the_verdict_of_glibcs_decoder)
{
	unsigned int seed = 20261207;

	cr_assert_not_null(setlocale(LC_CTYPE, "C.UTF-8"), "no C.UTF-8 locale");
	for (int round = 0; round < 2000000; round++) {
		unsigned char bytes[5] = {0};
		mbstate_t state;
		wchar_t wide;
		size_t glibc, ours;

		/* Mostly bytes near the interesting boundaries, some anything at all. */
		for (int i = 0; i < 4; i++) {
			unsigned r = (unsigned)rand_r(&seed);

			bytes[i] =
			    (unsigned char)(r % 4 == 0 ? r >> 8
			                               : (r % 4 == 1 ? 0x80 | (r >> 8 & 0x3f)
			                                             : 0xc0 | (r >> 8 & 0x3f)));
		}
		memset(&state, 0, sizeof(state));
		glibc = mbrtowc(&wide, (const char *)bytes, 4, &state);
		ours = utf8_sequence(bytes);
		if (bytes[0] == 0)
			continue; /* a NUL is no sequence to mbrtowc (0), one byte to us */
		/* glibc also decodes 4-byte forms above U+10FFFF, which RFC 3629 forbids. */
		if (glibc == (size_t)-1 || glibc == (size_t)-2 || (uint32_t)wide > 0x10ffff ||
		    ((uint32_t)wide >= 0xd800 && (uint32_t)wide <= 0xdfff))
			glibc = 0;
		if (ours != glibc)
			cr_assert_fail("%02x %02x %02x %02x: ours %zu, glibc %zu", bytes[0],
			               bytes[1], bytes[2], bytes[3], ours, glibc);
	}
}
