/*
 * tapeimage.h - SIMH .tap framing, the derived index, and the .meta file of a virtual tape.
 *
 * A virtual tape is three files (doc/vtape-format.md, man rmt-vtape(1)):
 *   NAME.tap       SIMH magtape image, authoritative: [len LE32][data][pad if odd][len LE32]
 *                  per record, a zero word per tape mark, end of file = end of data.
 *   NAME.tap.idx   derived index (marks[] and runs[] of equal-size records), rebuilt by a
 *                  scan whenever it is missing or does not describe the image.
 *   NAME.tap.meta  key=value cartridge and drive metadata, rewritten atomically.
 *
 * This module is pure: no libevent, no logging. Every I/O goes through a file descriptor
 * the caller owns (a regular file or a memfd), and every function returns a negative errno
 * instead of logging. Every length read from an image or index is checked before it is
 * used, so a hostile file can only produce errors, never a crash.
 */
#ifndef RMTD_TAPEIMAGE_H
#define RMTD_TAPEIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Length words (little endian u32). */
#define TAPEIMAGE_MAX_RECORD    0x00FFFFFFu /* largest record: 24-bit length */
#define TAPEIMAGE_ERROR_FLAG    0x80000000u /* record present but flagged bad */
#define TAPEIMAGE_WORD_MARK     0x00000000u
#define TAPEIMAGE_WORD_EOM      0xFFFFFFFFu /* explicit end of medium */
#define TAPEIMAGE_WORD_GAP      0xFFFFFFFEu /* erase gap: readers skip it */
#define TAPEIMAGE_WORD_HALF_GAP 0xFFFEFFFFu /* half gap seen forward: skip 2 bytes */

/* Bytes a record of this length occupies in the image. */
static inline uint64_t tapeimage_record_span(uint32_t length)
{
	return 8u + (uint64_t)length + (length & 1u);
}

/* ------------------------------------------------------------------ objects */

enum tapeimage_kind {
	TAPEIMAGE_OBJ_EOD,    /* end of data: physical EOF or an EOM word */
	TAPEIMAGE_OBJ_MARK,   /* tape mark */
	TAPEIMAGE_OBJ_RECORD, /* data record (word may carry TAPEIMAGE_ERROR_FLAG) */
	TAPEIMAGE_OBJ_GAP,    /* an erase-gap word (skip: end says where to go on) */
	TAPEIMAGE_OBJ_BAD,    /* reserved or impossible word */
};

struct tapeimage_object {
	enum tapeimage_kind kind;
	uint64_t offset; /* where its leading word is */
	uint64_t end;    /* first byte after it */
	uint32_t word;   /* raw leading word */
	uint32_t length; /* record data length (0 for the others) */
};

/*
 * Classify the word at offset without reading record data. limit is where data ends
 * (the caller's data_size): at or past it the answer is EOD. A record whose span runs past
 * limit is BAD. Returns 0 or -errno (-EIO for a short read inside limit).
 */
int tapeimage_peek(int fd, uint64_t offset, uint64_t limit, struct tapeimage_object *out);

/*
 * Read a record's data into buf (object->length bytes) and check its trailing length word.
 * Returns 0, -EIO for a short read or a trailer that does not match, or -errno.
 */
int tapeimage_read_data(int fd, const struct tapeimage_object *object, void *buf);

/*
 * Append framing: write count records of length bytes each (data holds count * length
 * bytes back to back) at offset, as few pwritev calls as IOV_MAX allows. Returns 0 or
 * -errno; on error part of it may be on disk and the caller truncates back to offset.
 */
int tapeimage_write_records(int fd, uint64_t offset, const void *data, uint32_t length,
                            size_t count);
/* Write count tape marks at offset. Returns 0 or -errno. */
int tapeimage_write_marks(int fd, uint64_t offset, size_t count);

/* ------------------------------------------------------------------ index */

struct tapeimage_mark {
	uint64_t offset; /* of the mark word */
	uint64_t object; /* logical object number (records and marks from BOT) */
};

/* A maximal run of consecutive, adjacent records with the same length word. */
struct tapeimage_run {
	uint64_t offset;       /* leading word of the first record */
	uint64_t first_object; /* object number of the first record */
	uint32_t word;         /* length word, including the error flag */
	uint32_t count;
};

/* How the description of the image ends. */
enum tapeimage_end {
	TAPEIMAGE_END_CLEAN = 0, /* the whole file was consumed (trailing gap words allowed) */
	TAPEIMAGE_END_EOM,       /* an explicit EOM word at data_size */
	TAPEIMAGE_END_TORN,      /* an incomplete last object from data_size to the end of
	                            file: a crash in the middle of a write; truncate repairs */
	TAPEIMAGE_END_CORRUPT,   /* an impossible word or trailer at data_size, with more
	                            bytes after it; or more objects than the limits allow */
};

struct tapeimage_index {
	uint64_t data_size;  /* end of the last whole object = where appending writes */
	uint64_t file_size;  /* size of the image file this describes */
	uint64_t n_objects;  /* records + marks */
	uint64_t generation; /* bumped on every change, saved with the index */
	enum tapeimage_end end;
	struct tapeimage_mark *marks;
	size_t n_marks, marks_capacity;
	struct tapeimage_run *runs;
	size_t n_runs, runs_capacity;
	size_t max_marks, max_runs; /* bounds on memory a hostile image can claim */
};

#define TAPEIMAGE_DEFAULT_MAX_MARKS ((size_t)1 << 22) /* 4 Mi files: 64 MiB of index */
#define TAPEIMAGE_DEFAULT_MAX_RUNS  ((size_t)1 << 23) /* 8 Mi runs: 192 MiB */

void tapeimage_index_init(struct tapeimage_index *index);
void tapeimage_index_free(struct tapeimage_index *index);
/* Forget everything (a blank tape), keeping the limits and the allocations. */
void tapeimage_index_reset(struct tapeimage_index *index);

/*
 * Scan the image from index->data_size to file_size, appending what is found. Start with
 * a reset index for a full scan. Sets data_size, file_size and end; stops (without error)
 * at a torn or corrupt object. Returns 0 or -errno for an I/O error.
 */
int tapeimage_scan(int fd, uint64_t file_size, struct tapeimage_index *index);

/* Record an object written at index->data_size. Returns 0 or -ENOMEM/-E2BIG (limits). */
int tapeimage_index_add_record(struct tapeimage_index *index, uint32_t word);
int tapeimage_index_add_mark(struct tapeimage_index *index);

/* Cut the index after `object` objects (object <= n_objects): what a truncate leaves. */
int tapeimage_index_truncate(struct tapeimage_index *index, uint64_t object);

/* Offset of object's leading word (n_objects: data_size). -EINVAL past the end. */
int tapeimage_index_locate(const struct tapeimage_index *index, uint64_t object, uint64_t *offset);
/* Offset just after object (object < n_objects). */
int tapeimage_index_object_end(const struct tapeimage_index *index, uint64_t object, uint64_t *end);
/* Number of marks before object: the true file number of a position. */
size_t tapeimage_index_marks_before(const struct tapeimage_index *index, uint64_t object);
/* Is object a mark? */
bool tapeimage_index_is_mark(const struct tapeimage_index *index, uint64_t object);
/* The record length word of object, or -EINVAL if it is a mark or out of range. */
int tapeimage_index_record_word(const struct tapeimage_index *index, uint64_t object,
                                uint32_t *word);
/* Total record data bytes (without framing) described. */
uint64_t tapeimage_index_data_bytes(const struct tapeimage_index *index);
/* Check internal consistency (sorted, contiguous objects, sizes). 0 or -EINVAL. */
int tapeimage_index_check(const struct tapeimage_index *index);

/* CRC-32C (Castagnoli), as used for the tail check and the index trailer. */
uint32_t tapeimage_crc32c(uint32_t crc, const void *data, size_t length);
/* CRC-32C of the last min(64 KiB, size) bytes of [0, size) of fd. */
int tapeimage_tail_check(int fd, uint64_t size, uint32_t *check);

/* Serialise the index to fd (at its current offset, which should be 0 of an empty file). */
int tapeimage_index_save(int fd, const struct tapeimage_index *index, uint32_t tail_check);

enum tapeimage_index_state {
	TAPEIMAGE_INDEX_VALID, /* describes the image exactly */
	TAPEIMAGE_INDEX_GROWN, /* describes a prefix of a longer image: scan from data_size */
	TAPEIMAGE_INDEX_STALE, /* unusable (missing, damaged, or for another file) */
};

/*
 * Load an index from index_fd and compare it with the image (image_fd, image_size). On
 * VALID or GROWN the index is filled; on STALE it is reset. Returns the state, or -errno
 * for an I/O error on the image.
 */
int tapeimage_index_load(int index_fd, int image_fd, uint64_t image_size,
                         struct tapeimage_index *index);

/* ------------------------------------------------------------------ metadata */

/* Linux st "eof" states (drivers/scsi/st.h), persisted so that a later process continues. */
enum tapeimage_eof_state {
	TAPEIMAGE_EOF_NONE = 0,
	TAPEIMAGE_EOF_FM_HIT,
	TAPEIMAGE_EOF_FM,
	TAPEIMAGE_EOF_EOM_OK,
	TAPEIMAGE_EOF_EOM_ERROR,
	TAPEIMAGE_EOF_EOD_1,
	TAPEIMAGE_EOF_EOD_2,
	TAPEIMAGE_EOF_EOD,
};

#define TAPEIMAGE_META_MAX_SIZE 65536 /* a larger .meta is refused */
#define TAPEIMAGE_BARCODE_MAX   64

struct tapeimage_meta {
	/* cartridge */
	char barcode[TAPEIMAGE_BARCODE_MAX + 1];
	int64_t created;        /* unix time */
	bool write_protect;     /* the write-protect tab */
	uint64_t capacity;      /* bytes of image; 0 = unlimited */
	uint64_t early_warning; /* distance before capacity; 0 = none */
	bool loaded;            /* false after MTUNLOAD/MTOFFL */
	uint64_t loads;         /* times loaded */
	/* drive settings that outlive an open (st keeps them in the driver) */
	uint32_t block_size; /* 0 = variable */
	uint32_t density;    /* 0..255 */
	bool compression;
	uint32_t drive_options; /* MT_ST_* boolean bits */
	uint32_t drive_buffer;  /* MTSETDRVBUFFER buffer mode */
	/* position at the last close */
	bool has_position;
	uint64_t position;        /* logical object number */
	uint64_t position_offset; /* byte offset in the image, cross-checked on restore */
	int32_t file_number;      /* st mt_fileno (-1 unknown) */
	int32_t block_number;     /* st mt_blkno (-1 unknown) */
	enum tapeimage_eof_state eof_state;
	/* a process is changing the image: set before its first change, cleared at its close */
	bool in_use;
	bool in_use_rewinds; /* that process had the rewinding variant open */
	/* counters */
	uint64_t bytes_written, bytes_read, records_written, records_read;
	uint64_t filemarks_written, errors;
	/* lines with keys this version does not know, kept verbatim */
	char *extra;
	size_t extra_length;
};

/* Defaults: a blank tape of the given capacity (early warning derived from it). */
void tapeimage_meta_init(struct tapeimage_meta *meta, uint64_t capacity);
void tapeimage_meta_free(struct tapeimage_meta *meta);
/* Default early warning for a capacity: 1 %, at most 256 MiB. */
uint64_t tapeimage_default_early_warning(uint64_t capacity);

/*
 * Parse .meta text. Known keys with bad values and malformed lines are skipped and
 * counted. Returns the number of skipped lines (>= 0) or -ENOMEM/-EFBIG.
 */
int tapeimage_meta_parse(struct tapeimage_meta *meta, const char *text, size_t length);
/* Format as text; *out is malloc'ed. Returns 0 or -ENOMEM. */
int tapeimage_meta_format(const struct tapeimage_meta *meta, char **out, size_t *length);
/* Read and parse a .meta file from fd (at most TAPEIMAGE_META_MAX_SIZE bytes). */
int tapeimage_meta_read(int fd, struct tapeimage_meta *meta);
/* Write the formatted metadata to fd (an empty file). */
int tapeimage_meta_write(int fd, const struct tapeimage_meta *meta);

const char *tapeimage_eof_state_name(enum tapeimage_eof_state state);
const char *tapeimage_end_name(enum tapeimage_end end);

/* Parse a size: decimal digits with an optional K, M, G or T suffix (powers of 1024). */
int tapeimage_parse_size(const char *text, uint64_t *out);

#endif
