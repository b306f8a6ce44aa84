/*
 * fuzz_catalog.c - libFuzzer target for the files rmtd keeps per cartridge and
 * drive: the catalog's JSON lines (rmtd/catalog_file.c, through jansson) and the
 * counters' key=value lines (rmtd/counters.c). A crash while writing, a full
 * disk or an administrator's editor can leave anything in them, and rmtd reads
 * them back at every mount.
 *
 * The whole input is replayed as a catalog file and parsed as a counters file,
 * in memory (the same code catalog_load() and counters_load() run on what they
 * read). Besides "never crash", it checks what a later load relies on: the
 * entries come out in file order, and what rmtd would write for the result
 * reads back as exactly that result (for the catalog, the same text again,
 * with nothing left to repair).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "counters.h"
#include "fuzz_common.h"

static void replay(const char *text, size_t length, struct catalog *cat)
{
	REQUIRE(catalog_init(cat, "fuzz") == 0);
	REQUIRE(catalog_replay(cat, text, length, "fuzz.catalog") == 0);
	REQUIRE(cat->count <= CATALOG_MAX_FILES);
	for (size_t i = 1; i < cat->count; i++)
		REQUIRE(cat->entries[i - 1].file_number < cat->entries[i].file_number);
}

static void catalog_round_trip(const uint8_t *data, size_t size)
{
	struct catalog first, again;
	char *text, *text_again;
	size_t length, length_again;

	replay((const char *)data, size, &first);
	REQUIRE(catalog_text(&first, &text, &length) == 0);
	replay(text, length, &again);
	REQUIRE(!again.needs_rewrite);
	REQUIRE(again.count == first.count);
	REQUIRE(catalog_text(&again, &text_again, &length_again) == 0);
	REQUIRE(length_again == length && memcmp(text_again, text, length) == 0);
	free(text);
	free(text_again);
	catalog_free(&first);
	catalog_free(&again);
}

static void counters_round_trip(const uint8_t *data, size_t size)
{
	static char copy[65536 + 1], text[COUNTERS_TEXT_SIZE];
	struct counters first, again;
	size_t length = size < sizeof(copy) - 1 ? size : sizeof(copy) - 1;
	int n;

	memcpy(copy, data, length);
	copy[length] = '\0';
	counters_init(&first, COUNTERS_DRIVE, "fuzz");
	counters_parse(&first, copy, "fuzz.counters");
	n = counters_text(&first, text, sizeof(text));
	REQUIRE(n > 0 && (size_t)n < sizeof(text) && text[n] == '\0');
	counters_init(&again, COUNTERS_DRIVE, "fuzz");
	counters_parse(&again, text, "written");
	REQUIRE(memcmp(&again.totals, &first.totals, sizeof(first.totals)) == 0);
	REQUIRE(again.first_use == first.first_use);
	REQUIRE(again.last_use == first.last_use);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	catalog_round_trip(data, size);
	counters_round_trip(data, size);
	return 0;
}
