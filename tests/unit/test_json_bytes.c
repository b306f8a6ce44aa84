/*
 * test_json_bytes.c - rmtd/json_bytes.c: raw bytes (labels read off a tape,
 * client paths) into the JSON of state files and reports. UTF-8 goes through
 * as it is; anything else becomes valid text with U+FFFD for each stray byte,
 * and, for json_set_bytes, "<key>_hex" keeps the exact bytes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_bytes.h"

#define FFFD "\xef\xbf\xbd"

static const char *string_of(json_t *obj, const char *key)
{
	json_t *value = json_object_get(obj, key);

	cr_assert_not_null(value, "no %s", key);
	cr_assert(json_is_string(value), "%s is not a string", key);
	return json_string_value(value);
}

Test(json_bytes, utf8_goes_through_as_it_is_and_gets_no_hex)
{
	json_t *obj = json_object();

	cr_assert(json_set_bytes(obj, "label", "VOL\xc3\xa9-001 \xe2\x82\xac"));
	cr_assert_str_eq(string_of(obj, "label"), "VOL\xc3\xa9-001 \xe2\x82\xac");
	cr_assert_null(json_object_get(obj, "label_hex"));
	json_decref(obj);
}

Test(json_bytes, each_stray_byte_becomes_one_replacement_character)
{
	json_t *obj = json_object();

	/* A Latin-1 e-acute, a lone continuation byte, a surrogate's encoding, an overlong slash.
	 */
	cr_assert(json_set_text(obj, "a", "caf\xe9"));
	cr_assert(json_set_text(obj, "b", "x\x80y"));
	cr_assert(json_set_text(obj, "c", "\xed\xa0\x80"));
	cr_assert(json_set_text(obj, "d", "\xc0\xaf"));
	cr_assert_str_eq(string_of(obj, "a"), "caf" FFFD);
	cr_assert_str_eq(string_of(obj, "b"), "x" FFFD "y");
	cr_assert_str_eq(string_of(obj, "c"), FFFD FFFD FFFD);
	cr_assert_str_eq(string_of(obj, "d"), FFFD FFFD);
	/* json_set_text never adds the hex. */
	cr_assert_null(json_object_get(obj, "a_hex"));
	json_decref(obj);
}

Test(json_bytes, set_bytes_keeps_the_exact_bytes_in_hex)
{
	json_t *obj = json_object();

	cr_assert(json_set_bytes(obj, "path", "t\xff\x01/\xe9"));
	cr_assert_str_eq(string_of(obj, "path"), "t" FFFD "\x01/" FFFD);
	cr_assert_str_eq(string_of(obj, "path_hex"), "74ff012fe9");
	json_decref(obj);
}

Test(json_bytes, null_is_json_null)
{
	json_t *obj = json_object();

	cr_assert(json_set_bytes(obj, "owner", NULL));
	cr_assert(json_set_text(obj, "host", NULL));
	cr_assert(json_is_null(json_object_get(obj, "owner")));
	cr_assert(json_is_null(json_object_get(obj, "host")));
	cr_assert_null(json_object_get(obj, "owner_hex"));
	json_decref(obj);
}

Test(json_bytes, every_single_byte_gives_valid_json_that_reads_back)
{
	for (int c = 1; c < 256; c++) {
		char value[2] = {(char)c, '\0'}, *line = NULL;
		size_t length = 0;
		FILE *out = open_memstream(&line, &length);
		json_t *obj = json_object(), *back;
		json_error_t error;

		cr_assert_not_null(out);
		cr_assert(json_set_bytes(obj, "v", value));
		cr_assert_eq(json_write_file(obj, out), 0);
		fclose(out);
		cr_assert_null(strchr(line, '\n'), "byte 0x%02x: a newline in the line", c);
		back = json_loads(line, 0, &error);
		cr_assert_not_null(back, "byte 0x%02x: %s: %s", c, line, error.text);
		if (c < 0x80) {
			cr_assert_str_eq(string_of(back, "v"), value);
		} else {
			char hex[3];

			snprintf(hex, sizeof(hex), "%02x", c);
			cr_assert_str_eq(string_of(back, "v"), FFFD);
			cr_assert_str_eq(string_of(back, "v_hex"), hex);
		}
		json_decref(back);
		free(line);
	}
}

Test(json_bytes, write_file_is_one_compact_line_in_insertion_order)
{
	char *line = NULL;
	size_t length = 0;
	FILE *out = open_memstream(&line, &length);
	json_t *obj = json_object();

	json_set_text(obj, "z", "1");
	json_set_text(obj, "a", "2");
	cr_assert_eq(json_write_file(obj, out), 0);
	fclose(out);
	cr_assert_str_eq(line, "{\"z\":\"1\",\"a\":\"2\"}");
	free(line);
}

Test(json_bytes, write_file_reports_a_missing_object_as_no_memory)
{
	FILE *out = fopen("/dev/null", "w");

	cr_assert_not_null(out);
	cr_assert_eq(json_write_file(NULL, out), -ENOMEM);
	fclose(out);
}
