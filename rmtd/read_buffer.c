/*
 * read_buffer.c - mapped record buffers, the total they are counted in, and a
 * few kept for the next request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "read_buffer.h"

/*
 * A session streaming large records gives its buffer back after each reply and
 * takes one again for the next request: a few given-back mappings are kept
 * (counted in the total) so that the next take finds its pages already there.
 */
#define KEPT_MAX       2
#define KEPT_BYTES_MAX ((size_t)16 * 1024 * 1024)

/* Sessions run on the loop and on drives' threads: one lock, held for a few lines. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t in_use; /* mapped (held by sessions, and kept), and counted elsewhere */
static struct read_buffer kept[KEPT_MAX];
static int kept_count;
static size_t kept_bytes;

/* Sizes in steps (powers of two, then whole pages), so that a kept mapping fits again. */
static size_t mapping_size(size_t size)
{
	size_t step = 4096;

	while (step < size && step <= ((size_t)1 << 30))
		step <<= 1;
	if (step >= size)
		return step;
	return size > SIZE_MAX - 4095 ? size : (size + 4095) & ~(size_t)4095;
}

static void unmap_kept(int i)
{
	munmap(kept[i].data, kept[i].size);
	in_use -= kept[i].size;
	kept_bytes -= kept[i].size;
	kept[i] = kept[--kept_count];
}

static bool fits(size_t size, uint64_t total)
{
	return size <= total && in_use <= total - size;
}

static int take_locked(struct read_buffer *buffer, size_t size, uint64_t total)
{
	size_t length = mapping_size(size);
	void *data;

	buffer->data = NULL;
	buffer->size = 0;
	for (int i = 0; i < kept_count; i++) {
		if (kept[i].size == length) {
			*buffer = kept[i];
			kept_bytes -= length;
			kept[i] = kept[--kept_count];
			return 0;
		}
	}
	/* Kept mappings of other sizes give way to a request that needs the room. */
	while (kept_count > 0 && !fits(length, total))
		unmap_kept(kept_count - 1);
	if (!fits(length, total))
		return -ENOBUFS;
	data = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (data == MAP_FAILED)
		return -ENOMEM;
	buffer->data = data;
	buffer->size = length;
	in_use += length;
	return 0;
}

int read_buffer_take(struct read_buffer *buffer, size_t size, uint64_t total)
{
	int rc;

	pthread_mutex_lock(&lock);
	rc = take_locked(buffer, size, total);
	pthread_mutex_unlock(&lock);
	return rc;
}

void read_buffer_give(struct read_buffer *buffer)
{
	if (buffer->data == NULL)
		return;
	pthread_mutex_lock(&lock);
	if (buffer->size <= KEPT_BYTES_MAX) {
		/* The latest is the likeliest to be asked for again: others make way. */
		while (kept_count == KEPT_MAX || kept_bytes + buffer->size > KEPT_BYTES_MAX)
			unmap_kept(0);
		kept[kept_count++] = *buffer;
		kept_bytes += buffer->size;
	} else {
		munmap(buffer->data, buffer->size);
		in_use -= buffer->size;
	}
	pthread_mutex_unlock(&lock);
	buffer->data = NULL;
	buffer->size = 0;
}

int read_buffer_count(size_t size, uint64_t total)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	while (kept_count > 0 && !fits(size, total))
		unmap_kept(kept_count - 1);
	if (fits(size, total))
		in_use += size;
	else
		rc = -ENOBUFS;
	pthread_mutex_unlock(&lock);
	return rc;
}

void read_buffer_uncount(size_t size)
{
	pthread_mutex_lock(&lock);
	in_use -= size;
	pthread_mutex_unlock(&lock);
}

uint64_t read_buffer_in_use(void)
{
	uint64_t bytes;

	pthread_mutex_lock(&lock);
	bytes = in_use;
	pthread_mutex_unlock(&lock);
	return bytes;
}
