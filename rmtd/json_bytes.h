/*
 * json_bytes.h - C strings of raw bytes into jansson objects, the one rule
 * rmtd's JSON follows: a string that is UTF-8 is written as it is; any other
 * as text with U+FFFD for each byte that is not UTF-8 and, where the exact
 * bytes matter (state files, their reports), beside it "<key>_hex" with every
 * byte in hex.
 */
#ifndef RMTD_JSON_BYTES_H
#define RMTD_JSON_BYTES_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/* key = value (NULL: null), plus "<key>_hex" when value is not UTF-8. False: no memory. */
bool json_set_bytes(json_t *obj, const char *key, const char *value);

/* key = value (NULL: null) with U+FFFD for bytes that are not UTF-8. False: no memory. */
bool json_set_text(json_t *obj, const char *key, const char *value);

/* value as a JSON string (U+FFFD as above); NULL when out of memory. */
json_t *json_text(const char *value);

/* obj (NULL: out of memory) as one compact line, no newline; consumes obj. 0 or -errno. */
int json_write_file(json_t *obj, FILE *out);

#endif
