/*
 * json_bytes.c - raw byte strings into jansson values (json_bytes.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json_bytes.h"
#include "utf8.h"

#define JSON_KEY_MAX 64

static bool is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p) {
		if ((n = utf8_sequence(p)) == 0)
			return false;
		p += n;
	}
	return true;
}

/* s with U+FFFD for each byte that is not UTF-8; NULL when out of memory. */
static char *utf8_replaced(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *text = malloc(3 * strlen(s) + 1), *t = text;
	size_t n;

	if (!text)
		return NULL;
	while (*p) {
		if ((n = utf8_sequence(p)) > 0) {
			memcpy(t, p, n);
			t += n;
			p += n;
		} else {
			memcpy(t, "\xef\xbf\xbd", 3);
			t += 3;
			p++;
		}
	}
	*t = '\0';
	return text;
}

json_t *json_text(const char *value)
{
	char *text;
	json_t *string;

	if (is_utf8(value))
		return json_string(value);
	if ((text = utf8_replaced(value)) == NULL)
		return NULL;
	string = json_string(text);
	free(text);
	return string;
}

bool json_set_text(json_t *obj, const char *key, const char *value)
{
	return json_object_set_new(obj, key, value ? json_text(value) : json_null()) == 0;
}

bool json_set_bytes(json_t *obj, const char *key, const char *value)
{
	char hex_key[JSON_KEY_MAX], *hex;
	size_t n;
	bool ok;

	if (!json_set_text(obj, key, value))
		return false;
	if (value == NULL || is_utf8(value))
		return true;
	n = strlen(value);
	if ((hex = malloc(2 * n + 1)) == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)value[i]);
	snprintf(hex_key, sizeof(hex_key), "%s_hex", key);
	ok = json_object_set_new(obj, hex_key, json_string(hex)) == 0;
	free(hex);
	return ok;
}

int json_write_file(json_t *obj, FILE *out)
{
	int rc;

	if (obj == NULL)
		return -ENOMEM;
	rc = json_dumpf(obj, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	return rc == 0 ? 0 : -EIO;
}
