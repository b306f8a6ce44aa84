/*
 * Reference rmt servers for rmtbench: just enough of the protocol (O C L R W V, and the I-2
 * and I-3 a pipelining client asks) to run the benchmark workload, written for the fewest
 * system calls per request. They are not rmtd and are
 * not meant to be complete or safe; they show what the pipe, the socket and the file cost on
 * their own, which is the floor under any real server:
 *   sink    W data read and dropped, R answered from the pattern (the protocol's best case);
 *   file    one read of the request where it fits, one write(2) to the file, one reply write;
 *   splice  like file, but records of 64 KiB and more go pipe -> file and file -> pipe with
 *           splice(2), never through user space.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "rmt/protocol.h"

#define REF_LINE_MAX    4200
#define REF_HEADER_ROOM 32
/* Below this, a copy through the buffer is cheaper than setting up splice (the default). */
#define REF_SPLICE_MIN 65536
/* In splice mode, read at most this much while waiting for a command, so that most of a large
 * W's data is still in the pipe when splice starts; a tenth of smaller records' size. */
#define REF_COMMAND_READ     4096
#define REF_COMMAND_READ_MIN 64

struct ref_server {
	int rfd;
	int wfd;
	enum ref_mode mode;
	int file;
	uint64_t sink_offset;
	unsigned char *in;
	size_t in_cap;
	size_t pos;
	size_t len;
	unsigned char *out;
	size_t out_cap;
	size_t splice_min;   /* SPLICE: W and R records of this size and more are spliced */
	size_t command_read; /* SPLICE: the most read while waiting for a command */
	bool pipelined;      /* the client asked for I-2 DISCARD */
	bool discarding;     /* a W failed: W requests until another are dropped (E125) */
	bool grow_pattern;   /* SINK: the pattern grows to what an R asks (one thread only) */
};

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int reply_value(struct ref_server *s, int64_t value)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "A%lld\n", (long long)value);

	return write_all(s->wfd, line, (size_t)len);
}

static int reply_error(struct ref_server *s, int error)
{
	char line[160];
	int len = snprintf(line, sizeof(line), "E%d\n%s\n", error, strerror(error));

	return write_all(s->wfd, line, (size_t)len);
}

/* Make room for `need` contiguous bytes from pos on. */
static int in_reserve(struct ref_server *s, size_t need)
{
	if (s->in_cap - s->pos >= need)
		return 0;
	if (s->pos > 0) {
		memmove(s->in, s->in + s->pos, s->len - s->pos);
		s->len -= s->pos;
		s->pos = 0;
	}
	if (s->in_cap >= need)
		return 0;
	unsigned char *bigger = realloc(s->in, need + REF_LINE_MAX);

	if (bigger == NULL)
		return -ENOMEM;
	s->in = bigger;
	s->in_cap = need + REF_LINE_MAX;
	return 0;
}

/* Read more input; returns bytes read, 0 at EOF or -errno. */
static ssize_t in_fill(struct ref_server *s, size_t limit)
{
	ssize_t n;

	if (s->pos == s->len)
		s->pos = s->len = 0;
	if (s->len == s->in_cap) {
		int rc = in_reserve(s, s->len - s->pos + REF_LINE_MAX);

		if (rc < 0)
			return rc;
	}
	size_t room = s->in_cap - s->len;

	if (room > limit)
		room = limit;
	do
		n = read(s->rfd, s->in + s->len, room);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	s->len += (size_t)n;
	return n;
}

static size_t command_read_limit(const struct ref_server *s)
{
	return s->mode == REF_SPLICE ? s->command_read : SIZE_MAX;
}

/* Next argument line, NUL-terminated in place; NULL at EOF or error. */
static char *next_line(struct ref_server *s)
{
	for (;;) {
		unsigned char *start = s->in + s->pos;
		unsigned char *nl = memchr(start, '\n', s->len - s->pos);

		if (nl != NULL) {
			*nl = '\0';
			s->pos = (size_t)(nl - s->in) + 1;
			return (char *)start;
		}
		if (s->len - s->pos > REF_LINE_MAX)
			return NULL;
		if (in_fill(s, command_read_limit(s)) <= 0)
			return NULL;
	}
}

static int parse_open_flags(const char *line)
{
	int flags = atoi(line);
	const char *p = line;
	bool symbolic = false;
	int sym = 0;

	while (*p != '\0') {
		size_t skip = strspn(p, " \t|0123456789");
		size_t word;

		p += skip;
		word = strcspn(p, " \t|");
		if (word == 0)
			break;
		const char *name = strncmp(p, "O_", 2) == 0 ? p + 2 : p;
		size_t name_len = word - (size_t)(name - p);
		static const struct {
			const char *name;
			int value;
		} names[] = {{"RDONLY", O_RDONLY}, {"WRONLY", O_WRONLY}, {"RDWR", O_RDWR},
		             {"CREAT", O_CREAT},   {"TRUNC", O_TRUNC},   {"APPEND", O_APPEND}};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strlen(names[i].name) == name_len &&
			    strncmp(name, names[i].name, name_len) == 0) {
				sym |= names[i].value;
				symbolic = true;
			}
		}
		p += word;
	}
	return symbolic ? sym : flags;
}

static int do_open(struct ref_server *s)
{
	char *path = next_line(s);
	char *flag_line;

	if (path == NULL)
		return -EIO;
	path = strdup(path);
	if (path == NULL)
		return -ENOMEM;
	flag_line = next_line(s);
	if (flag_line == NULL) {
		free(path);
		return -EIO;
	}
	int flags = parse_open_flags(flag_line);

	if (s->file >= 0)
		close(s->file);
	s->file = -1;
	s->sink_offset = 0;
	if (s->mode == REF_SINK) {
		free(path);
		return reply_value(s, 0);
	}
	s->file = open(path, flags | O_CLOEXEC, 0666);
	free(path);
	return s->file < 0 ? reply_error(s, errno) : reply_value(s, 0);
}

static int do_close(struct ref_server *s)
{
	if (next_line(s) == NULL)
		return -EIO;
	if (s->file >= 0 && close(s->file) < 0) {
		s->file = -1;
		return reply_error(s, errno);
	}
	s->file = -1;
	return reply_value(s, 0);
}

static int do_seek(struct ref_server *s)
{
	char *first = next_line(s);
	long long offset;
	char *second;

	if (first == NULL)
		return -EIO;
	offset = atoll(first);
	second = next_line(s);
	if (second == NULL)
		return -EIO;
	if (s->mode == REF_SINK) {
		s->sink_offset = (uint64_t)offset;
		return reply_value(s, offset);
	}
	off_t where = lseek(s->file, (off_t)offset, atoi(second));

	return where < 0 ? reply_error(s, errno) : reply_value(s, where);
}

static int parse_count(const char *line, size_t *count)
{
	char *end;
	unsigned long long n = strtoull(line, &end, 10);

	if (end == line || *end != '\0' || n > BENCH_MAX_RECORD)
		return -EINVAL;
	*count = (size_t)n;
	return 0;
}

static int write_spliced(struct ref_server *s, size_t n)
{
	size_t buffered = s->len - s->pos;
	size_t left;

	if (buffered > n)
		buffered = n;
	if (buffered > 0) {
		int rc = write_all(s->file, s->in + s->pos, buffered);

		s->pos += buffered;
		if (rc < 0) {
			reply_error(s, -rc);
			return rc; /* the rest of the data is still in the pipe: end */
		}
	}
	left = n - buffered;
	while (left > 0) {
		ssize_t moved =
		    splice(s->rfd, NULL, s->file, NULL, left, SPLICE_F_MOVE | SPLICE_F_MORE);

		if (moved < 0 && errno == EINTR)
			continue;
		if (moved <= 0) {
			int error = moved < 0 ? errno : EIO;

			reply_error(s, error);
			return -error;
		}
		left -= (size_t)moved;
	}
	return reply_value(s, (int64_t)n);
}

static int do_write(struct ref_server *s)
{
	char *line = next_line(s);
	size_t n;

	if (line == NULL)
		return -EIO;
	if (parse_count(line, &n) < 0) {
		reply_error(s, EINVAL);
		return -EINVAL; /* cannot stay in step without the count: end */
	}
	if (s->mode == REF_SPLICE && s->file >= 0 && n >= s->splice_min && !s->discarding)
		return write_spliced(s, n); /* a failure there ends the connection */
	int rc = in_reserve(s, n);

	if (rc < 0)
		return rc;
	while (s->len - s->pos < n) {
		ssize_t got = in_fill(s, SIZE_MAX);

		if (got <= 0)
			return got < 0 ? (int)got : -EIO;
	}
	unsigned char *data = s->in + s->pos;

	s->pos += n;
	if (s->discarding)
		return reply_error(s, ECANCELED);
	if (s->mode == REF_SINK)
		return reply_value(s, (int64_t)n);
	ssize_t w = write(s->file, data, n);

	if (w < 0) {
		s->discarding = s->pipelined;
		return reply_error(s, errno);
	}
	return reply_value(s, w);
}

static int read_spliced(struct ref_server *s, size_t n)
{
	struct stat st;
	off_t here = lseek(s->file, 0, SEEK_CUR);

	if (here < 0 || fstat(s->file, &st) < 0)
		return reply_error(s, errno);
	size_t got = st.st_size > here ? (size_t)(st.st_size - here) : 0;

	if (got > n)
		got = n;
	int rc = reply_value(s, (int64_t)got);

	while (rc == 0 && got > 0) {
		ssize_t moved =
		    splice(s->file, NULL, s->wfd, NULL, got, SPLICE_F_MOVE | SPLICE_F_MORE);

		if (moved < 0 && errno == EINTR)
			continue;
		if (moved <= 0)
			return -EIO; /* the reply promised bytes we cannot send: end */
		got -= (size_t)moved;
	}
	return rc;
}

static int do_read(struct ref_server *s)
{
	char *line = next_line(s);
	size_t n;
	ssize_t got;

	if (line == NULL)
		return -EIO;
	if (parse_count(line, &n) < 0)
		return reply_error(s, EINVAL);
	if (s->mode == REF_SPLICE && s->file >= 0 && n >= s->splice_min)
		return read_spliced(s, n);
	if (s->out_cap < n + REF_HEADER_ROOM) {
		unsigned char *bigger = realloc(s->out, n + REF_HEADER_ROOM);

		if (bigger == NULL)
			return reply_error(s, ENOMEM);
		s->out = bigger;
		s->out_cap = n + REF_HEADER_ROOM;
	}
	unsigned char *data = s->out + REF_HEADER_ROOM;

	if (s->mode == REF_SINK) {
		if (n > pattern_max() && s->grow_pattern && pattern_init(n) < 0)
			return reply_error(s, ENOMEM);
		if (n > pattern_max())
			return reply_error(s, EINVAL);
		pattern_fill(data, n, n > 0 ? s->sink_offset / n : 0);
		s->sink_offset += n;
		got = (ssize_t)n;
	} else {
		got = read(s->file, data, n);
		if (got < 0)
			return reply_error(s, errno);
	}
	/* header right before the data: one write for the whole reply */
	char header[REF_HEADER_ROOM];
	int hlen = snprintf(header, sizeof(header), "A%zd\n", got);

	memcpy(data - hlen, header, (size_t)hlen);
	return write_all(s->wfd, data - hlen, (size_t)hlen + (size_t)got);
}

/*
 * I: only what a pipelining client asks (I-2 DISCARD and ROOM, I-3: no early
 * warning, as a file has none); anything else is refused.
 */
static int do_ioctl(struct ref_server *s)
{
	char *first = next_line(s);
	long long op;
	long long flags;
	char *second;

	if (first == NULL)
		return -EIO;
	op = atoll(first);
	second = next_line(s);
	if (second == NULL)
		return -EIO;
	flags = atoll(second);
	if (op == RMT_IOCTL_PIPELINE) {
		flags &= RMT_PIPELINE_DISCARD | RMT_PIPELINE_ROOM;
		s->pipelined = (flags & RMT_PIPELINE_DISCARD) != 0;
		return reply_value(s, flags);
	}
	if (op == RMT_IOCTL_ROOM && s->pipelined)
		return reply_value(s, -1);
	return reply_error(s, EINVAL);
}

static int dispatch(struct ref_server *s, unsigned char letter)
{
	if (letter != 'W')
		s->discarding = false;
	switch (letter) {
	case 'I':
		return do_ioctl(s);
	case 'O':
		return do_open(s);
	case 'C':
		return do_close(s);
	case 'L':
		return do_seek(s);
	case 'W':
		return do_write(s);
	case 'R':
		return do_read(s);
	case 'V':
		return next_line(s) == NULL ? -EIO : reply_value(s, 2);
	default:
		reply_error(s, EINVAL);
		return -EINVAL;
	}
}

int refserver_serve(int rfd, int wfd, void *arg)
{
	const struct ref_options *opts = arg;
	struct ref_server s = {.rfd = rfd,
	                       .wfd = wfd,
	                       .mode = opts->mode,
	                       .file = -1,
	                       .grow_pattern = opts->grow_pattern};
	int rc = 0;

	if (opts->pipe_size > 0) {
		/* fails harmlessly on sockets */
		fcntl(rfd, F_SETPIPE_SZ, (int)opts->pipe_size);
		fcntl(wfd, F_SETPIPE_SZ, (int)opts->pipe_size);
	}
	s.splice_min = opts->splice_min > 0 ? opts->splice_min : REF_SPLICE_MIN;
	s.command_read =
	    s.splice_min / 10 < REF_COMMAND_READ ? s.splice_min / 10 : REF_COMMAND_READ;
	if (s.command_read < REF_COMMAND_READ_MIN)
		s.command_read = REF_COMMAND_READ_MIN;
	s.in_cap = REF_LINE_MAX;
	s.in = malloc(s.in_cap);
	if (s.in == NULL)
		return -ENOMEM;
	for (;;) {
		if (s.pos == s.len) {
			ssize_t got = in_fill(&s, command_read_limit(&s));

			if (got <= 0) {
				rc = (int)got;
				break;
			}
		}
		unsigned char letter = s.in[s.pos++];

		if (letter == '\n' || letter == ' ' || letter == '\r' || letter == '\t')
			continue;
		rc = dispatch(&s, letter);
		if (rc < 0)
			break;
	}
	if (s.file >= 0)
		close(s.file);
	free(s.in);
	free(s.out);
	return rc;
}

int refserver_echo(int rfd, int wfd, void *arg)
{
	unsigned char byte;

	(void)arg;
	for (;;) {
		ssize_t n = read(rfd, &byte, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : 0;
		if (write_all(wfd, &byte, 1) < 0)
			return -EIO;
	}
}

struct ref_connection {
	int fd;
	const struct ref_options *opts;
};

static void *connection_thread(void *arg)
{
	struct ref_connection *rc = arg;

	refserver_serve(rc->fd, rc->fd, (void *)rc->opts);
	close(rc->fd);
	free(rc);
	return NULL;
}

static int listen_socket(const char *host, const char *port, char *bound_port, size_t bound_size)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *list;
	struct sockaddr_storage addr;
	socklen_t addr_len = sizeof(addr);
	int fd;

	if (getaddrinfo(host, port, &hints, &list) != 0)
		return -EADDRNOTAVAIL;
	fd = socket(list->ai_family, list->ai_socktype | SOCK_CLOEXEC, list->ai_protocol);
	if (fd < 0) {
		freeaddrinfo(list);
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
	if (bind(fd, list->ai_addr, list->ai_addrlen) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &addr_len) < 0) {
		int error = errno;

		freeaddrinfo(list);
		close(fd);
		return -error;
	}
	freeaddrinfo(list);
	if (bound_port != NULL &&
	    getnameinfo((struct sockaddr *)&addr, addr_len, NULL, 0, bound_port,
	                (socklen_t)bound_size, NI_NUMERICSERV) != 0) {
		close(fd);
		return -EADDRNOTAVAIL;
	}
	return fd;
}

static int accept_loop(int listener, const struct ref_options *opts)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			return -errno;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
		struct ref_connection *rc = malloc(sizeof(*rc));
		pthread_t thread;

		if (rc == NULL) {
			close(fd);
			continue;
		}
		rc->fd = fd;
		rc->opts = opts;
		if (pthread_create(&thread, &attr, connection_thread, rc) != 0) {
			close(fd);
			free(rc);
		}
	}
}

pid_t refserver_listen_fork(const char *host, const char *port, const struct ref_options *opts,
                            char *bound_port, size_t bound_size)
{
	int listener = listen_socket(host, port, bound_port, bound_size);
	pid_t pid;

	if (listener < 0)
		return listener;
	pid_t parent = getpid();

	pid = fork();
	if (pid < 0) {
		int error = errno;

		close(listener);
		return -error;
	}
	if (pid == 0) {
		/* do not outlive rmtbench, however it ends */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		_exit(accept_loop(listener, opts) < 0 ? 1 : 0);
	}
	close(listener);
	return pid;
}

int refserver_listen_run(const char *host, const char *port, const struct ref_options *opts)
{
	char bound[32];
	int listener = listen_socket(host, port, bound, sizeof(bound));

	if (listener < 0)
		return listener;
	fprintf(stderr, "rmtbench: reference server (pid %ld) listening on %s port %s\n",
	        (long)getpid(), host, bound);
	return accept_loop(listener, opts);
}
