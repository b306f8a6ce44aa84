/*
 * tapeop_class.h - what each tape operation (MTIOCTOP) does to a drive.
 *
 * The one place that says which operations only read, which move the tape,
 * which write the medium and which change the drive's settings or loaded
 * state, so that the rules (read-only, the settings grant) are judged the same
 * way for every backend, before a call reaches it.
 */
#ifndef RMTD_TAPEOP_CLASS_H
#define RMTD_TAPEOP_CLASS_H

#include <stdbool.h>

enum tapeop_class {
	TAPEOP_READS,    /* changes nothing (MTNOP, MTTELL) */
	TAPEOP_MOVES,    /* moves the tape: allowed to every open */
	TAPEOP_WRITES,   /* writes the medium: needs a device open for writing */
	TAPEOP_SETTINGS, /* outlives the session (block size, density, unload, ...) */
	TAPEOP_FORMATS,  /* rewrites the medium's layout: needs both */
};

/* The class of a native Linux op; ops it does not know are TAPEOP_SETTINGS. */
enum tapeop_class tapeop_classify(int op);

/* "MTSETBLK", ... or "op N" (into buffer) for the log. */
const char *tapeop_name(int op, char *buffer, int size);

/* What an open may do to the drive. */
struct tapeop_grant {
	bool writable; /* opened O_WRONLY or O_RDWR */
	bool settings; /* the rule grants drive settings (or no rules apply) */
};

/*
 * May op run under this grant? 0, or -EACCES (writes on a read-only open) or
 * -EPERM (settings without the grant), with *reason a short text.
 */
int tapeop_allowed(int op, const struct tapeop_grant *grant, const char **reason);

#endif
