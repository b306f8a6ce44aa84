/*
 * control.h - the control socket behind rmtctl: a Unix-domain stream socket on
 * the daemon's event loop (its one-line protocol: control_proto.h).
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

#include "control_proto.h"

struct event_base;
struct status_monitor;

#define CONTROL_MODE_DEFAULT 0660
/* The most replies being prepared or sent at once; more connections are refused. */
#define CONTROL_CONNECTIONS_MAX 16
/* Seconds a control client may take to send its request or read its reply. */
#define CONTROL_TIMEOUT 10

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

#endif
