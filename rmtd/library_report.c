/*
 * library_report.c - what rmtctl shows of a running library, as text or as one
 * JSON object a line: the inventory (drives, slots, portals and what each holds)
 * and the cartridge database with the order of continued volumes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "json_bytes.h"
#include "library_runtime.h"

/* The elements of one kind as JSON objects appended to elements; false: no memory. */
static bool inventory_kind_json(json_t *elements, struct library_runtime *lib,
                                enum element_kind kind, const struct library_element *e, int count,
                                int first)
{
	struct library_state *s = &lib->state;
	bool ok = true;

	for (int i = 0; ok && i < count; i++) {
		const struct cartridge_record *r =
		    e[i].barcode[0] ? library_record(s, e[i].barcode, false) : NULL;
		json_t *o = json_object();

		ok = o != NULL && json_set_text(o, "element", library_kind_name(kind)) &&
		     json_object_set_new(o, "number", json_integer(i + first)) == 0 &&
		     json_set_text(o, "barcode", e[i].barcode[0] ? e[i].barcode : NULL);
		if (ok && kind == ELEMENT_DRIVE)
			ok = json_set_text(o, "drive", lib->spec.drive_names[i]) &&
			     json_object_set_new(o, "open", json_boolean(lib->drive_open[i])) == 0;
		if (ok && kind == ELEMENT_DRIVE && e[i].home_slot > 0)
			ok = json_object_set_new(o, "home_slot", json_integer(e[i].home_slot)) == 0;
		ok = ok &&
		     json_object_set_new(o, "readonly", json_boolean(r && r->readonly)) == 0 &&
		     json_object_set_new(o, "full", json_boolean(r && r->full)) == 0;
		if (!ok || json_array_append_new(elements, o) != 0) {
			json_decref(ok ? NULL : o);
			ok = false;
		}
	}
	return ok;
}

static void inventory_kind(FILE *out, struct library_runtime *lib, enum element_kind kind,
                           const struct library_element *e, int count, int first)
{
	struct library_state *s = &lib->state;

	for (int i = 0; i < count; i++) {
		const struct cartridge_record *r =
		    e[i].barcode[0] ? library_record(s, e[i].barcode, false) : NULL;

		fprintf(out, "%-6s %3d  %s", library_kind_name(kind), i + first,
		        e[i].barcode[0] ? e[i].barcode : "(empty)");
		if (kind == ELEMENT_DRIVE && e[i].home_slot > 0)
			fprintf(out, "  from slot %d", e[i].home_slot);
		if (kind == ELEMENT_DRIVE)
			fprintf(out, "  [%s%s]", lib->spec.drive_names[i],
			        lib->drive_open[i] ? ", open" : "");
		if (r && r->readonly)
			fputs("  read-only", out);
		if (r && r->full)
			fputs("  full", out);
		fputc('\n', out);
	}
}

/* o (NULL: out of memory) as one line; consumes o. */
static void json_line(json_t *o, FILE *out)
{
	if (json_write_file(o, out) == 0)
		fputc('\n', out);
}

void library_format_inventory(struct library_runtime *lib, FILE *out, bool json)
{
	struct library_state *s = &lib->state;

	library_lock(lib);
	if (json) {
		json_t *o = json_object(), *elements = json_array();
		bool ok =
		    o != NULL && elements != NULL && json_set_text(o, "library", s->name) &&
		    json_set_text(o, "changer", lib->changer.ops->name) &&
		    json_object_set(o, "elements", elements) == 0 &&
		    inventory_kind_json(elements, lib, ELEMENT_DRIVE, s->drives, s->drive_count,
		                        0) &&
		    inventory_kind_json(elements, lib, ELEMENT_SLOT, s->slots, s->slot_count, 1) &&
		    inventory_kind_json(elements, lib, ELEMENT_PORTAL, s->portals, s->portal_count,
		                        1);

		json_decref(elements);
		if (!ok) {
			json_decref(o);
			o = NULL;
		}
		json_line(o, out);
	} else {
		fprintf(out, "Library %s (%s changer %s)\n", s->name, lib->changer.ops->name,
		        lib->spec.path);
		inventory_kind(out, lib, ELEMENT_DRIVE, s->drives, s->drive_count, 0);
		inventory_kind(out, lib, ELEMENT_SLOT, s->slots, s->slot_count, 1);
		inventory_kind(out, lib, ELEMENT_PORTAL, s->portals, s->portal_count, 1);
	}
	library_unlock(lib);
}

static json_t *record_json(struct library_state *s, const struct cartridge_record *r)
{
	const struct continuation *c = library_continuation(s, r->barcode);
	struct element_address at;
	char where[32] = "outside";
	json_t *o, *sizes;
	bool ok;

	if (library_locate(s, r->barcode, &at) == 0)
		library_format_address(&at, where, sizeof(where));
	o = json_object();
	sizes = json_array();
	ok = o != NULL && sizes != NULL && json_set_text(o, "cartridge", r->barcode) &&
	     json_set_text(o, "location", where) &&
	     json_object_set_new(o, "readonly", json_boolean(r->readonly)) == 0 &&
	     json_object_set_new(o, "full", json_boolean(r->full)) == 0 &&
	     json_object_set_new(o, "times_full", json_integer((json_int_t)r->times_full)) == 0 &&
	     json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes)) == 0 &&
	     json_object_set_new(o, "files", json_integer((json_int_t)r->files)) == 0 &&
	     json_object_set_new(o, "last_written", json_integer((json_int_t)r->last_written)) == 0;

	for (int b = 0; ok && b < LIBRARY_BLOCKSIZES && r->block_sizes[b]; b++)
		ok = json_array_append_new(sizes, json_integer(r->block_sizes[b])) == 0;
	ok = ok && json_object_set(o, "block_sizes", sizes) == 0;
	json_decref(sizes);
	if (ok && c != NULL) {
		json_t *continues = json_object();

		ok = continues != NULL &&
		     json_object_set_new(continues, "file",
		                         json_integer((json_int_t)c->from_file)) == 0 &&
		     json_set_text(continues, "on", c->to) &&
		     json_object_set_new(continues, "on_file",
		                         json_integer((json_int_t)c->to_file)) == 0;
		ok = json_object_set_new(o, "continues", continues) == 0 && ok;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void format_record(FILE *out, struct library_state *s, const struct cartridge_record *r)
{
	struct element_address at;
	char where[32] = "outside", when[32] = "never";
	const struct continuation *c = library_continuation(s, r->barcode);

	if (library_locate(s, r->barcode, &at) == 0)
		library_format_address(&at, where, sizeof(where));
	if (r->last_written != 0) {
		struct tm tm;

		gmtime_r(&r->last_written, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	fprintf(out,
	        "%s: %s%s%s, full %" PRIu64 " times, %" PRIu64 " bytes, %" PRIu64
	        " files, last written %s, block sizes ",
	        r->barcode, where, r->readonly ? ", read-only" : "", r->full ? ", full" : "",
	        r->times_full, r->bytes, r->files, when);
	for (int b = 0; b < LIBRARY_BLOCKSIZES && r->block_sizes[b]; b++)
		fprintf(out, "%s%" PRIu32, b ? "," : "", r->block_sizes[b]);
	if (r->block_sizes[0] == 0)
		fputs("none", out);
	fputc('\n', out);
	if (c != NULL)
		fprintf(out, "  %s file %" PRIu64 " continues on cartridge %s file %" PRIu64 "\n",
		        c->from, c->from_file, c->to, c->to_file);
}

int library_format_cartridges(struct library_runtime *lib, const char *barcode, FILE *out,
                              bool json)
{
	struct library_state *s = &lib->state;
	bool found = false;
	char names[LIBRARY_CARTRIDGES_MAX][LIBRARY_BARCODE_MAX + 1];
	json_t *list;
	int n = 0;

	library_lock(lib);
	/* Every cartridge in an element has a record to show, even if never written. */
	for (int k = 0; k < 3; k++) {
		const struct library_element *e = k == 0   ? s->drives
		                                  : k == 1 ? s->slots
		                                           : s->portals;
		int count = k == 0 ? s->drive_count : k == 1 ? s->slot_count : s->portal_count;

		for (int i = 0; i < count; i++)
			if (e[i].barcode[0] && n < LIBRARY_CARTRIDGES_MAX)
				memcpy(names[n++], e[i].barcode, sizeof(names[0]));
	}
	for (int i = 0; i < n; i++)
		library_record(s, names[i], true);
	list = json ? json_array() : NULL;
	for (int i = 0; i < s->cartridge_count && (!json || list != NULL); i++) {
		if (barcode != NULL && strcmp(s->cartridges[i].barcode, barcode) != 0)
			continue;
		if (!json) {
			format_record(out, s, &s->cartridges[i]);
		} else if (json_array_append_new(list, record_json(s, &s->cartridges[i])) != 0) {
			json_decref(list); /* out of memory: no answer rather than half of one */
			list = NULL;
		}
		found = true;
	}
	if (json) {
		json_t *o = json_object();

		if (o == NULL || list == NULL || !json_set_text(o, "library", s->name) ||
		    json_object_set(o, "cartridges", list) != 0) {
			json_decref(o);
			o = NULL;
		}
		json_decref(list);
		json_line(o, out);
	}
	library_unlock(lib);
	return barcode != NULL && !found ? -ENOENT : 0;
}
