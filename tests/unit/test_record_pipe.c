/*
 * test_record_pipe.c - rmtd's own pipe for one W record: large enough for the
 * record as it arrives in pieces from another pipe, read back when needed, and
 * refused (copy instead) when the system cannot make it that large.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "record_pipe.h"

/* Move length bytes from a client's pipe into the record pipe as the serve loop does. */
static void splice_in(int from, struct record_pipe *p, size_t length)
{
	while (length > 0) {
		ssize_t n = splice(from, NULL, p->write_fd, NULL, length, SPLICE_F_MOVE);

		cr_assert_gt(n, 0, "splice: %s", strerror(errno));
		length -= (size_t)n;
	}
}

Test(record_pipe, holds_a_record_that_arrives_unaligned_and_gives_it_back)
{
	static uint8_t record[300000], back[sizeof(record)];
	struct record_pipe p;
	int client[2];

	for (size_t i = 0; i < sizeof(record); i++)
		record[i] = (uint8_t)(i * 7 + 3);
	record_pipe_init(&p);
	cr_assert_eq(pipe(client), 0);
	cr_assert_geq(fcntl(client[1], F_SETPIPE_SZ, 512 * 1024), 0);
	/* A header first, as a W line is: the record starts part-way into a page. */
	cr_assert_eq(write(client[1], "W300000\n", 8), 8);
	cr_assert_eq(write(client[1], record, sizeof(record)), (ssize_t)sizeof(record));
	{
		char header[8];

		cr_assert_eq(read(client[0], header, sizeof(header)), 8);
	}
	cr_assert_eq(record_pipe_ready(&p, record_pipe_size_for(sizeof(record))), 0);
	cr_assert_geq(p.capacity, sizeof(record) + 2 * 4096,
	              "room for the record and two part pages");
	splice_in(client[0], &p, sizeof(record));
	cr_assert_eq(record_pipe_drain(&p, back, sizeof(back)), 0);
	cr_assert_eq(memcmp(record, back, sizeof(record)), 0, "the record, byte for byte");
	record_pipe_close(&p);
	cr_assert_eq(p.read_fd, -1);
	close(client[0]);
	close(client[1]);
}

Test(record_pipe, a_record_larger_than_a_pipe_may_be_is_refused)
{
	struct record_pipe p;

	record_pipe_init(&p);
	/* Past what F_SETPIPE_SZ takes from anyone (2 GiB). */
	cr_assert_eq(record_pipe_ready(&p, (size_t)3 << 30), -EMSGSIZE);
	/* A size the system refused once (pipe-max-size) is not asked for again. */
	p.refused = 200000;
	cr_assert_eq(record_pipe_ready(&p, 300000), -EMSGSIZE);
	cr_assert_eq(p.read_fd, -1, "not even a pipe made for it");
	cr_assert_eq(record_pipe_ready(&p, 100000), 0, "a smaller record still fits");
	cr_assert_geq(p.capacity, 100000);
	record_pipe_close(&p);
}

Test(record_pipe, discarding_throws_away_a_cut_record)
{
	struct record_pipe p;
	uint8_t byte;

	record_pipe_init(&p);
	cr_assert_eq(record_pipe_ready(&p, 100000), 0);
	cr_assert_eq(write(p.write_fd, "half", 4), 4);
	record_pipe_discard(&p);
	cr_assert_eq(record_pipe_ready(&p, 100000), 0);
	cr_assert_eq(fcntl(p.read_fd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(read(p.read_fd, &byte, 1), -1, "nothing of the old record is left");
	cr_assert_eq(errno, EAGAIN);
	record_pipe_close(&p);
}
