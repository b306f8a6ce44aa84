/*
 * record_pipe.h - a pipe of rmtd's own that holds one W record while it arrives.
 *
 * A large record from a pipe goes into the device without passing through
 * memory: splice(2) moves the client's pipe pages into this pipe, and only when
 * the whole record is here does the backend move them on to the device
 * (backend.h, write_from_pipe). A crash while the record arrives leaves nothing
 * of it behind, as with a record collected in memory.
 *
 * The pipe is made large enough for the record with F_SETPIPE_SZ, up to what the
 * system allows an unprivileged process (/proc/sys/fs/pipe-max-size); a record
 * it cannot hold is collected in memory instead.
 */
#ifndef RMTD_RECORD_PIPE_H
#define RMTD_RECORD_PIPE_H

#include <stddef.h>

struct record_pipe {
	int read_fd, write_fd; /* -1 until first needed */
	size_t capacity;       /* what F_SETPIPE_SZ gave */
	size_t refused;        /* the smallest size F_SETPIPE_SZ refused, 0: none yet */
};

void record_pipe_init(struct record_pipe *pipe);
/*
 * The size of pipe that takes length bytes spliced from another pipe: its
 * pages may be partly filled, the first and the last.
 */
size_t record_pipe_size_for(size_t length);
/*
 * Make the pipe, empty, at least size bytes large. 0, or -errno (-EMSGSIZE:
 * larger than this system lets a pipe be).
 */
int record_pipe_ready(struct record_pipe *pipe, size_t size);
/* Read back length bytes the pipe holds (a record that must be copied after all). */
int record_pipe_drain(struct record_pipe *pipe, void *buffer, size_t length);
/* Throw away whatever the pipe holds (a record cut short, or not written). */
void record_pipe_discard(struct record_pipe *pipe);
void record_pipe_close(struct record_pipe *pipe);

#endif
