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
#include "json_quote.h"
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

static int emit_to_buffer(void *arg, const char *piece, size_t length)
{
	return evbuffer_add(arg, piece, length) == 0 ? 0 : -ENOMEM;
}

int status_json_string(struct evbuffer *out, const char *s)
{
	return json_quote(s, JSON_BYTES_REPLACE, emit_to_buffer, out);
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

static const char *format_time(time_t when, char *out, size_t size);

/* The drive's totals since it was first used, when the state directory keeps them. */
static int format_counters_text(struct evbuffer *out, const struct counters *c)
{
	const struct counters_delta *t = &c->totals;
	char when[64];

	if (c->first_use == 0)
		return 0;
	return status_printf(out,
	                     ";  in all %" PRIu64 " Kbytes written, %" PRIu64
	                     " Kbytes read, %" PRIu64 " files written, %" PRIu64 " mounts, %" PRIu64
	                     " errors, last used %s",
	                     t->bytes_written / 1024, t->bytes_read / 1024, t->files_written,
	                     t->mounts, t->errors, format_time(c->last_use, when, sizeof(when)));
}

static int format_counters_json(struct evbuffer *out, const struct counters *c)
{
	const struct counters_delta *t = &c->totals;

	if (c->first_use == 0)
		return status_printf(out, ",\"counters\":null");
	return status_printf(out,
	                     ",\"counters\":{\"bytes_written\":%" PRIu64 ",\"bytes_read\":%" PRIu64
	                     ",\"records_written\":%" PRIu64 ",\"records_read\":%" PRIu64
	                     ",\"files_written\":%" PRIu64 ",\"files_read\":%" PRIu64
	                     ",\"times_full\":%" PRIu64 ",\"errors\":%" PRIu64
	                     ",\"mounts\":%" PRIu64 ",\"first_use\":%lld,\"last_use\":%lld}",
	                     t->bytes_written, t->bytes_read, t->records_written, t->records_read,
	                     t->files_written, t->files_read, t->times_full, t->errors, t->mounts,
	                     (long long)c->first_use, (long long)c->last_use);
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

static int json_key_string(struct evbuffer *out, const char *key, const char *value, bool comma)
{
	int rc = status_printf(out, "%s\"%s\":", comma ? "," : "", key);

	if (rc == 0)
		rc = value ? status_json_string(out, value) : status_printf(out, "null");
	return rc;
}

int status_format_session_json(struct evbuffer *out, const struct status_session *s)
{
	const struct session_activity *a = &s->activity;
	uint64_t bytes = a->bytes_written + a->bytes_read;
	int rc;

	rc = status_printf(out, "{\"id\":%u", a->id);
	if (rc == 0)
		rc = json_key_string(out, "peer", a->peer, true);
	if (rc == 0)
		rc = json_key_string(out, "identity", a->identity, true);
	if (rc == 0)
		rc = json_key_string(out, "drive", s->drive, true);
	if (rc == 0)
		rc = json_key_string(out, "operation", s->operation, true);
	if (rc == 0)
		rc = json_key_string(out, "request", a->operation, true);
	if (rc == 0)
		rc = json_key_string(out, "state", s->state, true);
	if (rc == 0)
		rc = status_printf(out,
		                   ",\"kbytes\":%" PRIu64 ",\"bytes_written\":%" PRIu64
		                   ",\"bytes_read\":%" PRIu64 ",\"records_written\":%" PRIu64
		                   ",\"records_read\":%" PRIu64 ",\"requests\":%" PRIu64,
		                   bytes / 1024, a->bytes_written, a->bytes_read,
		                   a->records_written, a->records_read, a->requests);
	if (rc == 0 && s->rate_known)
		rc = status_printf(out, ",\"throughput\":%" PRIu64 ",\"throughput_kbs\":%" PRIu64,
		                   s->rate, s->rate / 1024);
	else if (rc == 0)
		rc = status_printf(out, ",\"throughput\":null,\"throughput_kbs\":null");
	if (rc == 0)
		rc = status_printf(out, ",\"started\":%lld", (long long)a->started);
	if (rc == 0 && a->waiting_since != 0)
		rc = status_printf(out, ",\"waiting_since\":%lld", (long long)a->waiting_since);
	if (rc == 0 && a->file_number >= 0)
		rc = status_printf(out, ",\"file_number\":%d", a->file_number);
	if (rc == 0)
		rc = json_key_string(out, "content", a->content, true);
	if (rc == 0)
		rc = json_key_string(out, "format", s->format, true);
	if (rc == 0)
		rc = json_key_string(out, "label", s->label, true);
	if (rc == 0)
		rc = status_printf(out, "}");
	return rc;
}

static int format_drive_json(struct evbuffer *out, const struct status_drive *d)
{
	char barcode[LIBRARY_BARCODE_MAX + 1];
	int slot, rc = status_printf(out, "{");

	if (rc == 0)
		rc = json_key_string(out, "name", d->name, false);
	if (rc == 0)
		rc = json_key_string(out, "alias", d->alias, true);
	if (rc == 0)
		rc = json_key_string(out, "cartridge", d->cartridge, true);
	if (rc == 0)
		rc = json_key_string(out, "kind", status_kind_name(d->kind), true);
	if (rc == 0 && library_drive_describe(d->name, barcode, sizeof(barcode), &slot) == 0)
		rc = status_printf(out, ",\"library_cartridge\":%s%s%s,\"library_slot\":%d",
		                   barcode[0] ? "\"" : "", barcode[0] ? barcode : "null",
		                   barcode[0] ? "\"" : "", slot);
	if (rc == 0)
		rc =
		    status_printf(out, ",\"declared\":%s,\"device_open\":%s,\"abandoned\":%s",
		                  d->declared ? "true" : "false", d->device_open ? "true" : "false",
		                  d->abandoned ? "true" : "false");
	if (rc == 0 && d->holder != 0)
		rc = status_printf(out, ",\"holder\":%u", d->holder);
	else if (rc == 0)
		rc = status_printf(out, ",\"holder\":null");
	if (rc == 0)
		rc = status_printf(out, ",\"waiters\":%d", d->waiters);
	if (rc == 0)
		rc = json_key_string(out, "status_file", d->status_file[0] ? d->status_file : NULL,
		                     true);
	if (rc == 0 && d->counters != NULL)
		rc = format_counters_json(out, d->counters);
	if (rc == 0)
		rc = status_printf(out, "}");
	return rc;
}

static int format_drive_array(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	int rc = status_printf(out, "\"drives\":[");

	for (size_t i = 0; rc == 0 && i < snapshot->drive_count; i++) {
		if (i > 0)
			rc = status_printf(out, ",");
		if (rc == 0)
			rc = format_drive_json(out, &snapshot->drives[i]);
	}
	if (rc == 0)
		rc = status_printf(out, "]");
	return rc;
}

int status_format_json(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	int rc = status_printf(out, "{\"time\":%lld,\"idle\":%s,", (long long)snapshot->when,
	                       snapshot->session_count == 0 ? "true" : "false");

	if (rc == 0)
		rc = format_drive_array(out, snapshot);
	if (rc == 0)
		rc = status_printf(out, ",\"sessions\":[");
	for (size_t i = 0; rc == 0 && i < snapshot->session_count; i++) {
		if (i > 0)
			rc = status_printf(out, ",");
		if (rc == 0)
			rc = status_format_session_json(out, &snapshot->sessions[i]);
	}
	if (rc == 0)
		rc = status_printf(out, "]}\n");
	return rc;
}

int status_format_drives_json(struct evbuffer *out, const struct status_snapshot *snapshot)
{
	int rc = status_printf(out, "{\"time\":%lld,", (long long)snapshot->when);

	if (rc == 0)
		rc = format_drive_array(out, snapshot);
	if (rc == 0)
		rc = status_printf(out, "}\n");
	return rc;
}

/* ---------------------------------------------------------------- status files */

static const char *format_time(time_t when, char *out, size_t size)
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
			                   format_time(a->started, when, sizeof(when)));
	}
	if (rc == 0)
		rc = status_printf(out, "waiting: %d\nupdated: %s\nupdated_epoch: %lld\n",
		                   drive->waiters, format_time(updated, when, sizeof(when)),
		                   (long long)updated);
	return rc;
}
