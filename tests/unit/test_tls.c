/*
 * test_tls.c - the TLS transport over a socket pair, with a CA, a server and
 * clients made by the openssl tool: a client whose certificate the CA signed
 * gets a session under its certificate's subject, answered over TLS; a client
 * without a certificate, or with one another CA signed, gets no session and the
 * transport ends. A session with its device open is served on the drive's
 * thread, SSL object and all, and given back to the loop at the close: input
 * OpenSSL holds (decrypted, or whole records read ahead) is answered without
 * more input on either side, half a record is waited for in poll, and a kill,
 * SIGTERM, the idle timeout and a release reach the session there.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "drive.h"
#include "log.h"
#include "path.h"
#include "session.h"
#include "tls.h"

static char directory[64]; /* short: paths built from it must fit */
static struct event_base *base;
static struct drive_registry drives;
static struct config *config;
static struct tls_context *context;
static struct tls_transport *transport;
static bool ended;
static int idle_timeout; /* seconds, for the sessions connect_client() starts */

static void run(const char *command)
{
	char line[PATH_MAX * 4];

	snprintf(line, sizeof(line), "cd '%s' && (%s) >/dev/null 2>&1", directory, command);
	cr_assert_eq(system(line), 0, "%s", command);
}

#define KEY "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

static void issue(const char *name, const char *ca)
{
	char command[1024];

	snprintf(command, sizeof(command),
	         "openssl req " KEY " -keyout %s.key -out %s.csr -subj /CN=%s.example.org && "
	         "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key -CAcreateserial "
	         "-out %s.crt -days 30",
	         name, name, name, name, ca, ca, name);
	run(command);
}

static void setup(void)
{
	char template[] = "/tmp/rmtd-tls-XXXXXX", error[256];

	cr_assert_eq(evthread_use_pthreads(), 0); /* the drive's thread wakes the loop */
	signal(SIGPIPE, SIG_IGN);                 /* as rmtd does: a client gone is an error */
	cr_assert_not_null(mkdtemp(template));
	snprintf(directory, sizeof(directory), "%s", template);
	run("openssl req -x509 " KEY " -keyout ca.key -out ca.crt -days 30 -subj /CN=ca");
	run("openssl req -x509 " KEY " -keyout other.key -out other.crt -days 30 -subj /CN=other");
	issue("server", "ca");
	issue("client", "ca");
	issue("stranger", "other");

	base = event_base_new();
	drive_registry_init(&drives, base, true, 0);
	drives.stop_grace = 1;
	config = config_new();
	cr_assert_not_null(config);
	cr_assert_eq(path_policy_allow(&config->policy, directory, true), 0);
	snprintf(config->tls_certificate, sizeof(config->tls_certificate), "%s/server.crt",
	         directory);
	snprintf(config->tls_key, sizeof(config->tls_key), "%s/server.key", directory);
	snprintf(config->tls_ca, sizeof(config->tls_ca), "%s/ca.crt", directory);
	context = tls_context_create(config, error, sizeof(error));
	cr_assert_not_null(context, "%s", error);
	ended = false;
	idle_timeout = 0;
}

static void teardown(void)
{
	char command[PATH_MAX + 16];

	if (transport != NULL)
		tls_transport_free(transport);
	transport = NULL;
	tls_context_free(context);
	drive_registry_free(&drives);
	config_release(config);
	event_base_free(base);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	(void)!system(command);
}

TestSuite(tls, .init = setup, .fini = teardown, .timeout = 60);

static void finished(struct tls_transport *t, const char *why, void *arg)
{
	ended = true;
}

static void pump(void)
{
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	usleep(1000);
}

/* A client with this certificate (NULL: none) connected to a new TLS transport. */
static SSL *connect_client(const char *name, int *client_fd)
{
	struct session_settings settings;
	char path[PATH_MAX * 2];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	int pair[2];

	cr_assert_not_null(ctx);
	snprintf(path, sizeof(path), "%s/ca.crt", directory);
	cr_assert_eq(SSL_CTX_load_verify_locations(ctx, path, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (name != NULL) {
		snprintf(path, sizeof(path), "%s/%s.crt", directory, name);
		cr_assert_eq(SSL_CTX_use_certificate_file(ctx, path, SSL_FILETYPE_PEM), 1);
		snprintf(path, sizeof(path), "%s/%s.key", directory, name);
		cr_assert_eq(SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM), 1);
	}
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	fcntl(pair[0], F_SETFL, O_NONBLOCK);
	fcntl(pair[1], F_SETFL, O_NONBLOCK); /* as the listener accepts them */
	memset(&settings, 0, sizeof(settings));
	settings.config = config;
	settings.drives = &drives;
	settings.max_record = 1024 * 1024;
	settings.input_buffer_size = 4096;
	settings.peer = "local";
	settings.identity = "local";
	settings.idle_timeout = idle_timeout;
	transport = tls_transport_create(base, context, pair[1], &settings, finished, NULL);
	cr_assert_not_null(transport);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx); /* the SSL holds its own reference */
	SSL_set_fd(ssl, pair[0]);
	*client_fd = pair[0];
	return ssl;
}

/* Drive the client's handshake and the server's loop together: 1 done, 0 failed. */
static int handshake(SSL *ssl)
{
	for (int i = 0; i < 5000 && !ended; i++) {
		int rc = SSL_connect(ssl);

		if (rc == 1)
			return 1;
		int error = SSL_get_error(ssl, rc);

		if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE)
			return 0;
		pump();
	}
	return 0;
}

/* Read a reply over TLS; "" at the end of the connection. */
static void receive(SSL *ssl, char *out, size_t length)
{
	size_t have = 0;

	for (int i = 0; i < 5000 && have < length; i++) {
		int n = SSL_read(ssl, out + have, (int)(length - have));

		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ)
			break;
		pump();
	}
	out[have] = '\0';
}

Test(tls, a_client_the_ca_signed_gets_a_session_under_its_subject)
{
	struct session_activity activity;
	char reply[16];
	int fd;
	SSL *ssl = connect_client("client", &fd);

	cr_assert_eq(handshake(ssl), 1);
	cr_assert_eq(SSL_write(ssl, "V0\n", 3), 3);
	receive(ssl, reply, 3);
	cr_assert_str_eq(reply, "A2\n");
	cr_assert_not_null(tls_transport_session(transport));
	session_activity(tls_transport_session(transport), &activity);
	cr_assert_not_null(strstr(activity.identity, "client.example.org"), "%s",
	                   activity.identity);
	/* The client leaves: the session ends and the transport is handed back. */
	SSL_shutdown(ssl);
	close(fd);
	for (int i = 0; i < 2000 && !ended; i++)
		pump();
	cr_assert(ended);
	SSL_free(ssl);
}

static void refused(const char *name)
{
	char reply[16];
	int fd;
	SSL *ssl = connect_client(name, &fd);

	/* TLS 1.3 may finish the client's side before the server checks the certificate. */
	if (handshake(ssl) == 1) {
		(void)SSL_write(ssl, "V0\n", 3);
		receive(ssl, reply, 3);
		cr_assert_str_eq(reply, "", "a session answered");
	}
	for (int i = 0; i < 2000 && !ended; i++)
		pump();
	cr_assert(ended, "the transport did not end");
	cr_assert_null(tls_transport_session(transport));
	SSL_free(ssl);
	close(fd);
}

Test(tls, a_client_without_a_certificate_gets_no_session)
{
	refused(NULL);
}

Test(tls, a_client_another_ca_signed_gets_no_session)
{
	refused("stranger");
}

/* Send all of text over TLS, running the loop while the socket is full. */
static void send_all(SSL *ssl, const void *text, size_t length)
{
	for (int i = 0; i < 5000; i++) {
		int n = SSL_write(ssl, text, (int)length);

		if (n == (int)length)
			return;
		cr_assert_eq(SSL_get_error(ssl, n), SSL_ERROR_WANT_WRITE, "client write failed");
		pump();
	}
	cr_assert_fail("the server took no input");
}

static void expect(SSL *ssl, const char *expected)
{
	char reply[256];

	receive(ssl, reply, strlen(expected));
	cr_assert_str_eq(reply, expected);
}

/* The session's drive is served on its thread (within 5 s). */
static void wait_for_phase(enum session_phase phase)
{
	for (int i = 0; i < 5000 && session_phase(tls_transport_session(transport)) != phase; i++)
		pump();
	cr_assert_eq(session_phase(tls_transport_session(transport)), phase);
}

static struct drive *drive_of(const char *name)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	return drive_find(&drives, path);
}

static off_t file_size(const char *name)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	return stat(path, &st) < 0 ? -1 : st.st_size;
}

/* A client that completed its handshake, with the file name open and the session moved. */
static SSL *open_on_thread(const char *name, int *fd)
{
	char request[PATH_MAX * 2];
	SSL *ssl = connect_client("client", fd);

	cr_assert_eq(handshake(ssl), 1);
	snprintf(request, sizeof(request), "O%s/%s\n66 O_RDWR|O_CREAT\n", directory, name);
	send_all(ssl, request, strlen(request));
	expect(ssl, "A0\n");
	/* Busy to the loop: the drive's thread serves it, with its SSL object. */
	wait_for_phase(SESSION_PHASE_BUSY);
	cr_assert_not_null(drive_of(name));
	cr_assert(drive_of(name)->served, "the drive's thread serves the TLS session");
	return ssl;
}

/* Run the loop until the session ends (at most 5000 turns); true if it did. */
static bool pump_until_ended(void)
{
	for (int i = 0; i < 5000 && !ended; i++)
		pump();
	return ended;
}

static bool drive_is_free(const char *name)
{
	return drive_of(name) == NULL || drive_of(name)->holder == NULL;
}

/* The session ends with nothing more said, and lets "f" go; the client hangs up. */
static void expect_ended_silently(SSL *ssl, int fd, const char *what)
{
	char reply[64];

	cr_assert(pump_until_ended(), "the session did not end (%s)", what);
	cr_assert(drive_is_free("f"), "the drive is free");
	receive(ssl, reply, sizeof(reply) - 1);
	cr_assert_str_eq(reply, "", "output after the end (%s)", what);
	SSL_free(ssl);
	close(fd);
}

/* rmtd's log (stderr) goes to a file from here until log_capture_end(). */
struct log_capture {
	int saved, fd;
	char text[8192];
};

static void log_capture_begin(struct log_capture *c, int verbosity)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/server.log", directory);
	c->saved = dup(2);
	c->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(c->fd, 0);
	cr_assert_geq(dup2(c->fd, 2), 0);
	log_init("rmtd", 1, verbosity);
}

/* Stderr back; c->text holds what was logged. */
static void log_capture_end(struct log_capture *c)
{
	ssize_t length;

	dup2(c->saved, 2);
	length = pread(c->fd, c->text, sizeof(c->text) - 1, 0);
	cr_assert_geq(length, 0);
	c->text[length] = '\0';
	close(c->fd);
	close(c->saved);
}

/* The client leaves; the session ends and the transport is handed back (within 5 s). */
static void leave(SSL *ssl, int fd)
{
	SSL_shutdown(ssl);
	close(fd);
	cr_assert(pump_until_ended(), "the session did not end");
	SSL_free(ssl);
}

Test(tls, a_session_with_its_device_open_is_served_on_the_drive_thread)
{
	int fd;
	SSL *ssl = open_on_thread("f", &fd);

	send_all(ssl, "W5\nhello", 8);
	expect(ssl, "A5\n");
	send_all(ssl, "L0\n0\n", 5);
	expect(ssl, "A0\n");
	send_all(ssl, "R5\n", 3);
	expect(ssl, "A5\nhello");
	/* Pipelined: answered in order. */
	send_all(ssl, "W3\nabcL0\n0\nR8\n", 14);
	expect(ssl, "A3\nA0\nA8\nhelloabc");
	cr_assert(drive_of("f")->served);
	send_all(ssl, "C\n", 2);
	expect(ssl, "A0\n");
	/* Back on the loop with the drive let go; the loop answers again. */
	wait_for_phase(SESSION_PHASE_IDLE);
	cr_assert(drive_is_free("f"), "the drive is free");
	send_all(ssl, "I-1\n0\n", 6);
	expect(ssl, "A1\n");
	leave(ssl, fd);
	cr_assert_eq(file_size("f"), 8);
}

/*
 * Requests that arrive in one TLS record larger than the session's input
 * buffer: the rest waits decrypted inside the SSL object, where poll cannot
 * see it, and is answered without any more input.
 */
Test(tls, requests_left_decrypted_in_the_ssl_object_are_answered)
{
	static char batch[3 * 3010];
	char record[3000];
	size_t length = 0;
	int fd;
	SSL *ssl = open_on_thread("f", &fd);

	memset(record, 'x', sizeof(record));
	for (int i = 0; i < 3; i++) {
		length += (size_t)sprintf(batch + length, "W%zu\n", sizeof(record));
		memcpy(batch + length, record, sizeof(record));
		length += sizeof(record);
	}
	send_all(ssl, batch, length); /* one SSL_write under 16 KiB: one record */
	expect(ssl, "A3000\nA3000\nA3000\n");
	send_all(ssl, "C\n", 2);
	expect(ssl, "A0\n");
	leave(ssl, fd);
	cr_assert_eq(file_size("f"), 9000);
}

Test(tls, a_kill_reaches_a_tls_session_on_the_drive_thread)
{
	int fd;
	SSL *ssl = open_on_thread("f", &fd);

	send_all(ssl, "W5\nhello", 8);
	expect(ssl, "A5\n");
	session_abort(tls_transport_session(transport), "aborted by the operator (test)");
	expect(ssl, "E125\nSession aborted by the operator\n");
	expect_ended_silently(ssl, fd, "abort");
	cr_assert_eq(file_size("f"), 5);
}

Test(tls, a_kill_cuts_a_half_sent_record_on_the_drive_thread)
{
	int fd;
	SSL *ssl = open_on_thread("f", &fd);

	send_all(ssl, "W10\nhello", 9);
	for (int i = 0; i < 20; i++)
		pump();
	session_abort(tls_transport_session(transport), "aborted by the operator (test)");
	/* The rest never comes: cut at the grace (1 s), never written. */
	expect(ssl, "E125\nSession aborted by the operator\n");
	cr_assert(pump_until_ended(), "the session did not end");
	SSL_free(ssl);
	close(fd);
	cr_assert_eq(file_size("f"), 0);
}

Test(tls, sigterm_finishes_the_record_on_the_drive_thread_then_ends)
{
	int fd;
	SSL *ssl = open_on_thread("f", &fd);

	send_all(ssl, "W10\nhello", 9);
	for (int i = 0; i < 20; i++)
		pump();
	session_shutdown(tls_transport_session(transport));
	for (int i = 0; i < 20; i++)
		pump();
	send_all(ssl, "world", 5);
	expect(ssl, "A10\nE108\nrmtd shutting down\n");
	cr_assert(pump_until_ended(), "the session did not end");
	SSL_free(ssl);
	close(fd);
	cr_assert_eq(file_size("f"), 10);
}

/*
 * Requests in two TLS records that reach the thread together: the thread
 * reads both at once and serves the first, whose close gives the session
 * back; the second, left whole inside the SSL object, is answered on the loop
 * without any more input.
 */
Test(tls, a_record_left_in_the_ssl_object_at_the_hand_back_is_answered)
{
	int fd;
	SSL *ssl = open_on_thread("f", &fd);

	send_all(ssl, "W5\nhelloC\n", 10);
	send_all(ssl, "I-1\n0\n", 6);
	expect(ssl, "A5\nA0\nA1\n");
	leave(ssl, fd);
	cr_assert_eq(file_size("f"), 5);
}

static double cpu_seconds(void)
{
	struct rusage usage;

	getrusage(RUSAGE_SELF, &usage);
	return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
	       (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/*
 * Half a TLS record, the rest a second later: the thread waits in poll for the
 * rest (it does not spin on the half it holds), then answers.
 */
Test(tls, half_a_record_is_waited_for_in_poll)
{
	unsigned char wire[512];
	BIO *memory = BIO_new(BIO_s_mem());
	int fd, length;
	double before;
	SSL *ssl = open_on_thread("f", &fd);

	/* The record goes to memory first, then to the socket in two parts. */
	cr_assert_not_null(memory);
	SSL_set0_wbio(ssl, memory);
	cr_assert_eq(SSL_write(ssl, "W5\nhello", 8), 8);
	length = BIO_read(memory, wire, sizeof(wire));
	cr_assert_gt(length, 10);
	SSL_set0_wbio(ssl, BIO_new_socket(fd, BIO_NOCLOSE));
	cr_assert_eq(write(fd, wire, 10), 10);
	before = cpu_seconds();
	for (int i = 0; i < 1000; i++)
		usleep(1000);
	cr_assert_lt(cpu_seconds() - before, 0.1, "%.2f s of CPU while half a record waited",
	             cpu_seconds() - before);
	cr_assert_eq(write(fd, wire + 10, (size_t)length - 10), length - 10);
	expect(ssl, "A5\n");
	leave(ssl, fd);
	cr_assert_eq(file_size("f"), 5);
}

Test(tls, the_idle_timeout_ends_a_tls_session_on_the_drive_thread)
{
	int fd;
	SSL *ssl;

	idle_timeout = 1;
	ssl = open_on_thread("f", &fd);
	send_all(ssl, "W5\nhello", 8);
	expect(ssl, "A5\n");
	/* Nothing more: the serve loop ends the session once it has been idle 1 s. */
	expect_ended_silently(ssl, fd, "idle");
	cr_assert_eq(file_size("f"), 5);
}

Test(tls, release_takes_the_drive_back_from_a_tls_session_on_the_thread)
{
	int fd;
	SSL *ssl = open_on_thread("f", &fd);

	cr_assert(session_take_back_drive(tls_transport_session(transport)));
	wait_for_phase(SESSION_PHASE_IDLE);
	for (int i = 0; i < 5000 && drive_of("f") != NULL && drive_of("f")->holder != NULL; i++)
		pump();
	cr_assert(drive_is_free("f"), "the drive is free");
	/* The session lives on, on the loop, over the same TLS connection. */
	send_all(ssl, "W2\nok", 5);
	expect(ssl, "E125\nDrive taken back by the operator\n");
	send_all(ssl, "I-1\n0\n", 6);
	expect(ssl, "A1\n");
	leave(ssl, fd);
}

/* The client's bytes are not TLS: the thread ends the session, and says why in one line. */
Test(tls, a_tls_error_on_the_drive_thread_ends_the_session_with_one_line)
{
	static const char bogus[] = "\x17\x03\x03\x00\x20"
	                            "not a record this key encrypted!";
	static struct log_capture log;
	int fd, lines = 0;
	bool over;
	SSL *ssl;

	log_capture_begin(&log, 0);
	ssl = open_on_thread("f", &fd);
	cr_assert_eq(write(fd, bogus, sizeof(bogus) - 1), (ssize_t)sizeof(bogus) - 1);
	over = pump_until_ended();
	log_capture_end(&log);
	cr_assert(over, "the session did not end: %s", log.text);
	cr_assert(drive_is_free("f"), "the drive is free");
	for (const char *at = log.text; (at = strstr(at, "TLS from local: read: ")) != NULL; at++)
		lines++;
	cr_assert_eq(lines, 1, "one line for the TLS error: %s", log.text);
	cr_assert_not_null(strstr(log.text, "; closing\n"), "%s", log.text);
	SSL_free(ssl);
	close(fd);
}

/* A client that vanishes without a TLS close has simply gone: no TLS error is logged. */
Test(tls, a_client_cut_without_a_tls_close_on_the_drive_thread_just_ends)
{
	static struct log_capture log;
	int fd;
	bool over;
	SSL *ssl;

	log_capture_begin(&log, 1);
	ssl = open_on_thread("f", &fd);
	send_all(ssl, "W5\nhello", 8);
	expect(ssl, "A5\n");
	close(fd);
	over = pump_until_ended();
	log_capture_end(&log);
	cr_assert(over, "the session did not end: %s", log.text);
	cr_assert(drive_is_free("f"), "the drive is free");
	cr_assert_null(strstr(log.text, "TLS from local: read"), "%s", log.text);
	cr_assert_not_null(strstr(log.text, "ended (client closed)"), "%s", log.text);
	SSL_free(ssl);
	cr_assert_eq(file_size("f"), 5);
}

/* Records larger than a TLS record, both ways: never spliced, every byte in place. */
Test(tls, a_large_record_goes_both_ways_on_the_drive_thread)
{
	static char data[200000], back[sizeof(data) + 16];
	char header[32];
	int fd, n;
	SSL *ssl = open_on_thread("f", &fd);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + i / 251);
	n = snprintf(header, sizeof(header), "W%zu\n", sizeof(data));
	send_all(ssl, header, (size_t)n);
	for (size_t at = 0; at < sizeof(data); at += 16384)
		send_all(ssl, data + at, sizeof(data) - at < 16384 ? sizeof(data) - at : 16384);
	expect(ssl, "A200000\n");
	send_all(ssl, "L0\n0\n", 5);
	expect(ssl, "A0\n");
	send_all(ssl, "R200000\n", 8);
	expect(ssl, "A200000\n");
	receive(ssl, back, sizeof(data));
	cr_assert_eq(memcmp(back, data, sizeof(data)), 0, "the record read back differs");
	cr_assert(drive_of("f")->served);
	leave(ssl, fd);
	cr_assert_eq(file_size("f"), (off_t)sizeof(data));
}
