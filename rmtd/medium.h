/*
 * medium.h - what a drive knows of the medium in it: the tape file and whether
 * the head is at its start, what the current file holds, and the drive's
 * counters and catalog as records and filemarks pass.
 *
 * The session says what moved (a record, filemarks, a position the device
 * reported, a failure); the bookkeeping is the drive's, so every route a record
 * takes is counted and catalogued the same way.
 */
#ifndef RMTD_MEDIUM_H
#define RMTD_MEDIUM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/mtio.h>

#include "label.h"

struct drive;

#define MEDIUM_DESCRIPTION_MAX 160

struct medium {
	int file_number;       /* tape file at the last call that moved the tape, -1 unknown */
	bool at_file_start;    /* the next record begins a file: recognise what it holds */
	bool wrote_since_mark; /* closing will write a filemark */
	bool no_medium;        /* the last call found no cartridge: an operator must load one */
	struct tape_content content; /* the current file's, as far as recognised */
	/* The file last recognised, until another one is: what status shows. */
	char description[MEDIUM_DESCRIPTION_MAX]; /* label_describe(), "" when unknown */
	const char *format;                       /* "dump", "tar"... (static), NULL when unknown */
	char label[LABEL_TEXT_MAX];               /* its volume label, "" when none */
	uint64_t texts_changed; /* bumped when description, format or label change */
};

/* The device was opened: nothing is known of where it is or what it holds. */
void medium_opened(struct drive *drive);
/* A call that moves a tape reported where it is now (MTIOCGET). */
void medium_position(struct drive *drive, const struct mtget *status);
/*
 * A record of length bytes was written or read: counted for the drive, and on a
 * tape noted for the catalog. record is NULL when the data never passed through
 * memory (it is counted, not recognised). True when this record made what the
 * current file holds known (medium->content).
 */
bool medium_record(struct drive *drive, const void *record, size_t length, bool writing);
/* count filemarks were written or read: the next record starts a file. */
void medium_filemarks(struct drive *drive, bool written, int count);
/*
 * The device was closed: a written tape got its filemark. asked: the client
 * closed it (its archive ends); otherwise the session was cut and so is the file.
 */
void medium_closed(struct drive *drive, bool asked);
/*
 * A library took the cartridge out of the open drive (mt offline): a file
 * written on it got its filemark at the unload. Its save comes with the switch.
 */
void medium_cartridge_left(struct drive *drive);
/* A device call failed with error: end of medium and device errors are counted. */
void medium_failure(struct drive *drive, int error);
/* A device call succeeded: a cartridge is there. */
void medium_success(struct drive *drive);

#endif
