/*
 * session.c - one client's state machine over parser, drive and replies.
 *
 * This file is the conversation, one state machine: states, parsing and
 * dispatch, device calls and their completions, replies, input. What a request
 * does is in session_open.c, session_tape.c and session_record.c; what is
 * done to a session from outside in session_operator.c and session_thread.c
 * (all share session_internal.h).
 *
 * States: READING (parsing the next request from the input buffer), DATA
 * (collecting a W request's record), SWALLOW (discarding a refused W's data),
 * BUSY (a device call is in flight; nothing else is parsed until it completes),
 * WAITING (queued for a busy drive), ENDING (closing the device before the end).
 * Every change of state goes through session_enter_state(), which logs it.
 * What a record means to the tape (file numbers, labels, counters, catalog) is
 * the drive's (medium.c); every record written or read, by whatever route
 * (session_record.c), passes session_record().
 *
 * In the daemon a session with its device open is served on the drive's
 * thread (serve.c): device calls run inline there, and what only the loop may
 * do (let the drive go, finish the session, take another drive, timers) is
 * left for the loop, which does it when the thread gives the session back
 * (session_back_from_drive(), session_thread.c).
 *
 * The rmt meaning of each request (RMT V1 numbering after I-1, the portable
 * codes of i and s, whence 10/11: session_tape.c; replies: here) is applied in
 * the session; backends see native Linux calls only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "rmt/protocol.h"
#include "backend_libdrive.h"
#include "clock.h"
#include "config.h"
#include "drive.h"
#include "escape.h"
#include "log.h"
#include "medium.h"
#include "proto.h"
#include "record_pipe.h"
#include "reply.h"
#include "serve.h"
#include "session.h"
#include "session_internal.h"
#include "worker.h"

static unsigned session_next_id = 1;

static void session_job_done(struct job *job, void *arg);
static void session_free(struct session *s);

static const char *const state_names[] = {
    [SESSION_READING] = "reading", [SESSION_DATA] = "data",       [SESSION_SWALLOW] = "swallow",
    [SESSION_BUSY] = "busy",       [SESSION_WAITING] = "waiting", [SESSION_ENDING] = "ending",
    [SESSION_ENDED] = "ended",
};

/* Every change of state goes through here, so a debug log shows the conversation's path. */
void session_enter_state(struct session *s, enum session_state state)
{
	if (s->state == state)
		return;
	log_debug("session %u: %s -> %s", s->id, state_names[s->state], state_names[state]);
	s->state = state;
}

/* ---------------------------------------------------------------- replies */

/*
 * A pipelining client's next request is already here: the answer to this one
 * can wait until session_run() has handled what it can, and the answers leave
 * together, one write for many.
 */
static bool session_may_hold_reply(const struct session *s, size_t length)
{
	return s->handling && s->input_end > s->input_start &&
	       s->held_length + length <= sizeof(s->held_replies);
}

void session_flush_replies(struct session *s)
{
	struct iovec iov = {.iov_base = s->held_replies, .iov_len = s->held_length};

	if (s->held_length == 0)
		return;
	s->held_length = 0;
	if (s->detached)
		return;
	if (session_on_thread(s))
		session_publish(s);
	session_send_failed(s, s->transport->send(s->context, &iov, 1));
}

void session_send(struct session *s, const void *header, size_t header_length, const void *data,
                  size_t data_length)
{
	struct iovec iov[3];
	int count = 0;

	if (s->detached || s->told)
		return; /* the client was let go, or has its last answer */
	if (data_length == 0 && session_may_hold_reply(s, header_length)) {
		memcpy(s->held_replies + s->held_length, header, header_length);
		s->held_length += header_length;
		return;
	}
	if (s->held_length > 0) {
		iov[count].iov_base = s->held_replies;
		iov[count++].iov_len = s->held_length;
		s->held_length = 0;
	}
	iov[count].iov_base = (void *)header;
	iov[count++].iov_len = header_length;
	if (data_length > 0) {
		iov[count].iov_base = (void *)data;
		iov[count++].iov_len = data_length;
	}
	/* What a client was told, status already shows: it may ask the moment it knows. */
	if (session_on_thread(s))
		session_publish(s);
	session_send_failed(s, s->transport->send(s->context, iov, count));
}

/* After a reply that did not go out whole (error -errno; 0: it did): no more requests. */
void session_send_failed(struct session *s, int error)
{
	switch (error) {
	case 0:
		break;
	case -ETIMEDOUT:
		/* Served on a drive's thread: the client took nothing until the idle timeout. */
		log_info("session %u: idle for more than %d s with a reply unsent, closing", s->id,
		         s->settings.idle_timeout);
		if (s->end_reason[0] == '\0')
			strlcpy(s->end_reason, "idle timeout", sizeof(s->end_reason));
		s->input_ended = true;
		break;
	default:
		s->input_ended = true; /* the peer is gone; finish quietly */
		break;
	}
}

void session_reply_value(struct session *s, int64_t value)
{
	char header[REPLY_HEADER_MAX];
	size_t n = reply_ok(header, sizeof(header), value);

	session_send(s, header, n, NULL, 0);
}

void session_reply_signed_value(struct session *s, int64_t value)
{
	char header[REPLY_HEADER_MAX];
	size_t n = reply_signed(header, sizeof(header), value);

	session_send(s, header, n, NULL, 0);
}

void session_reply_failure(struct session *s, int error, const char *text)
{
	char header[REPLY_HEADER_MAX];
	size_t n = reply_error(header, sizeof(header), error, text);

	if (s->request.command == PROTO_WRITE)
		pipeline_write_failed(&s->pipeline);
	else if (s->request.command == PROTO_READ)
		pipeline_read_stopped(&s->pipeline);
	session_send(s, header, n, NULL, 0);
}

void session_reply_with_data(struct session *s, const void *data, size_t length)
{
	char header[REPLY_HEADER_MAX];
	size_t n = reply_ok(header, sizeof(header), (int64_t)length);

	session_send(s, header, n, data, length);
}

_Static_assert(DRIVE_RECORD_HEADROOM >= REPLY_COUNT_MAX, "an A<count> header fits before a record");

/* An R reply: in the drive's record buffer the header goes in front, to leave in one piece. */
static void session_reply_record(struct session *s, uint8_t *record, size_t length)
{
	char header[REPLY_HEADER_MAX];
	size_t n;

	if (drive_record_headroom(s->drive, record) < REPLY_COUNT_MAX) {
		session_reply_with_data(s, record, length);
		return;
	}
	n = reply_ok(header, sizeof(header), (int64_t)length);
	memcpy(record - n, header, n);
	session_send(s, record - n, n + length, NULL, 0);
}
/* The last reply of a session that is being ended: an error saying why, once. */
void session_tell(struct session *s, int error, const char *text)
{
	if (s->told)
		return;
	session_reply_failure(s, error, text);
	s->told = true; /* a call still in flight is not answered after this */
}

/* ---------------------------------------------------------------- device calls */

void session_submit(struct session *s, enum job_kind kind, enum session_step step)
{
	struct job *job = &s->job;

	job->kind = kind;
	job->device = &s->drive->device;
	job->done = session_job_done;
	job->arg = s;
	/* Calls that move a tape report where it is now (see session_note_position). */
	job->with_status = kind == JOB_OPEN || kind == JOB_TAPE_OP || kind == JOB_LOCATE;
	s->step = step;
	s->job_in_flight = true;
	if (s->state != SESSION_ENDING)
		session_enter_state(s, SESSION_BUSY);
	if (session_on_thread(s)) {
		/*
		 * The call runs here and now; meanwhile status shows what it is. The
		 * next of a run of like calls is shown by the reply to the last one:
		 * a slow call keeps the request count still, as a slow one should.
		 */
		if (s->operation != s->published.operation)
			session_publish(s);
		worker_submit(NULL, job);
		return;
	}
	worker_submit(s->drive->worker, job);
}

void session_release_drive(struct session *s)
{
	if (s->drive == NULL)
		return;
	if (session_on_thread(s)) {
		/* The wait queue is the loop's: it lets the drive go once it has us back. */
		s->release_deferred = true;
		s->operation = "idle";
		return;
	}
	drive_release(s->settings.drives, s->drive, s);
	s->drive = NULL;
	s->operation = "idle";
}

bool session_device_is_open(const struct session *s)
{
	return s->drive != NULL && s->drive->device_open;
}

/*
 * Take the drive back from this session (idle too long, or the operator asked):
 * the device is closed as at any close (a written tape gets its filemark), the
 * drive goes to whoever waits, and the session lives on; its next request on the
 * drive gets the reason as its error.
 */
static void session_take_back(struct session *s)
{
	s->taken_back = s->take_back;
	s->take_back = 0;
	s->taken_back_text = s->taken_back == ETIMEDOUT
	                         ? "Drive taken back: the session was idle too long"
	                         : "Drive taken back by the operator";
	if (session_device_is_open(s)) {
		s->operation = "Close";
		session_submit(s, JOB_CLOSE, STEP_TAKEN_BACK);
		return;
	}
	session_release_drive(s);
}

/* ---------------------------------------------------------------- requests */

/* Where the tape is after a call that moved it (the drive keeps it: medium.h). */
static void session_note_position(struct session *s, const struct job *job)
{
	if (job->with_status)
		medium_position(s->drive, &job->status);
}

/* The device is closed: a tape got its filemark if it was written; save the counters. */
static void session_device_closed(struct session *s)
{
	/* A close the client asked for ends its archive; one at the end of a killed,
	 * vanished or shut-down session cuts it, filemark or not. */
	medium_closed(s->drive, s->state != SESSION_ENDING && !s->abort_requested);
}

/* Requests that answer EBADF when no device is open. */
static bool request_needs_device(const struct rmt_request *request)
{
	switch (request->command) {
	case PROTO_OPEN:
	case PROTO_VERSION_BSD:
	case PROTO_VERSION_SCHILY:
	case PROTO_GARBAGE:
		return false;
	case PROTO_IOCTL:
		return request->ioctl_op != RMT_IOCTL_VERSION_QUERY &&
		       request->ioctl_op != RMT_IOCTL_PIPELINE;
	default:
		return true;
	}
}

static void handle_request(struct session *s, const struct rmt_request *request)
{
	s->requests++;
	s->idle_since_ms = clock_monotonic_ms();
	if (request->command == PROTO_OPEN)
		s->taken_back = 0;
	if (s->taken_back != 0 && request->error == 0 && request_needs_device(request)) {
		/* Once, instead of EBADF: the client learns where its device went. */
		int error = s->taken_back;

		s->taken_back = 0;
		if (request->command == PROTO_WRITE) {
			s->swallow_error = error;
			s->swallow_text = s->taken_back_text;
			s->data_remaining = request->data_length;
			session_enter_state(s, SESSION_SWALLOW);
			return;
		}
		session_reply_failure(s, error, s->taken_back_text);
		return;
	}
	if (request->command == PROTO_WRITE && pipeline_discards_write(&s->pipeline)) {
		/* Sent before the client heard of an earlier failure: not written. */
		s->swallow_error = ECANCELED;
		s->swallow_text = "Discarded after an earlier write error";
		s->data_remaining = request->data_length;
		s->state = SESSION_SWALLOW;
		return;
	}
	if (request->command != PROTO_WRITE) {
		uint64_t discarded =
		    pipeline_other_request(&s->pipeline, request->command == PROTO_READ);

		if (discarded > 0)
			log_info("session %u: %" PRIu64 " records discarded after a failed write",
			         s->id, discarded);
	}
	if (request->command == PROTO_WRITE) {
		session_handle_write_header(s, request);
		return;
	}
	if (request->command == PROTO_READ && request->error == 0 &&
	    pipeline_discards_read(&s->pipeline)) {
		/* Read ahead past a filemark or an error: the drive stays where it stopped. */
		session_reply_failure(s, ECANCELED,
		                      "Not read: an earlier read met a filemark or failed");
		return;
	}
	if (request->error != 0) {
		if (request->command == PROTO_GARBAGE) {
			char escaped[8];
			char letter = request->letter;

			log_warnx("session %u: garbage command \"%s\" from %s", s->id,
			          escape_bytes(escaped, sizeof(escaped), &letter, 1, 0),
			          s->settings.peer);
		}
		session_reply_failure(s, request->error, request->error_text);
		return;
	}
	switch (request->command) {
	case PROTO_OPEN:
		session_handle_open(s, request);
		break;
	case PROTO_CLOSE:
		session_handle_close(s);
		break;
	case PROTO_SEEK:
		session_handle_seek(s, request);
		break;
	case PROTO_READ:
		session_handle_read(s, request);
		break;
	case PROTO_IOCTL:
		session_handle_ioctl(s, request);
		break;
	case PROTO_IOCTL_EXTENDED:
		session_handle_ioctl_extended(s, request);
		break;
	case PROTO_STATUS:
		session_handle_status(s);
		break;
	case PROTO_STATUS_FIELD:
		session_handle_status_field(s, request);
		break;
	case PROTO_VERSION_BSD:
		session_reply_value(s, RMT_VERSION_BSD_ANSWER);
		break;
	case PROTO_VERSION_SCHILY:
		session_reply_value(s, RMT_VERSION_SCHILY_ANSWER);
		break;
	case PROTO_WRITE:
	case PROTO_GARBAGE:
		break;
	}
}

/* ---------------------------------------------------------------- completions */

static int64_t status_field(const struct mtget *status, char letter)
{
	switch (letter) {
	case RMT_STATUS_ERREG:
		return status->mt_erreg;
	case RMT_STATUS_TYPE:
		return status->mt_type;
	case RMT_STATUS_DSREG:
		return status->mt_dsreg;
	case RMT_STATUS_RESID:
		return status->mt_resid;
	case RMT_STATUS_FILENO:
		return status->mt_fileno;
	case RMT_STATUS_BLKNO:
	default:
		return status->mt_blkno;
	}
}

/* One line for a device call that failed; open and close say so where they complete. */
static void log_device_failure(const struct session *s, const struct job *job, int error)
{
	const struct rmt_request *request = &s->request;
	char what[64];

	switch (request->command) {
	case PROTO_READ:
		snprintf(what, sizeof(what), "read of %zu bytes", job->count);
		break;
	case PROTO_WRITE:
		snprintf(what, sizeof(what), "write of %zu bytes", job->count);
		break;
	case PROTO_IOCTL:
	case PROTO_IOCTL_EXTENDED:
		snprintf(what, sizeof(what), "tape operation %d (count %d)", job->op,
		         job->op_count);
		break;
	case PROTO_SEEK:
		snprintf(what, sizeof(what), "%s",
		         job->kind == JOB_POSITION ? "tape position"
		         : job->kind == JOB_LOCATE ? "tape locate"
		                                   : "seek");
		break;
	case PROTO_STATUS:
	case PROTO_STATUS_FIELD:
		snprintf(what, sizeof(what), "status");
		break;
	default:
		return;
	}
	/* ENOTTY is a file's answer to tape requests, which clients send to probe. */
	if (error == ENOTTY)
		log_info("session %u: %s on %s: %s", s->id, what, s->drive->name, strerror(error));
	else
		log_warnx("session %u: %s on %s failed: %s", s->id, what, s->drive->name,
		          strerror(error));
}

static void reply_for_job(struct session *s, const struct job *job)
{
	const struct rmt_request *request = &s->request;

	if (job->pipe_count > 0 && job->result < 0) {
		record_pipe_discard(&s->staging); /* what the device did not take or give */
		session_pipe_record_gone(s);
	}
	if (job->result < 0) {
		medium_failure(s->drive, (int)-job->result);
		log_device_failure(s, job, (int)-job->result);
		session_reply_failure(s, (int)-job->result, NULL);
		return;
	}
	medium_success(s->drive);
	switch (request->command) {
	case PROTO_READ:
		if (job->result > 0) {
			session_record(s, job->pipe_count > 0 ? NULL : job->buffer,
			               (size_t)job->result, false);
		} else {
			medium_filemarks(s->drive, false, 1);
			pipeline_read_stopped(&s->pipeline);
		}
		if (job->pipe_count > 0)
			session_reply_from_pipe(s, (size_t)job->result);
		else
			session_reply_record(s, job->buffer, (size_t)job->result);
		break;
	case PROTO_WRITE:
		session_record(s, job->pipe_count > 0 ? NULL : job->buffer, (size_t)job->result,
		               true);
		session_reply_value(s, job->result);
		break;
	case PROTO_STATUS:
		session_reply_with_data(s, &job->status, sizeof(job->status));
		break;
	case PROTO_STATUS_FIELD:
		/* -1 is "unknown" for file and block numbers; DUMP and star read it so. */
		session_reply_signed_value(s, status_field(&job->status, request->status_letter));
		break;
	case PROTO_IOCTL:
	case PROTO_IOCTL_EXTENDED:
		if (job->op == MTWEOF || job->op == MTWEOFI)
			medium_filemarks(s->drive, true, job->op_count);
		/* BSD, DUMP and SCHILY answer the count; a negative one would break GNU clients. */
		session_reply_value(s, request->ioctl_count >= 0 ? request->ioctl_count : 0);
		break;
	case PROTO_SEEK:
		session_reply_value(s, job->kind == JOB_LOCATE ? request->offset : job->result);
		break;
	default:
		session_reply_value(s, 0);
		break;
	}
}

void session_finish(struct session *s)
{
	const struct session_transport *transport = s->transport;
	void *context = s->context;
	struct read_buffer unsent = s->read_buffer;
	char why[sizeof(s->end_reason)];

	if (session_on_thread(s)) {
		/* The transport and the drive's queue are the loop's: it finishes us. */
		s->finish_deferred = true;
		return;
	}
	strlcpy(why, s->end_reason, sizeof(why));
	log_info("session %u: ended (%s): %llu bytes written, %llu read", s->id, why,
	         (unsigned long long)s->bytes_written, (unsigned long long)s->bytes_read);
	session_enter_state(s, SESSION_ENDED);
	/* The transport drops what it still sends from the record before it is unmapped. */
	transport->finished(context, why);
	session_release_drive(s);
	session_free(s);
	read_buffer_give(&unsent);
}

/* The one way out: leave any drive queue, close the device (its filemark), finish. */
static void session_teardown(struct session *s)
{
	if (s->state == SESSION_WAITING) {
		struct drive *drive = drive_find(s->settings.drives, s->target.canonical);

		if (drive != NULL)
			drive_cancel_wait(s->settings.drives, drive, s);
	}
	session_enter_state(s, SESSION_ENDING);
	if (session_device_is_open(s)) {
		/* Closing writes the filemark after the last whole record, as st does. */
		session_submit(s, JOB_CLOSE, STEP_END);
		return;
	}
	session_finish(s);
}

/* Free what the session owns; the transport has been told already. */
static void session_free(struct session *s)
{
	if (s->timer != NULL)
		event_free(s->timer);
	config_release(s->settings.config);
	session_pipe_record_gone(s);
	record_pipe_close(&s->staging);
	free(s->input);
	free(s);
}

/*
 * A detached session's call came back at last: close what is open (a written
 * tape gets its filemark), then let the drive go and free the session.
 */
static void session_detached_job_done(struct session *s, const struct job *job)
{
	if (job->kind == JOB_OPEN && job->result >= 0) {
		s->drive->device_open = true;
		medium_opened(s->drive);
	} else if (job->kind == JOB_CLOSE)
		session_device_closed(s);
	if (session_device_is_open(s)) {
		session_submit(s, JOB_CLOSE, STEP_END);
		return;
	}
	log_info("session %u: the call left on %s returned; the drive is free again", s->id,
	         s->drive->name);
	session_release_drive(s);
	session_free(s);
}

static void session_job_done(struct job *job, void *arg)
{
	struct session *s = arg;
	bool ending = s->state == SESSION_ENDING;

	s->job_in_flight = false;
	s->idle_since_ms = clock_monotonic_ms();
	if (s->detached) {
		session_detached_job_done(s, job);
		return;
	}
	switch (s->step) {
	case STEP_TAKEN_BACK:
		if (job->result < 0)
			log_warnx("session %u: closing %s to take it back: %s", s->id,
			          s->drive->name, strerror((int)-job->result));
		session_device_closed(s);
		session_release_drive(s);
		break;
	case STEP_END:
		if (job->result < 0)
			log_warnx("session %u: closing %s at the end: %s", s->id, s->drive->name,
			          strerror((int)-job->result));
		session_device_closed(s);
		session_finish(s);
		return;
	case STEP_OPEN_AFTER_CLOSE:
		session_device_closed(s);
		if (job->result < 0)
			log_warnx("session %u: closing %s before the next open: %s", s->id,
			          s->drive->name, strerror((int)-job->result));
		if (ending)
			break;
		session_enter_state(s, SESSION_READING);
		if (strcmp(s->drive->name, s->target.canonical) == 0) {
			session_open_target(s);
		} else if (session_on_thread(s)) {
			s->reopen_deferred = true; /* another drive is the loop's to take */
		} else {
			session_release_drive(s);
			session_acquire_and_open(s);
		}
		break;
	case STEP_OPEN:
		if (job->result < 0) {
			/* ESHUTDOWN: stdio's open watch gave up on a blocking open at a signal. */
			const char *text = job->result == -ESHUTDOWN ? SHUTDOWN_TEXT : NULL;

			log_warnx("session %u: open %s failed: %s", s->id, s->target.canonical,
			          text != NULL ? text : strerror((int)-job->result));
			if (!ending)
				session_reply_failure(
				    s, (int)-job->result,
				    text != NULL ? text
				    : job->result == -EBUSY
				        ? "Device busy: another process has it open"
				        : NULL);
			session_release_drive(s);
		} else {
			s->drive->device_open = true;
			s->drive->opened = true;
			s->drive->device.open_flags = s->target.flags;
			medium_opened(s->drive);
			session_note_position(s, job);
			if (session_hold_seconds(s) > 0)
				session_arm_timer(s, session_hold_seconds(s));
			/* A virtual tape is a cartridge of its own; a real one is known by its
			 * label. */
			drive_accounting_start(s->drive, s->settings.config->state_directory,
			                       backend_libdrive_cartridge(&s->drive->device) != NULL
			                           ? backend_libdrive_cartridge(&s->drive->device)
			                       : s->drive->kind == DEVICE_KIND_VTAPE
			                           ? s->drive->name
			                           : NULL);
			s->operation = "Open";
			if (!ending)
				session_reply_value(s, 0);
		}
		break;
	case STEP_REPLY:
		if (s->request.command == PROTO_CLOSE) {
			session_device_closed(s);
			if (job->result < 0)
				log_warnx("session %u: close of %s: %s", s->id, s->drive->name,
				          strerror((int)-job->result));
		}
		/* A library drive's call may have loaded another cartridge. */
		if (s->request.command != PROTO_CLOSE) {
			struct mtget came_in;

			if (backend_libdrive_went_out(&s->drive->device))
				medium_cartridge_left(s->drive);
			if (drive_accounting_follow(
			        s->drive, backend_libdrive_cartridge(&s->drive->device)) &&
			    backend_libdrive_came_in(&s->drive->device, &came_in)) {
				medium_opened(s->drive);
				medium_position(s->drive, &came_in);
			}
		}
		/* A record in flight completes and is answered even when the session ends. */
		reply_for_job(s, job);
		session_settle_read_buffer(s);
		if (job->result >= 0)
			session_note_position(s, job);
		if (s->request.command == PROTO_CLOSE)
			session_release_drive(s);
		break;
	}
	if (s->state == SESSION_ENDING) {
		session_teardown(s);
		return;
	}
	/*
	 * Unless this completion submitted the next call (an open after a close):
	 * that one is in flight now, and the requests after it wait for it.
	 */
	if (s->state == SESSION_BUSY && !s->job_in_flight)
		session_enter_state(s, SESSION_READING);
	session_run(s);
}

/* ---------------------------------------------------------------- input */

static void session_compact_input(struct session *s)
{
	size_t pending = s->input_end - s->input_start;

	if (s->input_start == 0)
		return;
	if (pending > 0)
		memmove(s->input, s->input + s->input_start, pending);
	s->input_start = 0;
	s->input_end = pending;
}

void session_run(struct session *s)
{
	if (s->handling)
		return;
	s->handling = true;
	while (!s->closing) {
		/* The drive's thread serves only a session with its device open. */
		if (session_on_thread(s) && !session_keeps_device(s))
			break;
		if (s->state == SESSION_DATA || s->state == SESSION_SWALLOW) {
			if (s->data_remaining > 0 && !session_take_data(s))
				break;
			session_data_complete(s);
			continue;
		}
		if (s->state != SESSION_READING)
			break;
		if (s->draining && !proto_parser_in_request(&s->parser) &&
		    !s->transport->output_full(s->context)) {
			/* Between requests: the client reads why as the answer to its next one. */
			session_tell(s, ESHUTDOWN, SHUTDOWN_TEXT);
			s->closing = true;
			break;
		}
		if (s->abort_requested) {
			session_tell(s, ECANCELED, ABORT_TEXT);
			s->closing = true;
			break;
		}
		/* Not while a reply still goes out from the drive's record buffer. */
		if (s->take_back != 0 && s->drive != NULL &&
		    !s->transport->output_full(s->context)) {
			session_take_back(s);
			continue;
		}
		if (s->input_start == s->input_end || s->transport->output_full(s->context))
			break;
		enum proto_result result;
		size_t used = proto_parse(&s->parser, s->input + s->input_start,
		                          s->input_end - s->input_start, &s->request, &result);

		s->input_start += used;
		if (result == PROTO_REQUEST)
			handle_request(s, &s->request);
	}
	s->handling = false;
	session_flush_replies(s);
	/* A client that closed its side still gets the reply that is going out. */
	if (!s->closing && s->input_ended &&
	    (s->state == SESSION_DATA || s->state == SESSION_SWALLOW ||
	     (s->state == SESSION_READING && !s->transport->output_full(s->context)))) {
		/* EOF: a half-sent command is dropped quietly; a cut record is never written. */
		if (s->state != SESSION_READING)
			session_reply_failure(s, EIO, "Premature eof");
		s->closing = true;
		if (s->end_reason[0] == '\0')
			strlcpy(s->end_reason, "client closed", sizeof(s->end_reason));
	}
	if (s->closing) {
		if (s->state == SESSION_BUSY || s->state == SESSION_ENDING)
			session_enter_state(s, SESSION_ENDING); /* the completion tears down */
		else
			session_teardown(s);
		return;
	}
	/* While a call is in flight its record may lie in the input buffer: keep it still. */
	if (s->state != SESSION_BUSY && s->state != SESSION_ENDING)
		session_compact_input(s);
	s->transport->input_changed(s->context);
	if (session_on_thread(s))
		session_publish(s);
	else if (session_may_move(s))
		s->transport->move_to_drive(s->context);
}

/* ---------------------------------------------------------------- public */

struct session *session_create(const struct session_settings *settings,
                               const struct session_transport *transport, void *context)
{
	struct session *s = calloc(1, sizeof(*s));
	struct proto_limits limits;

	if (s == NULL)
		return NULL;
	s->settings = *settings;
	config_hold(s->settings.config);
	s->input_size = settings->input_buffer_size;
	s->input = malloc(s->input_size);
	if (s->input == NULL) {
		config_release(s->settings.config);
		free(s);
		return NULL;
	}
	s->id = session_next_id++;
	record_pipe_init(&s->staging);
	s->transport = transport;
	s->context = context;
	s->state = SESSION_READING;
	s->operation = "idle";
	s->started = time(NULL);
	s->idle_since_ms = clock_monotonic_ms();
	limits.max_record = settings->max_record;
	proto_parser_init(&s->parser, &limits);
	escape_text(s->identity_shown, sizeof(s->identity_shown), settings->identity);
	log_info("session %u: started for %s from %s", s->id, s->identity_shown, settings->peer);
	return s;
}

/*
 * The input buffer's size follows the device: with one open, a pipelining
 * client's requests come many to a read (and their answers leave many to a
 * write); without, it stays small, so an idle session costs little. Changed
 * only between requests, when nothing points into it.
 */
static void session_size_input(struct session *s)
{
	size_t want = s->settings.input_buffer_size;
	uint8_t *input;

	if (session_device_is_open(s) && s->settings.input_open_size > want)
		want = s->settings.input_open_size;
	if (want == s->input_size || s->state != SESSION_READING || s->job_in_flight || s->handling)
		return;
	session_compact_input(s);
	if (s->input_end > want)
		return; /* smaller once this much has been handled */
	input = realloc(s->input, want);
	if (input == NULL)
		return; /* the buffer it has still serves */
	s->input = input;
	s->input_size = want;
}

void session_input_space(struct session *s, void **where, size_t *length)
{
	if (s->state == SESSION_DATA && s->record_in_pipe) {
		/* The record's bytes go into rmtd's pipe (session_input_pipe). */
		*where = NULL;
		*length = 0;
		return;
	}
	if (s->state == SESSION_DATA && s->input_start == s->input_end) {
		/* Large records go straight from the transport into the record buffer. */
		*where = s->record + s->record_have;
		*length = (size_t)s->data_remaining;
		return;
	}
	if (s->state == SESSION_ENDING || s->state == SESSION_ENDED || s->input_ended) {
		*where = NULL;
		*length = 0;
		return;
	}
	session_size_input(s);
	*where = s->input + s->input_end;
	*length = s->input_size - s->input_end;
	/*
	 * Where the rest of a large W record can be spliced, take a first piece
	 * only: what is read is copied twice (into memory, then to the device),
	 * what is spliced once.
	 */
	if (*length > SPLICE_READ_AHEAD && s->state == SESSION_READING && s->drive != NULL &&
	    s->drive->device.pipe_writes && s->transport->input_splices != NULL &&
	    s->transport->input_splices(s->context))
		*length = SPLICE_READ_AHEAD;
}

void session_input_added(struct session *s, size_t length)
{
	if (s->state == SESSION_DATA && s->input_start == s->input_end) {
		s->record_have += length;
		s->data_remaining -= length;
	} else {
		s->input_end += length;
	}
	session_run(s);
}

void session_input_end(struct session *s)
{
	s->input_ended = true;
	if (s->state == SESSION_WAITING)
		session_close(s, "client closed while waiting");
	else if (s->state == SESSION_READING || s->state == SESSION_DATA ||
	         s->state == SESSION_SWALLOW)
		session_run(s);
}

void session_output_drained(struct session *s)
{
	session_settle_read_buffer(s);
	session_run(s);
}

void session_close(struct session *s, const char *why)
{
	if (session_elsewhere(s)) {
		/* Its deadlines are the serve loop's: the loop can only cut it. */
		serve_command(s->serving, SERVE_ABORT);
		s->commands_sent |= SERVE_ABORT;
		return;
	}
	if (s->state == SESSION_ENDED || s->state == SESSION_ENDING)
		return;
	if (s->end_reason[0] == '\0')
		strlcpy(s->end_reason, why, sizeof(s->end_reason));
	s->closing = true;
	if (s->handling)
		return; /* session_run tears down when it unwinds */
	if (s->state == SESSION_BUSY) {
		session_enter_state(s, SESSION_ENDING); /* the call in flight completes first */
		return;
	}
	session_teardown(s);
}

uint64_t session_started_count(void)
{
	return session_next_id - 1;
}

/* ---------------------------------------------------------------- accessors */

bool session_holds_drive(const struct session *s)
{
	return s->drive != NULL;
}

unsigned session_id(const struct session *s)
{
	return s->id;
}

uint64_t session_requests(const struct session *s)
{
	return s->requests;
}

int64_t session_idle_since_ms(const struct session *s)
{
	return s->idle_since_ms;
}

const char *session_command_reason(const struct session *s, const char *fallback)
{
	return s->command_why[0] != '\0' ? s->command_why : fallback;
}
