/*
 * connection.h - librmt's byte stream to a server: a spawned command (remote
 * shell or local server) on a socketpair, or a TCP connection; plus bounded,
 * timed reads and writes on it.
 *
 * Every descriptor is a stream socket and is used with MSG_DONTWAIT and poll,
 * so a peer that stops talking costs at most the configured timeout and a peer
 * that goes away never raises SIGPIPE. Functions return negative errno.
 */
#ifndef LIBRMT_CONNECTION_H
#define LIBRMT_CONNECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define CONNECTION_BUFFER_SIZE 4096

struct tls_client;
struct tls_client_config;

struct connection {
	int fd;
	struct tls_client *tls; /* NULL: plain stream */
	int reply_timeout_ms;   /* wait for the first byte of a reply; < 0: none */
	int silence_timeout_ms; /* inside a reply or while sending; > 0 */
	size_t start, end;      /* unread bytes are buffer[start..end) */
	unsigned char buffer[CONNECTION_BUFFER_SIZE];
};

/*
 * Set while librmt forks a child for a command, so that the LD_PRELOAD shim's
 * fork handlers know the fork is not the program's. Hidden, not exported.
 */
extern volatile int connection_internal_fork;

/* Adopt an already connected stream socket. */
void connection_init(struct connection *conn, int fd, int reply_timeout_ms, int silence_timeout_ms);

/*
 * Run argv[0] (PATH searched) with its stdin and stdout on a socketpair, in a
 * grandchild so that the caller never has to reap it. Fails with the exec errno
 * when the program cannot be started. RMT_PRELOAD_FDS is kept out of its
 * environment.
 */
int connection_spawn(struct connection *conn, char *const argv[]);

/*
 * Connect to host:port (any address family getaddrinfo gives), within
 * timeout_ms per address, and set TCP_NODELAY and keepalive. On a name that
 * does not resolve: -EHOSTUNREACH, with the resolver's text in *why.
 */
int connection_tcp(struct connection *conn, const char *host, unsigned int port, int timeout_ms,
                   const char **why);

/* Run TLS over the connected socket (see tls_client_start). */
int connection_start_tls(struct connection *conn, const struct tls_client_config *config,
                         int timeout_ms, char *why, size_t why_size);

/* Let go of the TLS session without a close_notify (another process may use it). */
void connection_drop_tls(struct connection *conn);

/* The socket now has another descriptor number (the old one is being closed). */
void connection_set_fd(struct connection *conn, int fd);

/* Words for a negative errno from this layer (for TLS, OpenSSL's reason). */
const char *connection_error_text(const struct connection *conn, int error);

/* Send every byte of iov, or fail. */
int connection_send(struct connection *conn, const struct iovec *iov, int iovcnt);

/*
 * Read one line, without its '\n', into line (NUL-terminated). first: the
 * start of a reply, so the reply timeout applies to the first byte. Returns its
 * length, -EMSGSIZE when it does not fit in size - 1 bytes, -ECONNRESET at EOF,
 * -ETIMEDOUT, -EPROTO for a TLS error, or the socket's error.
 */
ssize_t connection_read_line(struct connection *conn, char *line, size_t size, bool first);

/* Exactly count bytes into buffer (count 0 is fine). */
int connection_read_exact(struct connection *conn, void *buffer, size_t count);

/* Read and throw away exactly count bytes. */
int connection_discard(struct connection *conn, size_t count);

/*
 * Between exchanges nothing may be waiting from the server. Returns the bytes
 * received and not consumed (a server talking out of turn; a non-blocking look
 * at the socket included), -ECONNRESET if the server has closed, 0 if all is quiet.
 */
ssize_t connection_check_idle(struct connection *conn);

/* End TLS (with close_notify unless keep_fd), close the descriptor (unless keep_fd), forget it. */
void connection_close(struct connection *conn, bool keep_fd);

#endif
