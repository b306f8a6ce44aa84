/*
 * tapeimage.h - a virtual tape's image: SIMH .tap framing (tapeimage.c); its index
 * and .meta file are tapeindex.h's and tapemeta.h's.
 *
 * A virtual tape is three files (doc/vtape-format.md, man rmt-vtape(1)):
 *   NAME.tap       SIMH magtape image, authoritative: [len LE32][data][pad if odd][len LE32]
 *                  per record, a zero word per tape mark, end of file = end of data.
 *   NAME.tap.idx   derived index (tapeindex.h), rebuilt by a
 *                  scan whenever it is missing or does not describe the image.
 *   NAME.tap.meta  key=value cartridge and drive metadata (tapemeta.h), rewritten atomically.
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

/* A word that can lead a data record: bits 30-24 clear, non-zero length. */
static inline bool tapeimage_is_record_word(uint32_t word)
{
	return (word & 0x7F000000u) == 0 && (word & TAPEIMAGE_MAX_RECORD) != 0;
}

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
 * A reader walking an image object by object (a drive reading, spacing, a scan) through
 * read-ahead: after a small record, one pread fills TAPEIMAGE_READ_AHEAD bytes and the
 * next peeks and small reads are served from them (a tar record of 20 fixed 512-byte
 * blocks: one system call instead of forty). After a large record it reads only a
 * little ahead, and a record that does not fit is read straight into the caller's
 * buffer, so large records cost no extra copy. The caller forgets what was read ahead
 * whenever the image changes below its limit.
 */
#define TAPEIMAGE_READ_AHEAD 65536u
struct tapeimage_reader {
	int fd;
	uint64_t start;     /* image offset of buf[0] */
	size_t length;      /* bytes of buf that hold the image */
	uint64_t last_span; /* of the last record peeked: how far ahead to read */
	unsigned char buf[TAPEIMAGE_READ_AHEAD];
};
void tapeimage_reader_init(struct tapeimage_reader *reader, int fd);
void tapeimage_reader_forget(struct tapeimage_reader *reader);
/* The word at offset (offset + 4 <= limit), read ahead up to limit. 0 or -errno. */
int tapeimage_reader_word(struct tapeimage_reader *reader, uint64_t offset, uint64_t limit,
                          uint32_t *word);
/* tapeimage_peek() and tapeimage_read_data() through the reader. */
int tapeimage_reader_peek(struct tapeimage_reader *reader, uint64_t offset, uint64_t limit,
                          struct tapeimage_object *out);
int tapeimage_reader_read_data(struct tapeimage_reader *reader,
                               const struct tapeimage_object *object, void *buf);
/*
 * Append framing: write count records of length bytes each (data holds count * length
 * bytes back to back) at offset, as few pwritev calls as IOV_MAX allows. Returns 0 or
 * -errno; on error part of it may be on disk and the caller truncates back to offset.
 */
int tapeimage_write_records(int fd, uint64_t offset, const void *data, uint32_t length,
                            size_t count);
/* Write count tape marks at offset. Returns 0 or -errno. */
int tapeimage_write_marks(int fd, uint64_t offset, size_t count);

#endif
