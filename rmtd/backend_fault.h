/*
 * backend_fault.h - a drive that fails on schedule, for tests.
 *
 * backend_fault_wrap() returns a backend that passes every call to another
 * backend (file, vtape or st) except those the schedule (fault_spec.h) picks:
 * they fail with an errno before or after reaching the device, move fewer
 * bytes, wait, or never return. Calls are counted per kind over the whole
 * process, across opens and drives.
 *
 * Only the test server (rmtd-fault, not installed) links this: it wraps every
 * device it opens when RMTD_FAULT holds a schedule. The installed rmtd cannot
 * inject a fault, whatever its configuration or environment.
 */
#ifndef RMTD_BACKEND_FAULT_H
#define RMTD_BACKEND_FAULT_H

#include <stdint.h>

#include "backend.h"
#include "fault_spec.h"

/* The schedule every wrapped backend follows from now on; the counts restart at 0. */
void backend_fault_set_schedule(const struct fault_schedule *schedule);

/* inner behind the schedule. Never fails (a few static tables, one per inner backend). */
const struct backend_ops *backend_fault_wrap(const struct backend_ops *inner);

/* How many calls of this kind (FAULT_CALL_ANY: of every kind) were made so far. */
uint64_t backend_fault_calls(enum fault_call call);

#endif
