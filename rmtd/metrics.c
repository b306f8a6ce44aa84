/*
 * metrics.c - a status snapshot as Prometheus text: one family at a time, its
 * HELP and TYPE lines, then one sample per drive (labels escaped).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include <event2/buffer.h>

#include "metrics.h"
#include "status_format.h"
#include "utf8.h"

#ifndef RMTD_VERSION
#define RMTD_VERSION "unknown"
#endif

int metrics_label_value(struct evbuffer *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int rc = 0;

	while (rc == 0 && *p) {
		const unsigned char *run = p;
		size_t n;

		while (*p && *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f &&
		       (n = utf8_sequence(p)) > 0)
			p += n;
		if (p > run)
			rc = evbuffer_add(out, run, (size_t)(p - run));
		if (rc != 0 || *p == '\0')
			break;
		if (*p == '"')
			rc = evbuffer_add(out, "\\\"", 2);
		else if (*p == '\\')
			rc = evbuffer_add(out, "\\\\", 2);
		else if (*p == '\n')
			rc = evbuffer_add(out, "\\n", 2);
		else
			rc = evbuffer_add(out, "\xef\xbf\xbd", 3); /* control byte or not UTF-8 */
		p++;
	}
	return rc == 0 ? 0 : -ENOMEM;
}

const char *metrics_drive_state(const struct status_drive *drive)
{
	if (drive->device_open)
		return "open";
	return drive->holder != 0 ? "held" : "idle";
}

static const char *const drive_states[] = {"idle", "held", "open"};

/* The per-drive families whose sample is one number. */
enum drive_value {
	VALUE_QUEUE,
	VALUE_WRITTEN_BYTES,
	VALUE_READ_BYTES,
	VALUE_WRITTEN_RECORDS,
	VALUE_READ_RECORDS,
	VALUE_WRITTEN_FILEMARKS,
	VALUE_READ_FILEMARKS,
	VALUE_ERRORS,
	VALUE_FULL,
	VALUE_MOUNTS,
	VALUE_SESSIONS,
};

static const struct {
	enum drive_value value;
	const char *name, *type, *help;
} drive_families[] = {
    {VALUE_QUEUE, "rmtd_drive_queue_length", "gauge", "Sessions waiting for the drive."},
    {VALUE_WRITTEN_BYTES, "rmtd_drive_written_bytes_total", "counter",
     "Bytes written to the drive."},
    {VALUE_READ_BYTES, "rmtd_drive_read_bytes_total", "counter", "Bytes read from the drive."},
    {VALUE_WRITTEN_RECORDS, "rmtd_drive_written_records_total", "counter",
     "Records (blocks) written to the drive."},
    {VALUE_READ_RECORDS, "rmtd_drive_read_records_total", "counter",
     "Records (blocks) read from the drive."},
    {VALUE_WRITTEN_FILEMARKS, "rmtd_drive_written_filemarks_total", "counter",
     "Filemarks written on a tape."},
    {VALUE_READ_FILEMARKS, "rmtd_drive_read_filemarks_total", "counter",
     "Filemarks read on a tape (tape files passed)."},
    {VALUE_ERRORS, "rmtd_drive_errors_total", "counter",
     "Device errors (EIO, ENXIO, no medium, wrong medium)."},
    {VALUE_FULL, "rmtd_drive_end_of_medium_total", "counter",
     "Writes that met the end of the medium (ENOSPC)."},
    {VALUE_MOUNTS, "rmtd_drive_mounts_total", "counter", "Opens of the device."},
    {VALUE_SESSIONS, "rmtd_drive_sessions_total", "counter", "Sessions that took the drive."},
};

static uint64_t drive_value(const struct status_drive *d, enum drive_value value)
{
	switch (value) {
	case VALUE_QUEUE:
		return d->waiters > 0 ? (uint64_t)d->waiters : 0;
	case VALUE_WRITTEN_BYTES:
		return d->moved.bytes_written;
	case VALUE_READ_BYTES:
		return d->moved.bytes_read;
	case VALUE_WRITTEN_RECORDS:
		return d->moved.records_written;
	case VALUE_READ_RECORDS:
		return d->moved.records_read;
	case VALUE_WRITTEN_FILEMARKS:
		return d->moved.files_written;
	case VALUE_READ_FILEMARKS:
		return d->moved.files_read;
	case VALUE_ERRORS:
		return d->moved.errors;
	case VALUE_FULL:
		return d->moved.times_full;
	case VALUE_MOUNTS:
		return d->moved.mounts;
	case VALUE_SESSIONS:
		return d->sessions;
	}
	return 0;
}

static int family_header(struct evbuffer *out, const char *name, const char *type, const char *help)
{
	return status_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{drive="...", the closing brace left to the caller (more labels may follow). */
static int sample_start(struct evbuffer *out, const char *name, const struct status_drive *d)
{
	int rc = status_printf(out, "%s{drive=\"", name);

	if (rc == 0)
		rc = metrics_label_value(out, d->name);
	if (rc == 0)
		rc = status_printf(out, "\"");
	return rc;
}

static int add_label(struct evbuffer *out, const char *label, const char *value)
{
	int rc = status_printf(out, ",%s=\"", label);

	if (rc == 0)
		rc = metrics_label_value(out, value);
	if (rc == 0)
		rc = status_printf(out, "\"");
	return rc;
}

/* The volume label of the tape file the drive's session is in, or "". */
static const char *volume_label(const struct status_snapshot *snapshot,
                                const struct status_drive *d)
{
	const struct status_session *s;

	if (d->holder == 0)
		return "";
	s = status_snapshot_session(snapshot, d->holder);
	return s != NULL ? s->label : "";
}

static int format_info(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	int rc = family_header(out, "rmtd_drive_info", "gauge",
	                       "A drive: its kind, declared name, the cartridge loaded and the "
	                       "volume label of the tape file in use (empty when not known).");

	for (size_t i = 0; rc == 0 && i < snapshot->drive_count; i++) {
		const struct status_drive *d = &snapshot->drives[i];

		rc = sample_start(out, "rmtd_drive_info", d);
		if (rc == 0)
			rc = add_label(out, "alias", d->alias);
		if (rc == 0)
			rc = add_label(out, "kind", status_kind_name(d->kind));
		if (rc == 0)
			rc = add_label(out, "declared", d->declared ? "yes" : "no");
		if (rc == 0)
			rc = add_label(out, "cartridge", d->cartridge);
		if (rc == 0)
			rc = add_label(out, "label", volume_label(snapshot, d));
		if (rc == 0)
			rc = status_printf(out, "} 1\n");
	}
	return rc;
}

static int format_states(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	int rc = family_header(out, "rmtd_drive_state", "gauge",
	                       "1 for the drive's state: idle (free), held (a session has it, "
	                       "the device is not open) or open.");

	for (size_t i = 0; rc == 0 && i < snapshot->drive_count; i++) {
		const struct status_drive *d = &snapshot->drives[i];
		const char *state = metrics_drive_state(d);

		for (size_t j = 0; rc == 0 && j < sizeof(drive_states) / sizeof(drive_states[0]);
		     j++) {
			rc = sample_start(out, "rmtd_drive_state", d);
			if (rc == 0)
				rc = add_label(out, "state", drive_states[j]);
			if (rc == 0)
				rc = status_printf(out, "} %d\n",
				                   strcmp(state, drive_states[j]) == 0);
		}
	}
	return rc;
}

int metrics_format(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	int rc = family_header(out, "rmtd_build_info", "gauge", "rmtd's version.");

	if (rc == 0)
		rc = status_printf(out, "rmtd_build_info{version=\"%s\"} 1\n", RMTD_VERSION);
	if (rc == 0)
		rc = family_header(out, "rmtd_start_time_seconds", "gauge",
		                   "When rmtd started, in seconds since the epoch; counters count "
		                   "from then.");
	if (rc == 0)
		rc = status_printf(out, "rmtd_start_time_seconds %lld\n",
		                   (long long)snapshot->started);
	if (rc == 0)
		rc = family_header(out, "rmtd_sessions", "gauge", "Sessions connected now.");
	if (rc == 0)
		rc = status_printf(out, "rmtd_sessions %zu\n", snapshot->session_count);
	if (rc == 0)
		rc = family_header(out, "rmtd_sessions_total", "counter",
		                   "Sessions since rmtd started.");
	if (rc == 0)
		rc = status_printf(out, "rmtd_sessions_total %" PRIu64 "\n",
		                   snapshot->sessions_started);
	if (rc == 0)
		rc = format_info(out, snapshot);
	if (rc == 0)
		rc = format_states(out, snapshot);
	for (size_t f = 0; rc == 0 && f < sizeof(drive_families) / sizeof(drive_families[0]); f++) {
		rc = family_header(out, drive_families[f].name, drive_families[f].type,
		                   drive_families[f].help);
		for (size_t i = 0; rc == 0 && i < snapshot->drive_count; i++) {
			const struct status_drive *d = &snapshot->drives[i];

			rc = sample_start(out, drive_families[f].name, d);
			if (rc == 0)
				rc = status_printf(out, "} %" PRIu64 "\n",
				                   drive_value(d, drive_families[f].value));
		}
	}
	return rc;
}
