/*
 * test_session.c - one client's conversation, byte for byte, over a fake transport.
 *
 * Device calls run inline (as in stdio mode), so every reply is there as soon as
 * the input that completes its request has been fed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "drive.h"
#include "path.h"
#include "session.h"

struct fake_transport {
	char output[1 << 20];
	size_t output_length;
	bool finished;
	char why[64];
	int send_error;
	int pieces; /* of the last reply sent */
	int sends;  /* writes to the client */
};

static struct fake_transport fake;
static struct event_base *base;
static struct drive_registry drives;
static struct config *config;
static char directory[PATH_MAX];
static struct session *session;

static int fake_send(void *context, const struct iovec *iov, int count)
{
	fake.pieces = count;
	fake.sends++;
	for (int i = 0; i < count; i++) {
		cr_assert_leq(fake.output_length + iov[i].iov_len, sizeof(fake.output));
		memcpy(fake.output + fake.output_length, iov[i].iov_base, iov[i].iov_len);
		fake.output_length += iov[i].iov_len;
	}
	return fake.send_error;
}

static void fake_finished(void *context, const char *why)
{
	fake.finished = true;
	snprintf(fake.why, sizeof(fake.why), "%s", why ? why : "");
}

static void fake_input_changed(void *context)
{
}

static bool fake_output_full(void *context)
{
	return false;
}

static const struct session_transport fake_ops = {
    .send = fake_send,
    .finished = fake_finished,
    .input_changed = fake_input_changed,
    .output_full = fake_output_full,
};

static void start_session_sized(uint64_t max_record, size_t input_buffer, size_t input_open)
{
	struct session_settings settings = {
	    .config = config,
	    .drives = &drives,
	    .max_record = max_record,
	    .input_buffer_size = input_buffer,
	    .input_open_size = input_open,
	    .peer = "local",
	    .identity = "tester",
	};

	memset(&fake, 0, sizeof(fake));
	session = session_create(&settings, &fake_ops, NULL);
	cr_assert_not_null(session);
}

static void start_session(uint64_t max_record, size_t input_buffer)
{
	start_session_sized(max_record, input_buffer, 0);
}

static void setup(void)
{
	char template[] = "/tmp/rmtd-session-XXXXXX";

	cr_assert_not_null(mkdtemp(template));
	snprintf(directory, sizeof(directory), "%s", template);
	base = event_base_new();
	drive_registry_init(&drives, base, false, 0);
	config = config_new();
	cr_assert_not_null(config);
	cr_assert_eq(path_policy_allow(&config->policy, directory, true), 0);
	start_session(1024 * 1024, 4096);
}

static void teardown(void)
{
	char command[PATH_MAX + 16];

	if (!fake.finished)
		session_close(session, "test over");
	drive_registry_free(&drives);
	config_release(config);
	event_base_free(base);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	(void)!system(command);
}

TestSuite(session, .init = setup, .fini = teardown);

/* Feed bytes the way a transport does: into the space the session offers, in pieces. */
static void feed_in_pieces(const void *bytes, size_t length, size_t piece)
{
	const char *p = bytes;

	while (length > 0 && !fake.finished) {
		void *where;
		size_t space, n;

		session_input_space(session, &where, &space);
		cr_assert_gt(space, 0, "the session must always take more input here");
		n = length < space ? length : space;
		if (piece > 0 && n > piece)
			n = piece;
		memcpy(where, p, n);
		session_input_added(session, n);
		p += n;
		length -= n;
	}
}

static void feed(const char *text)
{
	feed_in_pieces(text, strlen(text), 0);
}

static void expect_output(const char *expected, size_t length)
{
	if (fake.output_length != length || memcmp(fake.output, expected, length) != 0)
		cr_assert_fail("output was \"%.*s\" (%zu bytes), expected \"%.*s\"",
		               (int)fake.output_length, fake.output, fake.output_length,
		               (int)length, expected);
	fake.output_length = 0;
}

#define EXPECT(literal) expect_output(literal, sizeof(literal) - 1)

static void open_file(const char *name, const char *flags)
{
	char request[PATH_MAX * 2];

	snprintf(request, sizeof(request), "O%s/%s\n%s\n", directory, name, flags);
	feed(request);
	EXPECT("A0\n");
}

static size_t file_size(const char *name)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	if (stat(path, &st) < 0)
		return (size_t)-1;
	return (size_t)st.st_size;
}

Test(session, write_read_close_round_trip)
{
	open_file("t.tar", "577 O_WRONLY|O_CREAT|O_TRUNC");
	feed("W5\nhelloW6\n world");
	EXPECT("A5\nA6\n");
	feed("C\n");
	EXPECT("A0\n");
	cr_assert_eq(file_size("t.tar"), 11);
	open_file("t.tar", "0 O_RDONLY");
	feed("R100\n");
	EXPECT("A11\nhello world");
	feed("R100\n");
	EXPECT("A0\n");
	feed("C\n");
	EXPECT("A0\n");
	cr_assert_not(fake.finished, "C keeps the session open (dump reopens on it)");
}

Test(session, a_read_reply_leaves_in_one_piece)
{
	open_file("one", "577 O_WRONLY|O_CREAT|O_TRUNC");
	feed("W11\nhello world");
	EXPECT("A11\n");
	open_file("one", "0 O_RDONLY");
	feed("R4\n");
	EXPECT("A4\nhell");
	cr_assert_eq(fake.pieces, 1, "header and record in one write, not %d", fake.pieces);
	feed("R100\n");
	EXPECT("A7\no world");
	cr_assert_eq(fake.pieces, 1);
	feed("R100\n");
	EXPECT("A0\n");
}

Test(session, pipelined_answers_leave_together)
{
	open_file("p", "577 O_WRONLY|O_CREAT|O_TRUNC");
	fake.sends = 0;
	feed("W5\nhelloW6\n worldX junk\nW1\n!");
	EXPECT("A5\nA6\nE22\nGarbage command\nA1\n");
	cr_assert_eq(fake.sends, 1, "four answers in one write, not %d", fake.sends);
	cr_assert_eq(file_size("p"), 12);
	/* One request at a time, as a classic client sends them: each answered at once. */
	feed("W2\nab");
	EXPECT("A2\n");
	cr_assert_eq(fake.sends, 2);
}

Test(session, an_answer_never_waits_for_a_request_still_arriving)
{
	open_file("w", "577 O_WRONLY|O_CREAT|O_TRUNC");
	feed("W5\nhelloW6\n wo");
	EXPECT("A5\n");
	feed("rld");
	EXPECT("A6\n");
}

Test(session, a_record_read_back_keeps_its_place_among_held_answers)
{
	char big[300], request[400], expected[400];
	int n;

	memset(big, 'x', sizeof(big));
	open_file("r", "66 O_RDWR|O_CREAT|O_TRUNC");
	n = snprintf(request, sizeof(request), "W5\nhelloW300\n%.300sL0\n0\nR5\nR300\nV\n", big);
	fake.sends = 0;
	feed_in_pieces(request, (size_t)n, 0);
	n = snprintf(expected, sizeof(expected), "A5\nA300\nA0\nA5\nhelloA300\n%.300sA2\n", big);
	expect_output(expected, (size_t)n);
	/* A short record is held with the answers; a longer one leaves with them. */
	cr_assert_eq(fake.sends, 2, "the answers with the long record, V after it: %d sends",
	             fake.sends);
}

Test(session, the_input_buffer_grows_while_a_device_is_open)
{
	void *where;
	size_t space;

	session_close(session, "another size");
	start_session_sized(1024 * 1024, 4096, 65536);
	session_input_space(session, &where, &space);
	cr_assert_eq(space, 4096);
	open_file("g", "577 O_WRONLY|O_CREAT|O_TRUNC");
	session_input_space(session, &where, &space);
	cr_assert_eq(space, 65536, "a pipelining client's run of records fits: %zu", space);
	feed("W2\nhiC\n");
	EXPECT("A2\nA0\n");
	session_input_space(session, &where, &space);
	cr_assert_eq(space, 4096, "back to the idle size once closed: %zu", space);
}

Test(session, byte_by_byte_input_gives_the_same_replies)
{
	const char *script;
	char request[PATH_MAX * 2];

	snprintf(request, sizeof(request),
	         "O%s/b\n1 O_WRONLY|O_CREAT\nW3\nabcL0\n1\nL1\n0\nL0\n0\nW2\nxyC\n", directory);
	script = request;
	feed_in_pieces(script, strlen(script), 1);
	EXPECT("A0\nA3\nA3\nA3\nA0\nA2\nA0\n");
	cr_assert_eq(file_size("b"), 3, "xy overwrote the start, at offset 0");
}

Test(session, large_record_goes_through_the_record_buffer)
{
	size_t size = 300 * 1024;
	char *data = malloc(size);
	char header[32];

	for (size_t i = 0; i < size; i++)
		data[i] = (char)(i * 7);
	open_file("big", "1 O_WRONLY|O_CREAT");
	snprintf(header, sizeof(header), "W%zu\n", size);
	feed(header);
	feed_in_pieces(data, size, 1000);
	EXPECT("A307200\n");
	feed("C\n");
	EXPECT("A0\n");
	cr_assert_eq(file_size("big"), size);
	free(data);
}

Test(session, refused_write_is_swallowed_and_the_stream_stays_in_step)
{
	size_t size = 2 * 1024 * 1024; /* over the 1 MiB maximum of this session */
	char *data = malloc(size);
	char header[32];

	memset(data, 'O', size); /* data that would be a command if it were parsed */
	open_file("s", "1 O_WRONLY|O_CREAT");
	snprintf(header, sizeof(header), "W%zu\n", size);
	feed(header);
	feed_in_pieces(data, size, 65536);
	cr_assert_eq(fake.output[0], 'E', "over the maximum: an error");
	cr_assert_eq(strncmp(fake.output, "E12\n", 4), 0);
	fake.output_length = 0;
	feed("W2\nokC\n");
	EXPECT("A2\nA0\n");
	cr_assert_eq(file_size("s"), 2);
	free(data);
}

Test(session, write_without_open_is_ebadf_after_its_data)
{
	feed("W4\nO/x\nR10\n");
	EXPECT("E9\nBad file descriptor\nE9\nBad file descriptor\n");
}

Test(session, commands_on_a_closed_device)
{
	feed("R10\nL0\n0\nI6\n1\nS");
	EXPECT("E9\nBad file descriptor\nE9\nBad file descriptor\nE9\nBad file "
	       "descriptor\nE9\nBad file descriptor\n");
	feed("C\n");
	EXPECT("E9\nBad file descriptor\n");
}

Test(session, versions_and_v1_numbering)
{
	feed("V2\nv\nI-1\n0\n");
	EXPECT("A2\nA1\nA1\n");
	open_file("f", "2 O_RDWR|O_CREAT");
	/* V1 op 5 (rewind) is a tape operation: on a file, ENOTTY like ioctl(2). */
	feed("I5\n1\n");
	cr_assert_eq(strncmp(fake.output, "E25\n", 4), 0);
	fake.output_length = 0;
	feed("I11\n1\n");
	cr_assert_eq(strncmp(fake.output, "E22\n", 4), 0, "no V1 op 11");
	fake.output_length = 0;
}

Test(session, extended_ioctl_and_status_fields)
{
	open_file("g", "2 O_RDWR|O_CREAT");
	feed("i0\n1\n");
	cr_assert_eq(strncmp(fake.output, "E22\n", 4), 0, "MTCACHE has no Linux equivalent");
	fake.output_length = 0;
	feed("i4\n1\n");
	cr_assert_eq(strncmp(fake.output, "E25\n", 4), 0, "MTEOM on a file");
	fake.output_length = 0;
	feed("sF");
	cr_assert_eq(strncmp(fake.output, "E25\n", 4), 0, "MTIOCGET on a file");
	fake.output_length = 0;
	feed("sf");
	cr_assert_eq(strncmp(fake.output, "E22\n", 4), 0, "no Solaris mt_flags on Linux");
	fake.output_length = 0;
	feed("S\nS");
	cr_assert_eq(strncmp(fake.output, "E25\n", 4), 0);
	fake.output_length = 0;
}

Test(session, native_linux_ops_after_i_minus_1)
{
	char request[PATH_MAX * 2];

	/* V1 numbering has no MTSETBLK; rmtd takes it as i<1000+20>. */
	snprintf(request, sizeof(request), "O%s/n.tap\n2 O_RDWR|O_CREAT\nI-1\n0\ni1020\n512\nsD",
	         directory);
	feed(request);
	EXPECT("A0\nA1\nA512\nA512\n");
	feed("i1064\n0\n");
	cr_assert_eq(strncmp(fake.output, "E22\n", 4), 0, "beyond the native range");
	fake.output_length = 0;
}

Test(session, qfa_on_a_file_is_the_file_offset)
{
	open_file("q", "2 O_RDWR|O_CREAT");
	feed("W4\nabcdL0\n10\nL2\n11\nR10\n");
	EXPECT("A4\nA4\nA2\nA2\ncd");
}

Test(session, refusals_say_why)
{
	feed("O/etc/shadow\n0\n");
	cr_assert_eq(strncmp(fake.output, "E13\n", 4), 0);
	cr_assert(strstr(fake.output, "outside") != NULL);
	fake.output_length = 0;
	feed("O../x\n0\n");
	cr_assert_eq(strncmp(fake.output, "E13\n", 4), 0);
	fake.output_length = 0;
	feed("V\n");
	EXPECT("A2\n");
}

Test(session, a_new_open_closes_the_old_device)
{
	open_file("one", "1 O_WRONLY|O_CREAT");
	feed("W3\nabc");
	EXPECT("A3\n");
	open_file("two", "1 O_WRONLY|O_CREAT");
	feed("W1\nzC\n");
	EXPECT("A1\nA0\n");
	cr_assert_eq(file_size("one"), 3);
	cr_assert_eq(file_size("two"), 1);
}

Test(session, access_mode_three_is_refused)
{
	char request[PATH_MAX * 3];

	snprintf(request, sizeof(request), "O%s/m\n3\nO%s/m\n3 O_WRONLY|O_RDWR|O_CREAT\n",
	         directory, directory);
	feed(request);
	EXPECT("E22\ninvalid access mode\nE22\ninvalid access mode\n");
	cr_assert_eq(file_size("m"), (size_t)-1, "nothing was created");
}

Test(session, garbage_is_answered_and_skipped)
{
	feed("X junk here\n \r\t\nV\n");
	EXPECT("E22\nGarbage command\nA2\n");
}

Test(session, eof_in_the_middle_of_a_record_writes_nothing_of_it)
{
	open_file("cut", "1 O_WRONLY|O_CREAT");
	feed("W4\nabcdW100\npartial");
	EXPECT("A4\n");
	session_input_end(session);
	cr_assert(fake.finished);
	cr_assert_eq(file_size("cut"), 4, "only the acknowledged record is in the file");
}

Test(session, eof_ends_the_session_after_buffered_requests)
{
	char request[PATH_MAX * 2];

	snprintf(request, sizeof(request), "O%s/e\n1 O_WRONLY|O_CREAT\nW2\nhiC\n", directory);
	feed(request);
	session_input_end(session);
	EXPECT("A0\nA2\nA0\n");
	cr_assert(fake.finished);
	cr_assert_eq(file_size("e"), 2);
}

Test(session, eof_with_the_device_open_closes_it_quietly)
{
	open_file("q2", "1 O_WRONLY|O_CREAT");
	session_input_end(session);
	cr_assert(fake.finished);
	cr_assert_eq(fake.output_length, 0, "no unprompted A0 at EOF");
}

Test(session, a_dead_peer_ends_the_session)
{
	open_file("d", "1 O_WRONLY|O_CREAT");
	fake.send_error = -EPIPE;
	feed("W1\nx");
	cr_assert(fake.finished);
}

Test(session, phases_for_timeouts)
{
	struct session_activity activity;

	cr_assert_eq(session_phase(session), SESSION_PHASE_IDLE);
	feed("O/som");
	cr_assert_eq(session_phase(session), SESSION_PHASE_PARTIAL);
	feed("e\n0\n");
	cr_assert_eq(session_phase(session), SESSION_PHASE_IDLE);
	session_activity(session, &activity);
	cr_assert_eq(activity.requests, 1);
	cr_assert_str_eq(activity.peer, "local");
}

Test(session, a_drive_without_a_medium_is_an_operator_wait)
{
	struct session_activity activity;
	char request[PATH_MAX * 2];

	/* An unloaded virtual tape answers ENOMEDIUM until a cartridge is loaded. */
	snprintf(request, sizeof(request), "O%s/w.tap\n2 O_RDWR|O_CREAT\nI7\n1\nR100\n", directory);
	feed(request);
	cr_assert(strstr(fake.output, "E123\n") != NULL, "reads after offline: ENOMEDIUM");
	session_activity(session, &activity);
	cr_assert_str_eq(activity.state, "[operator wait]");
	fake.output_length = 0;
	feed("I30\n1\nR100\n"); /* MTLOAD: the operator loaded it */
	session_activity(session, &activity);
	cr_assert_str_eq(activity.state, "");
}

Test(session, abort_answers_the_client_and_ends)
{
	open_file("ab", "1 O_WRONLY|O_CREAT");
	feed("W2\nab");
	EXPECT("A2\n");
	session_abort(session, "killed by the operator");
	cr_assert(fake.finished);
	cr_assert_eq(strncmp(fake.output, "E125\n", 5), 0);
	cr_assert_eq(file_size("ab"), 2);
}

Test(session, shutdown_between_requests_says_why)
{
	open_file("sd", "1 O_WRONLY|O_CREAT");
	feed("W2\nab");
	EXPECT("A2\n");
	session_shutdown(session);
	cr_assert(fake.finished);
	EXPECT("E108\nrmtd shutting down\n");
	cr_assert_eq(file_size("sd"), 2);
}

Test(session, shutdown_mid_request_answers_it_first)
{
	open_file("sm", "1 O_WRONLY|O_CREAT");
	feed("W4\nab");
	session_shutdown(session);
	cr_assert_not(fake.finished, "the record being received is waited for");
	feed("cd");
	cr_assert(fake.finished);
	EXPECT("A4\nE108\nrmtd shutting down\n");
	cr_assert_eq(file_size("sm"), 4);
}

Test(session, a_cut_drops_the_half_record_and_says_why)
{
	open_file("cut", "1 O_WRONLY|O_CREAT");
	feed("W2\nabW4\nxy");
	EXPECT("A2\n");
	session_cut(session, ESHUTDOWN, "rmtd shutting down", "server shutting down", false);
	cr_assert(fake.finished);
	cr_assert_str_eq(fake.why, "server shutting down");
	EXPECT("E108\nrmtd shutting down\n");
	cr_assert_eq(file_size("cut"), 2, "the half-sent record is never written");
}

Test(session, a_drive_taken_back_fails_the_next_request_once)
{
	open_file("tb", "1 O_WRONLY|O_CREAT");
	feed("W2\nab");
	EXPECT("A2\n");
	cr_assert(session_take_back_drive(session));
	cr_assert_eq(drive_count_known(&drives), 1, "the opened drive is listed, idle");
	cr_assert_null(TAILQ_FIRST(&drives.drives)->holder, "nobody holds it now");
	cr_assert_not(TAILQ_FIRST(&drives.drives)->device_open, "its device is closed");
	feed("W3\nxyz");
	EXPECT("E125\nDrive taken back by the operator\n");
	feed("W3\nxyz");
	EXPECT("E9\nBad file descriptor\n");
	cr_assert_not(fake.finished, "the session lives on");
	cr_assert_not(session_take_back_drive(session), "nothing to take now");
	open_file("tb", "1 O_WRONLY");
	feed("W1\nq");
	EXPECT("A1\n");
	cr_assert_eq(file_size("tb"), 2, "the device was closed and opened again");
}
