/*
 * medium.c - the drive's tape bookkeeping (see medium.h): file numbers, label
 * recognition, counters and catalog updates.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "drive.h"
#include "medium.h"

void medium_opened(struct drive *drive)
{
	struct medium *m = &drive->medium;

	m->file_number = -1;
	m->at_file_start = false;
	m->wrote_since_mark = false;
	m->no_medium = false;
	m->description[0] = '\0';
	m->format = NULL;
	m->label[0] = '\0';
	m->texts_changed++;
	label_clear(&m->content);
}

/*
 * Only calls that move the tape report it: MTIOCGET between reads would drop
 * st's fixed-block read-ahead. A new file begins at block 0.
 */
void medium_position(struct drive *drive, const struct mtget *status)
{
	struct medium *m = &drive->medium;

	m->file_number = status->mt_fileno;
	m->at_file_start = status->mt_blkno == 0;
	if (m->at_file_start)
		label_clear(&m->content);
}

/* The first record of a tape file says what the file holds (label.c). */
static bool medium_first_record(struct drive *drive, const void *record, size_t length,
                                bool writing)
{
	struct medium *m = &drive->medium;

	bool known;

	m->at_file_start = false;
	m->texts_changed++;
	known = label_recognise(record, length, &m->content);
	m->format = known ? m->content.format_name : NULL;
	strlcpy(m->label, known ? m->content.label : "", sizeof(m->label));
	if (known) {
		label_describe(&m->content, m->description, sizeof(m->description));
		/* A real cartridge is known by the label on its first file. */
		if (m->file_number == 0 && m->content.label[0] != '\0')
			drive_accounting_cartridge(drive, m->content.label);
	} else {
		m->description[0] = '\0';
	}
	if (drive->has_cartridge && m->file_number >= 0) {
		/* Writing a file's first record makes it the last file: the rest is gone. */
		if (writing)
			catalog_truncate(&drive->catalog, (uint64_t)m->file_number);
		catalog_file_begin(&drive->catalog, (uint64_t)m->file_number, &m->content, length,
		                   writing, time(NULL));
	}
	return known;
}

bool medium_record(struct drive *drive, const void *record, size_t length, bool writing)
{
	struct medium *m = &drive->medium;
	struct counters_delta delta = {0};

	if (writing) {
		delta.bytes_written = length;
		delta.records_written = 1;
	} else {
		delta.bytes_read = length;
		delta.records_read = 1;
	}
	drive_count(drive, &delta);
	if (!drive->device.is_tape || length == 0)
		return false;
	if (writing)
		m->wrote_since_mark = true;
	if (m->at_file_start && record != NULL)
		return medium_first_record(drive, record, length, writing);
	m->at_file_start = false;
	if (m->content.next_record_wanted && record != NULL)
		label_recognise_inner(record, length, &m->content);
	if (drive->has_cartridge && m->file_number >= 0)
		catalog_file_record(&drive->catalog, (uint64_t)m->file_number, length);
	return false;
}

static void medium_count_filemarks(struct drive *drive, bool written, int count)
{
	struct medium *m = &drive->medium;
	struct counters_delta delta = {0};

	if (written)
		delta.files_written = (uint64_t)count;
	else
		delta.files_read = (uint64_t)count;
	drive_count(drive, &delta);
	if (drive->has_cartridge && m->file_number >= 0)
		catalog_file_end(&drive->catalog, (uint64_t)m->file_number);
	m->at_file_start = true;
	m->wrote_since_mark = false;
	if (m->file_number >= 0)
		m->file_number += count;
	label_clear(&m->content);
}

void medium_filemarks(struct drive *drive, bool written, int count)
{
	if (!drive->device.is_tape || count <= 0)
		return;
	medium_count_filemarks(drive, written, count);
	/* A filemark is a point where a real drive's data is safe: so are the counters. */
	drive_accounting_save(drive);
}

void medium_closed(struct drive *drive, bool asked)
{
	struct medium *m = &drive->medium;

	if (drive->device.is_tape && m->wrote_since_mark) {
		/* A killed, vanished or shut-down session cuts its file, filemark or not. */
		if (!asked && drive->has_cartridge && m->file_number >= 0)
			catalog_file_cut(&drive->catalog, (uint64_t)m->file_number);
		medium_count_filemarks(drive, true, 1);
	}
	/* Saved as the drive lets the cartridge go (one save, not two). */
	drive_accounting_stop(drive);
	drive->device_open = false;
}

void medium_cartridge_left(struct drive *drive)
{
	if (drive->device.is_tape && drive->medium.wrote_since_mark)
		medium_count_filemarks(drive, true, 1);
}

void medium_failure(struct drive *drive, int error)
{
	struct counters_delta delta = {0};

	/* No cartridge in the drive: the session waits for an operator to load one. */
	drive->medium.no_medium = error == ENOMEDIUM;
	if (error == ENOSPC)
		delta.times_full = 1;
	else if (error == EIO || error == ENXIO || error == ENOMEDIUM || error == EMEDIUMTYPE)
		delta.errors = 1;
	else
		return;
	drive_count(drive, &delta);
}

void medium_success(struct drive *drive)
{
	drive->medium.no_medium = false;
}
