/*
 * config.h - /etc/rmtd.conf: listeners, TLS, drives, spools, identities, rules,
 * limits, and where state and control live. The grammar is in rmtd.conf(5).
 *
 * Loading never half-applies: a file with any error is reported as
 * "file:line: message" and the caller keeps what it had (SIGHUP reload).
 */
#ifndef RMTD_CONFIG_H
#define RMTD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "acl.h"
#include "library_config.h"
#include "path.h"

#define CONFIG_LISTEN_MAX   16
#define CONFIG_DEFAULT_PATH "/etc/rmtd.conf"

struct listen_spec {
	char address[128];
	bool tls;
	bool trusted_plaintext; /* plaintext allowed on a non-loopback address */
};

/* A value the file did not set is -1 (numbers) or "" (strings). */
struct config {
	int references; /* sessions keep the configuration they started with */
	char path[PATH_MAX];
	struct listen_spec listens[CONFIG_LISTEN_MAX];
	int listen_count;

	char tls_certificate[PATH_MAX];
	char tls_key[PATH_MAX];
	char tls_ca[PATH_MAX];
	char tls_crl[PATH_MAX];

	char user[64];
	char group[64];
	char state_directory[PATH_MAX];
	char control_socket[PATH_MAX];
	int control_mode;
	char control_group[64];
	char status_directory[PATH_MAX];

	int max_sessions;
	int max_sessions_per_peer;
	int idle_timeout;
	int request_timeout;
	int drive_wait;
	int hold_timeout; /* seconds an idle session may hold a drive (0: for ever) */
	int stop_grace;   /* seconds a device call may hold up SIGTERM or rmtctl kill */
	int64_t max_record;
	int64_t read_buffers; /* large R records of all sessions together, bytes */
	int sync_records;     /* "sync yes": fdatasync each record before acknowledging it */

	struct path_policy policy; /* spool directories and declared drives */
	struct access_rules rules;
	struct library_specs libraries; /* tape libraries (library_config.h) */
};

/*
 * Load and check a configuration file. Returns 0, or -1 with error holding
 * "file:line: message" (or "file: message"). The spool directories are opened;
 * config_free() closes them.
 */
int config_load(const char *path, struct config *config, char *error, size_t error_size);
/* The same with the file already open (fd is closed); path names it in messages. */
int config_load_fd(int fd, const char *path, struct config *config, char *error, size_t error_size);
/* Parse from memory (tests, fuzzing): no file checks, spools not opened. */
int config_parse(const char *name, const char *text, size_t length, struct config *config,
                 bool open_spools, char *error, size_t error_size);
void config_free(struct config *config);

/* A configuration on the heap, shared by the server and its sessions. */
struct config *config_new(void);
struct config *config_hold(struct config *config);
void config_release(struct config *config);

#endif
