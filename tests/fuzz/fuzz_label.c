/*
 * fuzz_label.c - libFuzzer target for the tape content recogniser.
 *
 * The input is one record. Besides "no crash, no out-of-bounds read" it checks
 * what callers rely on: every text field is NUL-terminated inside its array,
 * the format name is set, and label_describe() never emits a control byte.
 * The second half of the input also goes through label_recognise_inner(), the
 * path an Amanda file's next record takes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "label.h"

#define TERMINATED(field) REQUIRE(memchr((field), '\0', sizeof(field)) != NULL)

static void check_content(const struct tape_content *c, bool found)
{
	char line[1024];

	REQUIRE(c->format_name != NULL);
	REQUIRE(found == (c->format != LABEL_FORMAT_UNKNOWN));
	TERMINATED(c->variant);
	TERMINATED(c->label);
	TERMINATED(c->host);
	TERMINATED(c->filesystem);
	TERMINATED(c->device);
	TERMINATED(c->member);
	TERMINATED(c->program);
	TERMINATED(c->compression);
	TERMINATED(c->inner_variant);
	if (!found)
		REQUIRE(c->level == -1 && c->label[0] == '\0' && c->date == 0);

	label_describe(c, line, sizeof(line));
	REQUIRE(strlen(line) < sizeof(line));
	for (const char *s = line; *s; s++)
		REQUIRE((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f);
	/* a tiny buffer is still terminated */
	label_describe(c, line, 7);
	REQUIRE(strlen(line) < 7);
	REQUIRE(label_operation(c, true) != NULL && label_operation(c, false) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tape_content content;
	bool found = label_recognise(data, size, &content);

	check_content(&content, found);
	if (found && size > 1) {
		label_recognise_inner(data + size / 2, size - size / 2, &content);
		REQUIRE(!content.next_record_wanted);
		check_content(&content, found);
	}
	return 0;
}
