# tests/interop/lib.sh - helpers shared by the interop tests (sourced, bash).
#
# Every test-*.sh sources this file. It finds the build, the rsh shim and
# rundump.sh, makes a private work directory that is removed on exit, and offers
# small checking helpers that stop the test at the first failure with a clear
# message. Clients run under `timeout` so that a hung server fails the test
# instead of hanging it.

# meson runs the scripts with sh: make sure the test runs in bash, whatever
# shell sourced this file (in a sourced file, $0 and "$@" are the script's).
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

set -eu

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RMTD_SOURCE_DIR=${RMTD_SOURCE_DIR:-$(cd "$INTEROP_DIR/../.." && pwd)}
RMTD_BUILD_DIR=${RMTD_BUILD_DIR:-$RMTD_SOURCE_DIR/build}
# Absolute paths: clients get the shim by absolute path, and the shim must find
# the build whatever the client's current directory is.
RMTD_BUILD_DIR=$(cd "$RMTD_BUILD_DIR" 2>/dev/null && pwd || echo "$RMTD_BUILD_DIR")
export RMTD_SOURCE_DIR RMTD_BUILD_DIR

RSH_SHIM=$INTEROP_DIR/rsh-shim
# dump on an image file: rundump.sh gives it a private mount namespace.
RUNDUMP=$INTEROP_DIR/rundump.sh
RMTD=$RMTD_BUILD_DIR/rmtd/rmtd
TEST_NAME=$(basename "$0" .sh)
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-60}

# Sanitizer builds: stop at the first report and make it visible in the exit status.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export LC_ALL=C.UTF-8

checks_done=0
WORK=

say() { printf '[%s] %s\n' "$TEST_NAME" "$*"; }

# Announce a check; pass it with ok.
check() {
	printf '[%s] check: %s ... ' "$TEST_NAME" "$*"
}
ok() {
	checks_done=$((checks_done + 1))
	printf 'ok%s\n' "${1:+ ($1)}"
}

fail() {
	printf '\n[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
	if [ -n "$WORK" ] && [ -s "$WORK/server.log" ]; then
		printf '[%s] last lines of the server log (%s):\n' "$TEST_NAME" "$WORK/server.log" >&2
		tail -n 20 "$WORK/server.log" >&2 || true
	fi
	exit 1
}

cleanup_work() {
	local rc=$?
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ -n "${RMTD_KEEP_TMP:-}" ]; then
			say "kept work directory $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	if [ "$rc" -eq 0 ]; then
		say "PASS ($checks_done checks)"
	fi
	exit "$rc"
}

# make_work: a private directory (canonical path, since rmtd compares paths
# lexically against its allowed directories), removed on exit. The test's own
# temporary files go below it too: restore -r names its work files in TMPDIR
# after the dump's date alone (rstdirDATE, rstmodeDATE), so two tests restoring
# dumps made in the same second would share, and remove, each other's.
make_work() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/rmtd-$TEST_NAME.XXXXXX")
	WORK=$(cd "$WORK" && pwd -P)
	trap cleanup_work EXIT
	trap 'exit 130' INT TERM
	mkdir "$WORK/tmp"
	export TMPDIR=$WORK/tmp
}

# The server under test: rmtd by default, or RMT_SERVER (e.g. /usr/sbin/rmt-dump)
# to prove the harness against a classic server.
require_server() {
	if [ -n "${RMT_SERVER:-}" ]; then
		[ -x "$RMT_SERVER" ] || fail "RMT_SERVER=$RMT_SERVER is not executable"
		say "server under test: $RMT_SERVER (RMT_SERVER)"
	else
		[ -x "$RMTD" ] || fail "rmtd is not built: $RMTD missing (build with contrib/setup.sh build)"
		say "server under test: $RMTD"
	fi
}

require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || fail "required tool '$t' is not installed (contrib/setup.sh deps)"
	done
}

# shim_allow DIR [extra rmtd args...]: clients started through the shim may use DIR.
shim_allow() {
	local dir=$1
	shift
	export RMTD_SHIM_ARGS="--allow $dir${*:+ $*}"
	export RMTD_SHIM_LOG=$WORK/server.log
	: >"$RMTD_SHIM_LOG"
}

# run_client OUT ERR cmd...: run a client under timeout, stdout/stderr to files.
# Returns the client's exit status; a timeout fails the test.
run_client() {
	local out=$1 err=$2 rc=0
	shift 2
	timeout -k 5 "$CLIENT_TIMEOUT" "$@" >"$out" 2>"$err" || rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "client hung (killed after ${CLIENT_TIMEOUT}s): $*"
	fi
	return "$rc"
}

# must_succeed DESCRIPTION cmd...: run a client that must exit 0.
must_succeed() {
	local what=$1 rc=0
	shift
	run_client "$WORK/client.out" "$WORK/client.err" "$@" || rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$WORK/client.err" >&2
		fail "$what: exit status $rc: $*"
	fi
	check_server_log
}

# A sanitizer report or a crash message in the server's stderr fails the test.
sanitizer_pattern='AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|Segmentation fault|core dumped'
check_server_log() {
	local log=${1:-$WORK/server.log}
	if [ -s "$log" ] && grep -E -q "$sanitizer_pattern" "$log"; then
		grep -E -A 20 "$sanitizer_pattern" "$log" | head -n 60 >&2
		fail "sanitizer or crash report in the server log $log"
	fi
}

# The server's command line for direct (piped) runs.
server_cmd() {
	if [ -n "${RMT_SERVER:-}" ]; then
		printf '%s\n' "$RMT_SERVER"
	else
		printf '%s\n' "$RMTD" --stdio "$@"
	fi
}

# pipe_server IN OUT ERR args...: pipe file IN into a fresh server in stdio mode.
# Sets SERVER_RC. A hang (10 s) or a death by signal fails the test.
SERVER_RC=0
pipe_server() {
	local in=$1 out=$2 err=$3
	shift 3
	local -a cmd
	mapfile -t cmd < <(server_cmd "$@")
	SERVER_RC=0
	# through a pipe, as rsh and ssh connect it (a regular file is another case)
	cat "$in" | timeout -k 2 10 "${cmd[@]}" >"$out" 2>"$err" || SERVER_RC=$?
	if [ "$SERVER_RC" -eq 124 ] || [ "$SERVER_RC" -eq 137 ]; then
		fail "server hung on input $(od -c "$in" | head -n 3 | tr -s ' ' | tr '\n' ' ')"
	fi
	if [ "$SERVER_RC" -ge 128 ]; then
		cat "$err" >&2
		fail "server died with signal $((SERVER_RC - 128)) (exit $SERVER_RC)"
	fi
	check_server_log "$err"
}

# match_replies ACTUAL EXPECTED...: the server's output must equal one of the
# expected files byte for byte. In an expected file, the token @TEXT@ stands for
# an error text the specification leaves open (one line, 1..70 printable bytes,
# newline excluded), @ERRNO@ for any decimal errno, @NUM@ for any decimal
# number >= 0, and @BYTES:n@ for exactly n bytes of any value (an mtget blob).
# Returns 0 on a match, 1 otherwise.
match_replies() {
	python3 - "$@" <<'PYEOF'
import re, sys
actual = open(sys.argv[1], 'rb').read()
for path in sys.argv[2:]:
    expected = open(path, 'rb').read()
    pattern = b''
    for part in re.split(rb'(@TEXT@|@ERRNO@|@NUM@|@BYTES:[0-9]+@)', expected):
        if part == b'@TEXT@':
            pattern += rb'[\x20-\x7e]{1,70}'
        elif part == b'@ERRNO@':
            pattern += rb'[1-9][0-9]{0,3}'
        elif part == b'@NUM@':
            pattern += rb'(?:0|[1-9][0-9]{0,18})'
        elif part.startswith(b'@BYTES:'):
            pattern += rb'.{%d}' % int(part[7:-1])
        else:
            pattern += re.escape(part)
    if re.fullmatch(pattern, actual, re.S):
        sys.exit(0)
sys.exit(1)
PYEOF
}

show_bytes() {
	od -A d -c "$1" | head -n "${2:-40}"
}

# expect_output DESCRIPTION ACTUAL EXPECTED_FILE...: compare, show both on failure.
expect_output() {
	local what=$1 actual=$2
	shift 2
	if ! match_replies "$actual" "$@"; then
		{
			printf '\n--- expected (%s):\n' "$1"
			show_bytes "$1"
			local alt
			for alt in "${@:2}"; do
				printf -- '--- or:\n'
				show_bytes "$alt"
			done
			printf -- '--- got:\n'
			show_bytes "$actual"
			if [ $# -eq 1 ] && ! grep -q -E '@(TEXT|ERRNO|NUM|BYTES:[0-9]+)@' "$1"; then
				printf -- '--- cmp:\n'
				cmp "$1" "$actual" 2>&1 || true
			fi
		} >&2
		fail "$what: reply bytes differ"
	fi
}

# probe DESCRIPTION INPUT EXPECTED [ALTERNATIVE...] [-- server args]:
# INPUT and EXPECTED are printf %b strings (\n, \x00, \\ ...). Runs one server
# session on INPUT and compares its whole output with EXPECTED (or an alternative).
# Afterwards SERVER_RC holds the exit status.
probe_count=0
probe() {
	local what=$1 input=$2
	shift 2
	local -a expected=() args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		expected+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	args=("$@")
	probe_count=$((probe_count + 1))
	local base=$WORK/probe.$probe_count
	printf '%b' "$input" >"$base.in"
	local -a files=()
	local i=0 e
	for e in "${expected[@]}"; do
		printf '%b' "$e" >"$base.expected.$i"
		files+=("$base.expected.$i")
		i=$((i + 1))
	done
	check "$what"
	pipe_server "$base.in" "$base.out" "$base.err" "${args[@]}"
	expect_output "$what" "$base.out" "${files[@]}"
	ok
}

# probe_file DESCRIPTION INPUT_FILE EXPECTED [ALTERNATIVE...] [-- server args]:
# like probe, with the input already in a file (large or binary inputs).
probe_file() {
	local what=$1 infile=$2
	shift 2
	local -a expected=() args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		expected+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	args=("$@")
	probe_count=$((probe_count + 1))
	local base=$WORK/probe.$probe_count
	local -a files=()
	local i=0 e
	for e in "${expected[@]}"; do
		printf '%b' "$e" >"$base.expected.$i"
		files+=("$base.expected.$i")
		i=$((i + 1))
	done
	check "$what"
	pipe_server "$infile" "$base.out" "$base.err" "${args[@]}"
	expect_output "$what" "$base.out" "${files[@]}"
	ok
}

# expect_exit_clean: the last piped server exited by itself with status 0.
expect_exit_zero() {
	[ "$SERVER_RC" -eq 0 ] || fail "server exit status $SERVER_RC, expected 0"
}

# Does the source tree have the virtual tape? Then its tests must run.
have_vtape() {
	[ -f "$RMTD_SOURCE_DIR/rmtd/backend_vtape.c" ] && [ -z "${RMT_SERVER:-}" ]
}

# new_vtape PATH: a blank virtual tape image made with the project's tool.
new_vtape() {
	local tool=$RMTD_BUILD_DIR/rmtd/rmt-vtape
	[ -x "$tool" ] || fail "rmtd/backend_vtape.c exists but $tool is not built"
	"$tool" create "$1" >/dev/null || fail "rmt-vtape create $1 failed"
}

# Deterministic content: N bytes of "0123456789" repeated.
digits() {
	python3 -c 'import sys; n=int(sys.argv[1]); sys.stdout.write(("0123456789"*(n//10+1))[:n])' "$1"
}

# shim_environment PRELOAD: what a test of the LD_PRELOAD shim runs its clients
# with. A sanitizer build of the shim needs its runtime first in the preload list
# (PRELOAD_LIST), and the uninstrumented programs' own leaks are not ours to report
# (CLIENT_ASAN_OPTIONS); dd aborts under the ASan runtime, so DD is then a stand-in
# making the same calls (dd-standin.py). SHIM is "env" with both set;
# SHIM_ASAN_RUNTIME names the runtime, empty for a build without sanitizers.
shim_environment() {
	local asan_runtime
	PRELOAD_LIST=$1
	CLIENT_ASAN_OPTIONS=${ASAN_OPTIONS:-}
	DD=(dd)
	asan_runtime=$(ldd "$1" | awk '/libasan/ {print $3}')
	if [ -n "$asan_runtime" ]; then
		PRELOAD_LIST="$asan_runtime:$1"
		CLIENT_ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0:halt_on_error=1:abort_on_error=1"
		DD=(python3 "$INTEROP_DIR/dd-standin.py")
	fi
	SHIM=(env LD_PRELOAD="$PRELOAD_LIST" ASAN_OPTIONS="$CLIENT_ASAN_OPTIONS")
	SHIM_ASAN_RUNTIME=$asan_runtime
}

# stop_daemon: end the daemon a test started in the background (DAEMON_PID), if any.
stop_daemon() {
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=
	fi
}

# free_port: a TCP port free on 127.0.0.1 now, below the ephemeral range (rmtclient.py).
free_port() {
	PYTHONPATH=$INTEROP_DIR python3 -c 'from rmtclient import free_port; print(free_port())'
}

# make_slow_connect: $WORK/slow-connect, the connector ($CONNECT) with what the
# client sends passed on at most THROTTLE_BPS bytes/s (a transfer that lasts).
make_slow_connect() {
	cat >"$WORK/throttle.py" <<'EOF'
import os, sys, time
rate = int(os.environ['THROTTLE_BPS'])
start, sent = time.monotonic(), 0
while True:
    data = os.read(0, 4096)
    if not data:
        break
    os.write(1, data)
    sent += len(data)
    ahead = sent / rate - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)
EOF
	# exec: no shell may keep the client's reply pipe open once the connection is gone.
	cat >"$WORK/slow-connect" <<EOF
#!/bin/bash
exec "$CONNECT" "\$@" < <(exec python3 "$WORK/throttle.py")
EOF
	chmod +x "$WORK/slow-connect"
}

# json_get EXPRESSION < document: a Python expression over d (the document).
json_get() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# wait_for SECONDS PYTHON-CONDITION: poll `ctl status --json` (the script defines ctl)
# until the document d satisfies it; the last one is left in $WORK/last.json.
wait_for() {
	local deadline=$((SECONDS + $1)) doc
	while [ "$SECONDS" -le "$deadline" ]; do
		doc=$(ctl status --json) || fail "rmtctl status --json failed"
		if printf '%s' "$doc" | python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"; then
			printf '%s' "$doc" >"$WORK/last.json"
			return 0
		fi
		sleep 0.1
	done
	printf '%s\n' "$doc" >&2
	return 1
}

# library_work CAPACITY-OPTIONS -- CARTRIDGE...: what the virtual-library tests
# with a daemon share. RMTCTL and VTAPE; the work directory, short enough for the
# control socket's path; LIB (the library's folder, holding the cartridges named,
# each made with rmt-vtape create and the options before --), STATE and SOCK.
library_work() {
	local options=()
	while [ "$1" != -- ]; do
		options+=("$1")
		shift
	done
	shift
	RMTCTL=$RMTD_BUILD_DIR/rmtd/rmtctl
	VTAPE=$RMTD_BUILD_DIR/rmtd/rmt-vtape
	make_work
	[ "${#WORK}" -le 80 ] || fail "work directory path too long for a Unix socket: $WORK"
	LIB=$WORK/lib
	STATE=$WORK/state
	SOCK=$WORK/control.sock
	mkdir -p "$LIB"
	local c
	for c in "$@"; do
		"$VTAPE" create "${options[@]}" "$LIB/$c.tap" >/dev/null
	done
}

# control_answers: wait (5 s at most) until the daemon DAEMON_PID answers
# `rmtctl status` on SOCK (RMTCTL); false when it ended first or never answered.
control_answers() {
	local i
	for i in $(seq 1 100); do
		[ -S "$SOCK" ] && "$RMTCTL" -s "$SOCK" status >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# start_control_daemon RMTD-OPTIONS...: rmtd -d with these options, listening on a
# free port (PORT) with the control socket SOCK (mode 0600), its log appended to
# $WORK/server.log; returns once rmtctl status answers (DAEMON_PID is the daemon).
# Another attempt on another port if the one chosen was taken meanwhile.
start_control_daemon() {
	local attempt
	for attempt in 1 2 3 4 5; do
		PORT=$(free_port)
		"$RMTD" -d "$@" --listen "127.0.0.1:$PORT" --control "$SOCK" --control-mode 0600 \
			>>"$WORK/server.log" 2>&1 &
		DAEMON_PID=$!
		control_answers && return 0
		stop_daemon
	done
	fail "rmtd did not start: $(tail -5 "$WORK/server.log")"
}

# start_library_daemon: start_control_daemon on $WORK/rmtd.conf, verbose.
start_library_daemon() {
	start_control_daemon -v -f "$WORK/rmtd.conf"
}
