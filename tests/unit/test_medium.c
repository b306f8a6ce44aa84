/*
 * test_medium.c - the drive's tape bookkeeping: a file's first record says what
 * it holds and starts its catalog entry, later records are counted into it,
 * filemarks move to the next file, a cut session cuts its file, a spliced
 * record is counted like any other, and failures are counted by kind.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drive.h"
#include "medium.h"

static char state_dir[PATH_MAX];
static struct drive *drive;

static void setup(void)
{
	char template[] = "/tmp/rmtd-medium-XXXXXX";

	cr_assert_not_null(mkdtemp(template));
	snprintf(state_dir, sizeof(state_dir), "%s", template);
	drive = calloc(1, sizeof(*drive));
	cr_assert_not_null(drive);
	strlcpy(drive->name, "/dev/nst0", sizeof(drive->name));
	drive->kind = DEVICE_KIND_TAPE;
	drive->device.is_tape = true;
	drive->device_open = true;
}

static void teardown(void)
{
	char command[PATH_MAX + 32];

	drive_accounting_stop(drive);
	free(drive);
	snprintf(command, sizeof(command), "rm -rf '%s'", state_dir);
	cr_assert_eq(system(command), 0);
}

TestSuite(medium, .init = setup, .fini = teardown);

/* A tar header (GNU magic) with name and typeflag; checksum set. */
static void tar_header(uint8_t *h, const char *name, char type)
{
	uint32_t sum = 0;

	memset(h, 0, 512);
	memcpy(h, name, strlen(name));
	memcpy(h + 100, "0000644", 7);
	memcpy(h + 124, "00000000000", 11);
	memcpy(h + 136, "14530035327", 11);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar  \0", 8);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/* The device opened at the beginning of the tape (file 0, block 0). */
static void open_at_bot(void)
{
	struct mtget status = {.mt_fileno = 0, .mt_blkno = 0};

	medium_opened(drive);
	medium_position(drive, &status);
}

Test(medium, the_first_record_names_the_file_and_the_cartridge)
{
	static uint8_t record[10240], data[10240];
	const struct catalog_entry *entry;

	drive_accounting_start(drive, state_dir, NULL);
	open_at_bot();
	tar_header(record, "weekly-7", 'V');
	cr_assert(medium_record(drive, record, sizeof(record), true));
	cr_assert_str_eq(drive->medium.format, "tar");
	cr_assert_str_eq(drive->medium.label, "weekly-7");
	cr_assert_not_null(strstr(drive->medium.description, "weekly-7"), "%s",
	                   drive->medium.description);
	/* A real cartridge is known by that label: its catalog starts with this file. */
	cr_assert(drive->has_cartridge);
	cr_assert_str_eq(drive->catalog.cartridge, "weekly-7");
	memset(data, 'x', sizeof(data));
	cr_assert_not(medium_record(drive, data, sizeof(data), true));
	cr_assert_not(medium_record(drive, data, 512, true));
	entry = catalog_find(&drive->catalog, 0);
	cr_assert_not_null(entry);
	cr_assert_eq(entry->records, 3);
	cr_assert_eq(entry->bytes, 2 * 10240 + 512);
	cr_assert_eq(drive->since_start.totals.records_written, 3);
	cr_assert_eq(drive->counters.totals.bytes_written, 2 * 10240 + 512);
	cr_assert(drive->medium.wrote_since_mark);
}

Test(medium, a_filemark_starts_the_next_file)
{
	static uint8_t record[10240], data[512];

	open_at_bot();
	tar_header(record, "first", '0');
	cr_assert(medium_record(drive, record, sizeof(record), true));
	medium_filemarks(drive, true, 1);
	cr_assert_eq(drive->medium.file_number, 1);
	cr_assert(drive->medium.at_file_start);
	cr_assert_not(drive->medium.wrote_since_mark);
	cr_assert_eq(drive->since_start.totals.files_written, 1);
	/* What status shows stays until another file is recognised. */
	cr_assert_str_eq(drive->medium.format, "tar");
	memset(data, 0xa5, sizeof(data));
	cr_assert_not(medium_record(drive, data, sizeof(data), true));
	cr_assert_null(drive->medium.format);
	cr_assert_str_eq(drive->medium.description, "");
}

Test(medium, a_position_inside_a_file_recognises_nothing)
{
	static uint8_t record[10240];
	struct mtget status = {.mt_fileno = 2, .mt_blkno = 7};

	medium_opened(drive);
	medium_position(drive, &status);
	tar_header(record, "middle", '0');
	cr_assert_not(medium_record(drive, record, sizeof(record), false));
	cr_assert_eq(drive->medium.file_number, 2);
	cr_assert_eq(drive->since_start.totals.records_read, 1);
}

Test(medium, a_cut_session_cuts_its_file_and_a_close_ends_it)
{
	static uint8_t record[10240];
	const struct catalog_entry *entry;

	drive_accounting_start(drive, state_dir, "cart-1");
	open_at_bot();
	tar_header(record, "a", '0');
	medium_record(drive, record, sizeof(record), true);
	medium_closed(drive, false);
	cr_assert_not(drive->device_open);
	cr_assert_eq(drive->since_start.totals.files_written, 1); /* the close's filemark */

	/* The catalog was saved at the filemark: the file is there, cut. */
	struct catalog saved;

	cr_assert_eq(catalog_load(state_dir, "cart-1", &saved), 0);
	entry = catalog_find(&saved, 0);
	cr_assert_not_null(entry);
	cr_assert_not(entry->complete);
	catalog_free(&saved);

	drive->device_open = true;
	drive_accounting_start(drive, state_dir, "cart-1");
	open_at_bot();
	medium_record(drive, record, sizeof(record), true);
	medium_closed(drive, true);
	cr_assert_eq(catalog_load(state_dir, "cart-1", &saved), 0);
	entry = catalog_find(&saved, 0);
	cr_assert_not_null(entry);
	cr_assert(entry->complete);
	catalog_free(&saved);
}

Test(medium, a_record_that_never_passed_through_memory_is_counted)
{
	drive->device.is_tape = false;
	drive->kind = DEVICE_KIND_FILE;
	medium_opened(drive);
	cr_assert_not(medium_record(drive, NULL, 1 << 20, false));
	cr_assert_eq(drive->since_start.totals.records_read, 1);
	cr_assert_eq(drive->since_start.totals.bytes_read, 1 << 20);
}

Test(medium, failures_are_counted_by_kind)
{
	medium_opened(drive);
	medium_failure(drive, ENOSPC);
	medium_failure(drive, EIO);
	medium_failure(drive, ENOTTY); /* a file's answer to a tape request: no error */
	cr_assert_eq(drive->since_start.totals.times_full, 1);
	cr_assert_eq(drive->since_start.totals.errors, 1);
	cr_assert_not(drive->medium.no_medium);
	medium_failure(drive, ENOMEDIUM);
	cr_assert(drive->medium.no_medium);
	medium_success(drive);
	cr_assert_not(drive->medium.no_medium);
}
