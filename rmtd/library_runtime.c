/*
 * library_runtime.c - the running libraries: changer calls under a lock, the
 * database saved after each event, one log line per operation.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "config.h"
#include "counters.h"
#include "library_runtime.h"
#include "log.h"
#include "state_file.h"

#define DB_MAX_BYTES (4u * 1024 * 1024)

/*
 * The table changes on the loop (SIGHUP); drive threads look drives up in it.
 * A library taken out of it is kept, closed, until exit: a drive thread may
 * hold its address (and finds it retired).
 */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct library_runtime *running[CONFIG_LIBRARIES_MAX];
static int running_count;
static struct library_runtime **retired;
static int retired_count;
static char started_state_directory[PATH_MAX];

int libraries_count(void)
{
	return running_count;
}

struct library_runtime *libraries_at(int index)
{
	return index >= 0 && index < running_count ? running[index] : NULL;
}

struct library_runtime *libraries_find(const char *name)
{
	struct library_runtime *found = NULL;

	pthread_mutex_lock(&table_lock);
	for (int i = 0; i < running_count && found == NULL; i++)
		if (strcmp(running[i]->spec.name, name) == 0)
			found = running[i];
	pthread_mutex_unlock(&table_lock);
	return found;
}

/* The library with a drive whose device (by_name false) or declared name matches. */
static struct library_runtime *find_drive(const char *what, bool by_name, int *drive)
{
	struct library_runtime *found = NULL;

	pthread_mutex_lock(&table_lock);
	for (int i = 0; i < running_count && found == NULL; i++)
		for (int d = 0; d < running[i]->spec.drive_count && found == NULL; d++)
			if (strcmp(by_name ? running[i]->spec.drive_names[d]
			                   : running[i]->spec.drive_devices[d],
			           what) == 0) {
				*drive = d;
				found = running[i];
			}
	pthread_mutex_unlock(&table_lock);
	return found;
}

struct library_runtime *libraries_of_drive(const char *device, int *drive)
{
	return find_drive(device, false, drive);
}

struct library_runtime *libraries_of_drive_name(const char *name, int *drive)
{
	return find_drive(name, true, drive);
}

struct library_runtime *libraries_of_cartridge(const char *barcode)
{
	struct library_runtime *found = NULL, *each[CONFIG_LIBRARIES_MAX];
	int count;

	/* Not under the table's lock: a library's lock may wait (a move, another process). */
	pthread_mutex_lock(&table_lock);
	count = running_count;
	memcpy(each, running, (size_t)count * sizeof(each[0]));
	pthread_mutex_unlock(&table_lock);
	for (int i = 0; i < count && found == NULL; i++) {
		struct element_address at;

		library_lock(each[i]);
		if (!each[i]->retired && (library_locate(&each[i]->state, barcode, &at) == 0 ||
		                          library_record(&each[i]->state, barcode, false) != NULL))
			found = each[i];
		library_unlock(each[i]);
	}
	return found;
}

int library_image_path(const struct library_runtime *lib, const char *barcode, char *out,
                       size_t size)
{
	if (snprintf(out, size, "%s/%s.tap", lib->spec.path, barcode) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

static int db_directory(const struct library_runtime *lib, char *out, size_t size)
{
	if (snprintf(out, size, "%s/library", lib->state_directory) >= (int)size)
		return -ENAMETOOLONG;
	if (mkdir(lib->state_directory, 0750) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(out, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int db_path(const struct library_runtime *lib, char *out, size_t size)
{
	if (lib->state_directory[0] == '\0' ||
	    snprintf(out, size, "%s/library/%s", lib->state_directory, lib->spec.name) >= (int)size)
		return -ENOENT;
	return 0;
}

/* What the file looked like after our last read or write of it. */
static void db_remember(struct library_runtime *lib)
{
	char path[PATH_MAX + 64];
	struct stat st;

	memset(&lib->seen, 0, sizeof(lib->seen));
	if (db_path(lib, path, sizeof(path)) == 0 && stat(path, &st) == 0)
		lib->seen = st;
}

static void db_load(struct library_runtime *lib);

/*
 * rmtd --stdio serves each client in a process of its own (tar's, mt's): what
 * another one changed is read before this one looks or changes anything.
 */
static void db_refresh(struct library_runtime *lib)
{
	char path[PATH_MAX + 64];
	struct stat st;
	struct library_state fresh;

	if (db_path(lib, path, sizeof(path)) < 0 || stat(path, &st) < 0)
		return;
	if (st.st_ino == lib->seen.st_ino && st.st_size == lib->seen.st_size &&
	    st.st_mtim.tv_sec == lib->seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == lib->seen.st_mtim.tv_nsec)
		return;
	if (library_init(&fresh, lib->state.name, lib->state.drive_count, lib->state.slot_count,
	                 lib->state.portal_count) < 0)
		return;
	lib->state = fresh;
	db_load(lib);
}

/*
 * Other rmtd processes (rmtd --stdio, one per client) change the same database:
 * an flock on NAME.lock beside it makes their changes one after the other.
 */
static void file_lock(struct library_runtime *lib)
{
	char dir[PATH_MAX], path[PATH_MAX + 80];

	if (lib->lock_fd < 0 && lib->state_directory[0] != '\0' &&
	    db_directory(lib, dir, sizeof(dir)) == 0 &&
	    snprintf(path, sizeof(path), "%s/%s.lock", dir, lib->spec.name) < (int)sizeof(path))
		lib->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (lib->lock_fd >= 0)
		while (flock(lib->lock_fd, LOCK_EX) < 0 && errno == EINTR)
			;
}

/* The lock file of a drive, NAME.driveN.lock beside the database; -1 without one. */
static int drive_lock_open(struct library_runtime *lib, int drive)
{
	char dir[PATH_MAX], path[PATH_MAX + 96];

	if (lib->state_directory[0] == '\0' || db_directory(lib, dir, sizeof(dir)) < 0 ||
	    snprintf(path, sizeof(path), "%s/%s.drive%d.lock", dir, lib->spec.name, drive) >=
	        (int)sizeof(path))
		return -1;
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

int library_drive_claim(struct library_runtime *lib, int drive)
{
	int fd;

	if (lib->drive_lock_fd[drive] >= 0)
		return 0;
	if ((fd = drive_lock_open(lib, drive)) < 0)
		return 0; /* no state directory: one process only */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int error = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return error;
	}
	lib->drive_lock_fd[drive] = fd;
	return 0;
}

void library_drive_unclaim(struct library_runtime *lib, int drive)
{
	if (lib->drive_lock_fd[drive] >= 0)
		close(lib->drive_lock_fd[drive]);
	lib->drive_lock_fd[drive] = -1;
}

/* Does another rmtd process have this drive open? */
static bool drive_open_elsewhere(struct library_runtime *lib, int drive)
{
	bool held;
	int fd;

	if (lib->drive_lock_fd[drive] >= 0 || (fd = drive_lock_open(lib, drive)) < 0)
		return false;
	held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

void library_lock(struct library_runtime *lib)
{
	pthread_mutex_lock(&lib->lock);
	file_lock(lib);
	db_refresh(lib);
}

/* What the drives hold, for status lines that must not wait for the library's lock. */
static void publish_drives(struct library_runtime *lib)
{
	pthread_mutex_lock(&lib->shown_lock);
	for (int d = 0; d < lib->state.drive_count && d < LIBRARY_DRIVES_MAX; d++) {
		memcpy(lib->shown[d].barcode, lib->state.drives[d].barcode,
		       sizeof(lib->shown[d].barcode));
		lib->shown[d].slot = lib->state.drives[d].home_slot;
	}
	pthread_mutex_unlock(&lib->shown_lock);
}

void library_unlock(struct library_runtime *lib)
{
	publish_drives(lib);
	if (lib->lock_fd >= 0)
		flock(lib->lock_fd, LOCK_UN);
	pthread_mutex_unlock(&lib->lock);
}

void library_save_locked(struct library_runtime *lib)
{
	char dir[PATH_MAX], *text = NULL;
	size_t length = 0;
	int error;

	if (lib->state_directory[0] == '\0')
		return;
	if ((error = db_directory(lib, dir, sizeof(dir))) < 0 ||
	    (error = library_db_format(&lib->state, &text, &length)) < 0 ||
	    (error = state_write_atomic(dir, lib->spec.name, text, length)) < 0)
		log_warnx("library %s: cannot save its database: %s", lib->spec.name,
		          strerror(-error));
	else
		db_remember(lib);
	free(text);
}

static void db_load(struct library_runtime *lib)
{
	char path[PATH_MAX + 64], *text = NULL;
	size_t length = 0;
	int bad = 0, error;

	if (lib->state_directory[0] == '\0')
		return;
	if (snprintf(path, sizeof(path), "%s/library/%s", lib->state_directory, lib->spec.name) >=
	    (int)sizeof(path))
		return;
	error = state_read_file(path, DB_MAX_BYTES, &text, &length);
	if (error == -ENOENT)
		return;
	if (error < 0) {
		log_warnx("%s: %s; starting from the changer's inventory", path, strerror(-error));
		return;
	}
	library_db_parse(&lib->state, text, length, &bad);
	if (bad > 0)
		log_warnx("%s: %d bad lines ignored", path, bad);
	free(text);
	db_remember(lib);
}

struct library_runtime *library_runtime_start(const struct library_spec *spec,
                                              const char *state_directory)
{
	struct library_runtime *lib = calloc(1, sizeof(*lib));
	int drives, slots, portals, error;

	if (lib == NULL)
		return NULL;
	pthread_mutex_init(&lib->lock, NULL);
	pthread_mutex_init(&lib->shown_lock, NULL);
	lib->lock_fd = -1;
	for (int d = 0; d < LIBRARY_DRIVES_MAX; d++)
		lib->drive_lock_fd[d] = -1;
	lib->spec = *spec;
	snprintf(lib->state_directory, sizeof(lib->state_directory), "%s", state_directory);
	error = spec->is_virtual
	            ? changer_virtual_open(&lib->changer, spec->path, spec->drive_count,
	                                   spec->slots, spec->portals)
	            : changer_sch_open(&lib->changer, spec->path, NULL);
	if (error == 0)
		error = lib->changer.ops->shape(&lib->changer, &drives, &slots, &portals);
	if (error == 0 && drives < spec->drive_count)
		error = -ENODEV;
	if (error == 0)
		error = library_init(&lib->state, spec->name, spec->drive_count, slots, portals);
	if (error == 0) {
		file_lock(lib);
		db_load(lib);
		error = lib->changer.ops->inventory(&lib->changer, &lib->state);
		if (error == 0)
			library_save_locked(lib);
		if (lib->lock_fd >= 0)
			flock(lib->lock_fd, LOCK_UN);
		publish_drives(lib);
	}
	if (error < 0) {
		log_warnx("library %s: %s: %s", spec->name, spec->path, strerror(-error));
		if (lib->changer.ops != NULL && lib->changer.fd >= 0)
			lib->changer.ops->close(&lib->changer);
		if (lib->lock_fd >= 0)
			close(lib->lock_fd);
		free(lib);
		return NULL;
	}
	log_info("library %s: %s changer %s, %d drives, %d slots, %d portals", spec->name,
	         lib->changer.ops->name, spec->path, lib->state.drive_count, lib->state.slot_count,
	         lib->state.portal_count);
	return lib;
}

int libraries_start(const struct config *config, const char *state_directory)
{
	if (running_count > 0)
		return 0; /* a reload changes them: libraries_reload() */
	snprintf(started_state_directory, sizeof(started_state_directory), "%s",
	         state_directory != NULL ? state_directory : "");
	for (int i = 0; i < config->libraries.count; i++) {
		struct library_runtime *lib =
		    library_runtime_start(&config->libraries.libraries[i],
		                          state_directory != NULL ? state_directory : "");

		if (lib == NULL) {
			libraries_stop();
			return -1;
		}
		running[running_count++] = lib;
	}
	return 0;
}

static void library_free(struct library_runtime *lib)
{
	if (!lib->retired)
		lib->changer.ops->close(&lib->changer);
	if (lib->lock_fd >= 0)
		close(lib->lock_fd);
	for (int d = 0; d < LIBRARY_DRIVES_MAX; d++)
		library_drive_unclaim(lib, d);
	pthread_mutex_destroy(&lib->lock);
	pthread_mutex_destroy(&lib->shown_lock);
	free(lib);
}

void libraries_stop(void)
{
	for (int i = 0; i < running_count; i++)
		library_free(running[i]);
	running_count = 0;
	for (int i = 0; i < retired_count; i++)
		library_free(retired[i]);
	free(retired);
	retired = NULL;
	retired_count = 0;
}

void libraries_table_lock(void)
{
	pthread_mutex_lock(&table_lock);
}

void libraries_table_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}

const char *libraries_state_directory(void)
{
	return started_state_directory;
}

int libraries_add(struct library_runtime *lib)
{
	if (running_count == CONFIG_LIBRARIES_MAX)
		return -ENOSPC;
	running[running_count++] = lib;
	return 0;
}

/* Take running[index] out of the table; the caller holds the table lock. */
void libraries_retire(int index)
{
	struct library_runtime *lib = running[index], **grown;

	grown = realloc(retired, (size_t)(retired_count + 1) * sizeof(*retired));
	library_lock(lib);
	lib->changer.ops->close(&lib->changer);
	lib->retired = true;
	library_unlock(lib);
	if (grown != NULL) {
		retired = grown;
		retired[retired_count++] = lib;
	} /* else it is lost until exit, never freed under a drive thread */
	memmove(running + index, running + index + 1,
	        (size_t)(running_count - index - 1) * sizeof(*running));
	running_count--;
}

/* ------------------------------------------------------------------ operations */

static int move_locked(struct library_runtime *lib, const struct element_address *from,
                       const struct element_address *to, char *why, size_t why_size)
{
	const char *reason = NULL;
	int error = library_check_move(&lib->state, from, to, &reason);

	/* A cartridge a session is using stays put; an open empty drive may be loaded. */
	if (error == 0 && from->kind == ELEMENT_DRIVE && lib->drive_open[from->number]) {
		reason = "a session has the drive open";
		error = -EBUSY;
	} else if (error == 0 && from->kind == ELEMENT_DRIVE &&
	           drive_open_elsewhere(lib, from->number)) {
		reason = "another rmtd process has the drive open";
		error = -EBUSY;
	}
	if (error == 0) {
		error = lib->changer.ops->move(&lib->changer, &lib->state, from, to);
		if (error < 0)
			reason = strerror(-error);
	}
	if (error < 0) {
		snprintf(why, why_size, "%s", reason);
		return error;
	}
	library_apply_move(&lib->state, from, to);
	library_save_locked(lib);
	return 0;
}

static void log_operation(struct library_runtime *lib, const char *what, const char *who, int error,
                          const char *why)
{
	if (error == 0)
		log_info("library %s: %s (by %s)", lib->spec.name, what, who);
	else
		log_warnx("library %s: %s refused (by %s): %s", lib->spec.name, what, who, why);
}

int library_op_move(struct library_runtime *lib, const struct element_address *from,
                    const struct element_address *to, const char *who, char *why, size_t why_size)
{
	char a[32], b[32], what[160], barcode[LIBRARY_BARCODE_MAX + 1] = "";
	struct library_element *e;
	int error;

	library_format_address(from, a, sizeof(a));
	library_format_address(to, b, sizeof(b));
	library_lock(lib);
	if ((e = library_element_at(&lib->state, from)) != NULL)
		snprintf(barcode, sizeof(barcode), "%s", e->barcode);
	error = move_locked(lib, from, to, why, why_size);
	library_unlock(lib);
	snprintf(what, sizeof(what), "move %s%s%s to %s", barcode, barcode[0] ? " from " : "", a,
	         b);
	log_operation(lib, what, who, error, why);
	return error;
}

int library_op_load(struct library_runtime *lib, const char *what, int drive, const char *who,
                    char *why, size_t why_size)
{
	struct element_address from, to = {ELEMENT_DRIVE, drive};
	char line[160];
	int error;

	library_lock(lib);
	if (library_parse_address(what, &from) < 0 &&
	    library_locate(&lib->state, what, &from) < 0) {
		snprintf(why, why_size, "no cartridge %s in the library", what);
		error = -ENOENT;
	} else if (from.kind == ELEMENT_DRIVE) {
		snprintf(why, why_size, "%s is in drive %d already", what, from.number);
		error = -EBUSY;
	} else {
		error = move_locked(lib, &from, &to, why, why_size);
	}
	library_unlock(lib);
	snprintf(line, sizeof(line), "load %s into drive %d", what, drive);
	log_operation(lib, line, who, error, why);
	return error;
}

int library_op_unload(struct library_runtime *lib, int drive, int slot, const char *who, char *why,
                      size_t why_size)
{
	struct element_address from = {ELEMENT_DRIVE, drive}, to = {ELEMENT_SLOT, slot};
	char line[160], barcode[LIBRARY_BARCODE_MAX + 1] = "";
	int error = 0;

	library_lock(lib);
	if (drive < 0 || drive >= lib->state.drive_count) {
		snprintf(why, why_size, "the library has no drive %d", drive);
		error = -EINVAL;
	} else {
		snprintf(barcode, sizeof(barcode), "%s", lib->state.drives[drive].barcode);
		if (slot <= 0)
			to.number = library_unload_slot(&lib->state, drive);
		if (barcode[0] == '\0') {
			snprintf(why, why_size, "drive %d is empty", drive);
			error = -ENOENT;
		} else if (to.number == 0) {
			snprintf(why, why_size, "no empty slot to unload into");
			error = -ENOSPC;
		} else {
			error = move_locked(lib, &from, &to, why, why_size);
		}
	}
	library_unlock(lib);
	snprintf(line, sizeof(line), "unload %s from drive %d to slot %d", barcode, drive,
	         to.number);
	log_operation(lib, line, who, error, why);
	return error;
}

int library_op_import(struct library_runtime *lib, int portal, const char *who, char *why,
                      size_t why_size)
{
	struct element_address from = {ELEMENT_PORTAL, portal}, to = {ELEMENT_SLOT, 0};
	char line[160], barcode[LIBRARY_BARCODE_MAX + 1] = "";
	int error = 0;

	library_lock(lib);
	if (portal == 0)
		for (int i = 0; i < lib->state.portal_count && from.number == 0; i++)
			if (lib->state.portals[i].barcode[0] != '\0')
				from.number = i + 1;
	to.number = library_free_slot(&lib->state);
	if (from.number == 0) {
		snprintf(why, why_size, "no cartridge waits in a portal");
		error = -ENOENT;
	} else if (to.number == 0) {
		snprintf(why, why_size, "no empty slot to import into");
		error = -ENOSPC;
	} else {
		struct library_element *e = library_element_at(&lib->state, &from);

		if (e != NULL)
			snprintf(barcode, sizeof(barcode), "%s", e->barcode);
		error = move_locked(lib, &from, &to, why, why_size);
	}
	library_unlock(lib);
	snprintf(line, sizeof(line), "import %s from portal %d to slot %d", barcode, from.number,
	         to.number);
	log_operation(lib, line, who, error, why);
	return error;
}

int library_op_export(struct library_runtime *lib, const char *barcode, const char *who, char *why,
                      size_t why_size)
{
	struct element_address from, to = {ELEMENT_PORTAL, 0};
	char line[160];
	int error = 0;

	library_lock(lib);
	for (int i = 0; i < lib->state.portal_count && to.number == 0; i++)
		if (lib->state.portals[i].barcode[0] == '\0')
			to.number = i + 1;
	if (library_locate(&lib->state, barcode, &from) < 0) {
		snprintf(why, why_size, "no cartridge %s in the library", barcode);
		error = -ENOENT;
	} else if (from.kind == ELEMENT_DRIVE) {
		snprintf(why, why_size, "%s is loaded in drive %d: unload it first", barcode,
		         from.number);
		error = -EBUSY;
	} else if (from.kind == ELEMENT_PORTAL) {
		snprintf(why, why_size, "%s is in portal %d already", barcode, from.number);
		error = -EEXIST;
	} else if (to.number == 0) {
		snprintf(why, why_size, "every portal is full");
		error = -ENOSPC;
	} else {
		error = move_locked(lib, &from, &to, why, why_size);
	}
	library_unlock(lib);
	snprintf(line, sizeof(line), "export %s to portal %d", barcode, to.number);
	log_operation(lib, line, who, error, why);
	return error;
}

int library_op_readonly(struct library_runtime *lib, const char *barcode, bool readonly,
                        const char *who, char *why, size_t why_size)
{
	struct cartridge_record *r;
	struct element_address at;
	char line[160];
	int error = 0;

	library_lock(lib);
	if (library_locate(&lib->state, barcode, &at) < 0 &&
	    library_record(&lib->state, barcode, false) == NULL) {
		snprintf(why, why_size, "no cartridge %s in the library", barcode);
		error = -ENOENT;
	} else if ((r = library_record(&lib->state, barcode, true)) == NULL) {
		snprintf(why, why_size, "the cartridge database is full");
		error = -ENOSPC;
	} else {
		r->readonly = readonly;
		library_save_locked(lib);
	}
	library_unlock(lib);
	snprintf(line, sizeof(line), "cartridge %s read-only %s", barcode, readonly ? "on" : "off");
	log_operation(lib, line, who, error, why);
	return error;
}

int library_op_inventory(struct library_runtime *lib, char *why, size_t why_size)
{
	int error;

	library_lock(lib);
	error = lib->changer.ops->inventory(&lib->changer, &lib->state);
	if (error == 0)
		library_save_locked(lib);
	else
		snprintf(why, why_size, "inventory: %s", strerror(-error));
	library_unlock(lib);
	return error;
}

/* Put back what the drive holds; the slot it went to in *slot. */
static int put_back_locked(struct library_runtime *lib, int drive, int *slot, char *why,
                           size_t why_size)
{
	struct element_address from = {ELEMENT_DRIVE, drive}, to = {ELEMENT_SLOT, 0};
	bool open = lib->drive_open[drive];
	int error;

	*slot = lib->state.drives[drive].home_slot;
	if (lib->state.drives[drive].barcode[0] == '\0')
		return 0;
	to.number = library_unload_slot(&lib->state, drive);
	if (to.number == 0) {
		snprintf(why, why_size, "no empty slot to unload into");
		return -ENOSPC;
	}
	/* The drive's own session asks for this: the drive is open, and that is fine. */
	lib->drive_open[drive] = false;
	error = move_locked(lib, &from, &to, why, why_size);
	lib->drive_open[drive] = open;
	*slot = to.number;
	return error;
}

int library_op_next(struct library_runtime *lib, int drive, bool written, uint64_t written_file,
                    char *loaded, size_t loaded_size)
{
	char old[LIBRARY_BARCODE_MAX + 1], why[160] = "", line[200];
	struct element_address to = {ELEMENT_DRIVE, drive}, from = {ELEMENT_SLOT, 0}, at;
	const struct continuation *next;
	int slot, error;

	library_lock(lib);
	snprintf(old, sizeof(old), "%s", lib->state.drives[drive].barcode);
	/* Written by an earlier session (tar's), unloaded by this one (mt's). */
	if (lib->state.drives[drive].written) {
		written = true;
		written_file = lib->state.drives[drive].written_file;
	}
	error = put_back_locked(lib, drive, &slot, why, sizeof(why));
	if (error == 0 && !written && (next = library_continuation(&lib->state, old)) != NULL &&
	    library_locate(&lib->state, next->to, &at) == 0 && at.kind == ELEMENT_SLOT) {
		/* Read, not written: a restore goes on where the volume continued. */
		from.number = at.number;
	} else if (error == 0) {
		from.number = library_next_usable(&lib->state, slot);
		/* The one just put back is the next only if nothing else is usable. */
		if (from.number > 0 &&
		    strcmp(lib->state.slots[from.number - 1].barcode, old) == 0 && old[0] != '\0')
			from.number = -ENOENT;
		if (from.number < 0) {
			snprintf(why, sizeof(why), "no usable cartridge left");
			error = -ENOMEDIUM;
		}
	}
	if (error == 0) {
		bool open = lib->drive_open[drive];

		lib->drive_open[drive] = false;
		error = move_locked(lib, &from, &to, why, sizeof(why));
		lib->drive_open[drive] = open;
	}
	if (error == 0) {
		snprintf(loaded, loaded_size, "%s", lib->state.drives[drive].barcode);
		if (written && old[0] != '\0') {
			library_note_continues(&lib->state, old, written_file, loaded, 0);
			library_save_locked(lib);
		}
		snprintf(line, sizeof(line), "drive %d: %s%sunloaded, %s loaded from slot %d",
		         drive, old, old[0] ? " " : "", loaded, from.number);
	} else {
		snprintf(line, sizeof(line), "drive %d: %s unloaded, no next cartridge (%s)", drive,
		         old, why);
		/* The operator's cartridge, when it comes and is written, continues it. */
		if (error == -ENOMEDIUM && written && old[0] != '\0') {
			library_note_waiting(&lib->state, drive, old, written_file);
			library_save_locked(lib);
		}
	}
	library_unlock(lib);
	log_operation(lib, line, "mt offline", 0, "");
	return error;
}

int library_op_load_slot(struct library_runtime *lib, int drive, int slot, char *loaded,
                         size_t loaded_size)
{
	struct element_address to = {ELEMENT_DRIVE, drive}, from = {ELEMENT_SLOT, slot};
	char why[160] = "", line[200];
	int put, error;

	library_lock(lib);
	if (slot < 1 || slot > lib->state.slot_count ||
	    lib->state.slots[slot - 1].barcode[0] == '\0') {
		snprintf(why, sizeof(why), "slot %d holds no cartridge", slot);
		error = slot < 1 || slot > lib->state.slot_count ? -EINVAL : -ENOENT;
	} else {
		error = put_back_locked(lib, drive, &put, why, sizeof(why));
	}
	if (error == 0) {
		bool open = lib->drive_open[drive];

		lib->drive_open[drive] = false;
		error = move_locked(lib, &from, &to, why, sizeof(why));
		lib->drive_open[drive] = open;
	}
	if (error == 0)
		snprintf(loaded, loaded_size, "%s", lib->state.drives[drive].barcode);
	library_unlock(lib);
	snprintf(line, sizeof(line), "drive %d: load slot %d", drive, slot);
	log_operation(lib, line, "MTLOAD", error, why);
	return error;
}

int library_drive_describe(const char *device, char *barcode, size_t size, int *slot)
{
	struct library_runtime *lib;
	int drive;

	if (device == NULL || (lib = libraries_of_drive(device, &drive)) == NULL)
		return -ENOENT;
	/*
	 * On the event loop: a changer's move holds the lock for seconds, another
	 * process may hold the file's. Look afresh only when neither is taken;
	 * else show what the last holder left.
	 */
	if (pthread_mutex_trylock(&lib->lock) == 0) {
		if (lib->lock_fd >= 0 && flock(lib->lock_fd, LOCK_EX | LOCK_NB) == 0) {
			db_refresh(lib);
			flock(lib->lock_fd, LOCK_UN);
		}
		publish_drives(lib);
		pthread_mutex_unlock(&lib->lock);
	}
	pthread_mutex_lock(&lib->shown_lock);
	snprintf(barcode, size, "%s", lib->shown[drive].barcode);
	*slot = lib->shown[drive].slot;
	pthread_mutex_unlock(&lib->shown_lock);
	return 0;
}
