/*
 * read_buffer.h - memory for large R records, counted against one total for
 * all sessions.
 *
 * A large record is read into memory of its own, taken for that request and
 * given back as soon as the client has taken the reply, so a session that
 * stops reading holds at most one record and an idle one none. Up to 16 MiB of
 * given-back buffers are kept for the next request. The sum of all, held and
 * kept, never passes the configured total: a request that would is refused
 * (ENOBUFS) before the device is touched. Safe from any thread.
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

/*
 * At least size bytes (a kept buffer, or a new mapping) if the total allows.
 * 0, -ENOBUFS (total reached) or -ENOMEM.
 */
int read_buffer_take(struct read_buffer *buffer, size_t size, uint64_t total);
/* Give back: kept for reuse, or unmapped and uncounted (nothing when none is held). */
void read_buffer_give(struct read_buffer *buffer);
/*
 * Count size bytes of a record that waits elsewhere for a client (an R in
 * rmtd's pipe) against the same total, with no memory of ours: 0 or
 * -ENOBUFS. read_buffer_uncount() when the client has it, or it is dropped.
 */
int read_buffer_count(size_t size, uint64_t total);
void read_buffer_uncount(size_t size);
/* Bytes counted now: mapped (held by sessions, and kept), and waiting elsewhere. */
uint64_t read_buffer_in_use(void);

#endif
