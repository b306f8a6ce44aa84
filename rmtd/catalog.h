/*
 * catalog.h - what is on each cartridge, file by file, kept across restarts.
 *
 * A catalog belongs to one cartridge (a virtual tape image, or a real
 * cartridge known by its label or an administrator's name). It has one entry
 * per tape file: file number, format, variant, label, host, file system,
 * device, first member, level, dates, volume, size in bytes and records, and
 * the size of the first record. The session fills it as files pass:
 *
 *   catalog_file_begin()  when a file's first record was written or read and
 *                         label_recognise() looked at it (writing file k also
 *                         forgets files k and later: the tape ends there now);
 *   catalog_file_record() for each further record of that file;
 *   catalog_file_end()    at the filemark (written or read);
 *   catalog_save()        at file end, close or unload.
 *
 * On disk: <state_dir>/cartridges/<safe name>.catalog, JSON lines. Line one is
 * {"rmtd_catalog":2,"cartridge":"..."}; every other line is an entry object,
 * or {"truncate":k} (files k and later are gone). Loading replays the lines in
 * order, so a save can append just the changed entries (one write + fsync)
 * instead of rewriting a long catalog; the file is rewritten atomically (temp
 * file, fsync, rename) when it is new, has grown to twice its entries, or a
 * torn last line (crash during an append) was found. A torn or malformed line
 * is skipped on load; every complete line before it counts.
 *
 * Strings are raw tape bytes. A string that is UTF-8 is written as it is; any
 * other is written as text with U+FFFD for the bytes that are not UTF-8 and,
 * beside it, "<key>_hex" with all its bytes in hex (e.g. "label_hex"), which
 * the loader prefers. The control socket's JSON has the same shape. Version 1
 * files wrote such bytes as \u00XX instead; they are still read (as the bytes
 * they were) and rewritten as version 2 at the next save.
 */
#ifndef RMTD_CATALOG_H
#define RMTD_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "label.h"

/* Bounds on what a catalog may hold (a tape has at most a few 100000 files). */
#define CATALOG_MAX_FILES      1000000
#define CATALOG_MAX_FILE_BYTES (256u * 1024 * 1024)

struct catalog_entry {
	uint64_t file_number; /* 0 = first file after BOT */
	char format[16];      /* "dump", "tar", ..., "unknown" */
	char variant[LABEL_VARIANT_MAX];
	char *label, *host, *filesystem, *device, *member; /* malloc'd; NULL: none */
	char *compression; /* "compressed" (dump -z), "gzip", ...; malloc'd; NULL: none */
	int level;         /* -1: none */
	time_t date;       /* 0: none */
	time_t previous_date;
	int volume; /* 0: not stated */
	bool continuation;
	uint64_t offset; /* continuation offset */
	uint64_t bytes;  /* bytes in the file (so far, until complete) */
	uint64_t records;
	uint32_t record_size; /* length of the first record */
	bool complete;        /* it ended normally (the writer closed it or wrote its filemark),
	                         or its filemark was read: bytes/records are the size */
	bool written;         /* we saw it written (not only read) */
	time_t seen;          /* when its first record passed */

	/* not stored */
	bool counting; /* records are being added to bytes/records */
	bool dirty;    /* changed since the last save */
};

struct catalog {
	char *cartridge;               /* malloc'd name */
	struct catalog_entry *entries; /* sorted by file_number */
	size_t count, capacity;

	/* persistence state (not stored) */
	bool on_disk;           /* the file exists as we last wrote or read it */
	bool needs_rewrite;     /* torn or bad lines, or a failed append */
	size_t journal_lines;   /* lines in the file */
	uint64_t truncate_from; /* pending {"truncate":k}; UINT64_MAX: none */
};

/* Empty catalog for cartridge. Returns 0 or -ENOMEM. */
int catalog_init(struct catalog *cat, const char *cartridge);
void catalog_free(struct catalog *cat);

/*
 * Load the catalog of cartridge from state_dir into *cat (initialised here).
 * A missing file gives an empty catalog and 0. Returns 0 or -errno; on error
 * *cat is still a valid (empty) catalog to free.
 */
int catalog_load(const char *state_dir, const char *cartridge, struct catalog *cat);

/*
 * Replay the text of a catalog file (what catalog_load reads) onto *cat, which
 * catalog_init() made; origin names the text in log lines. Bad and torn lines
 * are skipped, as described above. No I/O. Returns 0 or -ENOMEM.
 */
int catalog_replay(struct catalog *cat, const char *data, size_t length, const char *origin);

/* The whole catalog as the text a rewrite writes (malloc'd). Returns 0 or -ENOMEM. */
int catalog_text(const struct catalog *cat, char **text, size_t *length);

/* Persist (append the changes, or rewrite atomically). Returns 0 or -errno. */
int catalog_save(const char *state_dir, struct catalog *cat);

/*
 * File file_number begins; content is what label_recognise() found (NULL or
 * UNKNOWN: unrecognised data), first_record_length its first record's size.
 * writing: the file is being written, so files from file_number on are gone
 * and the entry starts afresh; reading: an entry already complete for the same
 * format, or one whose writing was cut, is kept (sizes too), anything else is
 * replaced and counted.
 * Returns 0, -ENOSPC (CATALOG_MAX_FILES), -EINVAL or -ENOMEM.
 */
int catalog_file_begin(struct catalog *cat, uint64_t file_number,
                       const struct tape_content *content, size_t first_record_length, bool writing,
                       time_t now);

/* One more record of file_number passed (ignored unless that file is counting). */
void catalog_file_record(struct catalog *cat, uint64_t file_number, size_t length);

/* The filemark after file_number passed: its size is now known. */
void catalog_file_end(struct catalog *cat, uint64_t file_number);

/*
 * Writing file_number stopped without a normal end (the session was killed, the
 * client vanished, the daemon stopped): what was counted is all there is, and
 * the file stays incomplete, also when it is read back later.
 */
void catalog_file_cut(struct catalog *cat, uint64_t file_number);

/* Files from file_number on no longer exist (e.g. written over, erased). */
void catalog_truncate(struct catalog *cat, uint64_t file_number);

const struct catalog_entry *catalog_find(const struct catalog *cat, uint64_t file_number);

/* The content label of the cartridge: file 0's label, or NULL. */
const char *catalog_content_label(const struct catalog *cat);

/*
 * Every cartridge that has a catalog in state_dir, by the name its catalog
 * gives, sorted; free with catalog_list_free. Returns 0 (no directory: none)
 * or -errno.
 */
int catalog_list(const char *state_dir, char ***names, size_t *count);
void catalog_list_free(char **names, size_t count);

/* A table for people (strings escaped). Returns 0 or -EIO. */
int catalog_write_table(const struct catalog *cat, FILE *out);

/* {"cartridge":"...","files":[{...},...]} for the control socket. Returns 0 or -EIO. */
int catalog_write_json(const struct catalog *cat, FILE *out);

#endif
