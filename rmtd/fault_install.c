/*
 * fault_install.c - the test server's one difference from rmtd: before main()
 * runs, a schedule in RMTD_FAULT (fault_spec.h) puts every device rmtd-fault
 * opens behind the fault-injecting drive. A schedule that does not parse stops
 * the server at once, so a test never runs without the faults it asked for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_fault.h"

static void fault_install(void) __attribute__((constructor));

static void fault_install(void)
{
	const char *text = getenv("RMTD_FAULT");
	struct fault_schedule schedule;
	char error[160];

	if (text == NULL)
		return;
	if (fault_schedule_parse(text, strlen(text), &schedule, error, sizeof(error)) < 0) {
		fprintf(stderr, "rmtd-fault: RMTD_FAULT: %s\n", error);
		exit(2);
	}
	backend_fault_set_schedule(&schedule);
	backend_wrapper = backend_fault_wrap;
}
