/*
 * serve.c - the serve loop (see serve.h).
 *
 * Between requests nothing else can happen to the session, so the loop needs
 * no event library: poll tells it input has come, a command is waiting, or a
 * deadline is near; the session does the rest inline (the device call
 * included) and the reply goes out with one writev.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "serve.h"
#include "session.h"
#include "transport.h"

#define SHUTDOWN_TEXT "rmtd shutting down"
#define ABORT_TEXT    "Session aborted by the operator"

int serve_init(struct serve *serve, const struct serve_limits *limits)
{
	serve->limits = *limits;
	serve->signal_wakes = false;
	atomic_init(&serve->command, SERVE_NONE);
	serve->command_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return serve->command_fd < 0 ? -errno : 0;
}

void serve_destroy(struct serve *serve)
{
	if (serve->command_fd >= 0)
		close(serve->command_fd);
	serve->command_fd = -1;
}

void serve_command(struct serve *serve, enum serve_command command)
{
	int none = SERVE_NONE;
	uint64_t one = 1;
	int saved = errno; /* a signal handler must leave errno as it found it */

	atomic_compare_exchange_strong(&serve->command, &none, (int)command);
	while (write(serve->command_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	errno = saved;
}

/* End the session for a command: the client reads why in reply to its request. */
static void serve_obey(struct serve *serve, struct session *session)
{
	uint64_t count;

	while (read(serve->command_fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
	switch (atomic_load(&serve->command)) {
	case SERVE_SHUTDOWN:
		session_cut(session, ESHUTDOWN, SHUTDOWN_TEXT, "terminated by a signal", false);
		break;
	case SERVE_ABORT:
		session_cut(session, ECANCELED, ABORT_TEXT, "aborted by the operator", false);
		break;
	case SERVE_NONE:
		break;
	}
}

/*
 * Milliseconds until the session's next deadline (-1: none), or 0 after ending
 * it because one passed. request_since is when the request being received began.
 */
static int serve_deadline(struct serve *serve, struct fd_transport *transport, unsigned id,
                          time_t request_since)
{
	struct session *session = fd_transport_session(transport);
	time_t now = time(NULL), left;
	int limit;

	switch (session_phase(session)) {
	case SESSION_PHASE_IDLE:
		limit = serve->limits.idle_timeout;
		if (limit <= 0)
			return -1;
		left = fd_transport_last_input(transport) + limit - now;
		if (left < 0) {
			log_info("session %u: idle for more than %d s, closing", id, limit);
			session_close(session, "idle timeout");
			return 0;
		}
		break;
	case SESSION_PHASE_PARTIAL:
		/* A request trickling in one byte a minute is still a stalled request. */
		limit = serve->limits.request_timeout;
		if (limit <= 0)
			return -1;
		left = request_since + limit - now;
		if (left < 0) {
			log_warnx("session %u: request not complete after %d s, closing", id,
			          limit);
			session_close(session, "request timeout");
			return 0;
		}
		break;
	case SESSION_PHASE_BUSY:
	default:
		return -1;
	}
	return left >= INT32_MAX / 1000 ? INT32_MAX : (int)(left + 1) * 1000;
}

/* Can rmtd's pipe take more? Asked only after a splice came back short. */
static bool serve_pipe_has_room(int pipe)
{
	struct pollfd out = {.fd = pipe, .events = POLLOUT};

	return poll(&out, 1, 0) == 1 && (out.revents & POLLOUT);
}

/*
 * Move input into the session's pipe (a large W record, session_input_pipe()).
 * Blocks for input like read; never on a full pipe, which would never empty.
 */
static void serve_splice(struct fd_transport *transport, struct session *session, int pipe,
                         size_t length)
{
	ssize_t n =
	    splice(fd_transport_input_fd(transport), NULL, pipe, NULL, length, SPLICE_F_MOVE);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		session_input_end(session);
		return;
	}
	fd_transport_note_input(transport);
	session_input_spliced(session, (size_t)n, (size_t)n == length || serve_pipe_has_room(pipe));
}

void serve_run(struct serve *serve, struct fd_transport *transport)
{
	struct pollfd fds[2] = {
	    {.fd = fd_transport_input_fd(transport), .events = POLLIN},
	    {.fd = serve->command_fd, .events = POLLIN},
	};
	struct session *session;
	struct session_activity activity;
	uint64_t requests = 0;
	time_t request_since = time(NULL);

	fd_transport_set_blocking(transport);
	while ((session = fd_transport_session(transport)) != NULL) {
		void *where;
		size_t length;
		ssize_t n;
		int timeout, pipe;

		if (atomic_load(&serve->command) != SERVE_NONE) {
			serve_obey(serve, session);
			break;
		}
		timeout = -1; /* stdio has no deadlines: nothing to look at per request */
		if (serve->limits.idle_timeout > 0 || serve->limits.request_timeout > 0) {
			session_activity(session, &activity);
			if (activity.requests != requests ||
			    session_phase(session) == SESSION_PHASE_IDLE) {
				requests = activity.requests;
				request_since = time(NULL);
			}
			timeout = serve_deadline(serve, transport, activity.id, request_since);
			if (timeout == 0)
				break; /* the session was ended */
		}
		pipe = session_input_pipe(session, &length);
		if (pipe < 0)
			session_input_space(session, &where, &length);
		if (length == 0) {
			session_input_end(session); /* nothing more will be taken */
			break;
		}
		if (timeout >= 0 || !serve->signal_wakes) {
			if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
				log_warn("serve loop: poll");
				session_close(session, "poll failed");
				break;
			}
			if (fds[1].revents != 0 ||
			    !(fds[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
				continue; /* a command, a deadline or a signal: looked at above */
		}
		if (pipe >= 0) {
			serve_splice(transport, session, pipe, length);
			continue;
		}
		n = read(fds[0].fd, where, length);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			session_input_end(session);
			continue;
		}
		fd_transport_note_input(transport);
		session_input_added(session, (size_t)n);
	}
}
