/*
 * main.c - rmtd's command line, its modes, and signals.
 *
 * stdio mode is what rsh and ssh start (argv[0] "rmt" or "/etc/rmt", or
 * `rmtd --stdio`): one client on stdin/stdout, device calls inline.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "rmt/protocol.h"
#include "drive.h"
#include "log.h"
#include "path.h"
#include "session.h"
#include "listen.h"
#include "transport.h"

enum mode {
	MODE_DAEMON, /* TCP listeners (--listen, systemd sockets, or the loopback default) */
	MODE_STDIO,  /* rsh/ssh: one client on stdin/stdout */
	MODE_INETD,  /* inetd: one accepted socket on stdin */
};

#define LISTEN_MAX 16

struct options {
	enum mode mode;
	bool foreground; /* -d: log to stderr */
	int verbosity;
	uint64_t max_record;
	const char *allowed[PATH_ALLOWED_MAX];
	int allowed_count;
	bool check_only;
	int ignored_arguments;
	const char *listen[LISTEN_MAX];
	int listen_count;
	const char *drives[PATH_ALLOWED_MAX]; /* NAME=DEVICE */
	int drive_count;
	struct server_limits limits;
	int drive_wait; /* seconds a session waits for a busy drive; 0: EBUSY at once */
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: rmtd [-dnv] [--listen ADDR:PORT]... [--allow DIR]... [--drive NAME=DEVICE]...\n"
	    "            [limits]                 TCP daemon (default: loopback port %d)\n"
	    "       rmtd --stdio [-dv] [--allow DIR]... [--drive NAME=DEVICE]...\n"
	    "       rmtd --inetd [-dv] [--allow DIR]... [--drive NAME=DEVICE]...\n"
	    "       rmt                         (as started by rsh or ssh: stdio mode)\n"
	    "\n"
	    "  --stdio               serve one client on standard input and output (rsh/ssh)\n"
	    "  --inetd               serve the TCP connection on standard input (inetd)\n"
	    "  --listen ADDR:PORT    listen on this address (repeatable; [::1]:PORT for IPv6);\n"
	    "                        sockets passed by systemd (LISTEN_FDS) are used as well\n"
	    "  --allow DIR           clients may open files and virtual tapes (*.tap) below DIR,\n"
	    "                        and create or truncate them there (repeatable); tape\n"
	    "                        devices /dev/nst* and /dev/st* are always allowed\n"
	    "  --drive NAME=DEVICE   declare a drive clients open by NAME (a tape device,\n"
	    "                        a .tap image or a file; repeatable)\n"
	    "  --max-record BYTES    largest W or R record (default %u)\n"
	    "  --drive-wait SECONDS  how long a session waits for a busy drive before EBUSY\n"
	    "                        (default 60; 0: EBUSY at once)\n"
	    "  --max-sessions N      sessions in total (default 1024)\n"
	    "  --max-per-peer N      sessions from one address (default 64)\n"
	    "  --idle-timeout S      close a session idle this long (default 3600; 0: never)\n"
	    "  --request-timeout S   close a session whose request takes longer to arrive\n"
	    "                        (default 120; 0: never)\n"
	    "  -c COMMAND            accepted and ignored (rmtd as a login shell)\n"
	    "  -d                    stay in the foreground and log to standard error\n"
	    "  -v                    more logging (repeat for debug)\n"
	    "  -n                    check the options and exit\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         the version\n",
	    RMT_DEFAULT_TCP_PORT, RMT_MAX_RECORD_DEFAULT);
}

static int parse_count(const char *option, const char *text, int minimum)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < minimum || value > 1000000)
		fatalx("%s: a whole number from %d to 1000000", option, minimum);
	return (int)value;
}

static bool parse_size(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *text == '-')
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		value *= 1024, end++;
		break;
	case 'm':
	case 'M':
		value *= 1024 * 1024, end++;
		break;
	default:
		break;
	}
	if (*end != '\0')
		return false;
	*out = value;
	return true;
}

static bool invoked_as_rmt(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return strcmp(base, "rmt") == 0;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_STDIO = 256,
		OPT_INETD,
		OPT_LISTEN,
		OPT_ALLOW,
		OPT_DRIVE,
		OPT_MAX_RECORD,
		OPT_DRIVE_WAIT,
		OPT_MAX_SESSIONS,
		OPT_MAX_PER_PEER,
		OPT_IDLE_TIMEOUT,
		OPT_REQUEST_TIMEOUT,
	};
	static const struct option long_options[] = {
	    {"stdio", no_argument, NULL, OPT_STDIO},
	    {"inetd", no_argument, NULL, OPT_INETD},
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"allow", required_argument, NULL, OPT_ALLOW},
	    {"drive", required_argument, NULL, OPT_DRIVE},
	    {"max-record", required_argument, NULL, OPT_MAX_RECORD},
	    {"drive-wait", required_argument, NULL, OPT_DRIVE_WAIT},
	    {"max-sessions", required_argument, NULL, OPT_MAX_SESSIONS},
	    {"max-per-peer", required_argument, NULL, OPT_MAX_PER_PEER},
	    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
	    {"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->mode = invoked_as_rmt(argv[0]) ? MODE_STDIO : MODE_DAEMON;
	o->max_record = RMT_MAX_RECORD_DEFAULT;
	o->drive_wait = 60;
	o->limits.max_sessions = 1024;
	o->limits.max_sessions_per_peer = 64;
	o->limits.idle_timeout = 3600;
	o->limits.request_timeout = 120;
	while ((c = getopt_long(argc, argv, "+c:dvnhV", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_STDIO:
			o->mode = MODE_STDIO;
			break;
		case OPT_INETD:
			o->mode = MODE_INETD;
			break;
		case OPT_LISTEN:
			if (o->listen_count >= LISTEN_MAX)
				fatalx("too many --listen addresses (at most %d)", LISTEN_MAX);
			o->listen[o->listen_count++] = optarg;
			break;
		case OPT_DRIVE:
			if (o->drive_count >= PATH_ALLOWED_MAX)
				fatalx("too many --drive declarations (at most %d)",
				       PATH_ALLOWED_MAX);
			o->drives[o->drive_count++] = optarg;
			break;
		case OPT_DRIVE_WAIT:
			o->drive_wait = parse_count("--drive-wait", optarg, 0);
			break;
		case OPT_MAX_SESSIONS:
			o->limits.max_sessions = parse_count("--max-sessions", optarg, 1);
			break;
		case OPT_MAX_PER_PEER:
			o->limits.max_sessions_per_peer = parse_count("--max-per-peer", optarg, 1);
			break;
		case OPT_IDLE_TIMEOUT:
			o->limits.idle_timeout = parse_count("--idle-timeout", optarg, 0);
			break;
		case OPT_REQUEST_TIMEOUT:
			o->limits.request_timeout = parse_count("--request-timeout", optarg, 0);
			break;
		case OPT_ALLOW:
			if (o->allowed_count >= PATH_ALLOWED_MAX)
				fatalx("too many --allow directories (at most %d)",
				       PATH_ALLOWED_MAX);
			o->allowed[o->allowed_count++] = optarg;
			break;
		case OPT_MAX_RECORD:
			if (!parse_size(optarg, &o->max_record) || o->max_record == 0 ||
			    o->max_record > RMT_MAX_RECORD_DEFAULT)
				fatalx("--max-record: a size from 1 to %u bytes",
				       RMT_MAX_RECORD_DEFAULT);
			break;
		case 'c':
			/* Started as a login shell (ssh runs "$SHELL -c /etc/rmt"): we are rmt
			 * anyway. */
			o->mode = MODE_STDIO;
			break;
		case 'd':
			o->foreground = true;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("rmtd %s\n", RMTD_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(64);
		}
	}
	/*
	 * Classic rmt takes a debug file name here and truncates it: a way to destroy
	 * any file the account can write. Extra arguments are ignored instead.
	 */
	if (optind < argc && o->mode != MODE_STDIO) {
		usage(stderr);
		exit(64);
	}
	o->ignored_arguments = argc - optind;
	o->limits.max_record = o->max_record;
}

static void stdio_identity(char *user, size_t user_size, char *peer, size_t peer_size)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *ssh = getenv("SSH_CONNECTION");

	snprintf(user, user_size, "%s", pw ? pw->pw_name : "unknown");
	if (ssh != NULL && *ssh != '\0') {
		size_t n = strcspn(ssh, " ");

		if (n >= peer_size)
			n = peer_size - 1;
		memcpy(peer, ssh, n);
		peer[n] = '\0';
	} else {
		snprintf(peer, peer_size, "local");
	}
}

/*
 * ssh gives us pipes of 64 KiB: a 1 MiB record then crosses in 16 pieces, each a
 * wake-up of both ends. A pipe as large as a big record halves the switches.
 */
static void stdio_grow_pipes(void)
{
	static const int fds[] = {STDIN_FILENO, STDOUT_FILENO};
	struct stat st;

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fstat(fds[i], &st) == 0 && S_ISFIFO(st.st_mode) &&
		    fcntl(fds[i], F_SETPIPE_SZ, 1024 * 1024) < 0)
			log_debug("cannot grow pipe %d: %s", fds[i], strerror(errno));
}

static void stdio_finished(struct fd_transport *transport, const char *why, void *arg)
{
	event_base_loopbreak(arg);
}

static void stdio_terminate(evutil_socket_t signal_number, short what, void *arg)
{
	struct fd_transport *transport = arg;
	struct session *session = fd_transport_session(transport);

	log_info("signal %d: closing the device and ending", (int)signal_number);
	if (session != NULL)
		session_close(session, "terminated by a signal");
}

static int run_stdio(const struct options *o, const struct path_policy *policy)
{
	struct session_settings settings;
	struct drive_registry drives;
	struct fd_transport *transport;
	struct event_base *base;
	struct event *term, *hup, *intr;
	char user[64], peer[128];
	const char *ssh_command = getenv("SSH_ORIGINAL_COMMAND");

	if (ssh_command != NULL)
		log_info("ssh asked for \"%.60s\"; serving rmt", ssh_command);
	if (o->ignored_arguments > 0)
		log_warnx("ignoring %d argument(s): rmtd takes no debug file name",
		          o->ignored_arguments);
	base = event_base_new();
	if (base == NULL)
		fatalx("cannot create the event loop");
	drive_registry_init(&drives, base, false, 0);
	stdio_identity(user, sizeof(user), peer, sizeof(peer));
	stdio_grow_pipes();

	memset(&settings, 0, sizeof(settings));
	settings.policy = policy;
	settings.drives = &drives;
	settings.max_record = o->max_record;
	/* Room for a 10 KiB tar record and its header, so it is written in place. */
	settings.input_buffer_size = 256 * 1024;
	settings.peer = peer;
	settings.identity = user;
	settings.splice_input = true;

	transport =
	    fd_transport_create(base, STDIN_FILENO, STDOUT_FILENO, &settings, stdio_finished, base);
	if (transport == NULL)
		fatalx("cannot set up standard input and output");
	term = evsignal_new(base, SIGTERM, stdio_terminate, transport);
	hup = evsignal_new(base, SIGHUP, stdio_terminate, transport);
	intr = evsignal_new(base, SIGINT, stdio_terminate, transport);
	event_add(term, NULL);
	event_add(hup, NULL);
	event_add(intr, NULL);

	event_base_dispatch(base);

	event_free(term);
	event_free(hup);
	event_free(intr);
	fd_transport_free(transport);
	drive_registry_free(&drives);
	event_base_free(base);
	return 0;
}

struct daemon_state {
	struct server *server;
	struct event_base *base;
};

static void daemon_terminate(evutil_socket_t signal_number, short what, void *arg)
{
	struct daemon_state *state = arg;

	log_info("signal %d: finishing every session, then exiting", (int)signal_number);
	server_shutdown(state->server);
}

static void daemon_reload(evutil_socket_t signal_number, short what, void *arg)
{
	log_info("SIGHUP: the options are fixed at start; nothing to reload");
}

static int run_daemon(const struct options *o, const struct path_policy *policy)
{
	struct daemon_state state;
	struct drive_registry drives;
	struct event *term, *intr, *hup;
	bool systemd = getenv("LISTEN_FDS") != NULL || getenv("NOTIFY_SOCKET") != NULL;
	int adopted = 0;

	/* Before the loop exists: a daemon forks first, and a fork keeps no threads. */
	if (o->mode == MODE_DAEMON && !o->foreground && !systemd && daemon(0, 0) < 0)
		fatal("daemon");
	state.base = event_base_new();
	if (state.base == NULL)
		fatalx("cannot create the event loop");
	drive_registry_init(&drives, state.base, true, o->drive_wait);
	state.server = server_create(state.base, &drives, policy, &o->limits);
	if (state.server == NULL)
		fatalx("cannot create the server");

	if (o->mode == MODE_INETD) {
		if (server_serve_connection(state.server, STDIN_FILENO) < 0)
			fatalx("cannot serve the connection on standard input");
		server_exit_when_idle(state.server);
	} else {
		adopted = server_adopt_systemd_sockets(state.server);
		if (adopted < 0)
			fatalx("cannot use the sockets systemd passed");
		for (int i = 0; i < o->listen_count; i++)
			if (server_listen(state.server, o->listen[i]) < 0)
				fatalx("cannot listen on %s", o->listen[i]);
		if (o->listen_count == 0 && adopted == 0) {
			char v4[32], v6[32];

			snprintf(v4, sizeof(v4), "127.0.0.1:%d", RMT_DEFAULT_TCP_PORT);
			snprintf(v6, sizeof(v6), "[::1]:%d", RMT_DEFAULT_TCP_PORT);
			if (server_listen(state.server, v4) < 0)
				fatalx("cannot listen on %s", v4);
			if (server_listen(state.server, v6) < 0)
				log_warnx("no IPv6 loopback; listening on %s only", v4);
		}
		server_start(state.server);
		server_notify_systemd("READY=1");
	}
	term = evsignal_new(state.base, SIGTERM, daemon_terminate, &state);
	intr = evsignal_new(state.base, SIGINT, daemon_terminate, &state);
	hup = evsignal_new(state.base, SIGHUP, daemon_reload, &state);
	event_add(term, NULL);
	event_add(intr, NULL);
	event_add(hup, NULL);

	while (!server_finished(state.server))
		if (event_base_dispatch(state.base) != 0)
			break;

	server_notify_systemd("STOPPING=1");
	event_free(term);
	event_free(intr);
	event_free(hup);
	server_free(state.server);
	drive_registry_free(&drives);
	event_base_free(state.base);
	log_info("exiting");
	return 0;
}

int main(int argc, char **argv)
{
	struct path_policy policy;
	struct options o;
	int rc = 0;

	parse_options(argc, argv, &o);
	log_init("rmtd", o.foreground, o.verbosity);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() < 0)
		fatalx("libevent has no thread support");

	path_policy_init(&policy);
	for (int i = 0; i < o.allowed_count; i++) {
		int error = path_policy_allow(&policy, o.allowed[i], true);

		if (error < 0)
			fatalx("--allow %s: %s", o.allowed[i], strerror(-error));
	}
	for (int i = 0; i < o.drive_count; i++) {
		char name[64];
		const char *equals = strchr(o.drives[i], '=');
		int error;

		if (equals == NULL || equals == o.drives[i] ||
		    (size_t)(equals - o.drives[i]) >= sizeof(name))
			fatalx("--drive %s: expected NAME=DEVICE", o.drives[i]);
		snprintf(name, sizeof(name), "%.*s", (int)(equals - o.drives[i]), o.drives[i]);
		error = path_policy_declare_drive(&policy, name, equals + 1);
		if (error < 0)
			fatalx("--drive %s: %s", o.drives[i],
			       error == -EINVAL
			           ? "NAME must not contain '/', DEVICE must be absolute"
			           : strerror(-error));
	}
	if (o.check_only) {
		printf("rmtd: options OK\n");
		path_policy_free(&policy);
		return 0;
	}
	switch (o.mode) {
	case MODE_STDIO:
		rc = run_stdio(&o, &policy);
		break;
	case MODE_INETD:
	case MODE_DAEMON:
		rc = run_daemon(&o, &policy);
		break;
	}
	path_policy_free(&policy);
	return rc;
}
