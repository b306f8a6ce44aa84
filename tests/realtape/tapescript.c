/*
 * tapescript.c - run a tape operation script against an rmt server, one result line per op.
 *
 *   tapescript [-t TAPE] [-r RTAPE] [-T SECONDS] [-e SERVER_LOG] SCRIPT -- SERVER [ARGS...]
 *
 * The server (rmtd --stdio, or a classic rmt such as /usr/sbin/rmt-dump) is started
 * with pipes on its stdin and stdout and spoken to in the rmt protocol. Every script
 * line is one request (or a directive); the output is one normalised line per
 * request, so that two runs of the same script against two devices (the real st
 * driver and the virtual tape) can be compared with diff. "$TAPE" and "$RTAPE" in
 * a script are replaced by -t and -r (the no-rewind and the rewinding name).
 *
 * Script lines (one op per line, '#' starts a comment):
 *   open PATH FLAGS...      O: FLAGS is the flag line as sent ("2 O_RDWR", "O_RDONLY")
 *   close                   C
 *   write SIZE LETTER       W: SIZE bytes of the pattern named by LETTER (see below)
 *   read SIZE               R: prints the count and which pattern bytes came back
 *   weof|fsf|bsf|fsr|bsr|fsfm|bsfm|setblk|setdensity|erase|mtseek|weofi|compression N
 *   rewind|offline|nop|reten|eom        I with the native Linux op and count 1
 *   ioctl OP COUNT          I with any op number
 *   version                 I-1 / 0 (RMT V1 query)
 *   status                  S: fileno, blkno, gstat bits, block size, density, ...
 *   tell                    L 0 / 10 (DUMP's QFA: MTIOCPOS)
 *   seek N                  L N / 11 (DUMP's QFA: MTSEEK)
 *   lseek OFFSET WHENCE     L OFFSET / WHENCE
 *   sfield C                s C (one extended status field)
 *   iext CODE COUNT         i CODE / COUNT (extended MTIOCTOP)
 *   autostatus on|off       send S after every op that may move the tape (default on)
 *   expect TEXT             the previous result line must contain TEXT (else: failure)
 *   echo TEXT               copy TEXT to the output
 *   A leading '~' on an op marks its result as not comparable (a documented limit of
 *   the emulated drive): the line is printed with "~" and its result in brackets.
 *
 * Pattern: a record written as LETTER is made of 8-byte units "Xuuuuuu\n" (the letter,
 * the unit number in 6 hex digits, a newline), so a read that returns part of a record
 * is printed as "data=X@OFFSET+COUNT" and any other data as an FNV-1a hash.
 *
 * Exit status: 0 when every request was answered and every expect held, 1 when an
 * expect failed, 2 on a protocol error, timeout or server death (the output says so).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RECORD     (16 * 1024 * 1024)
#define MAX_LINE       4096
#define REPLY_LINE_MAX 256

struct child {
	pid_t pid;
	int to_server;   /* its stdin */
	int from_server; /* its stdout */
	int timeout_ms;
	char inbuf[65536];
	size_t inbuf_start, inbuf_end;
};

struct reply {
	bool ok;       /* A */
	int64_t value; /* A value, or errno of E */
	char text[REPLY_LINE_MAX];
};

static char result_line[8192]; /* what the current op prints */
static bool protocol_broken;

static void result_append(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void result_append(const char *fmt, ...)
{
	size_t used = strlen(result_line);
	va_list ap;

	if (used >= sizeof(result_line) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(result_line + used, sizeof(result_line) - used, fmt, ap);
	va_end(ap);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tapescript: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ------------------------------------------------------------------ server I/O */

static void child_start(struct child *s, char **argv, const char *log_path)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	s->pid = fork();
	if (s->pid < 0)
		die("fork: %s", strerror(errno));
	if (s->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (log_path != NULL) {
			int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

			if (fd >= 0)
				dup2(fd, 2);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "tapescript: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->to_server = in[1];
	s->from_server = out[0];
	s->inbuf_start = s->inbuf_end = 0;
}

static bool child_send(struct child *s, const void *data, size_t length)
{
	const char *p = data;

	while (length > 0) {
		ssize_t n = write(s->to_server, p, length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		length -= (size_t)n;
	}
	return true;
}

/* One byte from the server: -1 on EOF, -2 on timeout, -3 on error. */
static int child_getc(struct child *s)
{
	if (s->inbuf_start == s->inbuf_end) {
		struct pollfd pfd = {.fd = s->from_server, .events = POLLIN};
		ssize_t n;
		int ready;

		do {
			ready = poll(&pfd, 1, s->timeout_ms);
		} while (ready < 0 && errno == EINTR);
		if (ready == 0)
			return -2;
		if (ready < 0)
			return -3;
		do {
			n = read(s->from_server, s->inbuf, sizeof(s->inbuf));
		} while (n < 0 && errno == EINTR);
		if (n == 0)
			return -1;
		if (n < 0)
			return -3;
		s->inbuf_start = 0;
		s->inbuf_end = (size_t)n;
	}
	return (unsigned char)s->inbuf[s->inbuf_start++];
}

static const char *getc_failure(int c)
{
	return c == -1 ? "EOF (server closed its output)" : c == -2 ? "TIMEOUT" : "read error";
}

/* Read one reply line (without the newline). Returns 0 or a child_getc failure. */
static int child_line(struct child *s, char *line, size_t size)
{
	size_t used = 0;

	for (;;) {
		int c = child_getc(s);

		if (c < 0)
			return c;
		if (c == '\n')
			break;
		if (used + 1 < size)
			line[used++] = (char)c;
	}
	line[used] = '\0';
	return 0;
}

static bool child_bytes(struct child *s, unsigned char *buf, size_t count, int *failure)
{
	for (size_t i = 0; i < count; i++) {
		int c = child_getc(s);

		if (c < 0) {
			*failure = c;
			return false;
		}
		buf[i] = (unsigned char)c;
	}
	return true;
}

/* Parse "A<n>" or "E<n>" + text line. Marks the protocol broken on anything else. */
static bool child_reply(struct child *s, struct reply *reply)
{
	char line[REPLY_LINE_MAX];
	char *end;
	int r;

	memset(reply, 0, sizeof(*reply));
	r = child_line(s, line, sizeof(line));
	if (r < 0) {
		result_append("%s", getc_failure(r));
		protocol_broken = true;
		return false;
	}
	if (line[0] != 'A' && line[0] != 'E') {
		result_append("BAD REPLY '%.60s'", line);
		protocol_broken = true;
		return false;
	}
	errno = 0;
	reply->value = strtoll(line + 1, &end, 10);
	if (end == line + 1 || *end != '\0' || errno != 0) {
		result_append("BAD REPLY '%.60s'", line);
		protocol_broken = true;
		return false;
	}
	reply->ok = line[0] == 'A';
	if (!reply->ok) {
		r = child_line(s, reply->text, sizeof(reply->text));
		if (r < 0) {
			result_append("E%" PRId64 " then %s", reply->value, getc_failure(r));
			protocol_broken = true;
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ formatting */

static const char *errno_name(int64_t e)
{
	static const struct {
		int number;
		const char *name;
	} names[] = {
	    {EPERM, "EPERM"},         {ENOENT, "ENOENT"},
	    {EINTR, "EINTR"},         {EIO, "EIO"},
	    {ENXIO, "ENXIO"},         {E2BIG, "E2BIG"},
	    {EBADF, "EBADF"},         {EAGAIN, "EAGAIN"},
	    {ENOMEM, "ENOMEM"},       {EACCES, "EACCES"},
	    {EFAULT, "EFAULT"},       {EBUSY, "EBUSY"},
	    {EEXIST, "EEXIST"},       {ENODEV, "ENODEV"},
	    {ENOTDIR, "ENOTDIR"},     {EISDIR, "EISDIR"},
	    {EINVAL, "EINVAL"},       {ENOTTY, "ENOTTY"},
	    {EFBIG, "EFBIG"},         {ENOSPC, "ENOSPC"},
	    {ESPIPE, "ESPIPE"},       {EROFS, "EROFS"},
	    {EPIPE, "EPIPE"},         {ERANGE, "ERANGE"},
	    {ENOSYS, "ENOSYS"},       {EOVERFLOW, "EOVERFLOW"},
	    {ENOMEDIUM, "ENOMEDIUM"}, {EOPNOTSUPP, "EOPNOTSUPP"},
	    {EMSGSIZE, "EMSGSIZE"},   {ENOTSUP, "ENOTSUP"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].number == e)
			return names[i].name;
	return "?";
}

static void append_reply(const struct reply *reply)
{
	if (reply->ok)
		result_append("A%" PRId64, reply->value);
	else
		result_append("E%" PRId64 "(%s)", reply->value, errno_name(reply->value));
}

static void pattern_unit(char letter, uint64_t unit, char out[9])
{
	snprintf(out, 9, "%c%06" PRIx64 "\n", letter, unit & 0xffffff);
}

static void pattern_fill(unsigned char *buf, size_t count, char letter)
{
	char unit[9];

	for (size_t i = 0; i < count; i++) {
		if (i % 8 == 0)
			pattern_unit(letter, i / 8, unit);
		buf[i] = (unsigned char)unit[i % 8];
	}
}

static bool is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * Does buf start with the pattern of some letter, at some offset of its record?
 * Returns how many bytes match (0: none; at least one whole unit is needed).
 */
static size_t pattern_identify(const unsigned char *buf, size_t count, char *letter,
                               uint64_t *offset)
{
	for (size_t p = 0; p < 8 && p + 8 <= count; p++) {
		char unit_text[7], expected[9];
		uint64_t unit, start;
		char candidate = (char)buf[p];
		bool hex = true;
		size_t i;

		if (!isalpha(buf[p]) || buf[p + 7] != '\n')
			continue;
		for (int k = 1; k < 7; k++)
			if (!is_hex(buf[p + k]))
				hex = false;
		if (!hex)
			continue;
		memcpy(unit_text, buf + p + 1, 6);
		unit_text[6] = '\0';
		unit = strtoull(unit_text, NULL, 16);
		if (unit * 8 < p)
			continue;
		start = unit * 8 - p;
		for (i = 0; i < count; i++) {
			uint64_t at = start + i;

			pattern_unit(candidate, at / 8, expected);
			if (buf[i] != (unsigned char)expected[at % 8])
				break;
		}
		if (i >= p + 8) {
			*letter = candidate;
			*offset = start;
			return i;
		}
	}
	return 0;
}

/*
 * Describe data as pattern pieces, e.g. "data=G@0+512,H@0+512" (several records in
 * one fixed-block read), or an FNV-1a hash of whatever is not a pattern.
 */
static void append_data(const unsigned char *buf, size_t count)
{
	size_t done = 0;

	if (count == 0)
		return;
	result_append(" data=");
	while (done < count) {
		uint64_t offset;
		char letter;
		size_t matched = pattern_identify(buf + done, count - done, &letter, &offset);

		if (done > 0)
			result_append(",");
		if (matched == 0) {
			uint32_t hash = 2166136261u;

			for (size_t i = done; i < count; i++) {
				hash ^= buf[i];
				hash *= 16777619u;
			}
			result_append("fnv:%08" PRIx32 "+%zu", hash, count - done);
			return;
		}
		result_append("%c@%" PRIu64 "+%zu", letter, offset, matched);
		done += matched;
	}
}

static void append_gstat(long gstat)
{
	static const struct {
		unsigned long bit;
		const char *name;
	} bits[] = {
	    {0x80000000ul, "EOF"},    {0x40000000ul, "BOT"},     {0x20000000ul, "EOT"},
	    {0x10000000ul, "SM"},     {0x08000000ul, "EOD"},     {0x04000000ul, "WR_PROT"},
	    {0x01000000ul, "ONLINE"}, {0x00800000ul, "D_6250"},  {0x00400000ul, "D_1600"},
	    {0x00200000ul, "D_800"},  {0x00040000ul, "DR_OPEN"}, {0x00010000ul, "IM_REP_EN"},
	    {0x00008000ul, "CLN"},
	};
	unsigned long rest = (unsigned long)gstat;
	bool first = true;

	result_append(" gstat=");
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (rest & bits[i].bit) {
			result_append("%s%s", first ? "" : ",", bits[i].name);
			rest &= ~bits[i].bit;
			first = false;
		}
	}
	if (rest != 0)
		result_append("%s0x%lx", first ? "" : ",", rest);
	else if (first)
		result_append("-");
}

/* ------------------------------------------------------------------ requests */

static bool request_simple(struct child *s, const char *request, size_t length)
{
	struct reply reply;

	if (!child_send(s, request, length)) {
		result_append("SEND FAILED (server gone)");
		protocol_broken = true;
		return false;
	}
	if (!child_reply(s, &reply))
		return false;
	append_reply(&reply);
	return true;
}

static bool request_status(struct child *s, bool prefix)
{
	struct reply reply;
	struct mtget status;
	unsigned char raw[512];
	int failure = 0;

	if (prefix)
		result_append(" |");
	if (!child_send(s, "S", 1)) {
		result_append(" SEND FAILED (server gone)");
		protocol_broken = true;
		return false;
	}
	if (!child_reply(s, &reply))
		return false;
	if (!reply.ok) {
		result_append(" status ");
		append_reply(&reply);
		return true;
	}
	if (reply.value < 0 || reply.value > (int64_t)sizeof(raw)) {
		result_append(" status A%" PRId64 " (size out of range)", reply.value);
		protocol_broken = true;
		return false;
	}
	if (!child_bytes(s, raw, (size_t)reply.value, &failure)) {
		result_append(" status data: %s", getc_failure(failure));
		protocol_broken = true;
		return false;
	}
	if (reply.value != (int64_t)sizeof(status)) {
		result_append(" status size %" PRId64 " (expected %zu)", reply.value,
		              sizeof(status));
		return true;
	}
	memcpy(&status, raw, sizeof(status));
	result_append(" file=%d blk=%d", status.mt_fileno, status.mt_blkno);
	append_gstat(status.mt_gstat);
	result_append(" bs=%ld dens=0x%02lx type=0x%lx part=%ld erreg=0x%lx",
	              status.mt_dsreg & 0xffffff, (status.mt_dsreg >> 24) & 0xff, status.mt_type,
	              status.mt_resid, status.mt_erreg);
	return true;
}

static bool request_read(struct child *s, size_t count, unsigned char *buf)
{
	struct reply reply;
	char request[64];
	int failure = 0;

	snprintf(request, sizeof(request), "R%zu\n", count);
	if (!child_send(s, request, strlen(request))) {
		result_append("SEND FAILED (server gone)");
		protocol_broken = true;
		return false;
	}
	if (!child_reply(s, &reply))
		return false;
	append_reply(&reply);
	if (!reply.ok)
		return true;
	if (reply.value < 0 || (uint64_t)reply.value > count) {
		result_append(" (MORE THAN ASKED)");
		protocol_broken = true;
		return false;
	}
	if (!child_bytes(s, buf, (size_t)reply.value, &failure)) {
		result_append(" data: %s", getc_failure(failure));
		protocol_broken = true;
		return false;
	}
	append_data(buf, (size_t)reply.value);
	return true;
}

static bool request_write(struct child *s, size_t count, char letter, unsigned char *buf)
{
	char header[64];

	pattern_fill(buf, count, letter);
	snprintf(header, sizeof(header), "W%zu\n", count);
	if (!child_send(s, header, strlen(header)) || !child_send(s, buf, count)) {
		result_append("SEND FAILED (server gone)");
		protocol_broken = true;
		return false;
	}
	{
		struct reply reply;

		if (!child_reply(s, &reply))
			return false;
		append_reply(&reply);
	}
	return true;
}

/* ------------------------------------------------------------------ script */

static const struct {
	const char *name;
	int op;
	bool takes_count; /* else count 1 */
} named_ops[] = {
    {"reset", MTRESET, false},  {"fsf", MTFSF, true},
    {"bsf", MTBSF, true},       {"fsr", MTFSR, true},
    {"bsr", MTBSR, true},       {"weof", MTWEOF, true},
    {"rewind", MTREW, false},   {"offline", MTOFFL, false},
    {"nop", MTNOP, false},      {"reten", MTRETEN, false},
    {"bsfm", MTBSFM, true},     {"fsfm", MTFSFM, true},
    {"eom", MTEOM, false},      {"erase", MTERASE, true},
    {"setblk", MTSETBLK, true}, {"setdensity", MTSETDENSITY, true},
    {"mtseek", MTSEEK, true},   {"compression", MTCOMPRESSION, true},
    {"weofi", 35, true},
};

static char *substitute(const char *in, const char *tape, const char *rtape)
{
	static char out[MAX_LINE * 2];
	size_t used = 0;

	while (*in != '\0' && used + 1 < sizeof(out)) {
		const char *value = NULL;
		size_t skip = 0;

		if (strncmp(in, "$RTAPE", 6) == 0) {
			value = rtape;
			skip = 6;
		} else if (strncmp(in, "$TAPE", 5) == 0) {
			value = tape;
			skip = 5;
		}
		if (value != NULL) {
			size_t n = strlen(value);

			if (used + n >= sizeof(out))
				break;
			memcpy(out + used, value, n);
			used += n;
			in += skip;
		} else {
			out[used++] = *in++;
		}
	}
	out[used] = '\0';
	return out;
}

static bool parse_number(const char *text, int64_t minimum, int64_t maximum, int64_t *value)
{
	char *end;

	if (text == NULL)
		return false;
	errno = 0;
	*value = strtoll(text, &end, 10);
	return end != text && *end == '\0' && errno == 0 && *value >= minimum && *value <= maximum;
}

static void usage(void)
{
	fprintf(stderr, "usage: tapescript [-t TAPE] [-r RTAPE] [-T SECONDS] [-e SERVER_LOG] "
	                "SCRIPT -- SERVER [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *tape = "/dev/nst0", *rtape = NULL, *log_path = NULL;
	struct child server = {.timeout_ms = 60000};
	unsigned char *buf;
	char line[MAX_LINE];
	bool autostatus = true, expect_failed = false;
	char last_result[sizeof(result_line)] = "";
	int lineno = 0, opt, status;
	FILE *script;

	while ((opt = getopt(argc, argv, "+t:r:T:e:")) != -1) {
		switch (opt) {
		case 't':
			tape = optarg;
			break;
		case 'r':
			rtape = optarg;
			break;
		case 'T':
			server.timeout_ms = atoi(optarg) * 1000;
			break;
		case 'e':
			log_path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind + 2 > argc || strcmp(argv[optind + 1], "--") != 0)
		usage();
	if (rtape == NULL)
		rtape = tape;
	script = fopen(argv[optind], "r");
	if (script == NULL)
		die("%s: %s", argv[optind], strerror(errno));
	buf = malloc(MAX_RECORD);
	if (buf == NULL)
		die("out of memory");
	signal(SIGPIPE, SIG_IGN);
	child_start(&server, argv + optind + 2, log_path);

	while (!protocol_broken && fgets(line, sizeof(line), script) != NULL) {
		char *text, *words[8] = {NULL}, *save = NULL, *op;
		char request[MAX_LINE * 2 + 64];
		bool incomparable = false, moves = true, done = false;
		int64_t a = 0, b = 0;
		int nwords = 0;
		char shown[MAX_LINE];

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		text = line;
		while (isspace((unsigned char)*text))
			text++;
		if (*text == '\0' || *text == '#')
			continue;
		if (*text == '~') {
			incomparable = true;
			text++;
		}
		snprintf(shown, sizeof(shown), "%s", text);
		/* The rest of an "open" line after the path is the flag line, verbatim. */
		if (strncmp(text, "open ", 5) == 0) {
			char *path = text + 5, *flags;

			while (*path == ' ')
				path++;
			flags = strchr(path, ' ');
			if (flags == NULL)
				die("line %d: open PATH FLAGS", lineno);
			*flags++ = '\0';
			while (*flags == ' ')
				flags++;
			result_line[0] = '\0';
			snprintf(request, sizeof(request), "O%s\n", substitute(path, tape, rtape));
			snprintf(request + strlen(request), sizeof(request) - strlen(request),
			         "%s\n", flags);
			result_append("L%d %s%s: ", lineno, incomparable ? "~" : "", shown);
			if (incomparable)
				result_append("[");
			request_simple(&server, request, strlen(request));
			if (!protocol_broken && autostatus)
				request_status(&server, true);
			goto print;
		}
		if (strncmp(text, "echo", 4) == 0 && (text[4] == ' ' || text[4] == '\0')) {
			printf("# %s\n", text[4] ? text + 5 : "");
			continue;
		}
		if (strncmp(text, "expect ", 7) == 0) {
			if (strstr(last_result, text + 7) == NULL) {
				printf("EXPECT FAILED at line %d: wanted '%s'\n", lineno, text + 7);
				expect_failed = true;
			}
			continue;
		}
		for (char *w = strtok_r(text, " \t", &save); w != NULL && nwords < 8;
		     w = strtok_r(NULL, " \t", &save))
			words[nwords++] = w;
		op = words[0];
		if (strcmp(op, "autostatus") == 0) {
			if (nwords != 2 || (strcmp(words[1], "on") && strcmp(words[1], "off")))
				die("line %d: autostatus on|off", lineno);
			autostatus = strcmp(words[1], "on") == 0;
			printf("# autostatus %s\n", words[1]);
			continue;
		}

		result_line[0] = '\0';
		result_append("L%d %s%s: ", lineno, incomparable ? "~" : "", shown);
		if (incomparable)
			result_append("[");
		if (strcmp(op, "close") == 0) {
			request_simple(&server, "C\n", 2);
			moves = false;
		} else if (strcmp(op, "write") == 0) {
			if (nwords != 3 || !parse_number(words[1], 0, MAX_RECORD, &a) ||
			    strlen(words[2]) != 1 || !isalpha((unsigned char)words[2][0]))
				die("line %d: write SIZE LETTER", lineno);
			request_write(&server, (size_t)a, words[2][0], buf);
		} else if (strcmp(op, "read") == 0) {
			if (nwords != 2 || !parse_number(words[1], 0, MAX_RECORD, &a))
				die("line %d: read SIZE", lineno);
			request_read(&server, (size_t)a, buf);
		} else if (strcmp(op, "status") == 0) {
			request_status(&server, false);
			moves = false;
		} else if (strcmp(op, "tell") == 0) {
			request_simple(&server, "L0\n10\n", 6);
		} else if (strcmp(op, "seek") == 0) {
			if (nwords != 2 || !parse_number(words[1], INT64_MIN, INT64_MAX, &a))
				die("line %d: seek N", lineno);
			snprintf(request, sizeof(request), "L%" PRId64 "\n11\n", a);
			request_simple(&server, request, strlen(request));
		} else if (strcmp(op, "lseek") == 0) {
			if (nwords != 3)
				die("line %d: lseek OFFSET WHENCE", lineno);
			snprintf(request, sizeof(request), "L%s\n%s\n", words[1], words[2]);
			request_simple(&server, request, strlen(request));
		} else if (strcmp(op, "sfield") == 0) {
			if (nwords != 2 || strlen(words[1]) != 1)
				die("line %d: sfield LETTER", lineno);
			snprintf(request, sizeof(request), "s%c", words[1][0]);
			request_simple(&server, request, 2);
			moves = false;
		} else if (strcmp(op, "iext") == 0 || strcmp(op, "ioctl") == 0) {
			if (nwords != 3)
				die("line %d: %s CODE COUNT", lineno, op);
			snprintf(request, sizeof(request), "%c%s\n%s\n", op[1] == 'e' ? 'i' : 'I',
			         words[1], words[2]);
			request_simple(&server, request, strlen(request));
		} else if (strcmp(op, "version") == 0) {
			request_simple(&server, "I-1\n0\n", 6);
			moves = false;
		} else {
			for (size_t i = 0; i < sizeof(named_ops) / sizeof(named_ops[0]); i++) {
				if (strcmp(op, named_ops[i].name) != 0)
					continue;
				if (named_ops[i].takes_count) {
					if (nwords != 2 ||
					    !parse_number(words[1], INT32_MIN, INT32_MAX, &b))
						die("line %d: %s COUNT", lineno, op);
				} else {
					if (nwords != 1)
						die("line %d: %s takes no argument", lineno, op);
					b = 1;
				}
				snprintf(request, sizeof(request), "I%d\n%" PRId64 "\n",
				         named_ops[i].op, b);
				request_simple(&server, request, strlen(request));
				done = true;
				break;
			}
			if (!done)
				die("line %d: unknown op '%s'", lineno, op);
		}
		if (!protocol_broken && autostatus && moves)
			request_status(&server, true);
	print:
		if (incomparable)
			result_append("]");
		printf("%s\n", result_line);
		fflush(stdout);
		snprintf(last_result, sizeof(last_result), "%s", result_line);
	}
	fclose(script);
	free(buf);

	close(server.to_server);
	if (protocol_broken) {
		/* A hung server must not hang us: it gets a moment, then SIGKILL. */
		kill(server.pid, SIGTERM);
	}
	{
		struct timespec pause = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
		int waited = 0;

		while (waitpid(server.pid, &status, WNOHANG) == 0) {
			if (++waited > server.timeout_ms / 20) {
				kill(server.pid, SIGKILL);
				waitpid(server.pid, &status, 0);
				break;
			}
			nanosleep(&pause, NULL);
		}
	}
	if (WIFSIGNALED(status))
		printf("END server killed by signal %d%s\n", WTERMSIG(status),
		       protocol_broken ? " (after a protocol failure)" : "");
	else
		printf("END server exit %d\n", WEXITSTATUS(status));
	if (protocol_broken) {
		printf("PROTOCOL FAILURE at line %d\n", lineno);
		return 2;
	}
	return expect_failed ? 1 : 0;
}
