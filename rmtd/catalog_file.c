/*
 * catalog_file.c - a cartridge's catalog on disk: JSON lines, one per entry
 * after a header line, appended to as files pass and now and then rewritten
 * atomically (state_file.h); read back line by line, a bad or torn line costing
 * only itself; the cartridges that have one listed; one entry or the whole
 * catalog written as JSON for the control socket.
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
#include "log.h"
#include "state_file.h"

#define CATALOG_SUFFIX      ".catalog"
#define CATALOG_LINE_MAX    65536
#define CATALOG_KEY_MAX     32
#define CATALOG_REWRITE_MIN 64 /* journal lines tolerated beyond 2 x entries */

/* ---------------------------------------------------------------------------
 * JSON writing
 */

static void json_optional_string(FILE *out, const char *key, const char *value)
{
	fprintf(out, ",\"%s\":", key);
	if (value)
		state_json_string(out, value);
	else
		fputs("null", out);
}

static void entry_write_json(const struct catalog_entry *e, FILE *out)
{
	fprintf(out, "{\"file\":%" PRIu64 ",\"format\":", e->file_number);
	state_json_string(out, e->format);
	fputs(",\"variant\":", out);
	state_json_string(out, e->variant);
	json_optional_string(out, "label", e->label);
	json_optional_string(out, "host", e->host);
	json_optional_string(out, "filesystem", e->filesystem);
	json_optional_string(out, "device", e->device);
	json_optional_string(out, "member", e->member);
	json_optional_string(out, "compression", e->compression);
	fprintf(out, ",\"compressed\":%s", e->compression != NULL ? "true" : "false");
	fprintf(out,
	        ",\"level\":%d,\"date\":%lld,\"ddate\":%lld,\"volume\":%d,\"continuation\":%s"
	        ",\"offset\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"records\":%" PRIu64
	        ",\"record_size\":%" PRIu32 ",\"complete\":%s,\"written\":%s,\"seen\":%lld}",
	        e->level, (long long)e->date, (long long)e->previous_date, e->volume,
	        e->continuation ? "true" : "false", e->offset, e->bytes, e->records, e->record_size,
	        e->complete ? "true" : "false", e->written ? "true" : "false", (long long)e->seen);
}

int catalog_write_json(const struct catalog *cat, FILE *out)
{
	fputs("{\"cartridge\":", out);
	state_json_string(out, cat->cartridge ? cat->cartridge : "");
	fputs(",\"files\":[", out);
	for (size_t i = 0; i < cat->count; i++) {
		if (i > 0)
			fputc(',', out);
		entry_write_json(&cat->entries[i], out);
	}
	fputs("]}", out);
	return ferror(out) ? -EIO : 0;
}

/* ---------------------------------------------------------------------------
 * JSON reading: one flat object per line, the values we write (strings,
 * integers, true/false/null). Anything else makes the line bad.
 */

enum json_type { JSON_STRING, JSON_NUMBER, JSON_BOOL, JSON_NULL };

struct json_value {
	enum json_type type;
	char string[CATALOG_STRING_MAX];
	bool negative;
	uint64_t magnitude;
	bool boolean;
};

struct json_cursor {
	const char *p, *end;
};

static void json_skip_blanks(struct json_cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
		c->p++;
}

static int json_hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		int d = ch >= '0' && ch <= '9'   ? ch - '0'
		        : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
		        : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
		                                 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* Append a code point as UTF-8 (bounded). */
static size_t put_utf8(char *out, size_t used, size_t size, uint32_t cp)
{
	char bytes[4];
	size_t n;

	if (cp < 0x80) {
		bytes[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		bytes[0] = (char)(0xc0 | (cp >> 6));
		bytes[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		bytes[0] = (char)(0xe0 | (cp >> 12));
		bytes[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		bytes[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		bytes[0] = (char)(0xf0 | (cp >> 18));
		bytes[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		bytes[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		bytes[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (used + n >= size)
		return used;
	memcpy(out + used, bytes, n);
	return used + n;
}

/* A string; longer ones are cut to size - 1 bytes. */
static bool json_string(struct json_cursor *c, char *out, size_t size)
{
	size_t used = 0;

	if (c->p >= c->end || *c->p != '"')
		return false;
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		unsigned char ch = (unsigned char)*c->p++;

		if (ch < 0x20)
			return false;
		if (ch == '\\') {
			int cp;

			if (c->p >= c->end)
				return false;
			ch = (unsigned char)*c->p++;
			switch (ch) {
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
				ch = '\b';
				break;
			case 'f':
				ch = '\f';
				break;
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case 'u':
				if (c->end - c->p < 4 || (cp = json_hex4(c->p)) < 0)
					return false;
				c->p += 4;
				if (cp == 0)
					return false; /* no NULs inside our strings */
				if (cp <= 0xff) {
					/* how we write a byte that is not UTF-8 */
					ch = (unsigned char)cp;
					break;
				}
				if (cp >= 0xd800 && cp <= 0xdbff && c->end - c->p >= 6 &&
				    c->p[0] == '\\' && c->p[1] == 'u') {
					int low = json_hex4(c->p + 2);

					if (low >= 0xdc00 && low <= 0xdfff) {
						c->p += 6;
						cp = 0x10000 + ((cp - 0xd800) << 10) +
						     (low - 0xdc00);
					}
				}
				if (cp >= 0xd800 && cp <= 0xdfff)
					cp = '?'; /* a lone surrogate */
				used = put_utf8(out, used, size, (uint32_t)cp);
				continue;
			default:
				return false;
			}
		}
		if (used + 1 < size)
			out[used++] = (char)ch;
	}
	if (c->p >= c->end)
		return false;
	c->p++; /* closing quote */
	if (size)
		out[used] = '\0';
	return true;
}

static bool json_literal(struct json_cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

static bool json_value(struct json_cursor *c, struct json_value *v)
{
	v->string[0] = '\0';
	v->negative = false;
	v->magnitude = 0;
	v->boolean = false;
	if (c->p >= c->end)
		return false;
	if (*c->p == '"') {
		v->type = JSON_STRING;
		return json_string(c, v->string, sizeof(v->string));
	}
	if (json_literal(c, "true")) {
		v->type = JSON_BOOL;
		v->boolean = true;
		return true;
	}
	if (json_literal(c, "false")) {
		v->type = JSON_BOOL;
		return true;
	}
	if (json_literal(c, "null")) {
		v->type = JSON_NULL;
		return true;
	}
	v->type = JSON_NUMBER;
	if (*c->p == '-') {
		v->negative = true;
		c->p++;
	}
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		return false;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		uint64_t digit = (uint64_t)(*c->p - '0');

		if (v->magnitude > (UINT64_MAX - digit) / 10)
			return false;
		v->magnitude = v->magnitude * 10 + digit;
		c->p++;
	}
	return true;
}

/* What one line said. */
struct catalog_line {
	bool header, has_file, has_truncate;
	uint64_t header_version, truncate_from;
	char cartridge[CATALOG_STRING_MAX];
	struct catalog_entry entry;
};

static bool number_in(const struct json_value *v, int64_t low, int64_t high, int64_t *out)
{
	int64_t value;

	if (v->type != JSON_NUMBER)
		return false;
	if (v->negative) {
		if (v->magnitude > (uint64_t)INT64_MAX)
			return false;
		value = -(int64_t)v->magnitude;
	} else {
		if (v->magnitude > (uint64_t)INT64_MAX)
			return false;
		value = (int64_t)v->magnitude;
	}
	if (value < low || value > high)
		return false;
	*out = value;
	return true;
}

static bool unsigned_value(const struct json_value *v, uint64_t *out)
{
	if (v->type != JSON_NUMBER || v->negative)
		return false;
	*out = v->magnitude;
	return true;
}

static bool line_string(char **slot, const struct json_value *v)
{
	if (v->type == JSON_NULL)
		return catalog_set_string(slot, NULL);
	return v->type == JSON_STRING && catalog_set_string(slot, v->string);
}

/* Apply key = value to the line; false if the value does not fit the key. */
static bool line_apply(struct catalog_line *line, const char *key, const struct json_value *v)
{
	struct catalog_entry *e = &line->entry;
	int64_t n;
	uint64_t u;

	if (strcmp(key, "file") == 0) {
		if (!unsigned_value(v, &u) || u >= CATALOG_MAX_FILES)
			return false;
		e->file_number = u;
		line->has_file = true;
	} else if (strcmp(key, "rmtd_catalog") == 0) {
		if (!unsigned_value(v, &line->header_version))
			return false;
		line->header = true;
	} else if (strcmp(key, "cartridge") == 0) {
		if (v->type != JSON_STRING)
			return false;
		catalog_copy_bounded(line->cartridge, sizeof(line->cartridge), v->string);
	} else if (strcmp(key, "truncate") == 0) {
		if (!unsigned_value(v, &line->truncate_from))
			return false;
		line->has_truncate = true;
	} else if (strcmp(key, "format") == 0) {
		if (v->type != JSON_STRING)
			return false;
		catalog_copy_bounded(e->format, sizeof(e->format), v->string);
	} else if (strcmp(key, "variant") == 0) {
		if (v->type != JSON_STRING)
			return false;
		catalog_copy_bounded(e->variant, sizeof(e->variant), v->string);
	} else if (strcmp(key, "label") == 0) {
		return line_string(&e->label, v);
	} else if (strcmp(key, "host") == 0) {
		return line_string(&e->host, v);
	} else if (strcmp(key, "filesystem") == 0) {
		return line_string(&e->filesystem, v);
	} else if (strcmp(key, "device") == 0) {
		return line_string(&e->device, v);
	} else if (strcmp(key, "member") == 0) {
		return line_string(&e->member, v);
	} else if (strcmp(key, "compression") == 0) {
		return line_string(&e->compression, v);
	} else if (strcmp(key, "level") == 0) {
		if (!number_in(v, -1, INT_MAX, &n))
			return false;
		e->level = (int)n;
	} else if (strcmp(key, "volume") == 0) {
		if (!number_in(v, INT_MIN, INT_MAX, &n))
			return false;
		e->volume = (int)n;
	} else if (strcmp(key, "date") == 0 || strcmp(key, "ddate") == 0 ||
	           strcmp(key, "seen") == 0) {
		if (!number_in(v, INT64_MIN + 1, INT64_MAX, &n))
			return false;
		if (key[0] == 'd' && key[1] == 'a')
			e->date = (time_t)n;
		else if (key[0] == 'd')
			e->previous_date = (time_t)n;
		else
			e->seen = (time_t)n;
	} else if (strcmp(key, "offset") == 0) {
		return unsigned_value(v, &e->offset);
	} else if (strcmp(key, "bytes") == 0) {
		return unsigned_value(v, &e->bytes);
	} else if (strcmp(key, "records") == 0) {
		return unsigned_value(v, &e->records);
	} else if (strcmp(key, "record_size") == 0) {
		if (!unsigned_value(v, &u) || u > UINT32_MAX)
			return false;
		e->record_size = (uint32_t)u;
	} else if (strcmp(key, "continuation") == 0 || strcmp(key, "complete") == 0 ||
	           strcmp(key, "written") == 0) {
		if (v->type != JSON_BOOL)
			return false;
		if (key[0] == 'c' && key[1] == 'o' && key[2] == 'n')
			e->continuation = v->boolean;
		else if (key[0] == 'c')
			e->complete = v->boolean;
		else
			e->written = v->boolean;
	}
	/* unknown keys: written by a newer rmtd; ignored */
	return true;
}

static bool parse_line(const char *text, size_t length, struct catalog_line *line)
{
	struct json_cursor c = {text, text + length};
	struct json_value *v;
	char key[CATALOG_KEY_MAX];
	bool ok = false;

	memset(line, 0, sizeof(*line));
	catalog_entry_init(&line->entry, 0);
	v = malloc(sizeof(*v));
	if (!v)
		return false;
	json_skip_blanks(&c);
	if (c.p >= c.end || *c.p != '{')
		goto out;
	c.p++;
	json_skip_blanks(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
	} else {
		for (;;) {
			json_skip_blanks(&c);
			if (!json_string(&c, key, sizeof(key)))
				goto out;
			json_skip_blanks(&c);
			if (c.p >= c.end || *c.p != ':')
				goto out;
			c.p++;
			json_skip_blanks(&c);
			if (!json_value(&c, v) || !line_apply(line, key, v))
				goto out;
			json_skip_blanks(&c);
			if (c.p < c.end && *c.p == ',') {
				c.p++;
				continue;
			}
			if (c.p < c.end && *c.p == '}') {
				c.p++;
				break;
			}
			goto out;
		}
	}
	json_skip_blanks(&c);
	ok = c.p == c.end && (line->header || line->has_file || line->has_truncate);
out:
	free(v);
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

int catalog_load(const char *state_dir, const char *cartridge, struct catalog *cat)
{
	char path[PATH_MAX + NAME_MAX + 2];
	char *data;
	size_t length, start, line_number = 0;
	struct catalog_line *line;
	int error;

	if ((error = catalog_init(cat, cartridge)) < 0)
		return error;
	error = state_load(state_dir, COUNTERS_CARTRIDGE, cartridge, CATALOG_SUFFIX,
	                   CATALOG_MAX_FILE_BYTES, path, sizeof(path), &data, &length);
	if (error < 0 || data == NULL)
		return error;
	line = malloc(sizeof(*line));
	if (!line) {
		free(data);
		return -ENOMEM;
	}
	for (start = 0; start < length;) {
		const char *newline = memchr(data + start, '\n', length - start);
		size_t end = newline ? (size_t)(newline - data) : length;

		if (!newline) {
			/* a crash during an append: the complete lines before it count */
			log_warnx("%s: unterminated last line ignored", path);
			cat->needs_rewrite = true;
			break;
		}
		line_number++;
		if (end - start > CATALOG_LINE_MAX ||
		    !parse_line(data + start, end - start, line)) {
			log_warnx("%s:%zu: bad catalog line ignored", path, line_number);
			cat->needs_rewrite = true;
		} else if (line->header) {
			if (line_number != 1 || line->header_version != 1)
				cat->needs_rewrite = true;
			catalog_entry_free_strings(&line->entry);
		} else if (line->has_truncate) {
			catalog_drop_from(cat, line->truncate_from);
			catalog_entry_free_strings(&line->entry);
		} else if ((error = store_entry(cat, &line->entry)) < 0) {
			catalog_entry_free_strings(&line->entry);
			log_warnx("%s:%zu: catalog too large, rest ignored", path, line_number);
			cat->needs_rewrite = true;
			break;
		}
		start = end + 1;
	}
	free(line);
	free(data);
	cat->on_disk = true;
	cat->journal_lines = line_number;
	cat->truncate_from = NO_TRUNCATE;
	if (line_number == 0)
		cat->needs_rewrite = true; /* empty or headerless file */
	return 0;
}

/* Header and every entry, for a full rewrite. */
static int catalog_full_text(const struct catalog *cat, char **text, size_t *length)
{
	FILE *out = open_memstream(text, length);

	if (!out)
		return -ENOMEM;
	fputs("{\"rmtd_catalog\":1,\"cartridge\":", out);
	state_json_string(out, cat->cartridge ? cat->cartridge : "");
	fputs("}\n", out);
	for (size_t i = 0; i < cat->count; i++) {
		entry_write_json(&cat->entries[i], out);
		fputc('\n', out);
	}
	if (fclose(out) != 0) {
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
		entry_write_json(&cat->entries[i], out);
		fputc('\n', out);
		(*lines)++;
	}
	if (fclose(out) != 0) {
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
			errno = -error;
			log_warn("appending to the catalog of %s", file);
			return error;
		}
		/* the file went away: write it whole */
	}

	if ((error = catalog_full_text(cat, &text, &length)) < 0)
		return error;
	error = state_write_atomic(dir, file, text, length);
	free(text);
	if (error < 0) {
		errno = -error;
		log_warn("saving the catalog of %s", file);
		return error;
	}
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

		if (newline != NULL && parse_line(head, (size_t)(newline - head), line)) {
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
