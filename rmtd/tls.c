/*
 * tls.c - the TLS transport: handshake, client identity, and a session over a
 * bufferevent_openssl.
 *
 * Decrypted input is moved from the bufferevent into the session's buffers;
 * replies are queued on the bufferevent. A stream cut without a TLS close is an
 * end of input like any other: a record not received whole is never written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "escape.h"
#include "log.h"
#include "session.h"
#include "subject.h"
#include "tls.h"

/* Stop starting requests while more than this waits to go out. */
#define TLS_OUTPUT_LIMIT (256 * 1024)
/* Decrypted input kept in the bufferevent before reading pauses. */
#define TLS_INPUT_HIGH_WATER (256 * 1024)

struct tls_context {
	SSL_CTX *ssl;
};

struct tls_transport {
	struct event_base *base;
	struct bufferevent *bev;
	struct session *session;
	struct session_settings settings;
	char subject[SUBJECT_TEXT_MAX];
	char fingerprint[8 + 64];
	time_t last_input;
	bool pumping;
	bool broken;
	bool finishing; /* the session ended; free once the output is out */
	bool finished;
	tls_finished_fn on_finished;
	void *arg;
};

static void openssl_error(char *out, size_t size, const char *what)
{
	unsigned long code = ERR_get_error();
	char text[200];

	if (code == 0)
		snprintf(text, sizeof(text), "unknown error");
	else
		ERR_error_string_n(code, text, sizeof(text));
	snprintf(out, size, "%s: %s", what, text);
	ERR_clear_error();
}

struct tls_context *tls_context_create(const struct config *config, char *error, size_t error_size)
{
	struct tls_context *context = calloc(1, sizeof(*context));
	STACK_OF(X509_NAME) * names;

	if (context == NULL) {
		snprintf(error, error_size, "out of memory");
		return NULL;
	}
	context->ssl = SSL_CTX_new(TLS_server_method());
	if (context->ssl == NULL) {
		openssl_error(error, error_size, "TLS");
		goto fail;
	}
	/* TLS 1.3 or nothing: no renegotiation, no weak suites to configure away. */
	SSL_CTX_set_min_proto_version(context->ssl, TLS1_3_VERSION);
	SSL_CTX_set_options(context->ssl, SSL_OP_NO_TICKET);
	if (SSL_CTX_use_certificate_chain_file(context->ssl, config->tls_certificate) != 1) {
		openssl_error(error, error_size, config->tls_certificate);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(context->ssl, config->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(context->ssl) != 1) {
		openssl_error(error, error_size, config->tls_key);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(context->ssl, config->tls_ca, NULL) != 1) {
		openssl_error(error, error_size, config->tls_ca);
		goto fail;
	}
	names = SSL_load_client_CA_file(config->tls_ca);
	if (names != NULL)
		SSL_CTX_set_client_CA_list(context->ssl, names);
	if (config->tls_crl[0] != '\0') {
		X509_STORE *store = SSL_CTX_get_cert_store(context->ssl);
		X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());

		if (lookup == NULL ||
		    X509_load_crl_file(lookup, config->tls_crl, X509_FILETYPE_PEM) <= 0) {
			openssl_error(error, error_size, config->tls_crl);
			goto fail;
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	/* Every client presents a certificate the CA signed, or the handshake fails. */
	SSL_CTX_set_verify(context->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return context;
fail:
	tls_context_free(context);
	return NULL;
}

void tls_context_free(struct tls_context *context)
{
	if (context == NULL)
		return;
	SSL_CTX_free(context->ssl);
	free(context);
}

/* ---------------------------------------------------------------- identity */

/* The subject in RFC 2253 form (subject.h), or "" when it does not fit whole. */
static void certificate_identity(X509 *certificate, char *subject, size_t subject_size,
                                 char *fingerprint, size_t fingerprint_size)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int length = 0;
	BIO *bio = BIO_new(BIO_s_mem());

	subject[0] = '\0';
	if (bio != NULL) {
		int n;

		X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0,
		                   XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
		n = BIO_read(bio, subject, (int)subject_size - 1);
		subject[n > 0 ? n : 0] = '\0';
		/* Half a subject could match a pattern the whole one does not. */
		if (BIO_pending(bio) > 0)
			subject[0] = '\0';
		BIO_free(bio);
	}
	fingerprint[0] = '\0';
	if (X509_digest(certificate, EVP_sha256(), digest, &length) == 1 &&
	    fingerprint_size >= 8 + 2 * (size_t)length) {
		strlcpy(fingerprint, "sha256:", fingerprint_size);
		for (unsigned int i = 0; i < length; i++)
			snprintf(fingerprint + 7 + 2 * i, fingerprint_size - 7 - 2 * i, "%02x",
			         digest[i]);
	}
}

/* ---------------------------------------------------------------- session side */

static void tls_finish_now(evutil_socket_t fd, short what, void *arg)
{
	struct tls_transport *t = arg;

	t->on_finished(t, NULL, t->arg);
}

/* Hand the transport back on the next turn of the loop, never under our own feet. */
static void tls_finish_later(struct tls_transport *t)
{
	if (t->finished)
		return;
	t->finished = true;
	event_base_once(t->base, -1, EV_TIMEOUT, tls_finish_now, t, NULL);
}

static void tls_pump(struct tls_transport *t)
{
	struct evbuffer *input = bufferevent_get_input(t->bev);

	if (t->pumping)
		return;
	t->pumping = true;
	while (t->session != NULL && evbuffer_get_length(input) > 0) {
		void *where;
		size_t length;
		int n;

		session_input_space(t->session, &where, &length);
		if (length == 0) {
			/* The session is busy or full: stop reading until it asks again. */
			bufferevent_disable(t->bev, EV_READ);
			break;
		}
		n = evbuffer_remove(input, where, length);
		if (n <= 0)
			break;
		session_input_added(t->session, (size_t)n);
	}
	t->pumping = false;
}

static int tls_send(void *context, const struct iovec *iov, int count)
{
	struct tls_transport *t = context;

	if (t->broken)
		return -EPIPE;
	for (int i = 0; i < count; i++)
		if (bufferevent_write(t->bev, iov[i].iov_base, iov[i].iov_len) < 0)
			return -ENOMEM;
	return 0;
}

static void tls_session_finished(void *context, const char *why)
{
	struct tls_transport *t = context;

	t->session = NULL;
	t->finishing = true;
	bufferevent_disable(t->bev, EV_READ);
	if (t->broken || evbuffer_get_length(bufferevent_get_output(t->bev)) == 0)
		tls_finish_later(t);
}

static void tls_input_changed(void *context)
{
	struct tls_transport *t = context;
	void *where;
	size_t length;

	if (t->session == NULL || t->pumping)
		return;
	session_input_space(t->session, &where, &length);
	if (length == 0)
		return;
	bufferevent_enable(t->bev, EV_READ);
	tls_pump(t);
}

static bool tls_output_full(void *context)
{
	struct tls_transport *t = context;

	return evbuffer_get_length(bufferevent_get_output(t->bev)) > TLS_OUTPUT_LIMIT;
}

static const struct session_transport tls_session_ops = {
    .send = tls_send,
    .finished = tls_session_finished,
    .input_changed = tls_input_changed,
    .output_full = tls_output_full,
};

/* ---------------------------------------------------------------- bufferevent callbacks */

static void tls_read(struct bufferevent *bev, void *arg)
{
	struct tls_transport *t = arg;

	t->last_input = time(NULL);
	tls_pump(t);
}

static void tls_write(struct bufferevent *bev, void *arg)
{
	struct tls_transport *t = arg;

	if (t->finishing) {
		tls_finish_later(t);
		return;
	}
	if (t->session != NULL)
		session_output_drained(t->session);
}

static void tls_handshake_done(struct tls_transport *t)
{
	SSL *ssl = bufferevent_openssl_get_ssl(t->bev);
	X509 *certificate = SSL_get1_peer_certificate(ssl);
	char shown[4 * sizeof(t->subject)];

	if (certificate == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
		/* Not reached with SSL_VERIFY_FAIL_IF_NO_PEER_CERT; kept as the last word. */
		log_warnx("TLS from %s: no valid client certificate; closing", t->settings.peer);
		X509_free(certificate);
		t->broken = true;
		tls_finish_later(t);
		return;
	}
	certificate_identity(certificate, t->subject, sizeof(t->subject), t->fingerprint,
	                     sizeof(t->fingerprint));
	X509_free(certificate);
	if (t->subject[0] == '\0')
		log_warnx("TLS from %s: the certificate's subject is empty or longer than %d "
		          "bytes; no subject rule applies",
		          t->settings.peer, SUBJECT_TEXT_MAX - 1);
	t->settings.who.subject = t->subject[0] != '\0' ? t->subject : NULL;
	t->settings.who.fingerprint = t->fingerprint;
	t->settings.identity = t->subject[0] != '\0' ? t->subject : t->fingerprint;
	log_info("TLS from %s: %s, certificate %s (%s)", t->settings.peer, SSL_get_version(ssl),
	         escape_text(shown, sizeof(shown), t->subject), t->fingerprint);
	t->session = session_create(&t->settings, &tls_session_ops, t);
	if (t->session == NULL) {
		t->broken = true;
		tls_finish_later(t);
		return;
	}
	bufferevent_enable(t->bev, EV_READ);
}

static void tls_event(struct bufferevent *bev, short what, void *arg)
{
	struct tls_transport *t = arg;

	if (what & BEV_EVENT_CONNECTED) {
		tls_handshake_done(t);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (t->session == NULL && !t->finishing) {
		/* Audit: every failed authentication is one line with the peer and the reason. */
		unsigned long code = bufferevent_get_openssl_error(bev);
		long verify = SSL_get_verify_result(bufferevent_openssl_get_ssl(bev));
		char reason[200] = "the connection closed during the handshake";

		if (code != 0)
			ERR_error_string_n(code, reason, sizeof(reason));
		/* Say which check the certificate failed: revoked, expired, unknown CA... */
		if (verify != X509_V_OK)
			log_warnx("TLS handshake with %s failed: %s (%s)", t->settings.peer, reason,
			          X509_verify_cert_error_string(verify));
		else
			log_warnx("TLS handshake with %s failed: %s", t->settings.peer, reason);
		t->broken = true;
		tls_finish_later(t);
		return;
	}
	t->broken = (what & BEV_EVENT_ERROR) != 0;
	if (t->session != NULL)
		session_input_end(t->session); /* a cut stream ends like a closed one */
	else if (t->finishing)
		tls_finish_later(t);
}

struct tls_transport *tls_transport_create(struct event_base *base, struct tls_context *context,
                                           int fd, const struct session_settings *settings,
                                           tls_finished_fn finished, void *arg)
{
	struct tls_transport *t = calloc(1, sizeof(*t));
	SSL *ssl;

	if (t == NULL)
		return NULL;
	ssl = SSL_new(context->ssl);
	if (ssl == NULL) {
		free(t);
		return NULL;
	}
	t->base = base;
	t->settings = *settings;
	t->on_finished = finished;
	t->arg = arg;
	t->last_input = time(NULL);
	t->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	if (t->bev == NULL) {
		SSL_free(ssl);
		close(fd);
		free(t);
		return NULL;
	}
	/* A client that vanishes without a TLS close is an ordinary end of input. */
	bufferevent_openssl_set_allow_dirty_shutdown(t->bev, 1);
	bufferevent_setwatermark(t->bev, EV_READ, 0, TLS_INPUT_HIGH_WATER);
	bufferevent_setcb(t->bev, tls_read, tls_write, tls_event, t);
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
	return t;
}

void tls_transport_free(struct tls_transport *t)
{
	if (t == NULL)
		return;
	bufferevent_free(t->bev);
	free(t);
}

struct session *tls_transport_session(struct tls_transport *t)
{
	return t->session;
}

time_t tls_transport_last_input(const struct tls_transport *t)
{
	return t->last_input;
}
