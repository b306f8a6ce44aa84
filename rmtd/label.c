/*
 * label.c - recognising what a tape file holds from its first record: the
 * order the recognisers (label_archive.c, label_backup.c) are tried in, and
 * the words and descriptions made of what they found.
 *
 * The test order follows doc/tape-contents.md section 1 so that a weak test never hides a
 * strong one: Amanda text header, ANSI/IBM VOL1 (LTFS), Bacula block, dump
 * (magic + checksum), tar (header checksum), cpio, AIX backup, afbackup,
 * compressed streams. Every read is bounds-checked against the record length;
 * strings are copied bounded and NUL-terminated but otherwise left raw.
 */
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "label.h"
#include "label_internal.h"

/* ---------------------------------------------------------------------------
 * Public functions
 */

void label_clear(struct tape_content *out)
{
	memset(out, 0, sizeof(*out));
	out->format = LABEL_FORMAT_UNKNOWN;
	out->format_name = label_format_name(LABEL_FORMAT_UNKNOWN);
	out->level = -1;
	out->inner_format = LABEL_FORMAT_UNKNOWN;
}

const char *label_format_name(enum label_format format)
{
	switch (format) {
	case LABEL_FORMAT_DUMP:
		return "dump";
	case LABEL_FORMAT_TAR:
		return "tar";
	case LABEL_FORMAT_CPIO:
		return "cpio";
	case LABEL_FORMAT_AMANDA:
		return "amanda";
	case LABEL_FORMAT_BACULA:
		return "bacula";
	case LABEL_FORMAT_AFBACKUP:
		return "afbackup";
	case LABEL_FORMAT_ANSI:
		return "ansi";
	case LABEL_FORMAT_AIX_BACKUP:
		return "aix-backup";
	case LABEL_FORMAT_COMPRESSED:
		return "compressed";
	case LABEL_FORMAT_UNKNOWN:
		break;
	}
	return "unknown";
}

typedef bool (*recogniser_fn)(const uint8_t *p, size_t length, struct tape_content *out);

/* doc/tape-contents.md section 1: strongest and most specific tests first. */
static const recogniser_fn recognisers[] = {
    label_recognise_amanda,     label_recognise_ansi,   label_recognise_bacula,
    label_recognise_dump32,     label_recognise_dump16, label_recognise_tar,
    label_recognise_cpio,       label_recognise_aix,    label_recognise_afbackup,
    label_recognise_compressed,
};

bool label_recognise(const void *record, size_t length, struct tape_content *out)
{
	const uint8_t *p = record;

	label_clear(out);
	if (!record || length == 0)
		return false;
	for (size_t i = 0; i < sizeof(recognisers) / sizeof(recognisers[0]); i++) {
		if (recognisers[i](p, length, out)) {
			if (out->format != LABEL_FORMAT_COMPRESSED)
				out->format_name = label_format_name(out->format);
			/* An Amanda record longer than its header holds the start of the image. */
			if (out->format == LABEL_FORMAT_AMANDA && out->next_record_wanted &&
			    length > AMANDA_HEADER_SIZE)
				label_recognise_inner(p + AMANDA_HEADER_SIZE,
				                      length - AMANDA_HEADER_SIZE, out);
			return true;
		}
		/* a recogniser that gave up may have written fields: start clean */
		label_clear(out);
	}
	return false;
}

void label_recognise_inner(const void *record, size_t length, struct tape_content *out)
{
	struct tape_content inner;
	const uint8_t *p = record;

	out->next_record_wanted = false;
	label_clear(&inner);
	if (!record || length == 0)
		return;
	/* No nesting: an Amanda header inside an Amanda file is just "amanda". */
	for (size_t i = 0; i < sizeof(recognisers) / sizeof(recognisers[0]); i++) {
		if (recognisers[i](p, length, &inner)) {
			out->inner_format = inner.format;
			label_set_text(out->inner_variant, sizeof(out->inner_variant),
			               inner.variant);
			if (out->member[0] == '\0')
				memcpy(out->member, inner.member, sizeof(out->member));
			return;
		}
		label_clear(&inner);
	}
}

const char *label_operation(const struct tape_content *content, bool writing)
{
	switch (content ? content->activity : LABEL_ACTIVITY_DATA) {
	case LABEL_ACTIVITY_DUMP:
		return writing ? "Dump" : "Restore";
	case LABEL_ACTIVITY_ARCHIVE:
		return writing ? "Archive" : "Extract";
	case LABEL_ACTIVITY_BACKUP:
		return writing ? "Backup" : "Recover";
	case LABEL_ACTIVITY_VOLUME_LABEL:
		return writing ? "Label" : "Scan";
	case LABEL_ACTIVITY_DATA:
		break;
	}
	return writing ? "Write" : "Read";
}

const char *label_format_date(time_t when, char *out, size_t size)
{
	int64_t t = (int64_t)when, days, seconds;
	int64_t z, era, year;
	unsigned day_of_era, year_of_era, day_of_year, mp, day, month;

	if (size == 0)
		return out;
	/* year 0 .. 9999 only: anything else is printed as a raw number */
	if (t < -62167219200LL || t > 253402300799LL) {
		snprintf(out, size, "@%lld", (long long)t);
		return out;
	}
	days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	seconds = t - days * 86400;
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	day_of_era = (unsigned)(z - era * 146097);
	year_of_era =
	    (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
	year = (int64_t)year_of_era + era * 400;
	day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	mp = (5 * day_of_year + 2) / 153;
	day = day_of_year - (153 * mp + 2) / 5 + 1;
	month = mp < 10 ? mp + 3 : mp - 9;
	year += month <= 2;
	snprintf(out, size, "%04lld-%02u-%02u %02u:%02u", (long long)year, month, day,
	         (unsigned)(seconds / 3600), (unsigned)(seconds % 3600 / 60));
	return out;
}

/* A bounded string builder for label_describe. */
struct text {
	char *buf;
	size_t size, used;
};

static void text_add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->size == 0)
		return;
	if (n > t->size - 1 - t->used)
		n = t->size - 1 - t->used;
	memcpy(t->buf + t->used, s, n);
	t->used += n;
	t->buf[t->used] = '\0';
}

static void text_escaped(struct text *t, const char *raw)
{
	char escaped[4 * LABEL_NAME_MAX + 1];

	escape_text(escaped, sizeof(escaped), raw);
	text_add(t, escaped);
}

static void text_number(struct text *t, const char *before, long long v, const char *after)
{
	char number[32];

	text_add(t, before);
	snprintf(number, sizeof(number), "%lld", v);
	text_add(t, number);
	text_add(t, after);
}

static void text_field(struct text *t, const char *before, const char *raw)
{
	if (raw[0] == '\0')
		return;
	text_add(t, before);
	text_escaped(t, raw);
}

static void text_date(struct text *t, const char *before, time_t when)
{
	char date[32];

	if (when == 0)
		return;
	text_add(t, before);
	text_add(t, label_format_date(when, date, sizeof(date)));
	text_add(t, " UTC");
}

static void describe_dump(struct text *t, const struct tape_content *c)
{
	text_add(t, "dump");
	if (c->level >= 0)
		text_number(t, " level ", c->level, "");
	text_field(t, " of ", c->device);
	if (c->filesystem[0]) {
		text_add(t, " (");
		text_escaped(t, c->filesystem);
		text_add(t, ")");
	}
	text_field(t, " on ", c->host);
	text_field(t, ", label ", c->label);
	if (c->volume > 0)
		text_number(t, ", volume ", c->volume, "");
	if (c->continuation)
		text_number(t, " (continued at byte ", (long long)c->offset, ")");
	text_date(t, ", ", c->date);
	text_date(t, ", since ", c->previous_date);
	if (strncmp(c->variant, "new-fs little", 13) != 0)
		text_field(t, ", ", c->variant);
	if (c->compression[0])
		text_add(t, ", compressed");
}

static void describe_generic(struct text *t, const struct tape_content *c)
{
	text_add(t, c->format_name ? c->format_name : "unknown");
	if (c->variant[0] && strcmp(c->variant, c->format_name ? c->format_name : "") != 0) {
		text_add(t, " (");
		text_escaped(t, c->variant);
		text_add(t, ")");
	}
	text_field(t, " label ", c->label);
	if (c->format == LABEL_FORMAT_ANSI)
		text_field(t, ", owner ", c->host);
	else
		text_field(t, ", host ", c->host);
	if (c->format == LABEL_FORMAT_BACULA) {
		text_field(t, ", pool ", c->filesystem);
		text_field(t, ", media type ", c->device);
	} else {
		text_field(t, ", disk ", c->filesystem);
		text_field(t, ", device ", c->device);
	}
	if (c->level >= 0)
		text_number(t, ", level ", c->level, "");
	if (c->volume > 0) {
		text_number(t, ", volume ", c->volume, "");
		if (c->volume_count > 0)
			text_number(t, " of ", c->volume_count, "");
	}
	if (c->continuation) {
		text_field(t, ", continues ", c->member);
		if (c->offset)
			text_number(t, " at byte ", (long long)c->offset, "");
	} else {
		text_field(t, ", first member ", c->member);
	}
	text_field(t, ", program ", c->program);
	if (c->format != LABEL_FORMAT_COMPRESSED)
		text_field(t, ", compression ", c->compression);
	text_date(t, ", ", c->date);
	if (c->inner_format != LABEL_FORMAT_UNKNOWN) {
		text_add(t, ", holding ");
		text_add(t, label_format_name(c->inner_format));
		if (c->inner_variant[0] &&
		    strcmp(c->inner_variant, label_format_name(c->inner_format)) != 0) {
			text_add(t, " (");
			text_escaped(t, c->inner_variant);
			text_add(t, ")");
		}
	}
}

const char *label_describe(const struct tape_content *content, char *out, size_t size)
{
	struct text t = {out, size, 0};

	if (size == 0)
		return out;
	out[0] = '\0';
	if (!content || content->format == LABEL_FORMAT_UNKNOWN) {
		text_add(&t, "unrecognised data");
		return out;
	}
	if (content->format == LABEL_FORMAT_DUMP)
		describe_dump(&t, content);
	else
		describe_generic(&t, content);
	return out;
}
