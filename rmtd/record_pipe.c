/*
 * record_pipe.c - a pipe of rmtd's own that holds one W record (see record_pipe.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>

#include "record_pipe.h"

/* A page: splice moves the client's pipe buffers whole, each at most a page. */
#define PIPE_PAGE 4096

void record_pipe_init(struct record_pipe *p)
{
	p->read_fd = -1;
	p->write_fd = -1;
	p->capacity = 0;
	p->refused = 0;
}

void record_pipe_close(struct record_pipe *p)
{
	if (p->read_fd >= 0)
		close(p->read_fd);
	if (p->write_fd >= 0)
		close(p->write_fd);
	p->read_fd = -1;
	p->write_fd = -1;
	p->capacity = 0;
}

void record_pipe_discard(struct record_pipe *p)
{
	/* Closing is the one way to empty a pipe without reading it. */
	record_pipe_close(p);
}

size_t record_pipe_size_for(size_t length)
{
	return length > SIZE_MAX - 2 * PIPE_PAGE ? SIZE_MAX : length + 2 * PIPE_PAGE;
}

int record_pipe_ready(struct record_pipe *p, size_t want)
{
	int fds[2], size;

	if (want > INT_MAX || (p->refused > 0 && want >= p->refused))
		return -EMSGSIZE;
	if (p->read_fd < 0) {
		if (pipe2(fds, O_CLOEXEC) < 0)
			return -errno;
		p->read_fd = fds[0];
		p->write_fd = fds[1];
		p->capacity = 0;
	}
	if (want <= p->capacity)
		return 0;
	size = fcntl(p->write_fd, F_SETPIPE_SZ, (int)want);
	if (size < 0) {
		int error = errno;

		/* Above pipe-max-size (EPERM) or the user's pipe pages (EPERM): copy instead. */
		if (p->refused == 0 || want < p->refused)
			p->refused = want;
		return error == EPERM || error == EINVAL || error == ENOMEM ? -EMSGSIZE : -error;
	}
	p->capacity = (size_t)size;
	return 0;
}

int record_pipe_drain(struct record_pipe *p, void *buffer, size_t length)
{
	uint8_t *at = buffer;

	while (length > 0) {
		ssize_t n = read(p->read_fd, at, length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		at += n;
		length -= (size_t)n;
	}
	return 0;
}
