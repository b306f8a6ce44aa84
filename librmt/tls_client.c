/*
 * tls_client.c - librmt's TLS client on OpenSSL.
 *
 * The socket is non-blocking under TLS, so a handshake or a record that needs
 * the other direction (TLS 1.3 sends session tickets after the handshake) never
 * blocks the caller; the caller polls for what SSL asks and keeps its timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "tls_client.h"

struct tls_client {
	SSL_CTX *context;
	SSL *ssl;
	char error[160]; /* why the last call failed */
};

static void openssl_reason(char *why, size_t size, const char *what)
{
	unsigned long code = ERR_get_error();
	char text[256];

	if (code == 0) {
		snprintf(why, size, "%s", what);
		return;
	}
	ERR_error_string_n(code, text, sizeof(text));
	snprintf(why, size, "%s: %s", what, text);
	ERR_clear_error();
}

static bool is_address(const char *name)
{
	unsigned char buffer[16];

	return inet_pton(AF_INET, name, buffer) == 1 || inet_pton(AF_INET6, name, buffer) == 1;
}

static SSL_CTX *make_context(const struct tls_client_config *config, char *why, size_t size)
{
	SSL_CTX *context = SSL_CTX_new(TLS_client_method());

	if (context == NULL) {
		openssl_reason(why, size, "cannot create a TLS context");
		return NULL;
	}
	/* rmtd speaks TLS 1.3 only; so does this client. */
	SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION);
	SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
	if ((config->ca_file != NULL ? SSL_CTX_load_verify_locations(context, config->ca_file, NULL)
	                             : SSL_CTX_set_default_verify_paths(context)) != 1) {
		openssl_reason(why, size, "cannot load the CA certificates");
		goto fail;
	}
	if (config->cert_file != NULL) {
		const char *key = config->key_file != NULL ? config->key_file : config->cert_file;

		if (SSL_CTX_use_certificate_chain_file(context, config->cert_file) != 1) {
			openssl_reason(why, size, "cannot load the client certificate");
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(context) != 1) {
			openssl_reason(why, size, "cannot load the client key");
			goto fail;
		}
	}
	return context;
fail:
	SSL_CTX_free(context);
	return NULL;
}

/* Map an SSL result to 0 (done), -EAGAIN with *events, or an error. */
static int ssl_status(SSL *ssl, int result, short *events)
{
	int error = SSL_get_error(ssl, result);

	switch (error) {
	case SSL_ERROR_NONE:
		return 0;
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		/* EOF without close_notify, or a socket error. */
		ERR_clear_error();
		return errno != 0 && errno != EAGAIN ? -errno : -ECONNRESET;
	default:
		return -EPROTO;
	}
}

int tls_client_start(int fd, const struct tls_client_config *config, int timeout_ms,
                     struct tls_client **out, char *why, size_t why_size)
{
	struct tls_client *tls;
	long long deadline = clock_monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
	int flags, result;

	*out = NULL;
	ERR_clear_error();
	tls = calloc(1, sizeof(*tls));
	if (tls == NULL) {
		snprintf(why, why_size, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	tls->context = make_context(config, why, why_size);
	if (tls->context == NULL) {
		free(tls);
		return -EINVAL;
	}
	tls->ssl = SSL_new(tls->context);
	if (tls->ssl == NULL || SSL_set_fd(tls->ssl, fd) != 1) {
		openssl_reason(why, why_size, "cannot create a TLS session");
		tls_client_free(tls, false);
		return -ENOMEM;
	}
	if (config->server_name != NULL && config->server_name[0] != '\0') {
		const char *name = config->server_name;

		if (is_address(name)) {
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls->ssl), name);
		} else {
			SSL_set_tlsext_host_name(tls->ssl, name);
			SSL_set1_host(tls->ssl, name);
		}
	}
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	for (;;) {
		short events = 0;
		struct pollfd pfd;
		long long left;

		errno = 0;
		result = ssl_status(tls->ssl, SSL_connect(tls->ssl), &events);
		if (result == 0)
			break;
		if (result != -EAGAIN) {
			long verify = SSL_get_verify_result(tls->ssl);

			if (verify != X509_V_OK)
				snprintf(why, why_size, "the server's certificate: %s",
				         X509_verify_cert_error_string(verify));
			else if (result == -EPROTO &&
			         ERR_GET_REASON(ERR_peek_error()) == SSL_R_WRONG_VERSION_NUMBER)
				/* The answer was not TLS at all: most likely a plaintext port. */
				openssl_reason(
				    why, why_size,
				    "TLS handshake failed (is that port a TLS listener?)");
			else if (result == -EPROTO)
				openssl_reason(why, why_size, "TLS handshake failed");
			else
				snprintf(why, why_size, "TLS handshake failed: %s",
				         strerror(-result));
			tls_client_free(tls, false);
			return result == -ECONNRESET ? -ECONNRESET : -EPROTO;
		}
		left = deadline - clock_monotonic_ms();
		pfd.fd = fd;
		pfd.events = events;
		if (left <= 0 || (poll(&pfd, 1, (int)left) == 0)) {
			snprintf(why, why_size, "TLS handshake timed out");
			tls_client_free(tls, false);
			return -ETIMEDOUT;
		}
	}
	*out = tls;
	return 0;
}

/* The result of a failed SSL_read_ex/SSL_write_ex, with OpenSSL's reason kept. */
static ssize_t io_failure(struct tls_client *tls, short *events)
{
	int result = ssl_status(tls->ssl, 0, events);

	if (result == 0 || result == -EPROTO) {
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
		/* OpenSSL 3 reports a peer that closed without close_notify this way. */
		if (ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			snprintf(tls->error, sizeof(tls->error),
			         "the server ended the connection without closing TLS");
			return -EPROTO;
		}
#endif
		/* An alert from the server (a refused certificate, say) lands here. */
		openssl_reason(tls->error, sizeof(tls->error), "TLS error");
		return -EPROTO;
	}
	if (result == -ECONNRESET)
		snprintf(tls->error, sizeof(tls->error), "the server ended the connection");
	else if (result != -EAGAIN)
		snprintf(tls->error, sizeof(tls->error), "%s", strerror(-result));
	return result;
}

ssize_t tls_client_write(struct tls_client *tls, const void *buffer, size_t length, short *events)
{
	size_t written = 0;

	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(tls->ssl, buffer, length, &written) == 1)
		return (ssize_t)written;
	return io_failure(tls, events);
}

ssize_t tls_client_read(struct tls_client *tls, void *buffer, size_t length, short *events)
{
	size_t got = 0;

	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(tls->ssl, buffer, length, &got) == 1)
		return (ssize_t)got;
	return io_failure(tls, events);
}

void tls_client_set_fd(struct tls_client *tls, int fd)
{
	/* The socket BIO holds no data of its own: pointing it elsewhere keeps the session. */
	BIO_set_fd(SSL_get_rbio(tls->ssl), fd, BIO_NOCLOSE);
	if (SSL_get_wbio(tls->ssl) != SSL_get_rbio(tls->ssl))
		BIO_set_fd(SSL_get_wbio(tls->ssl), fd, BIO_NOCLOSE);
}

const char *tls_client_error(const struct tls_client *tls)
{
	return tls->error;
}

void tls_client_free(struct tls_client *tls, bool notify_peer)
{
	if (tls == NULL)
		return;
	if (tls->ssl != NULL) {
		if (notify_peer)
			SSL_shutdown(tls->ssl); /* one try, non-blocking: a courtesy */
		SSL_free(tls->ssl);
	}
	SSL_CTX_free(tls->context);
	ERR_clear_error();
	free(tls);
}
