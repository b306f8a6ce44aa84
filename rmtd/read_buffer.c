/*
 * read_buffer.c - mapped record buffers and the total they are counted in.
 */
#include <errno.h>
#include <sys/mman.h>

#include "read_buffer.h"

/* Every session runs on the one loop thread: no lock. */
static uint64_t in_use;

int read_buffer_take(struct read_buffer *buffer, size_t size, uint64_t total)
{
	void *data;

	buffer->data = NULL;
	buffer->size = 0;
	if (size > total || in_use > total - size)
		return -ENOBUFS;
	/* A mapping of its own goes back to the system at once when unmapped. */
	data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (data == MAP_FAILED)
		return -ENOMEM;
	buffer->data = data;
	buffer->size = size;
	in_use += size;
	return 0;
}

void read_buffer_give(struct read_buffer *buffer)
{
	if (buffer->data == NULL)
		return;
	munmap(buffer->data, buffer->size);
	in_use -= buffer->size;
	buffer->data = NULL;
	buffer->size = 0;
}

uint64_t read_buffer_in_use(void)
{
	return in_use;
}
