/*
 * test_escape.c - rmtd/escape.c: how bytes from outside are shown in logs,
 * status files and reports. The promises of escape.h: printable ASCII as it
 * is, the three usual escapes, \ooo for every other byte, a doubled backslash
 * unless the text is already escaped, and a cut that never splits an escape.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "escape.h"

static const char *shown(const void *in, size_t length, int flags)
{
	static char out[1024];

	return escape_bytes(out, sizeof(out), in, length, flags);
}

Test(escape, printable_ascii_is_left_as_it_is)
{
	char all[0x7f - 0x20 + 1];

	for (int c = 0x20; c < 0x7f; c++)
		all[c - 0x20] = (char)c;
	all[sizeof(all) - 1] = '\0';
	/* The backslash is the one printable byte that changes. */
	cr_assert_str_eq(shown("/dev/nst0 tape-01.tap", 21, 0), "/dev/nst0 tape-01.tap");
	cr_assert_eq(strlen(shown(all, sizeof(all) - 1, 0)), sizeof(all) - 1 + 1);
	cr_assert_str_eq(shown(all, sizeof(all) - 1, ESCAPE_KEEP_BACKSLASH), all);
}

Test(escape, line_breaks_and_tabs_get_their_usual_escapes)
{
	cr_assert_str_eq(shown("a\nb\tc\rd", 7, 0), "a\\nb\\tc\\rd");
	/* A forged second log line stays on the first. */
	cr_assert_null(strchr(shown("x\nrmtd: session 1: fake", 23, 0), '\n'));
}

Test(escape, every_other_control_byte_and_every_high_byte_is_octal)
{
	for (int c = 0; c < 256; c++) {
		unsigned char byte = (unsigned char)c;
		char want[8];

		if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' || c == '\r')
			continue;
		snprintf(want, sizeof(want), "\\%03o", c);
		cr_assert_str_eq(shown(&byte, 1, 0), want, "byte 0x%02x", c);
		cr_assert_str_eq(shown(&byte, 1, ESCAPE_KEEP_BACKSLASH), want, "byte 0x%02x", c);
	}
}

Test(escape, a_bidirectional_override_never_reaches_a_terminal_whole)
{
	/* U+202E RIGHT-TO-LEFT OVERRIDE, and a C1 control (U+009B CSI) in UTF-8. */
	cr_assert_str_eq(shown("a\xe2\x80\xaeZ", 5, 0), "a\\342\\200\\256Z");
	cr_assert_str_eq(shown("\xc2\x9b"
	                       "31m",
	                       5, 0),
	                 "\\302\\23331m");
	cr_assert_str_eq(shown("\x1b[2J", 4, 0), "\\033[2J");
}

Test(escape, a_backslash_is_doubled_unless_the_text_is_already_escaped)
{
	cr_assert_str_eq(shown("C:\\tapes", 8, 0), "C:\\\\tapes");
	cr_assert_str_eq(shown("C:\\tapes", 8, ESCAPE_KEEP_BACKSLASH), "C:\\tapes");
	/* Escaping twice with the flag changes nothing more. */
	cr_assert_str_eq(shown("a\\nb", 4, ESCAPE_KEEP_BACKSLASH), "a\\nb");
}

Test(escape, nul_bytes_inside_the_length_are_shown)
{
	cr_assert_str_eq(shown("a\0b", 3, 0), "a\\000b");
}

Test(escape, a_cut_falls_between_escapes_and_the_output_is_terminated)
{
	const char *in = "ab\001cd";
	char out[16];

	for (size_t size = 1; size <= sizeof(out); size++) {
		const char *full = "ab\\001cd";
		size_t got;

		memset(out, 'X', sizeof(out));
		escape_bytes(out, size, in, strlen(in), 0);
		got = strlen(out);
		cr_assert_lt(got, size, "size %zu", size);
		/* A prefix of the whole, ending at an escape's boundary. */
		cr_assert_eq(strncmp(out, full, got), 0, "size %zu: %s", size, out);
		cr_assert(got == 0 || got == 1 || got == 2 || got == 6 || got == 7 || got == 8,
		          "size %zu cut inside an escape: %s", size, out);
		/* Nothing written past the buffer's end. */
		if (size < sizeof(out))
			cr_assert_eq(out[size], 'X', "size %zu", size);
	}
}

Test(escape, a_zero_sized_buffer_is_left_alone)
{
	char out[1] = {'X'};

	cr_assert_eq(escape_bytes(out, 0, "abc", 3, 0), out);
	cr_assert_eq(out[0], 'X');
}

Test(escape, the_worst_case_fits_four_times_the_input)
{
	unsigned char in[256];
	char out[4 * sizeof(in) + 1];

	memset(in, 0xff, sizeof(in));
	escape_bytes(out, sizeof(out), in, sizeof(in), 0);
	cr_assert_eq(strlen(out), 4 * sizeof(in));
}

Test(escape, escape_text_shows_null_as_empty)
{
	char out[8] = "junk";

	cr_assert_str_eq(escape_text(out, sizeof(out), NULL), "");
	cr_assert_str_eq(escape_text(out, sizeof(out), "a\tb"), "a\\tb");
}
