/*
 * control.h - the control socket behind rmtctl: a Unix-domain stream socket on
 * the daemon's event loop, and its one-line protocol.
 *
 * A client connects, sends one request line (at most CONTROL_REQUEST_MAX bytes
 * with the '\n'), and gets one reply, after which the daemon closes:
 *
 *   request:  COMMAND [--json] [ARGUMENT]\n
 *             status | session ID | drives | kill ID | catalog [NAME] |
 *             release DRIVE | metrics | help
 *             ARGUMENT is the rest of the line, %XX-decoded (so a name may hold
 *             any byte; clients encode '%', blanks at the ends, a leading '-',
 *             control and non-ASCII bytes).
 *   reply:    "OK <length>\n" and exactly <length> bytes of text or JSON (metrics:
 *             Prometheus text, metrics.h), or
 *             "ERR <code> <message>\n" with code usage, notfound, denied,
 *             unavailable, toolong, busy or internal.
 *
 * Who may connect: the socket file's mode and group (options) decide who can
 * open it; the daemon then checks SO_PEERCRED and accepts only root, its own
 * user, and members of the socket's group (primary or supplementary).
 *
 * The loop never waits: requests are parsed and answered from memory, and a
 * catalog, which is read from disk, is loaded on a short-lived thread.
 */
#ifndef RMTD_CONTROL_H
#define RMTD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct status_monitor;

#define CONTROL_REQUEST_MAX  4096
#define CONTROL_NAME_MAX     1024
#define CONTROL_MODE_DEFAULT 0660
/* The most replies being prepared or sent at once; more connections are refused. */
#define CONTROL_CONNECTIONS_MAX 16
/* Seconds a control client may take to send its request or read its reply. */
#define CONTROL_TIMEOUT 10

enum control_command {
	CONTROL_STATUS,
	CONTROL_SESSION,
	CONTROL_DRIVES,
	CONTROL_KILL,
	CONTROL_CATALOG,
	CONTROL_METRICS,
	CONTROL_HELP,
	CONTROL_RELEASE,
};

struct control_request {
	enum control_command command;
	bool json;
	unsigned session;            /* session and kill */
	bool has_name;               /* catalog NAME, release DRIVE */
	char name[CONTROL_NAME_MAX]; /* decoded; may hold any byte but NUL */
};

/* Error codes of "ERR <code> <message>". */
#define CONTROL_ERR_USAGE       "usage"
#define CONTROL_ERR_NOTFOUND    "notfound"
#define CONTROL_ERR_DENIED      "denied"
#define CONTROL_ERR_UNAVAILABLE "unavailable"
#define CONTROL_ERR_TOOLONG     "toolong"
#define CONTROL_ERR_BUSY        "busy"
#define CONTROL_ERR_INTERNAL    "internal"

/*
 * Parse one request line (without its '\n'; a trailing '\r' is ignored).
 * Returns 0, or -EINVAL with *error set to a short text for the client.
 */
int control_parse_request(const char *line, size_t length, struct control_request *out,
                          const char **error);

/*
 * Encode a name as a request ARGUMENT into out (NUL-terminated): '%', blanks
 * at the ends, a leading '-', control and non-ASCII bytes become %XX. Returns
 * the length, or -ENAMETOOLONG.
 */
int control_encode_argument(const char *name, char *out, size_t size);

struct control_reply {
	bool ok;
	size_t length;        /* OK: body bytes that follow the header */
	char code[16];        /* ERR: the code */
	char message[256];    /* ERR: the message */
	size_t header_length; /* bytes of the header line, '\n' included */
};

/*
 * Parse the reply header at the start of data. Returns 1 when a whole header
 * was parsed, 0 when more bytes are needed, -EPROTO when it is not a reply.
 */
int control_parse_reply(const char *data, size_t length, struct control_reply *out);

struct control_options {
	const char *path;            /* socket path */
	mode_t mode;                 /* socket file mode, e.g. 0660 */
	gid_t group;                 /* socket file group; (gid_t)-1: the daemon's */
	const char *state_directory; /* catalogs and counters; NULL: none */
	uid_t owner; /* the user the daemon runs as later, who removes the socket at exit */
};

struct control;

/*
 * Create the socket (replacing a stale one, refusing a live one or any other
 * file), set its mode and group, and serve it on base. A directory it makes
 * for the socket belongs to options->owner, so that the socket can still be
 * removed after privileges are dropped. NULL on error (logged).
 */
struct control *control_create(struct event_base *base, struct status_monitor *monitor,
                               const struct control_options *options);
/* Stop serving and remove the socket file. */
void control_free(struct control *control);

/*
 * Build the reply body of a catalog request (blocking file I/O: runs on a
 * thread in the daemon). candidates are the cartridge names to try in order
 * (the name given, then the drive's names); count 0 lists every catalog.
 * Returns 0 with *body malloc'd, or -ENOENT (no such catalog), -errno.
 */
int control_catalog_body(const char *state_directory, const char *const *candidates, size_t count,
                         bool json, char **body, size_t *length);

struct status_drive;

/*
 * The drives reply with each drive's persistent counters from the state
 * directory (blocking file I/O: runs on a thread in the daemon). Returns 0 with
 * *body malloc'd, or -errno.
 */
int control_drives_body(const char *state_directory, struct status_drive *drives, size_t count,
                        bool json, char **body, size_t *length);

#endif
