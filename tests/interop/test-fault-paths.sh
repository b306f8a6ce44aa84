#!/bin/sh
# Every error path of the protocol through the fault drive (tests/interop/fault_paths.py):
# O, C, W, R, L (and DUMP's QFA), I, I after I-1, i, S and s, in stdio mode and on the
# daemon's drive thread (plaintext, and TLS for a device call that never returns).
# Each failure must reach the client as the device's E<errno>,
# the log as one line, and leave the medium holding what was acknowledged.
set -eu
: "${RMTD_BUILD_DIR:?run through meson test}"
# Sanitizer builds: a report ends the server and shows in the log the test reads.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
exec timeout 300 python3 "$(dirname "$0")/fault_paths.py" "$RMTD_BUILD_DIR" "$@"
