#!/bin/sh
# Random fault schedules under GNU tar (create to a virtual tape, to a file and, with
# 128 KiB records, in the daemon; extract from a virtual tape) and dump (to a virtual
# tape), through the fault drive
# (tests/interop/fault_schedules.py). Seeded: the base seed is printed, and
# FAULT_BASE_SEED=S replays a run, FAULT_SEED=S FAULT_KIND=K one iteration.
# FAULT_ITERATIONS sets the number of tar runs (default 40; dump runs: a quarter).
set -eu
: "${RMTD_BUILD_DIR:?run through meson test}"
# Sanitizer builds: a report ends the server and shows in the log the test reads.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
exec timeout 580 python3 "$(dirname "$0")/fault_schedules.py" "$RMTD_BUILD_DIR"
