#!/bin/bash
# System calls per request of rmt servers, from `strace -f -c` of the server during one rmtbench
# phase: where the time goes, independent of the machine's load. A measurement, not a test.
#
# usage: tests/bench/syscalls.sh [-b BUILD_DIR] [LABEL=]'SERVER COMMAND' ...
#   e.g. syscalls.sh /usr/sbin/rmt-tar /usr/sbin/rmt-dump 'rmtd=build/rmtd/rmtd --stdio --allow /dev/shm'
#   (rmtd needs --allow for /dev/shm, where the target lives)
#   environment: RECORDS (default "10K 1M"), SIZE (bytes per phase, default 64M), COUNT (round trips)
set -u

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build=""
if [ "${1:-}" = "-b" ]; then
	build=$2
	shift 2
fi
if [ -z "$build" ]; then
	for d in "$source_dir"/build-bench "$source_dir"/build; do
		[ -x "$d/tests/bench/rmtbench" ] && build=$d && break
	done
fi
bench=$build/tests/bench/rmtbench
[ -x "$bench" ] || { echo "syscalls.sh: build rmtbench first" >&2; exit 2; }
command -v strace >/dev/null || { echo "syscalls.sh: needs strace" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: $0 [-b BUILD_DIR] [LABEL=]'SERVER COMMAND' ..." >&2; exit 2; }
records=${RECORDS:-10K 1M}
size=${SIZE:-64M}
count=${COUNT:-20000}

work=$(mktemp -d /dev/shm/rmtbench-strace.XXXXXX) || exit 2
trap 'rm -rf "$work"' EXIT

to_bytes() { numfmt --from=iec "$1"; }

# per_request FILE REQUESTS: "read write other total" calls per request, from strace -c output
per_request() {
	awk -v n="$2" '
		$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
			calls = $4; name = $NF
			if (name == "read" || name == "readv" || name == "recvfrom") r += calls
			else if (name == "write" || name == "writev" || name == "sendto") w += calls
			else if (name == "splice") s += calls
			else o += calls
		}
		END { printf "%6.2f %6.2f %6.2f %6.2f %7.2f", r / n, w / n, s / n, o / n, (r + w + s + o) / n }
	' "$1"
}

printf "%-10s %-8s %-7s %6s %6s %6s %6s %7s   (system calls per request, server side)\n" \
	server phase record read write splice other total
for spec in "$@"; do
	label=${spec%%=*}
	cmd=${spec#*=}
	if [ "$label" = "$spec" ] || [[ "$label" == */* ]] || [[ "$label" == *" "* ]]; then
		label=$(basename "${spec%% *}")
		cmd=$spec
	fi
	# the built-in references, as a program strace can start
	case "$cmd" in
	@sink | @file | @splice) cmd="$bench serve --mode ${cmd#@}" ;;
	@sink:* | @file:* | @splice:*)
		mode=${cmd%%:*}
		cmd="$bench serve --mode ${mode#@} --pipe-size ${cmd#*:}"
		;;
	esac
	for rec in $records; do
		n=$(($(to_bytes "$size") / $(to_bytes "$rec")))
		for phase in write read; do
			out=$work/$label.$phase.$rec
			opts=(--no-latency)
			[ $phase = write ] && opts+=(--no-read)
			# every phase starts a new server, so the last phase run is the one in $out
			"$bench" pipe --server "x=strace -f -c -o $out $cmd" --target "$work/data" \
				--size "$size" --records "$rec" --repeat 1 "${opts[@]}" >/dev/null 2>"$work/err" ||
				{ cat "$work/err" >&2; echo "syscalls.sh: $label failed" >&2; continue 2; }
			printf "%-10s %-8s %-7s %s\n" "$label" "$phase" "$rec" "$(per_request "$out" $((n + 2)))"
		done
	done
	out=$work/$label.latency
	"$bench" pipe --server "x=strace -f -c -o $out $cmd" --target "$work/data" --size 16 \
		--records 16 --repeat 1 --no-read --count "$count" >/dev/null 2>"$work/err" ||
		{ cat "$work/err" >&2; continue; }
	printf "%-10s %-8s %-7s %s\n" "$label" "L0 0" "-" "$(per_request "$out" $((count + 2)))"
done
