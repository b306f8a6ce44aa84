/*
 * session_internal.h - the session's state, shared by the files that make up
 * one session: session.c (the conversation: states, parsing, dispatch,
 * completions), session_open.c (O and taking the drive), session_tape.c (tape
 * operations, seek, status, close), session_record.c (the route of a W or R
 * record), session_operator.c (abort, take back, cut, shutdown, timers, the
 * operator's view) and session_thread.c (serving it on its drive's thread).
 * Nothing outside these files includes it.
 */
#ifndef RMTD_SESSION_INTERNAL_H
#define RMTD_SESSION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "path.h"
#include "pipeline_state.h"
#include "proto.h"
#include "read_buffer.h"
#include "record_pipe.h"
#include "session.h"
#include "tapeop_class.h"
#include "worker.h"

struct event;
struct drive;

enum session_state {
	SESSION_READING,
	SESSION_DATA,
	SESSION_SWALLOW,
	SESSION_BUSY,
	SESSION_WAITING,
	SESSION_ENDING,
	SESSION_ENDED,
};

/* What to do once the device call in flight completes. */
enum session_step {
	STEP_REPLY,            /* send the reply for the request */
	STEP_OPEN_AFTER_CLOSE, /* the old device is closed: now open the new one */
	STEP_OPEN,             /* the open completed */
	STEP_END,              /* the device is closed: end the session */
	STEP_TAKEN_BACK,       /* the device is closed: let the drive go, keep the session */
};

/* What a client ended by SIGTERM reads, in reply to its pending or next request. */
#define SHUTDOWN_TEXT "rmtd shutting down"
#define ABORT_TEXT    "Session aborted by the operator"

/* Replies held at most (session_send()): about 30 A<count> answers. */
#define HELD_REPLIES_MAX 256

struct session {
	unsigned id;
	struct session_settings settings;
	char identity_shown[4 * 256 + 1]; /* settings.identity, escaped for the log */
	const struct session_transport *transport;
	void *context;

	enum session_state state;
	enum session_step step;
	bool job_in_flight; /* s->job is submitted and its completion not yet run */
	struct proto_parser parser;
	struct rmt_request request;
	bool handling; /* inside session_run: completions must not recurse */
	bool input_ended;
	bool closing;  /* the session ends once the call in flight completes */
	bool draining; /* end after the request being received (SIGTERM) */
	bool abort_requested;
	bool told; /* the client has its last reply: an error saying why the session ends */
	char end_reason[64];

	/*
	 * Ended while a device call had not returned (session_cut): the client is gone,
	 * the session waits for the call, then closes the device and lets the drive go.
	 */
	bool detached;
	struct event *timer;   /* the hold timeout, and the end of an abort's grace */
	int64_t idle_since_ms; /* when the last request began or a device call ended (monotonic) */
	time_t abort_deadline; /* rmtctl kill: when a call still in flight is given up on */
	int take_back;         /* take the drive back at the next chance: the error to give */
	int taken_back;        /* the drive was taken back: the next request's error, 0 none */
	const char *taken_back_text;

	/*
	 * Short replies to a pipelining client, held while its next request is
	 * already in the input: they leave together when session_run() has handled
	 * what it can (session_flush_replies()).
	 */
	char held_replies[HELD_REPLIES_MAX];
	size_t held_length;

	/* Input buffer: [start, end) holds unparsed bytes. */
	uint8_t *input;
	size_t input_start, input_end, input_size;

	/* W data being collected, or swallowed. */
	uint8_t *record;
	uint64_t record_have;
	/*
	 * A large record collected in rmtd's pipe rather than in memory: its first
	 * record_head bytes stay in the input buffer (record points at them), the
	 * rest goes into staging (session_input_pipe()).
	 */
	bool record_in_pipe;
	size_t record_head;
	struct record_pipe staging;
	uint64_t data_remaining;
	int swallow_error;
	const char *swallow_text;
	uint64_t device_max_record;     /* the rule's record limit for this device, 0: none */
	struct tapeop_grant tape_grant; /* what the open and its rule let tape operations do */
	struct read_buffer read_buffer; /* a large R's record, until the client has taken it */
	size_t pipe_counted; /* an R record in rmtd's pipe, counted with the read buffers */

	/* The drive held, and the one an O is opening. */
	struct drive *drive;
	struct resolved_path target;
	bool rmt_v1;                    /* after I-1: standard op numbers */
	struct pipeline_state pipeline; /* after I-2: what a pipelining client agreed */
	struct job job;

	/* For the operator. */
	const char *operation;
	uint64_t bytes_written, bytes_read, records_written, records_read;
	uint64_t requests;
	time_t started;
	time_t waiting_since;

	/*
	 * Served on the drive's thread (session_move_to_drive()). The loop sets and
	 * clears serving and owns the fields after it; the thread owns the rest of
	 * the session meanwhile, and publishes what the operator sees.
	 */
	struct serve *serving;
	int commands_sent;                 /* commands the loop gave the thread (serve.h) */
	char command_why[64];              /* a kill's reason, written before the command */
	time_t stuck_deadline;             /* after a kill: when the thread is given up on */
	bool let_go;                       /* the thread did not come back in time: client let go */
	int hold_seconds, stop_grace;      /* the registry's, copied for the thread */
	bool release_deferred;             /* thread: the drive goes back once the loop has us */
	bool reopen_deferred;              /* thread: an O for another drive waits for the loop */
	bool finish_deferred;              /* thread: ended; the loop finishes the session */
	struct session_activity published; /* thread: the operator's view (drive->view_lock) */
	uint64_t published_texts;          /* the texts' version in it */
};

/* Records smaller than this are cheaper to copy than to splice. */
#define SPLICE_MINIMUM (64 * 1024)
/* What a read takes when the rest of a record may be spliced: a 64 KiB record and its header. */
#define SPLICE_READ_AHEAD (64 * 1024 + 4096)

/* session.c */
void session_flush_replies(struct session *s);
void session_enter_state(struct session *s, enum session_state state);
void session_send(struct session *s, const void *header, size_t header_length, const void *data,
                  size_t data_length);
void session_send_failed(struct session *s, int error);
void session_reply_value(struct session *s, int64_t value);
void session_reply_signed_value(struct session *s, int64_t value);
void session_reply_failure(struct session *s, int error, const char *text);
void session_reply_with_data(struct session *s, const void *data, size_t length);
void session_submit(struct session *s, enum job_kind kind, enum session_step step);
void session_run(struct session *s);
void session_tell(struct session *s, int error, const char *text);
void session_finish(struct session *s);
void session_release_drive(struct session *s);
bool session_device_is_open(const struct session *s);

/* session_open.c */
void session_acquire_and_open(struct session *s);
void session_handle_open(struct session *s, const struct rmt_request *request);
void session_open_target(struct session *s);

/* session_operator.c */
void session_arm_timer(struct session *s, time_t seconds);
void session_activity_live(const struct session *s, struct session_activity *activity);
bool session_activity_changed(const struct session *s, const struct session_activity *view,
                              uint64_t texts_version, struct session_activity *now);
void session_activity_refresh(const struct session *s, struct session_activity *view,
                              const struct session_activity *now, uint64_t *texts_version);
uint64_t session_activity_texts_version(const struct session *s);

/* session_record.c */
void session_record(struct session *s, const void *record, size_t length, bool writing);
void session_settle_read_buffer(struct session *s);
void session_pipe_record_gone(struct session *s);
void session_handle_read(struct session *s, const struct rmt_request *request);
void session_handle_write_header(struct session *s, const struct rmt_request *request);
void session_reply_from_pipe(struct session *s, size_t length);
bool session_take_data(struct session *s);
void session_data_complete(struct session *s);

/* session_tape.c */
void session_handle_ioctl(struct session *s, const struct rmt_request *request);
void session_handle_ioctl_extended(struct session *s, const struct rmt_request *request);
void session_handle_seek(struct session *s, const struct rmt_request *request);
void session_handle_close(struct session *s);
void session_handle_status(struct session *s);
void session_handle_status_field(struct session *s, const struct rmt_request *request);

/* session_thread.c */
bool session_elsewhere(const struct session *s);
bool session_on_thread(const struct session *s);
void session_publish(struct session *s);
int session_hold_seconds(const struct session *s);
void session_served_timer(struct session *s, time_t now);

#endif
