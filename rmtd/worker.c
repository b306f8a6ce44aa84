/*
 * worker.c - one thread per drive for the blocking device calls.
 *
 * The queue is a singly linked list under a mutex; the loop is woken with
 * event_active() on an event owned by the worker, which libevent makes safe
 * across threads once evthread_use_pthreads() has been called (main.c does).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "worker.h"

#define WORKER_QUEUE_MAX 8

struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *pending[WORKER_QUEUE_MAX]; /* submitted, not yet run */
	int pending_count;
	struct job *finished[WORKER_QUEUE_MAX]; /* run, completion not yet delivered */
	int finished_count;
	int running;
	bool stopping;
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
		job->result = ops->open(dev, &job->target);
		if (job->result < 0)
			dev->ops = NULL;
		break;
	case JOB_CLOSE:
		job->result = ops->close(dev);
		break;
	case JOB_READ:
		job->result = ops->read(dev, job->buffer, job->count);
		break;
	case JOB_WRITE:
		job->result = ops->write(dev, job->buffer, job->count);
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
	case JOB_FLUSH:
		job->result = ops->flush ? ops->flush(dev) : 0;
		break;
	}
	/* The session keeps the drive's position for status and catalogs. */
	if (job->with_status && dev->ops != NULL && dev->is_tape) {
		memset(&job->status, 0, sizeof(job->status));
		if (dev->ops->status(dev, &job->status) < 0)
			job->with_status = false;
	}
}

static void *worker_main(void *arg)
{
	struct worker *worker = arg;

	pthread_mutex_lock(&worker->lock);
	for (;;) {
		struct job *job;

		while (worker->pending_count == 0 && !worker->stopping)
			pthread_cond_wait(&worker->wake, &worker->lock);
		if (worker->pending_count == 0)
			break;
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
		event_active(worker->completion, EV_READ, 0);
	}
	pthread_mutex_unlock(&worker->lock);
	return NULL;
}

static void worker_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct worker *worker = arg;
	struct job *done[WORKER_QUEUE_MAX];
	int count;

	pthread_mutex_lock(&worker->lock);
	count = worker->finished_count;
	memcpy(done, worker->finished, (size_t)count * sizeof(done[0]));
	worker->finished_count = 0;
	pthread_mutex_unlock(&worker->lock);
	for (int i = 0; i < count; i++)
		done[i]->done(done[i], done[i]->arg);
}

struct worker *worker_create(struct event_base *base)
{
	struct worker *worker = calloc(1, sizeof(*worker));

	if (worker == NULL)
		return NULL;
	pthread_mutex_init(&worker->lock, NULL);
	pthread_cond_init(&worker->wake, NULL);
	worker->completion = event_new(base, -1, 0, worker_deliver, worker);
	if (worker->completion == NULL ||
	    pthread_create(&worker->thread, NULL, worker_main, worker) != 0) {
		log_warnx("cannot start a drive worker thread");
		if (worker->completion)
			event_free(worker->completion);
		free(worker);
		return NULL;
	}
	return worker;
}

void worker_destroy(struct worker *worker)
{
	if (worker == NULL)
		return;
	pthread_mutex_lock(&worker->lock);
	worker->stopping = true;
	pthread_cond_signal(&worker->wake);
	pthread_mutex_unlock(&worker->lock);
	pthread_join(worker->thread, NULL);
	event_free(worker->completion);
	pthread_mutex_destroy(&worker->lock);
	pthread_cond_destroy(&worker->wake);
	free(worker);
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
	pthread_cond_signal(&worker->wake);
	pthread_mutex_unlock(&worker->lock);
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
