#!/bin/sh
# The TCP daemon end to end (tests/interop/daemon_tests.py): 64 clients on 8
# drives, queues and their timeout, a hung drive, SIGTERM, a killed client,
# 1000 idle sessions and the limit, timeouts, releases, kills and changer moves
# among pipelined requests, inetd and socket activation.
set -eu
: "${RMTD_BUILD_DIR:?run through meson test}"
ulimit -n 4096 2>/dev/null || true
exec timeout 600 python3 "$(dirname "$0")/daemon_tests.py" "$RMTD_BUILD_DIR/rmtd/rmtd" "$@"
