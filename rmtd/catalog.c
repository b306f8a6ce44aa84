/*
 * catalog.c - the per-cartridge catalog of tape files, kept in memory sorted
 * by file number as files pass, and printed as a table (its file, JSON lines,
 * is catalog_file.c's).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_internal.h"
#include "escape.h"

/* ---------------------------------------------------------------------------
 * Entries
 */

void catalog_entry_free_strings(struct catalog_entry *e)
{
	free(e->label);
	free(e->host);
	free(e->filesystem);
	free(e->device);
	free(e->member);
	free(e->compression);
	e->label = e->host = e->filesystem = e->device = e->member = e->compression = NULL;
}

void catalog_entry_init(struct catalog_entry *e, uint64_t file_number)
{
	memset(e, 0, sizeof(*e));
	e->file_number = file_number;
	snprintf(e->format, sizeof(e->format), "unknown");
	e->level = -1;
}

/* Bounded copy (cut, always terminated). */
void catalog_copy_bounded(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* *slot = copy of s, or NULL for an empty s. Returns false on ENOMEM. */
bool catalog_set_string(char **slot, const char *s)
{
	char *copy = NULL;

	if (s && s[0] != '\0') {
		copy = strdup(s);
		if (!copy)
			return false;
	}
	free(*slot);
	*slot = copy;
	return true;
}

static int entry_set_content(struct catalog_entry *e, const struct tape_content *c)
{
	bool ok = true;

	if (!c || c->format == LABEL_FORMAT_UNKNOWN) {
		catalog_entry_free_strings(e);
		snprintf(e->format, sizeof(e->format), "unknown");
		e->variant[0] = '\0';
		e->level = -1;
		e->date = e->previous_date = 0;
		e->volume = 0;
		e->continuation = false;
		e->offset = 0;
		return 0;
	}
	catalog_copy_bounded(e->format, sizeof(e->format),
	                     c->format_name ? c->format_name : label_format_name(c->format));
	memcpy(e->variant, c->variant, sizeof(e->variant));
	e->variant[sizeof(e->variant) - 1] = '\0';
	ok &= catalog_set_string(&e->label, c->label);
	ok &= catalog_set_string(&e->host, c->host);
	ok &= catalog_set_string(&e->filesystem, c->filesystem);
	ok &= catalog_set_string(&e->device, c->device);
	ok &= catalog_set_string(&e->member, c->member);
	ok &= catalog_set_string(&e->compression, c->compression);
	e->level = c->level;
	e->date = c->date;
	e->previous_date = c->previous_date;
	e->volume = c->volume;
	e->continuation = c->continuation;
	e->offset = c->offset;
	return ok ? 0 : -ENOMEM;
}

/* Index of file_number, or where it would go; *found tells which. */
size_t catalog_find_index(const struct catalog *cat, uint64_t file_number, bool *found)
{
	size_t low = 0, high = cat->count;

	while (low < high) {
		size_t middle = low + (high - low) / 2;

		if (cat->entries[middle].file_number < file_number)
			low = middle + 1;
		else
			high = middle;
	}
	*found = low < cat->count && cat->entries[low].file_number == file_number;
	return low;
}

/* Make room at index and put a fresh entry for file_number there. */
struct catalog_entry *catalog_insert_entry(struct catalog *cat, size_t index, uint64_t file_number)
{
	if (cat->count >= CATALOG_MAX_FILES)
		return NULL;
	if (cat->count == cat->capacity) {
		size_t capacity = cat->capacity ? cat->capacity * 2 : 16;
		struct catalog_entry *grown;

		if (capacity > CATALOG_MAX_FILES)
			capacity = CATALOG_MAX_FILES;
		grown = reallocarray(cat->entries, capacity, sizeof(*grown));
		if (!grown)
			return NULL;
		cat->entries = grown;
		cat->capacity = capacity;
	}
	memmove(cat->entries + index + 1, cat->entries + index,
	        (cat->count - index) * sizeof(*cat->entries));
	cat->count++;
	catalog_entry_init(&cat->entries[index], file_number);
	return &cat->entries[index];
}

/* Drop entries from file_number on; returns whether any were dropped. */
bool catalog_drop_from(struct catalog *cat, uint64_t file_number)
{
	bool found;
	size_t index = catalog_find_index(cat, file_number, &found);
	bool dropped = index < cat->count;

	for (size_t i = index; i < cat->count; i++)
		catalog_entry_free_strings(&cat->entries[i]);
	cat->count = index;
	return dropped;
}

/* ---------------------------------------------------------------------------
 * Updating
 */

int catalog_init(struct catalog *cat, const char *cartridge)
{
	memset(cat, 0, sizeof(*cat));
	cat->truncate_from = NO_TRUNCATE;
	cat->cartridge = strdup(cartridge ? cartridge : "");
	return cat->cartridge ? 0 : -ENOMEM;
}

void catalog_free(struct catalog *cat)
{
	for (size_t i = 0; i < cat->count; i++)
		catalog_entry_free_strings(&cat->entries[i]);
	free(cat->entries);
	free(cat->cartridge);
	memset(cat, 0, sizeof(*cat));
	cat->truncate_from = NO_TRUNCATE;
}

void catalog_truncate(struct catalog *cat, uint64_t file_number)
{
	if (catalog_drop_from(cat, file_number) && file_number < cat->truncate_from)
		cat->truncate_from = file_number;
}

int catalog_file_begin(struct catalog *cat, uint64_t file_number,
                       const struct tape_content *content, size_t first_record_length, bool writing,
                       time_t now)
{
	struct catalog_entry *e;
	bool found;
	size_t index;
	int error;

	if (file_number >= CATALOG_MAX_FILES)
		return -ENOSPC;
	if (writing)
		catalog_truncate(cat, file_number);
	index = catalog_find_index(cat, file_number, &found);
	if (found) {
		const char *format =
		    content && content->format != LABEL_FORMAT_UNKNOWN
		        ? (content->format_name ? content->format_name
		                                : label_format_name(content->format))
		        : "unknown";

		e = &cat->entries[index];
		/* reading a file we know whole, or saw cut while written: keep what we know */
		if ((e->complete || (e->written && !writing && !e->counting)) &&
		    strcmp(e->format, format) == 0 &&
		    strcmp(e->variant, content ? content->variant : "") == 0) {
			e->counting = false;
			return 0;
		}
		if (strcmp(e->format, format) != 0)
			e->written = false;
	} else {
		e = catalog_insert_entry(cat, index, file_number);
		if (!e)
			return cat->count >= CATALOG_MAX_FILES ? -ENOSPC : -ENOMEM;
	}
	error = entry_set_content(e, content);
	e->record_size =
	    first_record_length > UINT32_MAX ? UINT32_MAX : (uint32_t)first_record_length;
	e->bytes = first_record_length;
	e->records = 1;
	e->complete = false;
	e->counting = true;
	e->written = e->written || writing;
	e->seen = now;
	e->dirty = true;
	return error;
}

/* The entry of file_number if its records are being counted, or NULL. */
static struct catalog_entry *counting_entry(struct catalog *cat, uint64_t file_number)
{
	bool found;
	size_t index = catalog_find_index(cat, file_number, &found);

	return found && cat->entries[index].counting ? &cat->entries[index] : NULL;
}

void catalog_file_record(struct catalog *cat, uint64_t file_number, size_t length)
{
	struct catalog_entry *e = counting_entry(cat, file_number);

	if (e == NULL)
		return;
	e->bytes = length > UINT64_MAX - e->bytes ? UINT64_MAX : e->bytes + length;
	e->records++;
	e->dirty = true;
}

/* file_number stops being counted: complete at its filemark, incomplete when cut. */
static void stop_counting(struct catalog *cat, uint64_t file_number, bool complete)
{
	struct catalog_entry *e = counting_entry(cat, file_number);

	if (e == NULL)
		return;
	e->counting = false;
	e->complete = complete;
	e->dirty = true;
}

void catalog_file_end(struct catalog *cat, uint64_t file_number)
{
	stop_counting(cat, file_number, true);
}

void catalog_file_cut(struct catalog *cat, uint64_t file_number)
{
	stop_counting(cat, file_number, false);
}

const struct catalog_entry *catalog_find(const struct catalog *cat, uint64_t file_number)
{
	bool found;
	size_t index = catalog_find_index(cat, file_number, &found);

	return found ? &cat->entries[index] : NULL;
}

const char *catalog_content_label(const struct catalog *cat)
{
	const struct catalog_entry *e = catalog_find(cat, 0);

	return e && e->label ? e->label : NULL;
}

/* ---------------------------------------------------------------------------
 * The table
 */

/* Escaped, cut to width (a cut ends in '~', never inside an escape), padded. */
static void table_cell(FILE *out, const char *raw, int width, bool right)
{
	char escaped[4 * CATALOG_STRING_MAX + 1];
	const char *text = raw && raw[0] ? raw : "-";

	escape_text(escaped, sizeof(escaped), text);
	if (strlen(escaped) > (size_t)width) {
		escape_text(escaped, (size_t)width, text); /* at most width - 1 */
		strcat(escaped, "~");
	}
	fprintf(out, right ? "%*s " : "%-*s ", width, escaped);
}

int catalog_write_table(const struct catalog *cat, FILE *out)
{
	char escaped[4 * CATALOG_STRING_MAX + 1];

	escape_text(escaped, sizeof(escaped), cat->cartridge ? cat->cartridge : "");
	fprintf(out, "cartridge %s: %zu file%s\n", escaped, cat->count, cat->count == 1 ? "" : "s");
	fprintf(out, "%5s %-10s %-20s %-16s %-12s %-24s %3s %-16s %3s %12s %8s %7s\n", "FILE",
	        "FORMAT", "VARIANT", "LABEL", "HOST", "FILESYSTEM/MEMBER", "LVL", "DATE (UTC)",
	        "VOL", "BYTES", "RECORDS", "RECSIZE");
	for (size_t i = 0; i < cat->count; i++) {
		const struct catalog_entry *e = &cat->entries[i];
		char number[32], date[32];

		snprintf(number, sizeof(number), "%" PRIu64, e->file_number);
		table_cell(out, number, 5, true);
		table_cell(out, e->format, 10, false);
		table_cell(out, e->variant, 20, false);
		table_cell(out, e->label, 16, false);
		table_cell(out, e->host, 12, false);
		table_cell(out, e->filesystem ? e->filesystem : e->member, 24, false);
		snprintf(number, sizeof(number), "%d", e->level);
		table_cell(out, e->level >= 0 ? number : "-", 3, true);
		table_cell(out, e->date ? label_format_date(e->date, date, sizeof(date)) : "-", 16,
		           false);
		snprintf(number, sizeof(number), "%d", e->volume);
		table_cell(out, e->volume ? number : "-", 3, true);
		/* a size still growing (or only partly read) is marked with '+' */
		snprintf(number, sizeof(number), "%" PRIu64 "%s", e->bytes, e->complete ? "" : "+");
		table_cell(out, number, 12, true);
		snprintf(number, sizeof(number), "%" PRIu64, e->records);
		table_cell(out, number, 8, true);
		snprintf(number, sizeof(number), "%" PRIu32, e->record_size);
		fprintf(out, "%7s\n", number);
	}
	return ferror(out) ? -EIO : 0;
}
