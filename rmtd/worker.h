/*
 * worker.h - running blocking device calls off the event loop.
 *
 * A job is one backend call (or, JOB_CALL, other blocking work of the drive's,
 * such as saving its counters, or serving a session with the serve loop while
 * it has the device open: serve.h). In daemon mode every drive has a worker thread; the
 * loop submits a job and is woken (event_active, thread-safe) with the result. In
 * stdio mode one process serves one client, there is nothing else for the loop to
 * do while the device works, so jobs run inline and save two thread switches per
 * request.
 */
#ifndef RMTD_WORKER_H
#define RMTD_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mtio.h>

#include "backend.h"

struct event_base;

enum job_kind {
	JOB_OPEN,
	JOB_CLOSE,
	JOB_READ,
	JOB_WRITE,
	JOB_SEEK,
	JOB_TAPE_OP,
	JOB_STATUS,
	JOB_POSITION,
	JOB_LOCATE,
	JOB_CALL, /* not a device call: run call(job) on the drive's thread */
};

struct job {
	enum job_kind kind;
	struct device *device;

	/* inputs */
	const struct backend_ops *ops; /* JOB_OPEN: which backend */
	struct open_target target;     /* JOB_OPEN */
	void *buffer;                  /* JOB_READ, JOB_WRITE */
	size_t count;                  /* JOB_READ, JOB_WRITE */
	int64_t offset;                /* JOB_SEEK, JOB_LOCATE */
	int whence;                    /* JOB_SEEK */
	int op, op_count;              /* JOB_TAPE_OP */
	void (*call)(struct job *job); /* JOB_CALL */

	/*
	 * A record moved through rmtd's pipe (record_pipe.h). JOB_WRITE: its last
	 * pipe_count bytes are in pipe, the first count - pipe_count in buffer.
	 * JOB_READ: read into pipe, pipe_count = count. 0: all of it in buffer.
	 */
	int pipe;
	size_t pipe_count;

	/* outputs */
	int64_t result; /* >= 0 success value, < 0 -errno */
	struct mtget status;
	bool with_status; /* JOB_WRITE/JOB_READ/JOB_TAPE_OP on a tape: also fill status after */

	/* completion, called on the loop thread */
	void (*done)(struct job *job, void *arg);
	void *arg;
};

struct worker;

/*
 * Start a worker thread whose completions are delivered through base. NULL with
 * *error set (EMFILE, ENFILE: no descriptors; EAGAIN: no thread; ENOMEM).
 */
struct worker *worker_create(struct event_base *base, int *error);
/* Ask the thread to finish its queue and stop; frees the worker once it has. */
void worker_destroy(struct worker *worker);
/*
 * At exit, a thread stuck in a device call cannot be joined: stop delivering its
 * completions and leave it (and its memory) to the end of the process.
 */
void worker_abandon(struct worker *worker);
/* Queue a job; job->done runs later on the loop. With worker NULL the job runs now. */
void worker_submit(struct worker *worker, struct job *job);
/* True while a job of this worker is queued or running. */
bool worker_busy(const struct worker *worker);

/* Run one job's backend call in the calling thread (what the worker thread does). */
void job_execute(struct job *job);

#endif
