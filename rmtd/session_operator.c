/*
 * session_operator.c - what the operator and the server do to a session from
 * outside its conversation: abort it (rmtctl kill), take its drive back (idle
 * too long, or rmtctl release), cut it, end it at shutdown; the hold and
 * abort timers; what status shows of it.
 *
 * A session served on its drive's thread is only sent a command here (serve.h);
 * the thread obeys, or the loop does once it has the session back.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "drive.h"
#include "log.h"
#include "serve.h"
#include "session_internal.h"

static void session_timer_fired(evutil_socket_t fd, short what, void *arg);

/* Run the session's timer in seconds (the daemon's loop only: stdio has no timers). */
void session_arm_timer(struct session *s, time_t seconds)
{
	struct timeval tv = {.tv_sec = seconds > 0 ? seconds : 1};

	if (session_on_thread(s) || !s->settings.drives->threaded)
		return; /* the serve loop keeps the deadlines of the session it serves */
	if (s->timer == NULL)
		s->timer = evtimer_new(s->settings.drives->base, session_timer_fired, s);
	if (s->timer != NULL)
		evtimer_add(s->timer, &tv);
}

/* An abort's grace ran out, or the drive may have been held idle too long. */
static void session_timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	time_t now = time(NULL);
	int64_t idle;
	int hold = s->settings.drives->hold_seconds;

	if (s->serving != NULL) {
		session_served_timer(s, now);
		return;
	}
	if (s->detached || s->state == SESSION_ENDED)
		return;
	if (s->abort_requested) {
		if (now >= s->abort_deadline) {
			log_warnx("session %u: not ended %d s after the abort; cutting it", s->id,
			          s->settings.drives->stop_grace);
			session_cut(s, ECANCELED, ABORT_TEXT, s->end_reason, true);
		} else {
			session_arm_timer(s, s->abort_deadline - now);
		}
		return;
	}
	if (hold <= 0 || s->drive == NULL || s->take_back != 0)
		return;
	idle = (clock_monotonic_ms() - s->idle_since_ms) / 1000;
	if (session_phase(s) != SESSION_PHASE_IDLE || idle < hold) {
		session_arm_timer(s, session_phase(s) == SESSION_PHASE_IDLE ? hold - idle : hold);
		return;
	}
	session_take_back_idle(s);
}

void session_take_back_idle(struct session *s)
{
	log_warnx("session %u: idle for %lld s holding %s; taking the drive back", s->id,
	          (long long)((clock_monotonic_ms() - s->idle_since_ms) / 1000), s->drive->name);
	s->take_back = ETIMEDOUT;
	session_run(s);
}

void session_abort(struct session *s, const char *why)
{
	if (session_elsewhere(s)) {
		if (s->commands_sent & SERVE_KILL)
			return; /* the thread may be reading the first kill's reason */
		strlcpy(s->command_why, why, sizeof(s->command_why));
		s->commands_sent |= SERVE_KILL;
		serve_command(s->serving, SERVE_KILL);
		/* The serve loop cuts it after the grace; a second more, and it is stuck. */
		s->stuck_deadline = time(NULL) + s->stop_grace + 1;
		session_arm_timer(s, s->stop_grace + 1);
		return;
	}
	int grace;

	s->abort_requested = true;
	strlcpy(s->end_reason, why, sizeof(s->end_reason));
	if (s->state == SESSION_WAITING) {
		session_tell(s, ECANCELED, ABORT_TEXT);
		session_close(s, why);
		return;
	}
	/* A call or a record in progress gets the grace period, then the session is cut. */
	grace = s->serving != NULL ? s->stop_grace : s->settings.drives->stop_grace;
	s->abort_deadline = time(NULL) + grace;
	session_arm_timer(s, grace);
	if (s->state == SESSION_READING)
		session_run(s); /* may end and free the session */
}

bool session_take_back_drive(struct session *s)
{
	if (session_elsewhere(s)) {
		/* Served there while it has its device open: the thread closes it. */
		if (s->drive == NULL)
			return false;
		s->commands_sent |= SERVE_RELEASE;
		serve_command(s->serving, SERVE_RELEASE);
		return true;
	}
	if (s->drive == NULL || s->detached || s->closing || s->state == SESSION_ENDING ||
	    s->state == SESSION_ENDED)
		return false;
	s->take_back = ECANCELED;
	/* Between requests at once; otherwise once the request in progress is answered. */
	if (s->state == SESSION_READING)
		session_run(s);
	return true;
}

/* The client is let go now; the call in flight keeps the drive until it returns. */
static void session_detach(struct session *s)
{
	static const char *const calls[] = {
	    [JOB_OPEN] = "open",     [JOB_CLOSE] = "close",   [JOB_READ] = "read",
	    [JOB_WRITE] = "write",   [JOB_SEEK] = "seek",     [JOB_TAPE_OP] = "tape operation",
	    [JOB_STATUS] = "status", [JOB_POSITION] = "tell", [JOB_LOCATE] = "locate",
	};
	const struct session_transport *transport = s->transport;

	log_warnx("session %u: drive %s abandoned: its %s has not returned", s->id, s->drive->name,
	          calls[s->job.kind]);
	log_info("session %u: ended (%s): %llu bytes written, %llu read", s->id, s->end_reason,
	         (unsigned long long)s->bytes_written, (unsigned long long)s->bytes_read);
	s->drive->abandoned = true;
	s->detached = true;
	session_enter_state(s, SESSION_ENDING);
	if (s->timer != NULL)
		event_del(s->timer);
	transport->finished(s->context, s->end_reason);
}

void session_cut(struct session *s, int error, const char *text, const char *why, bool leave_call)
{
	if (session_elsewhere(s)) {
		enum serve_command cut = error == ESHUTDOWN ? SERVE_SHUTDOWN : SERVE_ABORT;

		s->commands_sent |= cut;
		serve_command(s->serving, cut);
		return;
	}
	if (s->detached || s->state == SESSION_ENDED)
		return;
	if (s->end_reason[0] == '\0')
		strlcpy(s->end_reason, why, sizeof(s->end_reason));
	if (s->state != SESSION_BUSY && s->state != SESSION_ENDING) {
		/* Nothing in flight: a half-received record is dropped, the device closed. */
		session_tell(s, error, text);
		session_close(s, why);
		return;
	}
	session_tell(s, error, text);
	s->closing = true;
	s->input_ended = true;
	session_enter_state(s, SESSION_ENDING);
	if (leave_call && s->drive->worker != NULL && !session_on_thread(s))
		session_detach(s);
}

void session_shutdown(struct session *s)
{
	if (session_elsewhere(s)) {
		s->commands_sent |= SERVE_DRAIN;
		serve_command(s->serving, SERVE_DRAIN);
		return;
	}
	if (s->end_reason[0] == '\0')
		strlcpy(s->end_reason, "server shutting down", sizeof(s->end_reason));
	s->draining = true;
	if (s->state == SESSION_WAITING) {
		session_tell(s, ESHUTDOWN, SHUTDOWN_TEXT); /* in reply to its open */
		session_close(s, s->end_reason);
	} else if (s->state == SESSION_READING) {
		session_run(s); /* between requests it ends now, telling the client why */
	}
}

void session_activity(const struct session *s, struct session_activity *activity)
{
	if (session_elsewhere(s)) {
		pthread_mutex_lock(&s->drive->view_lock);
		*activity = s->published;
		pthread_mutex_unlock(&s->drive->view_lock);
		if ((s->commands_sent & SERVE_KILL) && activity->state[0] == '\0')
			activity->state = "[abort requested]";
		return;
	}
	session_activity_live(s, activity);
}

/* What changes from request to request: counts, the operation, the state. */
static void activity_numbers(const struct session *s, struct session_activity *activity)
{
	activity->id = s->id;
	activity->peer = s->settings.peer;
	activity->identity = s->settings.identity;
	activity->drive = s->drive ? s->drive->name : NULL;
	activity->operation = s->operation;
	/* An abort is "sent" once the client has its error and the session is ending. */
	activity->state = s->state == SESSION_WAITING ? "[drive wait]"
	                  : s->abort_requested && (s->closing || s->state == SESSION_ENDING)
	                      ? "[abort sent]"
	                  : s->abort_requested                             ? "[abort requested]"
	                  : s->drive != NULL && s->drive->medium.no_medium ? "[operator wait]"
	                                                                   : "";
	activity->bytes_written = s->bytes_written;
	activity->bytes_read = s->bytes_read;
	activity->records_written = s->records_written;
	activity->records_read = s->records_read;
	activity->requests = s->requests;
	activity->waiting_since = s->state == SESSION_WAITING ? s->waiting_since : 0;
	activity->file_number = session_device_is_open(s) ? s->drive->medium.file_number : -1;
	activity->started = s->started;
}

/*
 * Which texts of the medium the session shows: 0 with no device open, else a
 * value that changes whenever they do (the drive's, while the session has it).
 */
uint64_t session_activity_texts_version(const struct session *s)
{
	return session_device_is_open(s) ? s->drive->medium.texts_changed * 2 + 1 : 0;
}

/* What the current tape file holds and its label, copied. */
static void activity_texts(const struct session *s, struct session_activity *activity)
{
	if (session_device_is_open(s)) {
		strlcpy(activity->content, s->drive->medium.description, sizeof(activity->content));
		activity->format = s->drive->medium.format;
		strlcpy(activity->label, s->drive->medium.label, sizeof(activity->label));
	} else {
		activity->content[0] = '\0';
		activity->format = NULL;
		activity->label[0] = '\0';
	}
}

void session_activity_live(const struct session *s, struct session_activity *activity)
{
	memset(activity, 0, sizeof(*activity));
	activity_numbers(s, activity);
	activity_texts(s, activity);
}

/* The numbers lead struct session_activity (session.h): compared as one block. */
#define ACTIVITY_NUMBERS_SIZE offsetof(struct session_activity, content)

/*
 * The numbers as they are now into now (only they: up to content); true if
 * they or the texts differ from view's. Asked without the lock by the thread
 * that alone writes view, so that a request publishes once, not at each step.
 */
bool session_activity_changed(const struct session *s, const struct session_activity *view,
                              uint64_t texts_version, struct session_activity *now)
{
	memcpy(now, view, ACTIVITY_NUMBERS_SIZE);
	activity_numbers(s, now);
	return memcmp(now, view, ACTIVITY_NUMBERS_SIZE) != 0 ||
	       session_activity_texts_version(s) != texts_version;
}

/*
 * Bring a view made by session_activity_live() up to date with the numbers
 * session_activity_changed() gave, and the texts only when they changed: a
 * drive's thread does this after every request (session_publish).
 */
void session_activity_refresh(const struct session *s, struct session_activity *view,
                              const struct session_activity *now, uint64_t *texts_version)
{
	uint64_t version = session_activity_texts_version(s);

	memcpy(view, now, ACTIVITY_NUMBERS_SIZE);
	if (version != *texts_version) {
		activity_texts(s, view);
		*texts_version = version;
	}
}

enum session_phase session_phase(const struct session *s)
{
	if (session_elsewhere(s))
		return SESSION_PHASE_BUSY; /* the serve loop keeps its deadlines */
	switch (s->state) {
	case SESSION_BUSY:
	case SESSION_WAITING:
	case SESSION_ENDING:
	case SESSION_ENDED:
		return SESSION_PHASE_BUSY;
	case SESSION_DATA:
	case SESSION_SWALLOW:
		return SESSION_PHASE_PARTIAL;
	case SESSION_READING:
	default:
		return s->input_start != s->input_end || proto_parser_in_request(&s->parser)
		           ? SESSION_PHASE_PARTIAL
		           : SESSION_PHASE_IDLE;
	}
}
