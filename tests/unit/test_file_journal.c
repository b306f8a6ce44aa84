/*
 * test_file_journal.c - the journal of a plain file being written: a record a kill
 * tore is cut off at the next open, and nothing else ever is.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_journal.h"
#include "rmt/protocol.h"
#include "scratch_dir.h"

TestSuite(file_journal, .init = scratch_dir_make, .fini = scratch_dir_remove);

static bool journal_exists(const char *name)
{
	char journal[PATH_MAX];

	snprintf(journal, sizeof(journal), "%s%s", name, FILE_JOURNAL_SUFFIX);
	return faccessat(directory_fd, journal, F_OK, 0) == 0;
}

static int open_file(const char *name, int flags, struct stat *st)
{
	int fd = openat(directory_fd, name, flags | O_CREAT, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, st), 0);
	return fd;
}

static void append(int fd, size_t length)
{
	char buffer[4096];

	memset(buffer, 'r', sizeof(buffer));
	while (length > 0) {
		size_t n = length < sizeof(buffer) ? length : sizeof(buffer);

		cr_assert_eq(write(fd, buffer, n), (ssize_t)n);
		length -= n;
	}
}

static off_t size_of(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	return st.st_size;
}

/*
 * A writer that wrote records of 10240 bytes and was killed after torn_bytes of
 * the next one (the journal left as a kill leaves it).
 */
static int killed_writer(const char *name, int records, size_t torn_bytes)
{
	struct file_journal j;
	struct stat st;
	int fd = open_file(name, O_WRONLY, &st);

	file_journal_begin(&j, directory_fd, name, &st, name);
	cr_assert_not_null(j.page, "a journal is kept for a file being written");
	cr_assert(journal_exists(name));
	for (int i = 0; i < records; i++) {
		file_journal_writing(&j, 10240);
		append(fd, 10240);
		file_journal_written(&j, (uint64_t)size_of(fd));
	}
	file_journal_writing(&j, 10240);
	append(fd, torn_bytes);
	file_journal_drop(&j); /* no end: the process died */
	return fd;
}

Test(file_journal, a_torn_record_is_cut_at_the_next_open)
{
	int fd = killed_writer("torn", 3, 4096);
	struct stat st;

	cr_assert_eq(size_of(fd), 3 * 10240 + 4096);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(file_journal_recover(directory_fd, "torn", fd, O_WRONLY, &st, "torn"), 0);
	cr_assert_eq(st.st_size, 3 * 10240, "*st says the new length");
	cr_assert_eq(size_of(fd), 3 * 10240, "the file ends with its last whole record");
	cr_assert_not(journal_exists("torn"), "the journal goes once it has been acted on");
	close(fd);
}

Test(file_journal, a_reader_cuts_it_too_through_a_second_open)
{
	int fd = killed_writer("read", 2, 100);
	int reader;
	struct stat st;

	close(fd);
	reader = open_file("read", O_RDONLY, &st);
	cr_assert_eq(file_journal_recover(directory_fd, "read", reader, O_RDONLY, &st, "read"), 0);
	cr_assert_eq(size_of(reader), 2 * 10240);
	cr_assert_not(journal_exists("read"));
	close(reader);
}

Test(file_journal, whole_records_are_never_cut)
{
	struct stat st;
	int fd;

	/* killed between two records: nothing to cut */
	fd = killed_writer("between", 4, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(file_journal_recover(directory_fd, "between", fd, O_WRONLY, &st, "b"), 0);
	cr_assert_eq(size_of(fd), 4 * 10240);
	cr_assert_not(journal_exists("between"));
	close(fd);

	/* killed after the whole record was written, before the journal heard of it */
	fd = killed_writer("after", 1, 10240);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(file_journal_recover(directory_fd, "after", fd, O_WRONLY, &st, "a"), 0);
	cr_assert_eq(size_of(fd), 2 * 10240, "a whole record stays, acknowledged or not");
	close(fd);
}

Test(file_journal, a_clean_end_leaves_nothing_to_cut)
{
	struct file_journal j;
	struct stat st;
	int fd = open_file("clean", O_WRONLY, &st);

	file_journal_begin(&j, directory_fd, "clean", &st, "clean");
	file_journal_writing(&j, 10240);
	append(fd, 10240);
	file_journal_written(&j, 10240);
	cr_assert_eq(file_journal_end(&j, 10240), 0);
	cr_assert_not(journal_exists("clean"), "a clean close removes the journal");
	cr_assert_null(j.page);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(file_journal_recover(directory_fd, "clean", fd, O_WRONLY, &st, "clean"), 0);
	cr_assert_eq(size_of(fd), 10240);
	close(fd);
}

Test(file_journal, another_files_journal_cuts_nothing)
{
	int fd = killed_writer("victim", 1, 0), other;
	char from[PATH_MAX + 32], to[PATH_MAX + 32];
	struct stat st;

	/* The journal of "victim", put beside a different file of the same name. */
	close(fd);
	snprintf(from, sizeof(from), "%s/victim%s", directory, FILE_JOURNAL_SUFFIX);
	snprintf(to, sizeof(to), "%s/keep", directory);
	cr_assert_eq(rename(from, to), 0);
	/* the old file kept under another name, so that the new one has another inode */
	cr_assert_eq(renameat(directory_fd, "victim", directory_fd, "old"), 0);
	other = open_file("victim", O_WRONLY, &st);
	append(other, 5000);
	cr_assert_eq(rename(to, from), 0);
	cr_assert_eq(fstat(other, &st), 0);
	cr_assert_eq(file_journal_recover(directory_fd, "victim", other, O_WRONLY, &st, "v"), 0);
	cr_assert_eq(size_of(other), 5000, "a journal for another inode is not obeyed");
	cr_assert_not(journal_exists("victim"), "and is removed");
	close(other);
}

Test(file_journal, a_forged_journal_cuts_at_most_a_record)
{
	struct stat st;
	int fd = killed_writer("forged", 0, 0), journal;
	char name[PATH_MAX];
	uint64_t fields[2];

	append(fd, 40 << 20);
	/* whole = 0 and a record "in flight" larger than any the protocol allows */
	snprintf(name, sizeof(name), "forged%s", FILE_JOURNAL_SUFFIX);
	journal = openat(directory_fd, name, O_WRONLY);
	cr_assert_geq(journal, 0);
	fields[0] = 0;
	fields[1] = UINT64_MAX;
	cr_assert_eq(pwrite(journal, fields, sizeof(fields), 32), (ssize_t)sizeof(fields));
	close(journal);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(file_journal_recover(directory_fd, "forged", fd, O_WRONLY, &st, "f"), 0);
	cr_assert_eq(size_of(fd), 40 << 20, "no cut of more than the largest record");
	close(fd);
}

Test(file_journal, no_journal_no_change)
{
	struct stat st;
	int fd = open_file("plain", O_WRONLY, &st);

	append(fd, 777);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(file_journal_recover(directory_fd, "plain", fd, O_WRONLY, &st, "plain"), 0);
	cr_assert_eq(size_of(fd), 777);
	close(fd);
}

Test(file_journal, without_room_for_one_the_file_is_written_without)
{
	struct file_journal j;
	struct stat st;
	char longname[NAME_MAX + 1];
	int fd;

	/* a name that leaves no room for the suffix */
	memset(longname, 'n', NAME_MAX - 2);
	longname[NAME_MAX - 2] = '\0';
	fd = open_file(longname, O_WRONLY, &st);
	file_journal_begin(&j, directory_fd, longname, &st, "long");
	cr_assert_null(j.page);
	file_journal_writing(&j, 10);
	file_journal_written(&j, 10);
	cr_assert_eq(file_journal_end(&j, 10), 0);
	file_journal_drop(&j);
	close(fd);
}

/* The decision alone: every verdict, and its edges. */
Test(file_journal, judge_every_verdict)
{
	struct file_journal_page page, read;
	struct stat st = {.st_dev = 7, .st_ino = 42, .st_size = 30720};

	file_journal_page_init(&page, &st);
	cr_assert_eq(file_journal_judge(&page, sizeof(page), &st, &read), FILE_JOURNAL_WHOLE);
	cr_assert_eq(file_journal_judge(&page, sizeof(page) - 1, &st, &read), FILE_JOURNAL_FOREIGN,
	             "a short journal is none");
	cr_assert_eq(file_journal_judge(&page, 0, &st, &read), FILE_JOURNAL_FOREIGN);

	page.whole = 20480;
	page.in_flight = 10240;
	cr_assert_eq(file_journal_judge(&page, sizeof(page), &st, &read), FILE_JOURNAL_JUST_AFTER);
	page.in_flight = 10241;
	cr_assert_eq(file_journal_judge(&page, sizeof(page), &st, &read), FILE_JOURNAL_CUT);
	cr_assert_eq(read.whole, 20480);
	page.in_flight = RMT_MAX_RECORD_DEFAULT + 1ULL;
	cr_assert_eq(file_journal_judge(&page, sizeof(page), &st, &read), FILE_JOURNAL_UNSURE,
	             "no record is that long");
	page.in_flight = 0;
	cr_assert_eq(file_journal_judge(&page, sizeof(page), &st, &read), FILE_JOURNAL_UNSURE);
	page.whole = 40960;
	page.in_flight = 10240;
	cr_assert_eq(file_journal_judge(&page, sizeof(page), &st, &read), FILE_JOURNAL_UNSURE,
	             "a file shorter than its journal says is not cut further");

	file_journal_page_init(&page, &st);
	page.inode = 43;
	cr_assert_eq(file_journal_judge(&page, sizeof(page), &st, &read), FILE_JOURNAL_FOREIGN);
	file_journal_page_init(&page, &st);
	page.magic[0] ^= 1;
	cr_assert_eq(file_journal_judge(&page, sizeof(page), &st, &read), FILE_JOURNAL_FOREIGN);
}
