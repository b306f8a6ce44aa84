/*
 * pipeline.c - rmt-connect's pipelined relay (pipeline.h).
 *
 * Two threads share one queue of the replies still owed by the server, in
 * request order. The main thread reads the program's requests and sends them;
 * the reply thread reads the server's replies, swallows those of W requests
 * already answered, and passes the others to the program. Every request that
 * is not a W waits until the queue is empty, so its reply is the next thing
 * the program reads and nothing overtakes it.
 *
 * Reads are read ahead when the server agrees (I-2 READ): pipeline_read_ahead.c
 * (both share pipeline_internal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "number.h"
#include "pipeline.h"
#include "pipeline_internal.h"
#include "rmt/protocol.h"
#include "wire.h"

/* ------------------------------------------------------------------ buffered input */

/* Returns the next byte, -1 at EOF or on an error. */
static int reader_byte(struct reader *r)
{
	if (r->start == r->end) {
		ssize_t n;

		do
			n = read(r->fd, r->buffer, sizeof(r->buffer));
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			return -1;
		r->start = 0;
		r->end = (size_t)n;
	}
	return r->buffer[r->start++];
}

/* A line with its '\n' into line (NUL-terminated); its length, or -1 (EOF, too long). */
static ssize_t reader_line(struct reader *r, char *line, size_t size)
{
	size_t n = 0;

	for (;;) {
		int c = reader_byte(r);

		if (c < 0 || n + 2 > size)
			return -1;
		line[n++] = (char)c;
		if (c == '\n')
			break;
	}
	line[n] = '\0';
	return (ssize_t)n;
}

bool relay_write_all(int fd, const void *data, size_t length)
{
	const char *p = data;

	/* write(2) for sockets too: rmt-connect ignores SIGPIPE. */
	while (length > 0) {
		ssize_t n = write(fd, p, length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		length -= (size_t)n;
	}
	return true;
}

/* At least count (<= CHUNK) bytes buffered in r; false when r ends first. */
static bool reader_ensure(struct reader *r, size_t count)
{
	if (r->end - r->start >= count)
		return true;
	memmove(r->buffer, r->buffer + r->start, r->end - r->start);
	r->end -= r->start;
	r->start = 0;
	while (r->end < count) {
		ssize_t n = read(r->fd, r->buffer + r->end, sizeof(r->buffer) - r->end);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		r->end += (size_t)n;
	}
	return true;
}

/* header and then count bytes buffered in r, in one call where the socket takes them. */
static bool send_with_header(int fd, const char *header, size_t length, struct reader *r,
                             size_t count)
{
	struct iovec iov[2] = {{(void *)header, length}, {r->buffer + r->start, count}};
	int first = 0;

	while (first < 2) {
		ssize_t n = writev(fd, iov + first, 2 - first);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		while (first < 2 && (size_t)n >= iov[first].iov_len) {
			n -= (ssize_t)iov[first].iov_len;
			first++;
		}
		if (first < 2) {
			iov[first].iov_base = (char *)iov[first].iov_base + n;
			iov[first].iov_len -= (size_t)n;
		}
	}
	return true;
}

/* Move count bytes from r to fd (fd < 0: drop them). False when r ends first. */
bool reader_copy(struct reader *r, int fd, uint64_t count, bool *out_failed)
{
	while (count > 0) {
		size_t n;

		if (r->start == r->end && reader_byte(r) >= 0)
			r->start--;
		if (r->start == r->end)
			return false;
		n = r->end - r->start;
		if (n > count)
			n = (size_t)count;
		if (fd >= 0 && !*out_failed && !relay_write_all(fd, r->buffer + r->start, n))
			*out_failed = true;
		r->start += n;
		count -= n;
	}
	return true;
}

/* A request's count line ("<digits>\n"), strictly. */
static bool parse_count(const char *line, uint64_t *value)
{
	return decimal_parse_u64(line, strcspn(line, "\n"), value) == 0;
}

/* ------------------------------------------------------------------ shared state */

static void push(struct relay *r, enum owed kind, size_t bytes)
{
	pthread_mutex_lock(&r->lock);
	r->ring[(r->head + r->count) % r->capacity] =
	    (struct entry){.kind = kind, .bytes = bytes, .ordinal = r->writes_requested};
	r->count++;
	r->bytes += bytes;
	pthread_mutex_unlock(&r->lock);
}

/* Wait until at most records entries and bytes bytes are owed (or the link is gone). */
static void wait_until(struct relay *r, unsigned int records, size_t bytes)
{
	pthread_mutex_lock(&r->lock);
	r->request_waits = true;
	while (!r->ended && r->count > 0 && (r->count > records || r->bytes > bytes))
		pthread_cond_wait(&r->changed, &r->lock);
	r->request_waits = false;
	pthread_mutex_unlock(&r->lock);
}

void relay_drain(struct relay *r)
{
	wait_until(r, 0, 0);
}

void relay_reply_error(int error, const char *text)
{
	char line[TEXT_MAX + 32];
	int n = snprintf(line, sizeof(line), "E%d\n%s\n", error, text);

	relay_write_all(STDOUT_FILENO, line, (size_t)n);
}

/* ------------------------------------------------------------------ the reply thread */

static void tell_failure(const struct relay *r, uint64_t ordinal)
{
	fprintf(stderr,
	        "%s: write %" PRIu64 " failed on the server: %s (E%d); the program hears of it "
	        "at its next write, filemark or close",
	        r->program, ordinal, r->failed_text, r->failed_errno);
	fputs("\n", stderr);
}

/* One reply for entry e. False when the connection failed. */
static bool take_reply(struct relay *r, const struct entry *e)
{
	char line[64], text[TEXT_MAX];
	ssize_t n = reader_line(&r->server, line, sizeof(line));
	struct wire_reply reply;
	uint64_t value = 0;
	bool ok, out_failed = false;

	if (n < 1 || wire_parse_status(line, (size_t)n - 1, &reply) < 0)
		return false;
	ok = reply.kind == WIRE_REPLY_OK;
	text[0] = '\0';
	if (!ok && reader_line(&r->server, text, sizeof(text)) < 0)
		return false;
	/* A negative A is no count: a W it answers wrote nothing. */
	if (ok && reply.value > 0)
		value = (uint64_t)reply.value;
	switch (e->kind) {
	case OWED_WRITE:
		pthread_mutex_lock(&r->lock);
		if (ok && value == e->bytes) {
			r->writes_confirmed++;
		} else if (r->failure_burst) {
			r->discarded++;
		} else {
			r->failure_burst = true;
			r->failed_errno = ok ? EIO : wire_errno(reply.value);
			if (ok)
				snprintf(r->failed_text, sizeof(r->failed_text),
				         "short write: %" PRIu64 " of %zu bytes", value, e->bytes);
			else
				snprintf(r->failed_text, sizeof(r->failed_text), "%.*s",
				         (int)strcspn(text, "\n"), text);
			tell_failure(r, e->ordinal);
		}
		pthread_mutex_unlock(&r->lock);
		return true;
	case OWED_PROBE:
		r->probe = ok ? reply.value : PROBE_REFUSED;
		r->probe_errno = ok ? 0 : wire_errno(reply.value);
		r->failure_burst = false;
		r->reads_stopped = false;
		if (ok && e->data && value > 0)
			return reader_copy(&r->server, -1, value, &out_failed);
		return true;
	case OWED_READ_AHEAD:
		return relay_take_read_ahead(r, line, (size_t)n, ok,
		                             ok ? 0 : wire_errno(reply.value), value, text);
	case OWED_REPLACE:
		relay_reply_error(r->replace_errno, r->replace_text);
		return true;
	case OWED_OPEN:
		r->open_ok = ok;
		break;
	case OWED_PASS:
	case OWED_PASS_DATA:
		break;
	}
	/* A request other than W: the server has stopped discarding. */
	r->failure_burst = false;
	if (e->kind == OWED_PASS_DATA && line[0] != RMT_REPLY_FATAL && (!ok || value == 0))
		r->reads_stopped = true; /* (an S reply too: harmless, it only asks once more) */
	else if (e->kind != OWED_PASS_DATA)
		r->reads_stopped = false;
	r->passed_failed = !ok;
	if (!relay_write_all(STDOUT_FILENO, line, (size_t)n) ||
	    (!ok && !relay_write_all(STDOUT_FILENO, text, strlen(text))))
		out_failed = true;
	if (ok && e->kind == OWED_PASS_DATA && value > 0)
		return reader_copy(&r->server, out_failed ? -1 : STDOUT_FILENO, value, &out_failed);
	return true;
}

static void *reply_thread(void *arg)
{
	struct relay *r = arg;

	for (;;) {
		struct entry e;
		bool got;

		pthread_mutex_lock(&r->lock);
		r->reply_idle = true;
		while (r->count == 0 && !r->finishing)
			pthread_cond_wait(&r->changed, &r->lock);
		r->reply_idle = false;
		if (r->count == 0) {
			r->ended = true;
			pthread_cond_broadcast(&r->changed);
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		e = r->ring[r->head];
		pthread_mutex_unlock(&r->lock);

		got = take_reply(r, &e);

		pthread_mutex_lock(&r->lock);
		if (!got) {
			r->lost = r->ended = true;
			/* A request the program waits on gets its answer: the link is gone. */
			if ((e.kind != OWED_WRITE && e.kind != OWED_PROBE &&
			     e.kind != OWED_READ_AHEAD) ||
			    (e.kind == OWED_READ_AHEAD && r->asked > r->given))
				relay_reply_error(EIO, "Connection to the server lost");
			pthread_cond_broadcast(&r->changed);
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		r->head = (r->head + 1) % r->capacity;
		r->count--;
		r->bytes -= e.bytes;
		if (r->request_waits)
			pthread_cond_broadcast(&r->changed);
		pthread_mutex_unlock(&r->lock);
	}
}

/* ------------------------------------------------------------------ the request side */

/* How many argument lines follow a command letter; -1 for letters not known. */
static int argument_lines(int letter)
{
	switch (letter) {
	case RMT_CMD_OPEN:
	case RMT_CMD_SEEK:
	case RMT_CMD_IOCTL:
	case RMT_CMD_IOCTL_EXTENDED:
		return 2;
	case RMT_CMD_CLOSE:
	case RMT_CMD_WRITE:
	case RMT_CMD_READ:
	case RMT_CMD_VERSION_BSD:
	case RMT_CMD_VERSION_SCHILY:
		return 1;
	case RMT_CMD_STATUS:
	case RMT_CMD_STATUS_FIELD: /* its one byte is read apart */
		return 0;
	default:
		return -1;
	}
}

/*
 * One request of ours, its reply swallowed (data: an A reply carries that many
 * bytes): its A value, or PROBE_REFUSED with the errno in probe_errno.
 */
int64_t relay_query(struct relay *r, const char *request, size_t length, bool data)
{
	r->probe = PROBE_REFUSED;
	r->probe_errno = EIO;
	pthread_mutex_lock(&r->lock);
	r->ring[(r->head + r->count) % r->capacity] =
	    (struct entry){.kind = OWED_PROBE, .data = data};
	r->count++;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	if (!relay_write_all(r->sock, request, length)) {
		pthread_mutex_lock(&r->lock);
		r->lost = true;
		pthread_mutex_unlock(&r->lock);
	}
	relay_drain(r);
	return r->probe;
}

/* I-2, I-3: its A value, or PROBE_REFUSED. */
static int64_t ask(struct relay *r, int op, int count)
{
	char request[32];
	int n = snprintf(request, sizeof(request), "%c%d\n%d\n", RMT_CMD_IOCTL, op, count);

	return relay_query(r, request, (size_t)n, false);
}

/*
 * Ask for discarding after a failure, the room query and cancelled reads; true
 * when the server agrees to the first two (a window of writes), read_ahead_ok
 * when to the third.
 */
bool relay_probe(struct relay *r)
{
	int64_t granted = ask(r, RMT_IOCTL_PIPELINE,
	                      RMT_PIPELINE_DISCARD | RMT_PIPELINE_ROOM | RMT_PIPELINE_READ);

	r->read_ahead_ok = granted >= 0 && (granted & RMT_PIPELINE_READ);
	return granted >= 0 && (granted & RMT_PIPELINE_DISCARD) && (granted & RMT_PIPELINE_ROOM);
}

/*
 * How far early warning is (room_left; -1 none). False when the drive cannot
 * tell: then no window, or end of medium would be met out of step.
 */
static bool query_room(struct relay *r)
{
	int64_t room = ask(r, RMT_IOCTL_ROOM, 0);

	if (room < -1)
		return false;
	r->room_left = room;
	return true;
}

/* Does a record of count bytes surely end before early warning, after all in flight? */
static bool before_early_warning(const struct relay *r, uint64_t count)
{
	return r->room_left < 0 || (uint64_t)r->room_left >= count + RECORD_OVERHEAD;
}

/* Send what was read of a request; the rest of its bytes follow from the program. */
void relay_send_request(struct relay *r, const char *bytes, size_t length)
{
	if (!r->lost && !relay_write_all(r->sock, bytes, length)) {
		pthread_mutex_lock(&r->lock);
		r->lost = true;
		pthread_mutex_unlock(&r->lock);
	}
}

/* One line: when the program heard of the failure. */
static void report_told(const struct relay *r, int letter)
{
	if (letter == RMT_CMD_WRITE)
		fprintf(stderr,
		        "%s: the failure was reported to the program at its write %" PRIu64 "\n",
		        r->program, r->writes_requested);
	else
		fprintf(stderr,
		        "%s: the failure was reported to the program at its %s after write %" PRIu64
		        "\n",
		        r->program, letter == RMT_CMD_CLOSE ? "close" : "tape operation",
		        r->writes_requested);
}

/* The failure the program has not heard of yet, taken (0: none). */
static int take_failure(struct relay *r, char *text, size_t size)
{
	int error;

	pthread_mutex_lock(&r->lock);
	error = r->failed_errno;
	snprintf(text, size, "%s", r->failed_text);
	r->failed_errno = 0;
	pthread_mutex_unlock(&r->lock);
	return error;
}

int pipeline_relay(int sock, const struct pipeline_limits *limits, const char *program)
{
	struct relay *r = calloc(1, sizeof(*r));
	pthread_t thread;
	char request[LINE_MAX_BYTES * 2 + 2];
	bool windowed = false, told_classic = false, rearm = false, near_end = false;
	uint64_t last_read_size = 0;
	int status = 0;

	if (r == NULL) {
		fprintf(stderr, "%s: out of memory\n", program);
		return 255;
	}
	/* Both threads block: one reading replies, one sending requests. */
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK);
	r->program = program;
	r->sock = sock;
	r->limits = *limits;
	if (r->limits.records == 0)
		r->limits.records = 1;
	r->capacity = r->limits.records + 4;
	r->ring = calloc(r->capacity, sizeof(*r->ring));
	r->server.fd = sock;
	r->program_in.fd = STDIN_FILENO;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->changed, NULL);
	if (r->ring == NULL || pthread_create(&thread, NULL, reply_thread, r) != 0) {
		fprintf(stderr, "%s: cannot start the relay\n", program);
		return 255;
	}

	for (;;) {
		int letter = reader_byte(&r->program_in), lines;
		size_t length = 0;
		uint64_t count = 0;
		bool pipelined = false;
		char text[TEXT_MAX];
		int error;

		if (letter < 0)
			break;
		request[length++] = (char)letter;
		if (letter == '\n' || letter == '\r' || letter == ' ' || letter == '\t') {
			relay_send_request(r, request,
			                   length); /* servers skip these: pass them on */
			continue;
		}
		lines = argument_lines(letter);
		if (letter == RMT_CMD_STATUS_FIELD) {
			int c = reader_byte(&r->program_in);

			if (c < 0)
				break;
			request[length++] = (char)c;
		}
		for (int i = 0; i < lines; i++) {
			ssize_t n = reader_line(&r->program_in, request + length, LINE_MAX_BYTES);

			if (n < 0)
				goto end_of_requests; /* cut short: the program is gone */
			length += (size_t)n;
		}
		if (lines < 0)
			lines = 0; /* a letter no server knows: it answers (or ends) at once */
		request[length] = '\0';
		if (letter == RMT_CMD_WRITE)
			r->writes_requested++;

		if (letter == RMT_CMD_READ && parse_count(request + 1, &count)) {
			if (r->ahead && (count != r->ahead_size || relay_past_the_stop(r))) {
				last_read_size = r->ahead_size;
				if (!relay_give_back(r) && !r->lost) {
					relay_reply_error(
					    EIO,
					    "The drive could not be put back after reading ahead");
					continue;
				}
			}
			if (r->ahead && !r->lost) {
				relay_ask_read(r);
				relay_top_up(r);
				continue;
			}
			/* Two reads of one size in a row: read ahead. */
			if (r->read_ahead_ok && !r->ahead_refused && !r->lost && count > 0 &&
			    count == last_read_size && relay_start_reading_ahead(r, count)) {
				relay_ask_read(r);
				relay_top_up(r);
				continue;
			}
			last_read_size = count;
			relay_end_stopped_reads(r);
			count = 0;
		} else {
			last_read_size = 0;
			if (r->ahead && !relay_give_back(r) && !r->lost) {
				if (letter == RMT_CMD_WRITE && parse_count(request + 1, &count)) {
					bool ignored = false;

					if (!reader_copy(&r->program_in, -1, count, &ignored))
						break;
				}
				relay_reply_error(
				    EIO, "The drive could not be put back after reading ahead");
				continue;
			}
			count = 0;
		}

		if (letter == RMT_CMD_WRITE && windowed && parse_count(request + 1, &count)) {
			error = take_failure(r, text, sizeof(text));
			if (error == 0 && r->lost) {
				error = EIO;
				snprintf(text, sizeof(text), "Connection to the server lost");
			}
			if (error != 0) {
				bool ignored = false;

				if (!reader_copy(&r->program_in, -1, count, &ignored))
					break;
				relay_reply_error(error, text);
				report_told(r, letter);
				rearm = true;
				continue;
			}
			if (rearm) {
				/* The server discards until another request: this one ends it. */
				rearm = false;
				if (!relay_probe(r))
					windowed = false;
			}
			if (!near_end && !before_early_warning(r, count)) {
				/* Near the end: ask again where early warning is, all in flight
				 * written. */
				relay_drain(r);
				near_end = !query_room(r) || !before_early_warning(r, count);
			}
			pthread_mutex_lock(&r->lock);
			pipelined = windowed && !near_end && !r->lost && r->failed_errno == 0;
			pthread_mutex_unlock(&r->lock);
		}
		if (pipelined) {
			if (r->room_left >= 0)
				r->room_left -= (int64_t)(count + RECORD_OVERHEAD);
			wait_until(r, r->limits.records - 1,
			           count >= r->limits.bytes ? 0 : r->limits.bytes - (size_t)count);
			if (count <= CHUNK) {
				/* The whole record in hand: the program hears A at once and makes
				 * its next one while this one goes out, header and data in one
				 * call. */
				if (!reader_ensure(&r->program_in, (size_t)count))
					break;
				char answer[32];
				int n = snprintf(answer, sizeof(answer), "A%" PRIu64 "\n", count);

				push(r, OWED_WRITE, (size_t)count);
				pthread_mutex_lock(&r->lock);
				r->writes_sent++;
				if (r->reply_idle)
					pthread_cond_broadcast(&r->changed);
				pthread_mutex_unlock(&r->lock);
				relay_write_all(STDOUT_FILENO, answer, (size_t)n);
				if (!r->lost && !send_with_header(sock, request, length,
				                                  &r->program_in, (size_t)count)) {
					pthread_mutex_lock(&r->lock);
					r->lost = true;
					pthread_mutex_unlock(&r->lock);
				}
				r->program_in.start += (size_t)count;
				continue;
			}
			relay_send_request(r, request, length);
			if (!r->lost) {
				bool failed = false;

				if (!reader_copy(&r->program_in, sock, count, &failed))
					break;
				if (failed) {
					pthread_mutex_lock(&r->lock);
					r->lost = true;
					pthread_mutex_unlock(&r->lock);
				}
			} else {
				bool ignored = false;

				if (!reader_copy(&r->program_in, -1, count, &ignored))
					break;
			}
			push(r, OWED_WRITE, (size_t)count);
			pthread_mutex_lock(&r->lock);
			r->writes_sent++;
			pthread_cond_broadcast(&r->changed);
			pthread_mutex_unlock(&r->lock);
			length =
			    (size_t)snprintf(request, sizeof(request), "A%" PRIu64 "\n", count);
			relay_write_all(STDOUT_FILENO, request, length);
			continue;
		}

		/* Every other request goes alone, after the window has drained. */
		relay_drain(r);
		if (r->lost) {
			if (letter == RMT_CMD_WRITE && parse_count(request + 1, &count)) {
				bool ignored = false;

				if (!reader_copy(&r->program_in, -1, count, &ignored))
					break;
			}
			relay_reply_error(EIO, "Connection to the server lost");
			continue;
		}
		if (r->room_left >= RECORD_OVERHEAD)
			r->room_left -= RECORD_OVERHEAD; /* a filemark perhaps */
		if (windowed && (letter == RMT_CMD_WRITE || letter == RMT_CMD_IOCTL ||
		                 letter == RMT_CMD_IOCTL_EXTENDED || letter == RMT_CMD_CLOSE)) {
			error = take_failure(r, text, sizeof(text));
			if (error != 0 && letter != RMT_CMD_CLOSE) {
				/* A filemark or record after a lost record is not written either.
				 */
				if (letter == RMT_CMD_WRITE) {
					bool ignored = false;

					if (!reader_copy(&r->program_in, -1, count, &ignored))
						break;
				}
				relay_reply_error(error, text);
				report_told(r, letter);
				rearm = true;
				continue;
			}
			if (error != 0) {
				report_told(r, letter);
				r->replace_errno = error;
				snprintf(r->replace_text, sizeof(r->replace_text), "%s", text);
			}
			rearm = false;
			push(r, error != 0 ? OWED_REPLACE : OWED_PASS, 0);
		} else {
			push(r,
			     letter == RMT_CMD_OPEN                               ? OWED_OPEN
			     : letter == RMT_CMD_READ || letter == RMT_CMD_STATUS ? OWED_PASS_DATA
			                                                          : OWED_PASS,
			     0);
		}
		pthread_mutex_lock(&r->lock);
		pthread_cond_broadcast(&r->changed);
		pthread_mutex_unlock(&r->lock);
		relay_send_request(r, request, length);
		if (letter == RMT_CMD_WRITE && parse_count(request + 1, &count)) {
			bool failed = false;

			if (!reader_copy(&r->program_in, sock, count, &failed))
				break;
		}
		relay_drain(r);
		/* A W that failed one at a time also makes the server discard: end that. */
		if (letter == RMT_CMD_WRITE && windowed && r->passed_failed)
			rearm = true;
		if (letter == RMT_CMD_OPEN) {
			r->kind_known = r->ahead_refused = false;
			r->read_ahead_ok = false;
		}
		if (letter == RMT_CMD_OPEN && r->open_ok && !r->lost) {
			const char *why = NULL;

			rearm = near_end = false;
			windowed = relay_probe(r);
			if (!windowed)
				why = "the server does not discard after a failed write";
			else if (!query_room(r))
				why = "the drive cannot tell where early warning is";
			windowed = why == NULL;
			if (why != NULL && !told_classic) {
				fprintf(stderr,
				        "%s: %s (no pipelining): classic request and reply\n",
				        program, why);
				told_classic = true;
			}
		}
	}

end_of_requests:
	/* The program is done: the last replies are matched, then the server hears EOF. */
	if (r->ahead)
		relay_give_back(r);
	relay_drain(r);
	shutdown(sock, SHUT_WR);
	pthread_mutex_lock(&r->lock);
	r->finishing = true;
	pthread_cond_broadcast(&r->changed);
	while (!r->ended)
		pthread_cond_wait(&r->changed, &r->lock);
	pthread_mutex_unlock(&r->lock);
	pthread_join(thread, NULL);
	if (r->failed_errno != 0)
		fprintf(stderr, "%s: the program ended before it heard that a write failed: %s\n",
		        program, r->failed_text);
	if (r->discarded > 0)
		fprintf(stderr,
		        "%s: %" PRIu64 " records the program was told were written were "
		        "discarded after the failed one\n",
		        program, r->discarded);
	if (r->lost) {
		fprintf(
		    stderr,
		    "%s: connection lost: %" PRIu64 " of %" PRIu64
		    " records the program was told were written are not confirmed by the server "
		    "(they may be missing from the tape)\n",
		    program, r->writes_sent - r->writes_confirmed - r->discarded, r->writes_sent);
		status = 255;
	}
	return status;
}
