/*
 * tapeindex.h - the index of a SIMH .tap image (tapeindex.c) and its sidecar file.
 */
#ifndef RMTD_TAPEINDEX_H
#define RMTD_TAPEINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Words for how the index ends (for messages). */
const char *tapeimage_end_name(enum tapeimage_end end);

#endif
