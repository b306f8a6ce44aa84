/*
 * drive.c - the registry of drives, exclusive use and the wait queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "drive.h"
#include "log.h"
#include "worker.h"

/* Record buffers above this are given back when the drive is released. */
#define RECORD_KEEP_MAX (1024 * 1024)

void drive_registry_init(struct drive_registry *registry, struct event_base *base, bool threaded,
                         int wait_seconds)
{
	TAILQ_INIT(&registry->drives);
	registry->base = base;
	registry->threaded = threaded;
	registry->wait_seconds = wait_seconds;
}

static void drive_free(struct drive *drive)
{
	worker_destroy(drive->worker);
	free(drive->record);
	free(drive);
}

void drive_registry_free(struct drive_registry *registry)
{
	struct drive *drive;

	while ((drive = TAILQ_FIRST(&registry->drives)) != NULL) {
		TAILQ_REMOVE(&registry->drives, drive, entry);
		drive_free(drive);
	}
}

struct drive *drive_lookup(struct drive_registry *registry, const char *name, enum device_kind kind)
{
	struct drive *drive;

	TAILQ_FOREACH(drive, &registry->drives, entry)
	{
		if (strcmp(drive->name, name) == 0)
			return drive;
	}
	drive = calloc(1, sizeof(*drive));
	if (drive == NULL)
		return NULL;
	strlcpy(drive->name, name, sizeof(drive->name));
	drive->kind = kind;
	drive->device.fd = -1;
	TAILQ_INIT(&drive->waiters);
	TAILQ_INSERT_TAIL(&registry->drives, drive, entry);
	return drive;
}

static int drive_take(struct drive_registry *registry, struct drive *drive, void *holder)
{
	if (registry->threaded && drive->worker == NULL) {
		drive->worker = worker_create(registry->base);
		if (drive->worker == NULL)
			return -EAGAIN;
	}
	drive->holder = holder;
	return 0;
}

static void drive_wait_expired(evutil_socket_t fd, short what, void *arg)
{
	struct drive_waiter *waiter = arg;
	struct drive *drive = waiter->drive;

	TAILQ_REMOVE(&drive->waiters, waiter, entry);
	drive->waiter_count--;
	event_free(waiter->timeout);
	waiter->acquired(drive, -EBUSY, waiter->arg);
	free(waiter);
}

int drive_acquire(struct drive_registry *registry, struct drive *drive, void *holder,
                  drive_acquired_fn acquired, void *arg)
{
	struct drive_waiter *waiter;
	struct timeval tv;

	if (drive->holder == holder)
		return 0;
	if (drive->holder == NULL && TAILQ_EMPTY(&drive->waiters))
		return drive_take(registry, drive, holder);
	if (registry->wait_seconds <= 0)
		return -EBUSY;
	waiter = calloc(1, sizeof(*waiter));
	if (waiter == NULL)
		return -ENOMEM;
	waiter->holder = holder;
	waiter->acquired = acquired;
	waiter->arg = arg;
	waiter->drive = drive;
	waiter->since = time(NULL);
	waiter->timeout = evtimer_new(registry->base, drive_wait_expired, waiter);
	if (waiter->timeout == NULL) {
		free(waiter);
		return -ENOMEM;
	}
	tv.tv_sec = registry->wait_seconds;
	tv.tv_usec = 0;
	evtimer_add(waiter->timeout, &tv);
	TAILQ_INSERT_TAIL(&drive->waiters, waiter, entry);
	drive->waiter_count++;
	return 1;
}

void drive_cancel_wait(struct drive_registry *registry, struct drive *drive, void *holder)
{
	struct drive_waiter *waiter;

	TAILQ_FOREACH(waiter, &drive->waiters, entry)
	{
		if (waiter->holder == holder) {
			TAILQ_REMOVE(&drive->waiters, waiter, entry);
			drive->waiter_count--;
			event_free(waiter->timeout);
			free(waiter);
			return;
		}
	}
}

void drive_release(struct drive_registry *registry, struct drive *drive, void *holder)
{
	struct drive_waiter *waiter;

	if (drive->holder != holder)
		return;
	drive->holder = NULL;
	if (drive->record_capacity > RECORD_KEEP_MAX) {
		free(drive->record);
		drive->record = NULL;
		drive->record_capacity = 0;
	}
	while ((waiter = TAILQ_FIRST(&drive->waiters)) != NULL) {
		int error;

		TAILQ_REMOVE(&drive->waiters, waiter, entry);
		drive->waiter_count--;
		event_free(waiter->timeout);
		error = drive_take(registry, drive, waiter->holder);
		waiter->acquired(drive, error, waiter->arg);
		free(waiter);
		if (error == 0)
			break;
	}
}

uint8_t *drive_record_buffer(struct drive *drive, size_t size)
{
	uint8_t *grown;

	if (size <= drive->record_capacity)
		return drive->record;
	/* Grow in steps so that a client alternating sizes does not reallocate each time. */
	if (size < 64 * 1024)
		size = 64 * 1024;
	grown = realloc(drive->record, size);
	if (grown == NULL)
		return NULL;
	drive->record = grown;
	drive->record_capacity = size;
	return grown;
}
