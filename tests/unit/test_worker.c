/*
 * test_worker.c - a drive's thread and the client's socket: a record the thread
 * is receiving can be taken back (the job fails, nothing reaches the device),
 * and a job past its receive keeps going; threads and descriptors come back.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "backend.h"
#include "worker.h"

static atomic_int writes;
static atomic_int release_write; /* the device "hangs" in write until this is set */

static ssize_t counting_write(struct device *dev, const void *buf, size_t count)
{
	writes++;
	while (!release_write)
		usleep(1000);
	return (ssize_t)count;
}

static const struct backend_ops counting_ops = {.name = "counting", .write = counting_write};

static struct event_base *base;
static bool completed;

static void done(struct job *job, void *arg)
{
	completed = true;
}

static void setup(void)
{
	cr_assert_eq(evthread_use_pthreads(), 0);
	base = event_base_new();
	writes = 0;
	release_write = 0;
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

static void start_write(struct job *job, struct device *dev, int socket, uint8_t *buffer,
                        size_t count)
{
	memset(job, 0, sizeof(*job));
	memset(dev, 0, sizeof(*dev));
	dev->ops = &counting_ops;
	job->kind = JOB_WRITE;
	job->device = dev;
	job->buffer = buffer;
	job->count = count;
	job->socket = socket;
	job->timeout_ms = 60 * 1000;
	job->done = done;
}

Test(worker, a_record_being_received_is_cut_and_never_written)
{
	static uint8_t buffer[128 * 1024];
	struct device dev;
	struct job job;
	int pair[2], error;
	struct worker *worker = worker_create(base, &error);

	cr_assert_not_null(worker);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	start_write(&job, &dev, pair[0], buffer, sizeof(buffer));
	cr_assert_eq(write(pair[1], buffer, 1000), 1000, "part of the record arrives");
	worker_submit(worker, &job);
	usleep(50 * 1000);
	cr_assert(worker_busy(worker), "the thread waits for the rest");
	cr_assert(worker_revoke_socket(worker, &job), "it ends without the device");
	wait_for_completion();
	cr_assert_lt(job.transfer_error, 0);
	cr_assert_lt(job.result, 0);
	cr_assert_eq(writes, 0, "a cut record never reaches the device");
	worker_destroy(worker);
	close(pair[0]);
	close(pair[1]);
}

Test(worker, a_job_in_its_device_call_is_not_prompt)
{
	static uint8_t buffer[1024];
	struct device dev;
	struct job job;
	int pair[2], error;
	struct worker *worker = worker_create(base, &error);

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	start_write(&job, &dev, pair[0], buffer, sizeof(buffer));
	cr_assert_eq(write(pair[1], buffer, sizeof(buffer)), (ssize_t)sizeof(buffer));
	worker_submit(worker, &job);
	for (int i = 0; i < 500 && writes == 0; i++)
		usleep(2000);
	cr_assert_eq(writes, 1, "the whole record reached the device");
	cr_assert_not(worker_revoke_socket(worker, &job), "it may still wait for the device");
	release_write = 1;
	wait_for_completion();
	cr_assert_eq(job.result, (int64_t)sizeof(buffer));
	worker_destroy(worker);
	close(pair[0]);
	close(pair[1]);
}
