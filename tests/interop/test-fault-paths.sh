#!/bin/sh
# Every error path of the protocol through the fault drive (tests/interop/fault_paths.py):
# O, C, W, R, L (and DUMP's QFA), I, I after I-1, i, S and s, in stdio mode and on the
# daemon's drive thread. Each failure must reach the client as the device's E<errno>,
# the log as one line, and leave the medium holding what was acknowledged.
set -eu
: "${RMTD_BUILD_DIR:?run through meson test}"
exec timeout 300 python3 "$(dirname "$0")/fault_paths.py" "$RMTD_BUILD_DIR" "$@"
