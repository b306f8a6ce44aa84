/*
 * control_report.c - the control replies read from the state directory: the
 * catalog of one cartridge or a summary of every catalog (through catalog.c),
 * and the drives with their persistent counters (through counters.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "catalog.h"
#include "control_proto.h"
#include "control_report.h"
#include "counters.h"
#include "json_bytes.h"
#include "status.h"
#include "status_format.h"

static int write_catalog_summary(FILE *out, const struct catalog *cat, bool json, bool first)
{
	const char *label = catalog_content_label(cat);
	uint64_t bytes = 0;

	for (size_t i = 0; i < cat->count; i++)
		bytes += cat->entries[i].bytes;
	if (json) {
		json_t *o = json_object();

		if (o == NULL || !json_set_bytes(o, "cartridge", cat->cartridge) ||
		    json_object_set_new(o, "files", json_integer((json_int_t)cat->count)) != 0 ||
		    json_object_set_new(o, "bytes", json_integer((json_int_t)bytes)) != 0 ||
		    !json_set_bytes(o, "label", label)) {
			json_decref(o);
			return -ENOMEM;
		}
		fputs(first ? "" : ",", out);
		return json_write_file(o, out);
	} else {
		char escaped[4 * CONTROL_NAME_MAX], escaped_label[512];

		status_text_escape(escaped, sizeof(escaped), cat->cartridge);
		fprintf(out, "Cartridge %s: %zu file%s, %llu Kbytes", escaped, cat->count,
		        cat->count == 1 ? "" : "s", (unsigned long long)(bytes / 1024));
		if (label != NULL)
			fprintf(out, ", label %s",
			        status_text_escape(escaped_label, sizeof(escaped_label), label));
		fputs("\n", out);
	}
	return ferror(out) ? -EIO : 0;
}

int control_catalog_body(const char *state_dir, const char *const *candidates, size_t count,
                         bool json, char **body, size_t *length)
{
	struct catalog cat;
	FILE *out;
	int error = -ENOENT;

	*body = NULL;
	*length = 0;
	out = open_memstream(body, length);
	if (out == NULL)
		return -errno;
	if (count == 0) {
		char **names;
		size_t found;

		error = catalog_list(state_dir, &names, &found);
		if (json)
			fputs("{\"cartridges\":[", out);
		for (size_t i = 0; error == 0 && i < found; i++) {
			if (catalog_load(state_dir, names[i], &cat) == 0)
				error = write_catalog_summary(out, &cat, json, i == 0);
			catalog_free(&cat);
		}
		if (json)
			fputs("]}\n", out);
		else if (error == 0 && found == 0)
			fputs("No catalogs\n", out);
		catalog_list_free(names, found);
	} else {
		for (size_t i = 0; i < count && error == -ENOENT; i++) {
			int loaded = catalog_load(state_dir, candidates[i], &cat);

			if (loaded == 0 && cat.on_disk) {
				error = json ? catalog_write_json(&cat, out)
				             : catalog_write_table(&cat, out);
				if (json && error == 0)
					fputs("\n", out);
			} else if (loaded < 0 && loaded != -ENOENT) {
				error = loaded;
			}
			catalog_free(&cat);
		}
	}
	if (fclose(out) != 0 && error == 0)
		error = -EIO;
	if (error < 0) {
		free(*body);
		*body = NULL;
		*length = 0;
	}
	return error;
}

int control_drives_body(const char *state_dir, struct status_drive *drives, size_t count, bool json,
                        char **body, size_t *length)
{
	struct counters *counters = calloc(count + 1, sizeof(*counters));
	struct status_snapshot snapshot = {
	    .when = time(NULL), .drives = drives, .drive_count = count};
	struct evbuffer *out = evbuffer_new();
	int error = counters && out ? 0 : -ENOMEM;

	*body = NULL;
	*length = 0;
	for (size_t i = 0; error == 0 && i < count; i++) {
		/* Counted under the drive's canonical name; a declared drive perhaps by its own. */
		if (counters_load(state_dir, COUNTERS_DRIVE, drives[i].name, &counters[i]) < 0 ||
		    (counters[i].first_use == 0 && drives[i].alias != NULL &&
		     counters_load(state_dir, COUNTERS_DRIVE, drives[i].alias, &counters[i]) < 0))
			counters[i].first_use = 0; /* unreadable: shown without totals */
		drives[i].counters = &counters[i];
	}
	if (error == 0)
		error = json ? status_format_drives_json(out, &snapshot)
		             : status_format_drives_text(out, &snapshot);
	if (error == 0) {
		*length = evbuffer_get_length(out);
		*body = malloc(*length + 1);
		if (*body == NULL) {
			error = -ENOMEM;
		} else {
			evbuffer_remove(out, *body, *length);
			(*body)[*length] = '\0';
		}
	}
	for (size_t i = 0; i < count; i++)
		drives[i].counters = NULL;
	if (out != NULL)
		evbuffer_free(out);
	free(counters);
	return error;
}
