/*
 * test_worker.c - a drive's thread: a device call runs there and its
 * completion comes back on the loop; a JOB_CALL (a save, or the serve loop)
 * runs on the thread too, and the worker is busy for as long as it runs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "backend.h"
#include "worker.h"

static atomic_int writes;
static atomic_int release_call; /* the call "hangs" until this is set */
static pthread_t ran_on;

static ssize_t counting_write(struct device *dev, const void *buf, size_t count)
{
	writes++;
	ran_on = pthread_self();
	return (ssize_t)count;
}

static const struct backend_ops counting_ops = {.name = "counting", .write = counting_write};

static struct event_base *base;
static bool completed;
static pthread_t completed_on;

static void done(struct job *job, void *arg)
{
	completed = true;
	completed_on = pthread_self();
}

static void setup(void)
{
	cr_assert_eq(evthread_use_pthreads(), 0);
	base = event_base_new();
	writes = 0;
	release_call = 0;
	completed = false;
}

static void teardown(void)
{
	event_base_free(base);
}

TestSuite(worker, .init = setup, .fini = teardown);

static void wait_for_completion(void)
{
	for (int i = 0; i < 500 && !completed; i++) {
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(2000);
	}
	cr_assert(completed, "the job came back");
}

Test(worker, a_device_call_runs_on_the_thread_and_completes_on_the_loop)
{
	static uint8_t buffer[1024];
	struct device dev = {.ops = &counting_ops};
	struct job job = {.kind = JOB_WRITE,
	                  .device = &dev,
	                  .buffer = buffer,
	                  .count = sizeof(buffer),
	                  .done = done};
	int error;
	struct worker *worker = worker_create(base, &error);

	cr_assert_not_null(worker);
	worker_submit(worker, &job);
	wait_for_completion();
	cr_assert_eq(job.result, (int64_t)sizeof(buffer));
	cr_assert_eq(writes, 1);
	cr_assert_not(pthread_equal(ran_on, pthread_self()), "the write ran on the drive's thread");
	cr_assert(pthread_equal(completed_on, pthread_self()), "its completion on the loop");
	worker_destroy(worker);
}

static void waiting_call(struct job *job)
{
	ran_on = pthread_self();
	while (!release_call)
		usleep(1000);
}

Test(worker, busy_while_a_call_runs)
{
	struct device dev = {.ops = &counting_ops};
	struct job job = {.kind = JOB_CALL, .device = &dev, .call = waiting_call, .done = done};
	int error;
	struct worker *worker = worker_create(base, &error);

	cr_assert_not_null(worker);
	worker_submit(worker, &job);
	usleep(50 * 1000);
	cr_assert(worker_busy(worker), "the call still runs");
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cr_assert_not(completed);
	release_call = 1;
	wait_for_completion();
	cr_assert_not(worker_busy(worker));
	cr_assert_not(pthread_equal(ran_on, pthread_self()));
	worker_destroy(worker);
}

Test(worker, inline_without_a_worker)
{
	static uint8_t buffer[16];
	struct device dev = {.ops = &counting_ops};
	struct job job = {.kind = JOB_WRITE,
	                  .device = &dev,
	                  .buffer = buffer,
	                  .count = sizeof(buffer),
	                  .done = done};

	worker_submit(NULL, &job);
	cr_assert(completed, "done before worker_submit returns");
	cr_assert(pthread_equal(ran_on, pthread_self()));
	cr_assert_eq(job.result, (int64_t)sizeof(buffer));
}
