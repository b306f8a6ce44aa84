/*
 * library_reload.c - SIGHUP and the library statements: which libraries
 * start, stop or change shape, and which changes wait because a drive is in
 * use or a cartridge would lose its place (rmtd.conf(5)).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "library_runtime.h"
#include "log.h"

/* An open drive of lib (-1: none). Under the library's lock. */
static int open_drive_locked(const struct library_runtime *lib)
{
	for (int d = 0; d < lib->state.drive_count; d++)
		if (lib->drive_open[d])
			return d;
	return -1;
}

/*
 * Why spec cannot replace lib's in place now (NULL: it can). A drive in use
 * keeps its device and its cartridge; a drive or slot that goes must be empty.
 */
static const char *change_refused(const struct library_runtime *lib,
                                  const struct library_spec *spec, char *why, size_t size)
{
	const struct library_state *s = &lib->state;
	int open = open_drive_locked(lib);

	if (spec->is_virtual != lib->spec.is_virtual || strcmp(spec->path, lib->spec.path) != 0) {
		if (open < 0)
			return NULL; /* started anew */
		snprintf(why, size, "its %s changed while drive %d is open",
		         lib->spec.is_virtual ? "directory" : "changer", open);
		return why;
	}
	if (!spec->is_virtual && spec->drive_count > lib->changer.drives) {
		snprintf(why, size, "the changer has %d drives, not %d", lib->changer.drives,
		         spec->drive_count);
		return why;
	}
	for (int d = 0; d < s->drive_count; d++) {
		bool gone = d >= spec->drive_count;

		if (!gone && strcmp(spec->drive_devices[d], lib->spec.drive_devices[d]) == 0)
			continue;
		if (lib->drive_open[d] || (gone && s->drives[d].barcode[0] != '\0')) {
			snprintf(why, size, "drive %d (%s) %s", d, lib->spec.drive_names[d],
			         lib->drive_open[d] ? "is open"
			                            : "holds a cartridge: unload it first");
			return why;
		}
	}
	for (int i = spec->is_virtual ? spec->slots : s->slot_count; i < s->slot_count; i++)
		if (s->slots[i].barcode[0] != '\0') {
			snprintf(why, size, "slot %d holds %s", i + 1, s->slots[i].barcode);
			return why;
		}
	for (int i = spec->is_virtual ? spec->portals : s->portal_count; i < s->portal_count; i++)
		if (s->portals[i].barcode[0] != '\0') {
			snprintf(why, size, "portal %d holds %s", i + 1, s->portals[i].barcode);
			return why;
		}
	return NULL;
}

/* Give lib spec's drives and (virtual) slots and portals, keeping its database. */
static int reshape_locked(struct library_runtime *lib, const struct library_spec *spec)
{
	struct library_state *fresh = malloc(sizeof(*fresh));
	int slots = spec->is_virtual ? spec->slots : lib->state.slot_count;
	int portals = spec->is_virtual ? spec->portals : lib->state.portal_count;
	bool open[LIBRARY_DRIVES_MAX] = {false};
	char *text = NULL;
	size_t length = 0;
	int bad = 0, error;

	if (fresh == NULL)
		return -ENOMEM;
	error = library_init(fresh, spec->name, spec->drive_count, slots, portals);
	if (error == 0)
		error = library_db_format(&lib->state, &text, &length);
	if (error == 0)
		error = library_db_parse(fresh, text, length, &bad);
	free(text);
	if (error < 0) {
		free(fresh);
		return error;
	}
	lib->state = *fresh;
	free(fresh);
	memcpy(open, lib->drive_open, sizeof(open));
	memset(lib->drive_open, 0, sizeof(lib->drive_open));
	for (int d = 0; d < spec->drive_count && d < lib->spec.drive_count; d++)
		lib->drive_open[d] = open[d];
	lib->spec = *spec;
	if (spec->is_virtual) {
		lib->changer.drives = spec->drive_count;
		lib->changer.slots = slots;
		lib->changer.portals = portals;
	}
	error = lib->changer.ops->inventory(&lib->changer, &lib->state);
	library_save_locked(lib);
	return error;
}

static bool spec_same(const struct library_spec *a, const struct library_spec *b)
{
	if (a->is_virtual != b->is_virtual || strcmp(a->path, b->path) != 0 ||
	    a->slots != b->slots || a->portals != b->portals || a->drive_count != b->drive_count)
		return false;
	for (int d = 0; d < a->drive_count; d++)
		if (strcmp(a->drive_names[d], b->drive_names[d]) != 0 ||
		    strcmp(a->drive_devices[d], b->drive_devices[d]) != 0)
			return false;
	return true;
}

/* A library of this name is running and its statements changed. */
static void library_change(int index, const struct library_spec *spec)
{
	struct library_runtime *lib = libraries_at(index), *started;
	char why[200];
	bool anew = spec->is_virtual != lib->spec.is_virtual || strcmp(spec->path, lib->spec.path);
	int error;

	library_lock(lib);
	if (change_refused(lib, spec, why, sizeof(why)) != NULL) {
		library_unlock(lib);
		log_warnx("SIGHUP: library %s not changed, it keeps working as it was: %s",
		          spec->name, why);
		return;
	}
	if (!anew) {
		error = reshape_locked(lib, spec);
		library_unlock(lib);
		if (error < 0)
			log_warnx("SIGHUP: library %s: inventory after the change: %s", spec->name,
			          strerror(-error));
		log_notice("SIGHUP: library %s now has %d drives, %d slots, %d portals", spec->name,
		           lib->state.drive_count, lib->state.slot_count, lib->state.portal_count);
		return;
	}
	/* Another directory or changer: the same database on the new one, if it starts. */
	library_unlock(lib);
	started = library_runtime_start(spec, libraries_state_directory());
	if (started == NULL) {
		log_warnx("SIGHUP: library %s not changed, it keeps working as it was: it cannot "
		          "start on %s (see above)",
		          spec->name, spec->path);
		return;
	}
	libraries_retire(index);
	libraries_add(started);
	log_notice("SIGHUP: library %s started anew on %s", spec->name, spec->path);
}

void libraries_reload(const struct config *config)
{
	const struct library_specs *specs = &config->libraries;

	libraries_table_lock();
	for (int i = 0; i < libraries_count();) {
		struct library_runtime *lib = libraries_at(i);
		bool kept = false;
		int open;

		for (int k = 0; k < specs->count && !kept; k++)
			kept = strcmp(specs->libraries[k].name, lib->spec.name) == 0;
		if (kept) {
			i++;
			continue;
		}
		library_lock(lib);
		open = open_drive_locked(lib);
		library_unlock(lib);
		if (open >= 0) {
			log_warnx("SIGHUP: library %s is no longer in the configuration but drive "
			          "%d is open: it keeps working until a reload when it is free",
			          lib->spec.name, open);
			i++;
			continue;
		}
		log_notice("SIGHUP: library %s removed", lib->spec.name);
		libraries_retire(i);
	}
	for (int k = 0; k < specs->count; k++) {
		const struct library_spec *spec = &specs->libraries[k];
		struct library_runtime *started;
		int index = -1;

		for (int i = 0; i < libraries_count() && index < 0; i++)
			if (strcmp(libraries_at(i)->spec.name, spec->name) == 0)
				index = i;
		if (index >= 0) {
			if (!spec_same(&libraries_at(index)->spec, spec))
				library_change(index, spec);
			continue;
		}
		if (libraries_count() == CONFIG_LIBRARIES_MAX) {
			log_warnx("SIGHUP: library %s not added: %d libraries run already",
			          spec->name, libraries_count());
			continue;
		}
		started = library_runtime_start(spec, libraries_state_directory());
		if (started == NULL) {
			log_warnx("SIGHUP: library %s not added (see above; a path rmtd could not "
			          "reach when it started takes a restart)",
			          spec->name);
			continue;
		}
		libraries_add(started);
		log_notice("SIGHUP: library %s added", spec->name);
	}
	libraries_table_unlock();
}
