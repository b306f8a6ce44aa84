/*
 * changer.h - what moves cartridges: one operations table, two kinds.
 *
 * changer_virtual.c: a folder of tape images (BARCODE.tap and its sidecars)
 * that never move on disk; where each one is lives only in the library's
 * database, so a cartridge keeps its image, its .meta, its counters and its
 * catalog wherever it goes.
 * changer_sch.c: a SCSI medium changer through Linux's ch driver (/dev/sch*).
 *
 * Both run under the library's lock and may block (a robot takes seconds).
 * Functions return 0 or -errno.
 */
#ifndef RMTD_CHANGER_H
#define RMTD_CHANGER_H

#include <limits.h>

#include "library.h"

struct changer;

struct changer_ops {
	const char *name; /* "virtual", "sch" */
	/* The library's shape: counts of drives, slots and portals. */
	int (*shape)(struct changer *changer, int *drives, int *slots, int *portals);
	/*
	 * Fill lib's elements with what is where now (barcodes). lib's shape is
	 * set; the virtual changer keeps lib's placements and adds new images.
	 */
	int (*inventory)(struct changer *changer, struct library_state *lib);
	/* Move the cartridge at from to the empty element to (already checked). */
	int (*move)(struct changer *changer, const struct library_state *lib,
	            const struct element_address *from, const struct element_address *to);
	void (*close)(struct changer *changer);
};

/* The ioctl the sch changer calls: ioctl(2), or a fake in the unit tests. */
typedef int (*changer_ioctl_fn)(int fd, unsigned long request, void *arg);

struct changer {
	const struct changer_ops *ops;
	char path[PATH_MAX]; /* virtual: the cartridge folder; sch: the device */
	int fd;              /* sch: the open device; virtual: the folder (O_PATH) */
	int slots, portals;  /* virtual: configured shape */
	int drives;
	changer_ioctl_fn ioctl_fn;
};

extern const struct changer_ops changer_virtual_ops;
extern const struct changer_ops changer_sch_ops;

/* Open a virtual changer on a folder. */
int changer_virtual_open(struct changer *changer, const char *directory, int drives, int slots,
                         int portals);
/* Open /dev/schN (ioctl_fn NULL: the real ioctl). */
int changer_sch_open(struct changer *changer, const char *device, changer_ioctl_fn ioctl_fn);

#endif
