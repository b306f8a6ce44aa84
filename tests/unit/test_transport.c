/*
 * test_transport.c - the fd transport on the event loop over a socket pair:
 * requests answered as they arrive and the end of input ends the session; a
 * large reply the client does not take is held, not copied, and no further
 * request is started until it has gone out; a session ending with such a reply
 * unsent closes the connection instead of sending a changed record.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "drive.h"
#include "path.h"
#include "session.h"
#include "transport.h"

#define BIG (1024 * 1024)

static struct event_base *base;
static struct drive_registry drives;
static struct config *config;
static char directory[PATH_MAX];
static struct fd_transport *transport;
static int client = -1;
static bool ended;
static char ended_why[64];

static void finished(struct fd_transport *t, const char *why, void *arg)
{
	ended = true;
	snprintf(ended_why, sizeof(ended_why), "%s", why ? why : "");
}

static void setup(void)
{
	char template[] = "/tmp/rmtd-transport-XXXXXX";
	struct session_settings settings;
	int pair[2], small = 4096;

	cr_assert_not_null(mkdtemp(template));
	snprintf(directory, sizeof(directory), "%s", template);
	base = event_base_new();
	drive_registry_init(&drives, base, false, 0);
	config = config_new();
	cr_assert_not_null(config);
	cr_assert_eq(path_policy_allow(&config->policy, directory, true), 0);
	memset(&settings, 0, sizeof(settings));
	settings.config = config;
	settings.drives = &drives;
	settings.max_record = 4 * BIG;
	settings.input_buffer_size = 4096;
	settings.peer = "local";
	settings.identity = "tester";
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	/* Small socket buffers: a large reply cannot go out at once. */
	setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(pair[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	client = pair[0];
	fcntl(client, F_SETFL, O_NONBLOCK);
	ended = false;
	transport = fd_transport_create(base, pair[1], pair[1], &settings, finished, NULL);
	cr_assert_not_null(transport);
}

static void teardown(void)
{
	char command[PATH_MAX + 16];

	if (transport != NULL && !ended)
		session_close(fd_transport_session(transport), "test over");
	if (transport != NULL && ended)
		fd_transport_free(transport);
	if (client >= 0)
		close(client);
	drive_registry_free(&drives);
	config_release(config);
	event_base_free(base);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	(void)!system(command);
}

TestSuite(transport, .init = setup, .fini = teardown, .timeout = 30);

/* Run the loop a while (nothing blocks: the client's end is nonblocking). */
static void pump(int turns)
{
	for (int i = 0; i < turns; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static void send_text(const char *text)
{
	cr_assert_eq(write(client, text, strlen(text)), (ssize_t)strlen(text));
}

/* What has arrived for the client so far (up to size - 1 bytes), after pumping. */
static size_t receive(char *out, size_t size)
{
	size_t have = 0;

	for (int i = 0; i < 200 && have < size - 1; i++) {
		ssize_t n = read(client, out + have, size - 1 - have);

		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		pump(1);
	}
	out[have] = '\0';
	return have;
}

static void expect_reply(const char *expected)
{
	char got[256];

	pump(4);
	receive(got, strlen(expected) + 1);
	cr_assert_str_eq(got, expected);
}

static void make_file(const char *name, size_t size)
{
	char path[PATH_MAX * 2];
	char *data = malloc(size);
	FILE *f;

	for (size_t i = 0; i < size; i++)
		data[i] = (char)('a' + i % 26);
	snprintf(path, sizeof(path), "%s/%s", directory, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, size, f), size);
	fclose(f);
	free(data);
}

static void open_file(const char *name)
{
	char request[PATH_MAX * 2];

	snprintf(request, sizeof(request), "O%s/%s\n0 O_RDONLY\n", directory, name);
	send_text(request);
	expect_reply("A0\n");
}

Test(transport, requests_are_answered_and_the_end_of_input_ends_the_session)
{
	make_file("f", 100);
	open_file("f");
	send_text("R10\n");
	expect_reply("A10\nabcdefghij");
	send_text("L0\n0\n");
	expect_reply("A0\n");
	shutdown(client, SHUT_WR);
	for (int i = 0; i < 50 && !ended; i++)
		pump(1);
	cr_assert(ended);
	cr_assert_str_eq(ended_why, "client closed");
}

Test(transport, a_reply_not_taken_holds_back_the_next_request)
{
	char *got = malloc(BIG + 64);
	char header[16];
	size_t have = 0;

	make_file("f", BIG);
	open_file("f");
	send_text("R1048576\n");
	pump(4);
	/* The next request is sent but must wait: the reply is still going out. */
	send_text("L0\n0\n");
	pump(20);
	struct session_activity activity;

	session_activity(fd_transport_session(transport), &activity);
	cr_assert_eq(activity.requests, 2, "only O and R may have begun");
	snprintf(header, sizeof(header), "A%d\n", BIG);
	while (have < strlen(header) + BIG) {
		size_t n = receive(got + have, strlen(header) + BIG + 1 - have);

		cr_assert(n > 0 || have > 0, "no reply at all");
		have += n;
		if (n == 0)
			pump(1);
	}
	cr_assert_eq(memcmp(got, header, strlen(header)), 0);
	for (size_t i = 0; i < BIG; i++)
		if (got[strlen(header) + i] != (char)('a' + i % 26))
			cr_assert_fail("byte %zu of the record changed", i);
	/* Only now the L is answered, after the whole record. */
	expect_reply("A0\n");
	free(got);
}

Test(transport, a_session_ending_with_a_reply_unsent_closes_the_connection)
{
	char *got = malloc(BIG + 64);
	size_t have = 0;
	ssize_t n;

	make_file("f", BIG);
	open_file("f");
	send_text("R1048576\n");
	pump(4);
	session_close(fd_transport_session(transport), "test cut");
	pump(4);
	cr_assert(ended, "the transport must end at once, not wait for the client");
	cr_assert_str_eq(ended_why, "test cut");
	fd_transport_free(transport);
	transport = NULL;
	/* The client gets a part of the reply, then the end: never a changed byte. */
	while ((n = read(client, got + have, BIG + 64 - have)) > 0)
		have += (size_t)n;
	const size_t header = strlen("A1048576\n");

	cr_assert_lt(have, header + BIG);
	for (size_t i = header; i < have; i++)
		if (got[i] != (char)('a' + (i - header) % 26))
			cr_assert_fail("byte %zu of the record changed", i - header);
	free(got);
}
