/*
 * test_pipeline.c - unit tests of the pipelining state on both sides: rmtd's
 * agreement (rmtd/pipeline_state.c) and librmt's window (librmt/write_window.c).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "pipeline_state.h"
#include "rmt/protocol.h"
#include "write_window.h"

Test(pipeline_state, nothing_is_discarded_without_the_agreement)
{
	struct pipeline_state state = {0};

	pipeline_write_failed(&state);
	cr_assert_not(pipeline_discards_write(&state), "a classic session writes every W");
}

Test(pipeline_state, grants_only_what_it_knows)
{
	struct pipeline_state state = {0};

	cr_assert_eq(pipeline_negotiate(&state, 0x7fffffff), RMT_PIPELINE_SUPPORTED);
	cr_assert_eq(pipeline_negotiate(&state, 0), 0);
	cr_assert_eq(pipeline_negotiate(&state, -5), 0);
}

Test(pipeline_state, discards_after_a_failure_until_another_request)
{
	struct pipeline_state state = {0};

	pipeline_negotiate(&state, RMT_PIPELINE_DISCARD);
	cr_assert_not(pipeline_discards_write(&state));
	pipeline_write_failed(&state);
	cr_assert(pipeline_discards_write(&state));
	cr_assert(pipeline_discards_write(&state));
	cr_assert_eq(pipeline_other_request(&state, false), 2, "two W requests were dropped");
	cr_assert_not(pipeline_discards_write(&state), "a request other than W ends it");
	cr_assert_eq(pipeline_other_request(&state, false), 0);
}

Test(pipeline_state, reads_stop_at_a_filemark_until_a_request_other_than_r)
{
	struct pipeline_state state = {0};

	pipeline_read_stopped(&state);
	cr_assert_not(pipeline_discards_read(&state), "a classic session reads every R");
	pipeline_negotiate(&state, RMT_PIPELINE_DISCARD | RMT_PIPELINE_READ);
	cr_assert_not(pipeline_discards_read(&state));
	pipeline_read_stopped(&state);
	cr_assert(pipeline_discards_read(&state));
	pipeline_other_request(&state, true);
	cr_assert(pipeline_discards_read(&state), "an R read ahead does not end it");
	pipeline_other_request(&state, false);
	cr_assert_not(pipeline_discards_read(&state), "a request other than R ends it");
}

static int64_t fixed_room(struct device *dev)
{
	(void)dev;
	return 12345;
}

Test(pipeline_state, room_of_a_file_a_tape_and_a_drive_that_cannot_tell)
{
	struct backend_ops with_room = {.name = "vtape", .room = fixed_room};
	struct backend_ops without = {.name = "st"};
	struct device dev = {.ops = &with_room, .is_tape = true};

	cr_assert_eq(pipeline_room(&dev), 12345);
	dev.ops = &without;
	cr_assert_eq(pipeline_room(&dev), -2, "st cannot tell: the client goes classic");
	dev.is_tape = false;
	cr_assert_eq(pipeline_room(&dev), -1, "a file has no early warning");
}

Test(write_window, bounded_in_records_and_bytes)
{
	struct write_window *w;

	setenv("RMT_PIPELINE_WINDOW", "3,30000", 1);
	w = write_window_new();
	unsetenv("RMT_PIPELINE_WINDOW");
	cr_assert_not_null(w);
	cr_assert(write_window_has_room(w, 10240));
	write_window_push(w, 10240);
	write_window_push(w, 10240);
	cr_assert_not(write_window_has_room(w, 10240), "30000 bytes at most");
	cr_assert(write_window_has_room(w, 9000));
	write_window_push(w, 9000);
	cr_assert_not(write_window_has_room(w, 1), "3 records at most");
	write_window_reply(w, true, 10240, 0, "");
	cr_assert(write_window_has_room(w, 10240));
	write_window_free(w);
}

Test(write_window, an_empty_window_takes_any_record)
{
	struct write_window *w;

	setenv("RMT_PIPELINE_WINDOW", "4,1000", 1);
	w = write_window_new();
	unsetenv("RMT_PIPELINE_WINDOW");
	cr_assert(write_window_has_room(w, 1u << 20), "else a large record would wait forever");
	write_window_free(w);
}

Test(write_window, the_first_failure_is_kept_the_discards_are_counted)
{
	struct write_window *w = write_window_new();
	char text[200];

	for (int i = 0; i < 5; i++)
		write_window_push(w, 512);
	write_window_reply(w, true, 512, 0, "");
	write_window_reply(w, false, 0, ENOSPC, "No space left on device");
	write_window_reply(w, false, 0, ECANCELED, "Discarded after an earlier write error");
	write_window_reply(w, false, 0, ECANCELED, "Discarded after an earlier write error");
	write_window_reply(w, true, 512, 0, "");
	cr_assert_eq(w->count, 0);
	cr_assert_eq(w->discarded, 2);
	cr_assert_eq(write_window_take_failure(w, text, sizeof(text)), ENOSPC);
	cr_assert(strstr(text, "No space left on device") != NULL, "text \"%s\"", text);
	cr_assert_eq(write_window_take_failure(w, text, sizeof(text)), 0, "reported once");
	write_window_free(w);
}

Test(write_window, a_short_write_is_a_failure)
{
	struct write_window *w = write_window_new();
	char text[200];

	write_window_push(w, 10240);
	write_window_reply(w, true, 4096, 0, "");
	cr_assert_eq(write_window_take_failure(w, text, sizeof(text)), EIO);
	cr_assert(strstr(text, "4096 of 10240") != NULL, "text \"%s\"", text);
	write_window_free(w);
}

Test(write_window, stays_short_of_early_warning)
{
	struct write_window *w = write_window_new();

	cr_assert(write_window_before_early_warning(w, 1u << 20), "no limit known");
	w->room_left = 3 * (10240 + WRITE_WINDOW_RECORD_OVERHEAD);
	cr_assert(write_window_before_early_warning(w, 10240));
	write_window_push(w, 10240);
	write_window_push(w, 10240);
	cr_assert(write_window_before_early_warning(w, 10240));
	write_window_push(w, 10240);
	cr_assert_not(write_window_before_early_warning(w, 1), "the room is spoken for");
	write_window_free(w);
}

/* RMT_PIPELINE_WINDOW and rmt-connect's --window share one strict parser (number.c). */
Test(write_window, limits_are_strict_decimals)
{
	static const char *const bad[] = {"",
	                                  "0",
	                                  "65537",
	                                  "-1",
	                                  "+4",
	                                  " 4",
	                                  "4 ",
	                                  "4,",
	                                  "4,0",
	                                  "4,-1",
	                                  "0x10",
	                                  "4,4294967297",
	                                  "4,1,2",
	                                  "4;100",
	                                  "99999999999999999999",
	                                  "4,99999999999999999999"};
	unsigned int records = 7;
	size_t bytes = 9;

	cr_assert(write_window_parse_limits("65536", &records, &bytes));
	cr_assert_eq(records, 65536);
	cr_assert_eq(bytes, 9, "no BYTES: left as it was");
	cr_assert(write_window_parse_limits("1,4294967296", &records, &bytes));
	cr_assert_eq(records, 1);
	cr_assert_eq(bytes, 4294967296);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		records = 7;
		bytes = 9;
		cr_expect_not(write_window_parse_limits(bad[i], &records, &bytes),
		              "accepted \"%s\"", bad[i]);
		cr_expect(records == 7 && bytes == 9, "\"%s\" changed the limits", bad[i]);
	}
}
