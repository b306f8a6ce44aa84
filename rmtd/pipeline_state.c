/*
 * pipeline_state.c - a session's pipelining agreement (pipeline_state.h).
 * Pure state: session.c asks it what to do with each request.
 */
#include "pipeline_state.h"
#include "backend.h"

unsigned int pipeline_negotiate(struct pipeline_state *state, int wanted)
{
	state->granted = wanted > 0 ? (unsigned int)wanted & RMT_PIPELINE_SUPPORTED : 0;
	state->discarding = false;
	state->discarded = 0;
	state->reads_stopped = false;
	return state->granted;
}

bool pipeline_discards_write(struct pipeline_state *state)
{
	if (!state->discarding)
		return false;
	state->discarded++;
	return true;
}

void pipeline_write_failed(struct pipeline_state *state)
{
	if (state->granted & RMT_PIPELINE_DISCARD)
		state->discarding = true;
}

bool pipeline_discards_read(const struct pipeline_state *state)
{
	return state->reads_stopped;
}

void pipeline_read_stopped(struct pipeline_state *state)
{
	if (state->granted & RMT_PIPELINE_READ)
		state->reads_stopped = true;
}

uint64_t pipeline_other_request(struct pipeline_state *state, bool is_read)
{
	uint64_t discarded = state->discarded;

	if (!is_read)
		state->reads_stopped = false;
	state->discarding = false;
	state->discarded = 0;
	return discarded;
}

int64_t pipeline_room(struct device *device)
{
	if (device->ops->room != NULL)
		return device->ops->room(device);
	/* A file has no early warning; a tape drive that cannot say must be met one record at a
	 * time. */
	return device->is_tape ? -2 : -1;
}
