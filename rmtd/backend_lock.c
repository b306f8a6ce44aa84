/*
 * backend_lock.c - one process at a time on a virtual tape or a plain file.
 *
 * A real drive is held by the one process that has it open; for images and
 * files an flock(2) on the open descriptor stands for that, between rmtd
 * processes (each rsh or ssh call is one) and against a daemon.
 */
#include <errno.h>
#include <sys/file.h>
#include <time.h>

#include "backend.h"

/* How long an open waits for another process to let go: 2 s. */
#define LOCK_TRIES    100
#define LOCK_PAUSE_NS (20 * 1000 * 1000)

/*
 * The process that had it may still be closing it (an rsh client that quits
 * without C leaves its rmt to notice the EOF, write the filemark and exit), so
 * wait a little, as a drive becomes ready a moment after the previous user let
 * go; then EBUSY, as st gives.
 */
int backend_lock(int fd, int operation)
{
	for (int tries = 0; tries < LOCK_TRIES; tries++) {
		struct timespec pause = {0, LOCK_PAUSE_NS};

		if (flock(fd, operation | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		nanosleep(&pause, NULL);
	}
	return -EBUSY;
}
