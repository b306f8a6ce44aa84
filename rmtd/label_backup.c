/*
 * label_backup.c - recognisers for backup software and labelled tapes:
 * Amanda text headers, Bacula/Bareos blocks, ANSI/IBM standard labels (and
 * LTFS), afbackup, AIX backup, and compressed streams.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "label_internal.h"
#include "number.h"

#define AMANDA_LINE_MAX  4096
#define AMANDA_TOKENS    40
#define BACULA_MAX_BLOCK 20000000u

/* ---------------------------------------------------------------------------
 * Amanda
 */

struct token {
	char text[LABEL_NAME_MAX];
};

/*
 * Split an Amanda header line into tokens; a token starting with '"' is an
 * Amanda quoted string (backslash escapes \n \t \r \f \\ \" and \ooo).
 */
static size_t amanda_tokens(const uint8_t *line, size_t n, struct token *tokens, size_t max)
{
	size_t count = 0, i = 0;

	while (count < max) {
		size_t used = 0;
		char *t = tokens[count].text;

		while (i < n && line[i] == ' ')
			i++;
		if (i >= n)
			break;
		if (line[i] == '"') {
			i++;
			while (i < n && line[i] != '"') {
				uint8_t c = line[i++];

				if (c == '\\' && i < n) {
					c = line[i++];
					if (c == 'n')
						c = '\n';
					else if (c == 't')
						c = '\t';
					else if (c == 'r')
						c = '\r';
					else if (c == 'f')
						c = '\f';
					else if (label_is_octal_digit(c)) {
						unsigned v = (unsigned)(c - '0');

						for (int k = 0; k < 2 && i < n &&
						                label_is_octal_digit(line[i]);
						     k++)
							v = v * 8 + (unsigned)(line[i++] - '0');
						c = (uint8_t)v;
					}
				}
				if (used < sizeof(tokens[count].text) - 1)
					t[used++] = (char)c;
			}
			if (i < n)
				i++; /* closing quote */
		} else {
			while (i < n && line[i] != ' ') {
				if (used < sizeof(tokens[count].text) - 1)
					t[used++] = (char)line[i];
				i++;
			}
		}
		t[used] = '\0';
		count++;
	}
	return count;
}

/* Amanda datestamp: YYYYMMDD or YYYYMMDDhhmmss; "X" and others give 0. */
static time_t amanda_datestamp(const char *s)
{
	size_t n = strlen(s);
	uint64_t y, mo, d, h = 0, mi = 0, se = 0;
	const uint8_t *u = (const uint8_t *)s;

	if (n != 8 && n != 14)
		return 0;
	if (!label_decimal_exact(u, 4, 9999, &y) || !label_decimal_exact(u + 4, 2, 99, &mo) ||
	    !label_decimal_exact(u + 6, 2, 99, &d))
		return 0;
	if (n == 14 &&
	    (!label_decimal_exact(u + 8, 2, 99, &h) || !label_decimal_exact(u + 10, 2, 99, &mi) ||
	     !label_decimal_exact(u + 12, 2, 99, &se)))
		return 0;
	return label_make_time((int64_t)y, (unsigned)mo, (unsigned)d, (unsigned)h, (unsigned)mi,
	                       (unsigned)se);
}

static int small_number(const char *s, int fallback)
{
	uint64_t v;

	if (!label_decimal_exact((const uint8_t *)s, strlen(s), 1000000000, &v))
		return fallback;
	return (int)v;
}

bool label_recognise_amanda(const uint8_t *p, size_t length, struct tape_content *out)
{
	struct token tokens[AMANDA_TOKENS];
	size_t prefix, line_length = 0, limit, count;
	const char *type;

	if (length >= 8 && memcmp(p, "AMANDA: ", 8) == 0)
		prefix = 8;
	else if (length >= 9 && memcmp(p, "NETDUMP: ", 9) == 0)
		prefix = 9;
	else
		return false;

	limit = length < AMANDA_LINE_MAX ? length : AMANDA_LINE_MAX;
	while (prefix + line_length < limit && p[prefix + line_length] != '\n' &&
	       p[prefix + line_length] != '\0')
		line_length++;
	count = amanda_tokens(p + prefix, line_length, tokens, AMANDA_TOKENS);
	if (count == 0)
		return false;

	out->format = LABEL_FORMAT_AMANDA;
	out->block_size = AMANDA_HEADER_SIZE;
	type = tokens[0].text;
	label_set_text(out->variant, sizeof(out->variant), type);

	if (strcmp(type, "TAPESTART") == 0 || strcmp(type, "TAPEEND") == 0) {
		out->activity = LABEL_ACTIVITY_VOLUME_LABEL;
		for (size_t i = 1; i + 1 < count; i += 2) {
			if (strcmp(tokens[i].text, "DATE") == 0)
				out->date = amanda_datestamp(tokens[i + 1].text);
			else if (strcmp(tokens[i].text, "TAPE") == 0)
				label_set_text(out->label, sizeof(out->label), tokens[i + 1].text);
		}
		return true;
	}

	out->activity = LABEL_ACTIVITY_BACKUP;
	if (strcmp(type, "FILE") == 0 || strcmp(type, "CONT_FILE") == 0 ||
	    strcmp(type, "SPLIT_FILE") == 0) {
		if (count >= 4) {
			out->date = amanda_datestamp(tokens[1].text);
			label_set_text(out->host, sizeof(out->host), tokens[2].text);
			label_set_text(out->filesystem, sizeof(out->filesystem), tokens[3].text);
		}
		for (size_t i = 4; i + 1 < count; i++) {
			const char *key = tokens[i].text, *value = tokens[i + 1].text;

			if (strcmp(key, "lev") == 0) {
				out->level = small_number(value, -1);
				i++;
			} else if (strcmp(key, "comp") == 0) {
				label_set_text(out->compression, sizeof(out->compression), value);
				i++;
			} else if (strcmp(key, "program") == 0) {
				label_set_text(out->program, sizeof(out->program), value);
				i++;
			} else if (strcmp(key, "part") == 0) {
				const char *slash = strchr(value, '/');
				char number[16];

				if (slash && (size_t)(slash - value) < sizeof(number)) {
					memcpy(number, value, (size_t)(slash - value));
					number[slash - value] = '\0';
					out->volume = small_number(number, 0);
					out->volume_count = small_number(slash + 1, 0);
				}
				i++;
			}
		}
		if (strcmp(type, "CONT_FILE") == 0)
			out->continuation = true;
		out->next_record_wanted = true;
	}
	return true;
}

/* ---------------------------------------------------------------------------
 * Bacula / Bareos
 */

struct cursor {
	const uint8_t *p;
	size_t left;
	bool ok;
};

static void cursor_skip(struct cursor *c, size_t n)
{
	if (!c->ok || c->left < n) {
		c->ok = false;
		return;
	}
	c->p += n;
	c->left -= n;
}

static uint64_t cursor_be(struct cursor *c, size_t n)
{
	uint64_t v = 0;

	if (!c->ok || c->left < n) {
		c->ok = false;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | c->p[i];
	cursor_skip(c, n);
	return v;
}

/* Bacula's ser_string: bytes up to and including a NUL. */
static void cursor_string(struct cursor *c, char *dst, size_t dst_size)
{
	size_t n = 0;

	if (dst_size)
		dst[0] = '\0';
	if (!c->ok)
		return;
	while (n < c->left && c->p[n] != '\0')
		n++;
	if (n == c->left) {
		c->ok = false;
		return;
	}
	label_copy_field(dst, dst_size, c->p, n);
	cursor_skip(c, n + 1);
}

static double double_from_bits(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

static void bacula_volume_label(const uint8_t *payload, size_t size, struct tape_content *out)
{
	struct cursor c = {payload, size, true};
	char id[40], previous[LABEL_TEXT_MAX], pool_type[LABEL_SHORT_MAX];
	uint32_t version;
	int64_t label_btime;
	double label_date, label_time;

	cursor_string(&c, id, sizeof(id));
	if (!c.ok || (strncmp(id, "Bacula", 6) != 0 && strncmp(id, "Bareos", 6) != 0))
		return;
	version = (uint32_t)cursor_be(&c, 4);
	if (!c.ok)
		return;
	label_btime = (int64_t)cursor_be(&c, 8);
	label_date = double_from_bits((uint64_t)label_btime);
	label_time = double_from_bits(cursor_be(&c, 8));
	cursor_skip(&c, 16); /* write_date, write_time */
	if (!c.ok)
		return;
	if (version >= 11) {
		/* btime: microseconds since 1970 in current Bacula, seconds in 1.x. */
		if (label_btime > 100000000000LL)
			out->date = (time_t)(label_btime / 1000000);
		else if (label_btime > 0)
			out->date = (time_t)label_btime;
	} else if (isfinite(label_date) && isfinite(label_time)) {
		/* Julian day number and fraction. */
		double seconds = (label_date - 2440587.5 + label_time) * 86400.0;

		if (seconds > 0 && seconds < 253402300800.0)
			out->date = (time_t)seconds;
	}
	snprintf(out->program, sizeof(out->program), "%.*s", (int)strcspn(id, "\n"), id);
	cursor_string(&c, out->label, sizeof(out->label));
	cursor_string(&c, previous, sizeof(previous));
	cursor_string(&c, out->filesystem, sizeof(out->filesystem)); /* PoolName */
	cursor_string(&c, pool_type, sizeof(pool_type));
	cursor_string(&c, out->device, sizeof(out->device)); /* MediaType */
	cursor_string(&c, out->host, sizeof(out->host));
}

bool label_recognise_bacula(const uint8_t *p, size_t length, struct tape_content *out)
{
	size_t block_header, record_header, field_offset;
	uint32_t block_length, data_length;
	int32_t file_index;
	const char *what;
	char version = 0;

	if (length < 16 || memcmp(p + 12, "BB0", 3) != 0)
		return false;
	switch (p[15]) {
	case '1':
		block_header = 16;
		record_header = 20;
		field_offset = 8; /* VolSessionId, VolSessionTime come first */
		break;
	case '2':
		block_header = 24;
		record_header = 12;
		field_offset = 0;
		break;
	case '3':
		block_header = 32;
		record_header = 12;
		field_offset = 0;
		break;
	default:
		return false;
	}
	version = (char)p[15];
	block_length = label_be32(p + 4);
	if (block_length < block_header || block_length > BACULA_MAX_BLOCK)
		return false;

	out->format = LABEL_FORMAT_BACULA;
	out->activity = LABEL_ACTIVITY_BACKUP;
	out->block_size = block_length;
	snprintf(out->variant, sizeof(out->variant), "BB0%c", version);
	if (length < block_header + record_header)
		return true;

	file_index = (int32_t)label_be32(p + block_header + field_offset);
	data_length = label_be32(p + block_header + field_offset + 8);
	switch (file_index) {
	case -1:
		what = "PRE_LABEL";
		break;
	case -2:
		what = "VOL_LABEL";
		break;
	case -3:
		what = "EOM_LABEL";
		break;
	case -4:
		what = "SOS_LABEL";
		break;
	case -5:
		what = "EOS_LABEL";
		break;
	case -6:
		what = "EOT_LABEL";
		break;
	default:
		what = NULL;
		break;
	}
	if (what)
		snprintf(out->variant, sizeof(out->variant), "BB0%c %s", version, what);
	if (file_index == -1 || file_index == -2) {
		size_t start = block_header + record_header;
		size_t end = length < block_length ? length : block_length;
		size_t size = end > start ? end - start : 0;

		if (data_length < size)
			size = data_length;
		out->activity = LABEL_ACTIVITY_VOLUME_LABEL;
		bacula_volume_label(p + start, size, out);
	}
	return true;
}

/* ---------------------------------------------------------------------------
 * ANSI / IBM standard labels, LTFS
 */

/* EBCDIC (code page 037) to ASCII for the characters labels use; 0 = not one. */
static char ebcdic_to_ascii(uint8_t c)
{
	static const char letters1[] = "abcdefghi"; /* 0x81.. */
	static const char letters2[] = "jklmnopqr"; /* 0x91.. */
	static const char letters3[] = "stuvwxyz";  /* 0xa2.. */

	if (c >= 0xf0 && c <= 0xf9)
		return (char)('0' + (c - 0xf0));
	if (c >= 0xc1 && c <= 0xc9)
		return (char)('A' + (c - 0xc1));
	if (c >= 0xd1 && c <= 0xd9)
		return (char)('J' + (c - 0xd1));
	if (c >= 0xe2 && c <= 0xe9)
		return (char)('S' + (c - 0xe2));
	if (c >= 0x81 && c <= 0x89)
		return letters1[c - 0x81];
	if (c >= 0x91 && c <= 0x99)
		return letters2[c - 0x91];
	if (c >= 0xa2 && c <= 0xa9)
		return letters3[c - 0xa2];
	switch (c) {
	case 0x40:
		return ' ';
	case 0x4b:
		return '.';
	case 0x4c:
		return '<';
	case 0x4d:
		return '(';
	case 0x4e:
		return '+';
	case 0x4f:
		return '|';
	case 0x50:
		return '&';
	case 0x5a:
		return '!';
	case 0x5b:
		return '$';
	case 0x5c:
		return '*';
	case 0x5d:
		return ')';
	case 0x5e:
		return ';';
	case 0x60:
		return '-';
	case 0x61:
		return '/';
	case 0x6b:
		return ',';
	case 0x6c:
		return '%';
	case 0x6d:
		return '_';
	case 0x6e:
		return '>';
	case 0x6f:
		return '?';
	case 0x7a:
		return ':';
	case 0x7b:
		return '#';
	case 0x7c:
		return '@';
	case 0x7d:
		return '\'';
	case 0x7e:
		return '=';
	case 0x7f:
		return '"';
	default:
		return 0;
	}
}

/* ANSI X3.27 date "cyyddd": c blank = 19xx, '0' = 20xx, '1' = 21xx. */
static time_t ansi_date(const uint8_t *d)
{
	uint64_t yy, ddd;
	int64_t century;

	if (d[0] == ' ')
		century = 1900;
	else if (label_is_digit(d[0]))
		century = 2000 + 100 * (d[0] - '0');
	else
		return 0;
	if (!label_decimal_exact(d + 1, 2, 99, &yy) || !label_decimal_exact(d + 3, 3, 366, &ddd) ||
	    ddd == 0)
		return 0;
	if (century + (int64_t)yy < 1970)
		return 0;
	return (time_t)((label_days_from_civil(century + (int64_t)yy, 1, 1) + (int64_t)ddd - 1) *
	                86400);
}

bool label_recognise_ansi(const uint8_t *p, size_t length, struct tape_content *out)
{
	uint8_t text[80];
	bool ebcdic = false;
	uint64_t v;

	/* Labels are exactly 80-byte records; a longer record is something else. */
	if (length != 80)
		return false;
	if (p[0] >= 0xc0) {
		for (size_t i = 0; i < 80; i++) {
			char c = ebcdic_to_ascii(p[i]);

			if (c == 0)
				return false;
			text[i] = (uint8_t)c;
		}
		ebcdic = true;
	} else {
		for (size_t i = 0; i < 80; i++) {
			if (p[i] < 0x20 || p[i] > 0x7e)
				return false;
			text[i] = p[i];
		}
	}
	if (memcmp(text, "VOL1", 4) == 0) {
		char implementation[14];

		label_copy_trimmed(out->label, sizeof(out->label), text + 4, 6);
		label_copy_trimmed(out->host, sizeof(out->host), text + 37, 14); /* owner */
		label_copy_trimmed(implementation, sizeof(implementation), text + 24, 13);
		label_set_text(out->program, sizeof(out->program), implementation);
		if (memcmp(text + 24, "LTFS", 4) == 0)
			snprintf(out->variant, sizeof(out->variant), "LTFS VOL1");
		else
			snprintf(out->variant, sizeof(out->variant), "%s VOL1",
			         ebcdic ? "IBM" : "ANSI");
	} else if (memcmp(text, "HDR1", 4) == 0 || memcmp(text, "EOF1", 4) == 0 ||
	           memcmp(text, "EOV1", 4) == 0) {
		label_copy_trimmed(out->member, sizeof(out->member), text + 4, 17);
		label_copy_trimmed(out->label, sizeof(out->label), text + 21, 6); /* file set */
		if (label_decimal_exact(text + 27, 4, 9999, &v))
			out->volume = (int)v;
		out->date = ansi_date(text + 41);
		snprintf(out->variant, sizeof(out->variant), "%s %.4s", ebcdic ? "IBM" : "ANSI",
		         (const char *)text);
		out->continuation = memcmp(text, "HDR1", 4) == 0 && out->volume > 1;
	} else if (memcmp(text, "HDR2", 4) == 0 || memcmp(text, "EOF2", 4) == 0 ||
	           memcmp(text, "EOV2", 4) == 0) {
		if (label_decimal_exact(text + 5, 5, 99999, &v))
			out->block_size = (uint32_t)v;
		snprintf(out->variant, sizeof(out->variant), "%s %.4s", ebcdic ? "IBM" : "ANSI",
		         (const char *)text);
	} else {
		return false;
	}
	out->format = LABEL_FORMAT_ANSI;
	out->activity = LABEL_ACTIVITY_VOLUME_LABEL;
	return true;
}

/* ---------------------------------------------------------------------------
 * afbackup, AIX backup, compressed streams
 */

/* Value after "key" up to the end of its line, within [p, p+n). */
static bool text_value(const uint8_t *p, size_t n, const char *key, char *dst, size_t dst_size)
{
	size_t key_length = strlen(key), end;
	const uint8_t *at = memmem(p, n, key, key_length);

	if (!at)
		return false;
	at += key_length;
	n -= (size_t)(at - p);
	while (n > 0 && *at == '\t') {
		at++;
		n--;
	}
	for (end = 0; end < n && at[end] != '\n' && at[end] != '\0'; end++)
		;
	label_copy_field(dst, dst_size, at, end);
	return true;
}

bool label_recognise_afbackup(const uint8_t *p, size_t length, struct tape_content *out)
{
	static const char magic[] = "AF's backup system\n\nINFO HEADER";
	size_t window = length < 4096 ? length : 4096;
	char value[LABEL_TEXT_MAX];
	uint64_t v;

	if (!memmem(p, length < 256 ? length : 256, magic, sizeof(magic) - 1))
		return false;
	out->format = LABEL_FORMAT_AFBACKUP;
	out->activity = LABEL_ACTIVITY_VOLUME_LABEL;
	snprintf(out->variant, sizeof(out->variant), "info header");
	if (text_value(p, window, "\nCartridge number:", value, sizeof(value)) &&
	    label_decimal_exact((const uint8_t *)value, strlen(value), 1000000000, &v))
		label_set_text(out->label, sizeof(out->label), value);
	if (text_value(p, window, "\nLabeling time:", value, sizeof(value)) &&
	    label_decimal_exact((const uint8_t *)value, strlen(value), INT32_MAX * 4ull, &v))
		out->date = (time_t)v;
	if (text_value(p, window, "\nTape Blocksize:", value, sizeof(value)) &&
	    label_decimal_exact((const uint8_t *)value, strlen(value), UINT32_MAX, &v))
		out->block_size = (uint32_t)v;
	if (text_value(p, window, "\nProgram version:", value, sizeof(value)))
		label_set_text(out->program, sizeof(out->program), value);
	return true;
}

bool label_recognise_aix(const uint8_t *p, size_t length, struct tape_content *out)
{
	if (length < 4 || p[0] != 0x09 || p[1] != 0x00 || (p[2] != 0x6b && p[2] != 0x6f) ||
	    p[3] != 0xea)
		return false;
	out->format = LABEL_FORMAT_AIX_BACKUP;
	out->activity = LABEL_ACTIVITY_BACKUP;
	snprintf(out->variant, sizeof(out->variant), "backbyinode");
	return true;
}

/* gzip header (RFC 1952): MTIME and the original name when FNAME is set. */
static void gzip_details(const uint8_t *p, size_t length, struct tape_content *out)
{
	uint8_t flags = p[3];
	size_t pos = 10;

	out->date = (time_t)label_le32(p + 4);
	if (flags & 0x04) { /* FEXTRA */
		if (length < pos + 2)
			return;
		pos += 2 + label_le16(p + pos);
	}
	if ((flags & 0x08) && pos < length) /* FNAME */
		label_copy_field(out->member, sizeof(out->member), p + pos, length - pos);
}

bool label_recognise_compressed(const uint8_t *p, size_t length, struct tape_content *out)
{
	const char *name = NULL;

	if (length >= 10 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && (p[3] & 0xe0) == 0)
		name = "gzip";
	else if (length >= 4 && memcmp(p, "BZh", 3) == 0 && p[3] >= '1' && p[3] <= '9')
		name = "bzip2";
	else if (length >= 6 && memcmp(p, "\xfd\x37\x7a\x58\x5a\x00", 6) == 0)
		name = "xz";
	else if (length >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
		name = "zstd";
	else if (length >= 4 && memcmp(p, "\x04\x22\x4d\x18", 4) == 0)
		name = "lz4";
	else if (length >= 3 && p[0] == 0x1f && p[1] == 0x9d)
		name = "compress";
	if (!name)
		return false;
	out->format = LABEL_FORMAT_COMPRESSED;
	out->format_name = name;
	out->activity = LABEL_ACTIVITY_DATA;
	label_set_text(out->variant, sizeof(out->variant), name);
	label_set_text(out->compression, sizeof(out->compression), name);
	if (strcmp(name, "gzip") == 0)
		gzip_details(p, length, out);
	return true;
}
