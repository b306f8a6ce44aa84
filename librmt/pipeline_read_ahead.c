/*
 * pipeline_read_ahead.c - rmt-connect's reads ahead (pipeline.c).
 *
 * When the server agrees (I-2 READ), after two R of the same size in a row
 * the relay sends more of them, and the reply thread hands each reply to the
 * program only when the program asks for it. The server stops at a filemark
 * or an error and cancels the reads sent after it, so an error reaches the
 * program at the read that met it. Before any other request the reads the
 * program did not ask for are given back: the drive is put back where the
 * program's last read left it (QFA: the tape block, or the file offset, taken
 * when the reading ahead began).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pipeline_internal.h"
#include "rmt/protocol.h"

/*
 * A reply to a read sent ahead: to the program once it asks for it, or
 * swallowed when the run is given back. False when the connection failed.
 */
bool relay_take_read_ahead(struct relay *r, const char *line, size_t length, bool ok, int error,
                           uint64_t value, const char *text)
{
	bool out_failed = false, deliver;

	pthread_mutex_lock(&r->lock);
	if ((!ok || value == 0) && !r->stop_seen) {
		/* The server cancels the reads after this one: the drive stays here. */
		r->stop_seen = true;
		r->stop_index = r->given;
	}
	while (!r->giving_back && r->asked == r->given)
		pthread_cond_wait(&r->changed, &r->lock);
	deliver = !r->giving_back;
	if (deliver) {
		r->given++;
		if (ok)
			r->given_bytes += value;
	} else if (!ok && error != ECANCELED && r->ahead_error == 0) {
		r->ahead_error = error;
		snprintf(r->ahead_error_text, sizeof(r->ahead_error_text), "%.*s",
		         (int)strcspn(text, "\n"), text);
	}
	pthread_mutex_unlock(&r->lock);
	if (!deliver)
		return !ok || value == 0 || reader_copy(&r->server, -1, value, &out_failed);
	if (!relay_write_all(STDOUT_FILENO, line, length) ||
	    (!ok && !relay_write_all(STDOUT_FILENO, text, strlen(text))))
		out_failed = true;
	if (ok && value > 0)
		return reader_copy(&r->server, out_failed ? -1 : STDOUT_FILENO, value, &out_failed);
	return true;
}

/* Has the program had the run's filemark or error? Then nothing is left to give back. */
bool relay_past_the_stop(struct relay *r)
{
	bool past;

	pthread_mutex_lock(&r->lock);
	past = r->stop_seen && r->stop_index < r->given;
	pthread_mutex_unlock(&r->lock);
	return past;
}

/*
 * Begin a run of reads of size bytes: where the drive is now (QFA, L whence 10:
 * a tape block, or a file offset), and once after each O whether it is a tape
 * (S answers ENOTTY on a file). False when the server cannot say: no reading
 * ahead until the next O.
 */
bool relay_start_reading_ahead(struct relay *r, uint64_t size)
{
	static const char where[] = "L0\n10\n";
	int64_t base;

	if (!r->kind_known) {
		int64_t status = relay_query(r, "S", 1, true);

		r->ahead_on_file = status == PROBE_REFUSED && r->probe_errno == ENOTTY;
		r->kind_known = status != PROBE_REFUSED || r->ahead_on_file;
		if (!r->kind_known) {
			r->ahead_refused = true;
			return false;
		}
	}
	base = relay_query(r, where, sizeof(where) - 1, false);
	if (base < 0 || r->lost) {
		r->ahead_refused = true;
		return false;
	}
	pthread_mutex_lock(&r->lock);
	r->ahead = true;
	r->ahead_size = size;
	r->ahead_base = base;
	r->ahead_sent = r->asked = r->given = r->given_bytes = 0;
	r->stop_seen = r->giving_back = false;
	r->ahead_error = 0;
	pthread_mutex_unlock(&r->lock);
	return true;
}

/* Keep the window full of reads, until a reply of the run met a filemark or an error. */
void relay_top_up(struct relay *r)
{
	char request[32];
	int n = snprintf(request, sizeof(request), "%c%" PRIu64 "\n", RMT_CMD_READ, r->ahead_size);

	for (;;) {
		bool more;

		pthread_mutex_lock(&r->lock);
		more = !r->lost && !r->stop_seen &&
		       (r->ahead_sent <= r->asked || (r->count < r->limits.records &&
		                                      r->bytes + r->ahead_size <= r->limits.bytes));
		if (more) {
			r->ring[(r->head + r->count) % r->capacity] =
			    (struct entry){.kind = OWED_READ_AHEAD, .bytes = (size_t)r->ahead_size};
			r->count++;
			r->bytes += (size_t)r->ahead_size;
			r->ahead_sent++;
			pthread_cond_broadcast(&r->changed);
		}
		pthread_mutex_unlock(&r->lock);
		if (!more)
			return;
		relay_send_request(r, request, (size_t)n);
	}
}

/* The program's R of the run's size: the next reply is its answer. */
void relay_ask_read(struct relay *r)
{
	bool unanswered;

	pthread_mutex_lock(&r->lock);
	r->asked++;
	unanswered = r->ended;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	if (unanswered)
		relay_reply_error(EIO, "Connection to the server lost");
}

/*
 * End the run: the replies the program did not ask for are swallowed and the
 * drive is put back where its last read left it. False when it could not be.
 */
bool relay_give_back(struct relay *r)
{
	char request[64];
	bool needed;
	int64_t target;
	int n;

	pthread_mutex_lock(&r->lock);
	r->giving_back = true;
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	relay_drain(r);
	pthread_mutex_lock(&r->lock);
	r->giving_back = false;
	r->ahead = false;
	needed = r->ahead_sent > r->given && !(r->stop_seen && r->stop_index < r->given);
	target = r->ahead_base + (int64_t)(r->ahead_on_file ? r->given_bytes : r->given);
	r->reads_stopped = r->stop_seen;
	pthread_mutex_unlock(&r->lock);
	if (r->lost)
		return false;
	if (r->ahead_error != 0)
		fprintf(stderr,
		        "%s: a read ahead met an error the program did not ask for: %s (E%d); "
		        "the drive is put back before it\n",
		        r->program, r->ahead_error_text, r->ahead_error);
	if (!needed)
		return true;
	/*
	 * A file: an absolute seek; a tape: QFA's locate to the block it gave. Both
	 * offset first, so a block of 1 or 2 is not read as a whence-first seek.
	 */
	if (r->ahead_on_file)
		n = snprintf(request, sizeof(request), "%c%" PRId64 "\nSEEK_SET\n", RMT_CMD_SEEK,
		             target);
	else
		n = snprintf(request, sizeof(request), "%c%" PRId64 "\n11\n", RMT_CMD_SEEK, target);
	if (relay_query(r, request, (size_t)n, false) != PROBE_REFUSED)
		return true;
	fprintf(stderr,
	        "%s: the drive could not be put back after reading ahead (to %s %" PRId64
	        "): E%d\n",
	        r->program, r->ahead_on_file ? "offset" : "block", target, r->probe_errno);
	return false;
}

/* The server cancels reads after one that met a filemark or failed: end that. */
void relay_end_stopped_reads(struct relay *r)
{
	bool stopped;

	pthread_mutex_lock(&r->lock);
	stopped = r->reads_stopped;
	pthread_mutex_unlock(&r->lock);
	if (stopped)
		relay_probe(r);
}
