/*
 * worker.c - one thread per drive for the blocking device calls.
 *
 * The queues are small arrays under a mutex that is held only to push or pop.
 * Each direction has its own eventfd: the loop wakes the thread by writing
 * submit_fd, the thread wakes the loop by writing done_fd, which the loop
 * watches like any other descriptor. The thread never calls into libevent, so
 * it never waits for the loop's lock while the loop runs callbacks; a round
 * trip through the worker costs two small writes and two wake-ups.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"

#define WORKER_QUEUE_MAX 8

struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	struct job *pending[WORKER_QUEUE_MAX]; /* submitted, not yet run */
	int pending_count;
	struct job *finished[WORKER_QUEUE_MAX]; /* run, completion not yet delivered */
	int finished_count;
	int running;
	bool stopping;
	int submit_fd; /* eventfd: work queued (the thread blocks reading it) */
	int done_fd;   /* eventfd, nonblocking: completions queued (the loop watches it) */
	struct event *completion;
};

void job_execute(struct job *job)
{
	struct device *dev = job->device;
	const struct backend_ops *ops = job->kind == JOB_OPEN ? job->ops : dev->ops;

	switch (job->kind) {
	case JOB_OPEN:
		dev->ops = job->ops;
		dev->fd = -1;
		dev->pipe_writes = false;
		dev->pipe_reads = false;
		job->result = ops->open(dev, &job->target);
		if (job->result < 0)
			dev->ops = NULL;
		break;
	case JOB_CLOSE:
		job->result = ops->close(dev);
		break;
	case JOB_READ:
		job->result = job->pipe_count > 0
		                  ? ops->read_to_pipe(dev, job->pipe, job->pipe_count)
		                  : ops->read(dev, job->buffer, job->count);
		break;
	case JOB_WRITE:
		job->result =
		    job->pipe_count > 0
		        ? ops->write_from_pipe(dev, job->buffer, job->count - job->pipe_count,
		                               job->pipe, job->pipe_count)
		        : ops->write(dev, job->buffer, job->count);
		break;
	case JOB_SEEK:
		job->result = ops->seek(dev, job->offset, job->whence);
		break;
	case JOB_TAPE_OP:
		job->result = ops->tape_op(dev, job->op, job->op_count);
		break;
	case JOB_STATUS:
		memset(&job->status, 0, sizeof(job->status));
		job->result = ops->status(dev, &job->status);
		break;
	case JOB_POSITION:
		job->result = ops->position(dev, &job->offset);
		if (job->result == 0)
			job->result = job->offset;
		break;
	case JOB_LOCATE:
		job->result = ops->locate(dev, job->offset);
		break;
	case JOB_CALL:
		job->call(job);
		job->result = 0;
		break;
	}
	/* The session keeps the drive's position for status and catalogs. */
	if (job->with_status && dev->ops != NULL && dev->is_tape) {
		memset(&job->status, 0, sizeof(job->status));
		if (dev->ops->status(dev, &job->status) < 0)
			job->with_status = false;
	}
}

static void eventfd_signal(int fd)
{
	uint64_t one = 1;

	/* Cannot fail short of a counter near 2^64; EINTR is retried. */
	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *worker_main(void *arg)
{
	struct worker *worker = arg;
	uint64_t count;

	for (;;) {
		struct job *job;

		pthread_mutex_lock(&worker->lock);
		if (worker->pending_count == 0) {
			bool stopping = worker->stopping;

			pthread_mutex_unlock(&worker->lock);
			if (stopping)
				break;
			if (read(worker->submit_fd, &count, sizeof(count)) < 0 && errno != EINTR &&
			    errno != EAGAIN) {
				log_warn("drive worker: wait for work");
				break;
			}
			continue;
		}
		job = worker->pending[0];
		memmove(worker->pending, worker->pending + 1,
		        (size_t)(worker->pending_count - 1) * sizeof(job));
		worker->pending_count--;
		worker->running = 1;
		pthread_mutex_unlock(&worker->lock);

		job_execute(job);

		pthread_mutex_lock(&worker->lock);
		worker->running = 0;
		worker->finished[worker->finished_count++] = job;
		pthread_mutex_unlock(&worker->lock);
		eventfd_signal(worker->done_fd);
	}
	return NULL;
}

static void worker_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct worker *worker = arg;
	struct job *done[WORKER_QUEUE_MAX];
	uint64_t signals;
	int count;

	if (read(worker->done_fd, &signals, sizeof(signals)) < 0 && errno != EAGAIN &&
	    errno != EINTR)
		log_warn("drive worker: completion wake-up");
	pthread_mutex_lock(&worker->lock);
	count = worker->finished_count;
	memcpy(done, worker->finished, (size_t)count * sizeof(done[0]));
	worker->finished_count = 0;
	pthread_mutex_unlock(&worker->lock);
	for (int i = 0; i < count; i++)
		done[i]->done(done[i], done[i]->arg);
}

static void worker_free(struct worker *worker)
{
	if (worker->completion)
		event_free(worker->completion);
	if (worker->submit_fd >= 0)
		close(worker->submit_fd);
	if (worker->done_fd >= 0)
		close(worker->done_fd);
	pthread_mutex_destroy(&worker->lock);
	free(worker);
}

struct worker *worker_create(struct event_base *base, int *error)
{
	struct worker *worker = calloc(1, sizeof(*worker));

	if (worker == NULL) {
		*error = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&worker->lock, NULL);
	*error = 0;
	worker->submit_fd = eventfd(0, EFD_CLOEXEC);
	if (worker->submit_fd < 0)
		*error = errno;
	worker->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (worker->done_fd < 0 && *error == 0)
		*error = errno;
	if (*error == 0) {
		worker->completion =
		    event_new(base, worker->done_fd, EV_READ | EV_PERSIST, worker_deliver, worker);
		if (worker->completion == NULL || event_add(worker->completion, NULL) < 0)
			*error = ENOMEM;
	}
	/* pthread_create() answers EAGAIN when the thread or process limit is reached. */
	if (*error == 0)
		*error = pthread_create(&worker->thread, NULL, worker_main, worker);
	if (*error != 0) {
		worker_free(worker);
		return NULL;
	}
	return worker;
}

void worker_abandon(struct worker *worker)
{
	if (worker == NULL)
		return;
	if (worker->completion != NULL)
		event_free(worker->completion);
	worker->completion = NULL;
}

void worker_destroy(struct worker *worker)
{
	if (worker == NULL)
		return;
	pthread_mutex_lock(&worker->lock);
	worker->stopping = true;
	pthread_mutex_unlock(&worker->lock);
	eventfd_signal(worker->submit_fd);
	pthread_join(worker->thread, NULL);
	worker_free(worker);
}

void worker_submit(struct worker *worker, struct job *job)
{
	if (worker == NULL) {
		job_execute(job);
		job->done(job, job->arg);
		return;
	}
	pthread_mutex_lock(&worker->lock);
	if (worker->pending_count + worker->finished_count + worker->running >= WORKER_QUEUE_MAX) {
		/* A session has one job in flight at a time; this cannot happen. */
		pthread_mutex_unlock(&worker->lock);
		job->result = -EAGAIN;
		job->done(job, job->arg);
		return;
	}
	worker->pending[worker->pending_count++] = job;
	pthread_mutex_unlock(&worker->lock);
	eventfd_signal(worker->submit_fd);
}

bool worker_busy(const struct worker *worker)
{
	bool busy;

	if (worker == NULL)
		return false;
	pthread_mutex_lock((pthread_mutex_t *)&worker->lock);
	busy = worker->pending_count + worker->running + worker->finished_count > 0;
	pthread_mutex_unlock((pthread_mutex_t *)&worker->lock);
	return busy;
}
