#!/bin/sh
# deep.sh - run one libFuzzer target for a fixed number of executions (a deep
# campaign, outside CI) and print what it did.
#
# Usage: tests/fuzz/deep.sh NAME EXECUTIONS      (NAME as in fuzz_NAME, e.g. vtape)
#        tests/fuzz/deep.sh NAME rest             (what NAME lacks of 10^8 over all its runs)
#        tests/fuzz/deep.sh --totals              (each target's executions over all runs)
# Environment:
#   FUZZ_BUILD_DIR   build directory (default <source>/build-fuzz; set up as run.sh does)
#   FUZZ_DEEP_DIR    where corpora, artifacts, logs and figures live
#                    (default ${XDG_CACHE_HOME:-$HOME/.cache}/rmtd-fuzz); outside the tree
#                    so that a corpus grown over days is neither committed nor lost
#   FUZZ_SECONDS     stop after this many seconds even if EXECUTIONS is not reached
#   FUZZ_NICE        niceness of the fuzzer (default 19)
#   FUZZ_ARGS        extra libFuzzer options (recorded in the summary line as args=)
#
# tests/fuzz/NAME.options, when there is one, holds libFuzzer options for the target
# (such as -max_len), as for run.sh. One process, one core: a campaign is meant to run beside other work. The corpus
# <dir>/NAME/corpus starts from tests/fuzz/corpus/NAME and keeps growing from run to
# run. The summary line (also appended to <dir>/figures.txt) gives executions, wall
# seconds, exec/s, libFuzzer's final coverage (cov: edges, ft: features, corp: inputs)
# and the findings (crash-, leak-, timeout-, oom- files under <dir>/NAME/artifacts).
# Exits non-zero when the target failed or left a finding.
set -eu

deep=${FUZZ_DEEP_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rmtd-fuzz}
if [ $# -eq 1 ] && [ "$1" = --totals ]; then
	# A campaign may be run in pieces: what each target has had, over all of them;
	# a target with no run yet is listed with none.
	touch "$deep/figures.txt" 2>/dev/null || true
	for source in "$(dirname "$0")"/fuzz_*.c; do
		echo "$(basename "$source" .c) executions=0 new-findings=0 none"
	done | cat "$deep/figures.txt" - 2>/dev/null |
		awk '$NF == "none" { if (!($1 in total)) { total[$1] = 0; runs[$1] = 0; found[$1] = 0 }
		                     next }
		     { n = $2; sub(/^executions=/, "", $3); total[n] += $3; runs[n]++
		       f = $NF; sub(/^new-findings=/, "", f); found[n] += f }
		     END { for (n in total)
		             printf "%s %d executions in %d run(s), %d finding(s)%s\n", n, total[n],
		                    runs[n], found[n], (total[n] >= 100000000 ? "" : " (short of 10^8)") }' |
		sort
	exit 0
fi
if [ $# -ne 2 ]; then
	echo "usage: $0 NAME EXECUTIONS|rest" >&2
	echo "       $0 --totals" >&2
	exit 2
fi
name=$1
runs=$2
if [ "$runs" = rest ]; then
	# What this target still lacks of 10^8 over all its runs so far.
	done_so_far=0
	if [ -f "$deep/figures.txt" ]; then
		done_so_far=$(awk -v n="fuzz_$name" '$2 == n { sub(/^executions=/, "", $3); t += $3 }
			END { printf "%d\n", t }' "$deep/figures.txt")
	fi
	runs=$((100000000 - done_so_far))
	if [ "$runs" -le 0 ]; then
		echo "fuzz_$name: $done_so_far executions so far, 10^8 reached"
		exit 0
	fi
fi
case $runs in
'' | *[!0-9]*)
	echo "$0: EXECUTIONS must be a number or 'rest', not '$runs'" >&2
	exit 2
	;;
esac

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$source_dir/build-fuzz}
target=$build/tests/fuzz/fuzz_$name

if [ ! -f "$build/build.ninja" ]; then
	echo "$0: no build in $build; tests/fuzz/run.sh sets one up (FUZZ_SECONDS=1 tests/fuzz/run.sh $name)" >&2
	exit 2
fi
ninja -C "$build" "tests/fuzz/fuzz_$name" >/dev/null
if [ ! -x "$target" ]; then
	echo "$0: no target fuzz_$name in $build/tests/fuzz" >&2
	exit 2
fi

corpus=$deep/$name/corpus
artifacts=$deep/$name/artifacts
mkdir -p "$corpus" "$artifacts"
if [ -d "$here/corpus/$name" ]; then
	cp -R "$here/corpus/$name/." "$corpus/" # the seeds; names are content or fixed
fi
log=$deep/$name/run-$(date -u +%Y%m%dT%H%M%SZ).log

set -- -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$artifacts/"
if [ -f "$here/$name.dict" ]; then
	set -- "$@" "-dict=$here/$name.dict"
fi
if [ -f "$here/$name.options" ]; then
	# shellcheck disable=SC2046 # one libFuzzer option per word
	set -- "$@" $(cat "$here/$name.options")
fi
if [ -n "${FUZZ_SECONDS:-}" ]; then
	set -- "$@" -max_total_time="$FUZZ_SECONDS"
fi

ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

stamp=$deep/$name/.started
touch "$stamp"
started=$(date -u +%s)
echo "fuzz_$name: $runs executions, log $log"
rc=0
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
nice -n "${FUZZ_NICE:-19}" "$target" "$@" ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1 || rc=$?
ended=$(date -u +%s)

seconds=$((ended - started))
executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
executed=${executed:-0}
final=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1 |
	sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [0-9]+\/[^ ]+).*/\1/')
new_findings=$(find "$artifacts" -type f -newer "$stamp" | wc -l)
rate=$((seconds > 0 ? executed / seconds : executed))
summary="$(date -u -d "@$started" +%Y-%m-%dT%H:%MZ) fuzz_$name executions=$executed"
summary="$summary seconds=$seconds exec/s=$rate ${final:-cov: ?}"
if [ -n "${FUZZ_ARGS:-}" ]; then
	summary="$summary args=$(printf '%s' "$FUZZ_ARGS" | tr -s ' ' ',')" # one field: --totals reads fields
fi
summary="$summary exit=$rc new-findings=$new_findings"
echo "$summary"
echo "$summary" >>"$deep/figures.txt"
if [ "$new_findings" -gt 0 ]; then
	find "$artifacts" -type f -newer "$stamp"
fi
if [ "$rc" -ne 0 ]; then
	tail -n 40 "$log" >&2
	exit 1
fi
[ "$new_findings" -eq 0 ]
