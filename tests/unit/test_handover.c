/*
 * test_handover.c - a daemon session moving to its drive's thread and back:
 * served there once its device is open (its phase BUSY to the loop, status
 * from what the thread publishes), given back at a close with the drive
 * released, and the loop's commands (kill, release, SIGTERM's drain and cut)
 * reaching it there as promptly as on the loop; large records spliced between
 * the socket and rmtd's pipe there, and never written when cut.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "config.h"
#include "drive.h"
#include "log.h"
#include "path.h"
#include "session.h"
#include "transport.h"

static struct event_base *base;
static struct drive_registry drives;
static struct config *config;
static char directory[PATH_MAX];
static struct fd_transport *transport;
static int client = -1;
static int server_end = -1; /* the transport's socket */
static bool ended;
static char ended_why[64];

static void finished(struct fd_transport *t, const char *why, void *arg)
{
	ended = true;
	snprintf(ended_why, sizeof(ended_why), "%s", why ? why : "");
}

static void setup(void)
{
	char template[] = "/tmp/rmtd-handover-XXXXXX";
	struct session_settings settings;
	int pair[2];

	cr_assert_eq(evthread_use_pthreads(), 0);
	/* As in rmtd: a client gone mid-reply is an error, not the end of the process. */
	signal(SIGPIPE, SIG_IGN);
	if (getenv("TEST_VERBOSE"))
		log_init("rmtd", 1, 2);
	cr_assert_not_null(mkdtemp(template));
	snprintf(directory, sizeof(directory), "%s", template);
	base = event_base_new();
	drive_registry_init(&drives, base, true, 0);
	drives.stop_grace = 1;
	config = config_new();
	cr_assert_not_null(config);
	cr_assert_eq(path_policy_allow(&config->policy, directory, true), 0);
	memset(&settings, 0, sizeof(settings));
	settings.config = config;
	settings.drives = &drives;
	settings.max_record = 1024 * 1024;
	settings.input_buffer_size = 4096;
	settings.peer = "local";
	settings.identity = "tester";
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	client = pair[0];
	server_end = pair[1];
	ended = false;
	ended_why[0] = '\0';
	transport = fd_transport_create(base, pair[1], pair[1], &settings, finished, NULL);
	cr_assert_not_null(transport);
}

static void pump(int turns);

static void teardown(void)
{
	char command[PATH_MAX + 16];

	if (client >= 0)
		close(client); /* the session ends, wherever it is served */
	client = -1;
	for (int i = 0; i < 500 && !ended; i++)
		pump(1);
	if (transport != NULL && ended)
		fd_transport_free(transport);
	drive_registry_free(&drives);
	config_release(config);
	event_base_free(base);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	(void)!system(command);
}

TestSuite(handover, .init = setup, .fini = teardown, .timeout = 30);

/* One turn of the loop, waiting a little for the drive's thread. */
static void pump(int turns)
{
	for (int i = 0; i < turns; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(2000);
	}
}

static void send_text(const char *text)
{
	cr_assert_eq(write(client, text, strlen(text)), (ssize_t)strlen(text));
}

/*
 * Read exactly strlen(expected) bytes of reply (within 5 s), running the loop
 * meanwhile unless the test holds it still.
 */
static void read_reply(const char *expected, bool run_loop)
{
	char got[256];
	size_t length = strlen(expected), have = 0;

	for (int i = 0; i < 2500 && have < length; i++) {
		struct pollfd wait = {.fd = client, .events = POLLIN};

		if (run_loop)
			event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&wait, 1, 2) == 1) {
			ssize_t n = read(client, got + have, length - have);

			cr_assert_gt(n, 0, "connection ended; expected \"%s\"", expected);
			have += (size_t)n;
		}
	}
	got[have] = '\0';
	cr_assert_str_eq(got, expected);
}

static void expect_reply(const char *expected)
{
	read_reply(expected, true);
}

/* A reply the drive's thread sends while the loop does not run. */
static void expect_reply_from_the_thread(const char *expected)
{
	read_reply(expected, false);
}

/* The connection ends (within 5 s) and the transport is finished. */
static void expect_end(void)
{
	char byte;

	for (int i = 0; i < 2500 && !ended; i++)
		pump(1);
	cr_assert(ended, "the session did not end");
	fd_transport_free(transport); /* closes the server's end */
	transport = NULL;
	cr_assert_eq(read(client, &byte, 1), 0, "more output where the end was expected");
}

static struct session *session(void)
{
	return fd_transport_session(transport);
}

/* Open name and wait until the drive's thread serves the session. */
static void open_and_move(const char *name)
{
	char request[PATH_MAX * 2];

	snprintf(request, sizeof(request), "O%s/%s\n66 O_RDWR|O_CREAT\n", directory, name);
	send_text(request);
	expect_reply("A0\n");
	for (int i = 0; i < 100 && session_phase(session()) != SESSION_PHASE_BUSY; i++)
		pump(1);
	cr_assert_eq(session_phase(session()), SESSION_PHASE_BUSY,
	             "an idle session with its device open is the drive's thread's");
}

static struct drive *drive_of(const char *name)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	return drive_find(&drives, path);
}

/* C, answered; then the session is the loop's again. */
static void close_and_expect_the_loop(void)
{
	send_text("C\n");
	expect_reply("A0\n");
	for (int i = 0; i < 100 && session_phase(session()) != SESSION_PHASE_IDLE; i++)
		pump(1);
	cr_assert_eq(session_phase(session()), SESSION_PHASE_IDLE, "back on the loop");
}

static off_t file_size(const char *name)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	return stat(path, &st) < 0 ? -1 : st.st_size;
}

Test(handover, served_on_the_thread_then_given_back_at_close)
{
	struct session_activity activity;
	struct drive_view view;
	uint64_t requests;

	open_and_move("f");
	send_text("W5\nhello");
	expect_reply("A5\n");
	/*
	 * The loop sees what the thread published, never the session itself;
	 * published before the reply went out, so a client that asks the moment
	 * it has its answer (tar's checkpoint running rmtctl) sees its record.
	 */
	session_activity(session(), &activity);
	cr_assert_eq(activity.bytes_written, 5);
	cr_assert_eq(activity.records_written, 1);
	drive_view(drive_of("f"), &view);
	cr_assert(view.device_open);
	cr_assert_eq(view.moved.records_written, 1);
	requests = activity.requests;
	send_text("L0\n0\n");
	expect_reply("A0\n");
	/* Each reply publishes the request it answers, whatever the call before it. */
	session_activity(session(), &activity);
	cr_assert_str_eq(activity.operation, "Position");
	cr_assert_eq(activity.requests, requests + 1);
	send_text("W2\nhi");
	expect_reply("A2\n");
	send_text("W1\n!");
	expect_reply("A1\n");
	session_activity(session(), &activity);
	cr_assert_str_eq(activity.operation, "Write");
	cr_assert_eq(activity.requests, requests + 3);
	cr_assert_eq(activity.bytes_written, 8);
	cr_assert_eq(activity.records_written, 3);
	drive_view(drive_of("f"), &view);
	cr_assert_eq(view.moved.records_written, 3);
	send_text("L0\n0\n");
	expect_reply("A0\n");
	send_text("R5\n");
	expect_reply("A5\nhi!lo"); /* written over from the start */
	close_and_expect_the_loop();
	cr_assert(drive_of("f") == NULL || drive_of("f")->holder == NULL,
	          "the loop released the drive");
	/* Requests are the loop's again, and a new open moves the session once more. */
	send_text("I-1\n0\n");
	expect_reply("A1\n");
	open_and_move("g");
	send_text("W3\nabc");
	expect_reply("A3\n");
	shutdown(client, SHUT_WR);
	expect_end();
	cr_assert_str_eq(ended_why, "client closed");
	cr_assert_eq(file_size("f"), 5);
	cr_assert_eq(file_size("g"), 3);
}

static bool server_end_blocks(void)
{
	int flags = fcntl(server_end, F_GETFL);

	cr_assert_geq(flags, 0);
	return !(flags & O_NONBLOCK);
}

/*
 * On the thread the socket blocks a slice at a time (no poll before each read),
 * and a command still reaches a thread waiting in that read; back on the loop,
 * whose events must never block, it is nonblocking again.
 */
Test(handover, the_thread_waits_in_read_and_the_loop_gets_a_nonblocking_socket_back)
{
	struct timeval slice;
	socklen_t length = sizeof(slice);
	struct timespec asked, answered;

	cr_assert_not(server_end_blocks(), "the loop's socket is nonblocking");
	open_and_move("f");
	cr_assert(server_end_blocks(), "the thread reads without polling first");
	cr_assert_eq(getsockopt(server_end, SOL_SOCKET, SO_RCVTIMEO, &slice, &length), 0);
	cr_assert(slice.tv_sec == 0 && slice.tv_usec > 0, "each wait in read is bounded");
	send_text("W5\nhello");
	expect_reply("A5\n");
	close_and_expect_the_loop();
	cr_assert_not(server_end_blocks(), "the loop's socket is nonblocking again");
	/* Moved again, the thread is waiting in read when the kill comes. */
	open_and_move("f");
	pump(20);
	clock_gettime(CLOCK_MONOTONIC, &asked);
	session_abort(session(), "aborted by the operator (test)");
	expect_reply("E125\nSession aborted by the operator\n");
	clock_gettime(CLOCK_MONOTONIC, &answered);
	/* Within a slice or so, well before the 1 s grace would cut the session. */
	cr_assert_lt((answered.tv_sec - asked.tv_sec) * 1000 +
	                 (answered.tv_nsec - asked.tv_nsec) / 1000000,
	             900);
	expect_end();
	cr_assert_eq(file_size("f"), 5);
}

Test(handover, input_sent_with_the_open_is_served_on_the_thread)
{
	char request[PATH_MAX * 2];

	snprintf(request, sizeof(request), "O%s/f\n66 O_RDWR|O_CREAT\nW5\nhelloC\n", directory);
	send_text(request);
	expect_reply("A0\nA5\nA0\n");
	shutdown(client, SHUT_WR);
	expect_end();
	cr_assert_eq(file_size("f"), 5);
}

Test(handover, an_open_of_another_drive_is_taken_on_the_loop)
{
	char request[PATH_MAX * 2];

	open_and_move("f");
	snprintf(request, sizeof(request), "O%s/g\n66 O_RDWR|O_CREAT\n", directory);
	send_text(request);
	expect_reply("A0\n");
	cr_assert(drive_of("f") == NULL || drive_of("f")->holder == NULL, "f was let go");
	cr_assert_not_null(drive_of("g"));
	cr_assert_not_null(drive_of("g")->holder, "g is held");
	send_text("W2\nok");
	expect_reply("A2\n");
	cr_assert_eq(file_size("g"), 2);
}

Test(handover, a_kill_reaches_the_thread_between_requests)
{
	struct session_activity activity;

	open_and_move("f");
	send_text("W5\nhello");
	expect_reply("A5\n");
	session_abort(session(), "aborted by the operator (test)");
	/* The thread may already have acted on it: requested, or sent. */
	session_activity(session(), &activity);
	cr_assert(strcmp(activity.state, "[abort requested]") == 0 ||
	              strcmp(activity.state, "[abort sent]") == 0,
	          "status shows the abort: %s", activity.state);
	expect_reply("E125\nSession aborted by the operator\n");
	expect_end();
	cr_assert_str_eq(ended_why, "aborted by the operator (test)");
	cr_assert_eq(file_size("f"), 5);
}

Test(handover, a_kill_cuts_a_half_sent_record_after_the_grace)
{
	open_and_move("f");
	send_text("W10\nhello");
	pump(10);
	session_abort(session(), "aborted by the operator (test)");
	/* The rest never comes: the record is cut at the grace (1 s), never written. */
	expect_reply("E125\nSession aborted by the operator\n");
	expect_end();
	cr_assert_eq(file_size("f"), 0);
}

Test(handover, sigterm_finishes_the_record_then_ends)
{
	open_and_move("f");
	send_text("W10\nhello");
	pump(10);
	session_shutdown(session());
	pump(10);
	send_text("world");
	expect_reply("A10\n");
	expect_reply("E108\nrmtd shutting down\n");
	expect_end();
	cr_assert_eq(file_size("f"), 10);
}

Test(handover, the_cut_after_sigterm_drops_a_half_sent_record)
{
	open_and_move("f");
	send_text("W10\nhello");
	pump(10);
	session_shutdown(session());
	session_cut(session(), ESHUTDOWN, "rmtd shutting down", "server shutting down", false);
	expect_reply("E108\nrmtd shutting down\n");
	expect_end();
	cr_assert_eq(file_size("f"), 0);
}

Test(handover, release_takes_the_drive_back_and_the_session_lives_on)
{
	open_and_move("f");
	cr_assert(session_take_back_drive(session()));
	for (int i = 0; i < 200 && drive_of("f") != NULL && drive_of("f")->holder != NULL; i++)
		pump(1);
	cr_assert(drive_of("f") == NULL || drive_of("f")->holder == NULL, "the drive is free");
	cr_assert_eq(session_phase(session()), SESSION_PHASE_IDLE, "back on the loop");
	send_text("W2\nok");
	expect_reply("E125\nDrive taken back by the operator\n");
	send_text("I-1\n0\n");
	expect_reply("A1\n");
}

/*
 * A release that reaches the thread just after the session's C: the drive is
 * already on its way back, and the request sent after the C is still answered.
 */
Test(handover, a_release_just_after_the_close_leaves_the_next_request_answered)
{
	open_and_move("f");
	send_text("C\nI-1\n0\n");
	expect_reply_from_the_thread("A0\n");
	/* The loop has not taken the session back yet: the command goes to the thread. */
	cr_assert(session_take_back_drive(session()));
	expect_reply("A1\n");
	cr_assert_eq(session_phase(session()), SESSION_PHASE_IDLE, "back on the loop");
	cr_assert(drive_of("f") == NULL || drive_of("f")->holder == NULL, "the drive is free");
}

/* A kill in the same window: the session ends, its next request answered with why. */
Test(handover, a_kill_just_after_the_close_ends_the_session_with_the_reason)
{
	open_and_move("f");
	send_text("C\nI-1\n0\n");
	expect_reply_from_the_thread("A0\n");
	session_abort(session(), "aborted by the operator (test)");
	expect_reply("E125\nSession aborted by the operator\n");
	expect_end();
	cr_assert_str_eq(ended_why, "aborted by the operator (test)");
	cr_assert(drive_of("f") == NULL || drive_of("f")->holder == NULL, "the drive is free");
}

/* SIGTERM's drain in the same window: the next request learns why, and the session ends. */
Test(handover, a_drain_just_after_the_close_answers_the_next_request_with_why)
{
	open_and_move("f");
	send_text("C\nI-1\n0\n");
	expect_reply_from_the_thread("A0\n");
	session_shutdown(session());
	expect_reply("E108\nrmtd shutting down\n");
	expect_end();
	cr_assert(drive_of("f") == NULL || drive_of("f")->holder == NULL, "the drive is free");
}

static void send_bytes(const void *data, size_t length)
{
	const char *at = data;

	while (length > 0) {
		ssize_t n = write(client, at, length);

		cr_assert_gt(n, 0);
		at += n;
		length -= (size_t)n;
	}
}

/* Read exactly length bytes of R data, running the loop meanwhile (within 5 s). */
static void read_data(void *data, size_t length)
{
	char *at = data;

	for (int i = 0; i < 2500 && length > 0; i++) {
		struct pollfd wait = {.fd = client, .events = POLLIN};

		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&wait, 1, 2) == 1) {
			ssize_t n = read(client, at, length);

			cr_assert_gt(n, 0, "connection ended with %zu bytes of data to come",
			             length);
			at += n;
			length -= (size_t)n;
		}
	}
	cr_assert_eq(length, 0, "R data missing");
}

/* The session made a pipe of its own at least size bytes large (rmtd's pipe). */
static bool a_pipe_this_large(int size)
{
	DIR *fds = opendir("/proc/self/fd");
	struct dirent *entry;
	bool found = false;

	cr_assert_not_null(fds);
	while (!found && (entry = readdir(fds)) != NULL) {
		int fd = atoi(entry->d_name);

		found = fd != dirfd(fds) && fcntl(fd, F_GETPIPE_SZ) >= size;
	}
	closedir(fds);
	return found;
}

/* Until the session has taken all the client sent (within 5 s). */
static void wait_taken(void)
{
	int waiting = -1;

	for (int i = 0; i < 500 && waiting != 0; i++) {
		cr_assert_eq(ioctl(client, TIOCOUTQ, &waiting), 0);
		if (waiting != 0)
			pump(5);
	}
	cr_assert_eq(waiting, 0, "the session took what was sent");
}

Test(handover, a_large_record_goes_through_rmtds_pipe_both_ways_and_is_counted)
{
	static char record[300000], back[sizeof(record)];
	struct drive_view view;

	for (size_t i = 0; i < sizeof(record); i++)
		record[i] = (char)(i * 7 + i / 4096);
	open_and_move("f");
	send_text("W300000\n");
	send_bytes(record, sizeof(record));
	expect_reply("A300000\n");
	cr_assert(a_pipe_this_large(256 * 1024), "the record went through rmtd's pipe");
	cr_assert_eq(file_size("f"), (off_t)sizeof(record));
	send_text("L1000\n0\nR200000\n");
	expect_reply("A1000\nA200000\n");
	read_data(back, 200000);
	cr_assert_eq(memcmp(back, record + 1000, 200000), 0, "R from inside a page");
	send_text("L0\n0\nR300000\n");
	expect_reply("A0\nA300000\n");
	read_data(back, sizeof(back));
	cr_assert_eq(memcmp(back, record, sizeof(record)), 0, "the record as written");
	/* Published after the reply went out: wait a moment for it. */
	for (int i = 0; i < 100; i++) {
		drive_view(drive_of("f"), &view);
		if (view.moved.records_read == 2)
			break;
		pump(1);
	}
	cr_assert_eq(view.moved.records_written, 1);
	cr_assert_eq(view.moved.bytes_written, sizeof(record));
	cr_assert_eq(view.moved.records_read, 2);
	cr_assert_eq(view.moved.bytes_read, 200000 + sizeof(record));
}

Test(handover, a_record_cut_while_in_rmtds_pipe_is_never_written)
{
	static char part[150000];

	memset(part, 'x', sizeof(part));
	open_and_move("f");
	send_text("W300000\n");
	send_bytes(part, sizeof(part));
	wait_taken();
	cr_assert(a_pipe_this_large(256 * 1024), "the record waits in rmtd's pipe");
	session_abort(session(), "aborted by the operator (test)");
	/* The rest never comes: the record is cut at the grace (1 s), never written. */
	expect_reply("E125\nSession aborted by the operator\n");
	expect_end();
	cr_assert_eq(file_size("f"), 0);
}

/*
 * The first read fills the input buffer (4096 bytes), so the thread reads
 * again at once, and finds nothing yet: it waits, and takes the rest later.
 */
Test(handover, a_record_whose_rest_comes_later_is_received_whole)
{
	static char record[10000], request[4096];
	char back[sizeof(record)];
	size_t first = sizeof(request) - strlen("W10000\n");

	memset(record, 'r', sizeof(record));
	memcpy(request, "W10000\n", strlen("W10000\n"));
	memcpy(request + strlen("W10000\n"), record, first);
	open_and_move("f");
	send_bytes(request, sizeof(request));
	wait_taken();
	pump(10);
	send_bytes(record + first, sizeof(record) - first);
	expect_reply("A10000\n");
	send_text("L0\n0\nR10000\n");
	expect_reply("A0\nA10000\n");
	read_data(back, sizeof(back));
	cr_assert_eq(memcmp(back, record, sizeof(record)), 0);
}

/*
 * A record that arrives in small pieces fills rmtd's pipe (a buffer a piece)
 * before it is all there: the thread finds the pipe full and the record is
 * collected in memory after all, whole.
 */
Test(handover, a_record_in_small_pieces_is_copied_out_of_a_full_pipe_whole)
{
	static char record[200000], back[sizeof(record)];

	for (size_t i = 0; i < sizeof(record); i++)
		record[i] = (char)(i * 3 + i / 300);
	open_and_move("f");
	send_text("W200000\n");
	for (size_t at = 0; at < sizeof(record); at += 500) {
		send_bytes(record + at, 500);
		if (at < 100 * 500)
			wait_taken(); /* one piece a buffer of the pipe, until it is full */
	}
	expect_reply("A200000\n");
	cr_assert_eq(file_size("f"), (off_t)sizeof(record));
	send_text("L0\n0\nR200000\n");
	expect_reply("A0\nA200000\n");
	read_data(back, sizeof(back));
	cr_assert_eq(memcmp(back, record, sizeof(record)), 0, "the record as sent");
}

/*
 * A release while a large record is half in rmtd's pipe: the record in flight
 * is completed and answered, then the drive goes back; the next W is refused.
 */
Test(handover, a_release_mid_record_lets_the_record_finish_first)
{
	static char record[300000];

	memset(record, 'y', sizeof(record));
	open_and_move("f");
	send_text("W300000\n");
	send_bytes(record, sizeof(record) / 2);
	wait_taken();
	cr_assert(session_take_back_drive(session()));
	pump(10);
	send_bytes(record + sizeof(record) / 2, sizeof(record) - sizeof(record) / 2);
	expect_reply("A300000\n");
	cr_assert_eq(file_size("f"), (off_t)sizeof(record));
	send_text("W2\nok");
	expect_reply("E125\nDrive taken back by the operator\n");
	cr_assert(drive_of("f") == NULL || drive_of("f")->holder == NULL, "the drive is free");
	send_text("I-1\n0\n");
	expect_reply("A1\n");
}

/*
 * Requests sent together are answered in order even when one of them is an
 * open of another drive: the old device is closed and the new one opened on
 * the loop, and nothing after the open runs before the open has returned.
 */
Test(handover, an_open_of_another_drive_among_pipelined_requests_is_answered_in_order)
{
	char request[PATH_MAX * 4];

	snprintf(request, sizeof(request),
	         "O%s/a\n66 O_RDWR|O_CREAT\nO%s/b\n66 O_RDWR|O_CREAT\nI-1\n0\nW2\nok\n", directory,
	         directory);
	send_text(request);
	expect_reply("A0\nA0\nA1\nA2\n");
	cr_assert_eq(file_size("a"), 0);
	cr_assert_eq(file_size("b"), 2, "the record went to the drive opened last");
}

/* The same for an open of the drive already open: closed, opened again, then the rest. */
Test(handover, a_reopen_among_pipelined_requests_is_answered_in_order)
{
	char request[PATH_MAX * 4];

	snprintf(request, sizeof(request),
	         "O%s/a\n66 O_RDWR|O_CREAT\nW3\nabcO%s/a\n2 O_RDWR\nI-1\n0\nR10\n", directory,
	         directory);
	send_text(request);
	expect_reply("A0\nA3\nA0\nA1\nA3\nabc");
}
