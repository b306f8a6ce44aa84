/*
 * fuzz_library.c - libFuzzer target for a tape library's cartridge database as
 * text (rmtd/library.c: library_db_parse, library_db_format) and for element
 * addresses as operators type them ("slot 3", "d:0").
 *
 * Input: [u8 shape][database text]. The text is read into a library of one of
 * a few shapes, as library_runtime.c reads the saved database at start. Besides
 * "never crash", it checks what the library's bookkeeping relies on: every
 * barcode held is valid and in one element at most, the counts stay within
 * their arrays, and the text rmtd saves for the result reads back with no bad
 * line into a database that saves as the same text. Each line of the input is
 * also parsed as an element address, which must format and parse back to itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "library.h"
#include "fuzz_common.h"

static const struct {
	int drives, slots, portals;
} shapes[] = {{1, 1, 0},
              {2, 10, 1},
              {4, 40, 2},
              {LIBRARY_DRIVES_MAX, LIBRARY_SLOTS_MAX, LIBRARY_PORTALS_MAX}};

static void held_once(const struct library_element *e, int count, const char **seen, int *n)
{
	for (int i = 0; i < count; i++) {
		if (e[i].barcode[0] == '\0')
			continue;
		REQUIRE(library_barcode_valid(e[i].barcode));
		for (int k = 0; k < *n; k++)
			REQUIRE(strcmp(seen[k], e[i].barcode) != 0);
		seen[(*n)++] = e[i].barcode;
	}
}

static void check_state(const struct library_state *lib)
{
	static const char *seen[LIBRARY_CARTRIDGES_MAX];
	int n = 0;

	REQUIRE(lib->cartridge_count >= 0 && lib->cartridge_count <= LIBRARY_CARTRIDGES_MAX);
	REQUIRE(lib->continue_count >= 0 && lib->continue_count <= LIBRARY_CONTINUES_MAX);
	held_once(lib->drives, lib->drive_count, seen, &n);
	held_once(lib->slots, lib->slot_count, seen, &n);
	held_once(lib->portals, lib->portal_count, seen, &n);
	for (int i = 0; i < lib->cartridge_count; i++)
		REQUIRE(library_barcode_valid(lib->cartridges[i].barcode));
}

static void address_round_trip(const char *line)
{
	struct element_address a, b;
	char text[64];

	if (library_parse_address(line, &a) < 0)
		return;
	REQUIRE(a.number >= 0 && a.number <= 100000);
	library_format_address(&a, text, sizeof(text));
	REQUIRE(library_parse_address(text, &b) == 0);
	REQUIRE(a.kind == b.kind && a.number == b.number);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct library_state first, again;
	static char line[256];
	const char *text = (const char *)data + 1;
	size_t length = size > 0 ? size - 1 : 0;
	char *saved, *saved_again;
	size_t saved_length, saved_again_length;
	int shape, bad;

	if (size == 0)
		return 0;
	shape = data[0] % (int)(sizeof(shapes) / sizeof(shapes[0]));
	REQUIRE(library_init(&first, "fuzz", shapes[shape].drives, shapes[shape].slots,
	                     shapes[shape].portals) == 0);
	REQUIRE(library_db_parse(&first, text, length, &bad) == 0);
	REQUIRE(bad >= 0);
	check_state(&first);

	REQUIRE(library_db_format(&first, &saved, &saved_length) == 0);
	REQUIRE(library_init(&again, "fuzz", shapes[shape].drives, shapes[shape].slots,
	                     shapes[shape].portals) == 0);
	REQUIRE(library_db_parse(&again, saved, saved_length, &bad) == 0);
	REQUIRE(bad == 0);
	REQUIRE(library_db_format(&again, &saved_again, &saved_again_length) == 0);
	REQUIRE(saved_again_length == saved_length &&
	        memcmp(saved_again, saved, saved_length) == 0);
	free(saved);
	free(saved_again);

	for (size_t at = 0; at < length;) {
		const char *end = memchr(text + at, '\n', length - at);
		size_t n = end != NULL ? (size_t)(end - (text + at)) : length - at;

		if (n < sizeof(line) && memchr(text + at, '\0', n) == NULL) {
			memcpy(line, text + at, n);
			line[n] = '\0';
			address_round_trip(line);
		}
		at += n + 1;
	}
	return 0;
}
