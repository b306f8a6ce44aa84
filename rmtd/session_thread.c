/*
 * session_thread.c - a session served on its drive's thread, and handed back.
 *
 * In the daemon a session with its device open is served on the drive's
 * thread (serve.c): device calls run inline there, and what only the loop may
 * do (let the drive go, finish the session, take another drive, timers) is
 * left for the loop, which does it when the thread gives the session back
 * (session_back_from_drive()). While it is away the loop only sends it
 * commands (serve.h) and reads what the thread published for the operator.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "drive.h"
#include "log.h"
#include "reply.h"
#include "serve.h"
#include "session_internal.h"

/* The session the serve loop on this thread serves, if any. */
static _Thread_local const struct session *session_here;

/* Served by a drive's thread, and this is not it: the loop must not touch the session. */
bool session_elsewhere(const struct session *s)
{
	return s->serving != NULL && session_here != s;
}

/* Running on the drive's thread that serves the session. */
bool session_on_thread(const struct session *s)
{
	return s->serving != NULL && session_here == s;
}

/*
 * What the loop shows of a session served on a thread: copied when it changed,
 * which is once a request. The drive's view moves with the session's numbers
 * (its counters with the records, its device and cartridge with the open and
 * the close, which change the operation).
 */
void session_publish(struct session *s)
{
	struct session_activity now;

	if (s->drive == NULL ||
	    !session_activity_changed(s, &s->published, s->published_texts, &now))
		return;
	/* A few counts each time; the texts (hundreds of bytes) only when they changed. */
	pthread_mutex_lock(&s->drive->view_lock);
	session_activity_refresh(s, &s->published, &now, &s->published_texts);
	drive_publish_locked(s->drive);
	pthread_mutex_unlock(&s->drive->view_lock);
}

int session_hold_seconds(const struct session *s)
{
	return s->serving != NULL ? s->hold_seconds : s->settings.drives->hold_seconds;
}

/*
 * A killed session served on its drive's thread is cut there once the grace
 * is over (a reply waiting for a client that takes nothing is given up at
 * once); a thread that has not come back a second later is stuck in a device
 * call: the client is let go, the drive named abandoned, and the thread left
 * to finish the call.
 */
void session_served_timer(struct session *s, time_t now)
{
	if (!(s->commands_sent & SERVE_KILL) || s->let_go)
		return; /* the hold timeout is the serve loop's */
	if (now < s->stuck_deadline) {
		session_arm_timer(s, s->stuck_deadline - now);
		return;
	}
	log_warnx("session %u: drive %s abandoned: its thread has not come back %d s after the "
	          "abort",
	          s->id, s->drive->name, s->stop_grace + 1);
	s->let_go = true;
	s->drive->abandoned = true;
	if (s->transport->let_go != NULL) {
		char reply[REPLY_HEADER_MAX];
		size_t n = reply_error(reply, sizeof(reply), ECANCELED, ABORT_TEXT);

		s->transport->let_go(s->context, reply, n);
	}
}

bool session_may_move(const struct session *s)
{
	return s->serving == NULL && s->transport->move_to_drive != NULL &&
	       s->settings.drives->threaded && session_device_is_open(s) &&
	       s->drive->worker != NULL && s->state == SESSION_READING && !s->closing &&
	       !s->input_ended && !s->draining && !s->abort_requested && s->take_back == 0 &&
	       !s->detached && s->read_buffer.data == NULL &&
	       !s->transport->output_full(s->context);
}

void session_move_to_drive(struct session *s, struct serve *serve, struct job *job)
{
	struct drive *drive = s->drive;

	serve->limits.idle_timeout = s->settings.idle_timeout;
	serve->limits.request_timeout = s->settings.request_timeout;
	serve->limits.hold_timeout = s->hold_seconds = s->settings.drives->hold_seconds;
	serve->limits.stop_grace = s->stop_grace = s->settings.drives->stop_grace;
	serve->while_device_open = true;
	serve_forget_commands(serve);
	s->commands_sent = 0;
	s->command_why[0] = '\0';
	s->let_go = false;
	/* What the operator sees until the thread publishes. */
	session_activity_live(s, &s->published);
	s->published_texts = session_activity_texts_version(s);
	pthread_mutex_lock(&drive->view_lock);
	drive_publish_locked(drive);
	pthread_mutex_unlock(&drive->view_lock);
	log_debug("session %u: served on the thread of %s", s->id, drive->name);
	drive->served = true;
	s->serving = serve;
	job->kind = JOB_CALL;
	job->device = &drive->device;
	job->with_status = false;
	worker_submit(drive->worker, job);
}

void session_back_from_drive(struct session *s)
{
	struct serve *serve = s->serving;
	int unobeyed = atomic_exchange(&serve->command, SERVE_NONE);
	int cut = atomic_load(&serve->cut);

	s->serving = NULL;
	if (s->drive != NULL)
		s->drive->served = false;
	log_debug("session %u: back on the loop", s->id);
	if (s->let_go)
		log_info("session %u: the call left on %s returned; the drive is free again", s->id,
		         s->drive->name);
	if (s->finish_deferred) {
		s->finish_deferred = false;
		session_finish(s);
		return;
	}
	if (s->release_deferred) {
		s->release_deferred = false;
		session_release_drive(s);
	}
	if (s->reopen_deferred) {
		s->reopen_deferred = false;
		session_release_drive(s);
		session_acquire_and_open(s);
	}
	if (session_device_is_open(s) && session_hold_seconds(s) > 0)
		session_arm_timer(s, session_hold_seconds(s));
	/*
	 * Commands the thread had no time for are the loop's now; the strongest
	 * one, as each may end and free the session.
	 */
	if (unobeyed & (SERVE_SHUTDOWN | SERVE_ABORT)) {
		if (cut == SERVE_SHUTDOWN)
			session_cut(s, ESHUTDOWN, SHUTDOWN_TEXT, "server shutting down", false);
		else
			session_cut(s, ECANCELED, ABORT_TEXT, "aborted by the operator", false);
	} else if (unobeyed & SERVE_KILL) {
		session_abort(s, session_command_reason(s, "aborted by the operator"));
	} else if (unobeyed & SERVE_DRAIN) {
		session_shutdown(s);
	} else if ((unobeyed & SERVE_RELEASE) && s->state == SESSION_READING &&
	           session_take_back_drive(s)) {
		/* Taken back; the session runs on from there. */
	} else {
		/* Also a release that came after the close had let the drive go. */
		session_run(s);
	}
}

void session_serve_here(struct session *s, bool here)
{
	session_here = here ? s : NULL;
	if (!here && s->serving != NULL)
		session_publish(s);
}

void session_resume(struct session *s)
{
	session_run(s);
}

bool session_keeps_device(const struct session *s)
{
	return session_device_is_open(s) && !s->finish_deferred && !s->release_deferred &&
	       !s->reopen_deferred && s->state != SESSION_ENDED;
}
