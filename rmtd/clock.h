/*
 * clock.h - milliseconds on the monotonic clock, for deadlines and rates
 * (server and client alike: the wall clock may jump). The coarse clock: its
 * clock tick (1 to 10 ms) is finer than any deadline here, and it reads no
 * time stamp counter, which under a hypervisor's paravirtual clock cost 0.1 us
 * a call in a drive thread's per-request profile.
 */
#ifndef RMTD_CLOCK_H
#define RMTD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

#endif
