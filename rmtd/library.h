/*
 * library.h - a tape library as data: its elements (drives, storage slots,
 * import/export portals), the cartridges in them, and the cartridge database
 * (where each cartridge is, read-only, times full, bytes and files, last
 * written, block sizes seen, and which cartridge a volume continues on).
 *
 * Everything here is pure: no I/O, no locks. The changers (changer.h) move
 * cartridges in the world; library_runtime.c keeps one of these per library
 * and saves its database. Elements are named "drive N", "slot N", "portal N"
 * (numbered from 0 for drives, from 1 for slots and portals, as changers count).
 *
 * Refusals carry the errno a client sees:
 *   ENOENT  no such cartridge, or the source element is empty
 *   EINVAL  no such element (number out of range, unknown kind)
 *   EEXIST  the destination slot or portal already holds a cartridge
 *   EBUSY   the destination drive holds a cartridge, or the cartridge to
 *           export is in a drive
 *   ENOSPC  no empty slot for an import or an unload with no home slot
 *   EROFS   the cartridge is read-only (writing, not moving)
 */
#ifndef RMTD_LIBRARY_H
#define RMTD_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define LIBRARY_NAME_MAX       64
#define LIBRARY_BARCODE_MAX    32
#define LIBRARY_DRIVES_MAX     16
#define LIBRARY_SLOTS_MAX      256
#define LIBRARY_PORTALS_MAX    16
#define LIBRARY_BLOCKSIZES     8
#define LIBRARY_CARTRIDGES_MAX (LIBRARY_SLOTS_MAX + LIBRARY_DRIVES_MAX + LIBRARY_PORTALS_MAX)
#define LIBRARY_CONTINUES_MAX  1024

enum element_kind {
	ELEMENT_DRIVE,
	ELEMENT_SLOT,
	ELEMENT_PORTAL,
};

struct element_address {
	enum element_kind kind;
	int number;
};

struct library_element {
	char barcode[LIBRARY_BARCODE_MAX + 1]; /* "" when empty */
	int home_slot;                         /* drives: the slot it came from (0: none) */
	bool written;                          /* drives: written since loaded */
	uint64_t written_file;                 /* drives: the tape file last written */
	/*
	 * drives: a written cartridge put back with none to follow it: its file
	 * waits_file continues on the next cartridge written in this drive.
	 */
	char waits_from[LIBRARY_BARCODE_MAX + 1];
	uint64_t waits_file;
};

/* What seed 001's afserver kept per cartridge. */
struct cartridge_record {
	char barcode[LIBRARY_BARCODE_MAX + 1];
	bool readonly;
	bool full;
	uint64_t times_full;
	uint64_t bytes;
	uint64_t files;
	time_t last_written;
	uint32_t block_sizes[LIBRARY_BLOCKSIZES]; /* distinct, 0 = unused */
};

/* "cartridge from, file from_file, continues on cartridge to, file to_file" */
struct continuation {
	char from[LIBRARY_BARCODE_MAX + 1];
	uint64_t from_file;
	char to[LIBRARY_BARCODE_MAX + 1];
	uint64_t to_file;
};

struct library_state {
	char name[LIBRARY_NAME_MAX];
	int drive_count, slot_count, portal_count;
	struct library_element drives[LIBRARY_DRIVES_MAX];
	struct library_element slots[LIBRARY_SLOTS_MAX];     /* [0] is slot 1 */
	struct library_element portals[LIBRARY_PORTALS_MAX]; /* [0] is portal 1 */
	struct cartridge_record cartridges[LIBRARY_CARTRIDGES_MAX];
	int cartridge_count;
	struct continuation continues[LIBRARY_CONTINUES_MAX];
	int continue_count;
};

/* An empty library of this shape. Returns 0 or -EINVAL (counts out of range). */
int library_init(struct library_state *lib, const char *name, int drives, int slots, int portals);

/* Is this a barcode rmtd accepts: 1..32 of [A-Za-z0-9_.+-], not starting with '.'. */
bool library_barcode_valid(const char *barcode);

/* "drive 0", "slot 3", "portal 1" (also "drive:0", "d0", "s3", "p1"). -EINVAL if not. */
int library_parse_address(const char *text, struct element_address *out);
/* "slot 3" into out. */
void library_format_address(const struct element_address *a, char *out, size_t size);
const char *library_kind_name(enum element_kind kind);

/* The element at an address, or NULL when out of range. */
struct library_element *library_element_at(struct library_state *lib,
                                           const struct element_address *a);
/* Where a barcode is. Returns 0 or -ENOENT. */
int library_locate(const struct library_state *lib, const char *barcode,
                   struct element_address *out);

/* The database record of a barcode; with create, a new one (NULL if the table is full). */
struct cartridge_record *library_record(struct library_state *lib, const char *barcode,
                                        bool create);

/*
 * Check a move from one element to another without doing it; why points at
 * a sentence for the log and the client. Returns 0 or -errno (see above).
 */
int library_check_move(struct library_state *lib, const struct element_address *from,
                       const struct element_address *to, const char **why);
/* Do a move library_check_move allowed. A cartridge entering a drive remembers its slot. */
void library_apply_move(struct library_state *lib, const struct element_address *from,
                        const struct element_address *to);

/* The first empty slot not kept for a loaded cartridge's return (else any empty), or 0. */
int library_free_slot(const struct library_state *lib);
/* Where an unloaded drive's cartridge goes: its home slot if empty, else the first empty. */
int library_unload_slot(const struct library_state *lib, int drive);

/*
 * The slot of the next usable cartridge after slot `after` (sequential
 * autoloader order: slots upwards, wrapping once): not read-only, not full.
 * Returns the slot number or -ENOENT.
 */
int library_next_usable(struct library_state *lib, int after);

/* A write of `bytes` in a record of `record_size` on barcode at now. */
void library_note_write(struct library_state *lib, const char *barcode, uint64_t bytes,
                        uint32_t record_size, time_t now);
void library_note_filemark(struct library_state *lib, const char *barcode, uint64_t files);
/* The cartridge reached its end: full, counted once per filling. */
void library_note_full(struct library_state *lib, const char *barcode);
/* Written again from its beginning: no longer full, its old contents and order gone. */
void library_note_rewritten(struct library_state *lib, const char *barcode);
/* Record that from's file from_file continues on to's file to_file (replaces from's old one). */
int library_note_continues(struct library_state *lib, const char *from, uint64_t from_file,
                           const char *to, uint64_t to_file);
/* The autoloader found no next cartridge for from's file: whatever drive writes next continues it.
 */
void library_note_waiting(struct library_state *lib, int drive, const char *from, uint64_t file);
/*
 * barcode's file `file` is being written in drive: if a volume waits there for
 * its next cartridge, it continues here. Returns true when that was recorded.
 */
bool library_note_drive_write(struct library_state *lib, int drive, const char *barcode,
                              uint64_t file);
/* Which cartridge follows barcode, or NULL. */
const struct continuation *library_continuation(const struct library_state *lib,
                                                const char *barcode);

/*
 * The database as text (one line per record, see library_db_parse) into a
 * malloc'd buffer. Returns 0 or -ENOMEM.
 */
int library_db_format(const struct library_state *lib, char **text, size_t *length);
/*
 * Read a database written by library_db_format into lib (its shape already set by
 * library_init). Unparseable lines are skipped and counted in *bad; cartridges
 * placed in elements the shape does not have lose their place (ignored).
 */
int library_db_parse(struct library_state *lib, const char *text, size_t length, int *bad);

#endif
