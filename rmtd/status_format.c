/*
 * status_format.c - the words and forms of the operator's view: drive kinds,
 * inferred operations, escaping for text and JSON, the text and JSON reports
 * of a snapshot and the contents of a drive's status file. Pure formatting:
 * nothing here looks at live sessions or writes files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "escape.h"
#include "status.h"
#include "json_bytes.h"
#include "library_runtime.h"
#include "status_format.h"
/* ---------------------------------------------------------------- words */

const char *status_kind_name(enum device_kind kind)
{
	switch (kind) {
	case DEVICE_KIND_TAPE:
		return "tape";
	case DEVICE_KIND_VTAPE:
		return "vtape";
	case DEVICE_KIND_FILE:
	default:
		return "file";
	}
}

/* What a file of this format means, in the words label.c's label_operation() uses. */
static const struct {
	const char *format;
	const char *writing, *reading;
} content_operations[] = {
    {"dump", "Dump", "Restore"},         {"tar", "Archive", "Extract"},
    {"cpio", "Archive", "Extract"},      {"amanda", "Backup", "Recover"},
    {"bacula", "Backup", "Recover"},     {"afbackup", "Backup", "Recover"},
    {"aix-backup", "Backup", "Recover"}, {"ansi", "Label", "Scan"},
};

/* The words that mean data moving: the session's own and label_operation()'s. */
static int direction_of(const char *operation)
{
	static const char *const writing[] = {"Write", "Dump", "Archive", "Backup", "Label"};
	static const char *const reading[] = {"Read", "Restore", "Extract", "Recover", "Scan"};

	for (size_t i = 0; i < sizeof(writing) / sizeof(writing[0]); i++)
		if (strcmp(operation, writing[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(reading) / sizeof(reading[0]); i++)
		if (strcmp(operation, reading[i]) == 0)
			return -1;
	return 0;
}

const char *status_infer_operation(const struct session_activity *activity)
{
	const char *operation = activity->operation ? activity->operation : "idle";
	int direction = direction_of(operation);

	/* Waiting for a drive is the open that asked for it; the state says it waits. */
	if (strcmp(operation, "Drive wait") == 0)
		return "Open";
	if (direction == 0 || activity->format == NULL)
		return operation;
	for (size_t i = 0; i < sizeof(content_operations) / sizeof(content_operations[0]); i++)
		if (strcmp(activity->format, content_operations[i].format) == 0)
			return direction > 0 ? content_operations[i].writing
			                     : content_operations[i].reading;
	return direction > 0 ? "Write" : "Read";
}

void status_session_derive(struct status_session *entry)
{
	const struct session_activity *a = &entry->activity;

	entry->operation = status_infer_operation(a);
	if (a->state != NULL && a->state[0] != '\0')
		entry->state = a->state;
	else if (a->operation == NULL || strcmp(a->operation, "idle") == 0)
		entry->state = "idle";
	else
		entry->state = "";
	strlcpy(entry->format, a->format != NULL ? a->format : "", sizeof(entry->format));
	/* Shown as label.c shows it in the description: escaped. */
	escape_text(entry->label, sizeof(entry->label), a->label);
}

/* ---------------------------------------------------------------- escaping */

/* keep_backslash: the text is label.c's, already escaped; do not double its escapes. */
static const char *text_escape(char *out, size_t size, const char *in, bool keep_backslash)
{
	if (in == NULL)
		in = "";
	return escape_bytes(out, size, in, strlen(in), keep_backslash ? ESCAPE_KEEP_BACKSLASH : 0);
}

const char *status_text_escape(char *out, size_t size, const char *in)
{
	return text_escape(out, size, in, false);
}

static int emit_to_buffer(const char *piece, size_t length, void *arg)
{
	return evbuffer_add(arg, piece, length) == 0 ? 0 : -1;
}

/* value (NULL: out of memory) on out as compact JSON; consumes value. */
static int json_to_buffer(struct evbuffer *out, json_t *value)
{
	int rc;

	if (value == NULL)
		return -ENOMEM;
	rc = json_dump_callback(value, emit_to_buffer, out,
	                        JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(value);
	return rc == 0 ? 0 : -ENOMEM;
}

int status_json_string(struct evbuffer *out, const char *s)
{
	return json_to_buffer(out, json_text(s != NULL ? s : ""));
}

/* ---------------------------------------------------------------- text */

#define ESCAPED_MAX 1024

int status_printf(struct evbuffer *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	return n < 0 ? -ENOMEM : 0;
}

int status_format_session_line(struct evbuffer *out, const struct status_session *s)
{
	const struct session_activity *a = &s->activity;
	char peer[ESCAPED_MAX], identity[ESCAPED_MAX], drive[ESCAPED_MAX], label[ESCAPED_MAX];
	uint64_t bytes = a->bytes_written + a->bytes_read;
	uint64_t records = a->records_written + a->records_read;
	bool waiting =
	    strcmp(s->state, "[drive wait]") == 0 || strcmp(s->state, "[operator wait]") == 0;
	int rc;

	status_text_escape(peer, sizeof(peer), a->peer);
	status_text_escape(identity, sizeof(identity), a->identity);
	/* As in `backup status`: "<id>:  <operation>:   <progress or what it waits for>". */
	if (strcmp(s->state, "idle") == 0 && s->drive == NULL)
		return status_printf(out, "Session %u:  idle;  %s from %s", a->id, identity, peer);
	if (waiting)
		rc = status_printf(out, "Session %u:  %s:   %s", a->id, s->operation, s->state);
	else
		rc = status_printf(
		    out, "Session %u:  %s:   %" PRIu64 " Kbytes transferred, %" PRIu64 " records",
		    a->id, s->operation, bytes / 1024, records);
	if (rc == 0 && s->rate_known && !waiting)
		rc = status_printf(out, ", %" PRIu64 " KB/s", s->rate / 1024);
	/* The label is label.c's already escaped text; escaping again keeps it one line. */
	if (rc == 0 && s->label[0] != '\0')
		rc = status_printf(out, ",  volume %s",
		                   text_escape(label, sizeof(label), s->label, true));
	if (rc == 0 && a->file_number >= 0 && s->drive != NULL)
		rc = status_printf(out, ", file %d", a->file_number);
	if (rc == 0 && s->drive != NULL)
		rc = status_printf(out, ";  drive %s",
		                   status_text_escape(drive, sizeof(drive), s->drive));
	if (rc == 0)
		rc = status_printf(out, ";  %s from %s", identity, peer);
	if (rc == 0 && s->state[0] != '\0' && strcmp(s->state, "idle") != 0 && !waiting)
		rc = status_printf(out, "  %s", s->state);
	else if (rc == 0 && strcmp(s->state, "idle") == 0 && s->drive != NULL)
		rc = status_printf(out, "  idle");
	return rc;
}

static const char *format_display_time(time_t when, char *out, size_t size);

/* The drive's totals since it was first used, when the state directory keeps them. */
static int format_counters_text(struct evbuffer *out, const struct counters *c)
{
	const struct counters_delta *t = &c->totals;
	char when[64];

	if (c->first_use == 0)
		return 0;
	return status_printf(
	    out,
	    ";  in all %" PRIu64 " Kbytes written, %" PRIu64 " Kbytes read, %" PRIu64
	    " files written, %" PRIu64 " mounts, %" PRIu64 " errors, last used %s",
	    t->bytes_written / 1024, t->bytes_read / 1024, t->files_written, t->mounts, t->errors,
	    format_display_time(c->last_use, when, sizeof(when)));
}

static int format_drive_line(struct evbuffer *out, const struct status_drive *d)
{
	char name[ESCAPED_MAX], barcode[LIBRARY_BARCODE_MAX + 1];
	int rc, slot;

	if (d->alias != NULL) {
		char alias[ESCAPED_MAX];

		rc = status_printf(
		    out, "Drive %s (%s, %s):", status_text_escape(alias, sizeof(alias), d->alias),
		    status_text_escape(name, sizeof(name), d->name), status_kind_name(d->kind));
	} else {
		rc = status_printf(
		    out, "Drive %s (%s):", status_text_escape(name, sizeof(name), d->name),
		    status_kind_name(d->kind));
	}
	if (rc == 0 && d->holder != 0)
		rc = status_printf(out, " session %u", d->holder);
	if (rc == 0 && d->device_open)
		rc = status_printf(out, "%s device open", d->holder ? "," : "");
	if (rc == 0 && d->waiters > 0)
		rc = status_printf(out, "%s %d waiting", d->holder || d->device_open ? "," : "",
		                   d->waiters);
	if (rc == 0 && d->abandoned)
		rc = status_printf(out, " abandoned to a device call that has not returned");
	if (rc == 0 && d->holder == 0 && !d->device_open && d->waiters == 0 && !d->abandoned)
		rc = status_printf(out, " idle");
	if (rc == 0 && d->cartridge != NULL && strcmp(d->cartridge, d->name) != 0)
		rc = status_printf(out, ", cartridge %s",
		                   status_text_escape(name, sizeof(name), d->cartridge));
	/* A library's drive: the cartridge the changer put in it, and its slot. */
	if (rc == 0 && library_drive_describe(d->name, barcode, sizeof(barcode), &slot) == 0)
		rc = barcode[0] == '\0'
		         ? status_printf(out, ", no cartridge loaded")
		         : status_printf(out, ", cartridge %s from slot %d", barcode, slot);
	if (rc == 0 && d->counters != NULL)
		rc = format_counters_text(out, d->counters);
	if (rc == 0)
		rc = status_printf(out, "\n");
	return rc;
}

int status_format_text(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < snapshot->drive_count; i++) {
		const struct status_drive *d = &snapshot->drives[i];

		if (d->holder != 0 || d->waiters > 0 || d->device_open)
			rc = format_drive_line(out, d);
	}
	for (size_t i = 0; rc == 0 && i < snapshot->session_count; i++) {
		rc = status_format_session_line(out, &snapshot->sessions[i]);
		if (rc == 0)
			rc = status_printf(out, "\n");
	}
	if (rc == 0 && snapshot->session_count == 0)
		rc = status_printf(out, "Drive is idle\n");
	return rc;
}

int status_format_drives_text(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < snapshot->drive_count; i++)
		rc = format_drive_line(out, &snapshot->drives[i]);
	if (rc == 0 && snapshot->drive_count == 0)
		rc = status_printf(out, "No drives\n");
	return rc;
}

/* ---------------------------------------------------------------- JSON */

static bool set_integer(json_t *o, const char *key, json_int_t value)
{
	return json_object_set_new(o, key, json_integer(value)) == 0;
}

static json_t *session_json(const struct status_session *s)
{
	const struct session_activity *a = &s->activity;
	uint64_t bytes = a->bytes_written + a->bytes_read;
	json_t *o = json_object();
	bool ok =
	    o != NULL && set_integer(o, "id", a->id) && json_set_text(o, "peer", a->peer) &&
	    json_set_text(o, "identity", a->identity) && json_set_text(o, "drive", s->drive) &&
	    json_set_text(o, "operation", s->operation) &&
	    json_set_text(o, "request", a->operation) && json_set_text(o, "state", s->state) &&
	    set_integer(o, "kbytes", (json_int_t)(bytes / 1024)) &&
	    set_integer(o, "bytes_written", (json_int_t)a->bytes_written) &&
	    set_integer(o, "bytes_read", (json_int_t)a->bytes_read) &&
	    set_integer(o, "records_written", (json_int_t)a->records_written) &&
	    set_integer(o, "records_read", (json_int_t)a->records_read) &&
	    set_integer(o, "requests", (json_int_t)a->requests);

	if (ok && s->rate_known)
		ok = set_integer(o, "throughput", (json_int_t)s->rate) &&
		     set_integer(o, "throughput_kbs", (json_int_t)(s->rate / 1024));
	else if (ok)
		ok = json_object_set_new(o, "throughput", json_null()) == 0 &&
		     json_object_set_new(o, "throughput_kbs", json_null()) == 0;
	ok = ok && set_integer(o, "started", (json_int_t)a->started);
	if (ok && a->waiting_since != 0)
		ok = set_integer(o, "waiting_since", (json_int_t)a->waiting_since);
	if (ok && a->file_number >= 0)
		ok = set_integer(o, "file_number", a->file_number);
	ok = ok && json_set_text(o, "content", a->content) &&
	     json_set_text(o, "format", s->format) && json_set_text(o, "label", s->label);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int status_format_session_json(struct evbuffer *out, const struct status_session *s)
{
	return json_to_buffer(out, session_json(s));
}

static json_t *drive_json(const struct status_drive *d)
{
	char barcode[LIBRARY_BARCODE_MAX + 1];
	int slot;
	json_t *o = json_object();
	bool ok = o != NULL && json_set_text(o, "name", d->name) &&
	          json_set_text(o, "alias", d->alias) &&
	          json_set_text(o, "cartridge", d->cartridge) &&
	          json_set_text(o, "kind", status_kind_name(d->kind));

	if (ok && library_drive_describe(d->name, barcode, sizeof(barcode), &slot) == 0)
		ok = json_set_text(o, "library_cartridge", barcode[0] ? barcode : NULL) &&
		     set_integer(o, "library_slot", slot);
	ok = ok && json_object_set_new(o, "declared", json_boolean(d->declared)) == 0 &&
	     json_object_set_new(o, "device_open", json_boolean(d->device_open)) == 0 &&
	     json_object_set_new(o, "abandoned", json_boolean(d->abandoned)) == 0 &&
	     json_object_set_new(o, "holder",
	                         d->holder != 0 ? json_integer(d->holder) : json_null()) == 0 &&
	     set_integer(o, "waiters", d->waiters) &&
	     json_set_text(o, "status_file", d->status_file[0] ? d->status_file : NULL);
	if (ok && d->counters != NULL) {
		json_t *counters = NULL;

		if (d->counters->first_use != 0) {
			/* the drive's name is already there */
			counters = counters_json(d->counters);
			ok = counters != NULL && json_object_del(counters, "kind") == 0 &&
			     json_object_del(counters, "name") == 0;
			json_object_del(counters, "name_hex");
		}
		ok = ok &&
		     json_object_set_new(o, "counters", counters ? counters : json_null()) == 0;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *drive_array(const struct status_snapshot *snapshot)
{
	json_t *drives = json_array();

	for (size_t i = 0; drives != NULL && i < snapshot->drive_count; i++)
		if (json_array_append_new(drives, drive_json(&snapshot->drives[i])) != 0) {
			json_decref(drives);
			return NULL;
		}
	return drives;
}

/* o (NULL: out of memory) as one line; consumes o. */
static int json_line(struct evbuffer *out, json_t *o)
{
	int rc = json_to_buffer(out, o);

	return rc == 0 ? status_printf(out, "\n") : rc;
}

int status_format_json(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	json_t *o = json_object(), *sessions = json_array();
	bool ok = o != NULL && sessions != NULL &&
	          set_integer(o, "time", (json_int_t)snapshot->when) &&
	          json_object_set_new(o, "idle", json_boolean(snapshot->session_count == 0)) == 0 &&
	          json_object_set_new(o, "drives", drive_array(snapshot)) == 0;

	for (size_t i = 0; ok && i < snapshot->session_count; i++)
		ok = json_array_append_new(sessions, session_json(&snapshot->sessions[i])) == 0;
	ok = ok && json_object_set(o, "sessions", sessions) == 0;
	json_decref(sessions);
	if (!ok) {
		json_decref(o);
		return -ENOMEM;
	}
	return json_line(out, o);
}

int status_format_drives_json(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	json_t *o = json_object();

	if (o == NULL || !set_integer(o, "time", (json_int_t)snapshot->when) ||
	    json_object_set_new(o, "drives", drive_array(snapshot)) != 0) {
		json_decref(o);
		return -ENOMEM;
	}
	return json_line(out, o);
}

/* ---------------------------------------------------------------- status files */

static const char *format_display_time(time_t when, char *out, size_t size)
{
	struct tm tm;

	if (gmtime_r(&when, &tm) == NULL || strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, size, "%lld", (long long)when);
	return out;
}

int status_format_drive_file(struct evbuffer *out, const struct status_drive *drive,
                             const struct status_session *session, time_t updated)
{
	char text[ESCAPED_MAX], when[64];
	int rc;

	if (session == NULL) {
		rc = status_printf(out, "Drive is idle\n");
	} else {
		rc = status_format_session_line(out, session);
		if (rc == 0)
			rc = status_printf(out, "\n");
	}
	if (rc == 0 && drive->alias != NULL)
		rc = status_printf(out, "name: %s\n",
		                   status_text_escape(text, sizeof(text), drive->alias));
	if (rc == 0)
		rc = status_printf(out, "drive: %s\nkind: %s\nstate: %s\n",
		                   status_text_escape(text, sizeof(text), drive->name),
		                   status_kind_name(drive->kind), session ? "busy" : "idle");
	if (rc == 0 && session != NULL) {
		const struct session_activity *a = &session->activity;
		uint64_t bytes = a->bytes_written + a->bytes_read;
		char peer[ESCAPED_MAX], identity[ESCAPED_MAX];

		rc =
		    status_printf(out,
		                  "session: %u\npeer: %s\nidentity: %s\noperation: %s\n"
		                  "kbytes: %" PRIu64 "\nbytes: %" PRIu64 "\nbytes_written: %" PRIu64
		                  "\nbytes_read: %" PRIu64 "\nrecords: %" PRIu64 "\n",
		                  a->id, status_text_escape(peer, sizeof(peer), a->peer),
		                  status_text_escape(identity, sizeof(identity), a->identity),
		                  session->operation, bytes / 1024, bytes, a->bytes_written,
		                  a->bytes_read, a->records_written + a->records_read);
		if (rc == 0 && session->state[0] != '\0')
			rc = status_printf(out, "session_state: %s\n", session->state);
		if (rc == 0 && session->rate_known)
			rc = status_printf(out, "throughput: %" PRIu64 " KB/s\n",
			                   session->rate / 1024);
		if (rc == 0 && session->label[0])
			rc = status_printf(out, "label: %s\n",
			                   text_escape(text, sizeof(text), session->label, true));
		if (rc == 0 && a->content[0])
			rc = status_printf(out, "content: %s\n",
			                   text_escape(text, sizeof(text), a->content, true));
		if (rc == 0 && a->file_number >= 0)
			rc = status_printf(out, "file: %d\n", a->file_number);
		if (rc == 0)
			rc = status_printf(out, "started: %s\n",
			                   format_display_time(a->started, when, sizeof(when)));
	}
	if (rc == 0)
		rc = status_printf(out, "waiting: %d\nupdated: %s\nupdated_epoch: %lld\n",
		                   drive->waiters, format_display_time(updated, when, sizeof(when)),
		                   (long long)updated);
	return rc;
}
