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
#include "state_file.h"

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
	char cartridge_name[COUNTERS_NAME_MAX]; /* where cartridge points: a copy */
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

#define STATUS_FILE_SUFFIX ".status"
/* Room for a status file name and its NUL. */
#define STATUS_FILE_NAME_MAX (STATE_NAME_MAX + sizeof(STATUS_FILE_SUFFIX))

/*
 * The file name for a drive's status: the drive's name made safe as its state
 * files' names are (state_safe_name), then ".status". 0, -EINVAL (empty name)
 * or -ENAMETOOLONG (out smaller than STATUS_FILE_NAME_MAX).
 */
int status_file_name(const char *drive_name, char *out, size_t size);

/*
 * Write a drive's status file (status_file_name) with status_write_file_atomic,
 * then remove the file an earlier rmtd kept for that drive under the name it
 * used before (the device path's bytes as '_' and a hash), if there is one.
 * 0 or -errno.
 */
int status_write_drive_file(int dir_fd, const char *drive_name, struct evbuffer *contents);

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
