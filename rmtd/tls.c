/*
 * tls.c - the TLS transport: handshake, client identity, and a session over a
 * bufferevent_openssl.
 *
 * Decrypted input is moved from the bufferevent into the session's buffers;
 * replies are queued on the bufferevent. A stream cut without a TLS close is an
 * end of input like any other: a record not received whole is never written.
 *
 * Once the session has its device open the connection goes to the drive's
 * thread with its SSL object, as a plaintext one does (transport.c): the loop
 * disables the bufferevent, and the serve loop (serve.h) calls SSL_read and
 * SSL_write on the nonblocking socket itself until the session closes its
 * device or ends. The SSL object is never used from two threads at once: the
 * loop touches it again only after the thread has given the connection back,
 * or, to let a stuck thread's client go, under ssl_lock, which the thread holds
 * around each of its SSL calls.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
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
#include "serve.h"
#include "session.h"
#include "subject.h"
#include "tls.h"
#include "worker.h"

/* Stop starting requests while more than this waits to go out. */
#define TLS_OUTPUT_LIMIT (256 * 1024)
/* Decrypted input kept in the bufferevent before reading pauses. */
#define TLS_INPUT_HIGH_WATER (256 * 1024)
/* On a drive's thread, a reply up to this size goes out as one TLS record, header and data. */
#define TLS_GATHER_MAX (16 * 1024)

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
	SSL *ssl;
	int fd;

	/* Served on a drive's thread (session_move_to_drive()), SSL object and all. */
	struct event *move_event; /* the hand-over, from a fresh turn of the loop */
	struct serve serve;       /* its command descriptor is made at the first hand-over */
	bool serve_ready;
	bool on_drive; /* the drive's thread has the connection: the loop keeps off it */
	struct job serve_job;
	struct evbuffer *carried; /* input the loop had decrypted, for the thread */
	uint8_t *gather;          /* TLS_GATHER_MAX bytes: a reply's parts in one record */
	pthread_mutex_t ssl_lock; /* see the header comment */
	bool let_go;              /* the loop let the client go: the thread is done with it */
	bool write_pending;       /* an SSL_write waits to be retried: no other record now */
	bool starved;             /* SSL_read wants more than the bytes it holds: poll */
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

/* OpenSSL 3 reports a stream cut without a TLS close as an error of its own. */
static bool tls_unexpected_eof(unsigned long code)
{
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
	return ERR_GET_LIB(code) == ERR_LIB_SSL &&
	       ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#else
	return false;
#endif
}

/*
 * On the thread, an SSL call failed for good (error from SSL_get_error): one
 * line says why, unless the client simply closed. 0 for the end of the
 * client's stream, else -errno. TLS 1.3 has no renegotiation to refuse; a key
 * update is handled inside SSL_read.
 */
static int tls_failed(struct tls_transport *t, const char *what, int rc, int error)
{
	unsigned long code = ERR_get_error();
	int saved = errno;
	char reason[200];

	ERR_clear_error();
	if (error == SSL_ERROR_ZERO_RETURN) {
		log_debug("TLS from %s: the client closed its side", t->settings.peer);
		return 0;
	}
	if ((error == SSL_ERROR_SYSCALL && code == 0 && (rc == 0 || saved == 0)) ||
	    tls_unexpected_eof(code)) {
		/* Cut without a TLS close: an ordinary end, as on the loop. */
		log_debug("TLS from %s: the connection closed without a TLS close",
		          t->settings.peer);
		return 0;
	}
	t->broken = true;
	if (error == SSL_ERROR_SYSCALL && code == 0) {
		log_info("TLS from %s: %s: %s; closing", t->settings.peer, what, strerror(saved));
		return -saved;
	}
	if (code != 0)
		ERR_error_string_n(code, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "OpenSSL error %d", error);
	log_warnx("TLS from %s: %s: %s; closing", t->settings.peer, what, reason);
	return -EPROTO;
}

/*
 * On the thread, the SSL call before wants the socket ready for events: wait
 * (ssl_lock let go meanwhile) as for a plaintext reply, but no longer than the
 * idle timeout, and not at all once the session is being cut or killed.
 */
static int tls_wait(struct tls_transport *t, short events)
{
	const int given_up = SERVE_SHUTDOWN | SERVE_ABORT | SERVE_KILL;
	int rc;

	t->write_pending = events == POLLOUT;
	pthread_mutex_unlock(&t->ssl_lock);
	rc = serve_wait_ready(&t->serve, t->fd, events, t->last_input, t->serve.limits.idle_timeout,
	                      given_up);
	pthread_mutex_lock(&t->ssl_lock);
	if (t->let_go)
		rc = -EPIPE;
	return rc;
}

/* On the thread, with ssl_lock held: all of data, waiting for the socket as needed. */
static int tls_write_all(struct tls_transport *t, const void *data, size_t length)
{
	const char *next = data;

	while (length > 0) {
		int n, error, rc;

		ERR_clear_error();
		errno = 0;
		n = SSL_write(t->ssl, next, length > INT_MAX ? INT_MAX : (int)length);
		if (n > 0) {
			t->write_pending = false;
			next += n;
			length -= (size_t)n;
			continue;
		}
		error = SSL_get_error(t->ssl, n);
		if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
			rc = tls_wait(t, error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
			if (rc < 0)
				return rc; /* write_pending stays: the SSL holds half a record */
			continue;
		}
		rc = tls_failed(t, "write", n, error);
		return rc < 0 ? rc : -EPIPE;
	}
	return 0;
}

/* On the thread: the whole reply now, unless the client was let go. */
static int tls_send_on_drive(struct tls_transport *t, const struct iovec *iov, int count)
{
	size_t total = 0;
	int rc = 0;

	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	pthread_mutex_lock(&t->ssl_lock);
	if (t->let_go || t->broken) {
		rc = -EPIPE;
	} else if (count > 1 && total <= TLS_GATHER_MAX) {
		/* One record, one write(2), instead of one per part. */
		size_t at = 0;

		for (int i = 0; i < count; i++) {
			memcpy(t->gather + at, iov[i].iov_base, iov[i].iov_len);
			at += iov[i].iov_len;
		}
		rc = tls_write_all(t, t->gather, total);
	} else {
		for (int i = 0; i < count && rc == 0; i++)
			rc = tls_write_all(t, iov[i].iov_base, iov[i].iov_len);
	}
	if (rc < 0)
		t->broken = true;
	pthread_mutex_unlock(&t->ssl_lock);
	return rc;
}

static int tls_send(void *context, const struct iovec *iov, int count)
{
	struct tls_transport *t = context;

	if (t->on_drive)
		return tls_send_on_drive(t, iov, count);
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

	if (t->session == NULL || t->pumping || t->on_drive)
		return; /* on a drive's thread the serve loop reads when the session has room */
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

/* ---------------------------------------------------------------- on a drive's thread */

static struct session *tls_io_session(void *context)
{
	return ((struct tls_transport *)context)->session;
}

static time_t tls_io_last_input(void *context)
{
	return ((struct tls_transport *)context)->last_input;
}

static void tls_io_note_input(void *context)
{
	((struct tls_transport *)context)->last_input = time(NULL);
}

static void tls_io_set_blocking(void *context)
{
	/* The socket stays nonblocking: SSL calls wait in poll, where commands reach them. */
}

static int tls_io_input_fd(void *context)
{
	return ((struct tls_transport *)context)->fd;
}

static ssize_t tls_io_receive(void *context, void *buffer, size_t length)
{
	struct tls_transport *t = context;
	int n, error = SSL_ERROR_NONE;

	if (evbuffer_get_length(t->carried) > 0)
		return evbuffer_remove(t->carried, buffer, length);
	pthread_mutex_lock(&t->ssl_lock);
	if (t->let_go || t->broken) {
		pthread_mutex_unlock(&t->ssl_lock);
		return 0;
	}
	ERR_clear_error();
	errno = 0;
	n = SSL_read(t->ssl, buffer, length > INT_MAX ? INT_MAX : (int)length);
	t->starved = false;
	if (n <= 0)
		error = SSL_get_error(t->ssl, n);
	else
		t->write_pending = false;
	if (error == SSL_ERROR_WANT_WRITE) {
		/* TLS 1.3 may answer a key update before it reads on. */
		tls_wait(t, POLLOUT);
		n = -EAGAIN;
	} else if (error == SSL_ERROR_WANT_READ) {
		t->starved = true; /* what it holds is part of a record: the rest is on its way */
		n = -EAGAIN;
	} else if (error != SSL_ERROR_NONE) {
		n = tls_failed(t, "read", n, error);
	}
	pthread_mutex_unlock(&t->ssl_lock);
	return n;
}

/*
 * Bytes inside the SSL object do not make the socket readable: decrypted ones
 * (SSL_pending()), and with read-ahead whole records read at once, unless
 * what it holds is only part of one.
 */
static bool tls_io_input_buffered(void *context)
{
	struct tls_transport *t = context;
	bool buffered;

	if (evbuffer_get_length(t->carried) > 0)
		return true;
	pthread_mutex_lock(&t->ssl_lock);
	buffered = !t->let_go && !t->broken &&
	           (SSL_pending(t->ssl) > 0 || (!t->starved && SSL_has_pending(t->ssl)));
	pthread_mutex_unlock(&t->ssl_lock);
	return buffered;
}

static const struct serve_io tls_serve_io = {
    .session = tls_io_session,
    .last_input = tls_io_last_input,
    .note_input = tls_io_note_input,
    .set_blocking = tls_io_set_blocking,
    .input_fd = tls_io_input_fd,
    .receive = tls_io_receive,
    .input_buffered = tls_io_input_buffered,
};

/* On the drive's thread: serve the session until it closes its device or ends. */
static void tls_serve_call(struct job *job)
{
	struct tls_transport *t = job->arg;

	serve_run_io(&t->serve, &tls_serve_io, t);
}

/*
 * On the loop: the thread is done with the connection. Input it did not take
 * goes back to the bufferevent, with the whole records the SSL object holds
 * (libevent would not look for those before the socket turns readable). Part
 * of a record may stay there: its rest has yet to come, and wakes libevent.
 */
static void tls_serve_done(struct job *job, void *arg)
{
	struct tls_transport *t = arg;
	struct evbuffer *input = bufferevent_get_input(t->bev);

	t->on_drive = false;
	evbuffer_prepend_buffer(input, t->carried);
	while (!t->broken && !t->let_go && SSL_has_pending(t->ssl)) {
		struct evbuffer_iovec space;
		int n;

		if (evbuffer_reserve_space(input, TLS_GATHER_MAX, &space, 1) < 1)
			break;
		n = SSL_read(t->ssl, space.iov_base, (int)space.iov_len);
		if (n <= 0) {
			ERR_clear_error();
			break;
		}
		space.iov_len = (size_t)n;
		evbuffer_commit_space(input, &space, 1);
	}
	/* libevent reads only when the socket is readable: no read-ahead for it. */
	SSL_set_read_ahead(t->ssl, 0);
	t->last_input = time(NULL); /* the idle and request clocks start again */
	if (!t->broken)
		bufferevent_enable(t->bev, EV_WRITE);
	session_back_from_drive(t->session); /* may end the session; t lives till the next turn */
	tls_input_changed(t);
}

/* A fresh turn of the loop: hand the connection over if the session still may go. */
static void tls_move(evutil_socket_t fd, short what, void *arg)
{
	struct tls_transport *t = arg;

	/*
	 * Nothing queued, and OpenSSL waits to write nothing (a key update's answer):
	 * libevent has no SSL call half done that would want its events back.
	 */
	if (t->session == NULL || t->on_drive || t->broken || t->finishing ||
	    evbuffer_get_length(bufferevent_get_output(t->bev)) > 0 || SSL_want_write(t->ssl) ||
	    !session_may_move(t->session))
		return;
	if (!t->serve_ready) {
		t->gather = malloc(TLS_GATHER_MAX);
		if (t->gather == NULL || serve_init(&t->serve, &(struct serve_limits){0}) < 0) {
			log_warn("session stays on the loop: no command descriptor");
			free(t->gather);
			t->gather = NULL;
			return;
		}
		t->serve_ready = true;
	}
	/* No callbacks, reads or writes from the loop while the thread has the SSL object. */
	bufferevent_disable(t->bev, EV_READ | EV_WRITE);
	evbuffer_add_buffer(t->carried, bufferevent_get_input(t->bev));
	/* On the thread one read(2) takes a whole record, or several: no header first. */
	SSL_set_read_ahead(t->ssl, 1);
	t->on_drive = true;
	t->let_go = false;
	t->write_pending = false;
	t->starved = false;
	memset(&t->serve_job, 0, sizeof(t->serve_job));
	t->serve_job.call = tls_serve_call;
	t->serve_job.done = tls_serve_done;
	t->serve_job.arg = t;
	session_move_to_drive(t->session, &t->serve, &t->serve_job);
}

static void tls_move_to_drive(void *context)
{
	struct tls_transport *t = context;

	if (!t->on_drive)
		event_active(t->move_event, EV_TIMEOUT, 0);
}

/*
 * The loop, a second after an abort's grace, with the thread stuck in a device
 * call: under ssl_lock the thread is in no SSL call, so the loop may use the
 * SSL object this once for the last word, a record of its own (best effort on
 * the nonblocking socket), unless a record the thread began is still half
 * sent: another one would corrupt the stream, so then the client only sees the
 * connection end. The socket is shut down either way; the thread finds that
 * when its call returns.
 */
static void tls_let_go(void *context, const void *last_reply, size_t length)
{
	struct tls_transport *t = context;

	pthread_mutex_lock(&t->ssl_lock);
	t->let_go = true;
	if (t->write_pending || t->broken) {
		log_info("TLS from %s: a reply is half sent; closing without the last word",
		         t->settings.peer);
	} else if (SSL_write(t->ssl, last_reply, (int)length) <= 0) {
		log_debug("last reply not delivered over TLS");
		ERR_clear_error();
	}
	shutdown(t->fd, SHUT_RDWR);
	pthread_mutex_unlock(&t->ssl_lock);
}

static const struct session_transport tls_session_ops = {
    .send = tls_send,
    .finished = tls_session_finished,
    .input_changed = tls_input_changed,
    .output_full = tls_output_full,
    .move_to_drive = tls_move_to_drive,
    .let_go = tls_let_go,
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
	t->ssl = ssl;
	t->fd = fd;
	pthread_mutex_init(&t->ssl_lock, NULL);
	t->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	if (t->bev == NULL) {
		SSL_free(ssl);
		close(fd);
		pthread_mutex_destroy(&t->ssl_lock);
		free(t);
		return NULL;
	}
	t->move_event = event_new(base, -1, 0, tls_move, t);
	t->carried = evbuffer_new();
	if (t->move_event == NULL || t->carried == NULL) {
		tls_transport_free(t);
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
	if (t->move_event != NULL)
		event_free(t->move_event);
	if (t->carried != NULL)
		evbuffer_free(t->carried);
	if (t->serve_ready)
		serve_destroy(&t->serve);
	free(t->gather);
	pthread_mutex_destroy(&t->ssl_lock);
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
