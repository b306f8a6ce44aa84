/*
 * connection.c - librmt's transports and the timed I/O under the protocol.
 *
 * A spawned command runs in a grandchild (the intermediate child exits at once
 * and is reaped here), so neither the library nor a program under the LD_PRELOAD
 * shim ever finds an unexpected child to wait for. The child's set-up uses raw
 * system calls, because under the shim dup2() and close() are intercepted and
 * must not act on the program's remote descriptors from inside the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "connection.h"
#include "tls_client.h"

volatile int connection_internal_fork;

#define PRELOAD_FDS_VARIABLE "RMT_PRELOAD_FDS="

void connection_init(struct connection *conn, int fd, int reply_timeout_ms, int silence_timeout_ms)
{
	conn->fd = fd;
	conn->tls = NULL;
	conn->reply_timeout_ms = reply_timeout_ms;
	conn->silence_timeout_ms = silence_timeout_ms > 0 ? silence_timeout_ms : 60000;
	conn->start = 0;
	conn->end = 0;
}

/* Wait until fd is ready for events, at most timeout_ms (< 0: forever), across signals. */
static int wait_ready(int fd, short events, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? 0 : clock_monotonic_ms() + timeout_ms;
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		int left = -1;
		int n;

		if (timeout_ms >= 0) {
			long long remaining = deadline - clock_monotonic_ms();

			left = remaining < 0 ? 0 : (int)remaining;
		}
		n = poll(&pfd, 1, left);
		if (n > 0)
			return 0; /* readable, writable, or an error/hang-up the I/O call will
			             report */
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* ------------------------------------------------------------------ spawn */

/* The environment minus RMT_PRELOAD_FDS (the child holds none of the program's remote fds). */
static char **child_environment(void)
{
	extern char **environ;
	size_t count = 0, kept = 0;
	char **env;

	for (char **e = environ; e != NULL && *e != NULL; e++)
		count++;
	env = calloc(count + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < count; i++)
		if (strncmp(environ[i], PRELOAD_FDS_VARIABLE, strlen(PRELOAD_FDS_VARIABLE)) != 0)
			env[kept++] = environ[i];
	env[kept] = NULL;
	return env;
}

static int raw_dup3(int from, int to, int flags)
{
	return (int)syscall(SYS_dup3, from, to, flags);
}

/* In the grandchild: stdin/stdout on the socket, the error pipe on 3, nothing else open. */
static void __attribute__((noreturn))
exec_child(int sock, int error_pipe, char *const argv[], char **env)
{
	sigset_t none;
	int high_sock, high_pipe, error = 0;

	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Move both above the standard descriptors first: they may be 0, 1 or 3 themselves. */
	high_sock = (int)syscall(SYS_fcntl, sock, F_DUPFD_CLOEXEC, 10);
	high_pipe = (int)syscall(SYS_fcntl, error_pipe, F_DUPFD_CLOEXEC, 10);
	if (high_sock < 0 || high_pipe < 0 || raw_dup3(high_sock, 0, 0) < 0 ||
	    raw_dup3(high_sock, 1, 0) < 0 || raw_dup3(high_pipe, 3, O_CLOEXEC) < 0) {
		error = errno;
		if (high_pipe >= 0)
			syscall(SYS_write, high_pipe, &error, sizeof(error));
		_exit(127);
	}
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
#endif
	{
		long max = sysconf(_SC_OPEN_MAX);

		for (long fd = 4; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			syscall(SYS_close, (int)fd);
	}
	execvpe(argv[0], argv, env);
	error = errno;
	syscall(SYS_write, 3, &error, sizeof(error));
	_exit(127);
}

int connection_spawn(struct connection *conn, char *const argv[])
{
	int sv[2], error_pipe[2], error = 0, status;
	char **env;
	pid_t pid;
	ssize_t n;

	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
		return -EINVAL;
	env = child_environment();
	if (env == NULL)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		error = -errno;
		free(env);
		return error;
	}
	if (pipe2(error_pipe, O_CLOEXEC) < 0) {
		error = -errno;
		close(sv[0]);
		close(sv[1]);
		free(env);
		return error;
	}
	connection_internal_fork = 1;
	pid = fork();
	if (pid == 0) {
		pid_t grandchild = fork();

		if (grandchild == 0)
			exec_child(sv[1], error_pipe[1], argv, env);
		if (grandchild < 0) {
			error = errno;
			syscall(SYS_write, error_pipe[1], &error, sizeof(error));
		}
		_exit(0);
	}
	connection_internal_fork = 0;
	if (pid < 0)
		error = -errno;
	close(sv[1]);
	close(error_pipe[1]);
	free(env);
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		/* EOF: the program was started (the pipe closed on exec). */
		do
			n = read(error_pipe[0], &error, sizeof(error));
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)sizeof(error) && error > 0)
			error = -error;
		else
			error = 0;
	}
	close(error_pipe[0]);
	if (error < 0) {
		close(sv[0]);
		return error;
	}
	conn->fd = sv[0];
	conn->tls = NULL;
	conn->start = conn->end = 0;
	return 0;
}

/* ------------------------------------------------------------------ TCP */

static void tune_tcp(int fd)
{
	int one = 1, idle = 60, interval = 10, probes = 6;

	/* A request/reply protocol stalls ~40 ms per message under Nagle + delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A vanished host shows up within about two minutes even with no timeout set. */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
}

static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
	int fd, result, soerror = 0, flags;
	socklen_t len = sizeof(soerror);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			result = -errno;
			close(fd);
			return result;
		}
		result = wait_ready(fd, POLLOUT, timeout_ms);
		if (result == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerror, &len) < 0)
			result = -errno;
		if (result == 0 && soerror != 0)
			result = -soerror;
		if (result < 0) {
			close(fd);
			return result;
		}
	}
	/* Blocking again: the descriptor may end up in a program's hands (rmt_fileno, the shim). */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	tune_tcp(fd);
	return fd;
}

int connection_tcp(struct connection *conn, const char *host, unsigned int port, int timeout_ms,
                   const char **why)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *list = NULL;
	char service[16];
	int result, fd = -ECONNREFUSED;

	*why = NULL;
	snprintf(service, sizeof(service), "%u", port);
	result = getaddrinfo(host, service, &hints, &list);
	if (result != 0) {
		*why = gai_strerror(result);
		return result == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	}
	for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_ms);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(list);
	if (fd < 0)
		return fd;
	conn->fd = fd;
	conn->tls = NULL;
	conn->start = conn->end = 0;
	return 0;
}

int connection_start_tls(struct connection *conn, const struct tls_client_config *config,
                         int timeout_ms, char *why, size_t why_size)
{
	return tls_client_start(conn->fd, config, timeout_ms, &conn->tls, why, why_size);
}

void connection_set_fd(struct connection *conn, int fd)
{
	conn->fd = fd;
	if (conn->tls != NULL)
		tls_client_set_fd(conn->tls, fd);
}

const char *connection_error_text(const struct connection *conn, int error)
{
	switch (error) {
	case -ECONNRESET:
		return "the server closed the connection";
	case -ETIMEDOUT:
		return "the server did not answer in time";
	case -EMSGSIZE:
		return "reply line too long";
	case -EPROTO:
		if (conn->tls != NULL && tls_client_error(conn->tls)[0] != '\0')
			return tls_client_error(conn->tls);
		return "protocol error";
	default:
		return strerror(-error);
	}
}

void connection_drop_tls(struct connection *conn)
{
	tls_client_free(conn->tls, false);
	conn->tls = NULL;
}

/* ------------------------------------------------------------------ I/O */

/* TLS: every byte of buffer through the session. */
static int tls_send_all(struct connection *conn, const unsigned char *buffer, size_t length)
{
	while (length > 0) {
		short events = 0;
		ssize_t n = tls_client_write(conn->tls, buffer, length, &events);
		int result;

		if (n > 0) {
			buffer += n;
			length -= (size_t)n;
			continue;
		}
		if (n != -EAGAIN)
			return (int)n;
		result = wait_ready(conn->fd, events, conn->silence_timeout_ms);
		if (result < 0)
			return result;
	}
	return 0;
}

/* TLS: header and a small record go out as one TLS record, like one sendmsg. */
static int tls_send(struct connection *conn, const struct iovec *iov, int iovcnt)
{
	unsigned char joined[16384];
	size_t total = 0;
	int result;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (iovcnt > 1 && total <= sizeof(joined)) {
		size_t used = 0;

		for (int i = 0; i < iovcnt; i++) {
			memcpy(joined + used, iov[i].iov_base, iov[i].iov_len);
			used += iov[i].iov_len;
		}
		return tls_send_all(conn, joined, total);
	}
	for (int i = 0; i < iovcnt; i++) {
		result = tls_send_all(conn, iov[i].iov_base, iov[i].iov_len);
		if (result < 0)
			return result;
	}
	return 0;
}

int connection_send(struct connection *conn, const struct iovec *iov, int iovcnt)
{
	struct iovec local[8];
	struct msghdr msg = {0};
	int result;

	if (iovcnt < 1 || iovcnt > 8)
		return -EINVAL;
	if (conn->tls != NULL)
		return tls_send(conn, iov, iovcnt);
	memcpy(local, iov, sizeof(*iov) * (size_t)iovcnt);
	msg.msg_iov = local;
	msg.msg_iovlen = (size_t)iovcnt;
	while (msg.msg_iovlen > 0) {
		ssize_t n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			result = wait_ready(conn->fd, POLLOUT, conn->silence_timeout_ms);
			if (result < 0)
				return result;
			continue;
		}
		/* Step over what went out. */
		while (msg.msg_iovlen > 0 && (size_t)n >= msg.msg_iov[0].iov_len) {
			n -= (ssize_t)msg.msg_iov[0].iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen > 0) {
			msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + n;
			msg.msg_iov[0].iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Receive up to len bytes into dst, waiting at most timeout_ms. */
static ssize_t receive(struct connection *conn, void *dst, size_t len, int timeout_ms)
{
	while (conn->tls != NULL) {
		short events = 0;
		ssize_t n = tls_client_read(conn->tls, dst, len, &events);
		int result;

		if (n > 0 || n != -EAGAIN)
			return n;
		result = wait_ready(conn->fd, events, timeout_ms);
		if (result < 0)
			return result;
	}
	for (;;) {
		ssize_t n = recv(conn->fd, dst, len, MSG_DONTWAIT);
		int result;

		if (n > 0)
			return n;
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		result = wait_ready(conn->fd, POLLIN, timeout_ms);
		if (result < 0)
			return result;
	}
}

static int fill(struct connection *conn, int timeout_ms)
{
	ssize_t n;

	if (conn->start == conn->end)
		conn->start = conn->end = 0;
	n = receive(conn, conn->buffer + conn->end, sizeof(conn->buffer) - conn->end, timeout_ms);
	if (n < 0)
		return (int)n;
	conn->end += (size_t)n;
	return 0;
}

ssize_t connection_read_line(struct connection *conn, char *line, size_t size, bool first)
{
	size_t length = 0;

	for (;;) {
		while (conn->start < conn->end) {
			unsigned char c = conn->buffer[conn->start++];

			if (c == '\n') {
				line[length] = '\0';
				return (ssize_t)length;
			}
			if (length + 1 >= size)
				return -EMSGSIZE;
			line[length++] = (char)c;
		}
		/* Only the very first byte of a reply may take as long as the operation does. */
		int timeout =
		    first && length == 0 ? conn->reply_timeout_ms : conn->silence_timeout_ms;
		int result = fill(conn, timeout);

		if (result < 0)
			return result;
	}
}

int connection_read_exact(struct connection *conn, void *buffer, size_t count)
{
	unsigned char *dst = buffer;
	size_t buffered = conn->end - conn->start;

	if (buffered > count)
		buffered = count;
	memcpy(dst, conn->buffer + conn->start, buffered);
	conn->start += buffered;
	dst += buffered;
	count -= buffered;
	/* The rest goes straight into the caller's buffer: a record is not copied twice. */
	while (count > 0) {
		ssize_t n = receive(conn, dst, count, conn->silence_timeout_ms);

		if (n < 0)
			return (int)n;
		dst += n;
		count -= (size_t)n;
	}
	return 0;
}

int connection_discard(struct connection *conn, size_t count)
{
	unsigned char sink[CONNECTION_BUFFER_SIZE];

	while (count > 0) {
		size_t chunk = count < sizeof(sink) ? count : sizeof(sink);
		int result = connection_read_exact(conn, sink, chunk);

		if (result < 0)
			return result;
		count -= chunk;
	}
	return 0;
}

ssize_t connection_check_idle(struct connection *conn)
{
	ssize_t n;

	if (conn->end > conn->start)
		return (ssize_t)(conn->end - conn->start);
	conn->start = conn->end = 0;
	if (conn->tls != NULL) {
		short events;

		/* Also digests what TLS 1.3 sends unasked (session tickets). */
		n = tls_client_read(conn->tls, conn->buffer, sizeof(conn->buffer), &events);
		if (n > 0)
			conn->end = (size_t)n;
		return n == -EAGAIN ? 0 : n == -ECONNRESET ? -ECONNRESET : n;
	}
	do
		n = recv(conn->fd, conn->buffer, sizeof(conn->buffer), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		conn->end = (size_t)n;
		return n;
	}
	if (n == 0)
		return -ECONNRESET;
	return 0; /* EAGAIN: quiet, as it should be; other errors show up on send */
}

void connection_close(struct connection *conn, bool keep_fd)
{
	tls_client_free(conn->tls, !keep_fd);
	conn->tls = NULL;
	if (conn->fd >= 0 && !keep_fd)
		close(conn->fd);
	conn->fd = -1;
	conn->start = conn->end = 0;
}
