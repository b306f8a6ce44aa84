/*
 * remote_name.h - librmt's remote device names: [user@]host:path,
 * rmt://[user@]host[:port]/path (rmts:// for TLS) and exec:COMMAND:path. Pure: no I/O.
 */
#ifndef LIBRMT_REMOTE_NAME_H
#define LIBRMT_REMOTE_NAME_H

#include <limits.h>
#include <stdbool.h>

#include "rmt/rmt.h"

#define REMOTE_USER_MAX    64
#define REMOTE_HOST_MAX    256
#define REMOTE_COMMAND_MAX 4096

struct remote_name {
	enum rmt_transport transport;     /* RSH, TCP or COMMAND */
	char user[REMOTE_USER_MAX];       /* "" when the name has none */
	char host[REMOTE_HOST_MAX];       /* "" for COMMAND; an IPv6 literal without brackets */
	unsigned int port;                /* 0 when the name has none */
	char command[REMOTE_COMMAND_MAX]; /* COMMAND only */
	char path[PATH_MAX];              /* what O sends */
};

/* The GNU rule: the name has a ':' that is not first and no '/' before it. */
bool remote_name_is_host_form(const char *name);

/* True for every form remote_name_parse accepts (it may still refuse details). */
bool remote_name_is_remote(const char *name);

/*
 * Split name. Returns 0, or -EINVAL for a name that is not remote or is
 * malformed (empty host or path, a user or host starting with '-', blanks or
 * control characters in them, a newline in the path, a bad port), or
 * -ENAMETOOLONG.
 */
int remote_name_parse(const char *name, struct remote_name *out);

/* A user name safe to put on a command line: [A-Za-z0-9._-], not starting with '-'. */
bool remote_name_valid_user(const char *user);

#endif
