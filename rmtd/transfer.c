/*
 * transfer.c - a large record between the client's socket and memory, on the
 * drive's thread (see transfer.h for why).
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "transfer.h"

/* Wake when this much has arrived, not per segment: fewer turns per megabyte. */
#define TRANSFER_WAKE (256 * 1024)

static int64_t monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void set_wake_threshold(int socket, size_t remaining)
{
	int threshold = remaining < TRANSFER_WAKE ? (int)remaining : TRANSFER_WAKE;

	if (threshold < 1)
		threshold = 1;
	setsockopt(socket, SOL_SOCKET, SO_RCVLOWAT, &threshold, sizeof(threshold));
}

int transfer_receive(int socket, uint8_t *buffer, size_t *have, size_t count, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
	int threshold_set = 0, error = 0;

	while (*have < count) {
		ssize_t n = recv(socket, buffer + *have, count - *have, MSG_DONTWAIT);

		if (n > 0) {
			*have += (size_t)n;
			continue;
		}
		if (n == 0) {
			error = -EPIPE;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			error = -errno;
			break;
		}
		set_wake_threshold(socket, count - *have);
		threshold_set = 1;

		struct pollfd wait = {.fd = socket, .events = POLLIN};
		int left = -1;

		if (deadline != 0) {
			int64_t now = monotonic_ms();

			if (now >= deadline) {
				error = -ETIMEDOUT;
				break;
			}
			left = (int)(deadline - now);
		}
		if (poll(&wait, 1, left) < 0 && errno != EINTR) {
			error = -errno;
			break;
		}
	}
	/* The loop reads requests again: every byte must wake it. */
	if (threshold_set)
		set_wake_threshold(socket, 1);
	return error;
}

size_t transfer_send(int socket, const void *header, size_t header_length, const void *data,
                     size_t data_length)
{
	struct iovec iov[2] = {
	    {.iov_base = (void *)header, .iov_len = header_length},
	    {.iov_base = (void *)data, .iov_len = data_length},
	};
	struct msghdr message = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	do
		n = sendmsg(socket, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n > 0 ? (size_t)n : 0;
}
