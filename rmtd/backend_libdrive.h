/*
 * backend_libdrive.h - a drive of a tape library: the drive's own backend
 * (a virtual tape for a virtual library, st for a changer's drive) on
 * whichever cartridge the library has put in it, plus what an autoloader in
 * sequential mode does:
 *
 *   MTOFFL, MTUNLOAD   put the cartridge back (its home slot) and load the
 *                      next usable one (not read-only, not full, slots in
 *                      order after it); with none left the drive is empty,
 *                      and the cartridge written next in it continues the
 *                      volume
 *   MTLOAD 0x10000+N   load slot N (st's HP-loader convention), putting back
 *                      what the drive holds
 *   MTLOAD             on an empty drive: the next usable cartridge
 *
 * An empty drive opens (as st with O_NONBLOCK) and answers ENOMEDIUM, so the
 * session shows "[operator wait]" until a cartridge is loaded (rmtctl load),
 * which the next call finds. Writes are counted into the cartridge database:
 * bytes, filemarks, block sizes, last written, full at ENOSPC, and a read-only
 * cartridge refuses writes with EROFS.
 */
#ifndef RMTD_BACKEND_LIBDRIVE_H
#define RMTD_BACKEND_LIBDRIVE_H

#include "backend.h"

extern const struct backend_ops backend_libdrive_ops;

/* backend_libdrive_ops when device (a canonical name) is a library's drive, else ops. */
const struct backend_ops *backend_libdrive_for(const char *device, const struct backend_ops *ops);
/*
 * The name a library drive's cartridge is accounted under (counters, catalog):
 * a virtual cartridge's image path, as if it were opened by itself; a changer's
 * cartridge's barcode. NULL if dev is no library drive or is empty.
 */
const char *backend_libdrive_cartridge(const struct device *dev);

/* True once after a call during which the drive's cartridge was unloaded. */
bool backend_libdrive_went_out(struct device *dev);
/*
 * True once after a call during which a cartridge came into the drive (loaded
 * by rmtctl while the session waited, or by mt offline): where its tape stood
 * then, before the call's own records.
 */
bool backend_libdrive_came_in(struct device *dev, struct mtget *where);

#endif
