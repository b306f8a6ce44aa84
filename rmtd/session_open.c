/*
 * session_open.c - O: the path and the rules decide what may be opened and
 * how, then the drive is taken (or waited for) and its device opened through
 * the backend of its kind.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "backend.h"
#include "backend_libdrive.h"
#include "config.h"
#include "drive.h"
#include "escape.h"
#include "log.h"
#include "session_internal.h"

const struct backend_ops *(*backend_wrapper)(const struct backend_ops *inner);

static const struct backend_ops *backend_of_kind(enum device_kind kind)
{
	switch (kind) {
	case DEVICE_KIND_VTAPE:
		return &backend_vtape_ops;
	case DEVICE_KIND_TAPE:
		return &backend_st_ops;
	case DEVICE_KIND_FILE:
	default:
		return &backend_file_ops;
	}
}

static const struct backend_ops *backend_for(enum device_kind kind, const char *canonical)
{
	const struct backend_ops *ops = backend_libdrive_for(canonical, backend_of_kind(kind));

	return backend_wrapper != NULL ? backend_wrapper(ops) : ops;
}

void session_open_target(struct session *s)
{
	struct job *job = &s->job;

	memset(&job->target, 0, sizeof(job->target));
	job->ops = backend_for(s->target.kind, s->target.canonical);
	job->target.directory_fd = s->target.directory_fd;
	job->target.name = s->target.name;
	job->target.canonical = s->target.canonical;
	job->target.flags = s->target.flags;
	job->target.rewind_on_close = s->target.rewind_on_close;
	job->target.max_record = s->settings.max_record;
	job->target.sync_records = s->settings.config->sync_records == 1;
	session_submit(s, JOB_OPEN, STEP_OPEN);
}

static void session_drive_acquired(struct drive *drive, int error, void *arg)
{
	struct session *s = arg;

	session_enter_state(s, SESSION_READING);
	if (error < 0) {
		log_warnx("session %u: %s is busy; gave up waiting", s->id, drive->name);
		session_reply_failure(s, EBUSY, "Device busy: another session holds this drive");
	} else {
		s->drive = drive;
		session_open_target(s);
	}
	session_run(s);
}

/* The old device (if any) is closed; take the new drive and open it. */
void session_acquire_and_open(struct session *s)
{
	struct drive *drive;
	int result;

	drive = drive_lookup(s->settings.drives, s->target.canonical, s->target.kind,
	                     s->target.drive_name[0] != '\0');
	if (drive == NULL) {
		session_reply_failure(s, ENOMEM, NULL);
		return;
	}
	result = drive_acquire(s->settings.drives, drive, s, session_drive_acquired, s);
	if (result < 0) {
		/* drive may be freed now: only the target's name is used below. */
		const char *text =
		    result == -EBUSY ? "Device busy: another session holds this drive"
		    : result == -EMFILE || result == -ENFILE
		        ? "rmtd has no file descriptors left for another drive"
		    : result == -EAGAIN ? "rmtd cannot start a thread for another drive"
		                        : strerror(-result);

		log_warnx("session %u: open %s refused: %s", s->id, s->target.canonical, text);
		session_reply_failure(s, -result, text);
		return;
	}
	if (result == 1) {
		log_info("session %u: waiting for drive %s", s->id, drive->name);
		session_enter_state(s, SESSION_WAITING);
		s->waiting_since = time(NULL);
		s->operation = "Drive wait";
		return;
	}
	s->drive = drive;
	session_open_target(s);
}

static void format_flags(int flags, char *out, size_t size)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
	    {O_CREAT, "O_CREAT"},   {O_EXCL, "O_EXCL"},         {O_TRUNC, "O_TRUNC"},
	    {O_APPEND, "O_APPEND"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_SYNC, "O_SYNC"},
	    {O_NOCTTY, "O_NOCTTY"}, {O_DSYNC, "O_DSYNC"},
	};
	int mode = flags & O_ACCMODE;

	strlcpy(out,
	        mode == O_RDONLY   ? "O_RDONLY"
	        : mode == O_WRONLY ? "O_WRONLY"
	                           : "O_RDWR",
	        size);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((flags & names[i].bit) == names[i].bit) {
			strlcat(out, "|", size);
			strlcat(out, names[i].name, size);
		}
	}
}

void session_handle_open(struct session *s, const struct rmt_request *request)
{
	char escaped[PATH_MAX * 4 + 1], flags[128];
	struct access_decision decision = {0};
	const char *reason;
	int result;

	escape_text(escaped, sizeof(escaped), request->path);
	if ((request->open_flags & O_ACCMODE) == O_ACCMODE) {
		/* O_WRONLY|O_RDWR is no access mode at all; open(2) would guess. */
		log_warnx("session %u: open \"%s\" refused: access mode 3", s->id, escaped);
		session_reply_failure(s, EINVAL, "invalid access mode");
		return;
	}
	result = path_resolve(&s->settings.config->policy, request->path, request->open_flags,
	                      &s->target, &reason);
	format_flags(request->open_flags, flags, sizeof(flags));
	if (result == 0) {
		result = acl_check(&s->settings.config->rules, &s->settings.who, &s->target,
		                   s->target.flags, &decision, &reason);
		s->target.flags = decision.flags;
		s->device_max_record = decision.max_record;
		s->tape_grant.writable = (s->target.flags & O_ACCMODE) != O_RDONLY;
		s->tape_grant.settings = decision.may_change_settings;
	}
	if (result < 0) {
		log_warnx("session %u: open \"%s\" %s by %s from %s refused: %s", s->id, escaped,
		          flags, s->identity_shown, s->settings.peer, reason);
		session_reply_failure(s, -result, reason);
		return;
	}
	escape_text(escaped, sizeof(escaped), s->target.canonical);
	if (decision.rule_line > 0)
		log_notice("session %u: open %s %s by %s from %s (rule at line %d)", s->id, escaped,
		           flags, s->identity_shown, s->settings.peer, decision.rule_line);
	else
		log_notice("session %u: open %s %s by %s from %s", s->id, escaped, flags,
		           s->identity_shown, s->settings.peer);
	/* O while a device is open closes that device first (every classic server does). */
	if (session_device_is_open(s)) {
		session_submit(s, JOB_CLOSE, STEP_OPEN_AFTER_CLOSE);
		return;
	}
	if (s->drive != NULL && strcmp(s->drive->name, s->target.canonical) == 0) {
		session_open_target(s);
		return;
	}
	session_release_drive(s);
	session_acquire_and_open(s);
}
