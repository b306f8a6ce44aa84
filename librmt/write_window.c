/*
 * write_window.c - librmt's window of W requests in flight (write_window.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "write_window.h"

bool write_window_parse_limits(const char *text, unsigned int *records, size_t *bytes)
{
	const char *comma = strchr(text, ',');
	size_t length = comma != NULL ? (size_t)(comma - text) : strlen(text);
	int64_t value;

	if (decimal_parse_i64(text, length, 1, WRITE_WINDOW_RECORDS_MAX, &value) < 0)
		return false;
	if (comma != NULL) {
		int64_t limit;

		if (decimal_parse_range(comma + 1, 1, WRITE_WINDOW_BYTES_MAX, &limit) < 0)
			return false;
		*bytes = (size_t)limit;
	}
	*records = (unsigned int)value;
	return true;
}

struct write_window *write_window_new(void)
{
	struct write_window *w = calloc(1, sizeof(*w));
	const char *text = getenv("RMT_PIPELINE_WINDOW");

	if (w == NULL)
		return NULL;
	w->max_records = WRITE_WINDOW_RECORDS;
	w->max_bytes = WRITE_WINDOW_BYTES;
	/* A malformed setting keeps the defaults: a library does not print. */
	if (text != NULL && *text != '\0' &&
	    !write_window_parse_limits(text, &w->max_records, &w->max_bytes)) {
		w->max_records = WRITE_WINDOW_RECORDS;
		w->max_bytes = WRITE_WINDOW_BYTES;
	}
	w->sizes = calloc(w->max_records, sizeof(*w->sizes));
	w->room_left = -1;
	if (w->sizes == NULL) {
		free(w);
		return NULL;
	}
	return w;
}

void write_window_free(struct write_window *w)
{
	if (w == NULL)
		return;
	free(w->sizes);
	free(w);
}

bool write_window_has_room(const struct write_window *w, size_t count)
{
	return w->count == 0 || (w->count < w->max_records && w->bytes + count <= w->max_bytes);
}

bool write_window_before_early_warning(const struct write_window *w, size_t count)
{
	return w->room_left < 0 ||
	       (uint64_t)w->room_left >= (uint64_t)count + WRITE_WINDOW_RECORD_OVERHEAD;
}

void write_window_push(struct write_window *w, size_t count)
{
	w->sizes[(w->head + w->count) % w->max_records] = count;
	w->count++;
	w->bytes += count;
	if (w->room_left >= 0)
		w->room_left -= (int64_t)(count + WRITE_WINDOW_RECORD_OVERHEAD);
}

void write_window_reply(struct write_window *w, bool ok, int64_t value, int error, const char *text)
{
	size_t expected = w->sizes[w->head];

	w->head = (w->head + 1) % w->max_records;
	w->count--;
	w->bytes -= expected;
	if (ok && value >= 0 && (uint64_t)value == expected)
		return;
	if (w->burst) {
		w->discarded++;
		return;
	}
	w->burst = true;
	if (ok) {
		w->failed_errno = EIO;
		snprintf(w->failed_text, sizeof(w->failed_text),
		         "short write: %" PRId64 " of %zu bytes", value, expected);
	} else {
		w->failed_errno = error;
		snprintf(w->failed_text, sizeof(w->failed_text), "%s", text);
	}
}

int write_window_take_failure(struct write_window *w, char *text, size_t size)
{
	int error = w->failed_errno;

	if (error != 0)
		snprintf(text, size, "%s (a write sent earlier)", w->failed_text);
	w->failed_errno = 0;
	return error;
}
