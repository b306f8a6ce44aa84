/*
 * counters.h - persistent per-drive and per-cartridge usage counters, and the
 * state-directory helpers they and the catalog share.
 *
 * A state directory (its path comes from the configuration) holds one small
 * text file per drive and per cartridge:
 *
 *   <state_dir>/drives/<safe name>.counters
 *   <state_dir>/cartridges/<safe name>.counters
 *   <state_dir>/cartridges/<safe name>.catalog      (catalog.h)
 *
 * Counter files are "key=value" lines an administrator can read and edit;
 * unknown keys are ignored, so newer files load in older daemons. Every save
 * replaces the file atomically (temporary file in the same directory, fsync,
 * rename, fsync of the directory): after a crash the previous or the new
 * version is there, never a torn one. Temporary files a crash leaves behind
 * (".<file>.XXXXXX") are never read.
 *
 * Saving does blocking I/O (two fsyncs): call it from the drive's worker or at
 * moments where a few milliseconds do not matter (close, filemark, unload),
 * not for every record.
 */
#ifndef RMTD_COUNTERS_H
#define RMTD_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct json_t; /* jansson.h */

/* Longest drive/cartridge name kept in a counters struct. */
#define COUNTERS_NAME_MAX 1024

enum counters_kind {
	COUNTERS_DRIVE,
	COUNTERS_CARTRIDGE,
};

/* What happened since the last add: all fields are increments. */
struct counters_delta {
	uint64_t bytes_written, bytes_read;
	uint64_t records_written, records_read;
	uint64_t files_written; /* filemarks written */
	uint64_t files_read;    /* filemarks read (tape files passed) */
	uint64_t times_full;    /* early warning / ENOSPC events */
	uint64_t errors;        /* device errors (EIO and the like) */
	uint64_t mounts;        /* opens of the drive / loads of the cartridge */
};

struct counters {
	enum counters_kind kind;
	char name[COUNTERS_NAME_MAX]; /* as the caller gave it */
	struct counters_delta totals;
	time_t first_use; /* 0: never used */
	time_t last_use;
};

/*
 * Load the counters of (kind, name) from state_dir into *out. A missing file
 * (or state directory) gives zeroed counters and 0. Lines that do not parse
 * are logged and skipped. Returns 0 or -errno (-EINVAL for an empty name,
 * -EFBIG for an oversized file).
 */
int counters_load(const char *state_dir, enum counters_kind kind, const char *name,
                  struct counters *out);

/*
 * Apply the text of a counters file (NUL-terminated; modified) to c: each valid
 * key=value line sets its counter, anything else is logged as at origin and
 * ignored. No I/O.
 */
void counters_parse(struct counters *c, char *text, const char *origin);

/* Room that counters_text() needs for any counters. */
#define COUNTERS_TEXT_SIZE (4096 + 4 * COUNTERS_NAME_MAX)

/* The file text counters_save() writes, into text. Returns its length or -ENAMETOOLONG. */
int counters_text(const struct counters *c, char *text, size_t size);

/* Start zeroed counters for (kind, name) without touching the disk. */
void counters_init(struct counters *c, enum counters_kind kind, const char *name);

/* Add a delta (saturating) and mark the use at now (first_use set once). */
void counters_add(struct counters *c, const struct counters_delta *delta, time_t now);

/* Write the counters atomically. Creates state_dir and its subdirectory. */
int counters_save(const char *state_dir, const struct counters *c);

/*
 * The counters as one JSON object (json_bytes.h's rule for the name), for the
 * control socket's drive reports. NULL: out of memory.
 */
struct json_t *counters_json(const struct counters *c);

const char *counters_kind_name(enum counters_kind kind);

#endif
