/*
 * library.c - the elements of a tape library, the moves between them, and its
 * cartridge database as text. Pure: the callers do I/O and locking.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "library.h"
#include "number.h"

int library_init(struct library_state *lib, const char *name, int drives, int slots, int portals)
{
	if (drives < 1 || drives > LIBRARY_DRIVES_MAX || slots < 1 || slots > LIBRARY_SLOTS_MAX ||
	    portals < 0 || portals > LIBRARY_PORTALS_MAX || strlen(name) >= LIBRARY_NAME_MAX)
		return -EINVAL;
	memset(lib, 0, sizeof(*lib));
	snprintf(lib->name, sizeof(lib->name), "%s", name);
	lib->drive_count = drives;
	lib->slot_count = slots;
	lib->portal_count = portals;
	return 0;
}

bool library_barcode_valid(const char *barcode)
{
	size_t length = strlen(barcode);

	if (length == 0 || length > LIBRARY_BARCODE_MAX || barcode[0] == '.')
		return false;
	for (const char *p = barcode; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("_.+-", *p) == NULL)
			return false;
	return true;
}

const char *library_kind_name(enum element_kind kind)
{
	switch (kind) {
	case ELEMENT_DRIVE:
		return "drive";
	case ELEMENT_SLOT:
		return "slot";
	case ELEMENT_PORTAL:
	default:
		return "portal";
	}
}

int library_parse_address(const char *text, struct element_address *out)
{
	static const struct {
		const char *word;
		enum element_kind kind;
	} words[] = {
	    {"drive", ELEMENT_DRIVE}, {"slot", ELEMENT_SLOT}, {"portal", ELEMENT_PORTAL},
	    {"d", ELEMENT_DRIVE},     {"s", ELEMENT_SLOT},    {"p", ELEMENT_PORTAL},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].word);
		const char *p = text + n;
		int64_t number;

		if (strncmp(text, words[i].word, n) != 0)
			continue;
		while (*p == ' ' || *p == ':')
			p++;
		if (!isdigit((unsigned char)*p))
			continue;
		if (decimal_parse_range(p, 0, 100000, &number) < 0)
			return -EINVAL;
		out->kind = words[i].kind;
		out->number = (int)number;
		return 0;
	}
	return -EINVAL;
}

void library_format_address(const struct element_address *a, char *out, size_t size)
{
	snprintf(out, size, "%s %d", library_kind_name(a->kind), a->number);
}

struct library_element *library_element_at(struct library_state *lib,
                                           const struct element_address *a)
{
	switch (a->kind) {
	case ELEMENT_DRIVE:
		return a->number >= 0 && a->number < lib->drive_count ? &lib->drives[a->number]
		                                                      : NULL;
	case ELEMENT_SLOT:
		return a->number >= 1 && a->number <= lib->slot_count ? &lib->slots[a->number - 1]
		                                                      : NULL;
	case ELEMENT_PORTAL:
		return a->number >= 1 && a->number <= lib->portal_count
		           ? &lib->portals[a->number - 1]
		           : NULL;
	}
	return NULL;
}

int library_locate(const struct library_state *lib, const char *barcode,
                   struct element_address *out)
{
	for (int i = 0; i < lib->drive_count; i++)
		if (strcmp(lib->drives[i].barcode, barcode) == 0 && barcode[0] != '\0') {
			*out = (struct element_address){ELEMENT_DRIVE, i};
			return 0;
		}
	for (int i = 0; i < lib->slot_count; i++)
		if (strcmp(lib->slots[i].barcode, barcode) == 0 && barcode[0] != '\0') {
			*out = (struct element_address){ELEMENT_SLOT, i + 1};
			return 0;
		}
	for (int i = 0; i < lib->portal_count; i++)
		if (strcmp(lib->portals[i].barcode, barcode) == 0 && barcode[0] != '\0') {
			*out = (struct element_address){ELEMENT_PORTAL, i + 1};
			return 0;
		}
	return -ENOENT;
}

struct cartridge_record *library_record(struct library_state *lib, const char *barcode, bool create)
{
	struct cartridge_record *r;

	for (int i = 0; i < lib->cartridge_count; i++)
		if (strcmp(lib->cartridges[i].barcode, barcode) == 0)
			return &lib->cartridges[i];
	if (!create || lib->cartridge_count == LIBRARY_CARTRIDGES_MAX ||
	    !library_barcode_valid(barcode))
		return NULL;
	r = &lib->cartridges[lib->cartridge_count++];
	memset(r, 0, sizeof(*r));
	snprintf(r->barcode, sizeof(r->barcode), "%s", barcode);
	return r;
}

int library_check_move(struct library_state *lib, const struct element_address *from,
                       const struct element_address *to, const char **why)
{
	struct library_element *source = library_element_at(lib, from);
	struct library_element *target = library_element_at(lib, to);

	if (source == NULL || target == NULL) {
		*why = source == NULL ? "the library has no such source element"
		                      : "the library has no such destination element";
		return -EINVAL;
	}
	if (source->barcode[0] == '\0') {
		*why = "the source holds no cartridge";
		return -ENOENT;
	}
	if (source == target) {
		*why = "source and destination are the same element";
		return -EINVAL;
	}
	if (target->barcode[0] != '\0') {
		if (to->kind == ELEMENT_DRIVE) {
			*why = "the drive already holds a cartridge";
			return -EBUSY;
		}
		*why = to->kind == ELEMENT_SLOT ? "the destination slot is full"
		                                : "the destination portal is full";
		return -EEXIST;
	}
	if (from->kind == ELEMENT_DRIVE && to->kind == ELEMENT_PORTAL) {
		*why = "a loaded cartridge cannot be exported: unload it first";
		return -EBUSY;
	}
	return 0;
}

void library_apply_move(struct library_state *lib, const struct element_address *from,
                        const struct element_address *to)
{
	struct library_element *source = library_element_at(lib, from);
	struct library_element *target = library_element_at(lib, to);

	memcpy(target->barcode, source->barcode, sizeof(target->barcode));
	target->home_slot = 0;
	target->written = false;
	target->written_file = 0;
	if (to->kind == ELEMENT_DRIVE)
		target->home_slot = from->kind == ELEMENT_SLOT ? from->number : 0;
	source->barcode[0] = '\0';
	source->home_slot = 0;
	source->written = false;
}

static bool slot_reserved(const struct library_state *lib, int slot)
{
	for (int d = 0; d < lib->drive_count; d++)
		if (lib->drives[d].barcode[0] != '\0' && lib->drives[d].home_slot == slot)
			return true;
	return false;
}

int library_free_slot(const struct library_state *lib)
{
	/* A loaded cartridge's home slot is kept for its return. */
	for (int i = 0; i < lib->slot_count; i++)
		if (lib->slots[i].barcode[0] == '\0' && !slot_reserved(lib, i + 1))
			return i + 1;
	for (int i = 0; i < lib->slot_count; i++)
		if (lib->slots[i].barcode[0] == '\0')
			return i + 1;
	return 0;
}

int library_unload_slot(const struct library_state *lib, int drive)
{
	int home;

	if (drive < 0 || drive >= lib->drive_count)
		return 0;
	home = lib->drives[drive].home_slot;
	if (home >= 1 && home <= lib->slot_count && lib->slots[home - 1].barcode[0] == '\0')
		return home;
	return library_free_slot(lib);
}

static bool usable(struct library_state *lib, const char *barcode)
{
	const struct cartridge_record *r = library_record(lib, barcode, false);

	return barcode[0] != '\0' && (r == NULL || (!r->readonly && !r->full));
}

int library_next_usable(struct library_state *lib, int after)
{
	if (after < 0 || after > lib->slot_count)
		after = 0;
	for (int n = 1; n <= lib->slot_count; n++) {
		int slot = (after + n - 1) % lib->slot_count + 1;

		if (usable(lib, lib->slots[slot - 1].barcode))
			return slot;
	}
	return -ENOENT;
}

void library_note_write(struct library_state *lib, const char *barcode, uint64_t bytes,
                        uint32_t record_size, time_t now)
{
	struct cartridge_record *r = library_record(lib, barcode, true);

	if (r == NULL)
		return;
	r->bytes += bytes;
	r->last_written = now;
	for (int i = 0; i < LIBRARY_BLOCKSIZES && record_size > 0; i++) {
		if (r->block_sizes[i] == record_size)
			break;
		if (r->block_sizes[i] == 0) {
			r->block_sizes[i] = record_size;
			break;
		}
	}
}

void library_note_filemark(struct library_state *lib, const char *barcode, uint64_t files)
{
	struct cartridge_record *r = library_record(lib, barcode, true);

	if (r != NULL)
		r->files += files;
}

void library_note_full(struct library_state *lib, const char *barcode)
{
	struct cartridge_record *r = library_record(lib, barcode, true);

	if (r != NULL && !r->full) {
		r->full = true;
		r->times_full++;
	}
}

static void forget_continuation(struct library_state *lib, const char *from)
{
	for (int i = 0; i < lib->continue_count; i++)
		if (strcmp(lib->continues[i].from, from) == 0) {
			lib->continues[i] = lib->continues[--lib->continue_count];
			return;
		}
}

void library_note_rewritten(struct library_state *lib, const char *barcode)
{
	struct cartridge_record *r = library_record(lib, barcode, true);

	if (r != NULL) {
		r->full = false;
		r->bytes = 0;
		r->files = 0;
	}
	forget_continuation(lib, barcode);
}

int library_note_continues(struct library_state *lib, const char *from, uint64_t from_file,
                           const char *to, uint64_t to_file)
{
	struct continuation *c;

	forget_continuation(lib, from);
	if (lib->continue_count == LIBRARY_CONTINUES_MAX)
		return -ENOSPC;
	c = &lib->continues[lib->continue_count++];
	snprintf(c->from, sizeof(c->from), "%s", from);
	snprintf(c->to, sizeof(c->to), "%s", to);
	c->from_file = from_file;
	c->to_file = to_file;
	return 0;
}

const struct continuation *library_continuation(const struct library_state *lib,
                                                const char *barcode)
{
	for (int i = 0; i < lib->continue_count; i++)
		if (strcmp(lib->continues[i].from, barcode) == 0)
			return &lib->continues[i];
	return NULL;
}

/* ------------------------------------------------------------------ on disk */

static int format_elements(FILE *out, const char *kind, const struct library_element *e, int count,
                           int first)
{
	for (int i = 0; i < count; i++) {
		if (e[i].barcode[0] == '\0')
			continue;
		fprintf(out, "%s %d %s", kind, i + first, e[i].barcode);
		if (e[i].home_slot > 0)
			fprintf(out, " home %d", e[i].home_slot);
		if (e[i].written)
			fprintf(out, " written %" PRIu64, e[i].written_file);
		fputc('\n', out);
	}
	return 0;
}

void library_note_waiting(struct library_state *lib, int drive, const char *from, uint64_t file)
{
	if (drive < 0 || drive >= lib->drive_count || !library_barcode_valid(from))
		return;
	snprintf(lib->drives[drive].waits_from, sizeof(lib->drives[drive].waits_from), "%s", from);
	lib->drives[drive].waits_file = file;
}

bool library_note_drive_write(struct library_state *lib, int drive, const char *barcode,
                              uint64_t file)
{
	struct library_element *e;
	bool noted = false;

	if (drive < 0 || drive >= lib->drive_count)
		return false;
	e = &lib->drives[drive];
	if (e->waits_from[0] == '\0')
		return false;
	/* Written again itself: it was not full after all, and continues on nothing new. */
	if (strcmp(e->waits_from, barcode) != 0)
		noted =
		    library_note_continues(lib, e->waits_from, e->waits_file, barcode, file) == 0;
	e->waits_from[0] = '\0';
	e->waits_file = 0;
	return noted;
}

int library_db_format(const struct library_state *lib, char **text, size_t *length)
{
	FILE *out = open_memstream(text, length);

	if (out == NULL)
		return -ENOMEM;
	fprintf(out, "rmtd-library 1 %s\n", lib->name);
	format_elements(out, "drive", lib->drives, lib->drive_count, 0);
	format_elements(out, "slot", lib->slots, lib->slot_count, 1);
	format_elements(out, "portal", lib->portals, lib->portal_count, 1);
	for (int d = 0; d < lib->drive_count; d++)
		if (lib->drives[d].waits_from[0] != '\0')
			fprintf(out, "waiting %d %s %" PRIu64 "\n", d, lib->drives[d].waits_from,
			        lib->drives[d].waits_file);
	for (int i = 0; i < lib->cartridge_count; i++) {
		const struct cartridge_record *r = &lib->cartridges[i];

		fprintf(out,
		        "cartridge %s readonly %d full %d times-full %" PRIu64 " bytes %" PRIu64
		        " files %" PRIu64 " last-written %lld block-sizes ",
		        r->barcode, r->readonly, r->full, r->times_full, r->bytes, r->files,
		        (long long)r->last_written);
		for (int b = 0; b < LIBRARY_BLOCKSIZES && r->block_sizes[b] != 0; b++)
			fprintf(out, "%s%" PRIu32, b > 0 ? "," : "", r->block_sizes[b]);
		if (r->block_sizes[0] == 0)
			fputc('-', out);
		fputc('\n', out);
	}
	for (int i = 0; i < lib->continue_count; i++) {
		const struct continuation *c = &lib->continues[i];

		fprintf(out, "continues %s %" PRIu64 " %s %" PRIu64 "\n", c->from, c->from_file,
		        c->to, c->to_file);
	}
	if (fclose(out) != 0) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

static bool parse_u64(const char *word, uint64_t *out)
{
	return word != NULL && decimal_parse_u64(word, strlen(word), out) == 0;
}

static bool parse_cartridge(struct library_state *lib, char **w, int n)
{
	struct cartridge_record r = {0};
	uint64_t v;

	if (n != 16 || !library_barcode_valid(w[1]))
		return false;
	snprintf(r.barcode, sizeof(r.barcode), "%s", w[1]);
	for (int i = 2; i + 1 < n; i += 2) {
		if (strcmp(w[i], "block-sizes") == 0) {
			char *save = NULL, *part;
			int b = 0;

			if (strcmp(w[i + 1], "-") == 0)
				continue;
			for (part = strtok_r(w[i + 1], ",", &save); part != NULL;
			     part = strtok_r(NULL, ",", &save)) {
				if (!parse_u64(part, &v) || v == 0 || v > UINT32_MAX ||
				    b == LIBRARY_BLOCKSIZES)
					return false;
				r.block_sizes[b++] = (uint32_t)v;
			}
			continue;
		}
		if (!parse_u64(w[i + 1], &v))
			return false;
		if (strcmp(w[i], "readonly") == 0)
			r.readonly = v != 0;
		else if (strcmp(w[i], "full") == 0)
			r.full = v != 0;
		else if (strcmp(w[i], "times-full") == 0)
			r.times_full = v;
		else if (strcmp(w[i], "bytes") == 0)
			r.bytes = v;
		else if (strcmp(w[i], "files") == 0)
			r.files = v;
		/* Beyond INT64_MAX it would be negative, be written so, and not read back. */
		else if (strcmp(w[i], "last-written") == 0 && v <= INT64_MAX)
			r.last_written = (time_t)v;
		else
			return false;
	}
	struct cartridge_record *slot = library_record(lib, r.barcode, true);
	if (slot == NULL)
		return false;
	*slot = r;
	return true;
}

static bool parse_line(struct library_state *lib, char *line)
{
	char *w[20], *save = NULL;
	int n = 0;
	uint64_t a, b;
	struct element_address at, held;
	struct library_element *e;

	for (char *word = strtok_r(line, " \t", &save); word != NULL;
	     word = strtok_r(NULL, " \t", &save)) {
		if (n == 20)
			return false;
		w[n++] = word;
	}
	if (n == 0)
		return true;
	if (strcmp(w[0], "rmtd-library") == 0)
		return n >= 2 && strcmp(w[1], "1") == 0;
	if (strcmp(w[0], "cartridge") == 0)
		return parse_cartridge(lib, w, n);
	if (strcmp(w[0], "waiting") == 0) {
		if (n != 4 || !parse_u64(w[1], &a) || !library_barcode_valid(w[2]) ||
		    !parse_u64(w[3], &b))
			return false;
		if (a < (uint64_t)lib->drive_count) /* a drive gone since: the wait with it */
			library_note_waiting(lib, (int)a, w[2], b);
		return true;
	}
	if (strcmp(w[0], "continues") == 0) {
		if (n != 5 || !library_barcode_valid(w[1]) || !library_barcode_valid(w[3]) ||
		    !parse_u64(w[2], &a) || !parse_u64(w[4], &b))
			return false;
		return library_note_continues(lib, w[1], a, w[3], b) == 0;
	}
	if ((n != 3 && n != 5 && n != 7) || !parse_u64(w[1], &a) || a > 100000 ||
	    !library_barcode_valid(w[2]))
		return false;
	if (strcmp(w[0], "drive") == 0)
		at.kind = ELEMENT_DRIVE;
	else if (strcmp(w[0], "slot") == 0)
		at.kind = ELEMENT_SLOT;
	else if (strcmp(w[0], "portal") == 0)
		at.kind = ELEMENT_PORTAL;
	else
		return false;
	at.number = (int)a;
	e = library_element_at(lib, &at);
	if (e == NULL) /* the library is smaller now: the cartridge is placed anew */
		return true;
	/* A cartridge is in one place: a second line placing it elsewhere is bad. */
	if (library_locate(lib, w[2], &held) == 0 &&
	    (held.kind != at.kind || held.number != at.number))
		return false;
	snprintf(e->barcode, sizeof(e->barcode), "%s", w[2]);
	for (int i = 3; i + 1 < n; i += 2) {
		if (!parse_u64(w[i + 1], &b))
			return false;
		if (strcmp(w[i], "home") == 0 && b <= 100000) {
			e->home_slot = (int)b;
		} else if (strcmp(w[i], "written") == 0) {
			e->written = true;
			e->written_file = b;
		} else {
			return false;
		}
	}
	return true;
}

int library_db_parse(struct library_state *lib, const char *text, size_t length, int *bad)
{
	size_t at = 0;

	*bad = 0;
	while (at < length) {
		const char *end = memchr(text + at, '\n', length - at);
		size_t n;
		char line[2048];

		if (end == NULL) { /* a torn last line: the write it was part of never finished */
			(*bad)++;
			break;
		}
		n = (size_t)(end - (text + at));
		if (n >= sizeof(line)) {
			(*bad)++;
		} else {
			memcpy(line, text + at, n);
			line[n] = '\0';
			if (!parse_line(lib, line))
				(*bad)++;
		}
		at += n + 1;
	}
	return 0;
}
