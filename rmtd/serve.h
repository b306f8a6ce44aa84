/*
 * serve.h - the serve loop: one session served with blocking I/O by the thread
 * that runs it. Read request bytes, let the session parse them, call the
 * backend and reply, repeat; poll waits on the connection and on an eventfd
 * that carries commands from elsewhere (a signal handler, another thread), and
 * wakes for the deadlines (idle between requests, a request half sent, a drive
 * held idle, an abort's grace). Where the connection's own read can wait a
 * bounded time (a plain socket on a drive's thread), the loop reads without
 * polling first and looks at commands and deadlines between reads.
 *
 * stdio mode runs it on the main thread for its one client. The daemon runs it
 * on a drive's thread while a session has that drive's device open, plaintext
 * (transport.c) or TLS (tls.c, which hands its SSL object over with it): the
 * transport hands the connection over and takes it back, and the loop returns
 * as soon as the session no longer has its device open, or has ended.
 */
#ifndef RMTD_SERVE_H
#define RMTD_SERVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

struct fd_transport;
struct session;

/* The connection the serve loop reads from: a plain descriptor, or TLS on one. */
struct serve_io {
	struct session *(*session)(void *connection); /* NULL once the session ended */
	time_t (*last_input)(void *connection);
	void (*note_input)(void *connection);
	void (*set_blocking)(void *connection);
	int (*input_fd)(void *connection); /* what poll watches, and splice reads */
	/* Up to length bytes: how many, 0 at the end, -EAGAIN (poll first), or -errno. */
	ssize_t (*receive)(void *connection, void *buffer, size_t length);
	/*
	 * Input already received that poll cannot see (TLS: decrypted bytes
	 * buffered in the SSL object). NULL: there never is.
	 */
	bool (*input_buffered)(void *connection);
	/*
	 * The loop is about to poll for this many bytes (the rest of a record
	 * going into rmtd's pipe; 1 otherwise): a socket may be told to say it is
	 * readable only once they are there (or it is closing). NULL: never.
	 */
	void (*input_wanted)(void *connection, size_t bytes);
	/*
	 * receive() waits for input by itself, SERVE_WAIT_SLICE_MS at most (then
	 * -EAGAIN), so the loop calls it without a poll first: one system call per
	 * request. NULL or false: poll first.
	 */
	bool (*receive_waits)(void *connection);
};

/*
 * The longest a call on a drive's thread waits for the client before the loop
 * looks at its commands and deadlines again (a socket's SO_RCVTIMEO and
 * SO_SNDTIMEO there): how late a command or deadline may be seen when no
 * input comes.
 */
#define SERVE_WAIT_SLICE_MS 100

/* Commands are bits: several may wait at once, and each is obeyed once. */
enum serve_command {
	SERVE_NONE = 0,
	SERVE_SHUTDOWN = 1 << 0, /* cut now: E108 to the pending or next request, close, end */
	SERVE_ABORT = 1 << 1,    /* cut now: E125 the same way */
	SERVE_DRAIN = 1 << 2,    /* SIGTERM in the daemon: finish the request being received */
	SERVE_KILL = 1 << 3,     /* rmtctl kill: E125 at the next boundary, cut after the grace */
	SERVE_RELEASE = 1 << 4,  /* rmtctl release: close the device, the drive goes back */
};

struct serve_limits {
	int idle_timeout;    /* seconds between requests before the session ends (0: never) */
	int request_timeout; /* seconds a request may take to arrive whole (0: no limit) */
	int hold_timeout;    /* seconds a session may hold its drive idle (0: no limit) */
	int stop_grace;      /* seconds a killed session may take to reach a boundary */
};

struct serve {
	int command_fd;     /* eventfd: a command is waiting */
	atomic_int command; /* enum serve_command bits not yet obeyed */
	atomic_int cut;     /* SERVE_SHUTDOWN or SERVE_ABORT: the first cut asked for wins */
	struct serve_limits limits;
	/*
	 * Every command comes with a signal that interrupts a blocking read (stdio):
	 * with no deadline due the loop reads at once, one system call per request
	 * instead of poll and read.
	 */
	bool signal_wakes;
	/*
	 * On a drive's thread: the loop ends once the session no longer has its
	 * device open, and gives it back (stdio serves the session to its end).
	 */
	bool while_device_open;
};

/* signal_wakes and while_device_open false. 0, or -errno (no eventfd). */
int serve_init(struct serve *serve, const struct serve_limits *limits);
void serve_destroy(struct serve *serve);
/*
 * Give the loop a command. Safe from any thread and from a signal handler.
 * Commands given while no loop runs wait for the next serve_run().
 */
void serve_command(struct serve *serve, enum serve_command command);
/* Forget commands given so far (before a session is handed to the loop). */
void serve_forget_commands(struct serve *serve);
/* Serve the transport's session until it ends, a command ends it, or (while_device_open) it
 * closes its device. */
void serve_run(struct serve *serve, struct fd_transport *transport);
/* The same over any connection. */
void serve_run_io(struct serve *serve, const struct serve_io *io, void *connection);
/*
 * On a drive's thread, a reply the client does not take yet: wait until fd is
 * ready for events, or the client has been idle idle_timeout seconds since
 * idle_since (0: no limit), or a command in given_up (bits) came. 0 when
 * ready; -ETIMEDOUT, -ECANCELED or -errno when the reply is given up.
 */
int serve_wait_ready(struct serve *serve, int fd, short events, time_t idle_since, int idle_timeout,
                     int given_up);

#endif
