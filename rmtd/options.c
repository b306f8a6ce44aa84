/*
 * options.c - the command line and its merge with rmtd.conf.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rmt/protocol.h"
#include "config.h"
#include "drive.h"
#include "log.h"
#include "number.h"
#include "options.h"

#define DEFAULT_DRIVE_WAIT      60
#define DEFAULT_MAX_SESSIONS    1024
#define DEFAULT_MAX_PER_PEER    64
#define DEFAULT_IDLE_TIMEOUT    3600
#define DEFAULT_REQUEST_TIMEOUT 120
#define DEFAULT_HOLD_TIMEOUT    0

static void usage_synopsis(FILE *out)
{
	fprintf(out,
	        "usage: rmtd [-dnv] [-f FILE] [--listen ADDR:PORT]... [--allow DIR]...\n"
	        "            [--drive NAME=DEVICE]... [limits]   TCP daemon (default: loopback "
	        "port %d)\n"
	        "       rmtd --stdio [-dv] [-f FILE] [--allow DIR]... [--drive NAME=DEVICE]...\n"
	        "       rmtd --inetd [-dv] [-f FILE] [--allow DIR]... [--drive NAME=DEVICE]...\n"
	        "       rmt                          (as started by rsh or ssh: stdio mode)\n",
	        RMT_DEFAULT_TCP_PORT);
}

/* A mistake gets the synopsis and where the rest is, not three screens of options. */
static void __attribute__((noreturn)) usage_error(void)
{
	usage_synopsis(stderr);
	fprintf(stderr, "Try 'rmtd --help' for the options, or see rmtd(8).\n");
	exit(64);
}

static void usage(FILE *out)
{
	usage_synopsis(out);
	fprintf(
	    out,
	    "\n"
	    "  --stdio               serve one client on standard input and output (rsh/ssh)\n"
	    "  --inetd               serve the TCP connection on standard input (inetd)\n"
	    "  -f FILE               the configuration file (default %s, if it exists;\n"
	    "                        stdio mode reads one only when -f names it)\n"
	    "  --listen ADDR:PORT    listen on this address (repeatable; [::1]:PORT for IPv6),\n"
	    "                        plaintext, so loopback addresses only;\n"
	    "                        sockets passed by systemd (LISTEN_FDS) are used as well\n"
	    "  --allow DIR           clients may open files and virtual tapes (*.tap) below DIR,\n"
	    "                        and create or truncate them there (repeatable); tape\n"
	    "                        devices /dev/nst* and /dev/st* are always allowed; with\n"
	    "                        allow rules in the configuration, the rules decide\n"
	    "  --drive NAME=DEVICE   declare a drive clients open by NAME (a tape device,\n"
	    "                        a .tap image or a file; repeatable)\n"
	    "  --max-record BYTES    largest W or R record (default %u)\n"
	    "  --drive-wait SECONDS  how long a session waits for a busy drive before EBUSY\n"
	    "                        (default %d; 0: EBUSY at once)\n"
	    "  --max-sessions N      sessions in total (default %d)\n"
	    "  --max-per-peer N      sessions from one address (default %d)\n"
	    "  --idle-timeout S      close a session idle this long (default %d; 0: never)\n"
	    "  --request-timeout S   close a session whose request takes longer to arrive\n"
	    "                        (default %d; 0: never)\n"
	    "  --hold-timeout S      take a drive back from a session idle this long\n"
	    "                        (default 0: never)\n"
	    "  --stop-grace S        how long SIGTERM or rmtctl kill waits for a request or\n"
	    "                        device call in progress before ending it (default %d)\n"
	    "  --control PATH        control socket for rmtctl (default %s when run\n"
	    "                        as root; \"none\": no socket)\n"
	    "  --control-mode OCTAL  its file mode (default 0660)\n"
	    "  --control-group GROUP its group, whose members may use rmtctl\n"
	    "  --status-dir DIR      keep DIR/<drive>.status up to date while drives are busy,\n"
	    "                        and DIR/rmtd.prom (metrics for node_exporter)\n"
	    "  --status-interval S   rewrite status files every S seconds (default 5)\n"
	    "  --state-dir DIR       persistent counters and catalogs (rmtctl catalog)\n"
	    "  --sync                each record reaches the disk (fdatasync) before it is\n"
	    "                        acknowledged: virtual tapes and files (slower)\n"
	    "  -c COMMAND            accepted and ignored (rmtd as a login shell)\n"
	    "  -d                    stay in the foreground and log to standard error\n"
	    "  -v                    more logging (repeat for debug)\n"
	    "  -n                    check the configuration, options, users, groups and TLS\n"
	    "                        files, and exit\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         the version\n",
	    CONFIG_DEFAULT_PATH, RMT_MAX_RECORD_DEFAULT, DEFAULT_DRIVE_WAIT, DEFAULT_MAX_SESSIONS,
	    DEFAULT_MAX_PER_PEER, DEFAULT_IDLE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
	    DRIVE_STOP_GRACE_DEFAULT, RMT_DEFAULT_CONTROL_SOCKET);
}

static int parse_count(const char *option, const char *text, int minimum)
{
	int64_t value;

	if (decimal_parse_range(text, minimum, 1000000, &value) < 0)
		fatalx("%s: a whole number from %d to 1000000", option, minimum);
	return (int)value;
}

static int parse_mode(const char *option, const char *text)
{
	uint64_t value;

	/* Others are refused by the daemon anyway (SO_PEERCRED): never offer them the socket. */
	if (octal_parse_u64(text, strlen(text), &value) < 0 || value > 0777 || (value & 0007))
		fatalx("%s: an octal mode from 0 to 0770, never for others", option);
	return (int)value;
}

static int64_t parse_record_size(const char *text)
{
	uint64_t value;

	if (decimal_parse_size(text, strlen(text), &value) < 0 || value == 0 ||
	    value > RMT_MAX_RECORD_DEFAULT)
		fatalx("--max-record: a size from 1 to %u bytes", RMT_MAX_RECORD_DEFAULT);
	return (int64_t)value;
}

static bool invoked_as_rmt(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return strcmp(base, "rmt") == 0;
}

void options_parse(int argc, char **argv, struct options *o)
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
		OPT_HOLD_TIMEOUT,
		OPT_STOP_GRACE,
		OPT_CONTROL,
		OPT_CONTROL_MODE,
		OPT_CONTROL_GROUP,
		OPT_STATUS_DIR,
		OPT_STATUS_INTERVAL,
		OPT_STATE_DIR,
		OPT_SYNC,
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
	    {"hold-timeout", required_argument, NULL, OPT_HOLD_TIMEOUT},
	    {"stop-grace", required_argument, NULL, OPT_STOP_GRACE},
	    {"control", required_argument, NULL, OPT_CONTROL},
	    {"control-mode", required_argument, NULL, OPT_CONTROL_MODE},
	    {"control-group", required_argument, NULL, OPT_CONTROL_GROUP},
	    {"status-dir", required_argument, NULL, OPT_STATUS_DIR},
	    {"status-interval", required_argument, NULL, OPT_STATUS_INTERVAL},
	    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
	    {"sync", no_argument, NULL, OPT_SYNC},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->mode = invoked_as_rmt(argv[0]) ? MODE_STDIO : MODE_DAEMON;
	o->max_record = -1;
	o->drive_wait = -1;
	o->max_sessions = -1;
	o->max_per_peer = -1;
	o->idle_timeout = -1;
	o->request_timeout = -1;
	o->hold_timeout = -1;
	o->stop_grace = -1;
	o->control_mode = -1;
	o->status_interval = -1;
	while ((c = getopt_long(argc, argv, "+c:f:dvnhV", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_STDIO:
			o->mode = MODE_STDIO;
			break;
		case OPT_INETD:
			o->mode = MODE_INETD;
			break;
		case OPT_LISTEN:
			if (o->listen_count >= OPTIONS_LISTEN_MAX)
				fatalx("too many --listen addresses (at most %d)",
				       OPTIONS_LISTEN_MAX);
			o->listen[o->listen_count++] = optarg;
			break;
		case OPT_ALLOW:
			if (o->allowed_count >= PATH_ALLOWED_MAX)
				fatalx("too many --allow directories (at most %d)",
				       PATH_ALLOWED_MAX);
			o->allowed[o->allowed_count++] = optarg;
			break;
		case OPT_DRIVE:
			if (o->drive_count >= PATH_ALLOWED_MAX)
				fatalx("too many --drive declarations (at most %d)",
				       PATH_ALLOWED_MAX);
			o->drives[o->drive_count++] = optarg;
			break;
		case OPT_MAX_RECORD:
			o->max_record = parse_record_size(optarg);
			break;
		case OPT_DRIVE_WAIT:
			o->drive_wait = parse_count("--drive-wait", optarg, 0);
			break;
		case OPT_MAX_SESSIONS:
			o->max_sessions = parse_count("--max-sessions", optarg, 1);
			break;
		case OPT_MAX_PER_PEER:
			o->max_per_peer = parse_count("--max-per-peer", optarg, 1);
			break;
		case OPT_IDLE_TIMEOUT:
			o->idle_timeout = parse_count("--idle-timeout", optarg, 0);
			break;
		case OPT_REQUEST_TIMEOUT:
			o->request_timeout = parse_count("--request-timeout", optarg, 0);
			break;
		case OPT_HOLD_TIMEOUT:
			o->hold_timeout = parse_count("--hold-timeout", optarg, 0);
			break;
		case OPT_STOP_GRACE:
			o->stop_grace = parse_count("--stop-grace", optarg, 1);
			break;
		case OPT_CONTROL:
			o->control_socket = strcmp(optarg, "none") == 0 ? "" : optarg;
			break;
		case OPT_CONTROL_MODE:
			o->control_mode = parse_mode("--control-mode", optarg);
			break;
		case OPT_CONTROL_GROUP:
			o->control_group = optarg;
			break;
		case OPT_STATUS_DIR:
			o->status_directory = optarg;
			break;
		case OPT_STATUS_INTERVAL:
			o->status_interval = parse_count("--status-interval", optarg, 1);
			break;
		case OPT_STATE_DIR:
			o->state_directory = optarg;
			break;
		case OPT_SYNC:
			o->sync_records = true;
			break;
		case 'f':
			o->config_file = optarg;
			break;
		case 'c':
			/* A login shell is run as "$SHELL -c /etc/rmt": we are rmt anyway. */
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
			usage_error(); /* getopt said which option */
		}
	}
	/*
	 * Classic rmt takes a debug file name here and truncates it: a way to destroy
	 * any file the account can write. In stdio mode extra arguments are ignored.
	 */
	if (optind < argc && o->mode != MODE_STDIO) {
		fprintf(stderr, "rmtd: unexpected argument '%s' (rmtd takes options only)\n",
		        argv[optind]);
		usage_error();
	}
	o->ignored_arguments = argc - optind;
}

/* An option's directory (when given) into directory; false, saying why in error, if too long. */
static bool option_directory(const char *option, const char *value, char *directory,
                             size_t directory_size, char *error, size_t size)
{
	if (value == NULL || strlcpy(directory, value, directory_size) < directory_size)
		return true;
	snprintf(error, size, "%s: name too long", option);
	return false;
}

static int add_command_line(const struct options *o, struct config *config, char *error,
                            size_t size)
{
	/* The sandbox allows the status directory the configuration names. */
	if (!option_directory("--state-dir", o->state_directory, config->state_directory,
	                      sizeof(config->state_directory), error, size) ||
	    !option_directory("--status-dir", o->status_directory, config->status_directory,
	                      sizeof(config->status_directory), error, size))
		return -1;
	if (o->sync_records)
		config->sync_records = 1;
	for (int i = 0; i < o->allowed_count; i++) {
		int result = path_policy_allow(&config->policy, o->allowed[i], true);

		if (result < 0) {
			snprintf(error, size, "--allow %s: %s", o->allowed[i], strerror(-result));
			return -1;
		}
	}
	for (int i = 0; i < o->drive_count; i++) {
		char name[64];
		const char *equals = strchr(o->drives[i], '=');
		int result;

		if (equals == NULL || equals == o->drives[i] ||
		    (size_t)(equals - o->drives[i]) >= sizeof(name)) {
			snprintf(error, size, "--drive %s: expected NAME=DEVICE", o->drives[i]);
			return -1;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(equals - o->drives[i]), o->drives[i]);
		result = path_policy_declare_drive(&config->policy, name, equals + 1);
		if (result < 0) {
			snprintf(error, size, "--drive %s: %s", o->drives[i],
			         result == -EINVAL
			             ? "NAME must not contain '/', DEVICE must be absolute"
			             : strerror(-result));
			return -1;
		}
	}
	return 0;
}

const char *options_config_file(const struct options *o)
{
	if (o->config_file != NULL)
		return o->config_file;
	/*
	 * The default file is the daemon's: what it says for TCP and TLS clients
	 * must not change what an ssh user's rmt may do.
	 */
	if (o->mode != MODE_STDIO && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		return CONFIG_DEFAULT_PATH;
	return NULL;
}

struct config *options_configure(const struct options *o, char *error, size_t size)
{
	return options_configure_from(o, -1, error, size);
}

struct config *options_configure_from(const struct options *o, int config_fd, char *error,
                                      size_t size)
{
	const char *file = options_config_file(o);
	struct config *config = config_new();

	if (config == NULL) {
		if (config_fd >= 0)
			close(config_fd);
		snprintf(error, size, "out of memory");
		return NULL;
	}
	if (file != NULL && (config_fd >= 0 ? config_load_fd(config_fd, file, config, error, size)
	                                    : config_load(file, config, error, size)) < 0) {
		config_release(config);
		return NULL;
	}
	if (file == NULL && config_fd >= 0)
		close(config_fd);
	if (add_command_line(o, config, error, size) < 0) {
		config_release(config);
		return NULL;
	}
	return config;
}

static int pick(int command_line, int file, int fallback)
{
	return command_line >= 0 ? command_line : file >= 0 ? file : fallback;
}

void options_limits(const struct options *o, const struct config *c, struct server_limits *limits,
                    int *drive_wait)
{
	limits->max_sessions = pick(o->max_sessions, c->max_sessions, DEFAULT_MAX_SESSIONS);
	limits->max_sessions_per_peer =
	    pick(o->max_per_peer, c->max_sessions_per_peer, DEFAULT_MAX_PER_PEER);
	limits->idle_timeout = pick(o->idle_timeout, c->idle_timeout, DEFAULT_IDLE_TIMEOUT);
	limits->request_timeout =
	    pick(o->request_timeout, c->request_timeout, DEFAULT_REQUEST_TIMEOUT);
	limits->max_record = o->max_record > 0   ? (uint64_t)o->max_record
	                     : c->max_record > 0 ? (uint64_t)c->max_record
	                                         : RMT_MAX_RECORD_DEFAULT;
	*drive_wait = pick(o->drive_wait, c->drive_wait, DEFAULT_DRIVE_WAIT);
}

void options_drive_timing(const struct options *o, const struct config *c, int *hold_timeout,
                          int *stop_grace)
{
	*hold_timeout = pick(o->hold_timeout, c->hold_timeout, DEFAULT_HOLD_TIMEOUT);
	*stop_grace = pick(o->stop_grace, c->stop_grace, DRIVE_STOP_GRACE_DEFAULT);
}
