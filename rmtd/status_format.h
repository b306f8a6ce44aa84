/*
 * status_format.h - the words and forms of the operator's view (status.h's
 * snapshots): text and JSON reports, escaping, status file contents.
 */
#ifndef RMTD_STATUS_FORMAT_H
#define RMTD_STATUS_FORMAT_H

#include <stddef.h>
#include <time.h>

#include "status.h"

struct evbuffer;

/* evbuffer_add_printf that says -ENOMEM, as every formatter here returns. */
int status_printf(struct evbuffer *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "file", "vtape", "tape". */
const char *status_kind_name(enum device_kind kind);

/*
 * The operation word for an activity: the session's own word, refined by what
 * the current tape file holds (label.c's description in activity->content):
 * a Write of a dump is "Dump", a Read of one "Restore", tar/cpio "Archive" and
 * "Extract", backup software "Backup"/"Recover", a bare label "Label"/"Scan".
 */
const char *status_infer_operation(const struct session_activity *activity);

/* Fill the derived fields of entry from entry->activity (operation, state, format, label). */
void status_session_derive(struct status_session *entry);

/*
 * Append s as a JSON string (quotes included): ", \ and control bytes escaped,
 * valid UTF-8 kept, every invalid byte replaced by U+FFFD. Returns 0 or -ENOMEM.
 */
int status_json_string(struct evbuffer *out, const char *s);

/*
 * Escape a client-controlled string for a text line: C-style escapes for
 * backslash, control bytes and bytes >= 0x7f, so it stays one line; an escape
 * is never cut in half. Returns out.
 */
const char *status_text_escape(char *out, size_t size, const char *in);

/*
 * Text: one line per active drive and per session; "Drive is idle" when there
 * is no session. Each line ends with '\n'. Returns 0 or -ENOMEM.
 */
int status_format_text(struct evbuffer *out, const struct status_snapshot *snapshot);
/* One session's line, e.g. "Session 3:  Write:   1520 Kbytes transferred, ...". */
int status_format_session_line(struct evbuffer *out, const struct status_session *session);
/* The whole snapshot as one JSON object on one line, '\n'-terminated. */
int status_format_json(struct evbuffer *out, const struct status_snapshot *snapshot);
/* One session as a JSON object (no newline). */
int status_format_session_json(struct evbuffer *out, const struct status_session *session);
/* The drives alone: text lines, or a JSON object {"drives":[...]}. */
int status_format_drives_text(struct evbuffer *out, const struct status_snapshot *snapshot);
int status_format_drives_json(struct evbuffer *out, const struct status_snapshot *snapshot);

/*
 * The status file of one drive: a summary line ("Drive is idle" when session is
 * NULL) then "key: value" lines. updated is the time stamped in it.
 */
int status_format_drive_file(struct evbuffer *out, const struct status_drive *drive,
                             const struct status_session *session, time_t updated);

#endif
