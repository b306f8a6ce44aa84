/*
 * tapeop_class.c - the table of tape operations and the check at each one.
 */
#include <errno.h>
#include <stdio.h>

#include "backend.h"
#include "tapeop_class.h"

struct tapeop_entry {
	const char *name;
	enum tapeop_class class;
	bool known;
};

/*
 * Every op of include/uapi/linux/mtio.h. MTRESET and the partition ops persist
 * on a real drive, so they count as settings; MTMKPART reformats the cartridge.
 */
static const struct tapeop_entry tapeops[] = {
    [MTRESET] = {"MTRESET", TAPEOP_SETTINGS, true},
    [MTFSF] = {"MTFSF", TAPEOP_MOVES, true},
    [MTBSF] = {"MTBSF", TAPEOP_MOVES, true},
    [MTFSR] = {"MTFSR", TAPEOP_MOVES, true},
    [MTBSR] = {"MTBSR", TAPEOP_MOVES, true},
    [MTWEOF] = {"MTWEOF", TAPEOP_WRITES, true},
    [MTREW] = {"MTREW", TAPEOP_MOVES, true},
    [MTOFFL] = {"MTOFFL", TAPEOP_SETTINGS, true},
    [MTNOP] = {"MTNOP", TAPEOP_READS, true},
    [MTRETEN] = {"MTRETEN", TAPEOP_MOVES, true},
    [MTBSFM] = {"MTBSFM", TAPEOP_MOVES, true},
    [MTFSFM] = {"MTFSFM", TAPEOP_MOVES, true},
    [MTEOM] = {"MTEOM", TAPEOP_MOVES, true},
    [MTERASE] = {"MTERASE", TAPEOP_WRITES, true},
    [MTSETBLK] = {"MTSETBLK", TAPEOP_SETTINGS, true},
    [MTSETDENSITY] = {"MTSETDENSITY", TAPEOP_SETTINGS, true},
    [MTSEEK] = {"MTSEEK", TAPEOP_MOVES, true},
    [MTTELL] = {"MTTELL", TAPEOP_READS, true},
    [MTSETDRVBUFFER] = {"MTSETDRVBUFFER", TAPEOP_SETTINGS, true},
    [MTFSS] = {"MTFSS", TAPEOP_MOVES, true},
    [MTBSS] = {"MTBSS", TAPEOP_MOVES, true},
    [MTWSM] = {"MTWSM", TAPEOP_WRITES, true},
    [MTLOCK] = {"MTLOCK", TAPEOP_SETTINGS, true},
    [MTUNLOCK] = {"MTUNLOCK", TAPEOP_SETTINGS, true},
    [MTLOAD] = {"MTLOAD", TAPEOP_SETTINGS, true},
    [MTUNLOAD] = {"MTUNLOAD", TAPEOP_SETTINGS, true},
    [MTCOMPRESSION] = {"MTCOMPRESSION", TAPEOP_SETTINGS, true},
    [MTSETPART] = {"MTSETPART", TAPEOP_SETTINGS, true},
    [MTMKPART] = {"MTMKPART", TAPEOP_FORMATS, true},
    [MTWEOFI] = {"MTWEOFI", TAPEOP_WRITES, true},
};

#define TAPEOP_COUNT ((int)(sizeof(tapeops) / sizeof(tapeops[0])))

static const struct tapeop_entry *tapeop_entry(int op)
{
	if (op < 0 || op >= TAPEOP_COUNT || !tapeops[op].known)
		return NULL;
	return &tapeops[op];
}

enum tapeop_class tapeop_classify(int op)
{
	const struct tapeop_entry *entry = tapeop_entry(op);

	/* An op this table does not know may do anything the driver allows. */
	return entry != NULL ? entry->class : TAPEOP_SETTINGS;
}

const char *tapeop_name(int op, char *buffer, int size)
{
	const struct tapeop_entry *entry = tapeop_entry(op);

	if (entry != NULL)
		return entry->name;
	snprintf(buffer, (size_t)size, "op %d", op);
	return buffer;
}

int tapeop_allowed(int op, const struct tapeop_grant *grant, const char **reason)
{
	enum tapeop_class class = tapeop_classify(op);
	bool writes = class == TAPEOP_WRITES || class == TAPEOP_FORMATS;
	bool settings = class == TAPEOP_SETTINGS || class == TAPEOP_FORMATS;

	*reason = NULL;
	if (writes && !grant->writable) {
		*reason = "the device is open read-only";
		return -EACCES;
	}
	if (settings && !grant->settings) {
		*reason = "changing drive settings is not allowed for you";
		return -EPERM;
	}
	return 0;
}
