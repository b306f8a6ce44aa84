/*
 * status.h - what the daemon is doing, as the operator sees it: the drives and
 * sessions with their throughput, as text lines (in the spirit of OpenAFS
 * `backup status`), as JSON, and as one status file per busy drive (like
 * afbackup's), rewritten atomically every few seconds.
 *
 * The monitor samples every session's byte counts once a second on the event
 * loop, so that throughput is the rate over the last few seconds rather than an
 * average since the start. It only reads state: session_activity(),
 * server_foreach_session() and the drive registry, on the loop thread.
 *
 * Strings in a snapshot point into sessions and drives: a snapshot is valid only
 * until the loop runs again, so take it, format it and drop it.
 */
#ifndef RMTD_STATUS_H
#define RMTD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "backend.h"
#include "counters.h"
#include "session.h"

struct event_base;
struct evbuffer;
struct path_policy;
struct counters;
struct server;
struct drive_registry;

/* Throughput is measured over this many seconds (afbackup reports every 5). */
#define STATUS_RATE_WINDOW      5
#define STATUS_LABEL_MAX        128
#define STATUS_FORMAT_MAX       16
#define STATUS_INTERVAL_DEFAULT 5

/* One session as the operator sees it. */
struct status_session {
	struct session_activity activity;
	struct session *handle;         /* the session itself (this loop turn only) */
	const char *drive;              /* held, or waited for; NULL when none */
	const char *operation;          /* inferred: Dump, Restore, Archive, Write, Rewind, ... */
	const char *state;              /* "[drive wait]", "[abort requested]", ..., "idle" or "" */
	char format[STATUS_FORMAT_MAX]; /* "dump", "tar", ... of the current tape file, or "" */
	char label[STATUS_LABEL_MAX];   /* volume label of the current tape file, or "" */
	uint64_t rate;                  /* bytes per second over the last few seconds */
	bool rate_known;                /* false until two samples exist */
};

/* One drive. */
struct status_drive {
	const char *name;      /* canonical: the device path */
	const char *alias;     /* the declared name (vt0), or NULL */
	const char *cartridge; /* the cartridge loaded, as the catalog knows it, or NULL */
	enum device_kind kind;
	bool declared;
	bool device_open;
	bool abandoned;  /* its session ended while a device call had not returned */
	unsigned holder; /* session id, 0 when free */
	int waiters;
	char status_file[512];           /* "" when no status directory */
	const struct counters *counters; /* persistent totals (counters.h), or NULL */
	struct counters_delta moved;     /* since the daemon started (metrics.h) */
	uint64_t sessions;               /* sessions that took it since the daemon started */
};

struct status_snapshot {
	time_t when;
	struct status_drive *drives;
	size_t drive_count;
	struct status_session *sessions;
	size_t session_count;
	time_t started;            /* when the daemon started */
	uint64_t sessions_started; /* sessions since then */
};

/* ---------------------------------------------------------------- pure helpers */

/* "file", "vtape", "tape". */
const char *status_kind_name(enum device_kind kind);

/*
 * The operation word for an activity: the session's own word, refined by what
 * the current tape file holds (activity->format):
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

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
size_t status_utf8_sequence(const unsigned char *p);

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

/*
 * The file name for a drive's status: the name with every byte outside
 * [A-Za-z0-9._-] turned into '_' (a leading '/' dropped); when anything had to
 * change, "-" and a hash of the real name follow, so two names never share a
 * file. Always ends in ".status". Returns out.
 */
const char *status_file_name(const char *drive_name, char *out, size_t size);

/*
 * Write contents to name inside the directory dir_fd atomically: a temporary
 * file in the same directory, mode 0644 whatever the umask, then rename(2)
 * over the old one (no fsync: readers need whole files, not durable ones).
 * 0 or -errno.
 */
int status_write_file_atomic(int dir_fd, const char *name, struct evbuffer *contents);

/* ---------------------------------------------------------------- the monitor */

struct status_options {
	const char *directory;            /* status files go here; NULL: none */
	int interval;                     /* seconds between rewrites while a drive is busy */
	const struct path_policy *policy; /* declared drives are listed even when unused */
	bool metrics;                     /* keep directory/rmtd.prom (metrics.h) */
};

struct status_monitor;

/* Opens the directory (created if missing) and starts sampling. NULL on error (logged). */
struct status_monitor *status_monitor_create(struct event_base *base, struct server *server,
                                             struct drive_registry *drives,
                                             const struct status_options *options);
void status_monitor_free(struct status_monitor *monitor);

/*
 * Take a snapshot now (the arrays are the monitor's; valid until the next call
 * or until the loop runs). Returns 0 or -ENOMEM.
 */
int status_monitor_snapshot(struct status_monitor *monitor, struct status_snapshot *snapshot);

/* Find a session by id in the server (NULL: none); only for this loop turn. */
struct session *status_monitor_find_session(struct status_monitor *monitor, unsigned id);
/* The snapshot entry of session id (NULL: none); valid like the snapshot. */
const struct status_session *status_snapshot_session(const struct status_snapshot *snapshot,
                                                     unsigned id);

#endif
