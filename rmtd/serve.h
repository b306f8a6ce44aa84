/*
 * serve.h - the serve loop: one session served with blocking I/O by the thread
 * that runs it. Read request bytes, let the session parse them, call the
 * backend and reply, repeat; poll waits on the connection and on an eventfd
 * that carries commands from elsewhere (a signal handler, another thread), and
 * wakes for the deadlines (idle between requests, a request half sent).
 *
 * stdio mode runs it on the main thread for its one client.
 */
#ifndef RMTD_SERVE_H
#define RMTD_SERVE_H

#include <stdatomic.h>
#include <stdbool.h>

struct fd_transport;

enum serve_command {
	SERVE_NONE,
	SERVE_SHUTDOWN, /* SIGTERM: E108 to the pending or next request, close, end */
	SERVE_ABORT,    /* the operator: E125 the same way */
};

struct serve_limits {
	int idle_timeout;    /* seconds between requests before the session ends (0: never) */
	int request_timeout; /* seconds a request may take to arrive whole (0: no limit) */
};

struct serve {
	int command_fd; /* eventfd: a command is waiting */
	atomic_int command;
	struct serve_limits limits;
	/*
	 * Every command comes with a signal that interrupts a blocking read (stdio):
	 * with no deadline due the loop reads at once, one system call per request
	 * instead of poll and read.
	 */
	bool signal_wakes;
};

/* signal_wakes false. 0, or -errno (no eventfd). */
int serve_init(struct serve *serve, const struct serve_limits *limits);
void serve_destroy(struct serve *serve);
/*
 * Ask the loop to end its session (the first command given wins). Safe from
 * any thread and from a signal handler.
 */
void serve_command(struct serve *serve, enum serve_command command);
/* Serve the transport's session until it ends or a command ends it. */
void serve_run(struct serve *serve, struct fd_transport *transport);

#endif
