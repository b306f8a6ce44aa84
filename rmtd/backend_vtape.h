/*
 * backend_vtape.h - the virtual tape backend's extras beyond struct backend_ops.
 *
 * backend_vtape_ops (backend.h) is what sessions use. The functions here let rmt-vtape
 * create and inspect images with the same file handling (sidecar names, atomic rewrite,
 * index validation) without opening them as a drive.
 */
#ifndef RMTD_BACKEND_VTAPE_H
#define RMTD_BACKEND_VTAPE_H

#include <stdbool.h>
#include <stdint.h>

#include "tapeimage.h"
#include "tapeindex.h"
#include "tapemeta.h"

/* Capacity of a tape created by an O_CREAT open when open_target.create_capacity is 0. */
#define VTAPE_DEFAULT_CAPACITY ((uint64_t)16 << 30)

/*
 * Create a blank tape: an empty image `name` (relative to directory_fd, or AT_FDCWD) and
 * its .meta. -EEXIST if the image exists. A stale .idx is removed.
 */
int vtape_create(int directory_fd, const char *name, const struct tapeimage_meta *meta);

/*
 * Set or clear the write-protect tab in the image's .meta (created when missing).
 * -EBUSY while a drive holds the image.
 */
int vtape_set_write_protect(int directory_fd, const char *name, bool protect);

struct vtape_inspection {
	struct tapeimage_meta meta;
	bool has_meta; /* a .meta file was found */
	struct tapeimage_index index;
	enum tapeimage_index_state index_state; /* what the .idx file was worth */
	uint64_t image_size;
	bool busy; /* a drive holds the image open right now */
};

/*
 * Read an image's metadata and index (scanning when the .idx does not describe the image)
 * without changing any file. Free with vtape_inspection_free().
 */
int vtape_inspect(int directory_fd, const char *name, struct vtape_inspection *out);
void vtape_inspection_free(struct vtape_inspection *inspection);

#endif
