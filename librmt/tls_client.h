/*
 * tls_client.h - librmt's TLS layer (OpenSSL) over a connected TCP socket:
 * TLS 1.3, the server's certificate checked against a CA and the host name,
 * an optional client certificate (rmtd requires one).
 */
#ifndef LIBRMT_TLS_CLIENT_H
#define LIBRMT_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tls_client_config {
	const char *ca_file;     /* NULL: the system's trusted CAs */
	const char *cert_file;   /* client certificate (chain), or NULL */
	const char *key_file;    /* its key; NULL: in cert_file */
	const char *server_name; /* checked against the certificate; also sent as SNI */
};

struct tls_client;

/*
 * Handshake on fd (made non-blocking), within timeout_ms. Returns 0 and *out,
 * or -EPROTO (handshake or verification failed, reason in why), -ETIMEDOUT,
 * -ECONNRESET, -EINVAL (unreadable certificate or key), -ENOMEM.
 */
int tls_client_start(int fd, const struct tls_client_config *config, int timeout_ms,
                     struct tls_client **out, char *why, size_t why_size);

/*
 * Move application data. Return the bytes moved (> 0), -EAGAIN with *events
 * set to what to poll for, -ECONNRESET when the peer closed, -EPROTO on a TLS
 * error.
 */
ssize_t tls_client_write(struct tls_client *tls, const void *buffer, size_t length, short *events);
ssize_t tls_client_read(struct tls_client *tls, void *buffer, size_t length, short *events);

/* The socket moved to another descriptor (dup'ed, the old one closed). */
void tls_client_set_fd(struct tls_client *tls, int fd);

/* OpenSSL's reason for the last -EPROTO, or "". */
const char *tls_client_error(const struct tls_client *tls);

/*
 * Free the session. notify_peer sends close_notify (never for a connection
 * another process may still be using: it would end its session too).
 */
void tls_client_free(struct tls_client *tls, bool notify_peer);

#endif
