/*
 * config_reader.c - a child that opens the configuration file for SIGHUP.
 *
 * The request is one byte on a SOCK_SEQPACKET pair; the answer one int, 0 with
 * the descriptor (SCM_RIGHTS) or an errno. The child holds no descriptor but
 * its end of the pair and /dev/null, and Landlock lets it read files below the
 * configuration's directory and do nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config_reader.h"
#include "log.h"
#include "sandbox.h"

#define READER_FD        3
#define READER_TIMEOUT_S 5

struct config_reader {
	int fd;
	pid_t pid;
};

static void send_answer(int fd, int error, int file)
{
	union {
		char buffer[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = &error, .iov_len = sizeof(error)};
	struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1};

	if (file >= 0) {
		struct cmsghdr *header;

		memset(&control, 0, sizeof(control));
		message.msg_control = control.buffer;
		message.msg_controllen = sizeof(control.buffer);
		header = CMSG_FIRSTHDR(&message);
		header->cmsg_level = SOL_SOCKET;
		header->cmsg_type = SCM_RIGHTS;
		header->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(header), &file, sizeof(int));
	}
	while (sendmsg(fd, &message, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* The child: only system calls from here on, no allocation, no logging. */
static void __attribute__((noreturn)) serve(int fd, const char *path, const char *directory)
{
	int null;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (fd != READER_FD && dup2(fd, READER_FD) < 0)
		_exit(1);
	/* Listening sockets, clients, the control socket: none of them is the reader's. */
	if (close_range(READER_FD + 1, ~0U, 0) < 0) {
		/* A kernel before 5.9: one at a time, up to the descriptor limit. */
		long last = sysconf(_SC_OPEN_MAX);

		for (long fd_left = READER_FD + 1; fd_left < last && fd_left <= INT_MAX; fd_left++)
			close((int)fd_left);
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0 ||
	    dup2(null, STDERR_FILENO) < 0)
		_exit(1);
	close(null);
	if (sandbox_restrict_to_reading(directory) < 0)
		_exit(1);
	for (;;) {
		char request;
		ssize_t n = read(READER_FD, &request, 1);
		int file;

		if (n == 0)
			_exit(0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		/* O_NONBLOCK: a FIFO in its place must not hang the reader (the loader refuses it).
		 */
		file = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
		send_answer(READER_FD, file < 0 ? errno : 0, file);
		if (file >= 0)
			close(file);
	}
}

struct config_reader *config_reader_start(const char *path)
{
	char absolute[PATH_MAX], directory[PATH_MAX];
	struct timeval timeout = {.tv_sec = READER_TIMEOUT_S};
	struct config_reader *reader;
	const char *slash;
	int pair[2];

	if (path[0] == '/') {
		snprintf(absolute, sizeof(absolute), "%s", path);
	} else {
		char here[PATH_MAX];

		if (getcwd(here, sizeof(here)) == NULL) {
			log_warn("configuration reader: current directory");
			return NULL;
		}
		if ((size_t)snprintf(absolute, sizeof(absolute), "%s/%s", here, path) >=
		    sizeof(absolute)) {
			log_warnx("configuration reader: %s: name too long", path);
			return NULL;
		}
	}
	slash = strrchr(absolute, '/');
	snprintf(directory, sizeof(directory), "%.*s",
	         slash == absolute ? 1 : (int)(slash - absolute), absolute);
	reader = calloc(1, sizeof(*reader));
	if (reader == NULL) {
		log_warnx("configuration reader: out of memory");
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		log_warn("configuration reader: socketpair");
		free(reader);
		return NULL;
	}
	reader->pid = fork();
	if (reader->pid < 0) {
		log_warn("configuration reader: fork");
		close(pair[0]);
		close(pair[1]);
		free(reader);
		return NULL;
	}
	if (reader->pid == 0)
		serve(pair[1], absolute, directory);
	close(pair[1]);
	reader->fd = pair[0];
	setsockopt(reader->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(reader->fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	log_debug("configuration reader %d for %s", (int)reader->pid, absolute);
	return reader;
}

int config_reader_open(struct config_reader *reader)
{
	union {
		char buffer[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	int error = 0, file = -1;
	struct iovec iov = {.iov_base = &error, .iov_len = sizeof(error)};
	struct msghdr message = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = control.buffer,
	    .msg_controllen = sizeof(control.buffer),
	};
	struct cmsghdr *header;
	ssize_t n;

	if (send(reader->fd, "o", 1, MSG_NOSIGNAL) != 1)
		return errno == EPIPE ? -ECHILD : -errno;
	do
		n = recvmsg(reader->fd, &message, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(error))
		return -ECHILD; /* the reader is gone */
	header = CMSG_FIRSTHDR(&message);
	if (header != NULL && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS)
		memcpy(&file, CMSG_DATA(header), sizeof(int));
	if (error != 0) {
		if (file >= 0)
			close(file);
		return -error;
	}
	return file >= 0 ? file : -EPROTO;
}

void config_reader_stop(struct config_reader *reader)
{
	if (reader == NULL)
		return;
	close(reader->fd);
	while (waitpid(reader->pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(reader);
}
