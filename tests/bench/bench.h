/*
 * rmtbench: a measurement tool for rmt servers (not a test). Declarations shared by its parts:
 * the test data pattern, the protocol client over a pipe pair or a socket, and the built-in
 * reference servers (sink, file, splice) that give the floor and the ceiling.
 */
#ifndef RMTBENCH_BENCH_H
#define RMTBENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Largest record the tool handles, on the client and in the reference servers. */
#define BENCH_MAX_RECORD (64u * 1024 * 1024)

/* pattern.c: record i is one fixed pseudo-random block with i stamped at both ends. */
int pattern_init(size_t max_record);
size_t pattern_max(void);
void pattern_fill(unsigned char *buf, size_t n, uint64_t record_index);
void pattern_stamp(unsigned char *buf, size_t n, uint64_t record_index);
bool pattern_check(const unsigned char *buf, size_t n, uint64_t record_index);

/* client.c: one protocol connection. Functions return 0 or a value >= 0, or -errno (a remote E
 * reply gives -its errno, a malformed reply -EPROTO); conn->error then says what happened. */
#define CONN_INBUF 65536
struct conn {
	int rfd;
	int wfd;
	pid_t pid;         /* server process to reap, or -1 */
	double server_cpu; /* its user + system seconds, once reaped; else -1 */
	size_t in_pos;
	size_t in_len;
	char error[320];
	unsigned char in[CONN_INBUF];
};

typedef int (*serve_fn)(int rfd, int wfd, void *arg);

struct conn *conn_new(void);
void conn_free(struct conn *c);
int conn_spawn(struct conn *c, char *const argv[]);
int conn_spawn_function(struct conn *c, serve_fn serve, void *arg);
int conn_connect_tcp(struct conn *c, const char *host, const char *port);
int64_t conn_request(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t conn_write_record(struct conn *c, const unsigned char *data, size_t n);
int64_t conn_read_record(struct conn *c, unsigned char *buf, size_t n);
int conn_finish(struct conn *c);
int child_close_other_fds(void);

/* refserver.c: minimal rmt servers used as references. SINK discards W data and answers R with
 * the pattern (the protocol's best case); FILE reads and writes a real file with plain read and
 * write, a request in as few system calls as possible; SPLICE moves W data from the pipe to the
 * file with splice(2) and R data back the same way. */
enum ref_mode { REF_SINK, REF_FILE, REF_SPLICE };
struct ref_options {
	enum ref_mode mode;
	size_t pipe_size;  /* if not 0: F_SETPIPE_SZ on the server's pipes, as a server could */
	size_t splice_min; /* SPLICE: records of this size and more are spliced (0: 64 KiB) */
	bool grow_pattern; /* SINK: make the pattern as large as an R asks (one thread only) */
};
int refserver_serve(int rfd, int wfd, void *arg); /* arg: struct ref_options * */
int refserver_echo(int rfd, int wfd, void *arg);  /* 1-byte echo, for the pipe floor */
/* Bind a TCP listener on host:port (port 0: any), fork a child that serves each connection in a
 * thread, and return the child's pid; *bound_port receives the port. */
pid_t refserver_listen_fork(const char *host, const char *port, const struct ref_options *opts,
                            char *bound_port, size_t bound_size);
int refserver_listen_run(const char *host, const char *port, const struct ref_options *opts);

/* Monotonic clock in seconds. */
double bench_now(void);

#endif
