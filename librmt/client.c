/*
 * client.c - librmt's protocol client: the public rmt_* API.
 *
 * One handle is one connection and one open device, as GNU's rtapelib does (a
 * GNU server ends the session after C, so a connection is never reused). After
 * O the client learns what the server offers without sending anything a classic
 * server dies on (doc/protocol.md 2.6 and 3): I-1 answered A1 means RMT V1 (standard op
 * numbers, s, i, DUMP's QFA seek); otherwise an L probe at the known offset 0
 * tells GNU's whence-first order (and its line-based S\n) from the BSD order.
 *
 * Reaching the server is dial.c's; this file speaks the protocol once connected,
 * client_tape.c the tape operations and status on top of it (client_handle.h).
 *
 * Nothing the server says is trusted: a reply line is bounded, every length it
 * announces is checked against what was asked before a byte is read, and any
 * violation breaks the handle (EIO from then on) instead of reading on out of step.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mtio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_handle.h"
#include "client_internal.h"
#include "connection.h"
#include "dial.h"
#include "number.h"
#include "remote_name.h"
#include "rmt/protocol.h"
#include "rmt/rmt.h"
#include "wire.h"
#include "write_window.h"

/* Why this thread's last rmt_open failed (rmt_error_text(NULL)). */
static __thread char open_error[160];

/* ------------------------------------------------------------------ errors */

int client_set_error(struct rmt_handle *h, int error, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(h->error_text, sizeof(h->error_text), format, ap);
	va_end(ap);
	return -error;
}

/*
 * The stream can no longer be trusted: stop using it. The descriptor stays
 * allocated until rmt_close (under the shim its number belongs to the program),
 * but the server sees EOF at once.
 */
int client_break_connection(struct rmt_handle *h, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(h->error_text, sizeof(h->error_text), format, ap);
	va_end(ap);
	h->broken = true;
	if (h->conn.fd >= 0)
		shutdown(h->conn.fd, SHUT_RDWR);
	return -EIO;
}

/* A failed open: NULL with errno, and a reason for rmt_error_text(NULL) in any case. */
static void *return_errno(int negative_error)
{
	if (open_error[0] == '\0')
		snprintf(open_error, sizeof(open_error), "%s", strerror(-negative_error));
	errno = -negative_error;
	return NULL;
}

/* ------------------------------------------------------------------ one exchange */

static int receive_reply(struct rmt_handle *h, int64_t *value);

/* The oldest write in flight: its reply, matched. -EIO when the stream broke. */
static int window_collect(struct rmt_handle *h)
{
	int64_t value = 0;
	int result = receive_reply(h, &value);

	if (h->broken)
		return result;
	write_window_reply(h->window, result == 0, value, -result, h->error_text);
	return 0;
}

/* Every write in flight answered: the stream is in step for another request. */
int client_window_drain(struct rmt_handle *h)
{
	while (h->window != NULL && h->window->count > 0) {
		int result = window_collect(h);

		if (result < 0)
			return result;
	}
	return 0;
}

/*
 * Send a request and read the status line. 0 with *value for A; -errno for E
 * (the handle stays usable) and F (it breaks); -EIO when the stream broke.
 */
static int transact(struct rmt_handle *h, const struct iovec *iov, int iovcnt, int64_t *value)
{
	ssize_t n;
	int result;

	if (h->broken)
		return -EIO;
	result = client_window_drain(h);
	if (result < 0)
		return result;
	/* A request other than W ends the server's discarding after a failure. */
	if (h->window != NULL && ((const char *)iov[0].iov_base)[0] != RMT_CMD_WRITE)
		h->window->burst = false;
	n = connection_check_idle(&h->conn);
	if (n > 0)
		return client_break_connection(h, "the server sent %zd bytes nobody asked for", n);
	if (n < 0)
		return client_break_connection(h, "the server closed the connection");
	result = connection_send(&h->conn, iov, iovcnt);
	if (result < 0)
		return client_break_connection(h, "cannot send to the server: %s",
		                               connection_error_text(&h->conn, result));
	return receive_reply(h, value);
}

/* A reply's status line, and an error's text. As transact. */
static int receive_reply(struct rmt_handle *h, int64_t *value)
{
	char line[WIRE_STATUS_LINE_MAX + 1];
	char text[WIRE_ERROR_TEXT_MAX + 1];
	struct wire_reply reply;
	ssize_t n;
	int result;

	n = connection_read_line(&h->conn, line, sizeof(line), true);
	if (n < 0)
		return client_break_connection(h, "no reply: %s",
		                               connection_error_text(&h->conn, (int)n));
	if (wire_parse_status(line, (size_t)n, &reply) < 0) {
		char shown[40];

		wire_clean_text(shown, sizeof(shown), line);
		return client_break_connection(h, "malformed reply \"%s\"", shown);
	}
	if (reply.kind == WIRE_REPLY_OK) {
		*value = reply.value;
		return 0;
	}
	n = connection_read_line(&h->conn, text, sizeof(text), false);
	if (n < 0)
		return client_break_connection(h, "error reply without its text: %s",
		                               connection_error_text(&h->conn, (int)n));
	wire_clean_text(h->error_text, sizeof(h->error_text), text);
	result = wire_errno(reply.value);
	/* Classic servers may send an empty text: the errno still says why. */
	if (h->error_text[0] == '\0')
		snprintf(h->error_text, sizeof(h->error_text), "%s", strerror(result));
	if (reply.kind == WIRE_REPLY_FATAL) {
		h->broken = true;
		shutdown(h->conn.fd, SHUT_RDWR);
	}
	return -result;
}

int client_transact_text(struct rmt_handle *h, const char *request, int length, int64_t *value)
{
	struct iovec iov = {.iov_base = (void *)request, .iov_len = (size_t)length};

	return transact(h, &iov, 1, value);
}

/* ------------------------------------------------------------------ negotiation */

/* I-2: discard after a failed write, and I-3. 0 when the server agrees to both. */
static int pipeline_agree(struct rmt_handle *h)
{
	char request[32];
	int64_t value;
	int length = snprintf(request, sizeof(request), "%c%d\n%d\n", RMT_CMD_IOCTL,
	                      RMT_IOCTL_PIPELINE, RMT_PIPELINE_DISCARD | RMT_PIPELINE_ROOM);
	int result = client_transact_text(h, request, length, &value);

	if (result < 0)
		return result;
	if ((value & RMT_PIPELINE_DISCARD) == 0 || (value & RMT_PIPELINE_ROOM) == 0)
		return -EOPNOTSUPP;
	return 0;
}

/* I-3: how far early warning is (-1: no limit). -errno when the drive cannot tell. */
static int pipeline_room(struct rmt_handle *h, int64_t *room)
{
	char request[32];
	int length = snprintf(request, sizeof(request), "%c%d\n0\n", RMT_CMD_IOCTL, RMT_IOCTL_ROOM);
	int result = client_transact_text(h, request, length, room);

	if (result == 0 && *room < -1)
		result = -EPROTO;
	return result;
}

/*
 * Writes in flight only with a server that discards after a failure and a drive
 * that tells where early warning is; otherwise one request at a time, as
 * rmt_capabilities shows (no RMT_CAP_PIPELINE).
 */
static void pipeline_start(struct rmt_handle *h)
{
	struct write_window *w;
	int64_t room;

	if (pipeline_agree(h) < 0 || pipeline_room(h, &room) < 0)
		goto classic;
	w = write_window_new();
	if (w == NULL)
		goto classic;
	w->room_left = room;
	h->window = w;
	h->caps |= RMT_CAP_PIPELINE;
classic:
	if (!h->broken)
		h->error_text[0] = '\0';
}

static int negotiate_protocol(struct rmt_handle *h, const char *path, int flags,
                              unsigned int options);

static int negotiate(struct rmt_handle *h, const char *path, int flags, unsigned int options)
{
	int result = negotiate_protocol(h, path, flags, options);

	if (result == 0 && (options & RMT_OPT_PIPELINE))
		pipeline_start(h);
	return h->broken ? -EIO : result;
}

static int negotiate_protocol(struct rmt_handle *h, const char *path, int flags,
                              unsigned int options)
{
	char request[PATH_MAX + 200];
	int64_t value;
	int length, result;

	length = wire_format_open(request, sizeof(request), path, flags);
	if (length < 0)
		return client_set_error(h, -length, "cannot send this path");
	result = client_transact_text(h, request, length, &value);
	if (result < 0)
		return result;
	if (value < 0)
		return client_break_connection(h, "open answered with a negative value");

	if (!(options & RMT_OPT_CLASSIC)) {
		/* The one probe no classic server dies on: I-1 (doc/protocol.md 2.6). */
		length = snprintf(request, sizeof(request), "%c%d\n0\n", RMT_CMD_IOCTL,
		                  RMT_IOCTL_VERSION_QUERY);
		result = client_transact_text(h, request, length, &value);
		if (result == 0 && value == RMT_PROTOCOL_VERSION_1) {
			h->caps =
			    RMT_CAP_V1 | RMT_CAP_STATUS_FIELD | RMT_CAP_EXT_IOCTL | RMT_CAP_QFA;
			h->error_text[0] = '\0';
			return 0;
		}
		if (h->broken)
			return result;
	}
	/*
	 * Classic server. Just after O the offset is 0, so L1\n0\n is a harmless
	 * tell to a whence-first (GNU) server, which answers 0, and a seek to 1
	 * for an offset-first one, which answers 1 and is put back with L0\n0\n.
	 * No answer (a tape, a pipe) keeps the whence-first order: a BSD server
	 * refuses it, while a GNU server would lose step on the other order.
	 */
	h->caps = RMT_CAP_WHENCE_FIRST;
	length = snprintf(request, sizeof(request), "%c1\n0\n", RMT_CMD_SEEK);
	result = client_transact_text(h, request, length, &value);
	if (result == 0 && value == 1) {
		h->caps = 0;
		length = snprintf(request, sizeof(request), "%c0\n0\n", RMT_CMD_SEEK);
		result = client_transact_text(h, request, length, &value);
		if (result == 0 && value != 0)
			return client_break_connection(h, "cannot seek back to 0 after the probe");
	}
	if (h->broken)
		return result;
	h->error_text[0] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ options */

void rmt_options_init(struct rmt_options *options)
{
	memset(options, 0, sizeof(*options));
}

/* RMT_TIMEOUT: seconds, or milliseconds with an "ms" suffix; 0 or garbage: no limit. */
static int timeout_from_environment(void)
{
	const char *text = getenv("RMT_TIMEOUT");
	size_t digits;
	const char *end;
	uint64_t value;

	if (text == NULL)
		return -1;
	digits = strspn(text, "0123456789");
	end = text + digits;
	if (decimal_parse_u64(text, digits, &value) < 0 || value == 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		return value > INT_MAX ? INT_MAX : (int)value;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return value > INT_MAX / 1000 ? INT_MAX : (int)value * 1000;
	return -1;
}

static int reply_timeout(const struct rmt_options *o)
{
	if (o != NULL && o->timeout_ms > 0)
		return o->timeout_ms;
	if (o != NULL && o->timeout_ms < 0)
		return -1;
	return timeout_from_environment();
}

static struct rmt_handle *new_handle(int fd, const struct rmt_options *o, int flags)
{
	struct rmt_handle *h = calloc(1, sizeof(*h));
	int timeout = reply_timeout(o);

	if (h == NULL)
		return NULL;
	connection_init(&h->conn, fd, timeout, timeout > 0 ? timeout : 60000);
	h->open_flags = flags;
	return h;
}

/* ------------------------------------------------------------------ open, close */

/* Option flags, plus RMT_NEGOTIATE=classic from the environment (for the shim's users). */
static unsigned int option_flags(const struct rmt_options *o)
{
	const char *negotiate = getenv("RMT_NEGOTIATE");
	unsigned int flags = o != NULL ? o->flags : 0;

	const char *pipeline = getenv("RMT_PIPELINE");

	if (negotiate != NULL && strcmp(negotiate, "classic") == 0)
		flags |= RMT_OPT_CLASSIC;
	if (pipeline != NULL && strcmp(pipeline, "1") == 0)
		flags |= RMT_OPT_PIPELINE;
	else if (pipeline != NULL && strcmp(pipeline, "0") == 0)
		flags &= ~RMT_OPT_PIPELINE;
	return flags;
}

static struct rmt_handle *finish_open(struct rmt_handle *h, const char *path, int flags,
                                      const struct rmt_options *o)
{
	int result = negotiate(h, path, flags, option_flags(o));

	if (result < 0) {
		if (h->error_text[0] != '\0')
			snprintf(open_error, sizeof(open_error), "%s", h->error_text);
		else
			snprintf(open_error, sizeof(open_error), "%s", strerror(-result));
		connection_close(&h->conn, false);
		free(h);
		return return_errno(result);
	}
	return h;
}

struct rmt_handle *rmt_open(const char *name, int flags, const struct rmt_options *options)
{
	struct remote_name *parsed = calloc(1, sizeof(*parsed));
	struct connection conn = {.fd = -1};
	struct rmt_handle *h;
	char why[160];
	int result;

	open_error[0] = '\0';
	if (parsed == NULL)
		return return_errno(-ENOMEM);
	why[0] = '\0';
	result = dial_resolve_name(name, options, parsed);
	if (result < 0)
		snprintf(why, sizeof(why), "not a remote device name");
	else
		result = dial_connect(&conn, parsed, options, why, sizeof(why));
	if (result < 0) {
		snprintf(open_error, sizeof(open_error), "%s",
		         why[0] != '\0' ? why : strerror(-result));
		free(parsed);
		return return_errno(result);
	}
	h = new_handle(conn.fd, options, flags);
	if (h == NULL) {
		connection_close(&conn, false);
		free(parsed);
		return return_errno(-ENOMEM);
	}
	h->conn.tls = conn.tls;
	h = finish_open(h, parsed->path, flags, options);
	free(parsed);
	return h;
}

struct rmt_handle *rmt_open_fd(int fd, const char *path, int flags,
                               const struct rmt_options *options)
{
	struct rmt_handle *h;
	int type = 0;
	socklen_t len = sizeof(type);

	open_error[0] = '\0';
	if (fd < 0 || path == NULL) {
		if (fd >= 0)
			close(fd);
		return return_errno(-EINVAL);
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		int error = errno == ENOTSOCK || type != SOCK_STREAM ? ENOTSOCK : errno;

		close(fd);
		return return_errno(-error);
	}
	h = new_handle(fd, options, flags);
	if (h == NULL) {
		close(fd);
		return return_errno(-ENOMEM);
	}
	return finish_open(h, path, flags, options);
}

int rmt_close(struct rmt_handle *h)
{
	int64_t value;
	int result = 0;

	if (h == NULL) {
		errno = EBADF;
		return -1;
	}
	if (!h->broken) {
		static const char request[] = "C\n";
		int failed = 0;

		/* A write that failed in flight is this close's error, as st reports it. */
		if (client_window_drain(h) == 0 && h->window != NULL)
			failed = write_window_take_failure(h->window, h->error_text,
			                                   sizeof(h->error_text));
		result = client_transact_text(h, request, (int)sizeof(request) - 1, &value);
		if (failed != 0)
			result = -failed;
	} else {
		result = -EIO;
	}
	connection_close(&h->conn, false);
	write_window_free(h->window);
	free(h);
	if (result < 0) {
		errno = -result;
		return -1;
	}
	return 0;
}

struct rmt_handle *librmt_adopt(int fd, unsigned int caps, int open_flags)
{
	struct rmt_handle *h = new_handle(fd, NULL, open_flags);

	if (h != NULL)
		h->caps = caps;
	return h;
}

void librmt_settle(struct rmt_handle *h)
{
	if (h != NULL && !h->broken)
		client_window_drain(h);
}

int librmt_abandon(struct rmt_handle *h, bool keep_fd)
{
	int failed = 0;

	if (h == NULL)
		return 0;
	/* The stream is left in step for whoever goes on with it. */
	if (!h->broken && client_window_drain(h) == 0 && h->window != NULL)
		failed = write_window_take_failure(h->window, h->error_text, sizeof(h->error_text));
	/* No close_notify: another process may go on with this session. */
	connection_drop_tls(&h->conn);
	connection_close(&h->conn, keep_fd);
	write_window_free(h->window);
	free(h);
	return -failed;
}

bool librmt_is_tls(const struct rmt_handle *h)
{
	return h->conn.tls != NULL;
}

void librmt_set_fd(struct rmt_handle *h, int fd)
{
	connection_set_fd(&h->conn, fd);
}

int librmt_open_flags(const struct rmt_handle *h)
{
	return h->open_flags;
}

unsigned int rmt_capabilities(const struct rmt_handle *h)
{
	return h != NULL ? h->caps : 0;
}

const char *rmt_error_text(const struct rmt_handle *h)
{
	return h != NULL ? h->error_text : open_error;
}

int rmt_fileno(const struct rmt_handle *h)
{
	return h != NULL ? h->conn.fd : -1;
}

int rmt_is_remote_name(const char *name)
{
	return remote_name_is_remote(name);
}

/* ------------------------------------------------------------------ data */

static ssize_t fail_ssize(int negative_error)
{
	errno = -negative_error;
	return -1;
}

ssize_t rmt_read(struct rmt_handle *h, void *buffer, size_t count)
{
	char request[40];
	int64_t value;
	int length, result;

	if (h == NULL)
		return fail_ssize(-EBADF);
	if (count > SSIZE_MAX)
		count = SSIZE_MAX;
	if (count == 0)
		return 0;
	length = snprintf(request, sizeof(request), "%c%zu\n", RMT_CMD_READ, count);
	result = client_transact_text(h, request, length, &value);
	if (result < 0)
		return fail_ssize(result);
	/* CVE-2010-0624: never read more than was asked for, whatever the server claims. */
	if (value < 0 || (uint64_t)value > count)
		return fail_ssize(client_break_connection(
		    h, "the server announced %" PRId64 " bytes for a read of %zu", value, count));
	result = connection_read_exact(&h->conn, buffer, (size_t)value);
	if (result < 0)
		return fail_ssize(client_break_connection(h, "read data lost: %s",
		                                          connection_error_text(&h->conn, result)));
	return (ssize_t)value;
}

/* A failure from a write in flight, reported now: -1 with errno, once. */
ssize_t client_report_failure(struct rmt_handle *h)
{
	int error = write_window_take_failure(h->window, h->error_text, sizeof(h->error_text));

	if (error == 0)
		return 0;
	h->window->rearm = true;
	return fail_ssize(-error);
}

/* The shim's fsync (client_internal.h). */
int librmt_sync(struct rmt_handle *h)
{
	int result;

	if (h->broken)
		return (int)fail_ssize(-EIO);
	result = client_window_drain(h);
	if (result < 0)
		return (int)fail_ssize(result);
	return h->window != NULL ? (int)client_report_failure(h) : 0;
}

/*
 * Pipelined: the record is sent and reported written; its reply is matched
 * later. 0 when it must go the classic way instead (near early warning).
 */
static ssize_t window_write(struct rmt_handle *h, const struct iovec *iov, size_t count)
{
	struct write_window *w = h->window;
	ssize_t reported = client_report_failure(h);
	int result;

	if (reported != 0)
		return reported;
	if (w->rearm) {
		/* The server discards until another request: this one ends it. */
		w->rearm = false;
		if (pipeline_agree(h) < 0) {
			w->near_end = true; /* no discarding now: one at a time */
			return 0;
		}
	}
	if (!w->near_end && !write_window_before_early_warning(w, count)) {
		int64_t room;

		/* Near the end: ask again where early warning is, all in flight written. */
		result = client_window_drain(h);
		if (result < 0)
			return fail_ssize(result);
		reported = client_report_failure(h);
		if (reported != 0)
			return reported;
		if (pipeline_room(h, &room) < 0) {
			w->near_end = true;
			return h->broken ? fail_ssize(-EIO) : 0;
		}
		w->room_left = room;
		w->near_end = !write_window_before_early_warning(w, count);
	}
	if (w->near_end)
		return 0;
	while (!write_window_has_room(w, count)) {
		result = window_collect(h);
		if (result < 0)
			return fail_ssize(result);
	}
	result = connection_send(&h->conn, iov, 2);
	if (result < 0)
		return fail_ssize(client_break_connection(h, "cannot send to the server: %s",
		                                          connection_error_text(&h->conn, result)));
	write_window_push(w, count);
	return (ssize_t)count;
}

ssize_t rmt_write(struct rmt_handle *h, const void *buffer, size_t count)
{
	char header[40];
	struct iovec iov[2];
	int64_t value;
	int result;

	if (h == NULL)
		return fail_ssize(-EBADF);
	if (count > SSIZE_MAX)
		count = SSIZE_MAX;
	/* W0 kills DUMP and gets a stale errno from GNU; a local write of 0 does nothing. */
	if (count == 0)
		return h->broken ? fail_ssize(-EIO) : 0;
	iov[0].iov_base = header;
	iov[0].iov_len = (size_t)snprintf(header, sizeof(header), "%c%zu\n", RMT_CMD_WRITE, count);
	iov[1].iov_base = (void *)buffer;
	iov[1].iov_len = count;
	if (h->window != NULL && !h->broken) {
		ssize_t sent = window_write(h, iov, count);

		if (sent != 0)
			return sent;
	}
	/* Header and record in one sendmsg: no extra round trip, no Nagle wait. */
	result = transact(h, iov, 2, &value);
	/* A W that failed one at a time also makes the server discard: end that first. */
	if (result < 0 && h->window != NULL)
		h->window->rearm = true;
	if (result < 0)
		return fail_ssize(result);
	if (value < 0 || (uint64_t)value > count)
		return fail_ssize(client_break_connection(
		    h, "the server claims %" PRId64 " bytes written of %zu", value, count));
	return (ssize_t)value;
}

int64_t client_seek_request(struct rmt_handle *h, int64_t offset, int whence, int *error)
{
	char request[80];
	int64_t value;
	int length, result;

	length = wire_format_seek(request, sizeof(request), offset, whence,
	                          (h->caps & RMT_CAP_WHENCE_FIRST) != 0);
	if (length < 0) {
		*error = client_set_error(h, EINVAL, "this server cannot take whence %d", whence);
		return -1;
	}
	result = client_transact_text(h, request, length, &value);
	if (result < 0) {
		*error = result;
		return -1;
	}
	if (value < 0) {
		*error =
		    client_break_connection(h, "the server answered a seek with %" PRId64, value);
		return -1;
	}
	return value;
}

off_t rmt_lseek(struct rmt_handle *h, off_t offset, int whence)
{
	int error = 0;
	int64_t value;

	if (h == NULL) {
		errno = EBADF;
		return -1;
	}
	if (whence < SEEK_SET || whence > SEEK_HOLE) {
		errno = EINVAL;
		return -1;
	}
	value = client_seek_request(h, offset, whence, &error);
	if (value < 0) {
		errno = -error;
		return -1;
	}
	return (off_t)value;
}
