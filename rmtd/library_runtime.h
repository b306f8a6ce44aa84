/*
 * library_runtime.h - the daemon's tape libraries while it runs: each one's
 * changer, its state and cartridge database (library.h), and the operations
 * rmtctl and the library drives (backend_libdrive.c) ask for.
 *
 * A library's database is <state-directory>/library/NAME, rewritten
 * atomically (temporary file, fsync, rename, fsync of the directory) after
 * every event that changes it, so a crash loses at most the event it
 * interrupted. Without a state directory it lives in memory only.
 *
 * Each library has a lock: operations come from the event loop (rmtctl) and
 * from drive threads (mt offline), and a changer's move may block.
 * Every operation logs one line and returns 0 or -errno with why filled in.
 */
#ifndef RMTD_LIBRARY_RUNTIME_H
#define RMTD_LIBRARY_RUNTIME_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "changer.h"
#include "library.h"
#include "library_config.h"

struct config;

struct library_runtime {
	pthread_mutex_t lock;
	struct library_spec spec;
	struct changer changer;
	struct library_state state;
	char state_directory[PATH_MAX];        /* "" when none */
	bool drive_open[LIBRARY_DRIVES_MAX];   /* a session has the drive open */
	struct stat seen;                      /* the database file as last read or written */
	int lock_fd;                           /* NAME.lock beside it (other rmtd processes) */
	int drive_lock_fd[LIBRARY_DRIVES_MAX]; /* NAME.driveN.lock, held while open here */
	/* The drives' cartridges as the last lock holder left them (status lines). */
	pthread_mutex_t shown_lock;
	struct {
		char barcode[LIBRARY_BARCODE_MAX + 1];
		int slot;
	} shown[LIBRARY_DRIVES_MAX];
	bool retired; /* taken out by a reload: its changer is closed */
};

/*
 * Take the library's lock, first reading the database again if another
 * process (rmtd --stdio serves each client in one) changed it since.
 */
void library_lock(struct library_runtime *lib);
void library_unlock(struct library_runtime *lib);

/*
 * A drive is open in one rmtd process at a time (the daemon, or one rmtd
 * --stdio per ssh client): a session claims it with an flock on
 * NAME.driveN.lock beside the database, and a cartridge is not moved out of
 * a drive another process has open. Claim returns 0 or -EBUSY (another rmtd
 * process has it open). Without a state directory there is nothing to share.
 */
int library_drive_claim(struct library_runtime *lib, int drive);
void library_drive_unclaim(struct library_runtime *lib, int drive);

/* Start the configured libraries (once). Returns 0 or -1 (logged). */
int libraries_start(const struct config *config, const char *state_directory);
/*
 * SIGHUP: apply a new configuration's library statements. New libraries start;
 * removed ones stop unless a drive is open; a changed one gets its new drives,
 * slots and portals keeping its database (a new directory or changer starts it
 * anew) unless that would take an open drive's device or cartridge, or drop a
 * cartridge's slot, portal or drive. A refused change is logged with its
 * reason and the library keeps working as it was.
 */
void libraries_reload(const struct config *config);

/*
 * The table of running libraries, for library_reload.c. Lookups take the
 * table's lock themselves; a reload holds it while it changes the table.
 */
void libraries_table_lock(void);
void libraries_table_unlock(void);
/* Start one library (logged if it cannot). NULL on failure. */
struct library_runtime *library_runtime_start(const struct library_spec *spec,
                                              const char *state_directory);
/* The state directory the libraries started with ("" when none). */
const char *libraries_state_directory(void);
/* Add a started library to the table. Returns 0 or -ENOSPC. */
int libraries_add(struct library_runtime *lib);
/* Take the library at index out (its changer closed, kept until exit). */
void libraries_retire(int index);
void libraries_stop(void);

struct library_runtime *libraries_find(const char *name);
/* The library whose drive has this canonical device name, and which drive. */
struct library_runtime *libraries_of_drive(const char *device, int *drive);
/* The library holding a cartridge (any library), or NULL. */
struct library_runtime *libraries_of_cartridge(const char *barcode);
/* The library named by a drive's declared name (e.g. "lib0d0"), and which drive. */
struct library_runtime *libraries_of_drive_name(const char *name, int *drive);
int libraries_count(void);
struct library_runtime *libraries_at(int index);

/* The image of a virtual library's cartridge: DIRECTORY/BARCODE.tap. */
int library_image_path(const struct library_runtime *lib, const char *barcode, char *out,
                       size_t size);

/* Operations; the caller does not hold the lock. who names the requester for the log. */
int library_op_move(struct library_runtime *lib, const struct element_address *from,
                    const struct element_address *to, const char *who, char *why, size_t why_size);
/* Load a cartridge (by barcode, or "slot N") into drive. */
int library_op_load(struct library_runtime *lib, const char *what, int drive, const char *who,
                    char *why, size_t why_size);
/* Unload drive to its home slot (or slot if > 0). */
int library_op_unload(struct library_runtime *lib, int drive, int slot, const char *who, char *why,
                      size_t why_size);
/* Import from a portal (or the first full one: portal 0) into the first empty slot. */
int library_op_import(struct library_runtime *lib, int portal, const char *who, char *why,
                      size_t why_size);
/* Export a cartridge to the first empty portal. */
int library_op_export(struct library_runtime *lib, const char *barcode, const char *who, char *why,
                      size_t why_size);
int library_op_readonly(struct library_runtime *lib, const char *barcode, bool readonly,
                        const char *who, char *why, size_t why_size);
/* Take a fresh inventory from the changer. */
int library_op_inventory(struct library_runtime *lib, char *why, size_t why_size);

/*
 * Sequential autoloader step, on a drive's thread: put the drive's cartridge
 * back and load the next usable one after it. With written (or the drive
 * written since its load), record that the old cartridge's file written_file
 * continues on the new one's file 0; not written and the old one continues on
 * another (a restore reading), load that one.
 * Returns 0 (loaded is the new barcode) or -errno (-ENOMEDIUM: no usable one).
 */
int library_op_next(struct library_runtime *lib, int drive, bool written, uint64_t written_file,
                    char *loaded, size_t loaded_size);
/* Load slot into the drive (putting back what is there first): MTLOAD 0x10000 + slot. */
int library_op_load_slot(struct library_runtime *lib, int drive, int slot, char *loaded,
                         size_t loaded_size);

/* Save the database now (after notes made under the lock). */
void library_save_locked(struct library_runtime *lib);

/*
 * For a drive's status: is device a library's drive, and which cartridge is in
 * it ("" when empty) from which slot (0: none). Returns 0 or -ENOENT. Never
 * waits for the library's lock (a changer's move, another process): then it
 * says what the drive held when the lock was last let go.
 */
int library_drive_describe(const char *device, char *barcode, size_t size, int *slot);

/* Inventory and database as text or JSON (library_report.c). */
void library_format_inventory(struct library_runtime *lib, FILE *out, bool json);
/* The cartridge database (all, or one barcode) and its continuation order. */
int library_format_cartridges(struct library_runtime *lib, const char *barcode, FILE *out,
                              bool json);

#endif
