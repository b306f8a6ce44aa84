/*
 * client_handle.h - what client.c (the exchanges, open, close, data) and
 * client_tape.c (tape operations and status) share inside librmt: the handle
 * and the helpers that send a request and read its reply. Not installed.
 */
#ifndef LIBRMT_CLIENT_HANDLE_H
#define LIBRMT_CLIENT_HANDLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "connection.h"
#include "write_window.h"

struct rmt_handle {
	struct connection conn;
	unsigned int caps;
	int open_flags;
	bool broken;
	char error_text[160];
	struct write_window *window; /* RMT_OPT_PIPELINE, agreed with the server; else NULL */
};

/* Set the handle's error text; returns -error. */
int client_set_error(struct rmt_handle *h, int error, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The stream can no longer be trusted: stop using it (the server sees EOF at
 * once, the descriptor stays until rmt_close). Returns -EIO.
 */
int client_break_connection(struct rmt_handle *h, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Send a one-piece request and read the status line: 0 with *value for A,
 * -errno for E (the handle stays usable) and F (it breaks), -EIO when the
 * stream broke.
 */
int client_transact_text(struct rmt_handle *h, const char *request, int length, int64_t *value);

/* Every write in flight answered: the stream is in step for another request. */
int client_window_drain(struct rmt_handle *h);

/* A failure of a write sent earlier, told now: -1 with errno, or 0 when none. */
ssize_t client_report_failure(struct rmt_handle *h);

/* An L request in the server's order: the offset it answers, or -1 with *error (-errno). */
int64_t client_seek_request(struct rmt_handle *h, int64_t offset, int whence, int *error);

#endif
