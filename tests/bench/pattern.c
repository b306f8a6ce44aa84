/*
 * Test data for rmtbench. Every record is the same pseudo-random block with its record number
 * stamped into its first and last 8 bytes, so that writing costs two small stores per record and
 * a read-back check catches lost, repeated, reordered or corrupted records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static unsigned char *pattern_block;
static size_t pattern_size;

int pattern_init(size_t max_record)
{
	uint64_t state = 0x9e3779b97f4a7c15ull;

	if (pattern_size >= max_record)
		return 0;
	free(pattern_block);
	pattern_block = malloc(max_record);
	if (pattern_block == NULL) {
		pattern_size = 0;
		return -ENOMEM;
	}
	for (size_t i = 0; i < max_record; i++) {
		/* xorshift64: cheap, and incompressible enough that no layer can cheat */
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		pattern_block[i] = (unsigned char)(state >> 32);
	}
	pattern_size = max_record;
	return 0;
}

size_t pattern_max(void)
{
	return pattern_size;
}

void pattern_stamp(unsigned char *buf, size_t n, uint64_t record_index)
{
	uint64_t head = record_index;
	uint64_t tail = ~record_index;

	if (n >= 16) {
		memcpy(buf, &head, 8);
		memcpy(buf + n - 8, &tail, 8);
	} else {
		memcpy(buf, &head, n < 8 ? n : 8);
	}
}

void pattern_fill(unsigned char *buf, size_t n, uint64_t record_index)
{
	memcpy(buf, pattern_block, n);
	pattern_stamp(buf, n, record_index);
}

bool pattern_check(const unsigned char *buf, size_t n, uint64_t record_index)
{
	unsigned char stamps[16];
	size_t body_start = n >= 16 ? 8 : (n < 8 ? n : 8);
	size_t body_end = n >= 16 ? n - 8 : n;

	memcpy(stamps, pattern_block, 16);
	pattern_stamp(stamps, 16, record_index);
	if (memcmp(buf, stamps, body_start) != 0)
		return false;
	if (n >= 16 && memcmp(buf + n - 8, stamps + 8, 8) != 0)
		return false;
	return memcmp(buf + body_start, pattern_block + body_start, body_end - body_start) == 0;
}
