/*
 * subject.c - certificate subjects split into their components, and patterns
 * matched against them component by component.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <string.h>

#include "number.h"
#include "subject.h"

#define SUBJECT_PARTS_MAX 64

struct subject_part {
	const char *type;
	const char *value; /* decoded; for a pattern, a glob */
	bool joined;       /* '+' before it: in the same multi-valued component */
};

struct subject_name {
	int count;
	struct subject_part parts[SUBJECT_PARTS_MAX];
	/* Decoded text is never longer than its source, plus a NUL per type and value. */
	char storage[2 * SUBJECT_TEXT_MAX + 2];
};

/*
 * Decode one value up to the next unescaped ',' or '+'. For a pattern, escaped
 * glob characters stay literal for fnmatch. NULL on a bad escape or a NUL byte.
 */
static const char *split_value(const char *p, char **w, bool glob, const char **reason)
{
	while (*p != '\0' && *p != ',' && *p != '+') {
		unsigned char c;
		int high, low;

		if (*p == '"') {
			*reason = "a '\"' in a value must be written \\\"";
			return NULL;
		}
		if (*p != '\\') {
			*(*w)++ = *p++;
			continue;
		}
		high = hex_digit_value((unsigned char)p[1]);
		low = high < 0 ? -1 : hex_digit_value((unsigned char)p[2]);
		if (low >= 0) {
			c = (unsigned char)(high * 16 + low);
			p += 3;
		} else if (p[1] != '\0' && strchr(",+\"\\<>;=# *?[]", p[1]) != NULL) {
			c = (unsigned char)p[1];
			p += 2;
		} else {
			*reason = "a backslash must be followed by one of ,+\"\\<>;=# *?[] "
			          "or two hexadecimal digits";
			return NULL;
		}
		if (c == '\0') {
			*reason = "a value cannot hold a NUL byte";
			return NULL;
		}
		if (glob && strchr("*?[]\\", c) != NULL)
			*(*w)++ = '\\';
		*(*w)++ = (char)c;
	}
	return p;
}

/* Split RFC 2253 text into its components. 0, or -EINVAL with *reason set. */
static int subject_split(const char *text, bool glob, struct subject_name *name,
                         const char **reason)
{
	const char *p = text;
	char *w = name->storage;
	bool joined = false;

	name->count = 0;
	if (strlen(text) >= SUBJECT_TEXT_MAX) {
		*reason = "too long";
		return -EINVAL;
	}
	for (;;) {
		struct subject_part *part;

		if (name->count == SUBJECT_PARTS_MAX) {
			*reason = "too many components";
			return -EINVAL;
		}
		part = &name->parts[name->count];
		while (*p == ' ') /* "O=x, CN=y": a type never starts with a blank */
			p++;
		part->type = w;
		while (isalnum((unsigned char)*p) || *p == '-' || *p == '.')
			*w++ = *p++;
		if (*p != '=' || w == part->type) {
			*reason = "expected TYPE=VALUE components separated by ','";
			return -EINVAL;
		}
		*w++ = '\0';
		p++;
		part->value = w;
		p = split_value(p, &w, glob, reason);
		if (p == NULL)
			return -EINVAL;
		*w++ = '\0';
		part->joined = joined;
		name->count++;
		if (*p == '\0')
			return 0;
		joined = *p++ == '+';
	}
}

int subject_pattern_check(const char *pattern, const char **reason)
{
	struct subject_name name;

	return subject_split(pattern, true, &name, reason);
}

bool subject_matches(const char *pattern, const char *subject)
{
	struct subject_name want, have;
	const char *reason;

	if (subject_split(pattern, true, &want, &reason) < 0 ||
	    subject_split(subject, false, &have, &reason) < 0 || want.count != have.count)
		return false;
	for (int i = 0; i < want.count; i++) {
		if (want.parts[i].joined != have.parts[i].joined ||
		    strcasecmp(want.parts[i].type, have.parts[i].type) != 0 ||
		    fnmatch(want.parts[i].value, have.parts[i].value, 0) != 0)
			return false;
	}
	return true;
}
