/*
 * pipeline.h - rmt-connect's pipelined relay: answers a program's W at once
 * and keeps a bounded window of them in flight to the server.
 *
 * The program (tar, cpio, dd, dump) speaks the rmt protocol on stdin and
 * stdout; the relay forwards every request to the server in order. A W is
 * answered A<count> as soon as its record is sent, and its real reply is
 * matched later, in order. Any other request first waits until every W in
 * flight is answered (so reads, seeks, status and tape operations see the
 * drive exactly where a classic client would), then goes through unchanged.
 *
 * Reads of one size in a row are read ahead when the server agrees (I-2
 * READ) and the drive is given back before anything else (pipeline.c).
 *
 * A W the server fails is reported on the program's next W, I or C with the
 * server's errno and text, once. The server must have agreed (I-2) to discard
 * the records sent after a failed one; a server that does not (a classic rmt)
 * gets no window: the relay passes requests one at a time, and says so once.
 */
#ifndef LIBRMT_PIPELINE_H
#define LIBRMT_PIPELINE_H

#include <stddef.h>

struct pipeline_limits {
	unsigned int records; /* W or R requests in flight at most */
	size_t bytes;         /* their records' bytes at most */
};

#define PIPELINE_DEFAULT_RECORDS 256
#define PIPELINE_DEFAULT_BYTES   (32u * 1024 * 1024)

/*
 * Relay stdin/stdout to the connected socket until the program closes stdin
 * and every reply is through. Returns rmt-connect's exit status: 0, or 255
 * when the connection failed (with a line on stderr saying what the program
 * had been told was written and was not confirmed).
 */
int pipeline_relay(int sock, const struct pipeline_limits *limits, const char *program);

#endif
