/*
 * session_record.c - the route a W or R record takes between client and device.
 *
 * A W record is taken in place from the input buffer when all of it is there,
 * else collected in the drive's record buffer or, when large and both ends can
 * splice, in rmtd's pipe; it goes to the device only once all of it is here.
 * An R record is read into the drive's record buffer, a read buffer of its
 * own when large, or rmtd's pipe, and sent from there. Every record written
 * or read passes session_record().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "drive.h"
#include "label.h"
#include "log.h"
#include "medium.h"
#include "reply.h"
#include "session_internal.h"

/*
 * Every record written or read, whatever route it took (in memory, through
 * the drive's thread, spliced): the session's counters, then the drive's
 * bookkeeping; a record that made its file's content known names the operation.
 * record is NULL when the data never passed through memory.
 */
void session_record(struct session *s, const void *record, size_t length, bool writing)
{
	struct medium *medium = &s->drive->medium;

	if (writing) {
		s->bytes_written += length;
		s->records_written++;
	} else {
		s->bytes_read += length;
		s->records_read++;
	}
	if (!medium_record(s->drive, record, length, writing))
		return;
	s->operation = label_operation(&medium->content, writing);
	log_info("session %u: %s file %d: %s", s->id, s->drive->name, medium->file_number,
	         medium->description);
}

/*
 * The one choice of whether a record (for W, the part not here yet) moves
 * through rmtd's pipe rather than memory, never copied: the transport splices
 * (W: its input into a pipe, read by the serve loop; R: a pipe to its output),
 * the device takes records from a pipe or reads into one (a plain file), and
 * the pipe can be made large enough.
 */
static bool session_through_pipe(struct session *s, bool writing, uint64_t length)
{
	const struct device *dev = &s->drive->device;
	const struct session_transport *t = s->transport;
	bool transport_can, device_can;

	if (length < SPLICE_MINIMUM)
		return false;
	if (writing) {
		transport_can = t->input_splices != NULL && t->input_splices(s->context);
		device_can = dev->ops->write_from_pipe != NULL && dev->pipe_writes;
	} else {
		transport_can =
		    t->splice_out != NULL && t->splice_out(s->context, NULL, 0, -1, 0) == 0;
		device_can = dev->ops->read_to_pipe != NULL && dev->pipe_reads;
	}
	return transport_can && device_can &&
	       record_pipe_ready(&s->staging,
	                         writing ? record_pipe_size_for((size_t)length)
	                                 : dev->ops->pipe_read_size(dev, (size_t)length)) == 0;
}

/* The answer's text when that total is reached, for an R or a W alike. */
#define LARGE_RECORDS_FULL "Memory for large records of all sessions in use"

/* The total of large records all sessions may hold in memory (rmtd.conf: limit read-buffers). */
static uint64_t session_read_total(const struct session *s)
{
	int64_t total = s->settings.config->read_buffers;

	return total > 0 ? (uint64_t)total : READ_BUFFER_DEFAULT_TOTAL;
}

/* A large R's record is kept only until the transport no longer sends from it. */
void session_settle_read_buffer(struct session *s)
{
	if (s->read_buffer.data != NULL && !s->transport->output_full(s->context))
		read_buffer_give(&s->read_buffer);
}

/* An R record in rmtd's pipe went to the client, or never will: it counts no more. */
void session_pipe_record_gone(struct session *s)
{
	if (s->pipe_counted > 0)
		read_buffer_uncount(s->pipe_counted);
	s->pipe_counted = 0;
}

void session_handle_read(struct session *s, const struct rmt_request *request)
{
	int error = 0;

	if (!session_device_is_open(s)) {
		session_reply_failure(s, EBADF, NULL);
		return;
	}
	if (s->device_max_record > 0 && request->length > s->device_max_record) {
		session_reply_failure(s, ENOMEM, "Record larger than your rule allows");
		return;
	}
	s->job.count = (size_t)request->length;
	s->job.pipe_count = 0;
	if (session_through_pipe(s, false, request->length)) {
		/*
		 * From the device into rmtd's pipe, and from there to the client; a
		 * client that takes none of it holds it there, so it is counted as a
		 * read buffer would be (one of its size would).
		 */
		if (s->job.count > READ_BUFFER_SMALL)
			error = read_buffer_count(s->job.count, session_read_total(s));
		s->pipe_counted = error == 0 && s->job.count > READ_BUFFER_SMALL ? s->job.count : 0;
		if (error == 0)
			log_debug("session %u: R%zu through rmtd's pipe", s->id, s->job.count);
		s->job.buffer = NULL;
		s->job.pipe = s->staging.write_fd;
		s->job.pipe_count = s->job.count;
	} else if (s->job.count > READ_BUFFER_SMALL) {
		error = read_buffer_take(&s->read_buffer, s->job.count, session_read_total(s));
		s->job.buffer = s->read_buffer.data;
	} else {
		s->job.buffer = drive_record_buffer(s->drive, s->job.count, session_read_total(s));
		if (s->job.buffer == NULL && s->job.count > 0) {
			session_reply_failure(s, ENOMEM, NULL);
			return;
		}
	}
	if (error < 0) {
		log_warnx("session %u: R%zu refused: %s (%llu bytes in read buffers)", s->id,
		          s->job.count,
		          error == -ENOBUFS ? "the read buffer total is reached" : strerror(-error),
		          (unsigned long long)read_buffer_in_use());
		session_reply_failure(s, -error, error == -ENOBUFS ? LARGE_RECORDS_FULL : NULL);
		return;
	}
	s->operation = "Read";
	session_submit(s, JOB_READ, STEP_REPLY);
}

/* W: take the record from the input buffer in place if it is all there, else collect it. */
void session_handle_write_header(struct session *s, const struct rmt_request *request)
{
	uint64_t length = request->data_length;
	size_t available = s->input_end - s->input_start;

	if (request->error == 0 && session_device_is_open(s) && s->device_max_record > 0 &&
	    length > s->device_max_record) {
		s->swallow_error = ENOMEM;
		s->swallow_text = "Record larger than your rule allows";
		s->data_remaining = length;
		session_enter_state(s, SESSION_SWALLOW);
		return;
	}
	if (request->error != 0 || !session_device_is_open(s)) {
		/* Refused, but its data is still read, so the stream stays in step. */
		s->swallow_error = request->error != 0 ? request->error : EBADF;
		s->swallow_text = request->error != 0 ? request->error_text : NULL;
		s->data_remaining = length;
		session_enter_state(s, SESSION_SWALLOW);
		return;
	}
	s->operation = "Write";
	s->job.count = (size_t)length;
	s->job.pipe_count = 0;
	if (available >= length) {
		s->job.buffer = s->input + s->input_start;
		s->input_start += length;
		session_submit(s, JOB_WRITE, STEP_REPLY);
		return;
	}
	/*
	 * A record goes to the device only once all of it is here, whatever the
	 * device: a crash of rmtd while it arrives leaves no part of it behind.
	 */
	if (session_through_pipe(s, true, length - available)) {
		/* Nothing reads into the input buffer until the record is written. */
		s->record = s->input + s->input_start;
		s->record_head = available;
		s->record_in_pipe = true;
		s->input_start += available;
		s->record_have = available;
		s->data_remaining = length - available;
		log_debug("session %u: W%" PRIu64 " collected in rmtd's pipe", s->id, length);
		session_enter_state(s, SESSION_DATA);
		return;
	}
	s->record = drive_record_buffer(s->drive, (size_t)length, session_read_total(s));
	if (s->record == NULL) {
		/* Its data is still read, so the stream stays in step. */
		s->swallow_error = errno;
		s->swallow_text = errno == ENOBUFS ? LARGE_RECORDS_FULL : NULL;
		log_warnx("session %u: W%" PRIu64 " refused: %s (%llu bytes in large records)",
		          s->id, length, strerror(errno), (unsigned long long)read_buffer_in_use());
		s->data_remaining = length;
		session_enter_state(s, SESSION_SWALLOW);
		return;
	}
	memcpy(s->record, s->input + s->input_start, available);
	s->input_start += available;
	s->record_have = available;
	s->data_remaining = length - available;
	session_enter_state(s, SESSION_DATA);
}

/* An R reply whose data waits in rmtd's pipe: the header, then the data spliced after it. */
void session_reply_from_pipe(struct session *s, size_t length)
{
	char header[REPLY_HEADER_MAX];
	size_t n = reply_ok(header, sizeof(header), (int64_t)length);
	ssize_t moved;

	session_flush_replies(s); /* the answers before it go first */
	if (session_on_thread(s))
		session_publish(s); /* as session_send() does */
	/* Not to a client let go, or that has its last answer. */
	moved = s->detached || s->told
	            ? -EPIPE
	            : s->transport->splice_out(s->context, header, n, s->staging.read_fd, length);
	if (moved != (ssize_t)length) {
		/* The client is gone: what it did not take must not go to the next reply. */
		record_pipe_discard(&s->staging);
		session_send_failed(s, moved < 0 ? (int)moved : -EPIPE);
	}
	session_pipe_record_gone(s);
}

bool session_take_data(struct session *s)
{
	size_t available = s->input_end - s->input_start;
	size_t take = available < s->data_remaining ? available : (size_t)s->data_remaining;

	if (s->state == SESSION_DATA)
		memcpy(s->record + s->record_have, s->input + s->input_start, take);
	s->record_have += take;
	s->input_start += take;
	s->data_remaining -= take;
	return s->data_remaining == 0;
}

void session_data_complete(struct session *s)
{
	if (s->state == SESSION_SWALLOW) {
		session_enter_state(s, SESSION_READING);
		session_reply_failure(s, s->swallow_error, s->swallow_text);
		return;
	}
	s->job.buffer = s->record;
	s->job.count = (size_t)s->record_have;
	s->job.pipe = s->record_in_pipe ? s->staging.read_fd : -1;
	s->job.pipe_count = s->record_in_pipe ? (size_t)s->record_have - s->record_head : 0;
	s->record_in_pipe = false;
	session_submit(s, JOB_WRITE, STEP_REPLY);
}

int session_input_pipe(struct session *s, size_t *length)
{
	if (s->state != SESSION_DATA || !s->record_in_pipe || s->input_ended) {
		*length = 0;
		return -1;
	}
	*length = (size_t)s->data_remaining;
	return s->staging.write_fd;
}

/*
 * rmtd's pipe is full before the record is: its pages were small pieces. The
 * record is collected in memory after all, from what the pipe holds.
 */
static void session_collect_in_memory(struct session *s)
{
	size_t staged = (size_t)s->record_have - s->record_head;
	uint8_t *record = drive_record_buffer(
	    s->drive, (size_t)(s->record_have + s->data_remaining), session_read_total(s));
	int error = record != NULL ? 0 : -errno;

	if (record != NULL) {
		memcpy(record, s->record, s->record_head);
		error = record_pipe_drain(&s->staging, record + s->record_head, staged);
	}
	s->record_in_pipe = false;
	log_debug("session %u: rmtd's pipe is full of small pieces; the record is copied", s->id);
	if (error < 0) {
		log_warnx("session %u: W record: %s", s->id, strerror(-error));
		record_pipe_discard(&s->staging);
		s->swallow_error = -error;
		s->swallow_text = NULL;
		session_enter_state(s, SESSION_SWALLOW);
		return;
	}
	s->record = record;
}

void session_input_spliced(struct session *s, size_t length, bool room)
{
	s->record_have += length;
	s->data_remaining -= length;
	if (s->data_remaining > 0 && !room)
		session_collect_in_memory(s);
	session_run(s);
}
