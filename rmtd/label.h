/*
 * label.h - recognising what a tape file holds from its first record.
 *
 * When a tape file begins (at BOT or after a filemark) its first record is
 * handed to label_recognise(), which tells dump volumes (BSD, Linux, Solaris,
 * FreeBSD UFS2, old format, 16-bit XENIX/PDP-11), tar archives (v7, ustar, GNU
 * with volume labels and multi-volume continuations, pax), cpio archives (newc,
 * crc, odc, binary), Amanda, Bacula/Bareos and afbackup labels, ANSI/IBM and LTFS
 * VOL1 labels, AIX backup and compressed streams apart, in the order of
 * doc/tape-contents.md, and pulls out the catalog facts (label, host, file
 * system, level, dates, volume, first member).
 *
 * Pure: no I/O, no allocation, no global state; linked into the fuzz build.
 * Everything in the record is attacker-controlled: every field is bounded and
 * NUL-terminated, but kept as raw bytes (control bytes included). Escape when
 * printing: label_describe() and escape_text() (escape.h) do.
 */
#ifndef RMTD_LABEL_H
#define RMTD_LABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum label_format {
	LABEL_FORMAT_UNKNOWN = 0,
	LABEL_FORMAT_DUMP,       /* BSD/Linux/Solaris dump, restore's input */
	LABEL_FORMAT_TAR,        /* v7, ustar, GNU, pax, star */
	LABEL_FORMAT_CPIO,       /* newc, crc, odc, bin */
	LABEL_FORMAT_AMANDA,     /* "AMANDA: " text header (32 KiB record) */
	LABEL_FORMAT_BACULA,     /* Bacula/Bareos block (BB01/BB02/BB03) */
	LABEL_FORMAT_AFBACKUP,   /* afbackup info header */
	LABEL_FORMAT_ANSI,       /* ANSI/IBM 80-byte labels (VOL1, HDR1...), LTFS VOL1 */
	LABEL_FORMAT_AIX_BACKUP, /* AIX backbyinode ("BFF") */
	LABEL_FORMAT_COMPRESSED, /* gzip, bzip2, xz, zstd, lz4, compress stream */
};

/*
 * What kind of work a file of this format means, for the status line. The
 * session knows the direction: label_operation() turns kind + direction into
 * the word an operator expects ("Dump" / "Restore", ...).
 */
enum label_activity {
	LABEL_ACTIVITY_DATA = 0,     /* unknown content */
	LABEL_ACTIVITY_DUMP,         /* dump/restore */
	LABEL_ACTIVITY_ARCHIVE,      /* tar/cpio: archive/extract */
	LABEL_ACTIVITY_BACKUP,       /* backup software (Amanda, Bacula, afbackup data) */
	LABEL_ACTIVITY_VOLUME_LABEL, /* a tape label only (labelling / scanning) */
};

#define LABEL_TEXT_MAX    128 /* label, host, device, variant details */
#define LABEL_NAME_MAX    256 /* file system / disk, first member name */
#define LABEL_VARIANT_MAX 48
#define LABEL_SHORT_MAX   32

struct tape_content {
	enum label_format format;
	const char *format_name;         /* static: "dump", "tar", "cpio", "amanda", "bacula",
	                                    "afbackup", "ansi", "aix-backup", "gzip", ... "unknown" */
	char variant[LABEL_VARIANT_MAX]; /* "new-fs little endian", "gnu", "newc", "TAPESTART"... */
	enum label_activity activity;

	char label[LABEL_TEXT_MAX];        /* dump c_label, tar V name, Amanda/Bacula/ANSI label */
	char host[LABEL_TEXT_MAX];         /* dump c_host, Amanda host, Bacula HostName */
	char filesystem[LABEL_NAME_MAX];   /* dump c_filesys, Amanda disk, Bacula PoolName */
	char device[LABEL_TEXT_MAX];       /* dump c_dev, Bacula MediaType, ANSI owner */
	char member[LABEL_NAME_MAX];       /* first archive member (tar, cpio), gzip name */
	char program[LABEL_SHORT_MAX];     /* Amanda program, Bacula label program */
	char compression[LABEL_SHORT_MAX]; /* Amanda comp suffix, dump "zlib"... */

	int level;               /* dump/Amanda level; -1: none */
	time_t date;             /* when written (dump c_date, label/member mtime...); 0: none */
	time_t previous_date;    /* dump c_ddate (0 for a full dump or none) */
	int volume;              /* volume/part number, 1-based; 0: not stated */
	int volume_count;        /* Amanda parts; 0: unknown */
	bool continuation;       /* file continues one from an earlier volume */
	uint64_t offset;         /* continuation: bytes of the member on earlier volumes */
	uint32_t block_size;     /* record/block size the header states (dump ntrec x 1024,
	                            Bacula block_len, afbackup blocksize); 0: not stated */
	bool next_record_wanted; /* Amanda: the inner format starts in the next record */
	enum label_format inner_format; /* Amanda: what follows the 32 KiB header */
	char inner_variant[LABEL_VARIANT_MAX];
};

/*
 * Recognise the first record of a tape file. Always fills *out (format UNKNOWN
 * when nothing matched, with level -1); returns true when a format matched.
 * length may be anything, including 0.
 */
bool label_recognise(const void *record, size_t length, struct tape_content *out);

/*
 * For an Amanda file (out->next_record_wanted): recognise the record after the
 * 32 KiB header and store what it holds in out->inner_format/inner_variant (and
 * the first member when the header named none). Clears next_record_wanted.
 */
void label_recognise_inner(const void *record, size_t length, struct tape_content *out);

/* Reset *out to "nothing recognised". */
void label_clear(struct tape_content *out);

/* Name of a format ("dump", "tar"...; compressed streams: "compressed"). */
const char *label_format_name(enum label_format format);

/*
 * The word for the status line: Dump/Restore, Archive/Extract, Backup/Recover,
 * Label/Scan, Write/Read.
 */
const char *label_operation(const struct tape_content *content, bool writing);

/*
 * One-line human summary, control and non-ASCII bytes escaped, cut to fit
 * (always NUL-terminated when size > 0), e.g.
 * "dump level 0 of /dev/vda (an unlisted file system) on vm, label mylabel,
 * volume 1, 2026-11-21 18:00 UTC". Returns out.
 */
const char *label_describe(const struct tape_content *content, char *out, size_t size);

/* Format a time as "YYYY-MM-DD HH:MM" (UTC) into out. Returns out. */
const char *label_format_date(time_t when, char *out, size_t size);

#endif
