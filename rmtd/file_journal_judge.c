/*
 * file_journal_judge.c - what a plain file's journal says, without I/O: its layout
 * and the decision the next open takes on it (file_journal.h), apart from the file
 * access so that it is fuzzed (fuzz_journal).
 */
#include <string.h>

#include <rmt/protocol.h>

#include "file_journal.h"

#define JOURNAL_MAGIC "rmtd journal 1\n"

void file_journal_page_init(struct file_journal_page *page, const struct stat *st)
{
	memset(page, 0, sizeof(*page));
	memcpy(page->magic, JOURNAL_MAGIC, sizeof(page->magic));
	page->device = (uint64_t)st->st_dev;
	page->inode = (uint64_t)st->st_ino;
	page->whole = (uint64_t)st->st_size;
}

enum file_journal_verdict file_journal_judge(const void *bytes, size_t length,
                                             const struct stat *st, struct file_journal_page *page)
{
	uint64_t size = (uint64_t)st->st_size;

	memset(page, 0, sizeof(*page));
	if (length != sizeof(*page))
		return FILE_JOURNAL_FOREIGN;
	memcpy(page, bytes, sizeof(*page));
	if (memcmp(page->magic, JOURNAL_MAGIC, sizeof(page->magic)) != 0 ||
	    page->device != (uint64_t)st->st_dev || page->inode != (uint64_t)st->st_ino)
		return FILE_JOURNAL_FOREIGN;
	if (page->whole == size)
		return FILE_JOURNAL_WHOLE;
	if (page->whole > size)
		return FILE_JOURNAL_UNSURE; /* shorter than it was: cut by someone else */
	/* A kill inside write(2) leaves less than the record: never cut more than that. */
	if (size - page->whole < page->in_flight && page->in_flight <= RMT_MAX_RECORD_DEFAULT)
		return FILE_JOURNAL_CUT;
	if (size - page->whole == page->in_flight)
		return FILE_JOURNAL_JUST_AFTER;
	return FILE_JOURNAL_UNSURE;
}
