/*
 * backend_fault.c - wrap a backend and fail its calls on schedule (tests only).
 *
 * The wrapper's ops table carries the inner backend's; its device state holds
 * the inner state, which is put back into the device for each inner call, so
 * the inner backend never sees the wrapper. A fault before a call leaves the
 * device untouched; one after it (@after) lets the call do its work first, as a
 * drive that wrote a record and then reported an error would. close always
 * closes the inner device, as close(2) releases the descriptor even when it
 * fails. Every fault is logged (info) naming the call, its number and the device.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend_fault.h"
#include "log.h"

struct fault_backend {
	struct backend_ops ops; /* first: dev->ops points here */
	const struct backend_ops *inner;
	char name[32];
};

struct fault_device {
	const struct backend_ops *inner;
	void *inner_state;
	char device[128]; /* for the log */
};

/* One per inner backend seen: file, vtape, st (and a spare for tests). */
#define FAULT_BACKENDS_MAX 4

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fault_schedule fault_schedule;
static uint64_t fault_counts[FAULT_CALL_KINDS];
static uint64_t fault_count_any;
static struct fault_backend fault_backends[FAULT_BACKENDS_MAX];
static int fault_backend_count;

void backend_fault_set_schedule(const struct fault_schedule *schedule)
{
	pthread_mutex_lock(&fault_lock);
	fault_schedule = *schedule;
	memset(fault_counts, 0, sizeof(fault_counts));
	fault_count_any = 0;
	pthread_mutex_unlock(&fault_lock);
}

uint64_t backend_fault_calls(enum fault_call call)
{
	uint64_t n;

	pthread_mutex_lock(&fault_lock);
	n = call == FAULT_CALL_ANY ? fault_count_any : fault_counts[call];
	pthread_mutex_unlock(&fault_lock);
	return n;
}

/* Count this call and find what the schedule wants of it (a copy: the schedule may change). */
static bool fault_next(enum fault_call call, const char *device, struct fault_rule *out)
{
	const struct fault_rule *rule;
	uint64_t number;

	pthread_mutex_lock(&fault_lock);
	number = ++fault_counts[call];
	rule = fault_schedule_match(&fault_schedule, call, number, ++fault_count_any);
	if (rule != NULL)
		*out = *rule;
	pthread_mutex_unlock(&fault_lock);
	if (rule == NULL)
		return false;
	switch (out->action) {
	case FAULT_FAIL: {
		const char *name = fault_errno_name(out->error);

		if (name != NULL)
			log_info("fault: %s #%" PRIu64 " on %s: %s%s", fault_call_name(call),
			         number, device, name, out->after ? " after the call" : "");
		else
			log_info("fault: %s #%" PRIu64 " on %s: errno %d%s", fault_call_name(call),
			         number, device, out->error, out->after ? " after the call" : "");
		break;
	}
	case FAULT_SHORT:
		log_info("fault: %s #%" PRIu64 " on %s: at most %" PRIu64 " bytes",
		         fault_call_name(call), number, device, out->amount);
		break;
	case FAULT_DELAY:
		log_info("fault: %s #%" PRIu64 " on %s: %" PRIu64 " ms late", fault_call_name(call),
		         number, device, out->amount);
		break;
	case FAULT_HANG:
		log_info("fault: %s #%" PRIu64 " on %s: hangs", fault_call_name(call), number,
		         device);
		break;
	}
	return true;
}

static void fault_sleep(uint64_t milliseconds)
{
	struct timespec left = {.tv_sec = (time_t)(milliseconds / 1000),
	                        .tv_nsec = (long)(milliseconds % 1000) * 1000000L};

	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}

/*
 * Delay or hang; then 0 to make the call, or -errno to fail it before the call.
 * *after is set to the errno to report once the call is made (0: none).
 */
static int fault_before(const struct fault_rule *rule, bool matched, int *after)
{
	*after = 0;
	if (!matched)
		return 0;
	switch (rule->action) {
	case FAULT_HANG:
		for (;;)
			pause(); /* like a device that never answers: only the process's end ends it
			          */
	case FAULT_DELAY:
		fault_sleep(rule->amount);
		return 0;
	case FAULT_FAIL:
		if (rule->after) {
			*after = rule->error;
			return 0;
		}
		return -rule->error;
	case FAULT_SHORT:
		return 0;
	}
	return 0;
}

/* The inner backend's state goes into the device for an inner call, and back out. */
static struct fault_device *fault_enter(struct device *dev)
{
	struct fault_device *fdev = dev->state;

	dev->state = fdev->inner_state;
	return fdev;
}

static void fault_leave(struct device *dev, struct fault_device *fdev)
{
	fdev->inner_state = dev->state;
	dev->state = fdev;
}

static const char *fault_device_name(const struct device *dev)
{
	return ((const struct fault_device *)dev->state)->device;
}

static int fault_open(struct device *dev, const struct open_target *target)
{
	const struct fault_backend *backend = (const struct fault_backend *)dev->ops;
	struct fault_device *fdev;
	struct fault_rule rule;
	bool matched;
	int result, after;

	matched = fault_next(FAULT_CALL_OPEN, target->canonical, &rule);
	result = fault_before(&rule, matched, &after);
	if (result < 0)
		return result;
	fdev = calloc(1, sizeof(*fdev));
	if (fdev == NULL)
		return -ENOMEM;
	fdev->inner = backend->inner;
	strncpy(fdev->device, target->canonical, sizeof(fdev->device) - 1);
	result = fdev->inner->open(dev, target);
	if (result < 0) {
		free(fdev);
		return result;
	}
	if (after != 0) {
		/* Opened, then reported as failed: nothing may stay open behind the error. */
		fdev->inner->close(dev);
		free(fdev);
		dev->fd = -1;
		return -after;
	}
	fdev->inner_state = dev->state;
	dev->state = fdev;
	return 0;
}

static int fault_close(struct device *dev)
{
	struct fault_rule rule;
	struct fault_device *fdev;
	bool matched = fault_next(FAULT_CALL_CLOSE, fault_device_name(dev), &rule);
	int after, before = fault_before(&rule, matched, &after);
	int result;

	/* Closed whatever is reported, before or after: the descriptor is gone either way. */
	fdev = fault_enter(dev);
	result = fdev->inner->close(dev);
	free(fdev);
	if (before < 0)
		return before;
	return after != 0 ? -after : result;
}

static ssize_t fault_transfer(struct device *dev, enum fault_call call, void *buf, size_t count)
{
	struct fault_rule rule;
	struct fault_device *fdev;
	bool matched = fault_next(call, fault_device_name(dev), &rule);
	int after, before = fault_before(&rule, matched, &after);
	ssize_t result;

	if (before < 0)
		return before;
	if (matched && rule.action == FAULT_SHORT && count > rule.amount)
		count = (size_t)rule.amount;
	fdev = fault_enter(dev);
	result = call == FAULT_CALL_READ ? fdev->inner->read(dev, buf, count)
	                                 : fdev->inner->write(dev, buf, count);
	fault_leave(dev, fdev);
	return after != 0 ? -after : result;
}

static ssize_t fault_read(struct device *dev, void *buf, size_t count)
{
	return fault_transfer(dev, FAULT_CALL_READ, buf, count);
}

static ssize_t fault_write(struct device *dev, const void *buf, size_t count)
{
	/* The inner write takes a const buffer; fault_transfer only passes it on. */
	return fault_transfer(dev, FAULT_CALL_WRITE, (void *)buf, count);
}

static int64_t fault_seek(struct device *dev, int64_t offset, int whence)
{
	struct fault_rule rule;
	struct fault_device *fdev;
	bool matched = fault_next(FAULT_CALL_SEEK, fault_device_name(dev), &rule);
	int after, before = fault_before(&rule, matched, &after);
	int64_t result;

	if (before < 0)
		return before;
	fdev = fault_enter(dev);
	result = fdev->inner->seek(dev, offset, whence);
	fault_leave(dev, fdev);
	return after != 0 ? -after : result;
}

/* The calls that answer 0 or -errno: tape operations, status, position, locate. */
struct fault_control {
	enum fault_call call;
	int op, count;
	struct mtget *status;
	int64_t *block; /* position: out; locate: in */
};

static int fault_control(struct device *dev, const struct fault_control *c)
{
	struct fault_rule rule;
	struct fault_device *fdev;
	bool matched = fault_next(c->call, fault_device_name(dev), &rule);
	int after, result = fault_before(&rule, matched, &after);

	if (result < 0)
		return result;
	fdev = fault_enter(dev);
	switch (c->call) {
	case FAULT_CALL_IOCTL:
		result = fdev->inner->tape_op(dev, c->op, c->count);
		break;
	case FAULT_CALL_STATUS:
		result = fdev->inner->status(dev, c->status);
		break;
	case FAULT_CALL_POSITION:
		result = fdev->inner->position(dev, c->block);
		break;
	case FAULT_CALL_LOCATE:
	default:
		result = fdev->inner->locate(dev, *c->block);
		break;
	}
	fault_leave(dev, fdev);
	return after != 0 ? -after : result;
}

static int fault_tape_op(struct device *dev, int op, int count)
{
	return fault_control(
	    dev, &(struct fault_control){.call = FAULT_CALL_IOCTL, .op = op, .count = count});
}

static int fault_status(struct device *dev, struct mtget *status)
{
	return fault_control(dev,
	                     &(struct fault_control){.call = FAULT_CALL_STATUS, .status = status});
}

static int fault_position(struct device *dev, int64_t *block)
{
	return fault_control(dev,
	                     &(struct fault_control){.call = FAULT_CALL_POSITION, .block = block});
}

static int fault_locate(struct device *dev, int64_t block)
{
	return fault_control(dev,
	                     &(struct fault_control){.call = FAULT_CALL_LOCATE, .block = &block});
}

/* No fault of its own: the inner backend's room, when it can tell. */
static int64_t fault_room(struct device *dev)
{
	struct fault_device *fdev = fault_enter(dev);
	int64_t room = fdev->inner->room != NULL ? fdev->inner->room(dev) : -2;

	fault_leave(dev, fdev);
	return room;
}

const struct backend_ops *backend_fault_wrap(const struct backend_ops *inner)
{
	struct fault_backend *backend = NULL;

	pthread_mutex_lock(&fault_lock);
	for (int i = 0; i < fault_backend_count; i++)
		if (fault_backends[i].inner == inner)
			backend = &fault_backends[i];
	if (backend == NULL && fault_backend_count < FAULT_BACKENDS_MAX) {
		backend = &fault_backends[fault_backend_count++];
		backend->inner = inner;
		strncpy(backend->name, "fault+", sizeof(backend->name) - 1);
		strncat(backend->name, inner->name,
		        sizeof(backend->name) - strlen(backend->name) - 1);
		backend->ops = (struct backend_ops){
		    .name = backend->name,
		    .open = fault_open,
		    .close = fault_close,
		    .read = fault_read,
		    .write = fault_write,
		    .seek = fault_seek,
		    .tape_op = fault_tape_op,
		    .status = fault_status,
		    .position = fault_position,
		    .locate = fault_locate,
		    .room = inner->room != NULL ? fault_room : NULL,
		};
	}
	pthread_mutex_unlock(&fault_lock);
	/* More inner backends than slots cannot happen (three exist); serve them unwrapped. */
	return backend != NULL ? &backend->ops : inner;
}
