/*
 * server.c - the TCP daemon's listeners, accepted connections, limits, timeouts and shutdown.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "rmt/protocol.h"
#include "config.h"
#include "drive.h"
#include "server.h"
#include "log.h"
#include "number.h"
#include "path.h"
#include "tls.h"
#include "transport.h"

/* When no descriptor can be had even for a refusal, accepting pauses this long. */
#define ACCEPT_BACKOFF_SECONDS 1
/* Out of descriptors: at most this many waiting connections refused per wake-up. */
#define ACCEPT_REFUSALS_PER_WAKEUP 64
/* The daemon's input buffer per session: headers and small records only. */
#define SESSION_INPUT_BUFFER (16 * 1024)
/*
 * With its device open (at most one session per drive): a pipelining client's
 * run of 10 KiB records, many to a read, their answers many to a write.
 */
#define SESSION_INPUT_OPEN (256 * 1024)

struct listener {
	TAILQ_ENTRY(listener) entry;
	struct evconnlistener *listener;
	struct server *server;
	bool tls;
	char address[80];
};

/* One client connection the daemon accepted. */
struct accepted {
	TAILQ_ENTRY(accepted) entry;
	struct server *server;
	struct fd_transport *transport; /* plaintext */
	struct tls_transport *tls;      /* or TLS */
	time_t accepted;
	char peer[INET6_ADDRSTRLEN + 16]; /* address and port, for logs */
	char peer_host[INET6_ADDRSTRLEN]; /* address, for the per-peer limit */
	struct sockaddr_storage address;  /* what peer rules match on */
	uint64_t last_requests;
	time_t request_since;
};

struct server {
	struct event_base *base;
	struct drive_registry *drives;
	struct config *config;
	struct server_limits limits;
	TAILQ_HEAD(, listener) listeners;
	TAILQ_HEAD(, accepted) connections;
	int connection_count;
	struct event *sweeper;
	struct event *accept_resume;
	int accept_reserve;       /* a spare descriptor, given up to refuse when out of them */
	uint64_t accept_refusals; /* connections refused for want of descriptors */
	time_t accept_refusal_logged;
	struct tls_context *tls; /* for TLS listeners */
	bool shutting_down;
	bool exit_when_idle; /* inetd: one connection, then exit */
};

/* ---------------------------------------------------------------- connections */

static struct session *accepted_session(const struct accepted *connection)
{
	if (connection->tls != NULL)
		return tls_transport_session(connection->tls);
	return fd_transport_session(connection->transport);
}

static time_t accepted_last_input(const struct accepted *connection)
{
	if (connection->tls != NULL)
		return tls_transport_last_input(connection->tls);
	return fd_transport_last_input(connection->transport);
}

static void accepted_free(struct accepted *connection)
{
	struct server *server = connection->server;

	TAILQ_REMOVE(&server->connections, connection, entry);
	server->connection_count--;
	if (connection->tls != NULL)
		tls_transport_free(connection->tls);
	else
		fd_transport_free(connection->transport);
	free(connection);
	if (server_finished(server))
		event_base_loopbreak(server->base);
}

static void accepted_finished(struct fd_transport *transport, const char *why, void *arg)
{
	accepted_free(arg);
}

static void connection_tls_finished(struct tls_transport *transport, const char *why, void *arg)
{
	accepted_free(arg);
}

static int count_peer(const struct server *server, const char *host)
{
	const struct accepted *connection;
	int count = 0;

	TAILQ_FOREACH (connection, &server->connections, entry) {
		if (strcmp(connection->peer_host, host) == 0)
			count++;
	}
	return count;
}

static void describe_peer(const struct sockaddr *address, socklen_t length, char *host,
                          size_t host_size, char *peer, size_t peer_size)
{
	char port[8];

	if (address == NULL || length == 0 ||
	    getnameinfo(address, length, host, (socklen_t)host_size, port, sizeof(port),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(host, host_size, "unknown");
		snprintf(peer, peer_size, "unknown");
		return;
	}
	if (address->sa_family == AF_INET6)
		snprintf(peer, peer_size, "[%s]:%s", host, port);
	else
		snprintf(peer, peer_size, "%s:%s", host, port);
}

/* Refuse before any request: the client reads this as the answer to its first one. */
static void refuse_connection(int fd, const char *text)
{
	char reply[128];
	int n = snprintf(reply, sizeof(reply), "E%d\n%s\n", EBUSY, text);
	if (write(fd, reply, (size_t)n) < 0)
		log_debug("refusal not delivered: %s", strerror(errno));
	close(fd);
}

static int server_listen_secured(struct server *server, const char *address, bool tls,
                                 bool any_address);

static int accepted_start(struct server *server, int fd, const struct sockaddr *address,
                          socklen_t length, bool tls)
{
	struct session_settings settings;
	struct accepted *connection;
	int one = 1;

	connection = calloc(1, sizeof(*connection));
	if (connection == NULL) {
		close(fd);
		return -ENOMEM;
	}
	describe_peer(address, length, connection->peer_host, sizeof(connection->peer_host),
	              connection->peer, sizeof(connection->peer));
	if (server->limits.max_sessions > 0 &&
	    server->connection_count >= server->limits.max_sessions) {
		log_warnx("refused %s: %d sessions, the configured maximum", connection->peer,
		          server->connection_count);
		refuse_connection(fd, "Too many sessions: the server is at its limit");
		free(connection);
		return -EBUSY;
	}
	if (server->limits.max_sessions_per_peer > 0 &&
	    count_peer(server, connection->peer_host) >= server->limits.max_sessions_per_peer) {
		log_warnx("refused %s: %d sessions from this address, the configured maximum",
		          connection->peer, server->limits.max_sessions_per_peer);
		refuse_connection(fd, "Too many sessions from your address");
		free(connection);
		return -EBUSY;
	}
	/* A request/reply protocol stalls ~40 ms per message with Nagle and delayed ACKs. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	memset(&settings, 0, sizeof(settings));
	settings.config = server->config;
	settings.who.peer = connection->peer_host;
	if (length > 0 && length <= sizeof(connection->address)) {
		memcpy(&connection->address, address, length);
		settings.who.address = (const struct sockaddr *)&connection->address;
	}
	settings.drives = server->drives;
	settings.max_record = server->limits.max_record;
	settings.request_timeout = server->limits.request_timeout;
	settings.idle_timeout = server->limits.idle_timeout;
	settings.input_buffer_size = SESSION_INPUT_BUFFER;
	settings.input_open_size = SESSION_INPUT_OPEN;
	settings.peer = connection->peer;
	settings.identity = connection->peer_host;

	connection->server = server;
	connection->accepted = time(NULL);
	/* A first request split across a sweep is timed from the connection's start. */
	connection->request_since = connection->accepted;
	TAILQ_INSERT_TAIL(&server->connections, connection, entry);
	server->connection_count++;
	if (tls) {
		/* The session starts once the client's certificate has been checked. */
		connection->tls = tls_transport_create(server->base, server->tls, fd, &settings,
		                                       connection_tls_finished, connection);
		if (connection->tls != NULL)
			return 0;
	} else {
		connection->transport = fd_transport_create(server->base, fd, fd, &settings,
		                                            accepted_finished, connection);
	}
	if (connection->transport == NULL) {
		TAILQ_REMOVE(&server->connections, connection, entry);
		server->connection_count--;
		close(fd);
		free(connection);
		return -ENOMEM;
	}
	return 0;
}

/* ---------------------------------------------------------------- listeners */

static void accept_connection(struct evconnlistener *evl, evutil_socket_t fd,
                              struct sockaddr *address, int length, void *arg)
{
	struct listener *listener = arg;

	accepted_start(listener->server, fd, address, (socklen_t)length, listener->tls);
}

/* Whatever the cause, reopen the spare descriptor as soon as one is free. */
static void accept_reserve_take(struct server *server)
{
	if (server->accept_reserve < 0)
		server->accept_reserve = eventfd(0, EFD_CLOEXEC);
}

static void accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct server *server = arg;
	struct listener *listener;

	accept_reserve_take(server);
	TAILQ_FOREACH (listener, &server->listeners, entry)
		evconnlistener_enable(listener->listener);
}

static void accept_pause(struct server *server, int error)
{
	struct listener *listener;
	struct timeval backoff = {ACCEPT_BACKOFF_SECONDS, 0};

	log_warnx("accept: %s; pausing new connections for %d s", strerror(error),
	          ACCEPT_BACKOFF_SECONDS);
	TAILQ_FOREACH (listener, &server->listeners, entry)
		evconnlistener_disable(listener->listener);
	evtimer_add(server->accept_resume, &backoff);
}

/*
 * Out of descriptors: give up the spare one, accept the waiting connection,
 * tell it why and close it, then take the spare back (OpenBSD's accept reserve).
 * Clients get a clear refusal instead of a connection that hangs in the backlog.
 */
static bool accept_and_refuse(struct server *server, int listen_fd)
{
	int fd;

	if (server->accept_reserve < 0)
		return false;
	close(server->accept_reserve);
	server->accept_reserve = -1;
	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		refuse_connection(fd, "Server busy: out of file descriptors, try again later");
		server->accept_refusals++;
	}
	accept_reserve_take(server);
	return fd >= 0 && server->accept_reserve >= 0;
}

static void accept_failed(struct evconnlistener *evl, void *arg)
{
	struct listener *listener = arg;
	struct server *server = listener->server;
	int error = EVUTIL_SOCKET_ERROR();
	time_t now;

	if (error != EMFILE && error != ENFILE && error != ENOBUFS && error != ENOMEM) {
		log_warnx("accept: %s", strerror(error));
		return;
	}
	if (error == ENOBUFS || error == ENOMEM) {
		accept_pause(server, error);
		return;
	}
	for (int i = 0; i < ACCEPT_REFUSALS_PER_WAKEUP; i++)
		if (!accept_and_refuse(server, evconnlistener_get_fd(evl)))
			break;
	now = time(NULL);
	if (now != server->accept_refusal_logged) {
		server->accept_refusal_logged = now;
		log_warnx("accept: %s; refusing new connections until sessions end (%llu refused "
		          "so far)",
		          strerror(error), (unsigned long long)server->accept_refusals);
	}
	if (server->accept_reserve < 0)
		accept_pause(server, error); /* not even one descriptor for a refusal */
}

static int add_listener(struct server *server, int fd, const char *address, bool tls)
{
	struct listener *listener = calloc(1, sizeof(*listener));

	if (listener == NULL)
		return -ENOMEM;
	listener->server = server;
	listener->tls = tls;
	listener->listener = evconnlistener_new(
	    server->base, accept_connection, listener,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_DISABLED, 0, fd);
	if (listener->listener == NULL) {
		free(listener);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(listener->listener, accept_failed);
	snprintf(listener->address, sizeof(listener->address), "%s", address);
	TAILQ_INSERT_TAIL(&server->listeners, listener, entry);
	return 0;
}

/* "host:port", "[v6]:port", ":port" or "port" (loopback). */
static int split_address(const char *address, char *host, size_t host_size, char *port,
                         size_t port_size)
{
	const char *colon;

	if (address[0] == '[') {
		const char *close = strchr(address, ']');

		if (close == NULL || (close[1] != ':' && close[1] != '\0'))
			return -EINVAL;
		snprintf(host, host_size, "%.*s", (int)(close - address - 1), address + 1);
		snprintf(port, port_size, "%s", close[1] ? close + 2 : "");
	} else if ((colon = strrchr(address, ':')) != NULL) {
		snprintf(host, host_size, "%.*s", (int)(colon - address), address);
		snprintf(port, port_size, "%s", colon + 1);
	} else {
		host[0] = '\0';
		snprintf(port, port_size, "%s", address);
	}
	if (port[0] == '\0')
		snprintf(port, port_size, "%d", RMT_DEFAULT_TCP_PORT);
	if (host[0] == '\0')
		snprintf(host, host_size, "127.0.0.1");
	return 0;
}

int server_listen(struct server *server, const char *address)
{
	return server_listen_secured(server, address, false, false);
}

int server_listen_trusted(struct server *server, const char *address)
{
	return server_listen_secured(server, address, false, true);
}

int server_listen_tls(struct server *server, const char *address, struct tls_context *tls)
{
	server->tls = tls;
	return server_listen_secured(server, address, true, true);
}

/* Plaintext goes only where nobody else can listen in: every resolved address is loopback. */
static bool resolves_to_loopback(const char *address, const struct addrinfo *results)
{
	for (const struct addrinfo *ai = results; ai != NULL; ai = ai->ai_next) {
		char host[INET6_ADDRSTRLEN] = "?";

		if (acl_address_is_loopback(ai->ai_addr))
			continue;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0,
		            NI_NUMERICHOST);
		log_warnx("listen %s: plaintext on %s, which is not a loopback address: use a tls "
		          "listener, or plaintext-trusted in rmtd.conf",
		          address, host);
		return false;
	}
	return true;
}

void server_set_tls(struct server *server, struct tls_context *tls)
{
	server->tls = tls;
}

static int server_listen_secured(struct server *server, const char *address, bool tls,
                                 bool any_address)
{
	struct addrinfo hints, *results, *ai;
	char host[256], port[32];
	int error, added = 0;

	if (split_address(address, host, sizeof(host), port, sizeof(port)) < 0)
		return -EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	error = getaddrinfo(host, port, &hints, &results);
	if (error != 0) {
		log_warnx("listen %s: %s", address, gai_strerror(error));
		return -EINVAL;
	}
	if (!any_address && !resolves_to_loopback(address, results)) {
		freeaddrinfo(results);
		return -EACCES;
	}
	for (ai = results; ai != NULL; ai = ai->ai_next) {
		int one = 1;
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
			error = errno;
			log_warnx("listen %s: %s", address, strerror(error));
			close(fd);
			continue;
		}
		if (add_listener(server, fd, address, tls) == 0) {
			added++;
			log_info("listening on %s%s", address, tls ? " (TLS)" : "");
		}
	}
	freeaddrinfo(results);
	return added > 0 ? 0 : -(error ? error : EADDRNOTAVAIL);
}

int server_adopt_systemd_sockets(struct server *server)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");
	int64_t listen_pid, count;

	/* sd_listen_fds(3): the sockets are ours only when LISTEN_PID names this process. */
	if (pid == NULL || fds == NULL || decimal_parse_range(pid, 1, INT32_MAX, &listen_pid) < 0 ||
	    listen_pid != getpid() || decimal_parse_range(fds, 0, 1024, &count) < 0)
		return 0;
	for (int i = 0; i < count; i++) {
		int fd = 3 + i;

		evutil_make_socket_nonblocking(fd);
		evutil_make_socket_closeonexec(fd);
		if (add_listener(server, fd, "systemd socket", false) < 0)
			return -ENOMEM;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	log_info("serving %d socket(s) passed by systemd", (int)count);
	return (int)count;
}

int server_serve_connection(struct server *server, int fd)
{
	struct sockaddr_storage address;
	socklen_t length = sizeof(address);

	if (getpeername(fd, (struct sockaddr *)&address, &length) < 0)
		length = 0;
	return accepted_start(server, fd, (struct sockaddr *)&address, length, false);
}

void server_notify_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un address;
	socklen_t length;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(address.sun_path))
		return;
	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	memcpy(address.sun_path, path, strlen(path));
	if (address.sun_path[0] == '@')
		address.sun_path[0] = '\0'; /* abstract namespace */
	length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&address, length) < 0)
		log_warn("notify systemd");
	close(fd);
}

/* ---------------------------------------------------------------- timeouts */

static void sweep_connections(evutil_socket_t fd, short what, void *arg)
{
	struct server *server = arg;
	struct accepted *connection, *next;
	time_t now = time(NULL);

	for (connection = TAILQ_FIRST(&server->connections); connection != NULL;
	     connection = next) {
		struct session *session = accepted_session(connection);
		struct session_activity activity;
		time_t quiet;

		next = TAILQ_NEXT(connection, entry);
		if (session == NULL) {
			/* A TLS handshake that does not finish is a request that does not arrive.
			 */
			if (connection->tls != NULL && server->limits.request_timeout > 0 &&
			    now - connection->accepted > server->limits.request_timeout) {
				log_warnx("TLS handshake with %s timed out", connection->peer);
				accepted_free(connection);
			}
			continue;
		}
		/* Busy, or served on its drive's thread, which keeps its deadlines itself. */
		if (session_phase(session) == SESSION_PHASE_BUSY) {
			connection->request_since = now;
			continue;
		}
		session_activity(session, &activity);
		if (activity.requests != connection->last_requests) {
			connection->last_requests = activity.requests;
			connection->request_since = now;
		}
		switch (session_phase(session)) {
		case SESSION_PHASE_IDLE:
			connection->request_since = now;
			quiet = now - accepted_last_input(connection);
			if (server->limits.idle_timeout > 0 &&
			    quiet > server->limits.idle_timeout) {
				log_info("session %u from %s: idle for %lld s, closing",
				         activity.id, connection->peer, (long long)quiet);
				session_close(session, "idle timeout");
			}
			break;
		case SESSION_PHASE_PARTIAL:
			/* A request trickling in one byte a minute is still a stalled request. */
			if (server->limits.request_timeout > 0 &&
			    now - connection->request_since > server->limits.request_timeout) {
				log_warnx("session %u from %s: request not complete after %lld s, "
				          "closing",
				          activity.id, connection->peer,
				          (long long)(now - connection->request_since));
				session_close(session, "request timeout");
			}
			break;
		case SESSION_PHASE_BUSY:
			connection->request_since = now;
			break;
		}
	}
}

/* ---------------------------------------------------------------- server */

struct server *server_create(struct event_base *base, struct drive_registry *drives,
                             struct config *config, const struct server_limits *limits)
{
	struct server *server = calloc(1, sizeof(*server));
	struct timeval second = {1, 0};

	if (server == NULL)
		return NULL;
	server->base = base;
	server->drives = drives;
	server->config = config_hold(config);
	server->limits = *limits;
	server->accept_reserve = -1;
	accept_reserve_take(server);
	TAILQ_INIT(&server->listeners);
	TAILQ_INIT(&server->connections);
	server->sweeper = event_new(base, -1, EV_PERSIST, sweep_connections, server);
	server->accept_resume = evtimer_new(base, accept_resume, server);
	if (server->sweeper == NULL || server->accept_resume == NULL) {
		server_free(server);
		return NULL;
	}
	event_add(server->sweeper, &second);
	return server;
}

static void server_close_listeners(struct server *server)
{
	struct listener *listener;

	while ((listener = TAILQ_FIRST(&server->listeners)) != NULL) {
		TAILQ_REMOVE(&server->listeners, listener, entry);
		evconnlistener_free(listener->listener);
		free(listener);
	}
}

void server_free(struct server *server)
{
	if (server == NULL)
		return;
	server_close_listeners(server);
	if (server->sweeper)
		event_free(server->sweeper);
	if (server->accept_resume)
		event_free(server->accept_resume);
	if (server->accept_reserve >= 0)
		close(server->accept_reserve);
	config_release(server->config);
	free(server);
}

void server_start(struct server *server)
{
	struct listener *listener;

	TAILQ_FOREACH (listener, &server->listeners, entry)
		evconnlistener_enable(listener->listener);
}

void server_shutdown(struct server *server)
{
	struct accepted *connection, *next;

	if (server->shutting_down)
		return;
	server->shutting_down = true;
	server_close_listeners(server);
	log_info("shutting down: %d session(s) to finish", server->connection_count);
	for (connection = TAILQ_FIRST(&server->connections); connection != NULL;
	     connection = next) {
		struct session *session = accepted_session(connection);

		next = TAILQ_NEXT(connection, entry);
		if (session != NULL)
			session_shutdown(session);
	}
	if (server->connection_count == 0)
		event_base_loopbreak(server->base);
}

bool server_finished(const struct server *server)
{
	return (server->shutting_down || server->exit_when_idle) && server->connection_count == 0;
}

void server_exit_when_idle(struct server *server)
{
	server->exit_when_idle = true;
	if (server_finished(server))
		event_base_loopbreak(server->base);
}

void server_reconfigure(struct server *server, struct config *config,
                        const struct server_limits *limits)
{
	/* Running sessions keep the configuration they started with (they hold it). */
	config_release(server->config);
	server->config = config_hold(config);
	server->limits = *limits;
}

void server_foreach_session(struct server *server,
                            void (*visit)(struct session *session, void *arg), void *arg)
{
	struct accepted *connection, *next;

	for (connection = TAILQ_FIRST(&server->connections); connection != NULL;
	     connection = next) {
		struct session *session = accepted_session(connection);

		next = TAILQ_NEXT(connection, entry);
		if (session != NULL)
			visit(session, arg);
	}
}
