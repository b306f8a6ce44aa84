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

#include "clock.h"
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
	serve->while_device_open = false;
	atomic_init(&serve->command, SERVE_NONE);
	atomic_init(&serve->cut, SERVE_NONE);
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

	if (command == SERVE_SHUTDOWN || command == SERVE_ABORT)
		atomic_compare_exchange_strong(&serve->cut, &none, (int)command);
	atomic_fetch_or(&serve->command, (int)command);
	while (write(serve->command_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	errno = saved;
}

void serve_forget_commands(struct serve *serve)
{
	uint64_t count;

	while (read(serve->command_fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
	atomic_store(&serve->command, SERVE_NONE);
	atomic_store(&serve->cut, SERVE_NONE);
}

/* The connection served: its operations, and what they work on. */
struct serve_connection {
	const struct serve_io *io;
	void *context;
};

/* The session still to be served here: not ended, and (on a drive's thread) its device open. */
static struct session *serve_session(struct serve *serve, const struct serve_connection *transport)
{
	struct session *session = transport->io->session(transport->context);

	if (session == NULL || (serve->while_device_open && !session_keeps_device(session)))
		return NULL;
	return session;
}

/*
 * Obey the commands waiting, each once. The session may end (cut, drain at a
 * boundary) or give its drive back; it is looked up again after each command,
 * and commands left when it has gone from this loop stay for whoever serves it
 * next. *abort_at (monotonic ms) is when a killed session that has not reached
 * a boundary is cut.
 */
static void serve_obey(struct serve *serve, const struct serve_connection *transport,
                       int64_t *abort_at)
{
	struct session *session;
	uint64_t count;
	int commands;

	while (read(serve->command_fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
	commands = atomic_exchange(&serve->command, SERVE_NONE);
	if ((session = serve_session(serve, transport)) == NULL)
		goto left;
	if (commands & (SERVE_SHUTDOWN | SERVE_ABORT)) {
		if (atomic_load(&serve->cut) == SERVE_SHUTDOWN)
			session_cut(session, ESHUTDOWN, SHUTDOWN_TEXT, "terminated by a signal",
			            false);
		else
			session_cut(session, ECANCELED, ABORT_TEXT, "aborted by the operator",
			            false);
		return;
	}
	if (commands & SERVE_KILL) {
		commands &= ~SERVE_KILL;
		*abort_at = clock_monotonic_ms() + (int64_t)serve->limits.stop_grace * 1000;
		session_abort(session, session_command_reason(session, "aborted by the operator"));
		if ((session = serve_session(serve, transport)) == NULL)
			goto left;
	}
	if (commands & SERVE_DRAIN) {
		commands &= ~SERVE_DRAIN;
		session_shutdown(session);
		if ((session = serve_session(serve, transport)) == NULL)
			goto left;
	}
	if (commands & SERVE_RELEASE)
		session_take_back_drive(session);
	return;
left:
	/* Ended: nothing to obey. Gone back to the event loop: it obeys the rest. */
	if (transport->io->session(transport->context) != NULL && commands != SERVE_NONE)
		atomic_fetch_or(&serve->command, commands);
}

/* Seconds from now until when (at least 0), as poll's milliseconds. */
static int until(time_t when, time_t now)
{
	time_t left = when - now;

	if (left < 0)
		return 0;
	return left >= INT32_MAX / 1000 ? INT32_MAX : (int)(left + 1) * 1000;
}

static int earlier(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/*
 * Milliseconds until the session's next deadline (-1: none), or 0 after acting
 * on one that passed (the session may have ended, or given its drive back).
 * request_since is when the request being received began; now, time(NULL) read
 * once for the whole turn of the loop.
 */
static int serve_deadline(struct serve *serve, const struct serve_connection *transport, time_t now,
                          time_t request_since, int64_t abort_at)
{
	struct session *session = transport->io->session(transport->context);
	unsigned id = session_id(session);
	time_t since;
	int limit, timeout = -1;

	if (abort_at != 0) {
		int64_t left = abort_at - clock_monotonic_ms();

		if (left <= 0) {
			log_warnx("session %u: not ended %d s after the abort; cutting it", id,
			          serve->limits.stop_grace);
			session_cut(session, ECANCELED, ABORT_TEXT,
			            session_command_reason(session, "aborted by the operator"),
			            false);
			return 0;
		}
		/* The grace to the millisecond: the loop gives the thread up a second later. */
		timeout = left > INT32_MAX ? INT32_MAX : (int)left;
	}
	switch (session_phase(session)) {
	case SESSION_PHASE_IDLE:
		limit = serve->limits.hold_timeout;
		if (limit > 0 && session_holds_drive(session)) {
			/* To the millisecond: a waiter is waiting. */
			int64_t left = session_idle_since_ms(session) + (int64_t)limit * 1000 -
			               clock_monotonic_ms();

			if (left <= 0) {
				session_take_back_idle(session);
				return 0;
			}
			timeout = earlier(timeout, left > INT32_MAX ? INT32_MAX : (int)left);
		}
		limit = serve->limits.idle_timeout;
		if (limit <= 0)
			return timeout;
		since = transport->io->last_input(transport->context);
		if (now - since > limit) {
			log_info("session %u: idle for more than %d s, closing", id, limit);
			session_close(session, "idle timeout");
			return 0;
		}
		return earlier(timeout, until(since + limit, now));
	case SESSION_PHASE_PARTIAL:
		/* A request trickling in one byte a minute is still a stalled request. */
		limit = serve->limits.request_timeout;
		if (limit <= 0)
			return timeout;
		if (now - request_since > limit) {
			log_warnx("session %u: request not complete after %d s, closing", id,
			          limit);
			session_close(session, "request timeout");
			return 0;
		}
		return earlier(timeout, until(request_since + limit, now));
	case SESSION_PHASE_BUSY:
	default:
		return timeout;
	}
}

/* Can rmtd's pipe take more? Asked only after a splice came back short (or empty). */
static bool serve_pipe_has_room(int pipe)
{
	struct pollfd out = {.fd = pipe, .events = POLLOUT};

	return poll(&out, 1, 0) == 1 && (out.revents & POLLOUT);
}

/*
 * Move input into the session's pipe (a large W record, session_input_pipe()).
 * Blocks for input like read; never on a full pipe, which would never empty.
 * On a drive's thread a splice comes back short whenever the rest has not
 * arrived yet, so there the pipe is asked only when a splice moved nothing
 * (the pipe side does not wait there).
 */
static void serve_splice(const struct serve_connection *transport, struct session *session,
                         int pipe, size_t length, bool nonblocking)
{
	ssize_t n = splice(transport->io->input_fd(transport->context), NULL, pipe, NULL, length,
	                   SPLICE_F_MOVE | (nonblocking ? SPLICE_F_NONBLOCK : 0));

	if (n < 0 && errno == EAGAIN && nonblocking && !serve_pipe_has_room(pipe)) {
		session_input_spliced(session, 0, false);
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		session_input_end(session);
		return;
	}
	transport->io->note_input(transport->context);
	session_input_spliced(session, (size_t)n,
	                      (size_t)n == length || nonblocking || serve_pipe_has_room(pipe));
}

void serve_run(struct serve *serve, struct fd_transport *transport)
{
	serve_run_io(serve, &fd_transport_serve_io, transport);
}

void serve_run_io(struct serve *serve, const struct serve_io *io, void *context)
{
	const struct serve_connection connection = {.io = io, .context = context};
	const struct serve_connection *transport = &connection;
	struct pollfd fds[2] = {
	    {.fd = io->input_fd(context), .events = POLLIN},
	    {.fd = serve->command_fd, .events = POLLIN},
	};
	struct session *session = io->session(context);
	uint64_t requests = 0;
	time_t request_since = time(NULL);
	int64_t abort_at = 0;
	/*
	 * On a drive's thread a read or splice comes back when nothing is there
	 * (-EAGAIN): at once for TLS, after SERVE_WAIT_SLICE_MS for a plain socket.
	 */
	bool nonblocking = serve->while_device_open;
	/*
	 * The last read filled all the room offered and the request is not whole
	 * yet (a large record's first piece): more is likely there, and a
	 * nonblocking read finds out without a poll first.
	 */
	bool more = false;
	bool receive_waits;

	io->set_blocking(context);
	receive_waits = io->receive_waits != NULL && io->receive_waits(context);
	if (session == NULL)
		return;
	session_serve_here(session, true);
	/* Input the loop read but did not handle yet is handled first. */
	if (serve->while_device_open)
		session_resume(session);
	while ((session = serve_session(serve, transport)) != NULL) {
		time_t now = time(NULL);
		void *where;
		size_t length;
		ssize_t n;
		int timeout, pipe;

		if (atomic_load(&serve->command) != SERVE_NONE) {
			serve_obey(serve, transport, &abort_at);
			continue;
		}
		if (session_requests(session) != requests ||
		    session_phase(session) == SESSION_PHASE_IDLE) {
			requests = session_requests(session);
			request_since = now;
		}
		timeout = serve_deadline(serve, transport, now, request_since, abort_at);
		if (timeout == 0)
			continue; /* acted on: the session may have ended or let its drive go */
		pipe = session_input_pipe(session, &length);
		if (pipe < 0)
			session_input_space(session, &where, &length);
		if (length == 0) {
			/* No more is taken; on a drive's thread, the rest is the loop's. */
			session_input_end(session);
			break;
		}
		if (io->input_wanted != NULL)
			io->input_wanted(context, pipe >= 0 ? length : 1);
		/*
		 * No poll before a read that waits a bounded time by itself; a
		 * large record's rest, which the socket reports once it is all
		 * there (input_wanted), is still polled for. Bytes TLS has
		 * already decrypted do not make the descriptor readable.
		 */
		if ((timeout >= 0 || !serve->signal_wakes) && !(more && nonblocking) &&
		    !(pipe < 0 && receive_waits) &&
		    (io->input_buffered == NULL || !io->input_buffered(context))) {
			if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
				log_warn("serve loop: poll");
				session_close(session, "poll failed");
				continue;
			}
			if (fds[1].revents != 0 ||
			    !(fds[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
				continue; /* a command, a deadline or a signal: looked at above */
		}
		more = false;
		if (pipe >= 0) {
			serve_splice(transport, session, pipe, length, nonblocking);
			continue;
		}
		n = io->receive(context, where, length);
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n <= 0) {
			session_input_end(session);
			continue;
		}
		io->note_input(context);
		session_input_added(session, (size_t)n);
		session = serve_session(serve, transport);
		more = (size_t)n == length && session != NULL &&
		       session_phase(session) == SESSION_PHASE_PARTIAL;
	}
	/* The event loop's epoll sees the socket readable at the first byte again. */
	if (io->input_wanted != NULL)
		io->input_wanted(context, 1);
	session = io->session(context);
	if (session != NULL)
		session_serve_here(session, false);
}

int serve_wait_ready(struct serve *serve, int fd, short events, time_t idle_since, int idle_timeout,
                     int given_up)
{
	for (;;) {
		struct pollfd fds[2] = {
		    {.fd = fd, .events = events},
		    {.fd = serve->command_fd, .events = POLLIN},
		};
		int timeout = 1000, ready;

		if (atomic_load(&serve->command) & given_up)
			return -ECANCELED;
		if (idle_timeout > 0) {
			time_t left = idle_since + idle_timeout - time(NULL);

			if (left < 0)
				return -ETIMEDOUT;
			if (left < 1)
				timeout = 500;
		}
		/* Commands that wait for the reply are looked at once a second, not polled. */
		ready = poll(fds, atomic_load(&serve->command) != SERVE_NONE ? 1 : 2, timeout);
		if (ready < 0 && errno != EINTR)
			return -errno;
		if (ready > 0 && (fds[0].revents & (events | POLLERR | POLLHUP)))
			return 0;
	}
}
