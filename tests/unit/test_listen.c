/*
 * test_listen.c - the server's connections, over socket pairs handed to it as
 * inetd does: sessions up to the limit are served and the next is refused with
 * a clear error; the sweep ends an idle session and one whose request stops
 * half way; a shutdown answers an idle session's next request with E108 and
 * the server is finished once its sessions are.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "drive.h"
#include "listen.h"
#include "path.h"

static struct event_base *base;
static struct drive_registry drives;
static struct config *config;
static struct server *server;

static void setup(void)
{
	base = event_base_new();
	cr_assert_not_null(base);
	drive_registry_init(&drives, base, true, 0);
	config = config_new();
	cr_assert_not_null(config);
	cr_assert_eq(path_policy_allow(&config->policy, "/tmp", true), 0);
}

static void teardown(void)
{
	if (server != NULL)
		server_free(server);
	server = NULL;
	drive_registry_free(&drives);
	config_release(config);
	event_base_free(base);
}

TestSuite(listen, .init = setup, .fini = teardown, .timeout = 30);

static void start_server(int max_sessions, int idle_timeout, int request_timeout)
{
	struct server_limits limits = {
	    .max_sessions = max_sessions,
	    .idle_timeout = idle_timeout,
	    .request_timeout = request_timeout,
	    .max_record = 1024 * 1024,
	};

	server = server_create(base, &drives, config, &limits);
	cr_assert_not_null(server);
}

/* A client connected to the server; returns the client's end (nonblocking). */
static int connect_client(void)
{
	int pair[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	fcntl(pair[0], F_SETFL, O_NONBLOCK);
	server_serve_connection(server, pair[1]);
	return pair[0];
}

/* Run the loop until the client has length bytes, or its end (within seconds). */
static size_t receive(int client, char *out, size_t length, int seconds)
{
	time_t deadline = time(NULL) + seconds;
	size_t have = 0;

	while (have < length && time(NULL) <= deadline) {
		ssize_t n = read(client, out + have, length - have);

		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
	}
	out[have] = '\0';
	return have;
}

static void expect_reply(int client, const char *expected)
{
	char got[256];

	receive(client, got, strlen(expected), 5);
	cr_assert_str_eq(got, expected);
}

static void expect_end(int client, int seconds)
{
	char got[256];

	cr_assert_eq(receive(client, got, sizeof(got) - 1, seconds), 0, "got \"%s\"", got);
	cr_assert_eq(read(client, got, 1), 0, "the connection is still open");
}

static void send_text(int client, const char *text)
{
	cr_assert_eq(write(client, text, strlen(text)), (ssize_t)strlen(text));
}

Test(listen, sessions_up_to_the_limit_then_a_clear_refusal)
{
	int clients[3];

	start_server(2, 0, 0);
	for (int i = 0; i < 2; i++) {
		clients[i] = connect_client();
		send_text(clients[i], "V0\n");
		expect_reply(clients[i], "A2\n");
	}
	clients[2] = connect_client();
	expect_reply(clients[2], "E16\nToo many sessions: the server is at its limit\n");
	expect_end(clients[2], 2);
	/* One ends: there is room again. */
	close(clients[0]);
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	clients[0] = connect_client();
	send_text(clients[0], "V0\n");
	expect_reply(clients[0], "A2\n");
	for (int i = 0; i < 3; i++)
		close(clients[i]);
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

Test(listen, a_request_that_stops_half_way_is_ended)
{
	int client;

	start_server(0, 0, 1);
	client = connect_client();
	send_text(client, "O/tmp/x");
	/* The sweep runs each second; the request may take one. */
	expect_end(client, 5);
	close(client);
}

Test(listen, an_idle_session_is_ended)
{
	int client;

	start_server(0, 1, 0);
	client = connect_client();
	send_text(client, "V0\n");
	expect_reply(client, "A2\n");
	expect_end(client, 5);
	close(client);
}

Test(listen, a_shutdown_answers_the_next_request_and_finishes)
{
	int client;

	start_server(0, 0, 0);
	client = connect_client();
	send_text(client, "V0\n");
	expect_reply(client, "A2\n");
	cr_assert_not(server_finished(server));
	server_shutdown(server);
	expect_reply(client, "E108\nrmtd shutting down\n");
	expect_end(client, 5);
	cr_assert(server_finished(server));
	close(client);
}
