/*
 * fuzz_common.h - what the fuzz targets' harnesses share: REQUIRE, an invariant
 * that aborts with its line when it breaks (so libFuzzer keeps the input as a
 * crash), and an input read field by field.
 */
#ifndef RMTD_FUZZ_COMMON_H
#define RMTD_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "invariant broken at line %d: %s\n", __LINE__, #cond);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The bytes of an input not read yet. */
struct input {
	const uint8_t *p;
	size_t left;
};

/* The next bytes (up to 4) as a little-endian number; 0 for those past the end. */
static inline unsigned take(struct input *in, unsigned bytes)
{
	unsigned v = 0;

	for (unsigned i = 0; i < bytes && in->left > 0; i++, in->left--)
		v |= (unsigned)*in->p++ << (8 * i);
	return v;
}

#endif
