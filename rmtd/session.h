/*
 * session.h - one client's conversation: bytes in, parser, drive, replies out.
 *
 * The session knows nothing of sockets. A transport (transport.c: stdio, TCP,
 * inetd, TLS) asks it where to put the next input bytes, tells it how many
 * arrived, and carries the replies it sends. Requests are handled strictly in
 * order, one device call at a time; input that arrives meanwhile waits in the
 * session's bounded input buffer (the transport stops reading when it is full).
 */
#ifndef RMTD_SESSION_H
#define RMTD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "acl.h"
#include "label.h"

struct session;
struct drive_registry;
struct config;
struct job;
struct serve;

struct session_transport {
	/*
	 * Send a reply (all of it, queueing what cannot go out now). 0, or -errno.
	 * The last part (R data) may be sent from where it lies, not copied, so the
	 * session changes nothing there while output_full() is true.
	 */
	int (*send)(void *context, const struct iovec *iov, int count);
	/* The session has ended (why: a short reason for the log); free the transport. */
	void (*finished)(void *context, const char *why);
	/* Input space changed: the transport may (re)start or stop reading. */
	void (*input_changed)(void *context);
	/* True while so much output waits that no new request should be started. */
	bool (*output_full)(void *context);
	/*
	 * Send head (an R reply's header), then move length bytes from fd (rmtd's
	 * pipe holding the record) straight to the client (splice). NULL, or
	 * -EOPNOTSUPP, when the transport cannot (fd -1 asks). Returns the bytes
	 * of fd moved (fewer only at the end of fd), or -errno.
	 */
	ssize_t (*splice_out)(void *context, const void *head, size_t head_length, int fd,
	                      size_t length);
	/*
	 * The session may be served on its drive's thread now (session_may_move()):
	 * the transport hands itself over later, from the loop, if it still may
	 * (session_move_to_drive()). NULL: never (stdio).
	 */
	void (*move_to_drive)(void *context);
	/*
	 * The drive's thread has not come back within an abort's grace: send
	 * last_reply unless a reply is half written, and end the connection under
	 * the thread (the client sees its end), without freeing anything.
	 */
	void (*let_go)(void *context, const void *last_reply, size_t length);
	/*
	 * True when the serve loop reads this transport's input, a pipe or a
	 * plain socket: it can splice input into a pipe of the session's
	 * (session_input_pipe()), and device calls run inline, so no input is read
	 * while one is in flight. NULL: never (TLS).
	 */
	bool (*input_splices)(void *context);
};

struct session_settings {
	struct config *config; /* drives, spools and rules; held for the session's life */
	struct drive_registry *drives;
	uint64_t max_record;
	size_t input_buffer_size;   /* for headers and small records */
	size_t input_open_size;     /* the same while a device is open (0: as input_buffer_size) */
	const char *peer;           /* "local", an address, or SSH_CONNECTION's client */
	const char *identity;       /* the user or certificate the rules apply to, for logs */
	struct client_identity who; /* what the rules match on (strings outlive the session) */
	int request_timeout;        /* seconds a request may take to arrive (0: no limit) */
	int idle_timeout;           /* seconds between requests (0: no limit); the serve loop's */
};

/* Snapshot of what a session is doing, for the operator (rmtctl status). */
struct session_activity {
	/* The numbers first, up to content: a drive's thread compares them as one block. */
	unsigned id;
	const char *peer;
	const char *identity;
	const char *drive;     /* canonical name, or NULL */
	const char *operation; /* "Write", "Read", "Rewind", ... or "idle" */
	const char *state;     /* "", "[drive wait]", "[abort requested]", ... */
	uint64_t bytes_written, bytes_read;
	uint64_t records_written, records_read;
	uint64_t requests; /* requests begun so far: a slow request is one that keeps this still */
	time_t started;
	time_t waiting_since; /* when it began waiting for a drive, or 0 */
	int file_number;      /* tape file being written or read, -1 when unknown */
	char content[160];    /* what the current tape file holds (label.c), "" when unknown */
	const char *format;   /* that file's format: "dump", "tar"... (static), NULL when unknown */
	char label[LABEL_TEXT_MAX]; /* its volume label as written (unescaped), "" when none */
};

struct session *session_create(const struct session_settings *settings,
                               const struct session_transport *transport, void *context);

/* Where the transport should read the next bytes to, and how many at most (0: none now). */
void session_input_space(struct session *session, void **where, size_t *length);
/* length bytes were placed where session_input_space said; handle what is complete. */
void session_input_added(struct session *session, size_t length);
/*
 * A large W record for a plain file is collected in rmtd's own pipe
 * (record_pipe.h) when the transport's input_splices says so: the pipe to
 * splice the next input bytes into and how many at most, or -1 when input goes
 * to session_input_space().
 */
int session_input_pipe(struct session *session, size_t *length);
/*
 * length bytes were spliced into that pipe; room false: it can take no more
 * now (the client's pages were small), and the record is copied after all.
 */
void session_input_spliced(struct session *session, size_t length, bool room);
/* The client closed its side (or the connection broke). */
void session_input_end(struct session *session);
/* The transport's output drained below its limit again (backpressure released). */
void session_output_drained(struct session *session);
/* End the session now: the request in flight completes, the device is closed. */
void session_close(struct session *session, const char *why);
/*
 * Ask a session to end at its next request boundary, answering the client with an
 * error (E125). A call or a record still in progress after the drives' stop grace
 * gets session_cut(), leaving the call. May end and free the session at once.
 */
void session_abort(struct session *session, const char *why);
/*
 * End now, whatever the session is doing: the client gets E<error> with text in
 * reply to the request it is sending or waiting on (not in the middle of a reply
 * already begun), and a half-received record is dropped, never written. A device
 * call in flight is waited for, unless leave_call: then the client is let go at
 * once and the drive, logged as abandoned, stays with the call until it returns.
 */
void session_cut(struct session *session, int error, const char *text, const char *why,
                 bool leave_call);
/*
 * Take the session's drive back (rmtctl release): between requests at once, else
 * once the request in progress is answered. The device is closed, the drive goes
 * to the next waiter, and the session's next request on it fails with ECANCELED.
 * False when the session holds no drive or is ending. May free the session.
 */
bool session_take_back_drive(struct session *session);

void session_activity(const struct session *session, struct session_activity *activity);
/* How many sessions this process has started (the metrics' sessions counter). */
uint64_t session_started_count(void);

/* What a session is doing, for timeouts: a busy or waiting session is never idle. */
enum session_phase {
	SESSION_PHASE_IDLE,    /* between requests */
	SESSION_PHASE_PARTIAL, /* part of a request has arrived */
	SESSION_PHASE_BUSY,    /* a device call is in flight, or it waits for a drive */
};
enum session_phase session_phase(const struct session *session);

/*
 * Shut down gracefully (SIGTERM): a request being received is completed and
 * answered, then the device is closed and the session ends. Between requests the
 * client gets "E108 rmtd shutting down" (ESHUTDOWN) as the answer to its next
 * request; what is still in progress after the grace period gets session_cut().
 */
void session_shutdown(struct session *session);

/*
 * Served on the drive's thread. The daemon hands a session (plaintext or TLS) to the
 * thread of the drive it holds once its device is open and it is between
 * requests, and takes it back when it no longer has the device open (or has
 * ended). Meanwhile the loop's calls above (abort, cut, shutdown, take back)
 * become commands to the serve loop (serve.h), status reads what the thread
 * publishes after each request, and the phase is BUSY.
 */
/* The loop: the session may move to its drive's thread now. */
bool session_may_move(const struct session *session);
/*
 * The loop: hand the session over; job (a JOB_CALL the transport prepared, whose
 * call runs serve_run(serve, ...)) goes to the drive's thread.
 */
void session_move_to_drive(struct session *session, struct serve *serve, struct job *job);
/*
 * The loop, once that job is done: release the drive, finish the session or
 * open another drive as the thread left it to, obey what commands the thread
 * did not, and go on with buffered input. May end and free the session.
 */
void session_back_from_drive(struct session *session);

/* The serve loop's view of its session (the thread that serves it). */
void session_serve_here(struct session *session, bool here);
/* Handle input already buffered. */
void session_resume(struct session *session);
/* Still has its device open and goes on (on a drive's thread: keep serving it). */
bool session_keeps_device(const struct session *session);
bool session_holds_drive(const struct session *session);
unsigned session_id(const struct session *session);
uint64_t session_requests(const struct session *session);
/* When the last request began or a device call ended, as clock_monotonic_ms(). */
int64_t session_idle_since_ms(const struct session *session);
/* The drive was held idle past the hold timeout: take it back (ETIMEDOUT). */
void session_take_back_idle(struct session *session);
/* The reason the loop gave with a kill, or fallback. */
const char *session_command_reason(const struct session *session, const char *fallback);

#endif
