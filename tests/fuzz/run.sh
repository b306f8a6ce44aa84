#!/bin/sh
# run.sh - build the libFuzzer targets and run each one for a bounded time.
#
# Usage: tests/fuzz/run.sh [name...]      (default: every fuzz_* target built)
# Environment:
#   FUZZ_SECONDS    seconds per target (default 20)
#   FUZZ_BUILD_DIR  build directory (default <source>/build-fuzz)
#   FUZZ_MERGE=1    merge inputs that found new coverage back into an existing
#                   tests/fuzz/corpus/<name>
#   FUZZ_KEEP=1     keep the run directory (corpus copies and logs) after a clean run
#   FUZZ_ARGS       extra libFuzzer options, e.g. "-jobs=2 -workers=2"
#
# Each target fuzz_<name> runs over a copy of tests/fuzz/corpus/<name> (when it
# exists) with the dictionary tests/fuzz/<name>.dict and the libFuzzer options in
# tests/fuzz/<name>.options (when they exist). The copies and logs live in a run
# directory of their own under the build directory, so several runs may share one
# build. It is removed after a clean run and kept after
# a failure; crash inputs go to <build>/fuzz-artifacts/<name>/. Exits non-zero if
# any target crashed, leaked, timed out or hit a sanitizer report.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$source_dir/build-fuzz}
seconds=${FUZZ_SECONDS:-20}

# fuzzer-no-link instruments every library (rmtd_pure included) for coverage
# feedback; the targets themselves add -fsanitize=fuzzer (tests/fuzz/meson.build).
# coverage-ignore.txt names the byte loops left out of it, for speed.
c_args="-fsanitize=fuzzer-no-link -fsanitize-coverage-ignorelist=$here/coverage-ignore.txt"
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$source_dir" -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false -Dc_args="$c_args"
elif ! grep -q 'coverage-ignorelist' "$build/meson-info/intro-buildoptions.json" 2>/dev/null; then
	# A build dir set up by hand or by an older run.sh: without fuzzer-no-link the
	# fuzzers would run blind.
	meson configure "$build" -Dc_args="$c_args"
fi
ninja -C "$build"

# Sanitizer reports are failures, not warnings.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

run_dir=$(mktemp -d "$build/fuzz-run.XXXXXX")
wanted_names="$*"
failed=""
ran=0
for target in "$build"/tests/fuzz/fuzz_*; do
	if [ ! -f "$target" ] || [ ! -x "$target" ]; then
		continue # fuzz_<name>.p directories and the like
	fi
	name=${target##*/fuzz_}
	if [ -n "$wanted_names" ]; then
		case " $wanted_names " in
		*" $name "*) ;;
		*) continue ;;
		esac
	fi

	corpus="$run_dir/corpus-$name"
	log="$run_dir/$name.log"
	artifacts="$build/fuzz-artifacts/$name"
	mkdir -p "$corpus" "$artifacts"
	if [ -d "$here/corpus/$name" ]; then
		cp -R "$here/corpus/$name/." "$corpus/"
	fi
	set --
	if [ -f "$here/$name.dict" ]; then
		set -- "-dict=$here/$name.dict"
	fi
	if [ -f "$here/$name.options" ]; then
		# shellcheck disable=SC2046 # one libFuzzer option per word
		set -- "$@" $(cat "$here/$name.options")
	fi

	echo "fuzz_$name: ${seconds}s over $(find "$corpus" -type f | wc -l) seed(s)"
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
	if "$target" "$@" ${FUZZ_ARGS:-} -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1; then
		grep -E '^#[0-9]+.*DONE' "$log" | tail -n 1 | sed "s/^/  /"
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" |
			sed "s/^/  /"
	else
		echo "fuzz_$name: FAILED, see $log and $artifacts/" >&2
		tail -n 40 "$log" >&2
		failed="$failed $name"
	fi
	ran=$((ran + 1))

	if [ "${FUZZ_MERGE:-0}" = 1 ] && [ -d "$here/corpus/$name" ]; then
		"$target" -merge=1 "$here/corpus/$name" "$corpus" >>"$log" 2>&1 ||
			echo "fuzz_$name: merge failed, see $log" >&2
	fi
done

if [ "$ran" -eq 0 ]; then
	echo "no fuzz targets found in $build/tests/fuzz" >&2
	rm -rf "$run_dir"
	exit 1
fi
if [ -n "$failed" ]; then
	echo "crashed:$failed (corpora and logs kept in $run_dir)" >&2
	exit 1
fi
if [ "${FUZZ_KEEP:-0}" = 1 ]; then
	echo "corpora and logs kept in $run_dir"
else
	rm -rf "$run_dir"
fi
echo "all $ran fuzz target(s) ran clean"
