/*
 * status.c - the operator's view of drives and sessions: snapshots with
 * throughput and per-drive status files (their forms are status_format.c's).
 *
 * Everything here runs on the event loop thread, which is also where sessions
 * and drives change, so a snapshot is consistent without locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "catalog.h"
#include "clock.h"
#include "counters.h"
#include "drive.h"
#include "escape.h"
#include "server.h"
#include "log.h"
#include "metrics.h"
#include "path.h"
#include "library_runtime.h"
#include "status.h"
#include "state_file.h"
#include "status_format.h"

int status_file_name(const char *drive_name, char *out, size_t size)
{
	char stem[STATE_NAME_MAX + 1];
	int error;

	if ((error = state_safe_name(drive_name, stem, sizeof(stem))) < 0)
		return error;
	if ((size_t)snprintf(out, size, "%s%s", stem, STATUS_FILE_SUFFIX) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The name earlier versions gave a drive's status file: every byte outside
 * [A-Za-z0-9._-] as '_', a leading '/' dropped and, when anything changed,
 * "-" and a 32-bit FNV-1a hash of the name. Kept only so that an upgraded
 * daemon removes the file it left under that name, which readers would
 * otherwise take for a drive that never changes. Empty when out is too small.
 */
static void legacy_status_file_name(const char *drive_name, char *out, size_t size)
{
	const size_t tail = 1 + 8 + sizeof(STATUS_FILE_SUFFIX);
	const char *p = drive_name;
	bool changed = false;
	size_t used = 0;
	uint32_t hash = 2166136261u;

	out[0] = '\0';
	if (size < tail + 1)
		return;
	for (const unsigned char *q = (const unsigned char *)drive_name; *q; q++)
		hash = (hash ^ *q) * 16777619u;
	if (*p == '/')
		p++, changed = true;
	for (; *p; p++) {
		char c = *p;
		bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';

		if (!safe || (used == 0 && c == '.')) {
			c = '_';
			changed = true;
		}
		if (used + tail >= size || used >= 200) {
			changed = true;
			break;
		}
		out[used++] = c;
	}
	if (used == 0)
		out[used++] = '_', changed = true;
	if (changed)
		used += (size_t)snprintf(out + used, size - used, "-%08x", hash);
	snprintf(out + used, size - used, "%s", STATUS_FILE_SUFFIX);
}

struct drain {
	struct evbuffer *contents;
};

static int fill_from_buffer(int fd, const void *arg)
{
	const struct drain *drain = arg;

	while (evbuffer_get_length(drain->contents) > 0) {
		if (evbuffer_write(drain->contents, fd) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

int status_write_file_atomic(int dir_fd, const char *name, struct evbuffer *contents)
{
	char temporary[NAME_MAX + 1];
	/* Readable by the collector's user too, whatever umask rmtd was started with. */
	struct state_replace how = {
	    .temporary = temporary, .create_mode = 0644, .set_mode = true, .mode = 0644};
	struct drain drain = {contents};

	if ((size_t)snprintf(temporary, sizeof(temporary), ".%s.tmp", name) >= sizeof(temporary))
		return -ENAMETOOLONG;
	return state_replace_at(dir_fd, name, &how, fill_from_buffer, &drain);
}

int status_write_drive_file(int dir_fd, const char *drive_name, struct evbuffer *contents)
{
	char name[STATUS_FILE_NAME_MAX], legacy[STATUS_FILE_NAME_MAX];
	int error;

	if ((error = status_file_name(drive_name, name, sizeof(name))) < 0)
		return error;
	if ((error = status_write_file_atomic(dir_fd, name, contents)) < 0)
		return error;
	legacy_status_file_name(drive_name, legacy, sizeof(legacy));
	if (legacy[0] != '\0' && strcmp(legacy, name) != 0 && unlinkat(dir_fd, legacy, 0) == 0)
		log_info("status file %s replaced by %s (a drive's status file is named as its "
		         "state files are)",
		         legacy, name);
	return 0;
}

/* ---------------------------------------------------------------- the monitor */

struct rate_sample {
	int64_t ms;
	uint64_t bytes;
};

/* Byte counts of one session over the last few seconds, a ring. */
struct rate_track {
	unsigned id;
	bool seen;
	int count, next;
	struct rate_sample samples[STATUS_RATE_WINDOW + 1];
};

/* A drive whose status file says "busy", so it must be told when it goes idle. */
struct busy_file {
	struct status_drive drive; /* name and alias point to the copies below */
	char drive_name[PATH_MAX];
	char alias[64];
	bool seen;
};

/* A drive the administrator declared, listed even before its first use. */
struct declared {
	char alias[64];
	char device[PATH_MAX];
	enum device_kind kind;
	bool listed; /* seen in the registry during this snapshot */
};

struct status_monitor {
	struct event_base *base;
	struct server *server;
	struct drive_registry *drives;
	struct event *tick;
	unsigned ticks;
	int interval;
	int dir_fd;   /* -1: no status files */
	bool metrics; /* rmtd.prom too */
	char directory[256];

	struct rate_track *tracks; /* sorted by id */
	size_t track_count, track_capacity;

	struct busy_file *busy;
	size_t busy_count, busy_capacity;

	struct declared *declared;
	size_t declared_count;

	struct status_drive *drive_array;
	size_t drive_capacity;
	struct status_session *session_array;
	size_t session_capacity, session_fill;
	bool session_overflow;

	time_t started;
	/* rmtd.prom: what it said when last written, to see what changed since. */
	bool metrics_written, metrics_failed;
	uint64_t metrics_state, metrics_moved;
	unsigned metrics_tick;
};

static struct rate_track *track_find(struct status_monitor *m, unsigned id, bool create)
{
	size_t low = 0, high = m->track_count;

	while (low < high) {
		size_t middle = low + (high - low) / 2;

		if (m->tracks[middle].id == id)
			return &m->tracks[middle];
		if (m->tracks[middle].id < id)
			low = middle + 1;
		else
			high = middle;
	}
	if (!create)
		return NULL;
	if (m->track_count == m->track_capacity) {
		size_t capacity = m->track_capacity ? m->track_capacity * 2 : 16;
		struct rate_track *grown = reallocarray(m->tracks, capacity, sizeof(*grown));

		if (grown == NULL)
			return NULL;
		m->tracks = grown;
		m->track_capacity = capacity;
	}
	memmove(&m->tracks[low + 1], &m->tracks[low], (m->track_count - low) * sizeof(*m->tracks));
	m->track_count++;
	memset(&m->tracks[low], 0, sizeof(m->tracks[low]));
	m->tracks[low].id = id;
	return &m->tracks[low];
}

/* Rate from the oldest sample still inside the window to now. */
static void track_rate(const struct rate_track *t, uint64_t bytes, int64_t now, uint64_t *rate,
                       bool *known)
{
	const int slots = STATUS_RATE_WINDOW + 1;
	const struct rate_sample *oldest = NULL;

	*rate = 0;
	*known = false;
	if (t == NULL)
		return;
	for (int i = 0; i < t->count; i++) {
		const struct rate_sample *s = &t->samples[(t->next - t->count + i + slots) % slots];

		if (now - s->ms <= STATUS_RATE_WINDOW * 1000 + 500) {
			oldest = s;
			break;
		}
	}
	if (oldest == NULL || now - oldest->ms < 500 || bytes < oldest->bytes)
		return;
	*rate = (bytes - oldest->bytes) * 1000 / (uint64_t)(now - oldest->ms);
	*known = true;
}

static void track_add(struct rate_track *t, int64_t now, uint64_t bytes)
{
	const int slots = STATUS_RATE_WINDOW + 1;

	t->samples[t->next].ms = now;
	t->samples[t->next].bytes = bytes;
	t->next = (t->next + 1) % slots;
	if (t->count < slots)
		t->count++;
	t->seen = true;
}

static void collect_session(struct session *session, void *arg)
{
	struct status_monitor *m = arg;
	struct status_session *entry;

	if (m->session_fill == m->session_capacity) {
		size_t capacity = m->session_capacity ? m->session_capacity * 2 : 16;
		struct status_session *grown =
		    reallocarray(m->session_array, capacity, sizeof(*grown));

		if (grown == NULL) {
			m->session_overflow = true;
			return;
		}
		m->session_array = grown;
		m->session_capacity = capacity;
	}
	entry = &m->session_array[m->session_fill++];
	memset(entry, 0, sizeof(*entry));
	session_activity(session, &entry->activity);
	entry->handle = session;
}

static void monitor_status_file(const struct status_monitor *m, struct status_drive *drive)
{
	char file[STATUS_FILE_NAME_MAX];

	if (m->dir_fd < 0 ||
	    status_file_name(drive->alias ? drive->alias : drive->name, file, sizeof(file)) < 0)
		return;
	snprintf(drive->status_file, sizeof(drive->status_file), "%s/%s", m->directory, file);
}

int status_monitor_snapshot(struct status_monitor *m, struct status_snapshot *snapshot)
{
	struct drive *drive;
	size_t drive_count = 0;
	int64_t now = clock_monotonic_ms();

	memset(snapshot, 0, sizeof(*snapshot));
	snapshot->when = time(NULL);
	TAILQ_FOREACH (drive, &m->drives->drives, entry)
		drive_count++;
	drive_count += m->declared_count;
	if (drive_count > m->drive_capacity) {
		struct status_drive *grown =
		    reallocarray(m->drive_array, drive_count, sizeof(*grown));

		if (grown == NULL)
			return -ENOMEM;
		m->drive_array = grown;
		m->drive_capacity = drive_count;
	}
	m->session_fill = 0;
	m->session_overflow = false;
	server_foreach_session(m->server, collect_session, m);
	if (m->session_overflow)
		return -ENOMEM;

	for (size_t i = 0; i < m->session_fill; i++) {
		struct status_session *s = &m->session_array[i];
		const struct session_activity *a = &s->activity;

		s->drive = a->drive;
		track_rate(track_find(m, a->id, false), a->bytes_written + a->bytes_read, now,
		           &s->rate, &s->rate_known);
		status_session_derive(s);
	}

	size_t d = 0;
	for (size_t i = 0; i < m->declared_count; i++)
		m->declared[i].listed = false;
	TAILQ_FOREACH (drive, &m->drives->drives, entry) {
		struct status_drive *out = &m->drive_array[d++];
		struct drive_waiter *waiter;
		struct drive_view view;

		/* Read through the view: the drive's thread may be serving its holder. */
		drive_view(drive, &view);
		memset(out, 0, sizeof(*out));
		out->name = drive->name;
		out->kind = drive->kind;
		out->declared = drive->declared;
		out->device_open = view.device_open;
		out->abandoned = drive->abandoned && drive->holder != NULL;
		out->waiters = drive->waiter_count;
		out->moved = view.moved;
		out->sessions = drive->sessions;
		if (view.cartridge[0] != '\0') {
			strlcpy(out->cartridge_name, view.cartridge, sizeof(out->cartridge_name));
			out->cartridge = out->cartridge_name;
		}
		for (size_t i = 0; i < m->declared_count; i++) {
			if (strcmp(m->declared[i].device, drive->name) == 0) {
				out->alias = m->declared[i].alias;
				out->declared = true;
				m->declared[i].listed = true;
			}
		}
		monitor_status_file(m, out);
		for (size_t i = 0; i < m->session_fill; i++) {
			struct status_session *s = &m->session_array[i];

			if (drive->holder != NULL && s->handle == drive->holder)
				out->holder = s->activity.id;
			/* A waiting session holds no drive yet: name the one it waits for. */
			TAILQ_FOREACH (waiter, &drive->waiters, entry)
				if (waiter->holder == s->handle && s->drive == NULL)
					s->drive = drive->name;
		}
	}
	for (size_t i = 0; i < m->declared_count; i++) {
		struct status_drive *out;

		if (m->declared[i].listed)
			continue;
		out = &m->drive_array[d++];
		memset(out, 0, sizeof(*out));
		out->name = m->declared[i].device;
		out->alias = m->declared[i].alias;
		out->kind = m->declared[i].kind;
		out->declared = true;
		monitor_status_file(m, out);
	}
	snapshot->drives = m->drive_array;
	snapshot->drive_count = d;
	snapshot->sessions = m->session_array;
	snapshot->session_count = m->session_fill;
	snapshot->started = m->started;
	snapshot->sessions_started = session_started_count();
	return 0;
}

struct session *status_monitor_find_session(struct status_monitor *m, unsigned id)
{
	struct status_snapshot snapshot;

	if (status_monitor_snapshot(m, &snapshot) < 0)
		return NULL;
	for (size_t i = 0; i < snapshot.session_count; i++)
		if (snapshot.sessions[i].activity.id == id)
			return (struct session *)snapshot.sessions[i].handle;
	return NULL;
}

const struct status_session *status_snapshot_session(const struct status_snapshot *snapshot,
                                                     unsigned id)
{
	for (size_t i = 0; i < snapshot->session_count; i++)
		if (snapshot->sessions[i].activity.id == id)
			return &snapshot->sessions[i];
	return NULL;
}

static void sample_rates(struct status_monitor *m, const struct status_snapshot *snapshot)
{
	int64_t now = clock_monotonic_ms();
	size_t kept = 0;

	for (size_t i = 0; i < m->track_count; i++)
		m->tracks[i].seen = false;
	for (size_t i = 0; i < snapshot->session_count; i++) {
		const struct session_activity *a = &snapshot->sessions[i].activity;
		struct rate_track *t = track_find(m, a->id, true);

		if (t != NULL)
			track_add(t, now, a->bytes_written + a->bytes_read);
	}
	/* Forget sessions that have ended. */
	for (size_t i = 0; i < m->track_count; i++)
		if (m->tracks[i].seen)
			m->tracks[kept++] = m->tracks[i];
	m->track_count = kept;
}

static struct busy_file *busy_find(struct status_monitor *m, const char *drive_name)
{
	for (size_t i = 0; i < m->busy_count; i++)
		if (strcmp(m->busy[i].drive_name, drive_name) == 0)
			return &m->busy[i];
	return NULL;
}

static void write_drive_file(struct status_monitor *m, const struct status_drive *drive,
                             const struct status_session *session, time_t now)
{
	struct evbuffer *contents = evbuffer_new();
	const char *name = drive->alias ? drive->alias : drive->name;
	int error;

	if (contents == NULL)
		return;
	if (status_format_drive_file(contents, drive, session, now) == 0) {
		error = status_write_drive_file(m->dir_fd, name, contents);
		if (error < 0)
			log_warnx("status file of %s in %s: %s", name, m->directory,
			          strerror(-error));
	}
	evbuffer_free(contents);
}

static void write_status_files(struct status_monitor *m, const struct status_snapshot *snapshot,
                               bool rewrite_busy)
{
	size_t kept = 0;

	for (size_t i = 0; i < m->busy_count; i++)
		m->busy[i].seen = false;
	for (size_t i = 0; i < snapshot->drive_count; i++) {
		const struct status_drive *d = &snapshot->drives[i];
		const struct status_session *holder = NULL;
		struct busy_file *b;
		bool busy = d->holder != 0 || d->waiters > 0;

		if (!busy)
			continue;
		for (size_t j = 0; j < snapshot->session_count; j++)
			if (snapshot->sessions[j].activity.id == d->holder)
				holder = &snapshot->sessions[j];
		b = busy_find(m, d->name);
		if (b == NULL && m->busy_count == m->busy_capacity) {
			size_t capacity = m->busy_capacity ? m->busy_capacity * 2 : 8;
			struct busy_file *grown = reallocarray(m->busy, capacity, sizeof(*grown));

			if (grown == NULL)
				continue;
			m->busy = grown;
			m->busy_capacity = capacity;
		}
		if (b == NULL) {
			/* Newly busy: write at once, not at the next interval. */
			b = &m->busy[m->busy_count++];
			memset(b, 0, sizeof(*b));
			strlcpy(b->drive_name, d->name, sizeof(b->drive_name));
			strlcpy(b->alias, d->alias ? d->alias : "", sizeof(b->alias));
			b->drive = *d;
			b->drive.name = b->drive_name;
			b->drive.alias = d->alias ? b->alias : NULL;
			b->drive.cartridge = d->cartridge ? b->drive.cartridge_name : NULL;
			write_drive_file(m, d, holder, snapshot->when);
		} else if (rewrite_busy || b->drive.holder != d->holder ||
		           b->drive.waiters != d->waiters) {
			/* As afbackup does, a change of state is written at once. */
			write_drive_file(m, d, holder, snapshot->when);
		}
		b->seen = true;
		b->drive.kind = d->kind;
		b->drive.holder = d->holder;
		b->drive.waiters = d->waiters;
	}
	/* Drives that were busy and are not any more: say so once. */
	for (size_t i = 0; i < m->busy_count; i++) {
		struct busy_file *b = &m->busy[i];

		if (!b->seen) {
			b->drive.holder = 0;
			b->drive.waiters = 0;
			b->drive.device_open = false;
			write_drive_file(m, &b->drive, NULL, snapshot->when);
			continue;
		}
		if (kept != i) {
			m->busy[kept] = *b;
			m->busy[kept].drive.name = m->busy[kept].drive_name;
			if (m->busy[kept].drive.alias != NULL)
				m->busy[kept].drive.alias = m->busy[kept].alias;
		}
		kept++;
	}
	m->busy_count = kept;
}

static uint64_t fnv_mix(uint64_t hash, const void *data, size_t length)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < length; i++)
		hash = (hash ^ p[i]) * 1099511628211ull;
	return hash;
}

static uint64_t fnv_string(uint64_t hash, const char *s)
{
	return fnv_mix(hash, s ? s : "", s ? strlen(s) + 1 : 1);
}

/*
 * rmtd.prom is rewritten at once when a drive's state, queue, cartridge or
 * label changes or a session comes or goes, and while data moves at most every
 * interval seconds: a scrape sees a change of state without a rewrite per record.
 */
static void write_metrics_file(struct status_monitor *m, const struct status_snapshot *snapshot)
{
	uint64_t state = fnv_mix(14695981039346656037ull, &snapshot->session_count,
	                         sizeof(snapshot->session_count));
	uint64_t moved = snapshot->sessions_started;
	struct evbuffer *contents;
	int error;

	if (!m->metrics)
		return;
	for (size_t i = 0; i < snapshot->drive_count; i++) {
		const struct status_drive *d = &snapshot->drives[i];
		const struct status_session *holder =
		    d->holder ? status_snapshot_session(snapshot, d->holder) : NULL;
		const struct counters_delta *t = &d->moved;

		state = fnv_string(state, d->name);
		state = fnv_string(state, metrics_drive_state(d));
		state = fnv_mix(state, &d->waiters, sizeof(d->waiters));
		state = fnv_string(state, d->cartridge);
		state = fnv_string(state, holder ? holder->label : NULL);
		moved += t->bytes_written + t->bytes_read + t->records_written + t->records_read +
		         t->files_written + t->files_read + t->times_full + t->errors + t->mounts;
	}
	if (m->metrics_written && state == m->metrics_state &&
	    (moved == m->metrics_moved || m->ticks - m->metrics_tick < (unsigned)m->interval))
		return;
	contents = evbuffer_new();
	if (contents == NULL)
		return;
	error = metrics_format(contents, snapshot) < 0
	            ? -ENOMEM
	            : status_write_file_atomic(m->dir_fd, METRICS_FILE_NAME, contents);
	evbuffer_free(contents);
	if (error < 0) {
		/* Tried again next second; said once. */
		if (!m->metrics_failed)
			log_warnx("metrics file %s/%s: %s", m->directory, METRICS_FILE_NAME,
			          strerror(-error));
		m->metrics_failed = true;
		return;
	}
	m->metrics_failed = false;
	m->metrics_written = true;
	m->metrics_state = state;
	m->metrics_moved = moved;
	m->metrics_tick = m->ticks;
}

static void monitor_tick(evutil_socket_t fd, short what, void *arg)
{
	struct status_monitor *m = arg;
	struct status_snapshot snapshot;

	m->ticks++;
	if (status_monitor_snapshot(m, &snapshot) < 0)
		return;
	sample_rates(m, &snapshot);
	if (m->dir_fd >= 0) {
		write_status_files(m, &snapshot, m->ticks % (unsigned)m->interval == 0);
		write_metrics_file(m, &snapshot);
	}
}

/* Declared drives have a status file from the start, saying they are idle; so has rmtd.prom. */
static void write_declared_idle(struct status_monitor *m)
{
	struct status_snapshot snapshot;

	if (m->dir_fd < 0 || status_monitor_snapshot(m, &snapshot) < 0)
		return;
	write_metrics_file(m, &snapshot);
	for (size_t i = 0; i < snapshot.drive_count; i++)
		if (snapshot.drives[i].declared && snapshot.drives[i].holder == 0 &&
		    snapshot.drives[i].waiters == 0)
			write_drive_file(m, &snapshot.drives[i], NULL, snapshot.when);
}

static int load_declared(struct status_monitor *m, const struct path_policy *policy)
{
	if (policy == NULL || policy->drive_count <= 0)
		return 0;
	m->declared = calloc((size_t)policy->drive_count, sizeof(*m->declared));
	if (m->declared == NULL)
		return -ENOMEM;
	for (int i = 0; i < policy->drive_count; i++) {
		struct declared *d = &m->declared[m->declared_count];
		struct resolved_path *resolved = calloc(1, sizeof(*resolved));
		const char *reason;

		if (resolved == NULL)
			return -ENOMEM;
		/* Lexical only: the canonical name and kind the drive will have in the registry. */
		if (path_resolve(policy, policy->drives[i].name, O_RDONLY, resolved, &reason) ==
		    0) {
			strlcpy(d->alias, policy->drives[i].name, sizeof(d->alias));
			strlcpy(d->device, resolved->canonical, sizeof(d->device));
			d->kind = resolved->kind;
			m->declared_count++;
		}
		free(resolved);
	}
	return 0;
}

struct status_monitor *status_monitor_create(struct event_base *base, struct server *server,
                                             struct drive_registry *drives,
                                             const struct status_options *options)
{
	struct status_monitor *m = calloc(1, sizeof(*m));
	static const struct timeval second = {1, 0};

	if (m == NULL)
		return NULL;
	m->base = base;
	m->server = server;
	m->drives = drives;
	m->dir_fd = -1;
	m->started = time(NULL);
	m->metrics = options->metrics;
	m->interval = options->interval > 0 ? options->interval : STATUS_INTERVAL_DEFAULT;
	if (options->directory != NULL) {
		if (strlen(options->directory) >= sizeof(m->directory)) {
			log_warnx("status directory %s: name too long", options->directory);
			free(m);
			return NULL;
		}
		strlcpy(m->directory, options->directory, sizeof(m->directory));
		if (mkdir(options->directory, 0755) < 0 && errno != EEXIST) {
			log_warn("status directory %s", options->directory);
			free(m);
			return NULL;
		}
		m->dir_fd = open(options->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (m->dir_fd < 0) {
			log_warn("status directory %s", options->directory);
			free(m);
			return NULL;
		}
	}
	if (load_declared(m, options->policy) < 0) {
		status_monitor_free(m);
		return NULL;
	}
	m->tick = event_new(base, -1, EV_PERSIST, monitor_tick, m);
	if (m->tick == NULL || event_add(m->tick, &second) < 0) {
		status_monitor_free(m);
		return NULL;
	}
	write_declared_idle(m);
	return m;
}

void status_monitor_free(struct status_monitor *m)
{
	if (m == NULL)
		return;
	if (m->tick != NULL)
		event_free(m->tick);
	/* A daemon that is gone has no drives to report: the collector drops its series. */
	if (m->dir_fd >= 0 && m->metrics_written)
		unlinkat(m->dir_fd, METRICS_FILE_NAME, 0);
	if (m->dir_fd >= 0)
		close(m->dir_fd);
	free(m->tracks);
	free(m->busy);
	free(m->declared);
	free(m->drive_array);
	free(m->session_array);
	free(m);
}
