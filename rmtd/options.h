/*
 * options.h - rmtd's command line, and how it combines with rmtd.conf.
 *
 * The configuration file (-f, or /etc/rmtd.conf when it exists and rmtd is not
 * in stdio mode) comes first;
 * what the command line says goes on top: --allow and --drive add spools and
 * drives, --listen adds listeners, and a limit given on the command line wins
 * over the file's.
 */
#ifndef RMTD_OPTIONS_H
#define RMTD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "server.h"
#include "path.h"

#define OPTIONS_LISTEN_MAX 16

enum mode {
	MODE_DAEMON, /* TCP listeners (--listen, rmtd.conf, systemd sockets, or loopback) */
	MODE_STDIO,  /* rsh/ssh: one client on stdin/stdout */
	MODE_INETD,  /* inetd: one accepted socket on stdin */
};

struct options {
	enum mode mode;
	bool foreground; /* -d */
	int verbosity;
	bool check_only; /* -n */
	int ignored_arguments;
	const char *config_file; /* -f, or NULL for the default if it exists */
	const char *allowed[PATH_ALLOWED_MAX];
	int allowed_count;
	const char *drives[PATH_ALLOWED_MAX]; /* NAME=DEVICE */
	int drive_count;
	const char *listen[OPTIONS_LISTEN_MAX];
	int listen_count;
	/* -1: not given on the command line */
	int64_t max_record;
	int drive_wait;
	int max_sessions;
	int max_per_peer;
	int idle_timeout;
	int request_timeout;
	int hold_timeout;
	int stop_grace;
	/* operations: the control socket and the status files */
	const char *control_socket; /* "" (--control none): no socket */
	int control_mode;
	const char *control_group;
	const char *status_directory;
	int status_interval;
	const char *state_directory;
	bool sync_records; /* --sync */
};

/* Parse argv; usage errors exit 64, --help and --version exit 0. */
void options_parse(int argc, char **argv, struct options *options);

/*
 * The configuration in force: the file (or none), then the command line on top.
 * NULL with error ("file:line: message") when it does not hold together.
 */
struct config *options_configure(const struct options *options, char *error, size_t size);
/* The same with the configuration file already open (config_fd, closed here). */
struct config *options_configure_from(const struct options *options, int config_fd, char *error,
                                      size_t size);
/*
 * The configuration file in force: -f, else /etc/rmtd.conf when it exists,
 * except in stdio mode, which reads a file only when -f names one. NULL: none.
 */
const char *options_config_file(const struct options *options);

/* The limits in force: the command line's, else the file's, else the defaults. */
void options_limits(const struct options *options, const struct config *config,
                    struct server_limits *limits, int *drive_wait);
/* The same for the drives: the hold timeout (0: none) and the stop grace, in seconds. */
void options_drive_timing(const struct options *options, const struct config *config,
                          int *hold_timeout, int *stop_grace);

#endif
