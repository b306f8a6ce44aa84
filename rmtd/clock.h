/*
 * clock.h - milliseconds on the monotonic clock, for deadlines and rates
 * (server and client alike: the wall clock may jump).
 */
#ifndef RMTD_CLOCK_H
#define RMTD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

#endif
