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
#include "state_file.h"
#include "tapemeta.h"

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

static int fill_meta(int fd, const void *arg)
{
	return tapeimage_meta_write(fd, arg);
}

/*
 * What a drive's unload does to a tape: the image's .meta says it is not
 * loaded, so the next drive's open starts at its beginning, as a loaded
 * cartridge does, not where the last session left it.
 */
static int unload_image(int dir_fd, const char *barcode)
{
	char name[LIBRARY_BARCODE_MAX + 16];
	struct state_replace how = {.create_mode = 0666, .durable = true, .nonblocking = true};
	struct tapeimage_meta meta;
	struct stat st;
	int fd, error;

	snprintf(name, sizeof(name), "%s.tap.meta", barcode);
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* never opened: it is at its beginning */
	tapeimage_meta_init(&meta, 0);
	error = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
	if (error == 0 && (error = tapeimage_meta_read(fd, &meta)) > 0)
		error = 0;
	close(fd);
	if (error == 0 && meta.loaded) {
		meta.loaded = false;
		how.set_mode = true; /* the sidecar keeps its permissions */
		how.mode = st.st_mode & 0666;
		error = state_replace_at(dir_fd, name, &how, fill_meta, &meta);
	}
	tapeimage_meta_free(&meta);
	return error;
}

static int virtual_move(struct changer *changer, const struct library_state *lib,
                        const struct element_address *from, const struct element_address *to)
{
	struct library_element *source = library_element_at((struct library_state *)lib, from);

	(void)to;
	/* The image must still be there: a cartridge is not moved into a drive as a ghost. */
	if (source == NULL || !image_exists(changer->fd, source->barcode))
		return -ENOENT;
	if (from->kind == ELEMENT_DRIVE)
		return unload_image(changer->fd, source->barcode);
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
