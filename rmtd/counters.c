/*
 * counters.c - persistent per-drive and per-cartridge counters in small
 * key=value files, written atomically (state_file.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "counters.h"
#include "escape.h"
#include "state_file.h"
#include "json_bytes.h"
#include "label.h"
#include "log.h"
#include "number.h"

#define COUNTERS_FILE_MAX 65536
#define COUNTERS_SUFFIX   ".counters"

/* ---------------------------------------------------------------------------
 * Counters
 */

struct counter_field {
	const char *key;
	size_t offset;
};

#define FIELD(name)                                                                                \
	{                                                                                          \
#name, offsetof(struct counters_delta, name)                                       \
	}
static const struct counter_field counter_fields[] = {
    FIELD(bytes_written), FIELD(bytes_read),    FIELD(records_written),
    FIELD(records_read),  FIELD(files_written), FIELD(files_read),
    FIELD(times_full),    FIELD(errors),        FIELD(mounts),
};
#undef FIELD

static uint64_t *counter_slot(struct counters_delta *d, const struct counter_field *f)
{
	return (uint64_t *)((char *)d + f->offset);
}

static const uint64_t *counter_value(const struct counters_delta *d, const struct counter_field *f)
{
	return (const uint64_t *)((const char *)d + f->offset);
}

const char *counters_kind_name(enum counters_kind kind)
{
	return kind == COUNTERS_DRIVE ? "drive" : "cartridge";
}

void counters_init(struct counters *c, enum counters_kind kind, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
}

void counters_add(struct counters *c, const struct counters_delta *delta, time_t now)
{
	for (size_t i = 0; i < sizeof(counter_fields) / sizeof(counter_fields[0]); i++) {
		uint64_t *slot = counter_slot(&c->totals, &counter_fields[i]);
		uint64_t add = *counter_value(delta, &counter_fields[i]);

		*slot = add > UINT64_MAX - *slot ? UINT64_MAX : *slot + add;
	}
	if (c->first_use == 0)
		c->first_use = now;
	if (now > c->last_use)
		c->last_use = now;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	return decimal_parse_u64(s, strlen(s), out) == 0;
}

/* 9999-12-31T23:59:59Z: the last time that format_state_time() writes as it reads back. */
#define STATE_TIME_MAX 253402300799

/* "2026-11-21T17:37:45Z" (what we write), "never", or plain seconds; 1970 to 9999. */
static bool parse_time(const char *s, time_t *out)
{
	struct tm tm;
	uint64_t seconds;
	time_t when;
	char *end;

	if (strcmp(s, "never") == 0) {
		*out = 0;
		return true;
	}
	if (parse_u64(s, &seconds)) {
		if (seconds > STATE_TIME_MAX)
			return false;
		*out = (time_t)seconds;
		return true;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end != '\0')
		return false;
	when = timegm(&tm);
	if (when < 0 || when > STATE_TIME_MAX)
		return false;
	*out = when;
	return true;
}

static void format_state_time(time_t when, char *out, size_t size)
{
	struct tm tm;

	if (when == 0 || !gmtime_r(&when, &tm) ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "never");
}

static void counters_parse_line(struct counters *c, char *line, const char *path,
                                unsigned line_number)
{
	char *equals, *key, *value;
	size_t n;

	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	key = line;
	while (*key == ' ' || *key == '\t')
		key++;
	if (*key == '\0' || *key == '#')
		return;
	equals = strchr(key, '=');
	if (!equals) {
		log_warnx("%s:%u: not a key=value line, ignored", path, line_number);
		return;
	}
	*equals = '\0';
	value = equals + 1;
	for (size_t i = 0; i < sizeof(counter_fields) / sizeof(counter_fields[0]); i++) {
		if (strcmp(key, counter_fields[i].key) == 0) {
			if (!parse_u64(value, counter_slot(&c->totals, &counter_fields[i])))
				log_warnx("%s:%u: bad number for %s, ignored", path, line_number,
				          key);
			return;
		}
	}
	if (strcmp(key, "first_use") == 0 || strcmp(key, "last_use") == 0) {
		time_t *slot = key[0] == 'f' ? &c->first_use : &c->last_use;

		if (!parse_time(value, slot))
			log_warnx("%s:%u: bad time for %s, ignored", path, line_number, key);
	}
	/* kind, name, version and unknown keys: informational or newer; ignored */
}

void counters_parse(struct counters *c, char *text, const char *origin)
{
	char *line, *next;
	unsigned line_number = 0;

	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		counters_parse_line(c, line, origin, ++line_number);
	}
}

int counters_load(const char *state_dir, enum counters_kind kind, const char *name,
                  struct counters *out)
{
	char path[PATH_MAX + NAME_MAX + 2];
	char *data;
	size_t length;
	int error;

	counters_init(out, kind, name);
	error = state_load(state_dir, kind, name, COUNTERS_SUFFIX, COUNTERS_FILE_MAX, path,
	                   sizeof(path), &data, &length);
	if (error < 0 || data == NULL)
		return error;
	if (memchr(data, '\0', length))
		log_warnx("%s: NUL bytes in the file, lines after them ignored", path);
	counters_parse(out, data, path);
	free(data);
	return 0;
}

int counters_text(const struct counters *c, char *text, size_t size)
{
	char escaped[4 * COUNTERS_NAME_MAX + 1], first[32], last[32];
	size_t used;
	int n;

	escape_text(escaped, sizeof(escaped), c->name);
	format_state_time(c->first_use, first, sizeof(first));
	format_state_time(c->last_use, last, sizeof(last));
	n = snprintf(text, size,
	             "# rmtd usage counters; written by rmtd, safe to read, edit only while rmtd "
	             "is stopped\nversion=1\nkind=%s\nname=%s\n",
	             counters_kind_name(c->kind), escaped);
	used = n > 0 ? (size_t)n : 0;
	for (size_t i = 0; i < sizeof(counter_fields) / sizeof(counter_fields[0]) && used < size;
	     i++) {
		n = snprintf(text + used, size - used, "%s=%" PRIu64 "\n", counter_fields[i].key,
		             *counter_value(&c->totals, &counter_fields[i]));
		used += n > 0 ? (size_t)n : 0;
	}
	if (used < size) {
		n = snprintf(text + used, size - used, "first_use=%s\nlast_use=%s\n", first, last);
		used += n > 0 ? (size_t)n : 0;
	}
	return used < size ? (int)used : -ENAMETOOLONG;
}

int counters_save(const char *state_dir, const struct counters *c)
{
	char dir[PATH_MAX], file[NAME_MAX + 1];
	char *text;
	int error, length;

	error = state_file_location(state_dir, c->kind, c->name, COUNTERS_SUFFIX, true, dir,
	                            sizeof(dir), file, sizeof(file));
	if (error < 0)
		return error;
	text = malloc(COUNTERS_TEXT_SIZE);
	if (!text)
		return -ENOMEM;
	length = counters_text(c, text, COUNTERS_TEXT_SIZE);
	if (length < 0) {
		free(text);
		return length; /* cannot happen with COUNTERS_TEXT_SIZE */
	}
	error = state_write_atomic(dir, file, text, (size_t)length);
	free(text);
	return error; /* the caller logs it, naming the drive */
}

json_t *counters_json(const struct counters *c)
{
	json_t *o = json_object();
	bool ok = o != NULL &&
	          json_object_set_new(o, "kind", json_string(counters_kind_name(c->kind))) == 0 &&
	          json_set_bytes(o, "name", c->name);

	for (size_t i = 0; ok && i < sizeof(counter_fields) / sizeof(counter_fields[0]); i++)
		ok = json_object_set_new(o, counter_fields[i].key,
		                         json_integer((json_int_t)*counter_value(
		                             &c->totals, &counter_fields[i]))) == 0;
	ok = ok &&
	     json_object_set_new(o, "first_use", json_integer((json_int_t)c->first_use)) == 0 &&
	     json_object_set_new(o, "last_use", json_integer((json_int_t)c->last_use)) == 0;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
