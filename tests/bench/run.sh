#!/bin/bash
# The comparisons the lead reports (tests/bench/README.md): rmtd against /usr/sbin/rmt-tar and
# /usr/sbin/rmt-dump over pipes, pinned to one CPU and unpinned, rmtd on a virtual tape against a
# plain file, then rmtd's TCP daemon against
# the loopback ceiling, 8 clients at once, and memory per idle session. A measurement, not a test.
#
# usage: tests/bench/run.sh [-b BUILD_DIR] [pipe|tcp|all] [extra rmtbench options...]
#   environment: RMTD (the rmtd binary), REFS (built-in reference servers for the pipe tables,
#   default "@file @splice:1M"; empty for none), CPU (the CPU to pin to, default 0)
set -u

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build=""
if [ "${1:-}" = "-b" ]; then
	build=$2
	shift 2
fi
what=${1:-all}
case "$what" in
pipe | tcp | all) [ $# -gt 0 ] && shift ;;
-*) what=all ;;
*)
	echo "usage: $0 [-b BUILD_DIR] [pipe|tcp|all] [rmtbench options...]" >&2
	exit 2
	;;
esac
if [ -z "$build" ]; then
	for d in "$source_dir"/build-bench "$source_dir"/build; do
		if [ -x "$d/tests/bench/rmtbench" ]; then
			build=$d
			break
		fi
	done
fi
bench=$build/tests/bench/rmtbench
if [ ! -x "$bench" ]; then
	echo "run.sh: no rmtbench; build it first: meson setup build-bench && ninja -C build-bench" >&2
	exit 2
fi
rmtd=${RMTD:-$build/rmtd/rmtd}
refs=${REFS-@file @splice:1M}
cpu=${CPU:-0}

work=$(mktemp -d /dev/shm/rmtbench.XXXXXX) || exit 2
daemon_pid=""
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

have_rmtd=false
if [ -x "$rmtd" ]; then
	# a quick open/write/close through the real stdio server before trusting it with a run
	if "$bench" pipe --server "rmtd=$rmtd --stdio --allow $work" --target "$work/probe" \
		--size 64K --records 64K --repeat 1 --count 10 >/dev/null 2>"$work/probe.err"; then
		have_rmtd=true
	else
		echo "run.sh: $rmtd does not pass the workload yet, left out:" >&2
		sed 's/^/    /' "$work/probe.err" >&2
	fi
else
	echo "run.sh: no rmtd at $rmtd (set RMTD=...); peers only" >&2
fi

echo "# rmtbench run $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git -C "$source_dir" rev-parse --short HEAD 2>/dev/null)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"

run_pipe() {
	local servers=()
	$have_rmtd && servers+=(--server "rmtd=$rmtd --stdio --allow $work")
	servers+=(--server /usr/sbin/rmt-tar --server /usr/sbin/rmt-dump)
	for r in $refs; do
		servers+=(--server "$r")
	done
	echo
	echo "## pipes, client and server pinned to CPU $cpu (taskset -c $cpu)"
	taskset -c "$cpu" "$bench" pipe "${servers[@]}" --target "$work/data" "$@"
	echo
	echo "## pipes, unpinned"
	"$bench" pipe "${servers[@]}" --target "$work/data" "$@"
	$have_rmtd || return
	# The same workload on a virtual tape (its rewinding name, so each phase starts at the
	# beginning), against the built-in file server writing a plain file of that name.
	echo
	echo "## pipes, pinned to CPU $cpu: rmtd on a virtual tape against a plain file"
	taskset -c "$cpu" "$bench" pipe --server "rmtd-vtape=$rmtd --stdio --allow $work" \
		--server @file --target "$work/bench.tap.rewind" "$@"
}

run_tcp() {
	local port=$((20000 + $$ % 20000))
	echo
	echo "## TCP loopback: ceiling (built-in sink) and built-in file server, single client"
	"$bench" tcp --path "$work/tcp" --tcp-file --ceiling "$@"
	if ! $have_rmtd; then
		echo "run.sh: no working rmtd: TCP daemon figures skipped" >&2
		return
	fi
	# "null" is /dev/zero through the file backend: writes vanish, reads are zeros, so the
	# device costs about what the ceiling's sink does and the comparison is of rmtd alone.
	"$rmtd" -d --listen "127.0.0.1:$port" --allow "$work" --drive null=/dev/zero \
		--max-sessions 4096 --max-per-peer 4096 2>"$work/daemon.err" &
	daemon_pid=$!
	for _ in $(seq 50); do
		"$bench" idle --connect "127.0.0.1:$port" --pid "$daemon_pid" --sessions 1 \
			>/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		echo "run.sh: rmtd -d --listen did not start:" >&2
		sed 's/^/    /' "$work/daemon.err" >&2
		daemon_pid=""
		return
	fi
	echo
	echo "## TCP, rmtd daemon against the loopback ceiling, single client"
	"$bench" tcp --connect "rmtd=127.0.0.1:$port" --pid "$daemon_pid" --path "$work/tcp" \
		--tcp-file --ceiling "$@"
	echo
	echo "## TCP, rmtd on a null drive (/dev/zero: no file to write) against the ceiling, single client"
	"$bench" tcp --connect "rmtd=127.0.0.1:$port" --pid "$daemon_pid" --path null --no-verify \
		--ceiling "$@"
	echo
	echo "## TCP, 8 clients on 8 targets at once, 32M each, aggregate"
	"$bench" tcp --connect "rmtd=127.0.0.1:$port" --pid "$daemon_pid" --path "$work/tcp%d" \
		--tcp-file --ceiling --clients 8 \
		--size 32M --no-latency "$@"
	# The same with every thread on one CPU: what is left once no wake-up crosses CPUs
	# and no thread moves away from its caches (README.md, "Pinned or not").
	echo
	echo "## TCP, 8 clients on 8 targets, all pinned to CPU $cpu (taskset), aggregate"
	taskset -a -p -c "$cpu" "$daemon_pid" >/dev/null
	taskset -c "$cpu" "$bench" tcp --connect "rmtd=127.0.0.1:$port" --pid "$daemon_pid" \
		--path "$work/tcp%d" --tcp-file --clients 8 --size 32M --no-latency "$@"
	taskset -a -p -c "0-$(($(nproc) - 1))" "$daemon_pid" >/dev/null
	echo
	echo "## TCP, resident memory per idle session (rmtd pid $daemon_pid)"
	"$bench" idle --connect "127.0.0.1:$port" --pid "$daemon_pid" --sessions 1000
	kill "$daemon_pid" 2>/dev/null
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=""
}

case "$what" in
pipe) run_pipe "$@" ;;
tcp) run_tcp "$@" ;;
all)
	run_pipe "$@"
	run_tcp "$@"
	;;
esac
echo
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
