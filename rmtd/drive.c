/*
 * drive.c - the registry of drives, exclusive use and the wait queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "drive.h"
#include "log.h"
#include "read_buffer.h"
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
	registry->hold_seconds = 0;
	registry->stop_grace = DRIVE_STOP_GRACE_DEFAULT;
}

/* The record buffer's allocation begins DRIVE_RECORD_HEADROOM bytes before it. */
static void drive_record_free(struct drive *drive)
{
	if (drive->record != NULL)
		free(drive->record - DRIVE_RECORD_HEADROOM);
	read_buffer_uncount(drive->record_counted);
	drive->record = NULL;
	drive->record_capacity = 0;
	drive->record_counted = 0;
}

/* A save (or a stop) on its way to the drive's thread. */
struct drive_save {
	struct job job;
	struct drive *drive;
	bool stop;
	struct drive_save *next; /* drive->saves */
};

static void drive_free(struct drive *drive)
{
	worker_destroy(drive->worker);
	/* At exit the thread has made its saves, but their completions never run. */
	while (drive->saves != NULL) {
		struct drive_save *save = drive->saves;

		drive->saves = save->next;
		free(save);
	}
	if (drive->has_cartridge)
		catalog_free(&drive->catalog);
	drive_record_free(drive);
	pthread_mutex_destroy(&drive->view_lock);
	free(drive);
}

static bool drive_unused(const struct drive *drive)
{
	return drive->holder == NULL && TAILQ_EMPTY(&drive->waiters) && !drive->device_open &&
	       !worker_busy(drive->worker);
}

/*
 * Nobody needs the drive any more: its thread, descriptors and record buffer
 * go. Declared drives stay, and so do the most recently used drives of names
 * that were opened, for the operator's list; the rest is freed.
 */
static void drive_forget_if_unused(struct drive_registry *registry, struct drive *drive)
{
	struct drive *oldest = NULL, *each;
	int remembered = 0;

	if (!drive_unused(drive))
		return;
	worker_destroy(drive->worker);
	drive->worker = NULL;
	drive_record_free(drive);
	if (drive->declared)
		return;
	if (!drive->opened) {
		TAILQ_REMOVE(&registry->drives, drive, entry);
		drive_free(drive);
		return;
	}
	/* The list runs from the least to the most recently taken. */
	TAILQ_FOREACH (each, &registry->drives, entry) {
		if (each->declared || !drive_unused(each))
			continue;
		if (oldest == NULL)
			oldest = each;
		remembered++;
	}
	if (remembered > DRIVE_IDLE_REMEMBERED) {
		TAILQ_REMOVE(&registry->drives, oldest, entry);
		drive_free(oldest);
	}
}

void drive_registry_free(struct drive_registry *registry)
{
	struct drive *drive;

	while ((drive = TAILQ_FIRST(&registry->drives)) != NULL) {
		TAILQ_REMOVE(&registry->drives, drive, entry);
		if (worker_busy(drive->worker) && !(drive->saves_out > 0 && !drive->abandoned)) {
			/* Joining a thread stuck in the device would hang the exit: leave it. */
			log_warnx("drive %s abandoned: a device call on it has not returned",
			          drive->name);
			worker_abandon(drive->worker);
			continue;
		}
		drive_free(drive);
	}
}

struct drive *drive_find(struct drive_registry *registry, const char *name)
{
	struct drive *drive;

	TAILQ_FOREACH (drive, &registry->drives, entry) {
		if (strcmp(drive->name, name) == 0)
			return drive;
	}
	return NULL;
}

size_t drive_count_known(const struct drive_registry *registry)
{
	const struct drive *drive;
	size_t count = 0;

	TAILQ_FOREACH (drive, &registry->drives, entry)
		count++;
	return count;
}

struct drive *drive_lookup(struct drive_registry *registry, const char *name, enum device_kind kind,
                           bool declared)
{
	struct drive *drive = drive_find(registry, name);

	if (drive != NULL) {
		drive->declared |= declared;
		return drive;
	}
	drive = calloc(1, sizeof(*drive));
	if (drive == NULL)
		return NULL;
	strlcpy(drive->name, name, sizeof(drive->name));
	drive->registry = registry;
	drive->kind = kind;
	drive->declared = declared;
	drive->device.fd = -1;
	counters_init(&drive->since_start, COUNTERS_DRIVE, name);
	pthread_mutex_init(&drive->view_lock, NULL);
	TAILQ_INIT(&drive->waiters);
	TAILQ_INSERT_TAIL(&registry->drives, drive, entry);
	return drive;
}

static int drive_take(struct drive_registry *registry, struct drive *drive, void *holder)
{
	if (registry->threaded && drive->worker == NULL) {
		int error = 0;

		drive->worker = worker_create(registry->base, &error);
		if (drive->worker == NULL)
			return -error;
	}
	drive->holder = holder;
	drive->abandoned = false;
	/* Most recently taken last: the oldest idle drive is the first to be forgotten. */
	TAILQ_REMOVE(&registry->drives, drive, entry);
	TAILQ_INSERT_TAIL(&registry->drives, drive, entry);
	drive->sessions++;
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
	if (drive->holder == NULL && TAILQ_EMPTY(&drive->waiters)) {
		int error = drive_take(registry, drive, holder);

		if (error < 0)
			drive_forget_if_unused(registry, drive);
		return error;
	}
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

	TAILQ_FOREACH (waiter, &drive->waiters, entry) {
		if (waiter->holder == holder) {
			TAILQ_REMOVE(&drive->waiters, waiter, entry);
			drive->waiter_count--;
			event_free(waiter->timeout);
			free(waiter);
			drive_forget_if_unused(registry, drive);
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
	if (drive->record_capacity > RECORD_KEEP_MAX)
		drive_record_free(drive);
	while ((waiter = TAILQ_FIRST(&drive->waiters)) != NULL) {
		int error;

		TAILQ_REMOVE(&drive->waiters, waiter, entry);
		drive->waiter_count--;
		event_free(waiter->timeout);
		error = drive_take(registry, drive, waiter->holder);
		waiter->acquired(drive, error, waiter->arg);
		free(waiter);
		if (error == 0)
			return;
	}
	drive_forget_if_unused(registry, drive);
}

/* What the view shows, read from the drive itself. */
static void drive_view_live(const struct drive *drive, struct drive_view *view)
{
	view->device_open = drive->device_open;
	view->moved = drive->since_start.totals;
	if (drive->has_cartridge && drive->catalog.cartridge != NULL)
		strlcpy(view->cartridge, drive->catalog.cartridge, sizeof(view->cartridge));
	else
		view->cartridge[0] = '\0';
}

void drive_publish_locked(struct drive *drive)
{
	drive_view_live(drive, &drive->view);
}

void drive_view(struct drive *drive, struct drive_view *view)
{
	if (!drive->served) {
		drive_view_live(drive, view);
		return;
	}
	pthread_mutex_lock(&drive->view_lock);
	*view = drive->view;
	pthread_mutex_unlock(&drive->view_lock);
}

uint8_t *drive_record_buffer(struct drive *drive, size_t size, uint64_t total)
{
	uint8_t *grown;
	size_t more = 0;

	if (size <= drive->record_capacity)
		return drive->record;
	/* Grow in steps so that a client alternating sizes does not reallocate each time. */
	if (size < 64 * 1024)
		size = 64 * 1024;
	/* A large W record in every session would otherwise pass any total. */
	if (size > READ_BUFFER_SMALL) {
		more = size - drive->record_counted;
		if (read_buffer_count(more, total) < 0) {
			errno = ENOBUFS;
			return NULL;
		}
	}
	grown = realloc(drive->record != NULL ? drive->record - DRIVE_RECORD_HEADROOM : NULL,
	                size + DRIVE_RECORD_HEADROOM);
	if (grown == NULL) {
		read_buffer_uncount(more);
		errno = ENOMEM;
		return NULL;
	}
	drive->record = grown + DRIVE_RECORD_HEADROOM;
	drive->record_capacity = size;
	drive->record_counted += more;
	return drive->record;
}

size_t drive_record_headroom(const struct drive *drive, const void *buffer)
{
	return buffer != NULL && buffer == drive->record ? DRIVE_RECORD_HEADROOM : 0;
}

/* ---------------------------------------------------------------- accounting */

void drive_accounting_cartridge(struct drive *drive, const char *cartridge)
{
	if (drive->state_directory[0] == '\0' || drive->has_cartridge)
		return;
	if (counters_load(drive->state_directory, COUNTERS_CARTRIDGE, cartridge,
	                  &drive->cartridge_counters) < 0)
		counters_init(&drive->cartridge_counters, COUNTERS_CARTRIDGE, cartridge);
	if (catalog_load(drive->state_directory, cartridge, &drive->catalog) < 0 &&
	    catalog_init(&drive->catalog, cartridge) < 0) {
		log_warnx("%s: no catalog for cartridge %s", drive->name, cartridge);
		return;
	}
	drive->has_cartridge = true;
}

static void drive_save_now(struct drive *drive);

/* call on the drive's thread, after the calls queued there; done on the loop after. */
static void drive_call_on_thread(struct drive *drive, struct job *job, void (*call)(struct job *),
                                 void (*done)(struct job *, void *), void *arg)
{
	job->kind = JOB_CALL;
	job->device = &drive->device;
	job->call = call;
	job->done = done;
	job->arg = arg;
	worker_submit(drive->worker, job);
}

/* A cartridge a library took out of the open drive, with what is left to save of it. */
struct drive_retired {
	struct job job;
	struct drive *drive;
	char state_directory[PATH_MAX];
	struct counters drive_counters, cartridge_counters;
	struct catalog catalog;
};

/* One line for a state file not saved (error < 0): which drive, what, where and why. */
static void drive_save_check(const struct drive *drive, const char *state_directory,
                             const char *what, const char *cartridge, int error)
{
	if (error < 0)
		log_warnx("%s: cannot save %s%s%s in %s: %s", drive->name, what,
		          cartridge != NULL ? " of cartridge " : "",
		          cartridge != NULL ? cartridge : "", state_directory, strerror(-error));
}

/* On the drive's thread (inline without one): the last save of the cartridge that left. */
static void drive_retired_save(struct job *job)
{
	struct drive_retired *r = job->arg;
	const char *cartridge = r->cartridge_counters.name;

	drive_save_check(r->drive, r->state_directory, "the drive's counters", NULL,
	                 counters_save(r->state_directory, &r->drive_counters));
	drive_save_check(r->drive, r->state_directory, "the counters", cartridge,
	                 counters_save(r->state_directory, &r->cartridge_counters));
	drive_save_check(r->drive, r->state_directory, "the catalog", cartridge,
	                 catalog_save(r->state_directory, &r->catalog));
	catalog_free(&r->catalog);
}

static void drive_retired_done(struct job *job, void *arg)
{
	struct drive *drive = ((struct drive_retired *)arg)->drive;

	free(arg);
	drive_forget_if_unused(drive->registry, drive);
}

bool drive_accounting_follow(struct drive *drive, const char *cartridge)
{
	struct drive_retired *r;

	if (drive->state_directory[0] == '\0' || cartridge == NULL ||
	    (drive->has_cartridge && strcmp(drive->cartridge_counters.name, cartridge) == 0))
		return true;
	/* A save on the drive's thread still uses the catalog: switch at a later reply. */
	if (!drive->served && drive->saves_out > 0)
		return false;
	if (drive->has_cartridge) {
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			/* Out of memory: saved here rather than counted to the wrong cartridge. */
			drive_save_now(drive);
			catalog_free(&drive->catalog);
			drive->has_cartridge = false;
			drive_accounting_cartridge(drive, cartridge);
			return true;
		}
		/* The old cartridge's save fsyncs: it goes to the drive's thread with its data. */
		r->drive = drive;
		strlcpy(r->state_directory, drive->state_directory, sizeof(r->state_directory));
		r->drive_counters = drive->counters;
		r->cartridge_counters = drive->cartridge_counters;
		r->catalog = drive->catalog;
		memset(&drive->catalog, 0, sizeof(drive->catalog));
		drive->has_cartridge = false;
		drive_call_on_thread(drive, &r->job, drive_retired_save, drive_retired_done, r);
	}
	drive_accounting_cartridge(drive, cartridge);
	return true;
}

void drive_accounting_start(struct drive *drive, const char *state_directory, const char *cartridge)
{
	struct counters_delta mount = {.mounts = 1};

	if (state_directory != NULL && state_directory[0] != '\0') {
		strlcpy(drive->state_directory, state_directory, sizeof(drive->state_directory));
		if (counters_load(state_directory, COUNTERS_DRIVE, drive->name, &drive->counters) <
		    0)
			counters_init(&drive->counters, COUNTERS_DRIVE, drive->name);
		if (cartridge != NULL)
			drive_accounting_cartridge(drive, cartridge);
	}
	drive_count(drive, &mount);
}

void drive_count(struct drive *drive, const struct counters_delta *delta)
{
	time_t now = time(NULL);

	counters_add(&drive->since_start, delta, now);
	if (drive->state_directory[0] == '\0')
		return;
	counters_add(&drive->counters, delta, now);
	if (drive->has_cartridge)
		counters_add(&drive->cartridge_counters, delta, now);
}

static void drive_save_now(struct drive *drive)
{
	if (drive->state_directory[0] == '\0')
		return;
	drive_save_check(drive, drive->state_directory, "the drive's counters", NULL,
	                 counters_save(drive->state_directory, &drive->counters));
	if (!drive->has_cartridge)
		return;
	drive_save_check(drive, drive->state_directory, "the counters",
	                 drive->cartridge_counters.name,
	                 counters_save(drive->state_directory, &drive->cartridge_counters));
	drive_save_check(drive, drive->state_directory, "the catalog",
	                 drive->cartridge_counters.name,
	                 catalog_save(drive->state_directory, &drive->catalog));
}

/* The cartridge's state is saved: the drive lets it go. */
static void drive_forget_cartridge(struct drive *drive)
{
	if (drive->has_cartridge)
		catalog_free(&drive->catalog);
	drive->has_cartridge = false;
	drive->state_directory[0] = '\0';
}

static void drive_stop_now(struct drive *drive)
{
	if (drive->state_directory[0] == '\0')
		return;
	drive_save_now(drive);
	drive_forget_cartridge(drive);
}

/*
 * On the drive's thread: the save only. A stop lets the cartridge go in
 * drive_save_done, on the loop, which reads it meanwhile (rmtctl status).
 */
static void drive_save_call(struct job *job)
{
	drive_save_now(((struct drive_save *)job->arg)->drive);
}

/* On the loop: the save is done; a stop lets the cartridge go; an unused drive can go. */
static void drive_save_done(struct job *job, void *arg)
{
	struct drive_save *save = arg;
	struct drive *drive = save->drive;

	(void)job;
	drive->saves_out--;
	for (struct drive_save **at = &drive->saves; *at != NULL; at = &(*at)->next)
		if (*at == save) {
			*at = save->next;
			break;
		}
	if (save->stop)
		drive_forget_cartridge(drive);
	free(save);
	drive_forget_if_unused(drive->registry, drive);
}

/*
 * Run a save (or a stop) on the drive's thread. Inline where there is none
 * (stdio: no event loop to hold up), and when the caller is that thread (the
 * holder is served there; saves_out is the loop's then, and not looked at).
 * Saves queue behind each other and behind the call in flight, never beside
 * one on the loop: a filemark's save then a close's stop, in quick succession,
 * run one after the other there, and a later open's completion comes after
 * the stop's.
 */
static void drive_save_on_thread(struct drive *drive, bool stop)
{
	struct drive_save *save;

	if (drive->served || drive->worker == NULL || (save = calloc(1, sizeof(*save))) == NULL) {
		/* (Out of memory: saved here rather than lost.) */
		if (stop)
			drive_stop_now(drive);
		else
			drive_save_now(drive);
		return;
	}
	save->drive = drive;
	save->stop = stop;
	save->next = drive->saves;
	drive->saves = save;
	drive->saves_out++;
	drive_call_on_thread(drive, &save->job, drive_save_call, drive_save_done, save);
}

void drive_accounting_save(struct drive *drive)
{
	if (drive->state_directory[0] != '\0')
		drive_save_on_thread(drive, false);
}

void drive_accounting_stop(struct drive *drive)
{
	if (drive->state_directory[0] != '\0')
		drive_save_on_thread(drive, true);
}
