/*
 * control_proto.h - the one-line protocol of the control socket, shared by
 * the daemon (control.c) and rmtctl.
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
 */
#ifndef RMTD_CONTROL_PROTO_H
#define RMTD_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#define CONTROL_REQUEST_MAX 4096
#define CONTROL_NAME_MAX    1024

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

#endif
