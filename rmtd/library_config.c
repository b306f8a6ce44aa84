/*
 * library_config.c - parse rmtd.conf's "library" statements.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "library_config.h"
#include "number.h"

static bool parse_count(const char *word, int min, int max, int *out)
{
	uint64_t v;

	if (decimal_parse_u64(word, strlen(word), &v) < 0 || v < (uint64_t)min || v > (uint64_t)max)
		return false;
	*out = (int)v;
	return true;
}

static struct library_spec *find(struct library_specs *specs, const char *name)
{
	for (int i = 0; i < specs->count; i++)
		if (strcmp(specs->libraries[i].name, name) == 0)
			return &specs->libraries[i];
	return NULL;
}

static int statement_new(struct library_specs *specs, char **w, int n, char *error,
                         size_t error_size)
{
	struct library_spec *spec;
	bool is_virtual = strcmp(w[2], "virtual") == 0;

	if (find(specs, w[1]) != NULL) {
		snprintf(error, error_size, "library %s is declared twice", w[1]);
		return -1;
	}
	if (specs->count == CONFIG_LIBRARIES_MAX) {
		snprintf(error, error_size, "too many libraries (at most %d)",
		         CONFIG_LIBRARIES_MAX);
		return -1;
	}
	if (w[3][0] != '/' || strlen(w[3]) >= sizeof(spec->path)) {
		snprintf(error, error_size, "library %s: %s is not an absolute path", w[1], w[3]);
		return -1;
	}
	spec = &specs->libraries[specs->count];
	memset(spec, 0, sizeof(*spec));
	snprintf(spec->name, sizeof(spec->name), "%s", w[1]);
	snprintf(spec->path, sizeof(spec->path), "%s", w[3]);
	spec->is_virtual = is_virtual;
	if (is_virtual) {
		if ((n != 6 && n != 8) || strcmp(w[4], "slots") != 0 ||
		    !parse_count(w[5], 1, LIBRARY_SLOTS_MAX, &spec->slots) ||
		    (n == 8 && (strcmp(w[6], "portals") != 0 ||
		                !parse_count(w[7], 0, LIBRARY_PORTALS_MAX, &spec->portals)))) {
			snprintf(error, error_size,
			         "usage: library NAME virtual DIRECTORY slots 1-%d [portals 0-%d]",
			         LIBRARY_SLOTS_MAX, LIBRARY_PORTALS_MAX);
			return -1;
		}
	} else if (n != 4) {
		snprintf(error, error_size, "usage: library NAME changer /dev/schN");
		return -1;
	}
	specs->count++;
	return 0;
}

int library_config_statement(struct library_specs *specs, char **w, int n, const char **drive_name,
                             const char **device, char *error, size_t error_size)
{
	struct library_spec *spec;
	int number;

	*drive_name = *device = NULL;
	if (n < 4 || strlen(w[1]) >= LIBRARY_NAME_MAX || strchr(w[1], '/') != NULL) {
		snprintf(
		    error, error_size,
		    "usage: library NAME virtual DIRECTORY slots N [portals N] | "
		    "library NAME changer /dev/schN | library NAME drive NUMBER DRIVE [DEVICE]");
		return -1;
	}
	if (strcmp(w[2], "virtual") == 0 || strcmp(w[2], "changer") == 0)
		return statement_new(specs, w, n, error, error_size);
	if (strcmp(w[2], "drive") != 0) {
		snprintf(error, error_size,
		         "library %s: \"%s\": expected virtual, changer or drive", w[1], w[2]);
		return -1;
	}
	spec = find(specs, w[1]);
	if (spec == NULL) {
		snprintf(error, error_size,
		         "library %s is not declared (declare it before its drives)", w[1]);
		return -1;
	}
	if (n < 5 || n > 6 || !parse_count(w[3], 0, LIBRARY_DRIVES_MAX - 1, &number) ||
	    number != spec->drive_count || strlen(w[4]) >= sizeof(spec->drive_names[0])) {
		snprintf(error, error_size,
		         "usage: library %s drive %d DRIVE%s (drives numbered from 0, in order)",
		         w[1], spec->drive_count, spec->is_virtual ? "" : " /dev/nstN");
		return -1;
	}
	if (spec->is_virtual != (n == 5)) {
		snprintf(error, error_size,
		         spec->is_virtual
		             ? "library %s: a virtual library's drive has no device of its own"
		             : "library %s: a changer's drive names its tape device (/dev/nstN)",
		         w[1]);
		return -1;
	}
	snprintf(spec->drive_names[number], sizeof(spec->drive_names[0]), "%s", w[4]);
	if (spec->is_virtual) {
		if (snprintf(spec->drive_devices[number], sizeof(spec->drive_devices[0]),
		             "%s/.drive%d.tap", spec->path,
		             number) >= (int)sizeof(spec->drive_devices[0])) {
			snprintf(error, error_size, "library %s: directory name too long", w[1]);
			return -1;
		}
	} else {
		snprintf(spec->drive_devices[number], sizeof(spec->drive_devices[0]), "%s", w[5]);
	}
	spec->drive_count++;
	*drive_name = spec->drive_names[number];
	*device = spec->drive_devices[number];
	return 0;
}

int library_config_check(const struct library_specs *specs, char *error, size_t error_size)
{
	for (int i = 0; i < specs->count; i++)
		if (specs->libraries[i].drive_count == 0) {
			snprintf(error, error_size, "library %s has no drive",
			         specs->libraries[i].name);
			return -1;
		}
	return 0;
}
