/*
 * drive.h - drives by name: who holds which, who waits, and the state the
 * operator sees.
 *
 * A drive is one device (a tape device, a virtual tape image or a file) known by
 * its canonical name. One session holds it at a time; others wait in a
 * first-come queue until it is released or their wait times out (then EBUSY).
 * A drive owns the worker thread that runs its device calls and the record
 * buffer its data passes through, so an idle session costs no record memory.
 *
 * Declared drives live as long as the daemon. A drive made for any other name
 * gives back its thread, descriptors and record buffer as soon as nobody holds
 * it, waits for it or has a call in flight on it. Its entry is kept for the
 * operator (rmtctl drives) only if its device was ever opened, and only for the
 * DRIVE_IDLE_REMEMBERED most recently used: a name costs nothing once its last
 * session is done with it.
 */
#ifndef RMTD_DRIVE_H
#define RMTD_DRIVE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "backend.h"
#include "catalog.h"
#include "counters.h"
#include "medium.h"
#include "path.h"
#include "worker.h"

struct event_base;
struct drive;
struct drive_registry;

/* Seconds a device call may hold up SIGTERM or rmtctl kill before its drive is abandoned. */
#define DRIVE_STOP_GRACE_DEFAULT 10
/* Idle drives of names (not declared) kept in the list for the operator. */
#define DRIVE_IDLE_REMEMBERED 64

/*
 * What the operator sees of a drive whose holder is served on the drive's
 * thread (serve.h): the thread publishes it after each request.
 */
struct drive_view {
	bool device_open;
	struct counters_delta moved;       /* since_start's totals */
	char cartridge[COUNTERS_NAME_MAX]; /* the catalog's cartridge, "" when none */
};

/* Called on the loop when a queued acquisition ends: error 0 (acquired) or -EBUSY. */
typedef void (*drive_acquired_fn)(struct drive *drive, int error, void *arg);

struct drive_waiter {
	TAILQ_ENTRY(drive_waiter) entry;
	void *holder;
	drive_acquired_fn acquired;
	void *arg;
	struct event *timeout;
	struct drive *drive;
	time_t since;
};
TAILQ_HEAD(drive_waiter_queue, drive_waiter);

struct drive {
	TAILQ_ENTRY(drive) entry;
	char name[PATH_MAX]; /* canonical name: its identity */
	enum device_kind kind;
	bool declared;  /* declared in the configuration (kept when idle) */
	bool abandoned; /* its holder ended while a device call had not returned */
	bool opened;    /* its device was opened at least once: worth listing when idle */

	struct device device;
	bool device_open;
	void *holder; /* the session holding it, or NULL */
	struct drive_waiter_queue waiters;
	int waiter_count;
	struct worker *worker; /* NULL: jobs run inline (stdio mode) */

	struct medium medium; /* where the tape is and what it holds, while the device is open */

	/*
	 * The record buffer, grown on demand up to the session's maximum (with
	 * headroom). Above READ_BUFFER_SMALL its size is counted against the large
	 * records' total (read_buffer.h): record_counted bytes, until it is freed.
	 */
	uint8_t *record;
	size_t record_capacity;
	size_t record_counted;

	/* Accounting, while a state directory is configured and the device is open. */
	char state_directory[PATH_MAX]; /* "" when off */
	struct counters counters;       /* this drive's, for all time */
	bool has_cartridge;
	struct counters cartridge_counters; /* the cartridge loaded */
	struct catalog catalog;             /* what is on that cartridge */

	/*
	 * Saving the counters and catalog fsyncs: with a thread, it runs there, after
	 * the call in flight and before the next, never on the event loop.
	 */
	struct drive_registry *registry;
	unsigned saves_out;       /* saves on the thread: nothing here may change meanwhile */
	struct drive_save *saves; /* those saves, freed by drive_free() if never completed */

	/* Since the daemon started, state directory or not: the metrics (metrics.h). */
	struct counters since_start;
	uint64_t sessions; /* times a session took the drive */

	/*
	 * Set on the loop while the holder is served on this drive's thread: the
	 * thread changes the fields above, so the loop reads view, under view_lock.
	 */
	bool served;
	pthread_mutex_t view_lock;
	struct drive_view view;
};

struct drive_registry {
	TAILQ_HEAD(, drive) drives;
	struct event_base *base;
	bool threaded;    /* a worker thread per drive (daemon) or inline (stdio) */
	int wait_seconds; /* how long a session waits for a busy drive; 0: EBUSY at once */
	int hold_seconds; /* an idle holder loses its drive after this long; 0: never */
	int stop_grace;   /* how long a device call may hold up an ending session */
};

void drive_registry_init(struct drive_registry *registry, struct event_base *base, bool threaded,
                         int wait_seconds);
void drive_registry_free(struct drive_registry *registry);

/*
 * Find the drive of this canonical name, creating it if new (declared: one the
 * configuration names, kept when idle). NULL on ENOMEM.
 */
struct drive *drive_lookup(struct drive_registry *registry, const char *name, enum device_kind kind,
                           bool declared);
/* The drive of this canonical name, or NULL; never creates one. */
struct drive *drive_find(struct drive_registry *registry, const char *name);
/* How many drives the registry holds now. */
size_t drive_count_known(const struct drive_registry *registry);

/*
 * Acquire for holder. Returns 0 if acquired now, 1 if queued (acquired() will be
 * called later), -EBUSY if busy and waiting is not configured, -errno otherwise
 * (-EMFILE, -ENFILE: no descriptors left for the drive's thread; -EAGAIN: no
 * thread can be started). A drive nobody uses after a failure is freed.
 */
int drive_acquire(struct drive_registry *registry, struct drive *drive, void *holder,
                  drive_acquired_fn acquired, void *arg);
/* Leave the queue without acquiring (the waiting session went away). */
void drive_cancel_wait(struct drive_registry *registry, struct drive *drive, void *holder);
/*
 * Release; the next waiter acquires it. The device must already be closed. A
 * drive left unused is freed (unless declared): the caller must forget it.
 */
void drive_release(struct drive_registry *registry, struct drive *drive, void *holder);

/*
 * The operator's view of the drive, consistent even while its holder is served
 * on its thread (loop). cartridge is copied.
 */
void drive_view(struct drive *drive, struct drive_view *view);
/* On the drive's thread, serving the holder: publish the view; view_lock is held. */
void drive_publish_locked(struct drive *drive);

/*
 * Make the record buffer at least size bytes. Returns it, or NULL with errno
 * ENOBUFS (a buffer above READ_BUFFER_SMALL would pass total, the bytes all
 * large records in memory may take) or ENOMEM. DRIVE_RECORD_HEADROOM bytes
 * before it are the buffer's too: a reply's header goes there, so that an R
 * reply leaves in one write, as its record does.
 */
#define DRIVE_RECORD_HEADROOM 32
uint8_t *drive_record_buffer(struct drive *drive, size_t size, uint64_t total);
/* The writable bytes before buffer: DRIVE_RECORD_HEADROOM for the record buffer, else 0. */
size_t drive_record_headroom(const struct drive *drive, const void *buffer);

/*
 * Persistent counters and catalog (counters.c, catalog.c). Start when the device
 * opens; cartridge may be NULL when it is not known yet (a real tape before its
 * label was read): drive_accounting_cartridge() names it later. Counting adds to
 * the drive and the cartridge; saving writes both atomically, and stopping saves
 * and lets the cartridge go. With a thread (daemon) a save or a stop runs on it
 * after this returns, before the drive's next call: the caller changes nothing
 * of the accounting until that call's completion; served on the drive's thread,
 * it runs there at once. Opens and counts also go to
 * since_start, with or without a state directory.
 */
void drive_accounting_start(struct drive *drive, const char *state_directory,
                            const char *cartridge);
void drive_accounting_cartridge(struct drive *drive, const char *cartridge);
/*
 * The cartridge changed under the open device (a library loaded another):
 * account to it; the old one's last save runs on the drive's thread. False
 * when the switch waits for a later call (a save of the old one is queued).
 */
bool drive_accounting_follow(struct drive *drive, const char *cartridge);
void drive_count(struct drive *drive, const struct counters_delta *delta);
void drive_accounting_save(struct drive *drive);
void drive_accounting_stop(struct drive *drive);

#endif
