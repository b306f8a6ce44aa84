/*
 * tapemeta.h - the .meta file of a virtual tape (tapemeta.c).
 */
#ifndef RMTD_TAPEMETA_H
#define RMTD_TAPEMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Parse a size: decimal digits with an optional K, M, G or T suffix (powers of 1024). */
int tapeimage_parse_size(const char *text, uint64_t *out);

#endif
