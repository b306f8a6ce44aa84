/*
 * changer_virtual.c - a virtual library's changer: a folder of BARCODE.tap
 * images. Nothing moves on disk; an image found in the folder that the
 * library does not place yet goes to the first empty slot, and a placed
 * cartridge whose image is gone is taken out of its element.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "changer.h"
#include "log.h"

int changer_virtual_open(struct changer *changer, const char *directory, int drives, int slots,
                         int portals)
{
	memset(changer, 0, sizeof(*changer));
	changer->ops = &changer_virtual_ops;
	if (snprintf(changer->path, sizeof(changer->path), "%s", directory) >=
	    (int)sizeof(changer->path))
		return -ENAMETOOLONG;
	changer->fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (changer->fd < 0)
		return -errno;
	changer->drives = drives;
	changer->slots = slots;
	changer->portals = portals;
	return 0;
}

static int virtual_shape(struct changer *changer, int *drives, int *slots, int *portals)
{
	*drives = changer->drives;
	*slots = changer->slots;
	*portals = changer->portals;
	return 0;
}

/* BARCODE.tap, and not a drive's own image or a sidecar. */
static bool image_barcode(const char *file, char *barcode, size_t size)
{
	size_t length = strlen(file);

	if (length <= 4 || strcmp(file + length - 4, ".tap") != 0 || length - 4 >= size)
		return false;
	memcpy(barcode, file, length - 4);
	barcode[length - 4] = '\0';
	return library_barcode_valid(barcode);
}

static bool image_exists(int dir_fd, const char *barcode)
{
	char file[LIBRARY_BARCODE_MAX + 8];
	struct stat st;

	snprintf(file, sizeof(file), "%s.tap", barcode);
	return fstatat(dir_fd, file, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static void drop_missing(int dir_fd, struct library_element *e, int count)
{
	for (int i = 0; i < count; i++)
		if (e[i].barcode[0] != '\0' && !image_exists(dir_fd, e[i].barcode)) {
			log_warnx("library: cartridge %s has no image any more", e[i].barcode);
			e[i].barcode[0] = '\0';
			e[i].home_slot = 0;
		}
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int virtual_inventory(struct changer *changer, struct library_state *lib)
{
	int fd = openat(changer->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *entry;
	char **names = NULL;
	size_t count = 0;

	if (dir == NULL) {
		int error = -errno;

		if (fd >= 0)
			close(fd);
		return error;
	}
	drop_missing(changer->fd, lib->drives, lib->drive_count);
	drop_missing(changer->fd, lib->slots, lib->slot_count);
	drop_missing(changer->fd, lib->portals, lib->portal_count);
	while ((entry = readdir(dir)) != NULL) {
		char barcode[LIBRARY_BARCODE_MAX + 1];
		struct element_address at;
		char **grown;

		if (!image_barcode(entry->d_name, barcode, sizeof(barcode)) ||
		    library_locate(lib, barcode, &at) == 0)
			continue;
		grown = realloc(names, (count + 1) * sizeof(*names));
		if (grown == NULL || (grown[count] = strdup(barcode)) == NULL) {
			names = grown != NULL ? grown : names;
			break;
		}
		names = grown;
		count++;
	}
	closedir(dir);
	/* New images take the empty slots in name order, so the order is predictable. */
	if (count > 0)
		qsort(names, count, sizeof(*names), compare_strings);
	for (size_t i = 0; i < count; i++) {
		int slot = library_free_slot(lib);

		if (slot == 0)
			log_warnx("library %s: no empty slot for cartridge %s", lib->name,
			          names[i]);
		else
			snprintf(lib->slots[slot - 1].barcode, sizeof(lib->slots[0].barcode), "%s",
			         names[i]);
		free(names[i]);
	}
	free(names);
	return 0;
}

static int virtual_move(struct changer *changer, const struct library_state *lib,
                        const struct element_address *from, const struct element_address *to)
{
	struct library_element *source = library_element_at((struct library_state *)lib, from);

	(void)to;
	/* The image must still be there: a cartridge is not moved into a drive as a ghost. */
	if (source == NULL || !image_exists(changer->fd, source->barcode))
		return -ENOENT;
	return 0;
}

static void virtual_close(struct changer *changer)
{
	if (changer->fd >= 0)
		close(changer->fd);
	changer->fd = -1;
}

const struct changer_ops changer_virtual_ops = {
    .name = "virtual",
    .shape = virtual_shape,
    .inventory = virtual_inventory,
    .move = virtual_move,
    .close = virtual_close,
};
