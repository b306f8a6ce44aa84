/*
 * fuzz_journal.c - libFuzzer target for the judgement of a plain file's journal
 * (rmtd/file_journal_judge.c), which the next open takes on bytes a killed writer
 * (or anyone) left beside the file.
 *
 * The first 24 bytes are the file's st_dev, st_ino and st_size; the rest are the
 * journal's bytes. Whatever they hold, the only verdict that changes the file (CUT)
 * takes it back to a length that is shorter by less than the record in flight, and
 * that record no longer than any the protocol allows; and only a journal written for
 * this very file is obeyed. The input's values are then put into a well-made
 * journal for the file, which is never judged foreign and keeps the same promises.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_journal.h"
#include "rmt/protocol.h"
#include "fuzz_common.h"

/* Each verdict's own promise, for a journal it was given for this file. */
static void check_verdict(enum file_journal_verdict verdict, const struct file_journal_page *page,
                          const struct stat *st)
{
	uint64_t size = (uint64_t)st->st_size;

	if (verdict == FILE_JOURNAL_FOREIGN)
		return;
	/* obeyed only when written for this file */
	REQUIRE(page->device == (uint64_t)st->st_dev && page->inode == (uint64_t)st->st_ino);
	REQUIRE(memcmp(page->magic, "rmtd journal 1\n", 16) == 0);
	switch (verdict) {
	case FILE_JOURNAL_WHOLE:
		REQUIRE(page->whole == size);
		break;
	case FILE_JOURNAL_CUT: /* less than the record in flight, and that a possible record */
		REQUIRE(page->whole < size);
		REQUIRE(size - page->whole < page->in_flight);
		REQUIRE(page->in_flight <= RMT_MAX_RECORD_DEFAULT);
		break;
	case FILE_JOURNAL_JUST_AFTER:
		REQUIRE(page->whole < size && size - page->whole == page->in_flight);
		break;
	case FILE_JOURNAL_UNSURE: /* nothing it could safely cut, nor a clean end */
		REQUIRE(page->whole != size);
		REQUIRE(page->whole > size || size - page->whole > page->in_flight ||
		        page->in_flight > RMT_MAX_RECORD_DEFAULT);
		break;
	case FILE_JOURNAL_FOREIGN:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct file_journal_page page, made;
	enum file_journal_verdict verdict;
	uint64_t fields[3] = {0, 0, 0};
	struct stat st;

	memcpy(fields, data, size < sizeof(fields) ? size : sizeof(fields));
	data += size < sizeof(fields) ? size : sizeof(fields);
	size -= size < sizeof(fields) ? size : sizeof(fields);
	memset(&st, 0, sizeof(st));
	st.st_dev = (dev_t)fields[0];
	st.st_ino = (ino_t)fields[1];
	st.st_size = (off_t)(fields[2] & INT64_MAX); /* a file's length is never negative */

	verdict = file_journal_judge(data, size, &st, &page);
	check_verdict(verdict, &page, &st);
	if (size != sizeof(page))
		REQUIRE(verdict == FILE_JOURNAL_FOREIGN);

	/* The same lengths in a journal made for this file: never foreign. */
	file_journal_page_init(&made, &st);
	REQUIRE((uint64_t)made.whole == (uint64_t)st.st_size && made.in_flight == 0);
	REQUIRE(file_journal_judge(&made, sizeof(made), &st, &page) == FILE_JOURNAL_WHOLE);
	if (size >= 2 * sizeof(uint64_t)) {
		memcpy(&made.whole, data, sizeof(made.whole));
		memcpy(&made.in_flight, data + sizeof(made.whole), sizeof(made.in_flight));
	}
	verdict = file_journal_judge(&made, sizeof(made), &st, &page);
	REQUIRE(verdict != FILE_JOURNAL_FOREIGN);
	check_verdict(verdict, &page, &st);
	return 0;
}
