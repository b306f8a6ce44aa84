/*
 * pipeline_internal.h - the relay's shared state, for the files of
 * rmt-connect's pipelined relay: pipeline.c (the queue, the reply thread, the
 * request side) and pipeline_read_ahead.c (reading ahead and giving back).
 */
#ifndef LIBRMT_PIPELINE_INTERNAL_H
#define LIBRMT_PIPELINE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"

#define LINE_MAX_BYTES (PATH_MAX + 64)
#define CHUNK          (256 * 1024)
#define TEXT_MAX       256
#define PROBE_REFUSED  INT64_MIN
/* What a record costs on a medium beyond its bytes, at most (a virtual tape: 8). */
#define RECORD_OVERHEAD 64

struct reader {
	int fd;
	size_t start, end;
	unsigned char buffer[CHUNK];
};

enum owed {
	OWED_WRITE,      /* a W the program has had A for: check and swallow */
	OWED_PASS,       /* pass the reply on: status line, and an error's text */
	OWED_PASS_DATA,  /* R or S: an A reply carries that many bytes */
	OWED_OPEN,       /* O: pass it on and note whether it worked */
	OWED_REPLACE,    /* C after a failed W: the program gets the failure instead */
	OWED_PROBE,      /* I-2 and our other queries: swallowed */
	OWED_READ_AHEAD, /* an R of ours: to the program when it asks, else given back */
};

struct entry {
	enum owed kind;
	size_t bytes;
	uint64_t ordinal; /* OWED_WRITE: which of the program's writes */
	bool data;        /* OWED_PROBE: an A reply carries that many bytes (S) */
};

struct relay {
	const char *program;
	int sock;
	struct pipeline_limits limits;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct entry *ring;
	unsigned int capacity, head, count;
	size_t bytes;

	/* Set by the reply thread. */
	atomic_bool lost;   /* the connection failed (either thread finds out; read unlocked) */
	bool ended;         /* the reply thread has stopped */
	bool finishing;     /* set by the request side: no more requests come */
	bool reply_idle;    /* the reply thread waits for a request to be owed */
	bool request_waits; /* the request side waits for replies */
	bool open_ok;       /* the last O was answered A */
	bool passed_failed; /* the last reply passed on was an error */
	int64_t probe;      /* the I-2 answer, -1 refused */
	int probe_errno;    /* and its errno when refused */
	bool reads_stopped; /* an R met a filemark or failed: the server cancels R until
	                       another request */

	/* Reading ahead. Request side: the run; both: asked, given, giving_back. */
	bool ahead;          /* a run of reads ahead is on */
	uint64_t ahead_size; /* the R count of the run */
	uint64_t ahead_sent, asked, given;
	int64_t ahead_base;   /* QFA position where the run began */
	bool ahead_on_file;   /* the base is a byte offset (else a tape block) */
	uint64_t given_bytes; /* bytes handed to the program in the run */
	bool stop_seen;       /* a reply of the run was a filemark or an error */
	uint64_t stop_index;  /* which one (0: the run's first) */
	bool giving_back;     /* swallow the rest of the run */
	int ahead_error;      /* an error a read ahead met that the program never asked for */
	char ahead_error_text[TEXT_MAX];
	int failed_errno; /* a W failed and the program has not heard yet */
	char failed_text[TEXT_MAX];
	bool failure_burst; /* replies after it are the server's discards */
	uint64_t discarded; /* records the program was told of and that were not written */
	uint64_t writes_sent, writes_confirmed;
	uint64_t writes_requested; /* request side: the program's W requests so far */
	int64_t room_left;  /* request side: bytes surely left before early warning, -1 none */
	bool read_ahead_ok; /* request side: the server agreed to cancel reads (I-2 READ) */
	bool kind_known;    /* request side, since the last O: ahead_on_file is known */
	bool ahead_refused; /* request side, since the last O: no position to give back to */
	int replace_errno;  /* what OWED_REPLACE answers */
	char replace_text[TEXT_MAX];

	struct reader server;
	struct reader program_in;
};

/* pipeline.c */
bool relay_write_all(int fd, const void *data, size_t length);
bool reader_copy(struct reader *r, int fd, uint64_t count, bool *out_failed);
void relay_drain(struct relay *r);
void relay_reply_error(int error, const char *text);
int64_t relay_query(struct relay *r, const char *request, size_t length, bool data);
bool relay_probe(struct relay *r);
void relay_send_request(struct relay *r, const char *bytes, size_t length);

/* pipeline_read_ahead.c */
bool relay_take_read_ahead(struct relay *r, const char *line, size_t length, bool ok, int error,
                           uint64_t value, const char *text);
bool relay_past_the_stop(struct relay *r);
bool relay_start_reading_ahead(struct relay *r, uint64_t size);
void relay_top_up(struct relay *r);
void relay_ask_read(struct relay *r);
bool relay_give_back(struct relay *r);
void relay_end_stopped_reads(struct relay *r);

#endif
