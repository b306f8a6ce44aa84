/*
 * rmtbench: throughput and latency of rmt servers, side by side in one run.
 *
 *   rmtbench pipe --server CMD... --target PATH   servers started over pipes, as rsh/ssh do
 *   rmtbench tcp --connect HOST:PORT --path PATH  a TCP server (--ceiling: and the sink)
 *   rmtbench tcp-ceiling                          the built-in loopback sink alone
 *   rmtbench idle --connect HOST:PORT --pid PID   resident memory per idle session
 *   rmtbench floor                                1-byte pipe round trip
 *   rmtbench sink --listen HOST:PORT              a reference server, in the foreground
 *   rmtbench serve                                a reference server on stdin/stdout
 *
 * Workload, per record size W: open O_WRONLY|O_CREAT|O_TRUNC, write N bytes as W-byte records,
 * close; new connection, open O_RDONLY, read them back as W-byte records and check them, close;
 * then round trips of "L0\n0\n" (seek to 0: the same in GNU's and BSD's argument order). Every
 * phase starts a new server process, because GNU rmt exits after C. Only the loop of W, R or L
 * requests is timed. Repetitions are interleaved across servers so drift hits all of them alike,
 * each starting one server further on so that no server always follows the same one.
 * This is a measurement tool, not a test: it reports numbers, it does not judge them.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_ENDPOINTS    12
#define MAX_RECORD_SIZES 16
#define MAX_REPEAT       101
#define MAX_CLIENTS      256
#define LABEL_SIZE       40

enum endpoint_kind { EP_EXEC, EP_FUNCTION, EP_TCP };

struct endpoint {
	char label[LABEL_SIZE];
	enum endpoint_kind kind;
	char **argv;
	struct ref_options ref;
	char host[256];
	char port[32];
	bool reference; /* built in: shown, but never a peer */
	bool ceiling;
	pid_t owned_pid;
	pid_t cpu_pid; /* TCP: the server process whose CPU time to read from /proc, or 0 */
};

enum phase { PHASE_WRITE, PHASE_READ, PHASE_LATENCY, PHASE_COUNT };

static const char *const phase_names[PHASE_COUNT] = {"write", "read", "latency"};

struct bench {
	struct endpoint endpoints[MAX_ENDPOINTS];
	int endpoint_count;
	const char *path;
	uint64_t size;
	size_t records[MAX_RECORD_SIZES];
	int record_count;
	int repeat;
	int count;
	int clients;
	const char *candidate;
	bool verify;
	bool ratio_of_best;
	bool phases[PHASE_COUNT];
	/* samples[endpoint][record size][phase][repetition]: MB/s, or µs per round trip */
	double samples[MAX_ENDPOINTS][MAX_RECORD_SIZES][PHASE_COUNT][MAX_REPEAT];
	/* the server process's own CPU time (user + system) over its life, seconds: a figure the
	 * load of the machine hardly moves; NAN where the server is not our child (TCP) */
	double cpu[MAX_ENDPOINTS][MAX_RECORD_SIZES][PHASE_COUNT][MAX_REPEAT];
	/* a server that only starts, opens, closes and exits: wall µs and CPU seconds */
	double start_wall[MAX_ENDPOINTS][MAX_REPEAT];
	double start_cpu[MAX_ENDPOINTS][MAX_REPEAT];
	/* the client thread's CPU seconds in the timed loop */
	double client_cpu[MAX_ENDPOINTS][MAX_RECORD_SIZES][PHASE_COUNT][MAX_REPEAT];
	double floor_us[MAX_REPEAT];
	bool have_floor;
};

struct job {
	const struct bench *bench;
	const struct endpoint *endpoint;
	enum phase phase;
	size_t record;
	uint64_t record_total;
	pthread_barrier_t barrier;
};

struct worker {
	struct job *job;
	int index;
	double started;
	double finished;   /* with the time spent checking data taken out */
	double server_cpu; /* seconds, or -1 when the server is not our child */
	double client_cpu; /* this thread's CPU seconds in the timed loop, checking taken out */
	int rc;
	char message[400];
	pthread_t thread;
};

static void die(const char *what)
{
	fprintf(stderr, "rmtbench: %s\n", what);
	exit(2);
}

static uint64_t parse_size(const char *text)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(text, &end, 10);
	if (end == text || errno != 0)
		goto bad;
	switch (*end) {
	case 'k':
	case 'K':
		n <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		n <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		n <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end != '\0' || n == 0)
		goto bad;
	return n;
bad:
	fprintf(stderr, "rmtbench: bad size \"%s\" (examples: 10240, 10K, 1M, 2G)\n", text);
	exit(2);
}

static void format_size(char *buf, size_t size, uint64_t n)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(buf, size, "%" PRIu64 "M", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, size, "%" PRIu64 "K", n >> 10);
	else
		snprintf(buf, size, "%" PRIu64, n);
}

static void parse_record_list(struct bench *b, const char *list)
{
	char *copy = strdup(list);
	char *save = NULL;

	if (copy == NULL)
		die("out of memory");
	b->record_count = 0;
	for (char *item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		uint64_t n = parse_size(item);

		if (b->record_count == MAX_RECORD_SIZES)
			die("too many record sizes");
		if (n > BENCH_MAX_RECORD)
			die("record size above 64M");
		b->records[b->record_count++] = (size_t)n;
	}
	free(copy);
	if (b->record_count == 0)
		die("--records needs at least one size");
}

static void label_from(char *label, const char *spec, size_t spec_len)
{
	if (spec_len >= LABEL_SIZE)
		spec_len = LABEL_SIZE - 1;
	memcpy(label, spec, spec_len);
	label[spec_len] = '\0';
}

/* "[LABEL=]WORDS..." with LABEL free of '/' and blanks; returns the part after the label. */
static const char *split_label(char *label, const char *spec, const char *fallback_from)
{
	const char *eq = strchr(spec, '=');

	if (eq != NULL && strcspn(spec, "/ \t") > (size_t)(eq - spec)) {
		label_from(label, spec, (size_t)(eq - spec));
		return eq + 1;
	}
	label_from(label, fallback_from, strlen(fallback_from));
	return spec;
}

static struct endpoint *new_endpoint(struct bench *b)
{
	if (b->endpoint_count == MAX_ENDPOINTS)
		die("too many servers");
	struct endpoint *ep = &b->endpoints[b->endpoint_count++];

	memset(ep, 0, sizeof(*ep));
	ep->owned_pid = -1;
	return ep;
}

static void add_pipe_server(struct bench *b, const char *spec)
{
	struct endpoint *ep = new_endpoint(b);
	static const struct {
		const char *name;
		enum ref_mode mode;
	} builtins[] = {{"@sink", REF_SINK}, {"@file", REF_FILE}, {"@splice", REF_SPLICE}};

	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		size_t len = strlen(builtins[i].name);

		if (strncmp(spec, builtins[i].name, len) == 0 &&
		    (spec[len] == '\0' || spec[len] == ':')) {
			ep->kind = EP_FUNCTION;
			ep->ref.mode = builtins[i].mode;
			/*
			 * "@file:1M": the server enlarges its pipes to 1 MiB first;
			 * "@splice:1M:8K": and splices records of 8 KiB and more.
			 */
			if (spec[len] == ':') {
				char sizes[64];
				char *minimum;

				snprintf(sizes, sizeof(sizes), "%s", spec + len + 1);
				minimum = strchr(sizes, ':');
				if (minimum != NULL && builtins[i].mode != REF_SPLICE)
					die("only @splice takes a second :SIZE (@splice:PIPE:MIN)");
				if (minimum != NULL) {
					*minimum = '\0';
					ep->ref.splice_min = (size_t)parse_size(minimum + 1);
				}
				ep->ref.pipe_size = (size_t)parse_size(sizes);
			}
			ep->reference = true;
			label_from(ep->label, spec, strlen(spec));
			return;
		}
	}
	char *words = strdup(split_label(ep->label, spec, ""));
	int argc = 0;
	char *save = NULL;

	if (words == NULL)
		die("out of memory");
	ep->argv = calloc(strlen(words) / 2 + 2, sizeof(char *));
	if (ep->argv == NULL)
		die("out of memory");
	for (char *w = strtok_r(words, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save))
		ep->argv[argc++] = w;
	if (argc == 0)
		die("--server needs a command");
	ep->kind = EP_EXEC;
	if (ep->label[0] == '\0') {
		const char *base = strrchr(ep->argv[0], '/');

		base = base != NULL ? base + 1 : ep->argv[0];
		label_from(ep->label, base, strlen(base));
	}
}

static void parse_host_port(const char *spec, char *host, size_t host_size, char *port,
                            size_t port_size)
{
	const char *colon = strrchr(spec, ':');
	size_t host_len;

	if (colon == NULL || colon[1] == '\0')
		die("expected HOST:PORT");
	host_len = (size_t)(colon - spec);
	if (host_len >= 2 && spec[0] == '[' && spec[host_len - 1] == ']') {
		spec++;
		host_len -= 2;
	}
	if (host_len >= host_size || strlen(colon + 1) >= port_size)
		die("HOST:PORT too long");
	memcpy(host, spec, host_len);
	host[host_len] = '\0';
	snprintf(port, port_size, "%s", colon + 1);
}

static void add_tcp_server(struct bench *b, const char *spec)
{
	struct endpoint *ep = new_endpoint(b);
	const char *address = split_label(ep->label, spec, spec);

	ep->kind = EP_TCP;
	parse_host_port(address, ep->host, sizeof(ep->host), ep->port, sizeof(ep->port));
}

/* A built-in server on a loopback port, in its own process: the sink is the TCP ceiling, the
 * file server the floor under any server that writes the same target over TCP. */
static void add_tcp_reference(struct bench *b, enum ref_mode mode)
{
	struct endpoint *ep = new_endpoint(b);

	ep->kind = EP_TCP;
	ep->reference = true;
	ep->ceiling = mode == REF_SINK;
	ep->ref.mode = mode;
	snprintf(ep->label, sizeof(ep->label), "%s",
	         mode == REF_SINK ? "@tcp-ceiling" : "@tcp-file");
	snprintf(ep->host, sizeof(ep->host), "127.0.0.1");
	ep->owned_pid =
	    refserver_listen_fork("127.0.0.1", "0", &ep->ref, ep->port, sizeof(ep->port));
	if (ep->owned_pid < 0)
		die("cannot start a loopback reference server");
	ep->cpu_pid = ep->owned_pid;
}

static void add_ceiling(struct bench *b)
{
	add_tcp_reference(b, REF_SINK);
}

static void stop_owned_servers(struct bench *b)
{
	for (int i = 0; i < b->endpoint_count; i++) {
		struct endpoint *ep = &b->endpoints[i];

		if (ep->owned_pid > 0) {
			kill(ep->owned_pid, SIGTERM);
			waitpid(ep->owned_pid, NULL, 0);
			ep->owned_pid = -1;
		}
	}
}

static int endpoint_connect(const struct endpoint *ep, struct conn *c)
{
	switch (ep->kind) {
	case EP_EXEC:
		return conn_spawn(c, ep->argv);
	case EP_FUNCTION:
		return conn_spawn_function(c, refserver_serve, (void *)&ep->ref);
	case EP_TCP:
		return conn_connect_tcp(c, ep->host, ep->port);
	}
	return -EINVAL;
}

/* The client's target: "%d" becomes the client number; several clients without "%d" get
 * ".<number>" appended, so that each has its own file or drive. */
static void client_path(char *out, size_t size, const char *pattern, int index, int clients)
{
	const char *mark = strstr(pattern, "%d");

	if (mark != NULL)
		snprintf(out, size, "%.*s%d%s", (int)(mark - pattern), pattern, index, mark + 2);
	else if (clients > 1)
		snprintf(out, size, "%s.%d", pattern, index);
	else
		snprintf(out, size, "%s", pattern);
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* checking[0]: wall seconds spent checking data read back; checking[1]: CPU seconds (they differ
 * when the machine is busy and preempts the check) */
static int worker_loop(struct worker *w, struct conn *c, unsigned char *buf, double checking[2])
{
	const struct job *job = w->job;
	size_t n = job->record;

	switch (job->phase) {
	case PHASE_WRITE:
		for (uint64_t i = 0; i < job->record_total; i++) {
			pattern_stamp(buf, n, i);
			int64_t rc = conn_write_record(c, buf, n);

			if (rc < 0)
				return (int)rc;
		}
		return 0;
	case PHASE_READ:
		for (uint64_t i = 0; i < job->record_total; i++) {
			int64_t got = conn_read_record(c, buf, n);

			if (got < 0)
				return (int)got;
			if ((size_t)got != n) {
				snprintf(c->error, sizeof(c->error),
				         "record %" PRIu64 ": R%zu answered A%" PRId64, i, n, got);
				return -EIO;
			}
			if (job->bench->verify) {
				double t = bench_now();
				double cpu = thread_cpu();
				bool good = pattern_check(buf, n, i);

				checking[1] += thread_cpu() - cpu;
				checking[0] += bench_now() - t;
				if (!good) {
					snprintf(c->error, sizeof(c->error),
					         "record %" PRIu64 " read back differs", i);
					return -EIO;
				}
			}
		}
		return 0;
	case PHASE_LATENCY:
		for (int i = 0; i < job->bench->count; i++) {
			int64_t where = conn_request(c, "L0\n0\n");

			if (where != 0) {
				if (where > 0)
					snprintf(c->error, sizeof(c->error),
					         "L0 0 answered A%" PRId64, where);
				return where < 0 ? (int)where : -EIO;
			}
		}
		return 0;
	default:
		return -EINVAL;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct job *job = w->job;
	struct conn *c = conn_new();
	unsigned char *buf = NULL;
	char path[PATH_MAX];
	double checking[2] = {0, 0};
	int rc;

	w->rc = -ENOMEM;
	w->server_cpu = -1;
	if (c == NULL || (buf = malloc(job->record)) == NULL) {
		snprintf(w->message, sizeof(w->message), "out of memory");
		pthread_barrier_wait(&w->job->barrier);
		goto out;
	}
	/* touch every page now: page faults belong to no server's time */
	pattern_fill(buf, job->record, 0);
	rc = endpoint_connect(job->endpoint, c);
	if (rc == 0) {
		client_path(path, sizeof(path), job->bench->path, w->index, job->bench->clients);
		rc = (int)conn_request(c, "O%s\n%s\n", path,
		                       job->phase == PHASE_WRITE ? "577 O_WRONLY|O_CREAT|O_TRUNC"
		                                                 : "0 O_RDONLY");
	}
	pthread_barrier_wait(&w->job->barrier);
	if (rc == 0) {
		double cpu_started = thread_cpu();

		w->started = bench_now();
		rc = worker_loop(w, c, buf, checking);
		w->finished = bench_now() - checking[0];
		w->client_cpu = thread_cpu() - cpu_started - checking[1];
	}
	if (rc == 0) {
		int64_t closed = conn_request(c, "C\n");

		rc = closed < 0 ? (int)closed : 0;
	}
	w->rc = rc;
	if (rc < 0)
		snprintf(w->message, sizeof(w->message), "%s", c->error);
	conn_finish(c);
	w->server_cpu = c->server_cpu;
out:
	conn_free(c);
	free(buf);
	return NULL;
}

/* User + system seconds of a whole process, threads that have exited included, from
 * /proc/PID/stat: clock-tick resolution (10 ms), enough over a phase of a few hundred ms. */
static double process_cpu(pid_t pid)
{
	char name[64], line[1024];
	unsigned long long utime, stime;
	FILE *f;
	char *p;

	snprintf(name, sizeof(name), "/proc/%ld/stat", (long)pid);
	f = fopen(name, "r");
	if (f == NULL)
		return NAN;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return NAN;
	/* after "pid (comm)": state is field 3, utime 14, stime 15 */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
	           &stime) != 2)
		return NAN;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Run one phase with all clients at once; returns MB/s (write, read) or µs per round trip, and
 * in *cpu_s a server's CPU seconds over its life, averaged over the clients (NAN if unknown). */
static double run_phase(const struct bench *b, const struct endpoint *ep, enum phase phase,
                        size_t record, double *cpu_s, double *client_s)
{
	struct job job = {.bench = b, .endpoint = ep, .phase = phase, .record = record};
	struct worker workers[MAX_CLIENTS];

	*cpu_s = *client_s = NAN;
	double first = 0, last = 0, per_op = 0, cpu = 0, client = 0;

	job.record_total = phase == PHASE_LATENCY ? 0 : b->size / record;
	if (phase == PHASE_LATENCY)
		job.record = 16;
	double tcp_cpu = ep->cpu_pid > 0 ? process_cpu(ep->cpu_pid) : NAN;

	if (pthread_barrier_init(&job.barrier, NULL, (unsigned)b->clients) != 0)
		die("pthread_barrier_init failed");
	for (int i = 0; i < b->clients; i++) {
		workers[i] = (struct worker){.job = &job, .index = i};
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
			die("pthread_create failed");
	}
	for (int i = 0; i < b->clients; i++)
		pthread_join(workers[i].thread, NULL);
	pthread_barrier_destroy(&job.barrier);
	for (int i = 0; i < b->clients; i++) {
		struct worker *w = &workers[i];

		if (w->rc < 0) {
			char size_text[32];

			format_size(size_text, sizeof(size_text), record);
			fprintf(stderr, "rmtbench: %s, %s%s%s, client %d: %s\n", ep->label,
			        phase_names[phase], phase == PHASE_LATENCY ? "" : " ",
			        phase == PHASE_LATENCY ? "" : size_text, i,
			        w->message[0] != '\0' ? w->message : strerror(-w->rc));
			return NAN;
		}
		if (i == 0 || w->started < first)
			first = w->started;
		if (i == 0 || w->finished > last)
			last = w->finished;
		per_op += (w->finished - w->started) / b->count * 1e6;
		cpu = cpu < 0 || w->server_cpu < 0 ? -1 : cpu + w->server_cpu;
		client += w->client_cpu;
	}
	*cpu_s = cpu < 0 ? NAN : cpu / b->clients;
	if (ep->kind == EP_TCP)
		*cpu_s = (process_cpu(ep->cpu_pid) - tcp_cpu) / b->clients;
	*client_s = client / b->clients;
	if (phase == PHASE_LATENCY)
		return per_op / b->clients;
	return (double)job.record_total * (double)record * b->clients / (last - first) / 1e6;
}

static double measure_echo_floor(int count)
{
	struct conn *c = conn_new();
	unsigned char byte = 'x';
	double start, elapsed;

	if (c == NULL || conn_spawn_function(c, refserver_echo, NULL) < 0)
		die("cannot start the echo child");
	/* one round trip first, so that the child is running */
	if (write(c->wfd, &byte, 1) != 1 || read(c->rfd, &byte, 1) != 1)
		die("echo child failed");
	start = bench_now();
	for (int i = 0; i < count; i++) {
		if (write(c->wfd, &byte, 1) != 1 || read(c->rfd, &byte, 1) != 1)
			die("echo child failed");
	}
	elapsed = bench_now() - start;
	conn_free(c);
	return elapsed / count * 1e6;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct summary {
	double median, low, high;
	bool valid;
};

static struct summary summarize(const double *samples, int n)
{
	double sorted[MAX_REPEAT];
	struct summary s = {NAN, NAN, NAN, false};

	for (int i = 0; i < n; i++) {
		if (isnan(samples[i]))
			return s;
		sorted[i] = samples[i];
	}
	qsort(sorted, (size_t)n, sizeof(double), compare_doubles);
	s.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	s.low = sorted[0];
	s.high = sorted[n - 1];
	s.valid = true;
	return s;
}

static int find_candidate(const struct bench *b)
{
	for (int i = 0; i < b->endpoint_count; i++) {
		if (strcmp(b->endpoints[i].label, b->candidate) == 0)
			return i;
	}
	return -1;
}

static void print_cell(const struct summary *s, bool latency)
{
	char text[48];

	if (!s->valid)
		snprintf(text, sizeof(text), "failed");
	else if (latency && s->median < 10)
		snprintf(text, sizeof(text), "%.2f [%.2f-%.2f]", s->median, s->low, s->high);
	else if (latency && s->median < 100)
		snprintf(text, sizeof(text), "%.1f [%.1f-%.1f]", s->median, s->low, s->high);
	else
		snprintf(text, sizeof(text), "%.0f [%.0f-%.0f]", s->median, s->low, s->high);
	printf(" %-21s", text);
}

/* Ratio columns: candidate against the best real peer, and against the ceiling if there is one. */
/* The figure a ratio uses: the median, or with --ratio best the best repetition (highest MB/s,
 * lowest time), which other work on a busy machine disturbs least. */
static double ratio_value(const struct bench *b, const struct summary *s, bool latency)
{
	if (!b->ratio_of_best)
		return s->median;
	return latency ? s->low : s->high;
}

/* Ratio columns: candidate against the best real peer, and against the ceiling if there is one. */
static void print_ratios(const struct bench *b, const struct summary *row, bool latency)
{
	int cand = find_candidate(b);
	double best = NAN, ceiling = NAN, mine;

	if (cand < 0)
		return;
	for (int i = 0; i < b->endpoint_count; i++) {
		const struct endpoint *ep = &b->endpoints[i];
		double v = ratio_value(b, &row[i], latency);

		if (!row[i].valid)
			continue;
		if (ep->ceiling)
			ceiling = v;
		if (i == cand || ep->reference)
			continue;
		if (isnan(best) || (latency ? v < best : v > best))
			best = v;
	}
	if (!row[cand].valid)
		return;
	mine = ratio_value(b, &row[cand], latency);
	/* always "times better": for latency, peer time over candidate time */
	if (!isnan(best))
		printf(" %8.2fx", latency ? best / mine : mine / best);
	if (!isnan(ceiling))
		printf(" %8.1f%%", latency ? ceiling / mine * 100 : mine / ceiling * 100);
}

static bool has_peers(const struct bench *b, int cand)
{
	for (int i = 0; i < b->endpoint_count; i++) {
		if (i != cand && !b->endpoints[i].reference)
			return true;
	}
	return false;
}

static void print_header(const struct bench *b, const char *first)
{
	int cand = find_candidate(b);
	bool ceiling = false;

	printf("%-8s", first);
	for (int i = 0; i < b->endpoint_count; i++) {
		printf(" %-21s", b->endpoints[i].label);
		ceiling |= b->endpoints[i].ceiling;
	}
	if (cand >= 0 && has_peers(b, cand))
		printf(" %9s", "vs-peer");
	if (cand >= 0 && ceiling)
		printf(" %9s", "of-ceil");
	printf("\n");
}

static bool any_cpu(const struct bench *b)
{
	for (int e = 0; e < b->endpoint_count; e++) {
		if (!isnan(b->cpu[e][0][b->phases[PHASE_WRITE] ? PHASE_WRITE : PHASE_LATENCY][0]))
			return true;
	}
	return false;
}

static double timed_requests(const struct bench *b, int r, enum phase ph)
{
	return ph == PHASE_LATENCY ? (double)b->count : (double)(b->size / b->records[r]);
}

/* estimate: false, the server's CPU µs per request; true, the MB/s (or for round trips the µs)
 * that client and server CPU time together allow on one CPU */
static void print_cpu_row(const struct bench *b, const char *name, int r, enum phase ph,
                          bool estimate)
{
	struct summary row[MAX_ENDPOINTS];
	bool throughput = estimate && ph != PHASE_LATENCY;

	printf("%-8s", name);
	for (int e = 0; e < b->endpoint_count; e++) {
		/* take out what a server costs to start, open, close and exit */
		struct summary start = summarize(b->start_cpu[e], b->repeat);

		if (b->endpoints[e].kind == EP_TCP)
			start.median = 0; /* a long-running server: nothing to take out */
		double per_request[MAX_REPEAT];

		for (int rep = 0; rep < b->repeat; rep++) {
			double requests = timed_requests(b, r, ph);
			double us = (b->cpu[e][r][ph][rep] - start.median) / requests * 1e6;

			if (estimate)
				us += b->client_cpu[e][r][ph][rep] / requests * 1e6;
			per_request[rep] = throughput ? (double)b->records[r] / us : us;
		}
		row[e] = summarize(per_request, b->repeat);
		if (!row[e].valid && isnan(b->cpu[e][r][ph][0]) && !isnan(b->samples[e][r][ph][0]))
			printf(" %-21s", "-"); /* not our child: unknown, not failed */
		else
			print_cell(&row[e], !throughput);
	}
	print_ratios(b, row, !throughput);
	printf("\n");
}

/* The servers' own CPU time per request: what each one costs, whatever else the machine does. */
static void print_cpu_table(const struct bench *b)
{
	char name[40], size_text[32];

	if (!any_cpu(b))
		return;
	printf(
	    "\nserver CPU time per request, microseconds, median [min-max] of %d: user + system "
	    "of the server\nprocess, from wait4 less its start-up (pipes) or from /proc/PID/stat "
	    "in 10 ms ticks (TCP)\n",
	    b->repeat);
	print_header(b, "request");
	for (int ph = PHASE_WRITE; ph <= PHASE_READ; ph++) {
		if (!b->phases[ph])
			continue;
		for (int r = 0; r < b->record_count; r++) {
			format_size(size_text, sizeof(size_text), b->records[r]);
			snprintf(name, sizeof(name), "%c %s", ph == PHASE_WRITE ? 'W' : 'R',
			         size_text);
			print_cpu_row(b, name, r, ph, false);
		}
	}
	if (b->phases[PHASE_LATENCY])
		print_cpu_row(b, "L0 0", 0, PHASE_LATENCY, false);

	printf("\nCPU-bound estimate: the MB/s one CPU running both client and server allows, the "
	       "record size\nover (client + server CPU time per request); for L0 0 that time in "
	       "microseconds. Load hardly moves it.\n");
	print_header(b, "request");
	for (int ph = PHASE_WRITE; ph <= PHASE_READ; ph++) {
		if (!b->phases[ph])
			continue;
		for (int r = 0; r < b->record_count; r++) {
			format_size(size_text, sizeof(size_text), b->records[r]);
			snprintf(name, sizeof(name), "%c %s", ph == PHASE_WRITE ? 'W' : 'R',
			         size_text);
			print_cpu_row(b, name, r, ph, true);
		}
	}
	if (b->phases[PHASE_LATENCY])
		print_cpu_row(b, "L0 0", 0, PHASE_LATENCY, true);

	struct summary row[MAX_ENDPOINTS];
	double cpu_us[MAX_REPEAT];
	bool any_start = false;

	for (int e = 0; e < b->endpoint_count; e++)
		any_start |= b->endpoints[e].kind != EP_TCP;
	if (!any_start)
		return;
	printf(
	    "\nserver start-up: fork, exec, O, C and exit, microseconds, median [min-max] of %d\n",
	    b->repeat);
	print_header(b, "");
	printf("%-8s", "wall");
	for (int e = 0; e < b->endpoint_count; e++) {
		row[e] = summarize(b->start_wall[e], b->repeat);
		if (b->endpoints[e].kind == EP_TCP)
			printf(" %-21s", "-");
		else
			print_cell(&row[e], true);
	}
	print_ratios(b, row, true);
	printf("\n%-8s", "CPU");
	for (int e = 0; e < b->endpoint_count; e++) {
		for (int rep = 0; rep < b->repeat; rep++)
			cpu_us[rep] = b->start_cpu[e][rep] * 1e6;
		row[e] = summarize(cpu_us, b->repeat);
		if (b->endpoints[e].kind == EP_TCP)
			printf(" %-21s", "-");
		else
			print_cell(&row[e], true);
	}
	print_ratios(b, row, true);
	printf("\n");
}

static void print_tables(const struct bench *b)
{
	int cand = find_candidate(b);
	char size_text[32];

	for (int ph = PHASE_WRITE; ph <= PHASE_READ; ph++) {
		if (!b->phases[ph])
			continue;
		printf("\n%s throughput, MB/s (10^6 bytes/s)%s, median [min-max] of %d\n",
		       phase_names[ph], b->clients > 1 ? ", aggregate of all clients" : "",
		       b->repeat);
		print_header(b, "record");
		for (int r = 0; r < b->record_count; r++) {
			struct summary row[MAX_ENDPOINTS];

			format_size(size_text, sizeof(size_text), b->records[r]);
			printf("%-8s", size_text);
			for (int e = 0; e < b->endpoint_count; e++) {
				row[e] = summarize(b->samples[e][r][ph], b->repeat);
				print_cell(&row[e], false);
			}
			print_ratios(b, row, false);
			printf("\n");
		}
	}
	if (b->phases[PHASE_LATENCY]) {
		struct summary row[MAX_ENDPOINTS];

		printf("\nround trip of \"L0\\n0\\n\", microseconds, median [min-max] of %d x %d\n",
		       b->repeat, b->count);
		print_header(b, "");
		printf("%-8s", "L0 0");
		for (int e = 0; e < b->endpoint_count; e++) {
			row[e] = summarize(b->samples[e][0][PHASE_LATENCY], b->repeat);
			print_cell(&row[e], true);
		}
		print_ratios(b, row, true);
		printf("\n");
	}
	print_cpu_table(b);
	if (b->have_floor) {
		struct summary s = summarize(b->floor_us, b->repeat);

		printf("\nfloor: 1-byte round trip through two pipes to an echo child: %.2f us "
		       "[%.2f-%.2f]\n",
		       s.median, s.low, s.high);
	}
	if (cand >= 0)
		printf("\nvs-peer: %s over the best other real server; of-ceil: %s as a share of "
		       "the ceiling (both > 1 or 100%% = %s better); ratios of the %s\n",
		       b->endpoints[cand].label, b->endpoints[cand].label, b->endpoints[cand].label,
		       b->ratio_of_best ? "best repetitions" : "medians");
}

static void print_environment(const struct bench *b, const char *mode)
{
	struct utsname u;
	cpu_set_t set;
	char cpus[256] = "", model[128] = "?", line[512], size_text[32];
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "model name", 10) == 0) {
				char *colon = strchr(line, ':');

				snprintf(model, sizeof(model), "%.100s",
				         colon != NULL ? colon + 2 : line);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		}
		fclose(f);
	}
	CPU_ZERO(&set);
	sched_getaffinity(0, sizeof(set), &set);
	for (int i = 0, n = 0; i < CPU_SETSIZE && n < 40; i++) {
		if (CPU_ISSET(i, &set)) {
			size_t len = strlen(cpus);

			snprintf(cpus + len, sizeof(cpus) - len, "%s%d", n++ ? "," : "", i);
		}
	}
	uname(&u);
	format_size(size_text, sizeof(size_text), b->size);
	printf("rmtbench %s: %s per phase, %d client(s), %d repetitions, target %s\n", mode,
	       size_text, b->clients, b->repeat, b->path != NULL ? b->path : "-");
	printf("host: Linux %s, %s, %ld CPUs online; this run may use CPUs %s%s\n", u.release,
	       model, sysconf(_SC_NPROCESSORS_ONLN), cpus,
	       CPU_COUNT(&set) == 1 ? " (pinned: client and servers share one CPU)" : "");
	for (int i = 0; i < b->endpoint_count; i++) {
		const struct endpoint *ep = &b->endpoints[i];

		printf("  %-14s ", ep->label);
		if (ep->kind == EP_EXEC) {
			for (char **a = ep->argv; *a != NULL; a++)
				printf("%s%s", a == ep->argv ? "" : " ", *a);
		} else if (ep->kind == EP_FUNCTION) {
			printf("built-in reference server over pipes");
		} else if (ep->ceiling) {
			printf("built-in loopback sink (reads W, answers A<n>) at %s:%s", ep->host,
			       ep->port);
		} else if (ep->reference) {
			printf("built-in file server (read + write + reply) at %s:%s", ep->host,
			       ep->port);
		} else {
			printf("TCP %s:%s", ep->host, ep->port);
		}
		printf("\n");
	}
	fflush(stdout);
}

/* Before any server is forked: the built-in ones answer R from the same pattern. */
static void prepare_pattern(const struct bench *b)
{
	size_t largest = 16;

	for (int r = 0; r < b->record_count; r++) {
		if (b->records[r] > largest)
			largest = b->records[r];
		if (b->size / b->records[r] == 0)
			die("--size is smaller than a record");
	}
	if (pattern_init(largest) < 0)
		die("out of memory");
}

/* Start a server, open the target for writing, close, let it exit: what one rsh session costs
 * before any data moves. Only for servers that are our children. */
static void measure_start(struct bench *b, int e, int rep)
{
	const struct endpoint *ep = &b->endpoints[e];
	struct conn *c;
	char path[PATH_MAX];
	double started;
	int64_t rc;

	b->start_wall[e][rep] = b->start_cpu[e][rep] = NAN;
	if (ep->kind == EP_TCP)
		return;
	c = conn_new();
	if (c == NULL)
		die("out of memory");
	client_path(path, sizeof(path), b->path, 0, b->clients);
	started = bench_now();
	rc = endpoint_connect(ep, c);
	if (rc == 0)
		rc = conn_request(c, "O%s\n577 O_WRONLY|O_CREAT|O_TRUNC\n", path);
	if (rc == 0)
		rc = conn_request(c, "C\n");
	if (rc < 0)
		fprintf(stderr, "rmtbench: %s, start: %s\n", ep->label, c->error);
	conn_finish(c);
	if (rc == 0) {
		b->start_wall[e][rep] = (bench_now() - started) * 1e6;
		b->start_cpu[e][rep] = c->server_cpu;
	}
	conn_free(c);
}

/*
 * The ith server measured in repetition rep: each repetition starts one server
 * further on, so that no server always follows the same one (the one before
 * leaves the target's pages and the machine's caches as it leaves them).
 */
static int endpoint_in_turn(const struct bench *b, int rep, int i)
{
	return (i + rep) % b->endpoint_count;
}

static void run_all(struct bench *b, const char *mode, bool echo_floor)
{
	print_environment(b, mode);
	for (int rep = 0; rep < b->repeat; rep++) {
		for (int i = 0; i < b->endpoint_count; i++)
			measure_start(b, endpoint_in_turn(b, rep, i), rep);
	}
	for (int r = 0; r < b->record_count; r++) {
		char size_text[32];

		format_size(size_text, sizeof(size_text), b->records[r]);
		fprintf(stderr, "rmtbench: records of %s ...\n", size_text);
		for (int rep = 0; rep < b->repeat; rep++) {
			for (int i = 0; i < b->endpoint_count; i++) {
				int e = endpoint_in_turn(b, rep, i);

				for (int ph = PHASE_WRITE; ph <= PHASE_READ; ph++) {
					if (!b->phases[ph])
						continue;
					/* read needs the file this server just wrote */
					b->samples[e][r][ph][rep] = run_phase(
					    b, &b->endpoints[e], ph, b->records[r],
					    &b->cpu[e][r][ph][rep], &b->client_cpu[e][r][ph][rep]);
				}
			}
		}
	}
	if (b->phases[PHASE_LATENCY]) {
		fprintf(stderr, "rmtbench: round trips ...\n");
		for (int rep = 0; rep < b->repeat; rep++) {
			for (int i = 0; i < b->endpoint_count; i++) {
				int e = endpoint_in_turn(b, rep, i);

				b->samples[e][0][PHASE_LATENCY][rep] =
				    run_phase(b, &b->endpoints[e], PHASE_LATENCY, 16,
				              &b->cpu[e][0][PHASE_LATENCY][rep],
				              &b->client_cpu[e][0][PHASE_LATENCY][rep]);
			}
		}
	}
	if (echo_floor) {
		for (int rep = 0; rep < b->repeat; rep++)
			b->floor_us[rep] = measure_echo_floor(b->count);
		b->have_floor = true;
	}
	print_tables(b);
}

/* Resident set of a process in KiB from /proc/PID/status; field is e.g. "VmRSS:". */
static long proc_status_kib(pid_t pid, const char *field)
{
	char name[64], line[256];
	long value = -1;
	size_t field_len = strlen(field);
	FILE *f;

	snprintf(name, sizeof(name), "/proc/%ld/status", (long)pid);
	f = fopen(name, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, field_len) == 0) {
			value = strtol(line + field_len, NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

static void unescape(char *s)
{
	char *out = s;

	for (char *in = s; *in != '\0'; in++) {
		if (in[0] == '\\' && in[1] == 'n') {
			*out++ = '\n';
			in++;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

static void print_rss(const char *when, pid_t pid)
{
	printf("%-22s VmRSS %7ld KiB  RssAnon %7ld KiB  Threads %ld\n", when,
	       proc_status_kib(pid, "VmRSS:"), proc_status_kib(pid, "RssAnon:"),
	       proc_status_kib(pid, "Threads:"));
}

/* One round: open the sessions, each with one request, measure, close them all, measure. */
static int idle_round(const struct endpoint *ep, pid_t pid, int sessions, const char *command,
                      long baseline)
{
	struct conn **conns = calloc((size_t)sessions, sizeof(*conns));
	long after, closed;
	int opened = 0;
	char when[64];

	if (conns == NULL)
		die("out of memory");
	for (; opened < sessions; opened++) {
		struct conn *c = conn_new();
		int64_t rc;

		if (c == NULL)
			die("out of memory");
		rc = conn_connect_tcp(c, ep->host, ep->port);
		if (rc == 0)
			rc = conn_request(c, "%s", command);
		if (rc < 0) {
			fprintf(stderr, "rmtbench: session %d: %s\n", opened, c->error);
			conn_free(c);
			break;
		}
		conns[opened] = c;
	}
	usleep(500000);
	after = proc_status_kib(pid, "VmRSS:");
	snprintf(when, sizeof(when), "%d sessions open", opened);
	print_rss(when, pid);
	for (int i = 0; i < opened; i++)
		conn_free(conns[i]);
	free(conns);
	usleep(500000);
	closed = proc_status_kib(pid, "VmRSS:");
	print_rss("all closed again", pid);
	if (opened > 0)
		printf("  resident memory per idle session: %.1f KiB (VmRSS growth %ld KiB / %d); "
		       "after closing all: %+ld KiB\n",
		       (double)(after - baseline) / opened, after - baseline, opened,
		       closed - baseline);
	return opened == sessions ? 0 : 1;
}

/* Several rounds, each measured from the RSS just before it: memory the server keeps after the
 * first round and reuses in the next (allocator caches) shows as a smaller growth in round 2; a
 * leak grows the same again. */
static int run_idle(struct bench *b, pid_t pid, int sessions, char *command, int rounds)
{
	const struct endpoint *ep = &b->endpoints[0];
	struct rlimit lim;
	int rc = 0;

	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	unescape(command);
	printf("rmtbench idle: %d sessions to %s:%s, each sends %zu byte(s) and waits; server pid "
	       "%ld; %d round(s)\n",
	       sessions, ep->host, ep->port, strlen(command), (long)pid, rounds);
	usleep(200000);
	for (int round = 1; round <= rounds && rc == 0; round++) {
		long before = proc_status_kib(pid, "VmRSS:");

		if (before < 0)
			die("cannot read the server's /proc/PID/status");
		printf("round %d\n", round);
		print_rss("before", pid);
		rc = idle_round(ep, pid, sessions, command, before);
	}
	return rc;
}

enum {
	OPT_SERVER = 256,
	OPT_CONNECT,
	OPT_TARGET,
	OPT_SIZE,
	OPT_RECORDS,
	OPT_REPEAT,
	OPT_COUNT,
	OPT_CLIENTS,
	OPT_CANDIDATE,
	OPT_NO_VERIFY,
	OPT_NO_READ,
	OPT_NO_LATENCY,
	OPT_CEILING,
	OPT_TCP_FILE,
	OPT_RATIO,
	OPT_SESSIONS,
	OPT_PID,
	OPT_COMMAND,
	OPT_LISTEN,
	OPT_MODE,
	OPT_PIPE_SIZE,
	OPT_HELP,
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: rmtbench pipe --server '[LABEL=]CMD ARGS' ... --target PATH [options]\n"
	    "       rmtbench tcp --connect [LABEL=]HOST:PORT ... --path PATH [--ceiling] "
	    "[options]\n"
	    "       rmtbench tcp-ceiling [options]\n"
	    "       rmtbench idle (--connect HOST:PORT --pid PID | --ceiling) [--sessions N]\n"
	    "                     [--command 'V\\n']\n"
	    "       rmtbench floor [--count M] [--repeat K]\n"
	    "       rmtbench sink --listen HOST:PORT [--mode sink|file|splice]\n"
	    "       rmtbench serve [--mode sink|file|splice] [--pipe-size N]   (on stdin/stdout)\n"
	    "options:\n"
	    "  --server SPEC     a server started over pipes, words split on blanks; or a\n"
	    "                    built-in reference: @sink, @file or @splice, with :SIZE to\n"
	    "                    have it enlarge its pipes (F_SETPIPE_SZ) first, and for\n"
	    "                    @splice :SIZE:MIN to splice records of MIN and more\n"
	    "                    (default 64K) (repeatable)\n"
	    "  --connect SPEC    a TCP server (repeatable); --pid PID after it: the server's\n"
	    "                    process, for its CPU time per request\n"
	    "  --ceiling         add the built-in loopback TCP sink (tcp), or measure it (idle)\n"
	    "  --target PATH     file the server opens (same as --path); %%d = client number\n"
	    "  --size N          bytes per phase and client (default 256M)\n"
	    "  --records LIST    record sizes (default 10K,64K,256K,1M)\n"
	    "  --repeat K        repetitions of each measurement (default 5)\n"
	    "  --count M         round trips per latency measurement (default 20000)\n"
	    "  --clients C       parallel clients, each on its own server and target\n"
	    "  --candidate NAME  server compared with the others (default rmtd, else the\n"
	    "                    first real one)\n"
	    "  --no-verify, --no-read, --no-latency\n");
}

int main(int argc, char **argv)
{
	static struct bench bench;
	struct bench *b = &bench;
	static const struct option options[] = {
	    {"server", required_argument, NULL, OPT_SERVER},
	    {"connect", required_argument, NULL, OPT_CONNECT},
	    {"target", required_argument, NULL, OPT_TARGET},
	    {"path", required_argument, NULL, OPT_TARGET},
	    {"size", required_argument, NULL, OPT_SIZE},
	    {"records", required_argument, NULL, OPT_RECORDS},
	    {"repeat", required_argument, NULL, OPT_REPEAT},
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"clients", required_argument, NULL, OPT_CLIENTS},
	    {"candidate", required_argument, NULL, OPT_CANDIDATE},
	    {"no-verify", no_argument, NULL, OPT_NO_VERIFY},
	    {"no-read", no_argument, NULL, OPT_NO_READ},
	    {"no-latency", no_argument, NULL, OPT_NO_LATENCY},
	    {"ceiling", no_argument, NULL, OPT_CEILING},
	    {"tcp-file", no_argument, NULL, OPT_TCP_FILE},
	    {"ratio", required_argument, NULL, OPT_RATIO},
	    {"sessions", required_argument, NULL, OPT_SESSIONS},
	    {"pid", required_argument, NULL, OPT_PID},
	    {"command", required_argument, NULL, OPT_COMMAND},
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"mode", required_argument, NULL, OPT_MODE},
	    {"pipe-size", required_argument, NULL, OPT_PIPE_SIZE},
	    {"help", no_argument, NULL, OPT_HELP},
	    {NULL, 0, NULL, 0},
	};
	const char *mode;
	bool ceiling = false, tcp_file = false, repeat_given = false;
	int sessions = 1000, opt;
	long pid = -1;
	char *command = NULL, *listen_spec = NULL;
	size_t pipe_size = 0;
	struct ref_options sink_options = {.mode = REF_SINK};

	if (argc < 2 || argv[1][0] == '-') {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	mode = argv[1];
	b->size = 256u << 20;
	parse_record_list(b, "10K,64K,256K,1M");
	b->repeat = 5;
	b->count = 20000;
	b->clients = 1;
	b->verify = true;
	b->phases[PHASE_WRITE] = b->phases[PHASE_READ] = b->phases[PHASE_LATENCY] = true;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_SERVER:
			add_pipe_server(b, optarg);
			break;
		case OPT_CONNECT:
			add_tcp_server(b, optarg);
			break;
		case OPT_TARGET:
			b->path = optarg;
			break;
		case OPT_SIZE:
			b->size = parse_size(optarg);
			break;
		case OPT_RECORDS:
			parse_record_list(b, optarg);
			break;
		case OPT_REPEAT:
			b->repeat = atoi(optarg);
			repeat_given = true;
			break;
		case OPT_COUNT:
			b->count = atoi(optarg);
			break;
		case OPT_CLIENTS:
			b->clients = atoi(optarg);
			break;
		case OPT_CANDIDATE:
			b->candidate = optarg;
			break;
		case OPT_NO_VERIFY:
			b->verify = false;
			break;
		case OPT_NO_READ:
			b->phases[PHASE_READ] = false;
			break;
		case OPT_NO_LATENCY:
			b->phases[PHASE_LATENCY] = false;
			break;
		case OPT_CEILING:
			ceiling = true;
			break;
		case OPT_TCP_FILE:
			tcp_file = true;
			break;
		case OPT_RATIO:
			if (strcmp(optarg, "median") != 0 && strcmp(optarg, "best") != 0)
				die("--ratio is median or best");
			b->ratio_of_best = strcmp(optarg, "best") == 0;
			break;
		case OPT_SESSIONS:
			sessions = atoi(optarg);
			break;
		case OPT_PID:
			pid = atol(optarg);
			/* tcp: the process behind the --connect just before it */
			if (b->endpoint_count > 0 &&
			    b->endpoints[b->endpoint_count - 1].kind == EP_TCP)
				b->endpoints[b->endpoint_count - 1].cpu_pid = (pid_t)pid;
			break;
		case OPT_COMMAND:
			command = optarg;
			break;
		case OPT_LISTEN:
			listen_spec = optarg;
			break;
		case OPT_MODE:
			if (strcmp(optarg, "sink") == 0)
				sink_options.mode = REF_SINK;
			else if (strcmp(optarg, "file") == 0)
				sink_options.mode = REF_FILE;
			else if (strcmp(optarg, "splice") == 0)
				sink_options.mode = REF_SPLICE;
			else
				die("--mode is sink, file or splice");
			break;
		case OPT_PIPE_SIZE:
			pipe_size = (size_t)parse_size(optarg);
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		die("unexpected arguments (quote a --server command with its arguments)");
	if (b->repeat < 1 || b->repeat > MAX_REPEAT || b->count < 1 || b->clients < 1 ||
	    b->clients > MAX_CLIENTS || sessions < 1)
		die("--repeat is 1..101, --clients 1..256, --count and --sessions at least 1");
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (strcmp(mode, "sink") == 0) {
		char host[256], port[32];

		if (listen_spec == NULL)
			die("sink needs --listen HOST:PORT");
		parse_host_port(listen_spec, host, sizeof(host), port, sizeof(port));
		if (pattern_init(16u << 20) < 0)
			die("out of memory");
		return refserver_listen_run(host, port, &sink_options) < 0 ? 1 : 0;
	}
	if (strcmp(mode, "serve") == 0) {
		/*
		 * A reference server on standard input and output, e.g. under strace, or as
		 * tar's rsh-command: one thread, so the pattern is made only as large as an R
		 * asks, and a run that only writes does not pay for 16 MiB of it.
		 */
		sink_options.grow_pattern = true;
		sink_options.pipe_size = pipe_size;
		return refserver_serve(STDIN_FILENO, STDOUT_FILENO, &sink_options) < 0 ? 1 : 0;
	}
	if (strcmp(mode, "floor") == 0) {
		struct summary s;

		for (int rep = 0; rep < b->repeat; rep++)
			b->floor_us[rep] = measure_echo_floor(b->count);
		s = summarize(b->floor_us, b->repeat);
		printf("1-byte round trip through two pipes to an echo child: %.2f us [%.2f-%.2f], "
		       "median [min-max] of %d x %d\n",
		       s.median, s.low, s.high, b->repeat, b->count);
		return 0;
	}
	if (strcmp(mode, "idle") == 0) {
		char default_command[] = "V\\n";

		if (ceiling) {
			if (b->endpoint_count != 0)
				die("idle takes --connect or --ceiling, not both");
			add_ceiling(b);
			pid = b->endpoints[0].owned_pid;
		}
		if (b->endpoint_count != 1 || pid <= 0)
			die("idle needs one --connect HOST:PORT and --pid PID (or --ceiling)");
		int rc =
		    run_idle(b, (pid_t)pid, sessions, command != NULL ? command : default_command,
		             repeat_given ? b->repeat : 2);

		stop_owned_servers(b);
		return rc;
	}
	if (strcmp(mode, "tcp-ceiling") == 0) {
		if (b->endpoint_count != 0)
			die("tcp-ceiling measures only the built-in sink; use tcp --ceiling to "
			    "compare");
		ceiling = true;
		mode = "tcp";
		if (b->path == NULL)
			b->path = "sink";
	}
	if (strcmp(mode, "pipe") != 0 && strcmp(mode, "tcp") != 0) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < b->endpoint_count; i++) {
		if ((b->endpoints[i].kind == EP_TCP) != (strcmp(mode, "tcp") == 0))
			die("pipe takes --server, tcp takes --connect");
	}
	prepare_pattern(b);
	if (tcp_file)
		add_tcp_reference(b, REF_FILE);
	if (ceiling)
		add_ceiling(b);
	if (b->endpoint_count == 0)
		die("no server given");
	if (b->path == NULL)
		die("--target PATH is required");
	if (b->candidate == NULL) {
		b->candidate = "rmtd";
		if (find_candidate(b) < 0) {
			for (int i = 0; i < b->endpoint_count; i++) {
				if (!b->endpoints[i].reference) {
					b->candidate = b->endpoints[i].label;
					break;
				}
			}
		}
	}
	run_all(b, mode, strcmp(mode, "pipe") == 0);
	stop_owned_servers(b);
	return 0;
}
