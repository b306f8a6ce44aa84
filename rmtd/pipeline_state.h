/*
 * pipeline_state.h - a session's pipelining agreement with its client.
 *
 * A client that keeps several W requests in flight asks for it with I-2 (an op
 * no classic server acts on: doc/protocol.md, probes) and the flags it wants; the
 * answer A<flags> is what the server grants. With PIPELINE_DISCARD the first W
 * that fails puts the session into discarding: the W requests already sent
 * after it are read and answered ECANCELED without touching the device, until
 * the next request that is not a W. So a failed record is never followed on
 * the medium by records the client sent before it heard of the failure.
 * With PIPELINE_READ an R that meets a filemark or fails does the same for the
 * R requests after it: a client reading ahead stops where a classic one would.
 */
#ifndef RMTD_PIPELINE_STATE_H
#define RMTD_PIPELINE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "rmt/protocol.h"

struct device;

struct pipeline_state {
	unsigned int granted; /* RMT_PIPELINE_* bits agreed */
	bool discarding;      /* a W failed: drop W requests until another request */
	uint64_t discarded;   /* W requests dropped since the failure */
	bool reads_stopped;   /* an R met a filemark or failed: drop R requests */
};

/* I-2 with count wanted: the bits granted, which the reply carries. */
unsigned int pipeline_negotiate(struct pipeline_state *state, int wanted);

/* Is this W to be read and answered ECANCELED instead of written? */
bool pipeline_discards_write(struct pipeline_state *state);

/* A W was answered with an error (from the device or refused). */
void pipeline_write_failed(struct pipeline_state *state);

/* Is this R to be answered ECANCELED without touching the device? */
bool pipeline_discards_read(const struct pipeline_state *state);

/* An R was answered with a filemark (0 bytes) or an error. */
void pipeline_read_stopped(struct pipeline_state *state);

/* A request other than W arrived: the client has caught up. Returns the W
 * requests discarded before it (0 when none), for the log. is_read: an R,
 * which does not end the dropping of reads. */
uint64_t pipeline_other_request(struct pipeline_state *state, bool is_read);

/* I-3: bytes before early warning, -1 no limit, -2 the drive cannot tell. */
int64_t pipeline_room(struct device *device);

#endif
