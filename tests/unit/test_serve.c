/*
 * test_serve.c - the serve loop over a socket pair, as stdio mode runs it:
 * requests answered in order until the client closes, a command from another
 * thread ends a session that waits for input at once, and the deadlines end a
 * session idle too long or one whose record stops half way (never written).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "drive.h"
#include "path.h"
#include "serve.h"
#include "session.h"
#include "transport.h"

static struct event_base *base;
static struct drive_registry drives;
static struct config *config;
static char directory[PATH_MAX];
static struct serve serve;
static struct fd_transport *transport;
static int client = -1;     /* the client's end (over pipes: where it reads replies) */
static int client_out = -1; /* over pipes: where the client writes */
static pthread_t thread;
static bool running;
static char finished_why[64];

static void finished(struct fd_transport *t, const char *why, void *arg)
{
	snprintf(finished_why, sizeof(finished_why), "%s", why ? why : "");
}

static void setup(void)
{
	char template[] = "/tmp/rmtd-serve-XXXXXX";

	cr_assert_not_null(mkdtemp(template));
	snprintf(directory, sizeof(directory), "%s", template);
	base = event_base_new();
	drive_registry_init(&drives, base, false, 0);
	config = config_new();
	cr_assert_not_null(config);
	cr_assert_eq(path_policy_allow(&config->policy, directory, true), 0);
	finished_why[0] = '\0';
}

static void teardown(void)
{
	char command[PATH_MAX + 16];

	if (client_out >= 0)
		close(client_out); /* a loop still running sees the end of its input */
	if (client >= 0)
		close(client);
	client = -1;
	client_out = -1;
	if (running)
		pthread_join(thread, NULL);
	drive_registry_free(&drives);
	config_release(config);
	event_base_free(base);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	(void)!system(command);
}

TestSuite(serve, .init = setup, .fini = teardown, .timeout = 30);

static void *serve_thread(void *arg)
{
	serve_run(&serve, transport);
	fd_transport_free(transport); /* closes the server's end: the client reads EOF */
	transport = NULL;
	return NULL;
}

/*
 * A session on one end of a socket pair (or, over_pipes, of two pipes as rsh
 * and ssh give), served by the loop on its own thread.
 */
static void start_on(int idle_timeout, int request_timeout, bool signal_wakes, bool over_pipes)
{
	struct serve_limits limits = {.idle_timeout = idle_timeout,
	                              .request_timeout = request_timeout};
	struct session_settings settings = {
	    .config = config,
	    .drives = &drives,
	    .max_record = 1024 * 1024,
	    .input_buffer_size = 4096,
	    .peer = "local",
	    .identity = "tester",
	};
	int pair[2];

	cr_assert_eq(serve_init(&serve, &limits), 0);
	serve.signal_wakes = signal_wakes;
	if (over_pipes) {
		int to_server[2], to_client[2];

		cr_assert_eq(pipe2(to_server, O_CLOEXEC), 0);
		cr_assert_eq(pipe2(to_client, O_CLOEXEC), 0);
		client = to_client[0];
		client_out = to_server[1];
		transport = fd_transport_create(NULL, to_server[0], to_client[1], &settings,
		                                finished, NULL);
	} else {
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
		client = pair[0];
		transport = fd_transport_create(NULL, pair[1], pair[1], &settings, finished, NULL);
	}
	cr_assert_not_null(transport);
	cr_assert_eq(pthread_create(&thread, NULL, serve_thread, NULL), 0);
	running = true;
}

static void start(int idle_timeout, int request_timeout, bool signal_wakes)
{
	start_on(idle_timeout, request_timeout, signal_wakes, false);
}

/* Wait for the loop to end; it must within seconds. */
static void wait_ended(int seconds)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += seconds;
	cr_assert_eq(pthread_timedjoin_np(thread, NULL, &deadline), 0,
	             "the serve loop did not end within %d s", seconds);
	running = false;
	serve_destroy(&serve);
}

static void send_bytes(const void *data, size_t length)
{
	int to = client_out >= 0 ? client_out : client;
	const char *at = data;

	while (length > 0) {
		ssize_t n = write(to, at, length);

		cr_assert_gt(n, 0);
		at += n;
		length -= (size_t)n;
	}
}

static void send_text(const char *text)
{
	send_bytes(text, strlen(text));
}

/* Read exactly length bytes of reply (within 5 s). */
static void expect_reply(const char *expected)
{
	char got[256];
	size_t length = strlen(expected), have = 0;

	while (have < length) {
		struct pollfd wait = {.fd = client, .events = POLLIN};
		ssize_t n;

		cr_assert_eq(poll(&wait, 1, 5000), 1, "no reply; expected \"%s\"", expected);
		n = read(client, got + have, length - have);
		cr_assert_gt(n, 0, "connection ended; expected \"%s\"", expected);
		have += (size_t)n;
	}
	got[have] = '\0';
	cr_assert_str_eq(got, expected);
}

static void expect_end(void)
{
	struct pollfd wait = {.fd = client, .events = POLLIN};
	char byte;

	cr_assert_eq(poll(&wait, 1, 5000), 1);
	cr_assert_eq(read(client, &byte, 1), 0, "more output where the end was expected");
}

static void open_file(const char *name)
{
	char request[PATH_MAX * 2];

	snprintf(request, sizeof(request), "O%s/%s\n66 O_RDWR|O_CREAT\n", directory, name);
	send_text(request);
	expect_reply("A0\n");
}

static off_t file_size(const char *name)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	return stat(path, &st) < 0 ? -1 : st.st_size;
}

static void round_trip(bool signal_wakes)
{
	start(0, 0, signal_wakes);
	open_file("f");
	send_text("W5\nhello");
	expect_reply("A5\n");
	send_text("L0\n0\n");
	expect_reply("A0\n");
	send_text("R5\n");
	expect_reply("A5\nhello");
	send_text("C\n");
	expect_reply("A0\n");
	shutdown(client, SHUT_WR);
	wait_ended(5);
	expect_end();
	cr_assert_eq(file_size("f"), 5);
	cr_assert_str_eq(finished_why, "client closed");
}

Test(serve, requests_are_answered_until_the_client_closes)
{
	round_trip(false);
}

Test(serve, reading_without_poll_when_signals_wake_it)
{
	round_trip(true);
}

Test(serve, a_command_ends_a_session_waiting_for_input)
{
	start(0, 0, false);
	open_file("f");
	send_text("W5\nhello");
	expect_reply("A5\n");
	/* The loop waits in poll for the next request; the command wakes it. */
	serve_command(&serve, SERVE_ABORT);
	expect_reply("E125\nSession aborted by the operator\n");
	wait_ended(5);
	expect_end();
	cr_assert_eq(file_size("f"), 5);
}

Test(serve, the_first_command_wins)
{
	start(0, 0, false);
	serve_command(&serve, SERVE_SHUTDOWN);
	serve_command(&serve, SERVE_ABORT);
	expect_reply("E108\nrmtd shutting down\n");
	wait_ended(5);
	expect_end();
}

Test(serve, a_record_that_stops_half_way_is_dropped)
{
	start(0, 1, false);
	open_file("f");
	send_text("W10\nhello");
	/* The rest never comes: after the request timeout the session ends. */
	wait_ended(5);
	expect_end();
	cr_assert_eq(file_size("f"), 0);
	cr_assert_str_eq(finished_why, "request timeout");
}

Test(serve, an_idle_session_ends)
{
	start(1, 0, false);
	open_file("f");
	wait_ended(5);
	expect_end();
	cr_assert_str_eq(finished_why, "idle timeout");
}

/* Read length bytes of data (after a reply's header) within 5 s each piece. */
static void read_data(void *data, size_t length)
{
	char *at = data;

	while (length > 0) {
		struct pollfd wait = {.fd = client, .events = POLLIN};
		ssize_t n;

		cr_assert_eq(poll(&wait, 1, 5000), 1, "no data");
		n = read(client, at, length);
		cr_assert_gt(n, 0);
		at += n;
		length -= (size_t)n;
	}
}

/* A large record over pipes goes through rmtd's pipe both ways, whole. */
Test(serve, a_large_record_over_pipes_goes_through_rmtds_pipe)
{
	static char record[300000], back[sizeof(record)];

	for (size_t i = 0; i < sizeof(record); i++)
		record[i] = (char)(i * 13 + i / 4096);
	start_on(0, 0, true, true);
	open_file("f");
	send_text("W300000\n");
	send_bytes(record, sizeof(record));
	expect_reply("A300000\n");
	cr_assert_eq(file_size("f"), (off_t)sizeof(record));
	send_text("L1000\n0\nR200000\n");
	expect_reply("A1000\nA200000\n");
	read_data(back, 200000);
	cr_assert_eq(memcmp(back, record + 1000, 200000), 0, "R from inside a page");
	send_text("L0\n0\nR300000\n");
	expect_reply("A0\nA300000\n");
	read_data(back, sizeof(back));
	cr_assert_eq(memcmp(back, record, sizeof(record)), 0, "the record as written");
	send_text("C\n");
	expect_reply("A0\n");
	close(client_out);
	client_out = -1;
	wait_ended(5);
	expect_end();
}

Test(serve, commands_given_together_are_each_obeyed_once)
{
	start(0, 0, false);
	open_file("f");
	/* A drain and a release wait for no boundary here: the drive goes, then the end. */
	serve_command(&serve, SERVE_RELEASE);
	serve_command(&serve, SERVE_DRAIN);
	expect_reply("E108\nrmtd shutting down\n");
	wait_ended(5);
	expect_end();
}

/* Part of a large record waits in rmtd's pipe; the session ends: none of it is written. */
Test(serve, a_record_cut_while_in_rmtds_pipe_is_never_written)
{
	static char part[150000];
	int waiting;

	memset(part, 'x', sizeof(part));
	start_on(0, 0, false, true);
	open_file("f");
	send_text("W300000\n");
	send_bytes(part, sizeof(part));
	for (int i = 0; i < 500; i++) {
		cr_assert_eq(ioctl(client_out, FIONREAD, &waiting), 0);
		if (waiting == 0)
			break;
		usleep(10000);
	}
	cr_assert_eq(waiting, 0, "the loop took what was sent");
	serve_command(&serve, SERVE_ABORT);
	expect_reply("E125\nSession aborted by the operator\n");
	wait_ended(5);
	expect_end();
	cr_assert_eq(file_size("f"), 0);
}

Test(serve, a_drain_finishes_the_record_being_received)
{
	start(0, 0, false);
	open_file("f");
	send_text("W10\nhello");
	usleep(100 * 1000);
	serve_command(&serve, SERVE_DRAIN);
	usleep(100 * 1000);
	send_text("world");
	expect_reply("A10\n");
	expect_reply("E108\nrmtd shutting down\n");
	wait_ended(5);
	expect_end();
	cr_assert_eq(file_size("f"), 10);
}

Test(serve, a_kill_waits_for_the_boundary_then_cuts_after_the_grace)
{
	struct serve_limits limits = {.stop_grace = 1};
	struct timespec began, now;

	start(0, 0, false);
	serve.limits = limits;
	open_file("f");
	send_text("W10\nhello");
	usleep(100 * 1000);
	clock_gettime(CLOCK_MONOTONIC, &began);
	serve_command(&serve, SERVE_KILL);
	/* The rest never comes: cut once the grace is over, never written. */
	expect_reply("E125\nSession aborted by the operator\n");
	clock_gettime(CLOCK_MONOTONIC, &now);
	cr_assert_geq((now.tv_sec - began.tv_sec) * 1000 + (now.tv_nsec - began.tv_nsec) / 1000000,
	              900, "the grace was given");
	wait_ended(5);
	expect_end();
	cr_assert_eq(file_size("f"), 0);
}

Test(serve, a_release_closes_the_device_and_the_session_lives_on)
{
	start(0, 0, false);
	open_file("f");
	send_text("W5\nhello");
	expect_reply("A5\n");
	serve_command(&serve, SERVE_RELEASE);
	usleep(100 * 1000);
	send_text("W2\nok");
	expect_reply("E125\nDrive taken back by the operator\n");
	send_text("I-1\n0\n");
	expect_reply("A1\n");
	cr_assert_eq(file_size("f"), 5);
}
