/*
 * library_config.h - the "library" statements of rmtd.conf (rmtd.conf(5)):
 *
 *   library NAME virtual DIRECTORY slots N [portals N]
 *   library NAME changer /dev/schN
 *   library NAME drive NUMBER DRIVE [DEVICE]
 *
 * A library drive is also a declared drive (DRIVE, opened by clients as any
 * declared drive); a virtual library's drive has no DEVICE of its own (its
 * name in the folder is DIRECTORY/.driveNUMBER.tap, which is never a
 * cartridge), a changer's drive names its /dev/nst*.
 */
#ifndef RMTD_LIBRARY_CONFIG_H
#define RMTD_LIBRARY_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "library.h"

#define CONFIG_LIBRARIES_MAX 4

struct library_spec {
	char name[LIBRARY_NAME_MAX];
	bool is_virtual;
	char path[PATH_MAX]; /* virtual: the cartridge folder; changer: /dev/schN */
	int slots, portals;  /* virtual only */
	int drive_count;     /* drives are 0 .. drive_count-1, each declared */
	char drive_names[LIBRARY_DRIVES_MAX][64];
	char drive_devices[LIBRARY_DRIVES_MAX][PATH_MAX]; /* the declared drive's device */
};

struct library_specs {
	struct library_spec libraries[CONFIG_LIBRARIES_MAX];
	int count;
};

/*
 * One "library" statement (words[0] is "library"). On success returns 0 and,
 * for a drive statement, sets *drive_name and *device to what must be
 * declared as a drive. On failure returns -1 with a message in error.
 */
int library_config_statement(struct library_specs *specs, char **words, int count,
                             const char **drive_name, const char **device, char *error,
                             size_t error_size);
/* After the whole file: every library has drives in order 0..n-1. -1 with error if not. */
int library_config_check(const struct library_specs *specs, char *error, size_t error_size);

#endif
