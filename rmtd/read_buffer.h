/*
 * read_buffer.h - memory for large R records, counted against one total for
 * all sessions.
 *
 * A large record is read into memory of its own, mapped for that request and
 * unmapped as soon as the client has taken the reply, so a session that stops
 * reading holds at most one record and an idle one none. The sum over all
 * sessions never passes the configured total: a request that would is refused
 * (ENOBUFS) before the device is touched. Loop thread only.
 */
#ifndef RMTD_READ_BUFFER_H
#define RMTD_READ_BUFFER_H

#include <stddef.h>
#include <stdint.h>

/* Records up to this size use the drive's own buffer and are not counted. */
#define READ_BUFFER_SMALL         (64 * 1024)
#define READ_BUFFER_DEFAULT_TOTAL ((uint64_t)256 * 1024 * 1024)

struct read_buffer {
	void *data; /* NULL when none is held */
	size_t size;
};

/* Map size bytes if the total allows. 0, -ENOBUFS (total reached) or -ENOMEM. */
int read_buffer_take(struct read_buffer *buffer, size_t size, uint64_t total);
/* Unmap and uncount (nothing when none is held). */
void read_buffer_give(struct read_buffer *buffer);
/* Bytes held by all sessions now. */
uint64_t read_buffer_in_use(void);

#endif
