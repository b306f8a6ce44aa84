/*
 * catalog_file.c - a cartridge's catalog on disk: JSON lines, one per entry
 * after a header line, appended to as files pass and now and then rewritten
 * atomically (state_file.h); read back line by line, a bad or torn line costing
 * only itself; the cartridges that have one listed; one entry or the whole
 * catalog written as JSON for the control socket. JSON is read and written
 * with jansson; the format and its string rule are in catalog.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "catalog_internal.h"
#include "counters.h"
#include "escape.h"
#include "json_bytes.h"
#include "log.h"
#include "number.h"
#include "state_file.h"

#define CATALOG_SUFFIX      ".catalog"
#define CATALOG_LINE_MAX    65536
#define CATALOG_KEY_MAX     32
#define CATALOG_REWRITE_MIN 64 /* journal lines tolerated beyond 2 x entries */

/* ---------------------------------------------------------------------------
 * Strings. Entries hold raw tape bytes, written by json_set_bytes(): a string
 * that is not UTF-8 has "<key>_hex" beside it, which is what the loader reads.
 */

#define CATALOG_VERSION 2 /* 1: bytes that were not UTF-8 written as \u00XX */

/*
 * A version 1 file wrote a byte that was not UTF-8 as \u00XX, which a JSON
 * reader turns into the text U+00XX, the same as a real U+00XX written as
 * UTF-8. Before parsing such a line, each \u00XX above 0x7f becomes \u0000
 * and the two hex digits as text: version 1 never wrote a NUL, so after
 * parsing a NUL and two hex digits can only stand for that byte.
 */
static char *version1_marked(const char *text, size_t length)
{
	char *out = malloc(length + length / 6 * 2 + 1), *o = out;
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < length) {
		if (text[i] != '\\' || i + 1 >= length) {
			*o++ = text[i++];
			continue;
		}
		if (text[i + 1] == 'u' && i + 5 < length && text[i + 2] == '0' &&
		    text[i + 3] == '0' && hex_digit_value((unsigned char)text[i + 4]) >= 8 &&
		    hex_digit_value((unsigned char)text[i + 5]) >= 0) {
			memcpy(o, "\\u0000", 6);
			o[6] = text[i + 4];
			o[7] = text[i + 5];
			o += 8;
			i += 6;
			continue;
		}
		*o++ = text[i++];
		*o++ = text[i++]; /* an escape pair, so "\\u00e9" stays text */
	}
	*o = '\0';
	return out;
}

/* The bytes of key: from "<key>_hex" if there, else the text (version 1: unmarked). */
static bool get_string(json_t *obj, const char *key, int version, char *out, size_t size,
                       bool *is_null)
{
	char hex_key[CATALOG_KEY_MAX];
	json_t *v;
	const char *s;
	size_t n, used = 0;

	*is_null = false;
	snprintf(hex_key, sizeof(hex_key), "%s_hex", key);
	if ((v = json_object_get(obj, hex_key)) != NULL) {
		if (!json_is_string(v) || (n = json_string_length(v)) % 2 != 0)
			return false;
		s = json_string_value(v);
		for (size_t i = 0; i < n; i += 2) {
			int hi = hex_digit_value((unsigned char)s[i]),
			    lo = hex_digit_value((unsigned char)s[i + 1]);

			if (hi < 0 || lo < 0 || hi * 16 + lo == 0)
				return false;
			if (used + 1 < size)
				out[used++] = (char)(hi * 16 + lo);
		}
		out[used] = '\0';
		return true;
	}
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		*is_null = true;
		out[0] = '\0';
		return true;
	}
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	n = json_string_length(v);
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '\0') {
			if (version != 1 || i + 2 >= n ||
			    hex_digit_value((unsigned char)s[i + 1]) < 0 ||
			    hex_digit_value((unsigned char)s[i + 2]) < 0)
				return false; /* no NULs inside our strings */
			ch = (char)(hex_digit_value((unsigned char)s[i + 1]) * 16 +
			            hex_digit_value((unsigned char)s[i + 2]));
			i += 2;
		}
		if (used + 1 < size)
			out[used++] = ch;
	}
	out[used] = '\0';
	return true;
}

/* ---------------------------------------------------------------------------
 * JSON writing
 */

static json_t *entry_json(const struct catalog_entry *e)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && json_object_set_new(o, "file", json_integer((json_int_t)e->file_number)) == 0;
	ok = ok && json_set_bytes(o, "format", e->format) &&
	     json_set_bytes(o, "variant", e->variant) && json_set_bytes(o, "label", e->label) &&
	     json_set_bytes(o, "host", e->host) && json_set_bytes(o, "filesystem", e->filesystem) &&
	     json_set_bytes(o, "device", e->device) && json_set_bytes(o, "member", e->member) &&
	     json_set_bytes(o, "compression", e->compression);
	ok = ok && json_object_set_new(o, "compressed", json_boolean(e->compression != NULL)) == 0;
	ok = ok && json_object_set_new(o, "level", json_integer(e->level)) == 0;
	ok = ok && json_object_set_new(o, "date", json_integer((json_int_t)e->date)) == 0;
	ok = ok && json_object_set_new(o, "ddate", json_integer((json_int_t)e->previous_date)) == 0;
	ok = ok && json_object_set_new(o, "volume", json_integer(e->volume)) == 0;
	ok = ok && json_object_set_new(o, "continuation", json_boolean(e->continuation)) == 0;
	ok = ok && json_object_set_new(o, "offset", json_integer((json_int_t)e->offset)) == 0;
	ok = ok && json_object_set_new(o, "bytes", json_integer((json_int_t)e->bytes)) == 0;
	ok = ok && json_object_set_new(o, "records", json_integer((json_int_t)e->records)) == 0;
	ok = ok && json_object_set_new(o, "record_size", json_integer(e->record_size)) == 0;
	ok = ok && json_object_set_new(o, "complete", json_boolean(e->complete)) == 0;
	ok = ok && json_object_set_new(o, "written", json_boolean(e->written)) == 0;
	ok = ok && json_object_set_new(o, "seen", json_integer((json_int_t)e->seen)) == 0;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int entry_write_json(const struct catalog_entry *e, FILE *out)
{
	return json_write_file(entry_json(e), out);
}

int catalog_write_json(const struct catalog *cat, FILE *out)
{
	json_t *o = json_object(), *files = json_array();
	bool ok = o != NULL && files != NULL &&
	          json_set_bytes(o, "cartridge", cat->cartridge ? cat->cartridge : "") &&
	          json_object_set(o, "files", files) == 0;

	for (size_t i = 0; ok && i < cat->count; i++)
		ok = json_array_append_new(files, entry_json(&cat->entries[i])) == 0;
	json_decref(files);
	if (!ok) {
		json_decref(o);
		return -ENOMEM;
	}
	return json_write_file(o, out) < 0 || ferror(out) ? -EIO : 0;
}

/* ---------------------------------------------------------------------------
 * JSON reading: one object per line, the values we write. A value of the
 * wrong type makes the line bad; unknown keys (a newer rmtd's) are ignored.
 */

/* What one line said. */
struct catalog_line {
	bool header, has_file, has_truncate;
	uint64_t header_version, truncate_from;
	char cartridge[CATALOG_STRING_MAX];
	struct catalog_entry entry;
};

/* Optional integer key in [low, high]; false if present and not that. */
static bool get_number(json_t *obj, const char *key, int64_t low, int64_t high, int64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < low || json_integer_value(v) > high)
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool get_unsigned(json_t *obj, const char *key, uint64_t high, uint64_t *out)
{
	int64_t n = (int64_t)*out;

	if (!get_number(obj, key, 0, high > INT64_MAX ? INT64_MAX : (int64_t)high, &n))
		return false;
	*out = (uint64_t)n;
	return true;
}

static bool get_bool(json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return true;
	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

static bool get_fixed(json_t *obj, const char *key, int version, char *out, size_t size)
{
	char *text = malloc(CATALOG_STRING_MAX);
	bool is_null, ok = text != NULL &&
	                   get_string(obj, key, version, text, CATALOG_STRING_MAX, &is_null) &&
	                   (!is_null || json_object_get(obj, key) == NULL);

	if (ok && !is_null)
		catalog_copy_bounded(out, size, text);
	free(text);
	return ok;
}

static bool get_owned(json_t *obj, const char *key, int version, char **slot)
{
	char *text = malloc(CATALOG_STRING_MAX);
	bool is_null,
	    ok = text != NULL && get_string(obj, key, version, text, CATALOG_STRING_MAX, &is_null);

	if (ok && !is_null)
		ok = catalog_set_string(slot, text);
	free(text);
	return ok;
}

static bool line_apply(json_t *obj, int version, struct catalog_line *line)
{
	struct catalog_entry *e = &line->entry;
	int64_t n;
	bool ok = true;

	if (json_object_get(obj, "rmtd_catalog") != NULL) {
		line->header = true;
		ok = ok && get_unsigned(obj, "rmtd_catalog", UINT64_MAX, &line->header_version);
	}
	if (json_object_get(obj, "truncate") != NULL) {
		line->has_truncate = true;
		ok = ok && get_unsigned(obj, "truncate", UINT64_MAX, &line->truncate_from);
	}
	if (json_object_get(obj, "file") != NULL) {
		line->has_file = true;
		ok = ok && get_unsigned(obj, "file", CATALOG_MAX_FILES - 1, &e->file_number);
	}
	ok = ok && get_fixed(obj, "cartridge", version, line->cartridge, sizeof(line->cartridge));
	ok = ok && get_fixed(obj, "format", version, e->format, sizeof(e->format));
	ok = ok && get_fixed(obj, "variant", version, e->variant, sizeof(e->variant));
	ok = ok && get_owned(obj, "label", version, &e->label) &&
	     get_owned(obj, "host", version, &e->host) &&
	     get_owned(obj, "filesystem", version, &e->filesystem) &&
	     get_owned(obj, "device", version, &e->device) &&
	     get_owned(obj, "member", version, &e->member) &&
	     get_owned(obj, "compression", version, &e->compression);
	n = e->level;
	ok = ok && get_number(obj, "level", -1, INT_MAX, &n);
	e->level = (int)n;
	n = e->volume;
	ok = ok && get_number(obj, "volume", INT_MIN, INT_MAX, &n);
	e->volume = (int)n;
	n = e->date;
	ok = ok && get_number(obj, "date", INT64_MIN + 1, INT64_MAX, &n);
	e->date = (time_t)n;
	n = e->previous_date;
	ok = ok && get_number(obj, "ddate", INT64_MIN + 1, INT64_MAX, &n);
	e->previous_date = (time_t)n;
	n = e->seen;
	ok = ok && get_number(obj, "seen", INT64_MIN + 1, INT64_MAX, &n);
	e->seen = (time_t)n;
	ok = ok && get_unsigned(obj, "offset", UINT64_MAX, &e->offset) &&
	     get_unsigned(obj, "bytes", UINT64_MAX, &e->bytes) &&
	     get_unsigned(obj, "records", UINT64_MAX, &e->records);
	uint64_t record_size = e->record_size;
	ok = ok && get_unsigned(obj, "record_size", UINT32_MAX, &record_size);
	e->record_size = (uint32_t)record_size;
	ok = ok && get_bool(obj, "continuation", &e->continuation) &&
	     get_bool(obj, "complete", &e->complete) && get_bool(obj, "written", &e->written);
	return ok;
}

/*
 * One line of a file of the given version. The header line is read as version
 * 1: a later writer never puts \u0080..\u00ff escapes in a file, so the two
 * readings of a later file agree.
 */
static bool parse_line(const char *text, size_t length, int version, struct catalog_line *line)
{
	char *marked = NULL;
	json_t *obj;
	bool ok = false;

	memset(line, 0, sizeof(*line));
	catalog_entry_init(&line->entry, 0);
	if (version == 1 && (marked = version1_marked(text, length)) == NULL)
		return false;
	obj = marked ? json_loadb(marked, strlen(marked), JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
	                          NULL)
	             : json_loadb(text, length, JSON_REJECT_DUPLICATES, NULL);
	free(marked);
	if (json_is_object(obj))
		ok = line_apply(obj, version, line) &&
		     (line->header || line->has_file || line->has_truncate);
	json_decref(obj);
	if (!ok)
		catalog_entry_free_strings(&line->entry);
	return ok;
}

/* Put a loaded entry in place of any entry with its number (takes the strings). */
static int store_entry(struct catalog *cat, struct catalog_entry *loaded)
{
	bool found;
	size_t index = catalog_find_index(cat, loaded->file_number, &found);
	struct catalog_entry *e;

	if (found) {
		e = &cat->entries[index];
		catalog_entry_free_strings(e);
	} else {
		e = catalog_insert_entry(cat, index, loaded->file_number);
		if (!e)
			return -ENOMEM;
	}
	*e = *loaded;
	e->counting = false;
	e->dirty = false;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Loading and saving
 */

static int catalog_location(const char *state_dir, const char *cartridge, bool create, char *dir,
                            size_t dir_size, char *file, size_t file_size)
{
	return state_file_location(state_dir, COUNTERS_CARTRIDGE, cartridge, CATALOG_SUFFIX, create,
	                           dir, dir_size, file, file_size);
}

int catalog_replay(struct catalog *cat, const char *data, size_t length, const char *origin)
{
	size_t start, line_number = 0;
	struct catalog_line *line;
	int version = 1;
	int error;

	line = malloc(sizeof(*line));
	if (!line)
		return -ENOMEM;
	for (start = 0; start < length;) {
		const char *newline = memchr(data + start, '\n', length - start);
		size_t end = newline ? (size_t)(newline - data) : length;

		if (!newline) {
			/* a crash during an append: the complete lines before it count */
			log_warnx("%s: unterminated last line ignored", origin);
			cat->needs_rewrite = true;
			break;
		}
		line_number++;
		if (end - start > CATALOG_LINE_MAX ||
		    !parse_line(data + start, end - start, version, line)) {
			log_warnx("%s:%zu: bad catalog line ignored", origin, line_number);
			cat->needs_rewrite = true;
		} else if (line->header) {
			if (line_number != 1 || line->header_version != CATALOG_VERSION)
				cat->needs_rewrite = true; /* also rewritten in the current form */
			if (line_number == 1 && line->header_version == CATALOG_VERSION)
				version = CATALOG_VERSION;
			catalog_entry_free_strings(&line->entry);
		} else if (line->has_truncate) {
			catalog_drop_from(cat, line->truncate_from);
			catalog_entry_free_strings(&line->entry);
		} else if ((error = store_entry(cat, &line->entry)) < 0) {
			catalog_entry_free_strings(&line->entry);
			log_warnx("%s:%zu: catalog too large, rest ignored", origin, line_number);
			cat->needs_rewrite = true;
			break;
		}
		start = end + 1;
	}
	free(line);
	cat->on_disk = true;
	cat->journal_lines = line_number;
	cat->truncate_from = NO_TRUNCATE;
	if (line_number == 0)
		cat->needs_rewrite = true; /* empty or headerless file */
	return 0;
}

int catalog_load(const char *state_dir, const char *cartridge, struct catalog *cat)
{
	char path[PATH_MAX + NAME_MAX + 2];
	char *data;
	size_t length;
	int error;

	if ((error = catalog_init(cat, cartridge)) < 0)
		return error;
	error = state_load(state_dir, COUNTERS_CARTRIDGE, cartridge, CATALOG_SUFFIX,
	                   CATALOG_MAX_FILE_BYTES, path, sizeof(path), &data, &length);
	if (error < 0 || data == NULL)
		return error;
	error = catalog_replay(cat, data, length, path);
	free(data);
	return error;
}

int catalog_text(const struct catalog *cat, char **text, size_t *length)
{
	FILE *out = open_memstream(text, length);
	json_t *header;
	int error = 0;

	if (!out)
		return -ENOMEM;
	header = json_object();
	if (header == NULL ||
	    json_object_set_new(header, "rmtd_catalog", json_integer(CATALOG_VERSION)) != 0 ||
	    !json_set_bytes(header, "cartridge", cat->cartridge ? cat->cartridge : ""))
		error = -ENOMEM;
	error = error ? (json_decref(header), error) : json_write_file(header, out);
	if (error == 0)
		fputc('\n', out);
	for (size_t i = 0; error == 0 && i < cat->count; i++) {
		error = entry_write_json(&cat->entries[i], out);
		fputc('\n', out);
	}
	if (fclose(out) != 0 || error < 0) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* The pending truncation and the changed entries, for an append. */
static int catalog_changes_text(const struct catalog *cat, char **text, size_t *length,
                                size_t *lines)
{
	FILE *out = open_memstream(text, length);
	int error = 0;

	if (!out)
		return -ENOMEM;
	*lines = 0;
	if (cat->truncate_from != NO_TRUNCATE) {
		fprintf(out, "{\"truncate\":%" PRIu64 "}\n", cat->truncate_from);
		(*lines)++;
	}
	for (size_t i = 0; i < cat->count; i++) {
		if (!cat->entries[i].dirty)
			continue;
		if (entry_write_json(&cat->entries[i], out) < 0)
			error = -ENOMEM;
		fputc('\n', out);
		(*lines)++;
	}
	if (fclose(out) != 0 || error < 0) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void mark_saved(struct catalog *cat)
{
	for (size_t i = 0; i < cat->count; i++)
		cat->entries[i].dirty = false;
	cat->truncate_from = NO_TRUNCATE;
}

int catalog_save(const char *state_dir, struct catalog *cat)
{
	char dir[PATH_MAX], file[NAME_MAX + 1];
	char *text = NULL;
	size_t length = 0, lines = 0;
	int error;

	error =
	    catalog_location(state_dir, cat->cartridge, true, dir, sizeof(dir), file, sizeof(file));
	if (error < 0)
		return error;

	if (cat->on_disk && !cat->needs_rewrite &&
	    cat->journal_lines <= 2 * cat->count + CATALOG_REWRITE_MIN) {
		if ((error = catalog_changes_text(cat, &text, &length, &lines)) < 0)
			return error;
		if (lines == 0) {
			free(text);
			return 0;
		}
		error = state_append_file(dir, file, text, length);
		free(text);
		if (error == 0) {
			cat->journal_lines += lines;
			mark_saved(cat);
			return 0;
		}
		if (error != -ENOENT) {
			/* a torn tail may be there now: the next save rewrites */
			cat->needs_rewrite = true;
			return error; /* the caller logs it, naming the drive */
		}
		/* the file went away: write it whole */
	}

	if ((error = catalog_text(cat, &text, &length)) < 0)
		return error;
	error = state_write_atomic(dir, file, text, length);
	free(text);
	if (error < 0)
		return error;
	cat->on_disk = true;
	cat->needs_rewrite = false;
	cat->journal_lines = cat->count + 1;
	mark_saved(cat);
	return 0;
}

/* ---------------------------------------------------------------------------
 * Listing
 */

/* The cartridge a catalog file names in its header line (its first), or false. */
static bool file_cartridge(int dir_fd, const char *file, char *out, size_t size)
{
	struct catalog_line *line;
	char *head;
	ssize_t n;
	bool found = false;
	int fd = openat(dir_fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	head = malloc(CATALOG_LINE_MAX + 1);
	line = malloc(sizeof(*line));
	n = head != NULL && line != NULL ? read(fd, head, CATALOG_LINE_MAX) : -1;
	close(fd);
	if (n > 0) {
		const char *newline = memchr(head, '\n', (size_t)n);

		if (newline != NULL && parse_line(head, (size_t)(newline - head), 1, line)) {
			found = line->header && line->cartridge[0] != '\0' &&
			        strlen(line->cartridge) < size;
			if (found)
				strcpy(out, line->cartridge);
			catalog_entry_free_strings(&line->entry);
		}
	}
	free(line);
	free(head);
	return found;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void catalog_list_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int catalog_list(const char *state_dir, char ***names_out, size_t *count_out)
{
	char dir_path[PATH_MAX], name[CATALOG_STRING_MAX];
	char **names = NULL;
	size_t count = 0, capacity = 0;
	struct dirent *entry;
	DIR *dir;
	int error;

	*names_out = NULL;
	*count_out = 0;
	error = state_directory(state_dir, COUNTERS_CARTRIDGE, false, dir_path, sizeof(dir_path));
	if (error < 0)
		return error;
	dir = opendir(dir_path);
	if (dir == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((entry = readdir(dir)) != NULL) {
		size_t n = strlen(entry->d_name), suffix = strlen(CATALOG_SUFFIX);

		if (entry->d_name[0] == '.' || n <= suffix ||
		    strcmp(entry->d_name + n - suffix, CATALOG_SUFFIX) != 0)
			continue;
		if (!file_cartridge(dirfd(dir), entry->d_name, name, sizeof(name)))
			continue;
		if (count == capacity) {
			size_t grown_capacity = capacity ? capacity * 2 : 16;
			char **grown = reallocarray(names, grown_capacity, sizeof(*grown));

			if (grown == NULL)
				break;
			names = grown;
			capacity = grown_capacity;
		}
		if ((names[count] = strdup(name)) != NULL)
			count++;
	}
	closedir(dir);
	if (count > 0)
		qsort(names, count, sizeof(*names), compare_names);
	*names_out = names;
	*count_out = count;
	return 0;
}
