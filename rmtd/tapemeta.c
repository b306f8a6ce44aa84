/*
 * tapemeta.c - the .meta file of a virtual tape: the cartridge's settings,
 * its position and counters at the last close, as "key: value" lines (lines
 * with keys this version does not know are kept as they are).
 *
 * Pure module (linked into the fuzz build): no libevent and no logging; every
 * function returns a negative errno and every length taken from a file is checked.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <unistd.h>

#include "tapeimage.h"
#include "tapeimage_io.h"
#include "number.h"
#include "tapemeta.h"

static const char *const eof_state_names[] = {
    "none", "fm_hit", "fm", "eom_ok", "eom_error", "eod_1", "eod_2", "eod",
};

const char *tapeimage_eof_state_name(enum tapeimage_eof_state state)
{
	if ((unsigned)state >= sizeof(eof_state_names) / sizeof(eof_state_names[0]))
		return "?";
	return eof_state_names[state];
}

uint64_t tapeimage_default_early_warning(uint64_t capacity)
{
	uint64_t ew = capacity / 100;

	return ew > ((uint64_t)256 << 20) ? (uint64_t)256 << 20 : ew;
}

void tapeimage_meta_init(struct tapeimage_meta *meta, uint64_t capacity)
{
	memset(meta, 0, sizeof(*meta));
	meta->capacity = capacity;
	meta->early_warning = tapeimage_default_early_warning(capacity);
	meta->loaded = true;
	/* st's defaults: buffered and asynchronous writes, read-ahead (st_options.h). */
	meta->drive_options = MT_ST_BUFFER_WRITES | MT_ST_ASYNC_WRITES | MT_ST_READ_AHEAD;
	meta->drive_buffer = 1;
	meta->file_number = 0;
	meta->block_number = 0;
}

void tapeimage_meta_free(struct tapeimage_meta *meta)
{
	free(meta->extra);
	meta->extra = NULL;
	meta->extra_length = 0;
}

/* Unsigned number: decimal, or hex with 0x. The whole of [text, text+length). */
static bool parse_u64(const char *text, size_t length, uint64_t *out)
{
	uint64_t value = 0;

	if (!(length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')))
		return decimal_parse_u64(text, length, out) == 0;
	for (size_t i = 2; i < length; i++) {
		int digit = hex_digit_value((unsigned char)text[i]);

		if (digit < 0 || value > (UINT64_MAX - (unsigned)digit) / 16)
			return false;
		value = value * 16 + (unsigned)digit;
	}
	*out = value;
	return true;
}

static bool parse_i64(const char *text, size_t length, int64_t *out)
{
	uint64_t magnitude;

	if (length > 0 && text[0] == '-') {
		if (!parse_u64(text + 1, length - 1, &magnitude) || magnitude > (uint64_t)INT64_MAX)
			return false;
		*out = -(int64_t)magnitude;
		return true;
	}
	if (!parse_u64(text, length, &magnitude) || magnitude > (uint64_t)INT64_MAX)
		return false;
	*out = (int64_t)magnitude;
	return true;
}

static bool parse_size_span(const char *text, size_t length, uint64_t *out)
{
	/* A hand-edited .meta may give a size in hex, as other numbers (no unit then). */
	if (length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		return parse_u64(text, length, out);
	return decimal_parse_size(text, length, out) == 0;
}

int tapeimage_parse_size(const char *text, uint64_t *out)
{
	return parse_size_span(text, strlen(text), out) ? 0 : -EINVAL;
}

static bool parse_bool(const char *text, size_t length, bool *out)
{
	if (length == 1 && (text[0] == '0' || text[0] == '1')) {
		*out = text[0] == '1';
		return true;
	}
	return false;
}

enum meta_type { META_U64, META_SIZE, META_I64, META_BOOL, META_U32, META_I32 };

struct meta_key {
	const char *name;
	enum meta_type type;
	size_t offset;
	uint64_t max; /* for META_U32 */
};

#define FIELD(f) offsetof(struct tapeimage_meta, f)
static const struct meta_key meta_keys[] = {
    {"created", META_I64, FIELD(created), 0},
    {"write_protect", META_BOOL, FIELD(write_protect), 0},
    {"capacity", META_SIZE, FIELD(capacity), 0},
    {"early_warning", META_SIZE, FIELD(early_warning), 0},
    {"loaded", META_BOOL, FIELD(loaded), 0},
    {"loads", META_U64, FIELD(loads), 0},
    {"block_size", META_U32, FIELD(block_size), TAPEIMAGE_MAX_RECORD},
    {"density", META_U32, FIELD(density), 255},
    {"compression", META_BOOL, FIELD(compression), 0},
    {"drive_options", META_U32, FIELD(drive_options), 0x0FFFFFFF},
    {"drive_buffer", META_U32, FIELD(drive_buffer), 7},
    {"position", META_U64, FIELD(position), 0},
    {"position_offset", META_U64, FIELD(position_offset), 0},
    {"file_number", META_I32, FIELD(file_number), 0},
    {"block_number", META_I32, FIELD(block_number), 0},
    {"bytes_written", META_U64, FIELD(bytes_written), 0},
    {"bytes_read", META_U64, FIELD(bytes_read), 0},
    {"records_written", META_U64, FIELD(records_written), 0},
    {"records_read", META_U64, FIELD(records_read), 0},
    {"filemarks_written", META_U64, FIELD(filemarks_written), 0},
    {"errors", META_U64, FIELD(errors), 0},
    {"in_use", META_BOOL, FIELD(in_use), 0},
    {"in_use_rewinds", META_BOOL, FIELD(in_use_rewinds), 0},
};
#undef FIELD

static bool set_known(struct tapeimage_meta *meta, const struct meta_key *key, const char *value,
                      size_t length)
{
	char *field = (char *)meta + key->offset;
	uint64_t u;
	int64_t i;
	bool b;

	switch (key->type) {
	case META_U64:
		if (!parse_u64(value, length, &u))
			return false;
		memcpy(field, &u, sizeof(u));
		return true;
	case META_SIZE:
		if (!parse_size_span(value, length, &u))
			return false;
		memcpy(field, &u, sizeof(u));
		return true;
	case META_I64:
		if (!parse_i64(value, length, &i))
			return false;
		memcpy(field, &i, sizeof(i));
		return true;
	case META_BOOL:
		if (!parse_bool(value, length, &b))
			return false;
		memcpy(field, &b, sizeof(b));
		return true;
	case META_U32: {
		uint32_t v;

		if (!parse_u64(value, length, &u) || u > key->max)
			return false;
		v = (uint32_t)u;
		memcpy(field, &v, sizeof(v));
		return true;
	}
	case META_I32: {
		int32_t v;

		if (!parse_i64(value, length, &i) || i < -1 || i > INT32_MAX)
			return false;
		v = (int32_t)i;
		memcpy(field, &v, sizeof(v));
		return true;
	}
	}
	return false;
}

static bool key_is(const char *key, size_t length, const char *name)
{
	return strlen(name) == length && memcmp(key, name, length) == 0;
}

static bool set_value(struct tapeimage_meta *meta, const char *key, size_t key_length,
                      const char *value, size_t length)
{
	if (key_is(key, key_length, "barcode")) {
		if (length > TAPEIMAGE_BARCODE_MAX)
			return false;
		for (size_t i = 0; i < length; i++)
			if (value[i] < 0x21 || value[i] > 0x7e)
				return false;
		memcpy(meta->barcode, value, length);
		meta->barcode[length] = '\0';
		return true;
	}
	if (key_is(key, key_length, "eof_state")) {
		for (size_t i = 0; i < sizeof(eof_state_names) / sizeof(eof_state_names[0]); i++) {
			if (key_is(value, length, eof_state_names[i])) {
				meta->eof_state = (enum tapeimage_eof_state)i;
				return true;
			}
		}
		return false;
	}
	if (key_is(key, key_length, "version")) {
		uint64_t version;

		return parse_u64(value, length, &version) && version == 1;
	}
	for (size_t i = 0; i < sizeof(meta_keys) / sizeof(meta_keys[0]); i++) {
		if (key_is(key, key_length, meta_keys[i].name)) {
			if (!set_known(meta, &meta_keys[i], value, length))
				return false;
			if (key_is(key, key_length, "position"))
				meta->has_position = true;
			return true;
		}
	}
	return false;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Keep an unknown line (with its newline) for the next rewrite. */
static int keep_extra(struct tapeimage_meta *meta, const char *line, size_t length)
{
	char *p;

	if (meta->extra_length + length + 1 > TAPEIMAGE_META_MAX_SIZE)
		return -EFBIG;
	p = realloc(meta->extra, meta->extra_length + length + 2);
	if (p == NULL)
		return -ENOMEM;
	memcpy(p + meta->extra_length, line, length);
	p[meta->extra_length + length] = '\n';
	meta->extra_length += length + 1;
	p[meta->extra_length] = '\0';
	meta->extra = p;
	return 0;
}

int tapeimage_meta_parse(struct tapeimage_meta *meta, const char *text, size_t length)
{
	size_t pos = 0;
	int skipped = 0;

	if (length > TAPEIMAGE_META_MAX_SIZE)
		return -EFBIG;
	while (pos < length) {
		const char *line = text + pos, *eq, *key, *value;
		size_t line_length, key_length, value_length;
		const char *nl = memchr(line, '\n', length - pos);

		line_length = nl != NULL ? (size_t)(nl - line) : length - pos;
		pos += line_length + (nl != NULL);
		while (line_length > 0 && is_blank(line[line_length - 1]))
			line_length--;
		key = line;
		while (key < line + line_length && is_blank(*key))
			key++;
		if (key == line + line_length || *key == '#')
			continue;
		eq = memchr(key, '=', (size_t)(line + line_length - key));
		if (eq == NULL || eq == key || memchr(line, '\0', line_length) != NULL) {
			skipped++;
			continue;
		}
		key_length = (size_t)(eq - key);
		while (key_length > 0 && is_blank(key[key_length - 1]))
			key_length--;
		value = eq + 1;
		while (value < line + line_length && is_blank(*value))
			value++;
		value_length = (size_t)(line + line_length - value);
		if (set_value(meta, key, key_length, value, value_length))
			continue;
		/* A known key with a bad value is dropped; an unknown one is kept. */
		if (key_is(key, key_length, "barcode") || key_is(key, key_length, "eof_state") ||
		    key_is(key, key_length, "version")) {
			skipped++;
			continue;
		}
		{
			bool known = false;

			for (size_t i = 0; i < sizeof(meta_keys) / sizeof(meta_keys[0]); i++)
				known |= key_is(key, key_length, meta_keys[i].name);
			if (known) {
				skipped++;
				continue;
			}
		}
		{
			int error = keep_extra(meta, line, line_length);

			if (error < 0)
				return error;
		}
	}
	return skipped;
}

int tapeimage_meta_format(const struct tapeimage_meta *meta, char **out, size_t *length)
{
	size_t size = 2048 + meta->extra_length;
	char *buf = malloc(size);
	size_t used = 0;
	int n;

	if (buf == NULL)
		return -ENOMEM;
#define EMIT(...)                                                                                  \
	do {                                                                                       \
		n = snprintf(buf + used, size - used, __VA_ARGS__);                                \
		if (n < 0 || (size_t)n >= size - used)                                             \
			goto too_long;                                                             \
		used += (size_t)n;                                                                 \
	} while (0)
	EMIT("# rmtd virtual tape metadata (key=value), see rmt-vtape(1)\n");
	EMIT("version=1\n");
	EMIT("barcode=%s\n", meta->barcode);
	EMIT("created=%lld\n", (long long)meta->created);
	EMIT("write_protect=%d\n", meta->write_protect ? 1 : 0);
	EMIT("capacity=%llu\n", (unsigned long long)meta->capacity);
	EMIT("early_warning=%llu\n", (unsigned long long)meta->early_warning);
	EMIT("loaded=%d\n", meta->loaded ? 1 : 0);
	EMIT("loads=%llu\n", (unsigned long long)meta->loads);
	EMIT("block_size=%u\n", meta->block_size);
	EMIT("density=%u\n", meta->density);
	EMIT("compression=%d\n", meta->compression ? 1 : 0);
	EMIT("drive_options=0x%x\n", meta->drive_options);
	EMIT("drive_buffer=%u\n", meta->drive_buffer);
	if (meta->has_position) {
		EMIT("position=%llu\n", (unsigned long long)meta->position);
		EMIT("position_offset=%llu\n", (unsigned long long)meta->position_offset);
		EMIT("file_number=%d\n", meta->file_number);
		EMIT("block_number=%d\n", meta->block_number);
		EMIT("eof_state=%s\n", tapeimage_eof_state_name(meta->eof_state));
	}
	EMIT("bytes_written=%llu\n", (unsigned long long)meta->bytes_written);
	EMIT("bytes_read=%llu\n", (unsigned long long)meta->bytes_read);
	EMIT("records_written=%llu\n", (unsigned long long)meta->records_written);
	EMIT("records_read=%llu\n", (unsigned long long)meta->records_read);
	EMIT("filemarks_written=%llu\n", (unsigned long long)meta->filemarks_written);
	EMIT("errors=%llu\n", (unsigned long long)meta->errors);
	if (meta->in_use) {
		EMIT("in_use=1\n");
		EMIT("in_use_rewinds=%d\n", meta->in_use_rewinds ? 1 : 0);
	}
#undef EMIT
	if (meta->extra_length > 0) {
		if (meta->extra_length >= size - used)
			goto too_long;
		memcpy(buf + used, meta->extra, meta->extra_length);
		used += meta->extra_length;
	}
	buf[used] = '\0';
	*out = buf;
	*length = used;
	return 0;
too_long:
	free(buf);
	return -ENOMEM;
}

int tapeimage_meta_read(int fd, struct tapeimage_meta *meta)
{
	char *buf = malloc(TAPEIMAGE_META_MAX_SIZE + 1);
	ssize_t n;
	int result;

	if (buf == NULL)
		return -ENOMEM;
	n = tapeimage_read_full(fd, buf, TAPEIMAGE_META_MAX_SIZE + 1);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	if (n > TAPEIMAGE_META_MAX_SIZE) {
		free(buf);
		return -EFBIG;
	}
	result = tapeimage_meta_parse(meta, buf, (size_t)n);
	free(buf);
	return result;
}

int tapeimage_meta_write(int fd, const struct tapeimage_meta *meta)
{
	char *text;
	size_t length;
	int error = tapeimage_meta_format(meta, &text, &length);

	if (error < 0)
		return error;
	error = tapeimage_write_full(fd, text, length);
	free(text);
	return error;
}
