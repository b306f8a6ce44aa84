/*
 * rmt_connect.c - rmt-connect: an rsh stand-in that reaches rmtd's TCP port.
 *
 *   rmt-connect [-46n] [--tls [--ca F] [--cert F] [--key F] [--server-name N]]
 *               [-l user] [-p port] host [-l user] [command ...]
 *
 * tar --rsh-command=rmt-connect and RSH=rmt-connect dump start it the way they
 * start rsh; it ignores the remote command, connects to rmtd on host (port from
 * -p, $RMT_PORT, else RMT_DEFAULT_TCP_PORT) and moves bytes both ways until the
 * server closes. EOF on stdin half-closes the connection (shutdown SHUT_WR) and
 * the replies still in flight are drained. Pipes are moved with splice(2), other
 * descriptors through a buffer. Exit status 0 when the server closed the
 * connection, 255 when it could not connect or the connection failed.
 *
 * With --tls (or RMT_TLS=1) the connection is TLS with a client certificate,
 * as rmtd's TLS listeners require; the files come from the options or from
 * RMT_TLS_CA, RMT_TLS_CERT, RMT_TLS_KEY and RMT_TLS_SERVER_NAME, as in librmt.
 * Clients that start it with no options (tar, dump) find what a host needs in
 * /etc/rmt-connect.conf (or $RMT_CONNECT_CONFIG, connect_config.h); options
 * win over the environment, the environment over the file.
 *
 * With --pipeline (RMT_PIPELINE=1, "pipeline" in the file) the bytes are not
 * passed blindly: pipeline.c reads the requests, answers writes at once and
 * keeps a window of them in flight, and reads ahead; over TLS it speaks to a
 * socket pair whose other end a second thread moves through the session.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <getopt.h>

#include "rmt/protocol.h"
#include "connect_config.h"
#include "number.h"
#include "pipeline.h"
#include "tls_client.h"
#include "write_window.h"

#define EXIT_CONNECT      255
#define COPY_BUFFER_SIZE  (256 * 1024)
#define SPLICE_CHUNK      (1024 * 1024)
#define CONNECT_TIMEOUT_S 30

static const char *program = "rmt-connect";

static void usage_synopsis(FILE *out)
{
	fprintf(out,
	        "usage: %s [-46n] [--tls [--ca FILE] [--cert FILE] [--key FILE] [--server-name "
	        "NAME]]\n"
	        "       [--pipeline | --classic] [--window R[,B]]\n"
	        "       [-l user] [-p port] host [-l user] [command ...]\n"
	        "       %s --help | --version\n",
	        program, program);
}

static void usage(FILE *out)
{
	usage_synopsis(out);
	fprintf(out,
	        "\n"
	        "Stands in for rsh: connects to rmtd on host (port: -p, $RMT_PORT, the\n"
	        "configuration, else %d) and passes standard input and output through.\n"
	        "\n"
	        "  -4, -6               IPv4 or IPv6 only\n"
	        "  -l user, -n          accepted and ignored, as rsh clients pass them\n"
	        "  -p port              the port\n"
	        "  --tls                TLS 1.3 with a client certificate ($RMT_TLS=1)\n"
	        "  --ca FILE            CA of the server's certificate ($RMT_TLS_CA)\n"
	        "  --cert FILE          client certificate ($RMT_TLS_CERT)\n"
	        "  --key FILE           its key ($RMT_TLS_KEY)\n"
	        "  --server-name NAME   name the server's certificate carries\n"
	        "                       ($RMT_TLS_SERVER_NAME)\n"
	        "  --pipeline           answer writes at once, read ahead, keep a window\n"
	        "                       in flight ($RMT_PIPELINE=1); --classic: one at a time\n"
	        "  --window R[,B]       at most R records and B bytes in flight\n"
	        "                       ($RMT_PIPELINE_WINDOW; default %d,%u)\n"
	        "  --help, --version    this text, the version\n"
	        "\n"
	        "Per-host settings, for clients that pass no options (tar, dump):\n"
	        "%s, or the file $RMT_CONNECT_CONFIG names.\n"
	        "Options win over the environment, the environment over the file.\n",
	        RMT_DEFAULT_TCP_PORT, PIPELINE_DEFAULT_RECORDS, PIPELINE_DEFAULT_BYTES,
	        CONNECT_CONFIG_DEFAULT_PATH);
}

/* A mistake gets the synopsis and where the rest is, not the whole help. */
static void __attribute__((noreturn)) usage_error(void)
{
	usage_synopsis(stderr);
	fprintf(stderr, "Try '%s --help' for the options, or see rmt-connect(1).\n", program);
	exit(EXIT_CONNECT);
}

static bool parse_port(const char *text, unsigned int *port)
{
	int64_t value;

	if (decimal_parse_range(text, 1, 65535, &value) < 0)
		return false;
	*port = (unsigned int)value;
	return true;
}

/* ------------------------------------------------------------------ connecting */

static int connect_with_timeout(const struct addrinfo *ai, int *error)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	struct pollfd pfd;
	socklen_t len = sizeof(*error);
	int n;

	if (fd < 0) {
		*error = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*error = errno;
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		n = poll(&pfd, 1, CONNECT_TIMEOUT_S * 1000);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		*error = ETIMEDOUT;
		close(fd);
		return -1;
	}
	if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, error, &len) < 0 || *error != 0) {
		if (n < 0)
			*error = errno;
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(const char *host, unsigned int port, int family)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM};
	struct addrinfo *list;
	char service[16];
	int result, fd = -1, error = ECONNREFUSED, one = 1;

	snprintf(service, sizeof(service), "%u", port);
	result = getaddrinfo(host, service, &hints, &list);
	if (result != 0) {
		fprintf(stderr, "%s: cannot connect to %s port %u: %s\n", program, host, port,
		        result == EAI_SYSTEM ? strerror(errno) : gai_strerror(result));
		exit(EXIT_CONNECT);
	}
	for (const struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_with_timeout(ai, &error);
	freeaddrinfo(list);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot connect to %s port %u: %s\n", program, host, port,
		        strerror(error));
		exit(EXIT_CONNECT);
	}
	/* Request/reply over TCP: without this every small message waits for a delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
}

/* ------------------------------------------------------------------ moving bytes */

/* One direction: in -> out, by splice while both ends allow it, else through buffer. */
struct flow {
	const char *name;
	int in, out;
	bool use_splice;
	bool in_eof;
	bool stalled; /* splice mode: the last transfer found out full */
	size_t start, end;
	unsigned char *buffer;
};

static bool flow_drained(const struct flow *f)
{
	return f->in_eof && f->start == f->end && !f->stalled;
}

static bool waits_for_out(const struct flow *f)
{
	return f->start < f->end || f->stalled;
}

static void stop_flow(struct flow *f)
{
	f->in_eof = true;
	f->stalled = false;
	f->start = f->end = 0;
}

/* The poll events this flow waits for on in and on out. */
static void flow_events(const struct flow *f, short *in_events, short *out_events)
{
	*in_events = 0;
	*out_events = 0;
	if (waits_for_out(f))
		*out_events = POLLOUT;
	else if (!f->in_eof)
		*in_events = POLLIN;
}

static void __attribute__((noreturn)) lost(const struct flow *f, const char *what)
{
	fprintf(stderr, "%s: %s (%s): %s\n", program, what, f->name, strerror(errno));
	exit(EXIT_CONNECT);
}

/* Write what is buffered. Returns false when out is closed for good (EPIPE). */
static bool flow_flush(struct flow *f)
{
	while (f->start < f->end) {
		ssize_t n = write(f->out, f->buffer + f->start, f->end - f->start);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EPIPE)
				return false;
			lost(f, "write failed");
		}
		f->start += (size_t)n;
	}
	f->start = f->end = 0;
	return true;
}

/* Move what is ready. Returns false when the receiving side is gone (EPIPE). */
static bool flow_step(struct flow *f)
{
	ssize_t n;

	if (f->start < f->end)
		return flow_flush(f);
	if (f->use_splice) {
		n = splice(f->in, NULL, f->out, NULL, SPLICE_CHUNK,
		           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			f->stalled = false;
			return true;
		}
		if (n == 0) {
			f->in_eof = true;
			f->stalled = false;
			return true;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* Woken for out: in has run dry; woken for in: out is full. */
			f->stalled = !f->stalled;
			return true;
		}
		if (errno == EINTR)
			return true;
		if (errno == EPIPE)
			return false;
		if (errno != EINVAL && errno != ENOSYS)
			lost(f, "transfer failed");
		/* Neither end is a pipe, or the file system cannot splice: copy. */
		f->use_splice = false;
		f->stalled = false;
	}
	n = read(f->in, f->buffer, COPY_BUFFER_SIZE);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		lost(f, "read failed");
	}
	if (n == 0) {
		f->in_eof = true;
		return true;
	}
	f->start = 0;
	f->end = (size_t)n;
	return flow_flush(f);
}

static int shovel(int sock)
{
	unsigned char *buffers = malloc(2 * COPY_BUFFER_SIZE);
	struct flow up = {.name = "to the server", .in = STDIN_FILENO, .out = sock};
	struct flow down = {.name = "from the server", .in = sock, .out = STDOUT_FILENO};
	bool half_closed = false;

	if (buffers == NULL) {
		fprintf(stderr, "%s: out of memory\n", program);
		return EXIT_CONNECT;
	}
	up.buffer = buffers;
	down.buffer = buffers + COPY_BUFFER_SIZE;
	up.use_splice = down.use_splice = true;
	/* Only the socket is ours to make non-blocking: stdin and stdout are shared with the
	 * parent. */
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);

	while (!flow_drained(&down)) {
		struct pollfd pfd[3];
		short in_events, out_events, sock_events = 0;
		int count = 0, n, up_in = -1, up_out = -1, down_in = -1, down_out = -1;

		if (flow_drained(&up) && !half_closed) {
			/* EOF from the client: tell the server, keep reading its last replies. */
			shutdown(sock, SHUT_WR);
			half_closed = true;
		}
		if (!half_closed) {
			flow_events(&up, &in_events, &out_events);
			if (in_events) {
				pfd[count] =
				    (struct pollfd){.fd = STDIN_FILENO, .events = in_events};
				up_in = count++;
			}
			sock_events |= out_events;
		}
		flow_events(&down, &in_events, &out_events);
		sock_events |= in_events;
		if (out_events) {
			pfd[count] = (struct pollfd){.fd = STDOUT_FILENO, .events = out_events};
			down_out = count++;
		}
		if (sock_events) {
			pfd[count] = (struct pollfd){.fd = sock, .events = sock_events};
			up_out = down_in = count++;
		}
		n = poll(pfd, (nfds_t)count, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			lost(&down, "poll failed");
		}
		/* Up: stdin readable, or the socket writable again for what is pending. */
		if ((up_in >= 0 && pfd[up_in].revents) ||
		    (up_out >= 0 && (pfd[up_out].revents & (POLLOUT | POLLERR | POLLHUP)) &&
		     waits_for_out(&up))) {
			if (!flow_step(&up))
				stop_flow(
				    &up); /* the server stopped reading: nothing more goes up */
		}
		/* Down: the socket readable, or stdout writable again. */
		if ((down_in >= 0 && (pfd[down_in].revents & (POLLIN | POLLERR | POLLHUP)) &&
		     !waits_for_out(&down)) ||
		    (down_out >= 0 && pfd[down_out].revents)) {
			if (!flow_step(&down))
				break; /* the client is gone */
		}
	}
	free(buffers);
	return 0;
}

static bool write_all(int fd, const char *data, size_t length)
{
	while (length > 0) {
		ssize_t n = write(fd, data, length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		length -= (size_t)n;
	}
	return true;
}

/* Why the TLS connection failed, never an empty line. */
static void tls_failed(const struct tls_client *tls, ssize_t result)
{
	const char *why = tls_client_error(tls);

	if (why[0] == '\0')
		why = result < 0 ? strerror((int)-result) : "the connection ended";
	fprintf(stderr, "%s: %s\n", program, why);
}

/*
 * The TLS relay: one thread, the socket nonblocking. Everything TLS has is
 * written to out at once; in is read only when the last piece went up. EOF on
 * in ends the session (the client has read its replies by then: rmt is
 * strictly request and reply, and the pipelined relay drains before its EOF);
 * the caller frees it, with a TLS close when this returns 0. in and out are
 * stdin and stdout, or the pipelined relay's end of a socket pair.
 */
static int shovel_tls(struct tls_client *tls, int sock, int in, int out)
{
	static char up[COPY_BUFFER_SIZE], down[COPY_BUFFER_SIZE];
	size_t up_length = 0, up_offset = 0;
	short read_wants = POLLIN, write_wants = POLLOUT;
	bool input_open = true;

	for (;;) {
		struct pollfd pfd[2];
		int count = 1;
		ssize_t n;

		while ((n = tls_client_read(tls, down, sizeof(down), &read_wants)) > 0)
			if (!write_all(out, down, (size_t)n))
				return EXIT_CONNECT; /* the client is gone */
		if (n == 0)
			return 0; /* the server closed */
		if (n != -EAGAIN) {
			tls_failed(tls, n);
			return EXIT_CONNECT;
		}
		while (up_offset < up_length) {
			n = tls_client_write(tls, up + up_offset, up_length - up_offset,
			                     &write_wants);
			if (n == -EAGAIN)
				break;
			if (n <= 0) {
				tls_failed(tls, n);
				return EXIT_CONNECT;
			}
			up_offset += (size_t)n;
		}
		if (up_offset == up_length)
			up_offset = up_length = 0;
		if (!input_open && up_length == 0)
			return 0; /* the caller ends the session with a TLS close */
		pfd[0].fd = sock;
		pfd[0].events = (short)(read_wants | (up_length > 0 ? write_wants : 0));
		if (input_open && up_length == 0) {
			pfd[1].fd = in;
			pfd[1].events = POLLIN;
			count = 2;
		}
		if (poll(pfd, (nfds_t)count, -1) < 0 && errno != EINTR)
			return EXIT_CONNECT;
		if (count == 2 && pfd[1].revents != 0) {
			n = read(in, up, sizeof(up));
			if (n > 0)
				up_length = (size_t)n;
			else if (n == 0 || errno != EINTR)
				input_open = false;
		}
	}
}

/* The pipelined relay over TLS: pipeline.c speaks to one end of a socket pair,
 * this thread moves the other end's bytes through the TLS session. */
struct tls_pump {
	struct tls_client *tls;
	int sock, end;
	int result;
};

static void *tls_pump_thread(void *arg)
{
	struct tls_pump *pump = arg;

	pump->result = shovel_tls(pump->tls, pump->sock, pump->end, pump->end);
	/* The server closed or the link failed: the relay reads EOF and says what was lost. */
	shutdown(pump->end, SHUT_RDWR);
	return NULL;
}

static int pipeline_over_tls(struct tls_client *tls, int sock, const struct pipeline_limits *limits)
{
	struct tls_pump pump = {.tls = tls, .sock = sock};
	pthread_t thread;
	int pair[2], status;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		fprintf(stderr, "%s: socketpair: %s\n", program, strerror(errno));
		return EXIT_CONNECT;
	}
	pump.end = pair[1];
	if (pthread_create(&thread, NULL, tls_pump_thread, &pump) != 0) {
		fprintf(stderr, "%s: cannot start the TLS relay\n", program);
		return EXIT_CONNECT;
	}
	status = pipeline_relay(pair[0], limits, program);
	shutdown(pair[0], SHUT_WR); /* (done by the relay too): the pump's EOF */
	pthread_join(thread, NULL);
	close(pair[0]);
	close(pair[1]);
	return status != 0 ? status : pump.result;
}

/* The first that is set: an option, the environment, the configuration file. */
static const char *first_of(const char *option, const char *environment, const char *file)
{
	if (option != NULL)
		return option;
	if (environment != NULL && environment[0] != '\0')
		return environment;
	return file;
}

int main(int argc, char **argv)
{
	enum {
		OPT_TLS = 256,
		OPT_CA,
		OPT_CERT,
		OPT_KEY,
		OPT_SERVER_NAME,
		OPT_PIPELINE,
		OPT_CLASSIC,
		OPT_WINDOW,
		OPT_HELP,
		OPT_VERSION
	};
	static const struct option long_options[] = {
	    {"tls", no_argument, NULL, OPT_TLS},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"server-name", required_argument, NULL, OPT_SERVER_NAME},
	    {"pipeline", no_argument, NULL, OPT_PIPELINE},
	    {"classic", no_argument, NULL, OPT_CLASSIC},
	    {"window", required_argument, NULL, OPT_WINDOW},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	struct tls_client_config options = {0}, tls_config;
	struct connect_settings file = {.tls = -1, .pipeline = -1};
	const char *env_tls = getenv("RMT_TLS");
	const char *env_port = getenv("RMT_PORT");
	const char *config_path = getenv("RMT_CONNECT_CONFIG");
	unsigned int port = RMT_DEFAULT_TCP_PORT;
	const char *host;
	int family = AF_UNSPEC, opt, sock;
	bool port_given = false, tls_given = false, tls;
	int pipeline_given = -1;
	const char *env_pipeline = getenv("RMT_PIPELINE");
	const char *window = getenv("RMT_PIPELINE_WINDOW");
	struct pipeline_limits limits = {PIPELINE_DEFAULT_RECORDS, PIPELINE_DEFAULT_BYTES};
	bool pipeline;
	char error[512];

	if (argv[0] != NULL && argv[0][0] != '\0') {
		const char *slash = strrchr(argv[0], '/');

		program = slash != NULL ? slash + 1 : argv[0];
	}
	/* "+": stop at the host, like rsh; what follows it belongs to the remote command. */
	while ((opt = getopt_long(argc, argv, "+46l:np:", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_TLS:
			tls_given = true;
			break;
		case OPT_CA:
			options.ca_file = optarg;
			break;
		case OPT_CERT:
			options.cert_file = optarg;
			break;
		case OPT_KEY:
			options.key_file = optarg;
			break;
		case OPT_SERVER_NAME:
			options.server_name = optarg;
			break;
		case OPT_PIPELINE:
		case OPT_CLASSIC:
			pipeline_given = opt == OPT_PIPELINE;
			break;
		case OPT_WINDOW:
			window = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("%s %s\n", program, RMTD_VERSION);
			exit(0);
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'l': /* the remote user: rmtd's TCP port has no login */
		case 'n': /* rsh's "stdin from /dev/null": the protocol needs stdin */
			break;
		case 'p':
			if (!parse_port(optarg, &port)) {
				fprintf(stderr, "%s: invalid port \"%s\"\n", program, optarg);
				exit(EXIT_CONNECT);
			}
			port_given = true;
			break;
		default:
			usage_error();
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no host\n", program);
		usage_error();
	}
	host = argv[optind];
	if (host[0] == '\0' || host[0] == '-') {
		fprintf(stderr, "%s: \"%s\" is not a host name\n", program, host);
		usage_error();
	}
	if (connect_config_read(config_path != NULL && config_path[0] != '\0'
	                            ? config_path
	                            : CONNECT_CONFIG_DEFAULT_PATH,
	                        config_path != NULL && config_path[0] != '\0', host, &file, error,
	                        sizeof(error)) < 0) {
		fprintf(stderr, "%s: %s\n", program, error);
		exit(EXIT_CONNECT);
	}
	if (!port_given && env_port != NULL && env_port[0] != '\0') {
		if (!parse_port(env_port, &port)) {
			fprintf(stderr, "%s: invalid RMT_PORT \"%s\"\n", program, env_port);
			exit(EXIT_CONNECT);
		}
	} else if (!port_given && file.port != 0) {
		port = file.port;
	}
	if (tls_given)
		tls = true;
	else if (env_tls != NULL && (strcmp(env_tls, "1") == 0 || strcmp(env_tls, "0") == 0))
		tls = env_tls[0] == '1';
	else
		tls = file.tls == 1;
	tls_config = (struct tls_client_config){
	    .ca_file = first_of(options.ca_file, getenv("RMT_TLS_CA"), file.ca),
	    .cert_file = first_of(options.cert_file, getenv("RMT_TLS_CERT"), file.cert),
	    .key_file = first_of(options.key_file, getenv("RMT_TLS_KEY"), file.key),
	    .server_name =
	        first_of(options.server_name, getenv("RMT_TLS_SERVER_NAME"), file.server_name),
	};
	if (pipeline_given >= 0)
		pipeline = pipeline_given == 1;
	else if (env_pipeline != NULL &&
	         (strcmp(env_pipeline, "1") == 0 || strcmp(env_pipeline, "0") == 0))
		pipeline = env_pipeline[0] == '1';
	else
		pipeline = file.pipeline == 1;
	if (window != NULL && window[0] != '\0' &&
	    !write_window_parse_limits(window, &limits.records, &limits.bytes)) {
		fprintf(stderr, "%s: invalid window \"%s\" (RECORDS[,BYTES])\n", program, window);
		exit(EXIT_CONNECT);
	}
	/* dump puts "-l user" after the host; the command (/etc/rmt ...) is ignored. */
	signal(SIGPIPE, SIG_IGN);
	sock = connect_to(host, port, family);
	if (tls) {
		struct tls_client *session;
		char why[256] = "";
		int result;

		if (tls_config.server_name == NULL)
			tls_config.server_name = host;
		result = tls_client_start(sock, &tls_config, CONNECT_TIMEOUT_S * 1000, &session,
		                          why, sizeof(why));
		if (result < 0) {
			fprintf(stderr, "%s: %s: %s\n", program, host,
			        why[0] != '\0' ? why : strerror(-result));
			exit(EXIT_CONNECT);
		}
		connect_settings_free(&file);
		if (pipeline)
			result = pipeline_over_tls(session, sock, &limits);
		else
			result = shovel_tls(session, sock, STDIN_FILENO, STDOUT_FILENO);
		/* A TLS close only when our side ended the session cleanly. */
		tls_client_free(session, result == 0);
		return result;
	}
	connect_settings_free(&file);
	if (pipeline)
		return pipeline_relay(sock, &limits, program);
	return shovel(sock);
}
