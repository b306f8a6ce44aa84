/*
 * transport.c - the fd transport: nonblocking reads into the session, replies
 * by writev with a small queue for what the peer cannot take yet.
 *
 * In the daemon a plaintext connection whose session has its device open is
 * handed to the drive's thread, which serves it with the serve loop (serve.h)
 * on the socket, still nonblocking (the thread waits in poll), and handed back
 * to the event loop when the session closes its device or ends. Meanwhile the
 * loop leaves the transport alone: no events, no reads, no writes.
 *
 * Where the serve loop serves it (stdio, or a drive's thread), a pipe or a
 * plain socket moves large records to and from rmtd's pipe by splice
 * (record_pipe.h), never through memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "serve.h"
#include "session.h"
#include "transport.h"
#include "worker.h"

/* Stop starting requests while more than this waits to go out (a slow reader of R). */
#define OUTPUT_LIMIT (256 * 1024)
/*
 * The part of a large R record the socket did not take at once is sent from the
 * drive's record buffer, not copied: the session starts nothing that could
 * overwrite that buffer while output_full() says so.
 */
#define HOLD_MINIMUM (64 * 1024)

struct fd_transport {
	struct event_base *base;
	int input_fd, output_fd;
	int input_flags, output_flags; /* restored at the end (stdio may be a terminal) */
	struct event *read_event, *write_event;
	struct evbuffer *output;
	const uint8_t *held; /* record data still to send after output, not copied */
	size_t held_length;
	struct session *session; /* NULL once the session has ended */
	bool reading;
	bool output_broken;
	bool input_is_pipe;    /* W records may be spliced from it (by the serve loop) */
	bool input_is_socket;  /* the same; one socket both ways may go to a drive's thread */
	bool input_is_file;    /* a regular file: always readable, epoll cannot watch it */
	bool output_is_file;   /* a regular file: writes never wait, epoll cannot watch it */
	bool output_is_pipe;   /* R records may be spliced into it (by the serve loop) */
	bool output_is_socket; /* the same */
	bool blocking;         /* served by the serve loop (stdio, or a drive's thread) */
	int input_low;         /* SO_RCVLOWAT of a socket (io_input_wanted()) */
	time_t last_input;
	transport_finished_fn finished;
	void *finished_arg;

	/* Served on a drive's thread (session_move_to_drive()). */
	struct event *move_event; /* the hand-over, from a fresh turn of the loop */
	struct serve serve;       /* its command descriptor is made at the first hand-over */
	bool serve_ready;
	bool on_drive; /* the drive's thread has the connection: the loop keeps off */
	struct job serve_job;
	/*
	 * Held by the thread while it writes a reply, and by the loop to let a
	 * stuck thread's client go: the loop's last word never cuts into a reply.
	 */
	pthread_mutex_t output_lock;
	bool slice_set;   /* the socket's SO_RCVTIMEO and SO_SNDTIMEO are the serve loop's slice */
	bool sliced;      /* on the drive's thread, the socket blocks a slice at a time */
	bool let_go;      /* the loop let the client go: the thread writes nothing more */
	bool reply_begun; /* the thread waits with part of a reply written */
};

static void transport_update_reading(struct fd_transport *t)
{
	if (t->blocking)
		return; /* the serve loop reads when the session has room */
	void *where;
	size_t length;
	bool want;

	if (t->session == NULL)
		return;
	session_input_space(t->session, &where, &length);
	want = length > 0 && t->held_length == 0 && evbuffer_get_length(t->output) <= OUTPUT_LIMIT;
	if (t->input_is_file) {
		/* Nothing to wait for: read again on the next turn of the loop. */
		if (want)
			event_active(t->read_event, EV_READ, 0);
		t->reading = false;
		return;
	}
	if (want && !t->reading)
		event_add(t->read_event, NULL);
	else if (!want && t->reading)
		event_del(t->read_event);
	t->reading = want;
}

static void transport_read(evutil_socket_t fd, short what, void *arg)
{
	struct fd_transport *t = arg;
	void *where;
	size_t length;
	ssize_t n;

	session_input_space(t->session, &where, &length);
	if (length == 0) {
		transport_update_reading(t);
		return;
	}
	n = read(t->input_fd, where, length);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	t->last_input = time(NULL);
	if (n < 0)
		log_debug("read from client: %s", strerror(errno));
	if (n <= 0) {
		event_del(t->read_event);
		t->reading = false;
		session_input_end(t->session);
		return;
	}
	session_input_added(t->session, (size_t)n);
}

/* Copy held record data into the output queue: the record buffer is about to change hands. */
static int transport_copy_held(struct fd_transport *t)
{
	int rc = 0;

	if (t->held_length > 0 && !t->output_broken)
		rc = evbuffer_add(t->output, t->held, t->held_length) < 0 ? -ENOMEM : 0;
	t->held = NULL;
	t->held_length = 0;
	return rc;
}

static void transport_write(evutil_socket_t fd, short what, void *arg)
{
	struct fd_transport *t = arg;

	if (evbuffer_get_length(t->output) > 0 && evbuffer_write(t->output, t->output_fd) < 0 &&
	    errno != EAGAIN && errno != EINTR) {
		t->output_broken = true;
		evbuffer_drain(t->output, evbuffer_get_length(t->output));
		t->held_length = 0;
	}
	if (evbuffer_get_length(t->output) > 0)
		return;
	while (t->held_length > 0) {
		ssize_t n = write(t->output_fd, t->held, t->held_length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			t->output_broken = true;
			t->held_length = 0;
			break;
		}
		t->held += n;
		t->held_length -= (size_t)n;
	}
	event_del(t->write_event);
	if (t->session == NULL) {
		t->finished(t, NULL, t->finished_arg);
		return;
	}
	transport_update_reading(t);
	session_output_drained(t->session);
}

/*
 * On a drive's thread the socket stays nonblocking: a client that takes no
 * more output is waited for only until the idle timeout (counted from its last
 * input, as on the loop), and not at all once it is being cut or killed.
 * Entered with output_lock held, which it lets go of while it waits.
 */
static int transport_wait_writable(struct fd_transport *t, bool begun)
{
	const int given_up = SERVE_SHUTDOWN | SERVE_ABORT | SERVE_KILL;
	int rc;

	t->reply_begun = begun;
	pthread_mutex_unlock(&t->output_lock);
	rc = serve_wait_ready(&t->serve, t->output_fd, POLLOUT, t->last_input,
	                      t->serve.limits.idle_timeout, given_up);
	pthread_mutex_lock(&t->output_lock);
	t->reply_begun = false;
	if (t->let_go)
		rc = -EPIPE;
	return rc;
}

static int transport_write_all(struct fd_transport *t, const struct iovec *iov, int count);

/* On a drive's thread: the whole reply, under output_lock, unless the client was let go. */
static int transport_send_on_drive(struct fd_transport *t, const struct iovec *iov, int count)
{
	int rc;

	pthread_mutex_lock(&t->output_lock);
	rc = t->let_go ? -EPIPE : transport_write_all(t, iov, count);
	pthread_mutex_unlock(&t->output_lock);
	if (rc < 0)
		t->output_broken = true;
	return rc;
}

/* Write all of iov to a blocking descriptor or a file (on a drive's thread: waiting in poll). */
static int transport_write_all(struct fd_transport *t, const struct iovec *iov, int count)
{
	struct iovec rest[3]; /* held answers, a header, data (session_send()) */
	int left = count < 3 ? count : 3;
	bool begun = false;
	ssize_t n;

	memcpy(rest, iov, (size_t)left * sizeof(rest[0]));
	while (left > 0) {
		if (t->sliced) /* never block with output_lock held */
			n = sendmsg(t->output_fd,
			            &(struct msghdr){.msg_iov = rest, .msg_iovlen = (size_t)left},
			            MSG_DONTWAIT | MSG_NOSIGNAL);
		/* A reply alone (most of them) costs a little less as write(2). */
		else if (left == 1)
			n = write(t->output_fd, rest[0].iov_base, rest[0].iov_len);
		else
			n = writev(t->output_fd, rest, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && t->on_drive) {
			int error = transport_wait_writable(t, begun);

			if (error < 0)
				return error;
			continue;
		}
		if (n < 0)
			return -errno;
		begun = true;
		while (left > 0 && (size_t)n >= rest[0].iov_len) {
			n -= (ssize_t)rest[0].iov_len;
			left--;
			memmove(rest, rest + 1, (size_t)left * sizeof(rest[0]));
		}
		if (left > 0) {
			rest[0].iov_base = (char *)rest[0].iov_base + n;
			rest[0].iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int transport_send(void *context, const struct iovec *iov, int count)
{
	struct fd_transport *t = context;
	size_t total = 0;
	ssize_t n = 0;

	if (t->output_broken)
		return -EPIPE;
	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	if (t->on_drive)
		return transport_send_on_drive(t, iov, count);
	if (t->output_is_file || t->blocking) {
		/* A file takes everything at once, and a blocking descriptor waits itself. */
		int rc = transport_write_all(t, iov, count);

		if (rc < 0)
			t->output_broken = true;
		return rc;
	}
	if (t->held_length > 0 && transport_copy_held(t) < 0)
		return -ENOMEM; /* a reply while a record is still going out (rare): keep the order
		                 */
	if (evbuffer_get_length(t->output) == 0) {
		do {
			n = writev(t->output_fd, iov, count);
		} while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN) {
			t->output_broken = true;
			return -errno;
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == total)
			return 0;
	}
	/* Queue what did not fit; rare, so the copy does not matter. */
	for (int i = 0; i < count; i++) {
		size_t skip = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;

		n -= (ssize_t)skip;
		if (iov[i].iov_len - skip >= HOLD_MINIMUM && i == count - 1) {
			t->held = (const uint8_t *)iov[i].iov_base + skip;
			t->held_length = iov[i].iov_len - skip;
		} else if (iov[i].iov_len > skip &&
		           evbuffer_add(t->output, (const char *)iov[i].iov_base + skip,
		                        iov[i].iov_len - skip) < 0) {
			return -ENOMEM;
		}
	}
	event_add(t->write_event, NULL);
	return 0;
}

static void transport_finished(void *context, const char *why)
{
	struct fd_transport *t = context;

	t->session = NULL;
	if (t->reading) {
		event_del(t->read_event);
		t->reading = false;
	}
	/*
	 * Replies still queued go out before the transport is given back, but not a
	 * record the client has stopped taking: the session's buffer goes with it, so
	 * the reply cannot complete and the connection ends now.
	 */
	if (t->held_length > 0) {
		log_debug("session ended with %zu bytes of a record unsent; closing",
		          t->held_length);
		t->held = NULL;
		t->held_length = 0;
		t->output_broken = true;
		evbuffer_drain(t->output, evbuffer_get_length(t->output));
	}
	if (evbuffer_get_length(t->output) > 0 && !t->output_broken)
		return;
	t->finished(t, why, t->finished_arg);
}

static void transport_input_changed(void *context)
{
	transport_update_reading(context);
}

static bool transport_output_full(void *context)
{
	struct fd_transport *t = context;

	return t->held_length > 0 || evbuffer_get_length(t->output) > OUTPUT_LIMIT;
}

/*
 * Write head, or splice from fd when head is NULL, to the client: on a drive's
 * thread, wait while the socket takes nothing.
 */
static ssize_t transport_put(struct fd_transport *t, const void *head, size_t length, int fd,
                             bool more, bool *begun)
{
	for (;;) {
		ssize_t n;

		if (head == NULL)
			n = splice(fd, NULL, t->output_fd, NULL, length, SPLICE_F_MOVE);
		else if (t->output_is_socket)
			n = send(t->output_fd, head, length,
			         MSG_NOSIGNAL | (more ? MSG_MORE : 0) |
			             (t->sliced ? MSG_DONTWAIT : 0));
		else
			n = write(t->output_fd, head, length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && t->on_drive) {
			int error = transport_wait_writable(t, *begun);

			if (error < 0)
				return error;
			continue;
		}
		if (n < 0)
			return -errno;
		*begun = true;
		return n;
	}
}

/*
 * The reply header, then length bytes of rmtd's pipe straight to the client:
 * to a pipe or a plain socket the serve loop writes (stdio, or a drive's
 * thread), under output_lock like any reply there.
 */
static ssize_t transport_splice_out(void *context, const void *head, size_t head_length, int fd,
                                    size_t length)
{
	struct fd_transport *t = context;
	const char *at = head;
	size_t moved = 0;
	bool begun = false;
	ssize_t n = 0;

	if (!t->blocking || !(t->output_is_pipe || t->output_is_socket))
		return -EOPNOTSUPP;
	if (fd < 0)
		return 0;
	if (t->output_broken)
		return -EPIPE;
	pthread_mutex_lock(&t->output_lock);
	if (t->let_go)
		n = -EPIPE;
	/* The header waits for the data (MSG_MORE): no small segment of its own. */
	while (n >= 0 && head_length > 0 &&
	       (n = transport_put(t, at, head_length, -1, length > 0, &begun)) >= 0) {
		at += n;
		head_length -= (size_t)n;
	}
	while (n >= 0 && moved < length &&
	       (n = transport_put(t, NULL, length - moved, fd, false, &begun)) > 0)
		moved += (size_t)n;
	pthread_mutex_unlock(&t->output_lock);
	if (n < 0)
		t->output_broken = true;
	return n < 0 ? n : (ssize_t)moved;
}

/* The serve loop reads the input, a pipe or a plain socket: it can splice it. */
static bool transport_input_splices(void *context)
{
	struct fd_transport *t = context;

	return t->blocking && (t->input_is_pipe || t->input_is_socket);
}

static int set_nonblocking(int fd, int *saved)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -errno;
	*saved = flags;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -errno : 0;
}

/* On the drive's thread: serve the session until it closes its device or ends. */
static void transport_serve_call(struct job *job)
{
	struct fd_transport *t = job->arg;

	serve_run(&t->serve, t);
}

/* On the loop: the drive's thread is done with the connection; events again. */
static void transport_serve_done(struct job *job, void *arg)
{
	struct fd_transport *t = arg;

	fcntl(t->input_fd, F_SETFL, t->input_flags | O_NONBLOCK); /* the loop's again */
	t->sliced = false;
	t->on_drive = false;
	t->blocking = false;
	t->last_input = time(NULL);          /* the idle and request clocks start again */
	session_back_from_drive(t->session); /* may free t */
}

/* A fresh turn of the loop: hand the connection over if the session still may go. */
static void transport_move(evutil_socket_t fd, short what, void *arg)
{
	struct fd_transport *t = arg;

	if (t->session == NULL || t->on_drive || t->output_broken || t->held_length > 0 ||
	    evbuffer_get_length(t->output) > 0 || !session_may_move(t->session))
		return;
	if (!t->serve_ready) {
		if (serve_init(&t->serve, &(struct serve_limits){0}) < 0) {
			log_warn("session stays on the loop: no command descriptor");
			return;
		}
		t->serve_ready = true;
	}
	if (t->reading) {
		event_del(t->read_event);
		t->reading = false;
	}
	t->on_drive = true;
	fd_transport_set_blocking(t);
	memset(&t->serve_job, 0, sizeof(t->serve_job));
	t->serve_job.call = transport_serve_call;
	t->serve_job.done = transport_serve_done;
	t->serve_job.arg = t;
	session_move_to_drive(t->session, &t->serve, &t->serve_job);
}

static void transport_move_to_drive(void *context)
{
	struct fd_transport *t = context;

	if (t->move_event != NULL && !t->on_drive)
		event_active(t->move_event, EV_TIMEOUT, 0);
}

static void transport_let_go(void *context, const void *last_reply, size_t length)
{
	struct fd_transport *t = context;
	ssize_t n;

	pthread_mutex_lock(&t->output_lock);
	t->let_go = true;
	/* Best effort without waiting, and never into a reply begun. */
	if (t->reply_begun)
		n = 0;
	else if (t->output_is_socket)
		n = send(t->output_fd, last_reply, length, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		n = write(t->output_fd, last_reply, length);
	if (n < 0)
		log_debug("last reply not delivered: %s", strerror(errno));
	/* The thread finds the end of the connection when its call returns. */
	shutdown(t->input_fd, SHUT_RDWR);
	pthread_mutex_unlock(&t->output_lock);
}

static const struct session_transport fd_transport_ops = {
    .send = transport_send,
    .finished = transport_finished,
    .input_changed = transport_input_changed,
    .output_full = transport_output_full,
    .splice_out = transport_splice_out,
    .input_splices = transport_input_splices,
    .let_go = transport_let_go,
};

/* A plaintext socket of the daemon's may be served on a drive's thread. */
static const struct session_transport fd_transport_movable_ops = {
    .send = transport_send,
    .finished = transport_finished,
    .input_changed = transport_input_changed,
    .output_full = transport_output_full,
    .splice_out = transport_splice_out,
    .move_to_drive = transport_move_to_drive,
    .let_go = transport_let_go,
    .input_splices = transport_input_splices,
};

struct fd_transport *fd_transport_create(struct event_base *base, int input_fd, int output_fd,
                                         const struct session_settings *settings,
                                         transport_finished_fn finished, void *arg)
{
	struct fd_transport *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->base = base;
	t->input_fd = input_fd;
	t->output_fd = output_fd;
	t->finished = finished;
	t->finished_arg = arg;
	t->last_input = time(NULL);
	t->input_low = 1;
	pthread_mutex_init(&t->output_lock, NULL);
	set_nonblocking(input_fd, &t->input_flags);
	if (output_fd != input_fd)
		set_nonblocking(output_fd, &t->output_flags);
	{
		struct stat st;

		t->input_is_file = fstat(input_fd, &st) == 0 && S_ISREG(st.st_mode);
		t->output_is_file = fstat(output_fd, &st) == 0 && S_ISREG(st.st_mode);
		t->output_is_pipe = fstat(output_fd, &st) == 0 && S_ISFIFO(st.st_mode);
		t->output_is_socket = S_ISSOCK(st.st_mode);
	}
	/* Without an event base the transport is served by the serve loop (serve.h). */
	t->blocking = base == NULL;
	if (t->blocking)
		t->read_event = NULL;
	else if (t->input_is_file)
		t->read_event = event_new(base, -1, 0, transport_read, t);
	else
		t->read_event = event_new(base, input_fd, EV_READ | EV_PERSIST, transport_read, t);
	if (!t->blocking)
		t->write_event =
		    event_new(base, output_fd, EV_WRITE | EV_PERSIST, transport_write, t);
	t->output = evbuffer_new();
	if ((!t->blocking && (t->read_event == NULL || t->write_event == NULL)) ||
	    t->output == NULL)
		goto fail;
	{
		struct stat st;

		t->input_is_pipe = fstat(input_fd, &st) == 0 && S_ISFIFO(st.st_mode);
		t->input_is_socket = S_ISSOCK(st.st_mode);
		if (!t->blocking && t->input_is_socket && input_fd == output_fd) {
			t->move_event = event_new(base, -1, 0, transport_move, t);
			if (t->move_event == NULL)
				goto fail;
		}
		t->session = session_create(
		    settings, t->move_event != NULL ? &fd_transport_movable_ops : &fd_transport_ops,
		    t);
	}
	if (t->session == NULL)
		goto fail;
	transport_update_reading(t);
	return t;
fail:
	fd_transport_free(t);
	return NULL;
}

void fd_transport_free(struct fd_transport *t)
{
	if (t == NULL)
		return;
	if (t->read_event)
		event_free(t->read_event);
	if (t->move_event)
		event_free(t->move_event);
	if (t->serve_ready)
		serve_destroy(&t->serve);
	pthread_mutex_destroy(&t->output_lock);
	if (t->write_event)
		event_free(t->write_event);
	if (t->output)
		evbuffer_free(t->output);
	fcntl(t->input_fd, F_SETFL, t->input_flags);
	if (t->output_fd != t->input_fd)
		fcntl(t->output_fd, F_SETFL, t->output_flags);
	close(t->input_fd);
	if (t->output_fd != t->input_fd)
		close(t->output_fd);
	free(t);
}

struct session *fd_transport_session(struct fd_transport *t)
{
	return t->session;
}

time_t fd_transport_last_input(const struct fd_transport *t)
{
	return t->last_input;
}

int fd_transport_input_fd(const struct fd_transport *t)
{
	return t->input_fd;
}

void fd_transport_note_input(struct fd_transport *t)
{
	t->last_input = time(NULL);
}

static struct session *io_session(void *context)
{
	return fd_transport_session(context);
}

static time_t io_last_input(void *context)
{
	return fd_transport_last_input(context);
}

static void io_note_input(void *context)
{
	fd_transport_note_input(context);
}

static void io_set_blocking(void *context)
{
	fd_transport_set_blocking(context);
}

static int io_input_fd(void *context)
{
	return fd_transport_input_fd(context);
}

static ssize_t io_receive(void *context, void *buffer, size_t length)
{
	struct fd_transport *t = context;
	ssize_t n = read(t->input_fd, buffer, length);

	return n < 0 ? -errno : n;
}

/* On a drive's thread a read waits a slice by itself (transport_block_on_drive()). */
static bool io_receive_waits(void *context)
{
	const struct fd_transport *t = context;

	return t->sliced;
}

/*
 * SO_RCVLOWAT: the rest of a large record arrives segment by segment, and each
 * would wake the thread for one splice; the kernel wakes it once for all of
 * them (or sooner when its buffer is full, or the peer closes).
 */
static void io_input_wanted(void *context, size_t bytes)
{
	struct fd_transport *t = context;
	int low = bytes > INT_MAX ? INT_MAX : bytes < 1 ? 1 : (int)bytes;

	if (!t->input_is_socket || low == t->input_low)
		return;
	if (setsockopt(t->input_fd, SOL_SOCKET, SO_RCVLOWAT, &low, sizeof(low)) == 0)
		t->input_low = low;
}

const struct serve_io fd_transport_serve_io = {
    .session = io_session,
    .last_input = io_last_input,
    .note_input = io_note_input,
    .set_blocking = io_set_blocking,
    .input_fd = io_input_fd,
    .receive = io_receive,
    .input_wanted = io_input_wanted,
    .receive_waits = io_receive_waits,
};

/*
 * On a drive's thread the socket blocks, each call for SERVE_WAIT_SLICE_MS at
 * most: the serve loop reads without a poll first, and still sees its
 * commands. Sends there are nonblocking each (MSG_DONTWAIT), so that output
 * the client does not take is waited for in poll, without output_lock; only a
 * spliced R record, which splice(2) cannot be told so, waits up to a slice.
 */
static void transport_block_on_drive(struct fd_transport *t)
{
	const struct timeval slice = {.tv_usec = SERVE_WAIT_SLICE_MS * 1000};

	if (!t->slice_set &&
	    (setsockopt(t->input_fd, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof(slice)) < 0 ||
	     setsockopt(t->input_fd, SOL_SOCKET, SO_SNDTIMEO, &slice, sizeof(slice)) < 0))
		return; /* it stays nonblocking, and the loop polls */
	t->slice_set = true;
	if (fcntl(t->input_fd, F_SETFL, t->input_flags & ~O_NONBLOCK) == 0)
		t->sliced = true;
}

/*
 * Served by the serve loop (serve.h): blocking descriptors, replies written at
 * once. On a drive's thread, a socket blocks a slice at a time (above).
 */
void fd_transport_set_blocking(struct fd_transport *t)
{
	t->blocking = true;
	if (t->on_drive) {
		if (t->input_is_socket)
			transport_block_on_drive(t);
		return;
	}
	fcntl(t->input_fd, F_SETFL, t->input_flags & ~O_NONBLOCK);
	if (t->output_fd != t->input_fd)
		fcntl(t->output_fd, F_SETFL, t->output_flags & ~O_NONBLOCK);
}
