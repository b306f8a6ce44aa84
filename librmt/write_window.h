/*
 * write_window.h - librmt's window of W requests in flight (RMT_PIPELINE=1).
 *
 * Pure bookkeeping; client.c does the I/O. A write is sent and reported done
 * at once; its reply is matched later, in order. The first failure is kept
 * until the caller's next write, tape operation or close; the server (which
 * agreed to it with I-2) discards the writes sent after it. The window is
 * bounded in records and bytes, and stays short of early warning (I-3) so
 * that end of medium is met one record at a time.
 */
#ifndef LIBRMT_WRITE_WINDOW_H
#define LIBRMT_WRITE_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WRITE_WINDOW_RECORDS 256
#define WRITE_WINDOW_BYTES   (32u * 1024 * 1024)
/* What a record costs on a medium beyond its bytes, at most (a virtual tape: 8). */
#define WRITE_WINDOW_RECORD_OVERHEAD 64

struct write_window {
	unsigned int max_records;
	size_t max_bytes;
	unsigned int count, head;
	size_t bytes;
	size_t *sizes;     /* ring of max_records */
	int64_t room_left; /* bytes surely left before early warning; -1 no limit */
	bool near_end;     /* one record at a time until the next open */
	bool rearm;        /* a failure was reported: ask the server to stop discarding */
	bool burst;        /* replies after a failure are the server's discards */
	int failed_errno;  /* not yet reported, 0 none */
	char failed_text[160];
	uint64_t discarded;
};

/* What RMT_PIPELINE_WINDOW and rmt-connect's --window may ask for at most. */
#define WRITE_WINDOW_RECORDS_MAX 65536
#define WRITE_WINDOW_BYTES_MAX   ((int64_t)1 << 32)

/*
 * "RECORDS[,BYTES]" (each a strict decimal from 1 to its maximum) into records
 * and, when given, bytes; false, and nothing changed, when malformed. Shared with
 * rmt-connect's --window.
 */
bool write_window_parse_limits(const char *text, unsigned int *records, size_t *bytes);

/* From $RMT_PIPELINE_WINDOW ("RECORDS[,BYTES]") or the defaults. NULL: no memory. */
struct write_window *write_window_new(void);
void write_window_free(struct write_window *w);

/* May a record of count bytes be sent now without waiting for a reply? */
bool write_window_has_room(const struct write_window *w, size_t count);

/* Does it surely end before early warning, after all those in flight? */
bool write_window_before_early_warning(const struct write_window *w, size_t count);

void write_window_push(struct write_window *w, size_t count);

/* The oldest write's reply: ok with value, or the errno and text of an E. */
void write_window_reply(struct write_window *w, bool ok, int64_t value, int error,
                        const char *text);

/* The failure not yet reported (its text into text), taken; 0 when none. */
int write_window_take_failure(struct write_window *w, char *text, size_t size);

#endif
