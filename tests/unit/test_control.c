/*
 * test_control.c - the control socket: request parsing and argument encoding,
 * reply headers, the socket itself served in-process (file mode, stale and
 * live sockets, a file in the way, replies, refusals, oversized and garbage
 * requests, kill of an unknown session), and catalog replies from a real state
 * directory written by catalog.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "catalog.h"
#include "config.h"
#include "control.h"
#include "control_report.h"
#include "counters.h"
#include "drive.h"
#include "label.h"
#include "server.h"
#include "status.h"

/* ---------------------------------------------------------------- requests */

static int parse(const char *line, struct control_request *r)
{
	const char *error;
	int rc = control_parse_request(line, strlen(line), r, &error);

	if (rc < 0)
		cr_assert_not_null(error, "a refusal says why");
	return rc;
}

Test(request, commands)
{
	struct control_request r;

	cr_assert_eq(parse("status", &r), 0);
	cr_assert_eq(r.command, CONTROL_STATUS);
	cr_assert_not(r.json);
	cr_assert_eq(parse("status --json", &r), 0);
	cr_assert(r.json);
	cr_assert_eq(parse("  status\t--json  \r", &r), 0);
	cr_assert(r.json);
	cr_assert_eq(parse("drives --json", &r), 0);
	cr_assert_eq(r.command, CONTROL_DRIVES);
	cr_assert_eq(parse("help", &r), 0);
	cr_assert_eq(r.command, CONTROL_HELP);
	cr_assert_eq(parse("metrics", &r), 0);
	cr_assert_eq(r.command, CONTROL_METRICS);
	cr_assert_eq(parse("metrics --json", &r), -EINVAL, "Prometheus text has no JSON form");
	cr_assert_eq(parse("metrics vt0", &r), -EINVAL);
	cr_assert_eq(parse("kill 12", &r), 0);
	cr_assert_eq(r.command, CONTROL_KILL);
	cr_assert_eq(r.session, 12);
	cr_assert_eq(parse("session --json 4294967295", &r), 0);
	cr_assert_eq(r.command, CONTROL_SESSION);
	cr_assert_eq(r.session, 4294967295u);
	cr_assert(r.json);
	cr_assert_eq(parse("catalog", &r), 0);
	cr_assert_eq(r.command, CONTROL_CATALOG);
	cr_assert_not(r.has_name);
	cr_assert_eq(parse("catalog --json vt0", &r), 0);
	cr_assert(r.has_name);
	cr_assert(r.json);
	cr_assert_str_eq(r.name, "vt0");
	cr_assert_eq(parse("catalog /srv/my tapes/a b.tap  ", &r), 0);
	cr_assert_str_eq(r.name, "/srv/my tapes/a b.tap");
	cr_assert_eq(parse("catalog %2Fa%0Ab%25c%20", &r), 0);
	cr_assert_str_eq(r.name, "/a\nb%c ");
	cr_assert_eq(parse("release /srv/tapes/a%20b.tap", &r), 0);
	cr_assert_eq(r.command, CONTROL_RELEASE);
	cr_assert(r.has_name);
	cr_assert_str_eq(r.name, "/srv/tapes/a b.tap");
	/* "--jsonx" is not the flag: it is the name. */
	cr_assert_eq(parse("catalog --jsonx", &r), 0);
	cr_assert_not(r.json);
	cr_assert_str_eq(r.name, "--jsonx");
}

Test(request, refusals)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "stat",
	    "statusx",
	    "STATUS",
	    "status now",
	    "status --json extra",
	    "kill",
	    "kill 0",
	    "kill -1",
	    "kill 12a",
	    "kill 4294967296",
	    "kill 99999999999999999999",
	    "kill 1 2",
	    "session",
	    "drives x",
	    "catalog %",
	    "catalog %4",
	    "catalog %zz",
	    "catalog a%00b",
	    "release",
	    "release   ",
	    "release %zz",
	    "status\x01",
	    "kill\n12",
	};
	struct control_request r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &r), -EINVAL, "accepted \"%s\"", bad[i]);
}

Test(request, name_bounded)
{
	char line[CONTROL_REQUEST_MAX];
	struct control_request r;

	strcpy(line, "catalog ");
	memset(line + 8, 'a', CONTROL_NAME_MAX - 1);
	line[8 + CONTROL_NAME_MAX - 1] = '\0';
	cr_assert_eq(parse(line, &r), 0);
	cr_assert_eq(strlen(r.name), CONTROL_NAME_MAX - 1);
	strcat(line, "a");
	cr_assert_eq(parse(line, &r), -EINVAL);
}

Test(request, encoded_names_round_trip)
{
	char name[300], encoded[CONTROL_REQUEST_MAX], line[2 * CONTROL_REQUEST_MAX];
	struct control_request r;

	/* Every byte but NUL, blanks at both ends, a '%' and a "--json" look-alike. */
	for (int i = 1; i < 256; i++)
		name[i - 1] = (char)i;
	name[255] = '\0';
	cr_assert_gt(control_encode_argument(name, encoded, sizeof(encoded)), 0);
	/* Printable ASCII only; a blank only inside (the ends would be trimmed). */
	for (const char *p = encoded; *p; p++)
		cr_assert(*p >= 0x20 && *p < 0x7f, "encoded byte %02x", (unsigned char)*p);
	cr_assert_neq(encoded[0], ' ');
	cr_assert_neq(encoded[strlen(encoded) - 1], ' ');
	snprintf(line, sizeof(line), "catalog --json %s", encoded);
	cr_assert_eq(parse(line, &r), 0);
	cr_assert(r.json);
	cr_assert_str_eq(r.name, name);

	static const char *const names[] = {" lead", "trail ", "in side", "--json", "a%b", "\t"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_gt(control_encode_argument(names[i], encoded, sizeof(encoded)), 0);
		snprintf(line, sizeof(line), "catalog %s", encoded);
		cr_assert_eq(parse(line, &r), 0, "%s", line);
		cr_assert_not(r.json, "%s", line);
		cr_assert_str_eq(r.name, names[i]);
	}
	cr_assert_eq(control_encode_argument("abcdef", encoded, 4), -ENAMETOOLONG);
}

/* ---------------------------------------------------------------- replies */

Test(reply, headers)
{
	struct control_reply r;

	cr_assert_eq(control_parse_reply("OK 14\nDrive is idle\n", 20, &r), 1);
	cr_assert(r.ok);
	cr_assert_eq(r.length, 14);
	cr_assert_eq(r.header_length, 6);
	cr_assert_eq(control_parse_reply("ERR notfound no such session\n", 29, &r), 1);
	cr_assert_not(r.ok);
	cr_assert_str_eq(r.code, "notfound");
	cr_assert_str_eq(r.message, "no such session");
	cr_assert_eq(control_parse_reply("ERR busy\n", 9, &r), 1);
	cr_assert_str_eq(r.code, "busy");
	cr_assert_str_eq(r.message, "");
	cr_assert_eq(control_parse_reply("OK 1", 4, &r), 0, "incomplete: more bytes needed");
	cr_assert_eq(control_parse_reply("", 0, &r), 0);
	cr_assert_eq(control_parse_reply("HELLO\n", 6, &r), -EPROTO);
	cr_assert_eq(control_parse_reply("OK \n", 4, &r), -EPROTO);
	cr_assert_eq(control_parse_reply("OK 12x\n", 7, &r), -EPROTO);
	cr_assert_eq(control_parse_reply("OK 12345678901234567890\n", 24, &r), -EPROTO);
	cr_assert_eq(control_parse_reply("ERR \n", 5, &r), -EPROTO);
	/* Found by fuzz_control: a code of NULs was taken, and shown as an empty one. */
	cr_assert_eq(control_parse_reply("ERR \0\0ion\n", 10, &r), -EPROTO);
	cr_assert_eq(control_parse_reply("ERR Busy now\n", 13, &r), -EPROTO);
	cr_assert_eq(control_parse_reply("ERR busy:\n", 10, &r), -EPROTO);

	char endless[600];

	memset(endless, 'x', sizeof(endless));
	cr_assert_eq(control_parse_reply(endless, sizeof(endless), &r), -EPROTO);
}

/* ---------------------------------------------------------------- the socket */

static char directory[] = "/tmp/rmtd-test-control.XXXXXX";
static char socket_path[200];
static struct event_base *base;
static struct drive_registry drives;
static struct config *config;
static struct server *server;
static struct status_monitor *monitor;

static void setup(void)
{
	struct server_limits limits = {
	    .max_sessions = 16, .max_sessions_per_peer = 16, .max_record = 65536};
	struct status_options status = {.directory = NULL, .interval = 5};

	evthread_use_pthreads();
	signal(SIGPIPE, SIG_IGN); /* as rmtd does: a client that left is not a reason to die */
	cr_assert_not_null(mkdtemp(directory));
	snprintf(socket_path, sizeof(socket_path), "%s/control.sock", directory);
	base = event_base_new();
	cr_assert_not_null(base);
	drive_registry_init(&drives, base, true, 5);
	config = config_new();
	cr_assert_not_null(config);
	server = server_create(base, &drives, config, &limits);
	cr_assert_not_null(server);
	status.policy = &config->policy;
	monitor = status_monitor_create(base, server, &drives, &status);
	cr_assert_not_null(monitor);
}

static void teardown(void)
{
	char command[300];

	status_monitor_free(monitor);
	server_free(server);
	drive_registry_free(&drives);
	config_release(config);
	event_base_free(base);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	(void)!system(command);
}

static struct control *make_control(mode_t mode)
{
	struct control_options options = {
	    .path = socket_path, .mode = mode, .group = (gid_t)-1, .state_directory = NULL};

	return control_create(base, monitor, &options);
}

static int connect_to(const char *path)
{
	struct sockaddr_un address;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	strlcpy(address.sun_path, path, sizeof(address.sun_path));
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send request bytes, run the loop until the daemon closes; the reply, malloc'd. */
static char *exchange(const void *request, size_t length, size_t *reply_length)
{
	size_t capacity = 1 << 20, have = 0;
	char *reply = malloc(capacity + 1);
	int fd = connect_to(socket_path);

	cr_assert_geq(fd, 0, "connect: %s", strerror(errno));
	if (length > 0)
		cr_assert_eq(send(fd, request, length, MSG_NOSIGNAL), (ssize_t)length);
	shutdown(fd, SHUT_WR); /* as rmtctl does: the reply must still arrive */
	for (int rounds = 0; rounds < 2000; rounds++) {
		struct pollfd p = {fd, POLLIN, 0};

		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 5) > 0) {
			ssize_t n = recv(fd, reply + have, capacity - have, 0);

			if (n <= 0)
				break;
			have += (size_t)n;
		}
	}
	close(fd);
	reply[have] = '\0';
	if (reply_length)
		*reply_length = have;
	return reply;
}

static char *ask(const char *request)
{
	return exchange(request, strlen(request), NULL);
}

Test(socket, mode_replies_and_removal, .init = setup, .fini = teardown)
{
	struct control *control = make_control(0640);
	struct stat st;
	char *reply;

	cr_assert_not_null(control);
	cr_assert_eq(stat(socket_path, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0640);

	reply = ask("status\n");
	cr_assert_str_eq(reply, "OK 14\nDrive is idle\n");
	free(reply);
	reply = ask("status --json\n");
	cr_assert(strncmp(reply, "OK ", 3) == 0, "%s", reply);
	cr_assert(strstr(reply, "\"idle\":true,\"drives\":[],\"sessions\":[]}\n") != NULL, "%s",
	          reply);
	free(reply);
	reply = ask("drives\n");
	cr_assert_str_eq(reply, "OK 10\nNo drives\n");
	free(reply);
	reply = ask("kill 77\n");
	cr_assert_str_eq(reply, "ERR notfound no such session\n");
	free(reply);
	reply = ask("session 77\n");
	cr_assert_str_eq(reply, "ERR notfound no such session\n");
	free(reply);
	reply = ask("catalog\n");
	cr_assert_str_eq(reply, "ERR unavailable no state directory is configured\n");
	free(reply);
	reply = ask("rm -rf /\n");
	cr_assert(strncmp(reply, "ERR usage ", 10) == 0, "%s", reply);
	free(reply);
	reply = ask("help\n");
	cr_assert(strncmp(reply, "OK ", 3) == 0 && strstr(reply, "kill ID") != NULL, "%s", reply);
	free(reply);
	/* A request without a newline, then the end of input, is still a request. */
	reply = exchange("status", 6, NULL);
	cr_assert_str_eq(reply, "OK 14\nDrive is idle\n");
	free(reply);

	control_free(control);
	cr_assert_neq(stat(socket_path, &st), 0, "the socket file is removed");
}

Test(socket, oversized_request_is_refused, .init = setup, .fini = teardown)
{
	struct control *control = make_control(0600);
	size_t length = 3 * CONTROL_REQUEST_MAX;
	char *request = malloc(length), *reply;

	cr_assert_not_null(control);
	memset(request, 'x', length);
	reply = exchange(request, length, NULL);
	cr_assert_str_eq(reply, "ERR toolong request line too long\n");
	free(reply);
	/* One byte beyond the limit (the bound includes the newline): too long. */
	memset(request, ' ', CONTROL_REQUEST_MAX + 1);
	memcpy(request, "status", 6);
	request[CONTROL_REQUEST_MAX] = '\n';
	reply = exchange(request, CONTROL_REQUEST_MAX + 1, NULL);
	cr_assert_str_eq(reply, "ERR toolong request line too long\n");
	free(reply);
	/* Exactly at the limit fits, and the blanks are ignored. */
	request[CONTROL_REQUEST_MAX - 1] = '\n';
	reply = exchange(request, CONTROL_REQUEST_MAX, NULL);
	cr_assert_str_eq(reply, "OK 14\nDrive is idle\n");
	free(reply);
	/* Binary garbage. */
	for (size_t i = 0; i < 64; i++)
		request[i] = (char)(i * 37 + 1);
	request[63] = '\n';
	reply = exchange(request, 64, NULL);
	cr_assert(strncmp(reply, "ERR usage ", 10) == 0, "%s", reply);
	free(reply);
	/* The daemon still serves. */
	reply = ask("status\n");
	cr_assert_str_eq(reply, "OK 14\nDrive is idle\n");
	free(reply);
	free(request);
	control_free(control);
}

Test(socket, stale_live_and_foreign_files, .init = setup, .fini = teardown)
{
	struct control *first, *second;
	struct sockaddr_un address;
	struct stat st;
	int fd;

	/* A stale socket (nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	strlcpy(address.sun_path, socket_path, sizeof(address.sun_path));
	cr_assert_eq(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	close(fd);
	first = make_control(0660);
	cr_assert_not_null(first, "a stale socket is replaced");

	/* A live one is not taken over, and stays working. */
	second = make_control(0660);
	cr_assert_null(second, "another daemon's socket is left alone");
	{
		char *reply = ask("status\n");

		cr_assert_str_eq(reply, "OK 14\nDrive is idle\n");
		free(reply);
	}
	control_free(first);

	/* A regular file in the way is never removed. */
	fd = open(socket_path, O_WRONLY | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "data", 4), 4);
	close(fd);
	cr_assert_null(make_control(0660));
	cr_assert_eq(stat(socket_path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_size, 4);
}

Test(socket, path_too_long, .init = setup, .fini = teardown)
{
	struct control_options options = {.mode = 0660, .group = (gid_t)-1};
	char path[300];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	options.path = path;
	cr_assert_null(control_create(base, monitor, &options));
}

Test(socket, many_clients_at_once, .init = setup, .fini = teardown)
{
	struct control *control = make_control(0600);
	int fds[CONTROL_CONNECTIONS_MAX + 4];
	int refused = 0, answered = 0;

	cr_assert_not_null(control);
	/* Connections that send nothing hold their places until they time out... */
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		fds[i] = connect_to(socket_path);
		cr_assert_geq(fds[i], 0);
		for (int r = 0; r < 5; r++)
			event_base_loop(base, EVLOOP_NONBLOCK);
	}
	/* ...and those beyond the limit are told so at once. */
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		char buffer[128] = {0};
		struct pollfd p = {fds[i], POLLIN, 0};

		if (poll(&p, 1, 50) > 0 && recv(fds[i], buffer, sizeof(buffer) - 1, 0) > 0) {
			cr_assert_str_eq(buffer, "ERR busy too many control connections\n");
			refused++;
		}
	}
	cr_assert_eq(refused, 4);
	for (size_t i = 0; i < CONTROL_CONNECTIONS_MAX; i++) {
		char buffer[64] = {0};

		cr_assert_eq(send(fds[i], "status\n", 7, MSG_NOSIGNAL), 7);
		for (int r = 0; r < 200 && buffer[0] == '\0'; r++) {
			struct pollfd p = {fds[i], POLLIN, 0};

			event_base_loop(base, EVLOOP_NONBLOCK);
			if (poll(&p, 1, 5) > 0 && recv(fds[i], buffer, sizeof(buffer) - 1, 0) > 0)
				answered++;
		}
	}
	cr_assert_eq(answered, CONTROL_CONNECTIONS_MAX);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
	control_free(control);
}

/* ---------------------------------------------------------------- catalogs */

static void save_catalog(const char *state, const char *cartridge, const char *label, int files)
{
	struct catalog cat;
	struct tape_content content;

	cr_assert_eq(catalog_init(&cat, cartridge), 0);
	for (int i = 0; i < files; i++) {
		label_clear(&content);
		content.format = LABEL_FORMAT_TAR;
		content.format_name = "tar";
		content.activity = LABEL_ACTIVITY_ARCHIVE;
		if (i == 0 && label != NULL)
			strlcpy(content.label, label, sizeof(content.label));
		cr_assert_eq(
		    catalog_file_begin(&cat, (uint64_t)i, &content, 10240, true, 1700000000), 0);
		catalog_file_record(&cat, (uint64_t)i, 10240);
		catalog_file_end(&cat, (uint64_t)i);
	}
	cr_assert_eq(catalog_save(state, &cat), 0);
	catalog_free(&cat);
}

static char *body_of(const char *state, const char *const *names, size_t count, bool json,
                     int expect)
{
	char *body = NULL;
	size_t length = 0;

	cr_assert_eq(control_catalog_body(state, names, count, json, &body, &length), expect);
	if (expect == 0) {
		cr_assert_not_null(body);
		cr_assert_eq(strlen(body), length);
	}
	return body;
}

Test(catalog, bodies, .init = setup, .fini = teardown)
{
	char state[300];
	const char *names[3];
	char *body;

	snprintf(state, sizeof(state), "%s/state", directory);
	body = body_of(state, NULL, 0, false, 0);
	cr_assert_str_eq(body, "No catalogs\n");
	free(body);

	save_catalog(state, "/srv/tapes/vt0.tap", "WEEKLY-1", 3);
	save_catalog(state, "odd \"name\"\n", NULL, 1);

	body = body_of(state, NULL, 0, false, 0);
	cr_assert(
	    strstr(body, "Cartridge /srv/tapes/vt0.tap: 3 files, 60 Kbytes, label WEEKLY-1\n") !=
	        NULL,
	    "%s", body);
	cr_assert(strstr(body, "Cartridge odd \"name\"\\n: 1 file, 20 Kbytes\n") != NULL, "%s",
	          body);
	free(body);
	body = body_of(state, NULL, 0, true, 0);
	cr_assert(strstr(body, "{\"cartridges\":[") == body, "%s", body);
	cr_assert(strstr(body, "\"cartridge\":\"/srv/tapes/vt0.tap\",\"files\":3,\"bytes\":61440,"
	                       "\"label\":\"WEEKLY-1\"") != NULL,
	          "%s", body);
	cr_assert(strstr(body, "\"cartridge\":\"odd \\\"name\\\"\\n\"") != NULL, "%s", body);
	free(body);

	/* A drive name that has no catalog, then the cartridge in it. */
	names[0] = "vt0";
	names[1] = "/srv/tapes/vt0.tap";
	body = body_of(state, names, 2, false, 0);
	cr_assert(strstr(body, "WEEKLY-1") != NULL, "%s", body);
	free(body);
	body = body_of(state, names, 2, true, 0);
	cr_assert(strstr(body, "{\"cartridge\":\"/srv/tapes/vt0.tap\"") == body, "%s", body);
	free(body);

	names[0] = "nothing here";
	body_of(state, names, 1, false, -ENOENT);
	names[0] = "../../etc/passwd";
	body_of(state, names, 1, false, -ENOENT);
}

Test(catalog, through_the_socket, .init = setup, .fini = teardown)
{
	char state[300];
	struct control_options options = {
	    .path = socket_path, .mode = 0600, .group = (gid_t)-1, .state_directory = state};
	struct control *control;
	char *reply;

	snprintf(state, sizeof(state), "%s/state", directory);
	save_catalog(state, "/srv/tapes/vt1.tap", "MONTHLY", 2);
	control = control_create(base, monitor, &options);
	cr_assert_not_null(control);
	/* Read on a thread; the loop answers when it is done. */
	reply = ask("catalog\n");
	cr_assert(strncmp(reply, "OK ", 3) == 0, "%s", reply);
	cr_assert(
	    strstr(reply, "\nCartridge /srv/tapes/vt1.tap: 2 files, 40 Kbytes, label MONTHLY\n") !=
	        NULL,
	    "%s", reply);
	free(reply);
	reply = ask("catalog --json %2Fsrv%2Ftapes%2Fvt1.tap\n");
	cr_assert(strstr(reply, "\n{\"cartridge\":\"/srv/tapes/vt1.tap\"") != NULL, "%s", reply);
	free(reply);
	reply = ask("catalog nothing\n");
	cr_assert_str_eq(reply, "ERR notfound no catalog for that drive or cartridge\n");
	free(reply);
	/* The connection can go before its catalog has been read. */
	{
		int fd = connect_to(socket_path);

		cr_assert_eq(send(fd, "catalog\n", 8, MSG_NOSIGNAL), 8);
		for (int i = 0; i < 3; i++)
			event_base_loop(base, EVLOOP_NONBLOCK);
		close(fd);
		for (int i = 0; i < 200; i++) {
			event_base_loop(base, EVLOOP_NONBLOCK);
			usleep(1000);
		}
	}
	/* drives, with a state directory, reads the counters on a thread as well. */
	reply = ask("drives --json\n");
	cr_assert(strncmp(reply, "OK ", 3) == 0, "%s", reply);
	cr_assert(strstr(reply, "\"drives\":[]") != NULL, "%s", reply);
	free(reply);
	control_free(control);
}

Test(drives, with_persistent_counters, .init = setup, .fini = teardown)
{
	char state[300], *body;
	size_t length;
	struct counters counters;
	struct counters_delta delta = {
	    .bytes_written = 2048000, .files_written = 2, .mounts = 3, .records_written = 200};
	struct status_drive list[2];

	snprintf(state, sizeof(state), "%s/state", directory);
	counters_init(&counters, COUNTERS_DRIVE, "/srv/tapes/vt0.tap");
	counters_add(&counters, &delta, 1700000000);
	cr_assert_eq(counters_save(state, &counters), 0);
	memset(list, 0, sizeof(list));
	list[0].name = "/srv/tapes/vt0.tap";
	list[0].alias = "vt0";
	list[0].kind = DEVICE_KIND_VTAPE;
	list[0].declared = true;
	list[1].name = "/srv/spool/x.tar";
	list[1].cartridge = "TAPE\n01"; /* a real cartridge known by its label */
	list[1].kind = DEVICE_KIND_FILE;
	list[1].holder = 4;

	cr_assert_eq(control_drives_body(state, list, 2, false, &body, &length), 0);
	cr_assert_eq(strlen(body), length);
	cr_assert_str_eq(body, "Drive vt0 (/srv/tapes/vt0.tap, vtape): idle;  in all 2000 Kbytes "
	                       "written, 0 Kbytes read, 2 files written, 3 mounts, 0 errors, last "
	                       "used 2023-11-14 22:13:20 UTC\n"
	                       "Drive /srv/spool/x.tar (file): session 4, cartridge TAPE\\n01\n");
	free(body);
	cr_assert_eq(control_drives_body(state, list, 2, true, &body, &length), 0);
	cr_assert(strstr(body, "\"counters\":{\"bytes_written\":2048000,\"bytes_read\":0,"
	                       "\"records_written\":200,\"records_read\":0,\"files_written\":2,"
	                       "\"files_read\":0,\"times_full\":0,\"errors\":0,\"mounts\":3,"
	                       "\"first_use\":1700000000,\"last_use\":1700000000}") != NULL,
	          "%s", body);
	cr_assert(strstr(body, "\"cartridge\":\"TAPE\\n01\"") != NULL, "%s", body);
	cr_assert(
	    strstr(body, "\"holder\":4,\"waiters\":0,\"status_file\":null,\"counters\":null}") !=
	        NULL,
	    "%s", body);
	free(body);
	cr_assert_null(list[0].counters, "the caller's drives point at nothing freed");
}
