/*
 * test_librmt.c - librmt: names, wire format, the classic servers
 * (/usr/sbin/rmt-tar, /usr/sbin/rmt-dump) through the command, remote-shell and
 * TCP transports, and scripted fake servers that lie (too-long replies, garbage,
 * early close, silence) to prove that nothing a server says is trusted.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mtio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "remote_name.h"
#include "rmt/protocol.h"
#include "rmt/rmt.h"
#include "wire.h"

#define RMT_TAR  "/usr/sbin/rmt-tar"
#define RMT_DUMP "/usr/sbin/rmt-dump"

extern char **environ;

/* ================================================================== names */

Test(names, host_form)
{
	struct remote_name n;

	cr_assert_eq(remote_name_parse("tapehost:/dev/nst0", &n), 0);
	cr_assert_eq(n.transport, RMT_TRANSPORT_RSH);
	cr_assert_str_eq(n.host, "tapehost");
	cr_assert_str_eq(n.user, "");
	cr_assert_str_eq(n.path, "/dev/nst0");

	cr_assert_eq(remote_name_parse("bob@tapehost:vt0", &n), 0);
	cr_assert_str_eq(n.user, "bob");
	cr_assert_str_eq(n.host, "tapehost");
	cr_assert_str_eq(n.path, "vt0");

	/* GNU ignores an empty user; the path may contain ':' and '@'. */
	cr_assert_eq(remote_name_parse("@h:/a:b@c", &n), 0);
	cr_assert_str_eq(n.user, "");
	cr_assert_str_eq(n.host, "h");
	cr_assert_str_eq(n.path, "/a:b@c");
}

Test(names, url_form)
{
	struct remote_name n;

	cr_assert_eq(remote_name_parse("rmt://lib1:5401/dev/nst1", &n), 0);
	cr_assert_eq(n.transport, RMT_TRANSPORT_TCP);
	cr_assert_str_eq(n.host, "lib1");
	cr_assert_eq(n.port, 5401);
	cr_assert_str_eq(n.path, "/dev/nst1");

	cr_assert_eq(remote_name_parse("rmt://op@[::1]:7/srv/x.tap", &n), 0);
	cr_assert_str_eq(n.user, "op");
	cr_assert_str_eq(n.host, "::1");
	cr_assert_eq(n.port, 7);
	cr_assert_str_eq(n.path, "/srv/x.tap");

	cr_assert_eq(remote_name_parse("rmt://lib1/dev/nst0", &n), 0);
	cr_assert_eq(n.port, 0, "no port: the caller's default applies");

	cr_assert_eq(remote_name_parse("rmts://lib1:5443/srv/t.tap", &n), 0);
	cr_assert_eq(n.transport, RMT_TRANSPORT_TLS);
	cr_assert_str_eq(n.host, "lib1");
	cr_assert_eq(n.port, 5443);
	cr_assert_str_eq(n.path, "/srv/t.tap");
}

Test(names, exec_form)
{
	struct remote_name n;

	cr_assert_eq(remote_name_parse("exec:/usr/sbin/rmt-dump -x:/tmp/a:b", &n), 0);
	cr_assert_eq(n.transport, RMT_TRANSPORT_COMMAND);
	cr_assert_str_eq(n.command, "/usr/sbin/rmt-dump -x");
	cr_assert_str_eq(n.path, "/tmp/a:b");
}

Test(names, refused)
{
	struct remote_name n;
	static const char *const bad[] = {
	    "/dev/nst0",          /* local */
	    "./a:b",              /* '/' before ':' is local (GNU rule) */
	    ":path",              /* colon first */
	    "-oProxyCommand=x:p", /* host looks like an option */
	    "-l:p",               /* likewise */
	    "b-ob@-h:p",          /* host option look-alike after the user */
	    "-bob@h:p",           /* user option look-alike */
	    "b;ob@h:p",           /* user with a shell character */
	    "h$(x):p",            /* host with a shell character */
	    "h:",                 /* empty path */
	    "h:a\nb",             /* newline in the path */
	    "rmt://h",            /* no path */
	    "rmt://h:0/x",        /* port 0 */
	    "rmt://h:65536/x",    /* port too large */
	    "rmt://h:-1/x",       /* a sign is not a port */
	    "rmt://h:+1/x",       /* likewise */
	    "rmt://h:99999/x",    /* above 65535 */
	    "rmt://h:12a/x",      /* port not a number */
	    "rmt://[::1/x",       /* unterminated IPv6 literal */
	    "rmt://:5400/x",      /* empty host */
	    "exec::/x",           /* empty command */
	    "exec:/bin/true",     /* no path */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_lt(remote_name_parse(bad[i], &n), 0, "accepted \"%s\"", bad[i]);
	cr_assert(!rmt_is_remote_name("/dev/nst0"));
	cr_assert(!rmt_is_remote_name("dir/x:y"));
	cr_assert(rmt_is_remote_name("host:/dev/nst0"));
	cr_assert(rmt_is_remote_name("rmt://h/x"));
}

/* ================================================================== wire format */

Test(wire, status_lines)
{
	struct wire_reply r;

	cr_assert_eq(wire_parse_status("A0", 2, &r), 0);
	cr_assert_eq(r.kind, WIRE_REPLY_OK);
	cr_assert_eq(r.value, 0);
	cr_assert_eq(wire_parse_status("A-3", 3, &r), 0);
	cr_assert_eq(r.value, -3);
	cr_assert_eq(wire_parse_status("A10240\r", 7, &r), 0);
	cr_assert_eq(r.value, 10240);
	cr_assert_eq(wire_parse_status("E28", 3, &r), 0);
	cr_assert_eq(r.kind, WIRE_REPLY_ERROR);
	cr_assert_eq(r.value, 28);
	cr_assert_eq(wire_parse_status("F5", 2, &r), 0);
	cr_assert_eq(r.kind, WIRE_REPLY_FATAL);
	cr_assert_eq(wire_parse_status("A123456789012345678", 19, &r), 0);
	/* The number is number.c's: all of int64_t, overflow refused rather than wrapped. */
	cr_assert_eq(wire_parse_status("A9223372036854775807", 20, &r), 0);
	cr_assert_eq(r.value, INT64_MAX);
	cr_assert_eq(wire_parse_status("A-9223372036854775808", 21, &r), 0);
	cr_assert_eq(r.value, INT64_MIN);

	static const char *const bad[] = {"",    "A",  "A-", "A12x", "X5",   "A+1", " A1",
	                                  "A 1", "a1", "E",  "Eabc", "A--1", "A1-", "A0x1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(wire_parse_status(bad[i], strlen(bad[i]), &r), -EPROTO,
		             "accepted \"%s\"", bad[i]);
	static const char *const too_big[] = {"A9223372036854775808", "A-9223372036854775809",
	                                      "A99999999999999999999999"};
	for (size_t i = 0; i < sizeof(too_big) / sizeof(too_big[0]); i++)
		cr_expect_eq(wire_parse_status(too_big[i], strlen(too_big[i]), &r), -EPROTO,
		             "accepted \"%s\"", too_big[i]);
	cr_assert_eq(wire_errno(0), EIO, "E0 means EIO");
	cr_assert_eq(wire_errno(-4), EIO);
	cr_assert_eq(wire_errno(99999), EIO);
	cr_assert_eq(wire_errno(28), 28);
}

Test(wire, open_requests)
{
	char buf[256];

	cr_assert_gt(wire_format_open(buf, sizeof(buf), "/t/x", O_WRONLY | O_CREAT | O_TRUNC), 0);
	cr_assert_str_eq(buf, "O/t/x\n577 O_WRONLY|O_CREAT|O_TRUNC\n");
	cr_assert_gt(wire_format_open(buf, sizeof(buf), "/t/x", O_RDONLY | O_CLOEXEC), 0);
	cr_assert_str_eq(buf, "O/t/x\n0 O_RDONLY\n", "O_CLOEXEC is local");
	cr_assert_gt(wire_format_open(buf, sizeof(buf), "x", O_RDWR | O_SYNC | O_NONBLOCK), 0);
	cr_assert_str_eq(buf, "Ox\n1054722 O_RDWR|O_NONBLOCK|O_SYNC\n", "SYNC, never RSYNC");
	cr_assert_gt(wire_format_open(buf, sizeof(buf), "x", O_WRONLY | O_DSYNC | O_APPEND), 0);
	cr_assert_str_eq(buf, "Ox\n5121 O_WRONLY|O_APPEND|O_DSYNC\n");
	cr_assert_eq(wire_format_open(buf, sizeof(buf), "a\nb", O_RDONLY), -EINVAL);
	cr_assert_eq(wire_format_open(buf, sizeof(buf), "", O_RDONLY), -EINVAL);
	cr_assert_eq(wire_format_open(buf, 8, "/long/path", O_RDONLY), -ENAMETOOLONG);
}

Test(wire, seek_requests)
{
	char buf[80];

	cr_assert_gt(wire_format_seek(buf, sizeof(buf), 10240, SEEK_SET, false), 0);
	cr_assert_str_eq(buf, "L10240\n0\n");
	cr_assert_gt(wire_format_seek(buf, sizeof(buf), -10, SEEK_END, true), 0);
	cr_assert_str_eq(buf, "L2\n-10\n");
	/* 1/0 and 2/0 would read as a whence-first tell or end seek to rmtd's rule (c). */
	cr_assert_gt(wire_format_seek(buf, sizeof(buf), 1, SEEK_SET, false), 0);
	cr_assert_str_eq(buf, "L1\nSEEK_SET\n");
	cr_assert_gt(wire_format_seek(buf, sizeof(buf), 2, SEEK_SET, false), 0);
	cr_assert_str_eq(buf, "L2\nSEEK_SET\n");
	cr_assert_gt(wire_format_seek(buf, sizeof(buf), 0, RMT_SEEK_TAPE_POSITION, false), 0);
	cr_assert_str_eq(buf, "L0\n10\n");
	cr_assert_eq(wire_format_seek(buf, sizeof(buf), 0, SEEK_DATA, true), -EINVAL,
	             "GNU servers lose step on a whence they do not know");
	cr_assert_eq(wire_format_seek(buf, sizeof(buf), 0, 7, false), -EINVAL);
}

Test(wire, tape_op_numbers)
{
	struct wire_tape_op op;

	cr_assert_eq(wire_tape_op(MTREW, false, &op), 0);
	cr_assert(op.letter == 'I' && op.code == MTREW, "classic: native numbers");
	cr_assert_eq(wire_tape_op(MTSETBLK, false, &op), 0);
	cr_assert_eq(op.code, MTSETBLK);

	static const struct {
		int native;
		char letter;
		int code;
	} v1[] = {{MTWEOF, 'I', 0},  {MTFSF, 'I', 1},   {MTBSF, 'I', 2},  {MTFSR, 'I', 3},
	          {MTBSR, 'I', 4},   {MTREW, 'I', 5},   {MTOFFL, 'I', 6}, {MTNOP, 'I', 7},
	          {MTRETEN, 'i', 2}, {MTERASE, 'i', 3}, {MTEOM, 'i', 4}};
	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
		cr_assert_eq(wire_tape_op(v1[i].native, true, &op), 0);
		cr_expect(op.letter == v1[i].letter && op.code == v1[i].code,
		          "native %d went out as %c%d", v1[i].native, op.letter, op.code);
	}
	cr_assert_eq(wire_tape_op(MTSETBLK, true, &op), -EOPNOTSUPP);
}

/* ================================================================== temp files */

static char work[256]; /* mkdtemp below /tmp: short */

static void make_work(void)
{
	char template[] = "/tmp/librmt-test-XXXXXX";

	cr_assert_not_null(mkdtemp(template));
	snprintf(work, sizeof(work), "%s", template);
}

static void remove_work(void)
{
	char command[PATH_MAX + 32];

	snprintf(command, sizeof(command), "rm -rf '%s'", work);
	(void)!system(command);
}

static void work_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", work, name);
}

static struct rmt_handle *open_via(const char *server, const char *name, int flags,
                                   unsigned int option_flags)
{
	struct rmt_options o;
	char path[PATH_MAX];

	rmt_options_init(&o);
	o.transport = RMT_TRANSPORT_COMMAND;
	o.command = server;
	o.flags = option_flags;
	o.timeout_ms = 10000;
	work_path(path, sizeof(path), name);
	return rmt_open(path, flags, &o);
}

static void fill_pattern(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 131 + seed) ^ (i >> 8));
}

/* ================================================================== real servers */

TestSuite(servers, .init = make_work, .fini = remove_work);

static void round_trip(const char *server, unsigned int expected_caps)
{
	unsigned char data[30000], back[40000];
	struct rmt_handle *h;
	char path[PATH_MAX];
	struct stat st;

	fill_pattern(data, sizeof(data), 7);
	h = open_via(server, "rt.dat", O_RDWR | O_CREAT | O_TRUNC, 0);
	cr_assert_not_null(h, "%s: open: %s (%s)", server, strerror(errno), rmt_error_text(NULL));
	cr_assert_eq(rmt_capabilities(h), expected_caps, "%s: caps %#x", server,
	             rmt_capabilities(h));
	cr_assert_eq(rmt_write(h, data, 10000), 10000);
	cr_assert_eq(rmt_write(h, data + 10000, 20000), 20000);
	cr_assert_eq(rmt_write(h, data, 0), 0, "a zero write is not sent (it kills DUMP)");
	cr_assert_eq(rmt_lseek(h, 0, SEEK_CUR), 30000, "tell");
	cr_assert_eq(rmt_lseek(h, 1, SEEK_SET), 1, "SEEK_SET 1, the ambiguous pair");
	cr_assert_eq(rmt_lseek(h, 2, SEEK_SET), 2);
	cr_assert_eq(rmt_lseek(h, 1, SEEK_CUR), 3);
	cr_assert_eq(rmt_lseek(h, -5, SEEK_END), 29995);
	cr_assert_eq(rmt_lseek(h, 12345, SEEK_SET), 12345, "a multi-digit offset");
	cr_assert_eq(rmt_read(h, back, 100), 100);
	cr_assert_arr_eq(back, data + 12345, 100);
	cr_assert_eq(rmt_lseek(h, 0, SEEK_SET), 0);
	/* Asking for more than is there: a short read, never more than asked. */
	cr_assert_eq(rmt_read(h, back, sizeof(back)), 30000);
	cr_assert_arr_eq(back, data, sizeof(data));
	cr_assert_eq(rmt_read(h, back, sizeof(back)), 0, "end of file");
	cr_assert_eq(rmt_close(h), 0);

	work_path(path, sizeof(path), "rt.dat");
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 30000);
}

Test(servers, round_trip_rmt_tar)
{
	round_trip(RMT_TAR, RMT_CAP_WHENCE_FIRST);
}

Test(servers, round_trip_rmt_dump)
{
	round_trip(RMT_DUMP, RMT_CAP_V1 | RMT_CAP_STATUS_FIELD | RMT_CAP_EXT_IOCTL | RMT_CAP_QFA);
}

Test(servers, rmt_dump_classic_detects_offset_first)
{
	/* Without the I-1 probe, the L probe alone must find DUMP's BSD order. */
	struct rmt_handle *h = open_via(RMT_DUMP, "c.dat", O_RDWR | O_CREAT, RMT_OPT_CLASSIC);
	unsigned char data[5000], back[5000];

	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	cr_assert_eq(rmt_capabilities(h), 0, "caps %#x", rmt_capabilities(h));
	fill_pattern(data, sizeof(data), 1);
	cr_assert_eq(rmt_write(h, data, sizeof(data)), (ssize_t)sizeof(data));
	cr_assert_eq(rmt_lseek(h, 4000, SEEK_SET), 4000);
	cr_assert_eq(rmt_lseek(h, -1000, SEEK_CUR), 3000);
	cr_assert_eq(rmt_read(h, back, 10), 10);
	cr_assert_arr_eq(back, data + 3000, 10);
	cr_assert_eq(rmt_close(h), 0);
}

static void server_errors(const char *server)
{
	struct rmt_handle *h;
	struct mtop op = {.mt_op = MTREW, .mt_count = 1};
	struct mtget status;
	char buf[100], path[PATH_MAX];
	long value;

	errno = 0;
	cr_assert_null(open_via(server, "missing", O_RDONLY, 0));
	cr_assert_eq(errno, ENOENT, "%s: errno %d", server, errno);
	cr_assert_neq(rmt_error_text(NULL)[0], '\0', "the server's message is kept");

	work_path(path, sizeof(path), "dir");
	cr_assert_eq(mkdir(path, 0755), 0);
	h = open_via(server, "dir", O_RDONLY, 0);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_read(h, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EISDIR, "%s: the server's errno, not ours", server);
	/* A regular file is no tape: the operations fail, the session goes on. */
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), -1);
	cr_assert_eq(errno, ENOTTY);
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &status), -1);
	cr_assert_eq(errno, ENOTTY);
	cr_assert_eq(rmt_status_field(h, 'F', &value), -1);
	cr_assert_eq(errno, ENOTTY);
	cr_assert_eq(rmt_ioctl(h, 0x5401 /* TCGETS */, buf), -1);
	cr_assert_eq(errno, ENOTTY, "requests other than the three tape ones stay local");
	cr_assert_eq(rmt_read(h, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EISDIR, "still in step after the errors");
	cr_assert_eq(rmt_close(h), 0);
}

Test(servers, errors_rmt_tar)
{
	server_errors(RMT_TAR);
}

Test(servers, errors_rmt_dump)
{
	server_errors(RMT_DUMP);
}

Test(servers, tape_position_needs_qfa)
{
	struct rmt_handle *h;
	struct mtpos pos;
	char data[700];

	/* GNU has no QFA: librmt says so itself instead of sending L0\n10\n (a seek to 10). */
	h = open_via(RMT_TAR, "p.dat", O_RDWR | O_CREAT, 0);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_write(h, data, sizeof(data)), (ssize_t)sizeof(data));
	cr_assert_eq(rmt_ioctl(h, MTIOCPOS, &pos), -1);
	cr_assert_eq(errno, EOPNOTSUPP);
	cr_assert_eq(rmt_lseek(h, 0, SEEK_CUR), 700, "the position did not move");
	cr_assert_eq(rmt_close(h), 0);

	/* DUMP's QFA on a plain file is lseek(0, SEEK_CUR). */
	h = open_via(RMT_DUMP, "p.dat", O_RDWR, 0);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_lseek(h, 321, SEEK_SET), 321);
	cr_assert_eq(rmt_ioctl(h, MTIOCPOS, &pos), 0);
	cr_assert_eq(pos.mt_blkno, 321);
	cr_assert_eq(rmt_close(h), 0);
}

Test(servers, big_record)
{
	size_t size = 4u << 20;
	unsigned char *data = malloc(size), *back = malloc(size);
	struct rmt_handle *h;

	cr_assert(data != NULL && back != NULL);
	fill_pattern(data, size, 3);
	h = open_via(RMT_DUMP, "big.dat", O_RDWR | O_CREAT | O_TRUNC, 0);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_write(h, data, size), (ssize_t)size, "one W of 4 MiB");
	cr_assert_eq(rmt_lseek(h, 0, SEEK_SET), 0);
	cr_assert_eq(rmt_read(h, back, size), (ssize_t)size);
	cr_assert_arr_eq(back, data, size);
	cr_assert_eq(rmt_close(h), 0);
	free(data);
	free(back);
}

Test(servers, exec_name_form)
{
	char name[PATH_MAX + 64];
	struct rmt_handle *h;

	snprintf(name, sizeof(name), "exec:%s:%s/e.dat", RMT_DUMP, work);
	h = rmt_open(name, O_WRONLY | O_CREAT, NULL);
	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	cr_assert_eq(rmt_write(h, "abc", 3), 3);
	cr_assert_eq(rmt_close(h), 0);
}

Test(servers, missing_command)
{
	struct rmt_options o;

	rmt_options_init(&o);
	o.transport = RMT_TRANSPORT_COMMAND;
	o.command = "/nonexistent/rmt-server";
	errno = 0;
	cr_assert_null(rmt_open("/tmp/x", O_RDONLY, &o));
	cr_assert_eq(errno, ENOENT, "the exec error, not a later EIO");
	cr_assert(strstr(rmt_error_text(NULL), "/nonexistent/rmt-server") != NULL, "text: %s",
	          rmt_error_text(NULL));
}

/* The remote shell transport, with a stand-in rsh that logs its argv. */
Test(servers, remote_shell_argv)
{
	char script[PATH_MAX], log[PATH_MAX], name[PATH_MAX + 64], got[512] = "";
	struct rmt_options o;
	struct rmt_handle *h;
	FILE *f;

	work_path(script, sizeof(script), "fake-rsh");
	work_path(log, sizeof(log), "rsh.log");
	f = fopen(script, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\necho \"$*\" > '%s'\nexec %s\n", log, RMT_DUMP);
	fclose(f);
	cr_assert_eq(chmod(script, 0755), 0);

	rmt_options_init(&o);
	o.rsh_command = script;
	o.rmt_command = "/usr/sbin/rmt";
	snprintf(name, sizeof(name), "op@localhost:%s/r.dat", work);
	h = rmt_open(name, O_WRONLY | O_CREAT, &o);
	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	cr_assert_eq(rmt_write(h, "xyz", 3), 3);
	cr_assert_eq(rmt_close(h), 0);
	f = fopen(log, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(got, sizeof(got), f));
	fclose(f);
	cr_assert_str_eq(got, "-l op localhost /usr/sbin/rmt\n");

	/* RSH from the environment, the default rmt command. */
	setenv("RSH", script, 1);
	unsetenv("RMT");
	snprintf(name, sizeof(name), "localhost:%s/r.dat", work);
	h = rmt_open(name, O_RDONLY, NULL);
	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	cr_assert_eq(rmt_close(h), 0);
	f = fopen(log, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(got, sizeof(got), f));
	fclose(f);
	cr_assert_str_eq(got, "localhost /etc/rmt\n");
	unsetenv("RSH");
}

/* TCP: a listener hands each connection to rmt-dump. */
struct tcp_server {
	int listener;
	int connections;
};

static void *tcp_serve(void *arg)
{
	struct tcp_server *s = arg;

	for (int i = 0; i < s->connections; i++) {
		int c = accept(s->listener, NULL, NULL);
		posix_spawn_file_actions_t actions;
		char *argv[] = {RMT_DUMP, NULL};
		pid_t pid;

		if (c < 0)
			return NULL;
		posix_spawn_file_actions_init(&actions);
		posix_spawn_file_actions_adddup2(&actions, c, 0);
		posix_spawn_file_actions_adddup2(&actions, c, 1);
		if (posix_spawn(&pid, RMT_DUMP, &actions, NULL, argv, environ) == 0)
			waitpid(pid, NULL, 0);
		posix_spawn_file_actions_destroy(&actions);
		close(c);
	}
	return NULL;
}

Test(servers, tcp_transport)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	struct tcp_server s = {.connections = 2};
	char name[PATH_MAX + 64], port_text[16];
	struct rmt_handle *h;
	pthread_t thread;
	int nodelay = 0;
	socklen_t optlen = sizeof(nodelay);

	s.listener = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(s.listener, 0);
	cr_assert_eq(bind(s.listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	cr_assert_eq(listen(s.listener, 4), 0);
	cr_assert_eq(getsockname(s.listener, (struct sockaddr *)&addr, &len), 0);
	pthread_create(&thread, NULL, tcp_serve, &s);

	snprintf(name, sizeof(name), "rmt://127.0.0.1:%u%s/tcp.dat", ntohs(addr.sin_port), work);
	h = rmt_open(name, O_RDWR | O_CREAT, NULL);
	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	cr_assert_eq(getsockopt(rmt_fileno(h), IPPROTO_TCP, TCP_NODELAY, &nodelay, &optlen), 0);
	cr_assert(nodelay, "TCP_NODELAY on every TCP connection");
	cr_assert_eq(rmt_write(h, "over tcp", 8), 8);
	cr_assert_eq(rmt_close(h), 0);

	/* The port from RMT_PORT when the name has none; the host form with a forced transport. */
	snprintf(port_text, sizeof(port_text), "%u", ntohs(addr.sin_port));
	setenv("RMT_PORT", port_text, 1);
	{
		struct rmt_options o;
		char buf[16];

		rmt_options_init(&o);
		o.transport = RMT_TRANSPORT_TCP;
		snprintf(name, sizeof(name), "127.0.0.1:%s/tcp.dat", work);
		h = rmt_open(name, O_RDONLY, &o);
		cr_assert_not_null(h, "%s", rmt_error_text(NULL));
		cr_assert_eq(rmt_read(h, buf, sizeof(buf)), 8);
		cr_assert_arr_eq(buf, "over tcp", 8);
		cr_assert_eq(rmt_close(h), 0);
	}
	unsetenv("RMT_PORT");
	pthread_join(thread, NULL);

	/* Nobody listening: the connect error. */
	close(s.listener);
	snprintf(name, sizeof(name), "rmt://127.0.0.1:%u/x", ntohs(addr.sin_port));
	cr_assert_null(rmt_open(name, O_RDONLY, NULL));
	cr_assert_eq(errno, ECONNREFUSED);
}

/* ================================================================== rmtd */

#define RMTD      BUILD_DIR "/rmtd/rmtd"
#define RMT_VTAPE BUILD_DIR "/rmtd/rmt-vtape"

TestSuite(rmtd, .init = make_work, .fini = remove_work);

static struct rmt_handle *open_rmtd(const char *name, int flags, unsigned int option_flags)
{
	static char command[PATH_MAX + 64];

	cr_assert_eq(access(RMTD, X_OK), 0, "rmtd is not built: %s", RMTD);
	snprintf(command, sizeof(command), "%s --stdio --allow %s", RMTD, work);
	return open_via(command, name, flags, option_flags);
}

static void new_vtape(const char *name)
{
	char command[PATH_MAX * 2];

	cr_assert_eq(access(RMT_VTAPE, X_OK), 0, "rmt-vtape is not built");
	snprintf(command, sizeof(command), "%s create '%s/%s' >/dev/null", RMT_VTAPE, work, name);
	cr_assert_eq(system(command), 0);
}

Test(rmtd, file_round_trip_and_capabilities)
{
	unsigned char data[20000], back[20000];
	struct rmt_handle *h = open_rmtd("f.dat", O_RDWR | O_CREAT | O_TRUNC, 0);

	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	cr_assert_eq(rmt_capabilities(h),
	             RMT_CAP_V1 | RMT_CAP_STATUS_FIELD | RMT_CAP_EXT_IOCTL | RMT_CAP_QFA);
	fill_pattern(data, sizeof(data), 11);
	cr_assert_eq(rmt_write(h, data, sizeof(data)), (ssize_t)sizeof(data));
	cr_assert_eq(rmt_lseek(h, 1, SEEK_SET), 1, "SEEK_SET 1 is not read as a tell by rmtd");
	cr_assert_eq(rmt_lseek(h, 2, SEEK_SET), 2, "nor SEEK_SET 2 as a seek to the end");
	cr_assert_eq(rmt_lseek(h, 0, SEEK_CUR), 2);
	cr_assert_eq(rmt_lseek(h, 0, SEEK_END), (off_t)sizeof(data));
	cr_assert_eq(rmt_lseek(h, 0, SEEK_SET), 0);
	cr_assert_eq(rmt_read(h, back, sizeof(back)), (ssize_t)sizeof(back));
	cr_assert_arr_eq(back, data, sizeof(data));
	cr_assert_eq(rmt_close(h), 0);

	errno = 0;
	cr_assert_null(open_rmtd("../../etc/passwd", O_RDONLY, 0), "rmtd let us out");
	cr_assert_neq(errno, 0);
	cr_assert_neq(errno, EIO, "a refusal is an errno from the server, not a broken stream");
}

Test(rmtd, virtual_tape_operations)
{
	unsigned char rec[3000], back[65536];
	struct rmt_handle *h;
	struct mtget st;
	struct mtpos pos;
	struct mtop op;
	long value;

	new_vtape("t.tap");
	h = open_rmtd("t.tap", O_RDWR, 0);
	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	fill_pattern(rec, sizeof(rec), 5);
	cr_assert_eq(rmt_write(h, rec, 1000), 1000);
	cr_assert_eq(rmt_write(h, rec, 2000), 2000);
	cr_assert_eq(rmt_write(h, rec, 3000), 3000);
	op = (struct mtop){MTWEOF, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0, "%s", rmt_error_text(h));
	cr_assert_eq(rmt_write(h, rec, 500), 500);
	op = (struct mtop){MTREW, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0, "%s", rmt_error_text(h));

	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &st), 0, "%s", rmt_error_text(h));
	cr_assert_eq(st.mt_fileno, 0);
	cr_assert_eq(st.mt_blkno, 0);
	cr_assert(GMT_BOT(st.mt_gstat), "gstat %#lx", st.mt_gstat);

	/* Variable blocks: a large read returns one record. */
	cr_assert_eq(rmt_read(h, back, sizeof(back)), 1000);
	cr_assert_arr_eq(back, rec, 1000);
	cr_assert_eq(rmt_read(h, back, sizeof(back)), 2000);
	cr_assert_eq(rmt_ioctl(h, MTIOCPOS, &pos), 0, "%s", rmt_error_text(h));
	cr_assert_eq(pos.mt_blkno, 2);
	cr_assert_eq(rmt_status_field(h, 'B', &value), 0);
	cr_assert_eq(value, 2);
	cr_assert_eq(rmt_status_field(h, 'F', &value), 0);
	cr_assert_eq(value, 0);
	cr_assert_eq(rmt_read(h, back, sizeof(back)), 3000);
	cr_assert_eq(rmt_read(h, back, sizeof(back)), 0, "the filemark");
	cr_assert_eq(rmt_status_field(h, 'F', &value), 0);
	cr_assert_eq(value, 1);

	/* A record larger than the read: ENOMEM from the server, as from st. */
	op = (struct mtop){MTREW, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	op = (struct mtop){MTFSR, 2};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0, "%s", rmt_error_text(h));
	cr_assert_eq(rmt_read(h, back, 100), -1);
	cr_assert_eq(errno, ENOMEM);

	/* Positioning by QFA and the emulated MTFSFM/MTBSFM. */
	op = (struct mtop){MTSEEK, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0, "%s", rmt_error_text(h));
	cr_assert_eq(rmt_ioctl(h, MTIOCPOS, &pos), 0);
	cr_assert_eq(pos.mt_blkno, 1);
	cr_assert_eq(rmt_read(h, back, sizeof(back)), 2000);
	op = (struct mtop){MTREW, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	op = (struct mtop){MTFSFM, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0, "%s", rmt_error_text(h));
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &st), 0);
	cr_assert_eq(st.mt_fileno, 0, "before the first filemark");
	op = (struct mtop){MTFSF, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	cr_assert_eq(rmt_read(h, back, sizeof(back)), 500);
	op = (struct mtop){MTEOM, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0, "%s", rmt_error_text(h));
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &st), 0);
	cr_assert_eq(st.mt_fileno, 2, "end of data after two filemarks (the close wrote one)");

	/* Linux-only operations reach rmtd as i<1000+op> after I-1. */
	op = (struct mtop){MTSETBLK, 512};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0, "%s", rmt_error_text(h));
	cr_assert_eq(rmt_status_field(h, 'D', &value), 0);
	cr_assert_eq(value & 0xffffff, 512, "fixed 512-byte blocks");
	op = (struct mtop){MTSETBLK, 0};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	cr_assert_eq(rmt_status_field(h, 'f', &value), -1, "Linux has no mt_flags");
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(rmt_close(h), 0);

	h = open_rmtd("t.tap", O_RDONLY, RMT_OPT_CLASSIC);
	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	cr_assert_eq(rmt_capabilities(h) & RMT_CAP_V1, 0);
	op = (struct mtop){MTSETBLK, 512};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0, "%s", rmt_error_text(h));
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &st), 0, "%s", rmt_error_text(h));
	cr_assert_eq(st.mt_dsreg & 0xffffff, 512, "block size in mt_dsreg");
	cr_assert_eq(rmt_close(h), 0);
}

/* ================================================================== lying servers */

/*
 * A fake server runs a script in a thread: each step waits for exactly the
 * bytes the client must send, then answers. The transcript check proves what
 * librmt sends; the answers are the lies.
 */
struct step {
	const char *expect;  /* exact request bytes; NULL: none */
	const void *reply;   /* answer; NULL: none */
	size_t reply_length; /* 0: strlen(reply) */
	int action;
};

enum { STEP_REPLY, STEP_CLOSE, STEP_SILENT };

struct fake {
	int fd;
	const struct step *steps;
	char failure[512];
	pthread_t thread;
};

static int read_exactly(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			return -1;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; f->steps[i].expect != NULL || f->steps[i].reply != NULL ||
	                f->steps[i].action != STEP_REPLY;
	     i++) {
		const struct step *s = &f->steps[i];

		if (s->expect != NULL) {
			size_t n = strlen(s->expect);
			char *got = calloc(1, n + 1);

			if (read_exactly(f->fd, got, n) < 0 || memcmp(got, s->expect, n) != 0) {
				snprintf(f->failure, sizeof(f->failure),
				         "step %d: expected \"%s\", got \"%s\"", i, s->expect, got);
				free(got);
				close(f->fd);
				return NULL;
			}
			free(got);
		}
		if (s->reply != NULL) {
			size_t n = s->reply_length ? s->reply_length : strlen(s->reply);

			/* A client that hangs up on a flood is what some tests want: no SIGPIPE. */
			(void)!send(f->fd, s->reply, n, MSG_NOSIGNAL);
		}
		if (s->action == STEP_CLOSE) {
			close(f->fd);
			return NULL;
		}
		if (s->action == STEP_SILENT) {
			char c;

			/* Say nothing; wait for the client to give up. */
			while (read(f->fd, &c, 1) > 0)
				;
			close(f->fd);
			return NULL;
		}
	}
	/* The script is done: the client must send nothing more, only close. */
	{
		char c;
		struct pollfd p = {.fd = f->fd, .events = POLLIN};

		if (poll(&p, 1, 5000) > 0 && read(f->fd, &c, 1) > 0)
			snprintf(f->failure, sizeof(f->failure),
			         "unexpected byte '%c' after the script", c);
	}
	close(f->fd);
	return NULL;
}

static struct rmt_handle *fake_open(struct fake *f, const struct step *steps, int timeout_ms)
{
	int sv[2];
	struct rmt_options o;
	struct rmt_handle *h;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f->fd = sv[1];
	f->steps = steps;
	f->failure[0] = '\0';
	pthread_create(&f->thread, NULL, fake_run, f);
	rmt_options_init(&o);
	o.timeout_ms = timeout_ms;
	h = rmt_open_fd(sv[0], "/dev/nst0", O_RDWR, &o);
	return h;
}

static void fake_finish(struct fake *f)
{
	pthread_join(f->thread, NULL);
	cr_assert_str_eq(f->failure, "", "%s", f->failure);
}

#define OPEN_V1                                                                                    \
	{"O/dev/nst0\n2 O_RDWR\n", "A0\n", 0, STEP_REPLY},                                         \
	{                                                                                          \
		"I-1\n0\n", "A1\n", 0, STEP_REPLY                                                  \
	}
#define END_OF_SCRIPT                                                                              \
	{                                                                                          \
		NULL, NULL, 0, STEP_REPLY                                                          \
	}

Test(liars, read_reply_longer_than_asked)
{
	/* CVE-2010-0624: the server announces 20 bytes for a read of 10. */
	static const struct step steps[] = {
	    OPEN_V1,
	    {"R10\n", "A20\n01234567890123456789", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 5000);
	unsigned char *buf = malloc(10 + 64);

	cr_assert_not_null(h);
	memset(buf, 0xAA, 10 + 64);
	cr_assert_eq(rmt_read(h, buf, 10), -1);
	cr_assert_eq(errno, EIO);
	for (int i = 0; i < 10 + 64; i++)
		cr_assert_eq(buf[i], 0xAA, "byte %d of the buffer was written", i);
	cr_assert(strstr(rmt_error_text(h), "20 bytes") != NULL, "%s", rmt_error_text(h));
	/* The handle is broken: nothing more goes on the wire, not even C. */
	cr_assert_eq(rmt_read(h, buf, 10), -1);
	cr_assert_eq(errno, EIO);
	cr_assert_eq(rmt_close(h), -1);
	cr_assert_eq(errno, EIO);
	free(buf);
	fake_finish(&f);
}

Test(liars, negative_and_oversized_counts)
{
	static const struct step steps[] = {
	    OPEN_V1,
	    {"W3\nabc", "A4\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	static const struct step steps2[] = {
	    OPEN_V1,
	    {"R5\n", "A-1\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	static const struct step steps3[] = {
	    OPEN_V1,
	    {"L5\n0\n", "A-7\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h;
	char buf[5];

	h = fake_open(&f, steps, 5000);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_write(h, "abc", 3), -1, "4 of 3 bytes written is a lie");
	cr_assert_eq(errno, EIO);
	rmt_close(h);
	fake_finish(&f);

	h = fake_open(&f, steps2, 5000);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_read(h, buf, 5), -1);
	cr_assert_eq(errno, EIO);
	rmt_close(h);
	fake_finish(&f);

	h = fake_open(&f, steps3, 5000);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_lseek(h, 5, SEEK_SET), -1);
	cr_assert_eq(errno, EIO);
	rmt_close(h);
	fake_finish(&f);
}

Test(liars, garbage_reply)
{
	static const struct step steps[] = {
	    OPEN_V1,
	    {"R5\n", "Xyzzy\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 5000);
	char buf[5];

	cr_assert_not_null(h);
	cr_assert_eq(rmt_read(h, buf, 5), -1);
	cr_assert_eq(errno, EIO);
	cr_assert(strstr(rmt_error_text(h), "malformed") != NULL, "%s", rmt_error_text(h));
	rmt_close(h);
	fake_finish(&f);
}

Test(liars, error_reply_without_text)
{
	/* Some classic servers send "E5\n\n": the caller still learns why. */
	static const struct step steps[] = {
	    OPEN_V1,
	    {"R5\n", "E5\n\n", 0, STEP_REPLY},
	    {"C\n", "A0\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	static const struct step refused[] = {
	    {"O/dev/nst0\n2 O_RDWR\n", "E13\n\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 5000);
	char buf[5];

	cr_assert_not_null(h);
	cr_assert_eq(rmt_read(h, buf, 5), -1);
	cr_assert_eq(errno, EIO);
	cr_assert_str_eq(rmt_error_text(h), strerror(EIO));
	cr_assert_eq(rmt_close(h), 0);
	fake_finish(&f);

	h = fake_open(&f, refused, 5000);
	cr_assert_null(h);
	cr_assert_eq(errno, EACCES);
	cr_assert_str_eq(rmt_error_text(NULL), strerror(EACCES));
	fake_finish(&f);

	/* refused before a word is sent: still a reason, not the last open's */
	cr_assert_null(rmt_open_fd(-1, "/dev/nst0", O_RDONLY, NULL));
	cr_assert_eq(errno, EINVAL);
	cr_assert_str_eq(rmt_error_text(NULL), strerror(EINVAL));
}

Test(liars, endless_status_line)
{
	/* A status line that never ends: bounded, then EIO, no hang and no growth. */
	static char flood[100000];
	static struct step steps[] = {
	    OPEN_V1,
	    {"R5\n", flood, sizeof(flood), STEP_SILENT},
	};
	struct fake f;
	struct rmt_handle *h;
	char buf[5];

	flood[0] = 'A';
	memset(flood + 1, '7', sizeof(flood) - 1);
	h = fake_open(&f, steps, 5000);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_read(h, buf, 5), -1);
	cr_assert_eq(errno, EIO);
	rmt_close(h);
	fake_finish(&f);
}

Test(liars, endless_error_text)
{
	static char flood[20000];
	static struct step steps[] = {
	    OPEN_V1,
	    {"R5\n", flood, sizeof(flood), STEP_SILENT},
	};
	struct fake f;
	struct rmt_handle *h;
	char buf[5];

	memcpy(flood, "E5\n", 3);
	memset(flood + 3, 'x', sizeof(flood) - 3);
	h = fake_open(&f, steps, 5000);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_read(h, buf, 5), -1);
	cr_assert_eq(errno, EIO);
	rmt_close(h);
	fake_finish(&f);
}

Test(liars, early_close)
{
	static const struct step steps[] = {
	    OPEN_V1, {"R5\n", "A5\nab", 0, STEP_CLOSE}, /* three bytes short, then gone */
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 5000);
	char buf[5];

	cr_assert_not_null(h);
	cr_assert_eq(rmt_read(h, buf, 5), -1);
	cr_assert_eq(errno, EIO);
	cr_assert_eq(rmt_write(h, "x", 1), -1);
	cr_assert_eq(errno, EIO);
	rmt_close(h);
	fake_finish(&f);
}

Test(liars, dead_before_open_reply)
{
	static const struct step steps[] = {
	    {"O/dev/nst0\n2 O_RDWR\n", NULL, 0, STEP_CLOSE},
	};
	struct fake f;

	cr_assert_null(fake_open(&f, steps, 5000));
	cr_assert_eq(errno, EIO);
	cr_assert(strstr(rmt_error_text(NULL), "closed") != NULL, "%s", rmt_error_text(NULL));
	fake_finish(&f);
}

Test(liars, silent_server_times_out)
{
	static const struct step steps[] = {
	    OPEN_V1,
	    {"R5\n", NULL, 0, STEP_SILENT},
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 300);
	struct timespec t0, t1;
	char buf[5];
	long ms;

	cr_assert_not_null(h);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(rmt_read(h, buf, 5), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(errno, EIO);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	cr_assert(ms >= 250 && ms < 3000, "gave up after %ld ms", ms);
	cr_assert(strstr(rmt_error_text(h), "in time") != NULL, "%s", rmt_error_text(h));
	rmt_close(h);
	fake_finish(&f);
}

Test(liars, timeout_from_environment)
{
	static const struct step steps[] = {
	    OPEN_V1,
	    {"R5\n", NULL, 0, STEP_SILENT},
	};
	struct fake f;
	struct rmt_handle *h;
	struct timespec t0, t1;
	char buf[5];
	long ms;

	setenv("RMT_TIMEOUT", "200ms", 1);
	h = fake_open(&f, steps, 0);
	unsetenv("RMT_TIMEOUT");
	cr_assert_not_null(h);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(rmt_read(h, buf, 5), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	cr_assert(ms >= 150 && ms < 3000, "gave up after %ld ms", ms);
	rmt_close(h);
	fake_finish(&f);
}

Test(liars, unprompted_bytes)
{
	/* An extra reply nobody asked for: the next exchange would be out of step. */
	static const struct step steps[] = {
	    {"O/dev/nst0\n2 O_RDWR\n", "A0\n", 0, STEP_REPLY},
	    {"I-1\n0\n", "A1\nA0\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 5000);
	char buf[5];

	cr_assert_not_null(h);
	usleep(100000); /* let the stray reply arrive */
	cr_assert_eq(rmt_read(h, buf, 5), -1);
	cr_assert_eq(errno, EIO);
	rmt_close(h);
	fake_finish(&f);
}

Test(liars, error_numbers)
{
	static const struct step steps[] = {
	    OPEN_V1,
	    {"W3\nabc", "E28\nNo space left on device\n", 0, STEP_REPLY},
	    {"W3\nabc", "E0\nGarbage command\n", 0, STEP_REPLY},
	    {"W3\nabc", "E99999\nwhatever\n", 0, STEP_REPLY},
	    {"W3\nabc", "A3\n", 0, STEP_REPLY},
	    {"W3\nabc", "F5\nfatal\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 5000);

	cr_assert_not_null(h);
	cr_assert_eq(rmt_write(h, "abc", 3), -1);
	cr_assert_eq(errno, ENOSPC, "the server's errno as sent");
	cr_assert_str_eq(rmt_error_text(h), "No space left on device");
	cr_assert_eq(rmt_write(h, "abc", 3), -1);
	cr_assert_eq(errno, EIO, "E0 is EIO");
	cr_assert_eq(rmt_write(h, "abc", 3), -1);
	cr_assert_eq(errno, EIO, "an errno no system has is EIO");
	cr_assert_eq(rmt_write(h, "abc", 3), 3, "E replies leave the handle usable");
	cr_assert_eq(rmt_write(h, "abc", 3), -1);
	cr_assert_eq(errno, EIO);
	cr_assert_eq(rmt_write(h, "abc", 3), -1, "F ends the connection");
	cr_assert_eq(errno, EIO);
	rmt_close(h);
	fake_finish(&f);
}

Test(liars, refused_open)
{
	static const struct step steps[] = {
	    {"O/dev/nst0\n2 O_RDWR\n", "E13\nPermission denied by policy\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;

	cr_assert_null(fake_open(&f, steps, 5000));
	cr_assert_eq(errno, EACCES);
	cr_assert_str_eq(rmt_error_text(NULL), "Permission denied by policy");
	fake_finish(&f);
}

Test(liars, status_sizes)
{
	static char drain[16 + 64];
	static struct step steps[] = {
	    OPEN_V1,
	    /* Another system's mtget: drained, EPROTO... then the portable fields. */
	    {"S", drain, 4 + 16, STEP_REPLY},
	    {"sE", "A0\n", 0, STEP_REPLY},
	    {"sT", "A114\n", 0, STEP_REPLY},
	    {"sD", "A0\n", 0, STEP_REPLY},
	    {"sR", "A0\n", 0, STEP_REPLY},
	    {"sF", "A2\n", 0, STEP_REPLY},
	    {"sB", "A0\n", 0, STEP_REPLY},
	    /* A size no struct has: not read, not allocated, the stream is given up. */
	    {"S", "A100000000\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h;
	struct mtget status;

	memcpy(drain, "A16\n", 4);
	memset(drain + 4, 0x55, 16);
	h = fake_open(&f, steps, 5000);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &status), 0, "%s", rmt_error_text(h));
	cr_assert_eq(status.mt_type, 114);
	cr_assert_eq(status.mt_fileno, 2);
	cr_assert_eq(status.mt_blkno, 0);
	cr_assert(GMT_EOF(status.mt_gstat), "derived: after a filemark");
	cr_assert(GMT_ONLINE(status.mt_gstat));
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &status), -1);
	cr_assert_eq(errno, EIO);
	rmt_close(h);
	fake_finish(&f);
}

static char v1_status_reply[4 + sizeof(struct mtget)];

static void make_status_reply(long type, int fileno, int blkno, long gstat)
{
	struct mtget st = {0};

	st.mt_type = type;
	st.mt_fileno = fileno;
	st.mt_blkno = blkno;
	st.mt_gstat = gstat;
	st.mt_dsreg = 0;
	snprintf(v1_status_reply, 5, "A%zu\n", sizeof(st));
	memcpy(v1_status_reply + 4, &st, sizeof(st));
}

Test(liars, v1_status_trusted_when_type_agrees)
{
	static struct step steps[] = {
	    OPEN_V1,
	    {"S", v1_status_reply, sizeof(v1_status_reply), STEP_REPLY},
	    {"sT", "A114\n", 0, STEP_REPLY},
	    {"C\n", "A0\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h;
	struct mtget status;

	cr_assert_eq(sizeof(struct mtget), RMT_MTGET_SIZE_LP64);
	make_status_reply(114, 3, 7, GMT_ONLINE(~0L) | GMT_WR_PROT(~0L));
	h = fake_open(&f, steps, 5000);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &status), 0, "%s", rmt_error_text(h));
	cr_assert_eq(status.mt_fileno, 3);
	cr_assert_eq(status.mt_blkno, 7);
	cr_assert(GMT_WR_PROT(status.mt_gstat), "the general status comes from the binary S");
	cr_assert_eq(rmt_close(h), 0);
	fake_finish(&f);
}

Test(liars, v1_status_swapped_falls_back)
{
	/* DUMP in V1 mode swaps each long: the type no longer agrees with sT. */
	static struct step steps[] = {
	    OPEN_V1,
	    {"S", v1_status_reply, sizeof(v1_status_reply), STEP_REPLY},
	    {"sT", "A114\n", 0, STEP_REPLY},
	    {"sE", "A0\n", 0, STEP_REPLY},
	    {"sT", "A114\n", 0, STEP_REPLY},
	    {"sD", "A512\n", 0, STEP_REPLY},
	    {"sR", "A0\n", 0, STEP_REPLY},
	    {"sF", "A0\n", 0, STEP_REPLY},
	    {"sB", "A0\n", 0, STEP_REPLY},
	    {"C\n", "A0\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h;
	struct mtget status;

	make_status_reply(0x72000000L, 0x01000000, 0, 0);
	h = fake_open(&f, steps, 5000);
	cr_assert_not_null(h);
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &status), 0, "%s", rmt_error_text(h));
	cr_assert_eq(status.mt_type, 114);
	cr_assert_eq(status.mt_dsreg, 512);
	cr_assert_eq(status.mt_fileno, 0);
	cr_assert(GMT_BOT(status.mt_gstat), "derived: at the beginning");
	cr_assert_eq(rmt_close(h), 0);
	fake_finish(&f);
}

Test(liars, v1_tape_operations)
{
	static const struct step steps[] = {
	    OPEN_V1,
	    {"I5\n1\n", "A1\n", 0, STEP_REPLY},   /* MTREW in standard numbers */
	    {"I0\n2\n", "A2\n", 0, STEP_REPLY},   /* MTWEOF */
	    {"i4\n1\n", "A1\n", 0, STEP_REPLY},   /* MTEOM by the portable i */
	    {"I1\n3\n", "A-3\n", 0, STEP_REPLY},  /* MTFSFM: FSF 3 (a negative A is fine) ... */
	    {"I2\n1\n", "A1\n", 0, STEP_REPLY},   /* ... then BSF 1 */
	    {"L77\n11\n", "A0\n", 0, STEP_REPLY}, /* MTSEEK by DUMP's QFA */
	    {"L0\n10\n", "A77\n", 0, STEP_REPLY}, /* MTIOCPOS */
	    {"i1020\n0\n", "E22\nInvalid argument\n", 0, STEP_REPLY}, /* MTSETBLK: not here */
	    {"sF", "A-1\n", 0, STEP_REPLY},
	    {"C\n", "A0\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 5000);
	struct mtop op;
	struct mtpos pos;
	long value;

	cr_assert_not_null(h);
	op = (struct mtop){MTREW, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	op = (struct mtop){MTWEOF, 2};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	op = (struct mtop){MTEOM, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	op = (struct mtop){MTFSFM, 3};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	op = (struct mtop){MTSEEK, 77};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	cr_assert_eq(rmt_ioctl(h, MTIOCPOS, &pos), 0);
	cr_assert_eq(pos.mt_blkno, 77);
	/* Not expressible after I-1: tried as rmtd's i<1000+op>; a classic server's E22 is
	 * EOPNOTSUPP. */
	op = (struct mtop){MTSETBLK, 0};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), -1);
	cr_assert_eq(errno, EOPNOTSUPP);
	cr_assert_eq(rmt_status_field(h, 'F', &value), 0);
	cr_assert_eq(value, -1, "file number unknown");
	cr_assert_eq(rmt_status_field(h, 'x', &value), -1, "unknown letters are not sent");
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(rmt_close(h), 0);
	fake_finish(&f);
}

Test(liars, classic_gnu_server)
{
	/* A GNU server: I-1 fails, L1/0 is a tell (A0), S needs its newline, native ops. */
	static char status[4 + sizeof(struct mtget)];
	static struct step steps[] = {
	    {"O/dev/nst0\n2 O_RDWR\n", "A0\n", 0, STEP_REPLY},
	    {"I-1\n0\n", "E25\nInappropriate ioctl for device\n", 0, STEP_REPLY},
	    {"L1\n0\n", "A0\n", 0, STEP_REPLY},
	    {"S\n", status, sizeof(status), STEP_REPLY},
	    {"I6\n1\n", "A0\n", 0, STEP_REPLY},     /* native MTREW */
	    {"I20\n0\n", "A0\n", 0, STEP_REPLY},    /* native MTSETBLK works classic */
	    {"L1\n100\n", "A100\n", 0, STEP_REPLY}, /* whence first */
	    {"S\n", status, sizeof(status), STEP_REPLY},
	    {"C\n", "A0\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h;
	struct mtget st = {.mt_type = 0x72, .mt_fileno = 4, .mt_blkno = 9};
	struct mtop op;
	long value;

	snprintf(status, 5, "A%zu\n", sizeof(st));
	memcpy(status + 4, &st, sizeof(st));
	h = fake_open(&f, steps, 5000);
	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	cr_assert_eq(rmt_capabilities(h), RMT_CAP_WHENCE_FIRST);
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &st), 0, "%s", rmt_error_text(h));
	cr_assert_eq(st.mt_fileno, 4);
	op = (struct mtop){MTREW, 1};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	op = (struct mtop){MTSETBLK, 0};
	cr_assert_eq(rmt_ioctl(h, MTIOCTOP, &op), 0);
	cr_assert_eq(rmt_lseek(h, 100, SEEK_CUR), 100);
	cr_assert_eq(rmt_status_field(h, 'B', &value), 0, "from the binary status");
	cr_assert_eq(value, 9);
	cr_assert_eq(rmt_close(h), 0);
	fake_finish(&f);
}

Test(liars, classic_bsd_server)
{
	/* A BSD-order server: L1/0 lands at 1, librmt seeks back; S without newline. */
	static char status[4 + sizeof(struct mtget)];
	static struct step steps[] = {
	    {"O/dev/nst0\n2 O_RDWR\n", "A0\n", 0, STEP_REPLY},
	    {"I-1\n0\n", "E22\nInvalid argument\n", 0, STEP_REPLY},
	    {"L1\n0\n", "A1\n", 0, STEP_REPLY},
	    {"L0\n0\n", "A0\n", 0, STEP_REPLY},
	    {"S", status, sizeof(status), STEP_REPLY},
	    {"L100\n1\n", "A100\n", 0, STEP_REPLY},
	    {"C\n", "A0\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h;
	struct mtget st = {.mt_type = 0x72};

	snprintf(status, 5, "A%zu\n", sizeof(st));
	memcpy(status + 4, &st, sizeof(st));
	h = fake_open(&f, steps, 5000);
	cr_assert_not_null(h, "%s", rmt_error_text(NULL));
	cr_assert_eq(rmt_capabilities(h), 0);
	cr_assert_eq(rmt_ioctl(h, MTIOCGET, &st), 0, "%s", rmt_error_text(h));
	cr_assert_eq(rmt_lseek(h, 100, SEEK_CUR), 100);
	cr_assert_eq(rmt_close(h), 0);
	fake_finish(&f);
}

Test(liars, zero_counts_stay_local)
{
	/* W0 kills DUMP and R0 means nothing: neither is sent. */
	static const struct step steps[] = {
	    OPEN_V1,
	    {"W10\n0123456789", "A10\n", 0, STEP_REPLY},
	    {"C\n", "A0\n", 0, STEP_REPLY},
	    END_OF_SCRIPT,
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 5000);
	char buf[1];

	cr_assert_not_null(h);
	cr_assert_eq(rmt_write(h, "", 0), 0);
	cr_assert_eq(rmt_write(h, "0123456789", 10), 10);
	cr_assert_eq(rmt_read(h, buf, 0), 0);
	cr_assert_eq(rmt_close(h), 0);
	fake_finish(&f);
}

Test(liars, server_gone_between_requests)
{
	static const struct step steps[] = {
	    OPEN_V1,
	    {NULL, NULL, 0, STEP_CLOSE},
	};
	struct fake f;
	struct rmt_handle *h = fake_open(&f, steps, 5000);
	char buf[4];

	cr_assert_not_null(h);
	fake_finish(&f);
	cr_assert_eq(rmt_read(h, buf, sizeof(buf)), -1);
	cr_assert_eq(errno, EIO);
	cr_assert(strstr(rmt_error_text(h), "closed") != NULL, "%s", rmt_error_text(h));
	rmt_close(h);
}

/* A TCP listener on loopback whose one connection gets a canned behaviour. */
struct raw_server {
	int listener;
	const char *say; /* written at once, then the server only reads; NULL: silent */
	pthread_t thread;
};

static void *raw_serve(void *arg)
{
	struct raw_server *s = arg;
	int c = accept(s->listener, NULL, NULL);
	char sink[512];

	if (c < 0)
		return NULL;
	if (s->say != NULL)
		(void)!send(c, s->say, strlen(s->say), MSG_NOSIGNAL);
	while (read(c, sink, sizeof(sink)) > 0)
		;
	close(c);
	return NULL;
}

static unsigned int raw_server_start(struct raw_server *s, const char *say)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);

	s->say = say;
	s->listener = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(s->listener, 0);
	cr_assert_eq(bind(s->listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	cr_assert_eq(listen(s->listener, 1), 0);
	cr_assert_eq(getsockname(s->listener, (struct sockaddr *)&addr, &len), 0);
	pthread_create(&s->thread, NULL, raw_serve, s);
	return ntohs(addr.sin_port);
}

Test(liars, tls_to_a_plaintext_server)
{
	struct raw_server s;
	unsigned int port = raw_server_start(&s, "A0\nE5\nnot TLS at all\n");
	char name[64];

	snprintf(name, sizeof(name), "rmts://127.0.0.1:%u/dev/nst0", port);
	errno = 0;
	cr_assert_null(rmt_open(name, O_RDONLY, NULL));
	cr_assert_eq(errno, EPROTO, "errno %d (%s)", errno, rmt_error_text(NULL));
	cr_assert(strstr(rmt_error_text(NULL), "TLS") != NULL, "%s", rmt_error_text(NULL));
	pthread_join(s.thread, NULL);
	close(s.listener);
}

Test(liars, tls_handshake_times_out)
{
	struct raw_server s;
	unsigned int port = raw_server_start(&s, NULL);
	struct rmt_options o;
	struct timespec t0, t1;
	char name[64];
	long ms;

	rmt_options_init(&o);
	o.connect_timeout_ms = 300;
	snprintf(name, sizeof(name), "rmts://127.0.0.1:%u/dev/nst0", port);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_null(rmt_open(name, O_RDONLY, &o));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_eq(errno, ETIMEDOUT, "errno %d (%s)", errno, rmt_error_text(NULL));
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	cr_assert(ms >= 250 && ms < 3000, "gave up after %ld ms", ms);
	pthread_join(s.thread, NULL);
	close(s.listener);
}

Test(liars, tls_unreadable_client_certificate)
{
	struct raw_server s;
	unsigned int port = raw_server_start(&s, NULL);
	struct rmt_options o;
	char name[64];

	rmt_options_init(&o);
	o.tls_cert_file = "/nonexistent/client.crt";
	snprintf(name, sizeof(name), "rmts://127.0.0.1:%u/dev/nst0", port);
	cr_assert_null(rmt_open(name, O_RDONLY, &o));
	cr_assert_eq(errno, EINVAL);
	cr_assert(strstr(rmt_error_text(NULL), "client certificate") != NULL, "%s",
	          rmt_error_text(NULL));
	pthread_join(s.thread, NULL);
	close(s.listener);
}

/* ================================================================== the shared object */

Test(library, exports_only_the_api)
{
	void *lib = dlopen(BUILD_DIR "/librmt/librmt.so.0", RTLD_NOW | RTLD_LOCAL);

	cr_assert_not_null(lib, "%s", dlerror());
	cr_assert_not_null(dlsym(lib, "rmt_open"));
	cr_assert_not_null(dlsym(lib, "rmt_status_field"));
	cr_assert_null(dlsym(lib, "remote_name_parse"), "internal symbols stay hidden");
	cr_assert_null(dlsym(lib, "connection_send"));
	cr_assert_null(dlsym(lib, "librmt_adopt"));
	dlclose(lib);
}

Test(library, preload_exports_only_interposers)
{
	void *lib = dlopen(BUILD_DIR "/librmt/librmt-preload.so", RTLD_NOW | RTLD_LOCAL);
	Dl_info info;
	void *f;

	cr_assert_not_null(lib, "%s", dlerror());
	cr_assert_null(dlsym(lib, "rmt_open"), "the shim must not export librmt");
	cr_assert_null(dlsym(lib, "librmt_adopt"));
	f = dlsym(lib, "ioctl");
	cr_assert_not_null(f);
	cr_assert(dladdr(f, &info) != 0 && strstr(info.dli_fname, "librmt-preload") != NULL,
	          "ioctl comes from the shim");
	/* Not dlclosed: its fork handlers stay registered for this process's lifetime. */
}
