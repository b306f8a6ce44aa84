/*
 * rmtctl.c - the operator's command for a running rmtd: what the drives and
 * sessions are doing, abort a session, take a drive back, list drives and
 * catalogs, print metrics.
 *
 * It speaks the control socket's one-line protocol (control.h): connect, send
 * one request, read the reply to the end. --watch repeats that.
 *
 * Exit status: 0 done; 1 the daemon answered with an error (no such session or
 * catalog, nothing configured) or a killed session did not end in time; 2 the
 * daemon could not be reached or refused us, or its reply was cut; 64 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rmt/protocol.h"
#include "control_proto.h"
#include "number.h"

#define EXIT_ANSWERED_ERROR 1
#define EXIT_UNREACHABLE    2
#define EXIT_USAGE          64

/* A reply larger than this is not from rmtd. */
#define REPLY_MAX (256u * 1024 * 1024)

static const char *program = "rmtctl";

/* Each command's synopsis: all of them for --help, the one misused for a mistake. */
static const char *const synopses[] = {
    "status [--json] [--watch [SECONDS]]",
    "session [--json] SESSION",
    "kill [--no-wait | --wait SECONDS] SESSION",
    "release DRIVE",
    "drives [--json]",
    "catalog [--json] [DRIVE | CARTRIDGE]",
    "metrics",
    "inventory [--json] [LIBRARY]",
    "cartridges [--json] [CARTRIDGE]",
    "load [--json] CARTRIDGE|slot:N DRIVE",
    "unload [--json] DRIVE [slot:N]",
    "move [--json] LIBRARY FROM TO",
    "import [--json] LIBRARY [portal:N]",
    "export [--json] CARTRIDGE",
    "readonly [--json] CARTRIDGE on|off",
};

/* command: print its line only; NULL or unknown: all of them. */
static void usage_synopsis(FILE *out, const char *command)
{
	size_t count = sizeof(synopses) / sizeof(synopses[0]), shown = 0;

	for (size_t i = 0; i < count; i++) {
		size_t length = strcspn(synopses[i], " ");

		if (command != NULL &&
		    (strlen(command) != length || strncmp(synopses[i], command, length) != 0))
			continue;
		fprintf(out, "%s rmtctl [-s SOCKET] %s\n", shown++ == 0 ? "usage:" : "      ",
		        synopses[i]);
	}
	if (shown == 0)
		usage_synopsis(out, NULL);
	else if (command == NULL)
		fprintf(out, "       rmtctl -h | --help | -V | --version\n");
}

static void usage(FILE *out)
{
	usage_synopsis(out, NULL);
	fprintf(out,
	        "\n"
	        "  -s SOCKET   rmtd's control socket (default $RMTD_CONTROL_SOCKET, else %s)\n"
	        "  --json      one JSON document per line, for programs\n"
	        "  --watch     refresh every SECONDS (default 2; 0.5 or 0,5 for half a second)\n"
	        "              until interrupted\n"
	        "  --wait      how long kill follows the session until it ends (default 30)\n"
	        "\n"
	        "Exit status: 0 done, 1 rmtd answered with an error, 2 rmtd unreachable or\n"
	        "refused, 64 usage.\n",
	        RMT_DEFAULT_CONTROL_SOCKET);
}

struct answer {
	struct control_reply reply;
	char *data; /* header and body */
	size_t length;
	const char *body;
};

static void answer_free(struct answer *a)
{
	free(a->data);
	memset(a, 0, sizeof(*a));
}

/*
 * One request, one reply. Returns 0 with *a filled (OK or ERR), or -1 after
 * printing why the daemon could not be used.
 */
static int ask(const char *socket_path, const char *request, struct answer *a)
{
	struct sockaddr_un address;
	struct timeval timeout = {30, 0};
	size_t capacity = 64 * 1024, sent = 0, request_length = strlen(request);
	int fd, parsed;

	memset(a, 0, sizeof(*a));
	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(address.sun_path)) {
		fprintf(stderr, "%s: %s: socket path too long\n", program, socket_path);
		return -1;
	}
	strlcpy(address.sun_path, socket_path, sizeof(address.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", program, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		int error = errno;

		fprintf(stderr, "%s: cannot connect to %s: %s%s\n", program, socket_path,
		        strerror(error),
		        error == ENOENT || error == ECONNREFUSED
		            ? " (is rmtd running with this --control socket?)"
		        : error == EACCES ? " (only root and the control group may use it)"
		                          : "");
		close(fd);
		return -1;
	}
	while (sent < request_length) {
		ssize_t n = send(fd, request + sent, request_length - sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break; /* a refusal may already be waiting to be read */
		sent += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	a->data = malloc(capacity + 1);
	if (a->data == NULL) {
		close(fd);
		fprintf(stderr, "%s: out of memory\n", program);
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (a->length == capacity) {
			char *grown;

			if (capacity >= REPLY_MAX) {
				fprintf(stderr, "%s: reply too large\n", program);
				goto fail;
			}
			capacity *= 2;
			grown = realloc(a->data, capacity + 1);
			if (grown == NULL) {
				fprintf(stderr, "%s: out of memory\n", program);
				goto fail;
			}
			a->data = grown;
		}
		n = recv(fd, a->data + a->length, capacity - a->length, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: reading from %s: %s\n", program, socket_path,
			        errno == EAGAIN ? "timed out" : strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		a->length += (size_t)n;
	}
	close(fd);
	fd = -1;
	a->data[a->length] = '\0';
	parsed = control_parse_reply(a->data, a->length, &a->reply);
	if (parsed <= 0) {
		fprintf(stderr, "%s: %s: %s\n", program, socket_path,
		        a->length == 0 ? "the daemon closed without answering"
		                       : "not a reply from rmtd");
		goto fail;
	}
	a->body = a->data + a->reply.header_length;
	if (a->reply.ok && a->length - a->reply.header_length != a->reply.length) {
		fprintf(stderr, "%s: %s: reply cut short (%zu of %zu bytes)\n", program,
		        socket_path, a->length - a->reply.header_length, a->reply.length);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	answer_free(a);
	return -1;
}

/* Print the body of an OK answer, or the error; the exit status it means. */
static int report(const struct answer *a)
{
	if (a->reply.ok) {
		fwrite(a->body, 1, a->reply.length, stdout);
		fflush(stdout);
		return 0;
	}
	fprintf(stderr, "%s: %s\n", program,
	        a->reply.message[0] ? a->reply.message : a->reply.code);
	return strcmp(a->reply.code, CONTROL_ERR_DENIED) == 0 ? EXIT_UNREACHABLE
	                                                      : EXIT_ANSWERED_ERROR;
}

static int simple(const char *socket_path, const char *request)
{
	struct answer a;
	int rc;

	if (ask(socket_path, request, &a) < 0)
		return EXIT_UNREACHABLE;
	rc = report(&a);
	answer_free(&a);
	return rc;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signal_number)
{
	interrupted = 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (!interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int watch(const char *socket_path, const char *request, double seconds, bool json)
{
	bool screen = !json && isatty(STDOUT_FILENO);
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!interrupted) {
		struct answer a;
		int rc;

		if (ask(socket_path, request, &a) < 0)
			return EXIT_UNREACHABLE;
		if (screen) {
			char when[64];
			time_t now = time(NULL);

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
			printf("\033[H\033[2JEvery %gs: rmtctl status%*s\n\n", seconds, 40, when);
		}
		rc = report(&a);
		answer_free(&a);
		if (rc != 0)
			return rc;
		sleep_ms((long)(seconds * 1000));
	}
	return 0;
}

/* The "[...]" state at the end of a session line, or "". */
static const char *line_state(const char *line, size_t length, size_t *state_length)
{
	const char *open;

	while (length > 0 && line[length - 1] == '\n')
		length--;
	*state_length = 0;
	if (length == 0 || line[length - 1] != ']')
		return "";
	for (open = line + length - 1; open > line && *open != '['; open--)
		;
	if (*open != '[' || open < line + 2 || open[-1] != ' ' || open[-2] != ' ')
		return "";
	*state_length = (size_t)(line + length - open);
	return open;
}

/* kill: ask, then follow the session's state until it has gone. */
static int kill_session(const char *socket_path, unsigned id, double wait_seconds)
{
	char request[64], last_state[128] = "";
	struct answer a;
	int rc;
	struct timespec start, now;

	snprintf(request, sizeof(request), "kill %u\n", id);
	if (ask(socket_path, request, &a) < 0)
		return EXIT_UNREACHABLE;
	rc = report(&a);
	if (rc == 0) {
		size_t n;
		const char *state = line_state(a.body, a.reply.length, &n);

		snprintf(last_state, sizeof(last_state), "%.*s", (int)n, state);
		if (strstr(a.body, ": ended\n") != NULL)
			wait_seconds = 0;
	}
	answer_free(&a);
	if (rc != 0 || wait_seconds <= 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &start);
	snprintf(request, sizeof(request), "session %u\n", id);
	for (;;) {
		size_t n;
		const char *state;

		sleep_ms(100);
		if (ask(socket_path, request, &a) < 0)
			return EXIT_UNREACHABLE;
		if (!a.reply.ok) {
			bool gone = strcmp(a.reply.code, CONTROL_ERR_NOTFOUND) == 0;

			rc = gone ? 0 : report(&a);
			answer_free(&a);
			if (gone)
				printf("Session %u: ended\n", id);
			return rc;
		}
		state = line_state(a.body, a.reply.length, &n);
		if (n != strlen(last_state) || memcmp(state, last_state, n) != 0) {
			fwrite(a.body, 1, a.reply.length, stdout);
			fflush(stdout);
			snprintf(last_state, sizeof(last_state), "%.*s", (int)n, state);
		}
		answer_free(&a);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (interrupted || (double)(now.tv_sec - start.tv_sec) +
		                           (double)(now.tv_nsec - start.tv_nsec) / 1e9 >=
		                       wait_seconds) {
			fprintf(stderr,
			        "%s: session %u has not ended yet (its request in flight "
			        "completes first)\n",
			        program, id);
			return EXIT_ANSWERED_ERROR;
		}
	}
}

/* Seconds, fractions allowed: 0.5, .5, and 0,5 as locales with a decimal comma write it. */
static bool parse_seconds(const char *text, double *out)
{
	char copy[32], *comma, *end;
	double value;

	if (strlen(text) >= sizeof(copy))
		return false;
	strlcpy(copy, text, sizeof(copy));
	comma = strchr(copy, ',');
	if (comma != NULL)
		*comma = '.';
	text = copy;
	errno = 0;
	value = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(value >= 0.1) || value > 86400)
		return false;
	*out = value;
	return true;
}

static bool parse_id(const char *text, unsigned *out)
{
	int64_t value;

	if (*text == '-' || decimal_parse_range(text, 1, 0xffffffff, &value) < 0)
		return false;
	*out = (unsigned)value;
	return true;
}

/* A mistake gets what is wrong, the synopsis of the command and where the rest is. */
static int usage_error(const char *command, const char *what)
{
	if (what != NULL)
		fprintf(stderr, "%s: %s\n", program, what);
	usage_synopsis(stderr, command);
	fprintf(stderr, "Try 'rmtctl --help' for the options, or see rmtctl(8).\n");
	return EXIT_USAGE;
}

/* The tape library's commands take several words (control_library.h). */
static bool library_command(const char *command)
{
	static const char *const words[] = {"inventory", "cartridges", "load",   "unload",
	                                    "move",      "import",     "export", "readonly"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(command, words[i]) == 0)
			return true;
	return false;
}

static int library_request(const char *socket_path, const char *command, int count, char **words)
{
	char request[CONTROL_REQUEST_MAX];
	size_t used = (size_t)snprintf(request, sizeof(request), "%s", command);

	for (int i = 0; i < count; i++) {
		/* Names in a library are plain words: a blank or control byte is no barcode. */
		if (words[i][0] == '\0' || strpbrk(words[i], " \t\r\n%") != NULL)
			return usage_error(command,
			                   "library names and elements are single plain words");
		if (used + strlen(words[i]) + 3 > sizeof(request))
			return usage_error(command, "request too long");
		used += (size_t)snprintf(request + used, sizeof(request) - used, " %s", words[i]);
	}
	snprintf(request + used, sizeof(request) - used, "\n");
	return simple(socket_path, request);
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *socket_path = getenv("RMTD_CONTROL_SOCKET");
	const char *command;
	bool json = false, watching = false, no_wait = false;
	double interval = 2, wait_seconds = 30;
	const char *argument = NULL;
	char request[CONTROL_REQUEST_MAX];
	int c;

	if (socket_path == NULL || socket_path[0] == '\0')
		socket_path = RMT_DEFAULT_CONTROL_SOCKET;
	/* "+": options after the command belong to it. */
	while ((c = getopt_long(argc, argv, "+s:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rmtctl %s\n", RMTD_VERSION);
			return 0;
		default:
			return usage_error(NULL, NULL); /* getopt said which option */
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "no command");
	command = argv[optind++];
	if (library_command(command))
		return library_request(socket_path, command, argc - optind, argv + optind);
	for (int i = optind; i < argc; i++) {
		const char *word = argv[i];

		if (strcmp(word, "--json") == 0) {
			json = true;
		} else if (strcmp(word, "--watch") == 0) {
			watching = true;
			if (i + 1 < argc && parse_seconds(argv[i + 1], &interval))
				i++;
			else if (i + 1 < argc && argv[i + 1][0] != '\0' &&
			         strchr("0123456789.,", argv[i + 1][0]) != NULL)
				return usage_error(
				    command, "--watch: seconds from 0.1 to 86400 (0.5 is fine)");
		} else if (strncmp(word, "--watch=", 8) == 0) {
			watching = true;
			if (!parse_seconds(word + 8, &interval))
				return usage_error(
				    command, "--watch: seconds from 0.1 to 86400 (0.5 is fine)");
		} else if (strcmp(word, "--no-wait") == 0) {
			no_wait = true;
		} else if (strcmp(word, "--wait") == 0) {
			if (i + 1 >= argc || !parse_seconds(argv[i + 1], &wait_seconds))
				return usage_error(command, "--wait: seconds from 0.1 to 86400");
			i++;
		} else if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(word, "--") == 0 && i + 1 < argc && argument == NULL) {
			argument = argv[++i];
		} else if (word[0] == '-' && word[1] != '\0') {
			char what[80];

			snprintf(what, sizeof(what), "unknown option %.60s", word);
			return usage_error(command, what);
		} else if (argument == NULL) {
			argument = word;
		} else {
			return usage_error(command, "too many arguments");
		}
	}
	if (strcmp(command, "status") == 0) {
		if (argument != NULL)
			return usage_error(command, "status takes no argument");
		snprintf(request, sizeof(request), "status%s\n", json ? " --json" : "");
		return watching ? watch(socket_path, request, interval, json)
		                : simple(socket_path, request);
	}
	if (watching)
		return usage_error(command, "--watch goes with status");
	if (strcmp(command, "session") == 0 || strcmp(command, "kill") == 0) {
		unsigned id;

		if (argument == NULL || !parse_id(argument, &id))
			return usage_error(command, "expected a session number");
		if (strcmp(command, "kill") == 0)
			return kill_session(socket_path, id, no_wait ? 0 : wait_seconds);
		snprintf(request, sizeof(request), "session%s %u\n", json ? " --json" : "", id);
		return simple(socket_path, request);
	}
	if (strcmp(command, "drives") == 0) {
		if (argument != NULL)
			return usage_error(command, "drives takes no argument");
		snprintf(request, sizeof(request), "drives%s\n", json ? " --json" : "");
		return simple(socket_path, request);
	}
	if (strcmp(command, "release") == 0) {
		char encoded[CONTROL_REQUEST_MAX - 32];

		if (argument == NULL)
			return usage_error(command, "expected a drive");
		if (control_encode_argument(argument, encoded, sizeof(encoded)) < 0)
			return usage_error(command, "name too long");
		snprintf(request, sizeof(request), "release %s\n", encoded);
		return simple(socket_path, request);
	}
	if (strcmp(command, "catalog") == 0) {
		char encoded[CONTROL_REQUEST_MAX - 32] = "";

		if (argument != NULL &&
		    control_encode_argument(argument, encoded, sizeof(encoded)) < 0)
			return usage_error(command, "name too long");
		snprintf(request, sizeof(request), "catalog%s%s%s\n", json ? " --json" : "",
		         argument ? " " : "", encoded);
		return simple(socket_path, request);
	}
	if (strcmp(command, "metrics") == 0) {
		if (argument != NULL || json)
			return usage_error(command,
			                   "metrics takes no argument and has no JSON form");
		return simple(socket_path, "metrics\n");
	}
	if (strcmp(command, "help") == 0) {
		usage(stdout);
		return 0;
	}
	snprintf(request, sizeof(request), "unknown command %.60s", command);
	return usage_error(command, request);
}
