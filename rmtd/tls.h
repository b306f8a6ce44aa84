/*
 * tls.h - sessions over TLS (libevent's bufferevent_openssl).
 *
 * TLS 1.3 at least; every client must present a certificate that the configured
 * CA signed (and that the optional CRL has not revoked). The certificate's
 * subject and SHA-256 fingerprint become the identity the rules match. A session
 * starts only once the handshake has succeeded; a failed handshake (no
 * certificate, another CA, expired, plaintext on a TLS port) is one log line.
 * While the session has its device open, the drive's thread serves it with the
 * SSL object (serve.h); the event loop keeps the handshake and the rest.
 */
#ifndef RMTD_TLS_H
#define RMTD_TLS_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

struct event_base;
struct session;
struct session_settings;
struct config;
struct tls_context;
struct tls_transport;

/* Build the server context from the configuration. NULL with error filled. */
struct tls_context *tls_context_create(const struct config *config, char *error, size_t error_size);
void tls_context_free(struct tls_context *context);

/* Called once the session has ended, or the handshake failed (why says which). */
typedef void (*tls_finished_fn)(struct tls_transport *transport, const char *why, void *arg);

/*
 * Start the handshake on an accepted socket. settings is copied when the session
 * starts; its who.subject and who.fingerprint are filled from the certificate.
 */
struct tls_transport *tls_transport_create(struct event_base *base, struct tls_context *context,
                                           int fd, const struct session_settings *settings,
                                           tls_finished_fn finished, void *arg);
void tls_transport_free(struct tls_transport *transport);
/* NULL until the handshake is done, and after the session ended. */
struct session *tls_transport_session(struct tls_transport *transport);
time_t tls_transport_last_input(const struct tls_transport *transport);

#endif
