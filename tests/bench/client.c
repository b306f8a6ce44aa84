/*
 * The rmtbench protocol client: starts a server over two pipes as rsh and ssh do (or forks a
 * built-in one, or connects over TCP), sends requests and parses replies. It is written to cost
 * the server under test as little as possible: one writev per W (header and data), and R data
 * read straight into the caller's buffer, usually in the same readv as the reply header.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct conn *conn_new(void)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->rfd = -1;
	c->wfd = -1;
	c->pid = -1;
	c->server_cpu = -1;
	return c;
}

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	conn_finish(c);
	free(c);
}

static int conn_fail(struct conn *c, int error, const char *what)
{
	snprintf(c->error, sizeof(c->error), "%s: %s", what, strerror(error));
	return -error;
}

/* In a forked child: keep 0, 1 and 2 only, so that no other connection's pipe end stays open in
 * an unrelated server (its EOF would never come). */
int child_close_other_fds(void)
{
	if (close_range(3, ~0u, 0) == 0)
		return 0;
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	return 0;
}

static int spawn_pipes(struct conn *c, int to_server[2], int from_server[2])
{
	if (pipe2(to_server, O_CLOEXEC) < 0)
		return conn_fail(c, errno, "pipe");
	if (pipe2(from_server, O_CLOEXEC) < 0) {
		int error = errno;

		close(to_server[0]);
		close(to_server[1]);
		return conn_fail(c, error, "pipe");
	}
	return 0;
}

static void spawn_parent_side(struct conn *c, int to_server[2], int from_server[2], pid_t pid)
{
	close(to_server[0]);
	close(from_server[1]);
	c->wfd = to_server[1];
	c->rfd = from_server[0];
	c->pid = pid;
	c->in_pos = c->in_len = 0;
	c->error[0] = '\0';
}

int conn_spawn(struct conn *c, char *const argv[])
{
	int to_server[2], from_server[2];
	int rc = spawn_pipes(c, to_server, from_server);
	pid_t pid;

	if (rc < 0)
		return rc;
	pid = fork();
	if (pid < 0) {
		rc = conn_fail(c, errno, "fork");
		close(to_server[0]);
		close(to_server[1]);
		close(from_server[0]);
		close(from_server[1]);
		return rc;
	}
	if (pid == 0) {
		if (dup2(to_server[0], STDIN_FILENO) < 0 || dup2(from_server[1], STDOUT_FILENO) < 0)
			_exit(127);
		child_close_other_fds();
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "rmtbench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	spawn_parent_side(c, to_server, from_server, pid);
	return 0;
}

int conn_spawn_function(struct conn *c, serve_fn serve, void *arg)
{
	int to_server[2], from_server[2];
	int rc = spawn_pipes(c, to_server, from_server);
	pid_t pid;

	if (rc < 0)
		return rc;
	pid = fork();
	if (pid < 0) {
		rc = conn_fail(c, errno, "fork");
		close(to_server[0]);
		close(to_server[1]);
		close(from_server[0]);
		close(from_server[1]);
		return rc;
	}
	if (pid == 0) {
		if (dup2(to_server[0], STDIN_FILENO) < 0 || dup2(from_server[1], STDOUT_FILENO) < 0)
			_exit(127);
		child_close_other_fds();
		_exit(serve(STDIN_FILENO, STDOUT_FILENO, arg) < 0 ? 1 : 0);
	}
	spawn_parent_side(c, to_server, from_server, pid);
	return 0;
}

int conn_connect_tcp(struct conn *c, const char *host, const char *port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *list, *ai;
	int fd = -1, error = ECONNREFUSED;
	int rc = getaddrinfo(host, port, &hints, &list);

	if (rc != 0) {
		snprintf(c->error, sizeof(c->error), "%s:%s: %s", host, port, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (ai = list; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			error = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		error = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(list);
	if (fd < 0)
		return conn_fail(c, error, "connect");
	/* Without it, Nagle and delayed ACKs stall a request/reply protocol ~40 ms a message. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	c->rfd = c->wfd = fd;
	c->pid = -1;
	c->in_pos = c->in_len = 0;
	c->error[0] = '\0';
	return 0;
}

/* Close our ends, let the server see EOF and exit, reap it. Returns its wait status or 0. */
int conn_finish(struct conn *c)
{
	int status = 0;

	if (c->wfd >= 0 && c->wfd != c->rfd)
		close(c->wfd);
	if (c->rfd >= 0) {
		if (c->pid > 0) {
			/* drain whatever the server still says, until it exits */
			while (read(c->rfd, c->in, sizeof(c->in)) > 0)
				;
		}
		close(c->rfd);
	}
	c->rfd = c->wfd = -1;
	if (c->pid > 0) {
		struct rusage usage;

		while (wait4(c->pid, &status, 0, &usage) < 0) {
			if (errno != EINTR) {
				memset(&usage, 0, sizeof(usage));
				break;
			}
		}
		c->server_cpu = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
		                (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
		c->pid = -1;
	}
	return status;
}

static int send_all(struct conn *c, struct iovec *iov, int count)
{
	while (count > 0) {
		ssize_t n = writev(c->wfd, iov, count);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return conn_fail(c, errno, "send");
		}
		while (count > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			count--;
		}
		if (count > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Read more reply bytes into the input buffer. */
static int fill(struct conn *c)
{
	ssize_t n;

	if (c->in_pos == c->in_len) {
		c->in_pos = c->in_len = 0;
	} else if (c->in_len == sizeof(c->in)) {
		if (c->in_pos == 0) {
			snprintf(c->error, sizeof(c->error), "reply line too long");
			return -EPROTO;
		}
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	do
		n = read(c->rfd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return conn_fail(c, errno, "receive");
	if (n == 0) {
		snprintf(c->error, sizeof(c->error), "server closed the connection");
		return -ECONNRESET;
	}
	c->in_len += (size_t)n;
	return 0;
}

static int read_line(struct conn *c, char *line, size_t size)
{
	for (;;) {
		unsigned char *start = c->in + c->in_pos;
		unsigned char *nl = memchr(start, '\n', c->in_len - c->in_pos);

		if (nl != NULL) {
			size_t len = (size_t)(nl - start);

			if (len >= size) {
				snprintf(c->error, sizeof(c->error), "reply line too long");
				return -EPROTO;
			}
			memcpy(line, start, len);
			line[len] = '\0';
			c->in_pos += len + 1;
			return 0;
		}
		int rc = fill(c);

		if (rc < 0)
			return rc;
	}
}

static int parse_value(struct conn *c, const char *line, int64_t *value)
{
	char *end;

	errno = 0;
	long long v = strtoll(line, &end, 10);

	if (end == line || *end != '\0' || errno != 0) {
		snprintf(c->error, sizeof(c->error), "malformed number in reply \"%.40s\"", line);
		return -EPROTO;
	}
	*value = v;
	return 0;
}

/* Read one reply line (and an E reply's text line). */
static int read_reply(struct conn *c, int64_t *value)
{
	char line[256], text[256];
	int rc = read_line(c, line, sizeof(line));

	if (rc < 0)
		return rc;
	if (line[0] == 'A')
		return parse_value(c, line + 1, value);
	if (line[0] == 'E' || line[0] == 'F') {
		int64_t remote = 0;

		rc = parse_value(c, line + 1, &remote);
		if (rc < 0)
			return rc;
		rc = read_line(c, text, sizeof(text));
		if (rc < 0)
			return rc;
		snprintf(c->error, sizeof(c->error), "server replied %.40s: %.200s", line, text);
		return remote > 0 && remote < 4096 ? -(int)remote : -EIO;
	}
	snprintf(c->error, sizeof(c->error), "malformed reply \"%.40s\"", line);
	return -EPROTO;
}

int64_t conn_request(struct conn *c, const char *fmt, ...)
{
	char request[4200];
	va_list ap;
	int len;
	int64_t value = 0;

	va_start(ap, fmt);
	len = vsnprintf(request, sizeof(request), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(request)) {
		snprintf(c->error, sizeof(c->error), "request too long");
		return -ENAMETOOLONG;
	}
	struct iovec iov = {request, (size_t)len};
	int rc = send_all(c, &iov, 1);

	if (rc < 0)
		return rc;
	rc = read_reply(c, &value);
	return rc < 0 ? rc : value;
}

int64_t conn_write_record(struct conn *c, const unsigned char *data, size_t n)
{
	char header[32];
	int len = snprintf(header, sizeof(header), "W%zu\n", n);
	struct iovec iov[2] = {{header, (size_t)len}, {(void *)data, n}};
	int64_t value = 0;
	int rc = send_all(c, iov, 2);

	if (rc < 0)
		return rc;
	rc = read_reply(c, &value);
	if (rc < 0)
		return rc;
	if (value != (int64_t)n) {
		snprintf(c->error, sizeof(c->error), "W%zu answered A%lld", n, (long long)value);
		return -EIO;
	}
	return value;
}

static int read_exact(struct conn *c, unsigned char *buf, size_t have, size_t want)
{
	while (have < want) {
		ssize_t n = read(c->rfd, buf + have, want - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return conn_fail(c, errno, "receive");
		if (n == 0) {
			snprintf(c->error, sizeof(c->error),
			         "server closed the connection in R data");
			return -ECONNRESET;
		}
		have += (size_t)n;
	}
	return 0;
}

/* Move bytes already received (header part, then data part) into the input buffer so that the
 * general reply parser can take over. */
static int unread(struct conn *c, const unsigned char *a, size_t alen, const unsigned char *b,
                  size_t blen)
{
	if (alen + blen > sizeof(c->in) - c->in_len) {
		snprintf(c->error, sizeof(c->error), "unexpected long reply to R");
		return -EPROTO;
	}
	memcpy(c->in + c->in_len, a, alen);
	memcpy(c->in + c->in_len + alen, b, blen);
	c->in_len += alen + blen;
	return 0;
}

/* Send R<n>; return the byte count read into buf. The usual reply "A<n>\n" + n bytes is read with
 * a readv whose first part is exactly that header, so the data lands in buf with no extra copy. */
int64_t conn_read_record(struct conn *c, unsigned char *buf, size_t n)
{
	char request[32];
	unsigned char header[32];
	char expect[32];
	int rlen = snprintf(request, sizeof(request), "R%zu\n", n);
	size_t hlen = (size_t)snprintf(expect, sizeof(expect), "A%zu\n", n);
	struct iovec iov = {request, (size_t)rlen};
	size_t have_header = 0, have_data = 0;
	unsigned char *nl = NULL;
	int64_t got = 0;
	int rc = send_all(c, &iov, 1);

	if (rc < 0)
		return rc;
	if (c->in_pos == c->in_len) {
		c->in_pos = c->in_len = 0;
		while (nl == NULL && have_header < hlen) {
			struct iovec parts[2] = {{header + have_header, hlen - have_header},
			                         {buf, n}};
			ssize_t r = readv(c->rfd, parts, 2);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return conn_fail(c, errno, "receive");
			if (r == 0) {
				snprintf(c->error, sizeof(c->error),
				         "server closed the connection");
				return -ECONNRESET;
			}
			size_t in_header =
			    (size_t)r < hlen - have_header ? (size_t)r : hlen - have_header;
			nl = memchr(header + have_header, '\n', in_header);
			have_header += in_header;
			have_data = (size_t)r - in_header;
		}
		if (nl != NULL && header[0] == 'A') {
			size_t line_len = (size_t)(nl - header) + 1;
			size_t spill = have_header - line_len; /* data bytes caught in header[] */
			char text[32];

			memcpy(text, header + 1, line_len - 2);
			text[line_len - 2] = '\0';
			rc = parse_value(c, text, &got);
			if (rc < 0)
				return rc;
			if (got < 0 || (size_t)got > n || spill + have_data > (size_t)got) {
				snprintf(c->error, sizeof(c->error), "R%zu answered A%lld", n,
				         (long long)got);
				return -EPROTO;
			}
			if (spill > 0) {
				memmove(buf + spill, buf, have_data);
				memcpy(buf, header + line_len, spill);
			}
			rc = read_exact(c, buf, spill + have_data, (size_t)got);
			return rc < 0 ? rc : got;
		}
		rc = unread(c, header, have_header, buf, have_data);
		if (rc < 0)
			return rc;
	}
	rc = read_reply(c, &got);
	if (rc < 0)
		return rc;
	if (got < 0 || (size_t)got > n) {
		snprintf(c->error, sizeof(c->error), "R%zu answered A%lld", n, (long long)got);
		return -EPROTO;
	}
	size_t buffered = c->in_len - c->in_pos;

	if (buffered > (size_t)got)
		buffered = (size_t)got;
	memcpy(buf, c->in + c->in_pos, buffered);
	c->in_pos += buffered;
	rc = read_exact(c, buf, buffered, (size_t)got);
	return rc < 0 ? rc : got;
}
