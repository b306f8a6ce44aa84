/*
 * server.h - the TCP daemon: listening sockets, accepted connections, their
 * limits and timeouts, and a graceful end.
 *
 * One libevent loop owns every socket. Accepted connections become sessions
 * over an fd transport; drives run their device calls on worker threads, so a
 * rewinding drive never slows the others, new connections or the control socket.
 */
#ifndef RMTD_SERVER_H
#define RMTD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "session.h"

struct event_base;
struct drive_registry;
struct config;
struct tls_context;

struct server_limits {
	int max_sessions;          /* in total */
	int max_sessions_per_peer; /* per peer address */
	int idle_timeout;          /* seconds between requests before a session is closed */
	int request_timeout;       /* seconds a half-sent request may take */
	uint64_t max_record;
};

struct server;

struct server *server_create(struct event_base *base, struct drive_registry *drives,
                             struct config *config, const struct server_limits *limits);
void server_free(struct server *server);

/*
 * Listen on "host:port", "[v6]:port" or ":port"/"port" (loopback). Plaintext:
 * -EACCES unless every address the host resolves to is a loopback address.
 * 0 or -errno.
 */
int server_listen(struct server *server, const char *address);
/* Plaintext on any address: a network the configuration says is trusted. */
int server_listen_trusted(struct server *server, const char *address);
/* The same with TLS and client certificates (tls.c); the context must outlive the server. */
int server_listen_tls(struct server *server, const char *address, struct tls_context *tls);
/* The context for handshakes from now on (SIGHUP); running sessions keep theirs. */
void server_set_tls(struct server *server, struct tls_context *tls);
/* Adopt the sockets systemd passed (LISTEN_PID/LISTEN_FDS). Returns how many, or -errno. */
int server_adopt_systemd_sockets(struct server *server);
/* Serve one already-accepted connection (inetd: the socket on standard input). */
int server_serve_connection(struct server *server, int fd);
/* Start accepting on every listener. */
void server_start(struct server *server);

/* SIGTERM: stop accepting; let each session finish its record and close its device. */
void server_shutdown(struct server *server);
/* Exit once the last session has ended, without ending any (inetd). */
void server_exit_when_idle(struct server *server);
/* True once shut down (or told to exit when idle) and every session has ended. */
bool server_finished(const struct server *server);
/* Replace the limits and policy (SIGHUP); running sessions keep theirs. */
void server_reconfigure(struct server *server, struct config *config,
                        const struct server_limits *limits);

/* Walk the sessions (for the control socket). */
void server_foreach_session(struct server *server,
                            void (*visit)(struct session *session, void *arg), void *arg);

/* Tell systemd we are ready (NOTIFY_SOCKET), if it asked. */
void server_notify_systemd(const char *state);

#endif
