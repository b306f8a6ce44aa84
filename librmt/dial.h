/*
 * dial.h - reaching a server for rmt_open: the device name resolved under the
 * caller's options, and the connection (spawned command, TCP or TLS) made.
 * Functions return 0 or -errno.
 */
#ifndef LIBRMT_DIAL_H
#define LIBRMT_DIAL_H

#include <stddef.h>

#include "rmt/rmt.h"

struct connection;
struct remote_name;

/* The name with a forced transport: COMMAND takes the whole name as the path. */
int dial_resolve_name(const char *name, const struct rmt_options *o, struct remote_name *out);

/* Make the connection the name and options ask for; on failure, why says why in words. */
int dial_connect(struct connection *conn, struct remote_name *name, const struct rmt_options *o,
                 char *why, size_t why_size);

#endif
