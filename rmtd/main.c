/*
 * main.c - rmtd's command line, its modes, and signals.
 *
 * stdio mode is what rsh and ssh start (argv[0] "rmt" or "/etc/rmt", or
 * `rmtd --stdio`): one client on stdin/stdout, device calls inline.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "rmt/protocol.h"
#include "drive.h"
#include "log.h"
#include "path.h"
#include "session.h"
#include "transport.h"

enum mode {
	MODE_STDIO,
	MODE_NONE,
};

struct options {
	enum mode mode;
	bool foreground; /* -d: log to stderr */
	int verbosity;
	uint64_t max_record;
	const char *allowed[PATH_ALLOWED_MAX];
	int allowed_count;
	bool check_only;
	int ignored_arguments;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: rmtd --stdio [-dv] [--allow DIR]... [--max-record BYTES]\n"
	        "       rmt                      (as started by rsh or ssh: stdio mode)\n"
	        "\n"
	        "  --stdio            serve one client on standard input and output (rsh/ssh)\n"
	        "  --allow DIR        clients may open files and virtual tapes (*.tap) below DIR,\n"
	        "                     and create or truncate them there (repeatable); tape\n"
	        "                     devices /dev/nst* and /dev/st* are always allowed\n"
	        "  --max-record BYTES largest W or R record (default %u)\n"
	        "  -c COMMAND         accepted and ignored (rmtd as a login shell)\n"
	        "  -d                 log to standard error instead of syslog\n"
	        "  -v                 more logging (repeat for debug)\n"
	        "  -n                 check the options and exit\n"
	        "  -h, --help         this text\n"
	        "  -V, --version      the version\n",
	        RMT_MAX_RECORD_DEFAULT);
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
	enum { OPT_STDIO = 256, OPT_ALLOW, OPT_MAX_RECORD };
	static const struct option long_options[] = {
	    {"stdio", no_argument, NULL, OPT_STDIO},
	    {"allow", required_argument, NULL, OPT_ALLOW},
	    {"max-record", required_argument, NULL, OPT_MAX_RECORD},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->mode = invoked_as_rmt(argv[0]) ? MODE_STDIO : MODE_NONE;
	o->max_record = RMT_MAX_RECORD_DEFAULT;
	while ((c = getopt_long(argc, argv, "+c:dvnhV", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_STDIO:
			o->mode = MODE_STDIO;
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

	memset(&settings, 0, sizeof(settings));
	settings.policy = policy;
	settings.drives = &drives;
	settings.max_record = o->max_record;
	/* Room for a 10 KiB tar record and its header, so it is written in place. */
	settings.input_buffer_size = 256 * 1024;
	settings.peer = peer;
	settings.identity = user;

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
	if (o.check_only) {
		printf("rmtd: options OK\n");
		path_policy_free(&policy);
		return 0;
	}
	switch (o.mode) {
	case MODE_STDIO:
		rc = run_stdio(&o, &policy);
		break;
	case MODE_NONE:
		usage(stderr);
		rc = 64;
		break;
	}
	path_policy_free(&policy);
	return rc;
}
