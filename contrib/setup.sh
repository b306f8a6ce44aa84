#!/bin/bash
# contrib/setup.sh - set up, build, test or try out rmtd on Debian.
#
#   contrib/setup.sh deps    install the Debian packages the build and tests need (when missing)
#   contrib/setup.sh build   configure and build into build/ (warnings are errors)
#   contrib/setup.sh test    deps + build + every meson test in build/ + an ASan/UBSan build
#                            (unit, interop and security suites) + the daemon and pipeline
#                            tests under ThreadSanitizer + fuzzers for a bounded time + man
#                            page lint + "start" on a free port and the commands it prints;
#                            ends with "N passed, N failed"
#   contrib/setup.sh start   deps + build + a ./spool folder with a blank virtual tape, the
#                            TCP daemon on 127.0.0.1:5400 (RMTD_PORT) serving it, and prints
#                            the tar command line that uses it through the rsh shim
#
# Works as root with no stdin (CI=true); as another user it uses sudo for apt-get.
# Every step can be run again: nothing is redone that is already in place.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd -P)

# Debian packages; "a|b" is satisfied by either.
PACKAGES=(
	gcc libc6-dev pkg-config meson ninja-build        # build
	libevent-dev libbsd-dev libssl-dev libjansson-dev # libraries
	libcriterion-dev                                  # unit tests
	clang llvm "libclang-rt-dev|libclang-rt-14-dev"   # fuzzers (libFuzzer runtime)
	tar cpio dump e2fsprogs mt-st                     # interop clients, mke2fs/debugfs
	python3 util-linux coreutils diffutils findutils  # test helpers (unshare, taskset, timeout)
	simh                                              # mtdump, to check .tap images
	mandoc                                            # man page lint
	clang-format                                      # source style (suite lint)
	openssl                                           # certificates for the TLS tests
	systemd                                           # systemd-socket-activate
	prometheus                                        # promtool, to check the metrics
	build-essential debhelper dpkg-dev lintian       # the Debian packages (tests/systemd)
	qemu-system-x86 debootstrap                       # the VM the packages are tested in
)

log() { printf '==> %s\n' "$*"; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "setup.sh: need root to run: $*" >&2
		return 1
	fi
}

package_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

step_deps() {
	local spec alt missing=() found
	for spec in "${PACKAGES[@]}"; do
		found=
		IFS='|' read -r -a alts <<<"$spec"
		for alt in "${alts[@]}"; do
			if package_installed "$alt"; then
				found=1
				break
			fi
		done
		[ -n "$found" ] || missing+=("${alts[0]}")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "deps: all ${#PACKAGES[@]} packages present"
		return 0
	fi
	log "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get update -q </dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${missing[@]}" </dev/null
}

# meson_configure DIR ARGS...: set up DIR, or reconfigure it (new test scripts and
# modules are picked up at configure time).
meson_configure() {
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@" >"$dir.configure.log" 2>&1 ||
			meson setup --wipe "$dir" "$@" >"$dir.configure.log" 2>&1 || {
			cat "$dir.configure.log" >&2
			return 1
		}
	else
		rm -rf "$dir"
		meson setup "$dir" "$@" >"$dir.configure.log" 2>&1 || {
			cat "$dir.configure.log" >&2
			return 1
		}
	fi
	rm -f "$dir.configure.log"
}

step_build() {
	log "build: meson setup build -Dwerror=true && ninja -C build"
	meson_configure build -Dwerror=true || return 1
	ninja -C build || return 1
}

# ------------------------------------------------------------------ test bookkeeping
TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()

record() { # record STEP PASSED FAILED [NOTE]
	TOTAL_PASSED=$((TOTAL_PASSED + $2))
	TOTAL_FAILED=$((TOTAL_FAILED + $3))
	SUMMARY+=("$(printf '%-28s %4d passed %4d failed  %s' "$1" "$2" "$3" "${4:-}")")
}

# meson_tests STEP DIR ARGS...: run meson test, count results from testlog.json.
meson_tests() {
	local step=$1 dir=$2 rc=0 counts started=$SECONDS
	shift 2
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs "$@" || rc=$?
	if [ ! -f "$dir/meson-logs/testlog.json" ]; then
		if [ "$rc" -eq 0 ]; then
			record "$step" 0 0 "(no tests defined)"
		else
			record "$step" 0 1 "(meson test failed, exit $rc)"
		fi
		return 0
	fi
	counts=$(python3 - "$dir/meson-logs/testlog.json" <<'PYEOF'
import json, sys
passed = failed = skipped = 0
failures = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    t = json.loads(line)
    r = t.get('result', '')
    if r in ('OK', 'EXPECTEDFAIL'):
        passed += 1
    elif r == 'SKIP':
        skipped += 1
    else:
        failed += 1
        failures.append('%s:%s' % (t.get('name', '?'), r))
print(passed, failed, skipped, ' '.join(failures))
PYEOF
	)
	local p f s names
	read -r p f s names <<<"$counts"
	if [ "$s" -gt 0 ]; then
		# a skipped test checked nothing: count it as a failure
		f=$((f + s))
		names="$names (skipped: $s)"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		names="meson test exit $rc"
	fi
	record "$step" "$p" "$f" "$((SECONDS - started)) s${names:+; $names}"
}

# tests/fuzz/run.sh builds build-fuzz/ (clang, libFuzzer) and runs every target for
# FUZZ_SECONDS (its default: 20 s); it prints "fuzz_<name>: <n>s over ..." for each
# target it starts and "fuzz_<name>: FAILED ..." for each that crashed.
step_fuzz() {
	local rc=0 ran failed fuzz_log started=$SECONDS
	if [ ! -f tests/fuzz/run.sh ]; then
		log "fuzz: tests/fuzz/run.sh not present"
		return 0
	fi
	log "fuzz: tests/fuzz/run.sh (${FUZZ_SECONDS:-20} s per target)"
	fuzz_log=$(mktemp)
	timeout -k 10 900 sh tests/fuzz/run.sh 2>&1 | tee "$fuzz_log" || rc=$?
	ran=$(grep -c -E '^fuzz_[A-Za-z0-9_]+: [0-9]+s over' "$fuzz_log" || true)
	failed=$(grep -c -E '^fuzz_[A-Za-z0-9_]+: FAILED' "$fuzz_log" || true)
	rm -f "$fuzz_log"
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1 # the fuzz build or run.sh itself failed
		record "fuzz targets" $((ran > 0 ? ran - 1 : 0)) "$failed" "(run.sh exit $rc)"
		return 0
	fi
	record "fuzz targets" $((ran - failed)) "$failed" "$((SECONDS - started)) s"
}

step_lint() {
	local page passed=0 failed=0 bad=()
	shopt -s nullglob
	local pages=(man/*.[1-9])
	shopt -u nullglob
	for page in "${pages[@]}"; do
		if mandoc -Tlint -Wwarning "$page"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			bad+=("$page")
		fi
	done
	record "mandoc -Tlint -Wwarning" "$passed" "$failed" "${bad[*]:-}"
}

# The README's first command, as a user runs it: "start" on a free port, then the
# tar command lines it prints, with DIR a folder of ours; the daemon is stopped after.
step_start_check() {
	local port out dir line ran=0 t=$SECONDS
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	log "start: the README's first command (RMTD_PORT=$port) and the commands it prints"
	if ! out=$(RMTD_PORT=$port bash "$0" start </dev/null 2>&1); then
		printf '%s\n' "$out" >&2
		record "setup.sh start" 0 1 "start failed"
		return 0
	fi
	printf '%s\n' "$out"
	dir=$(mktemp -d)
	mkdir "$dir/data" && echo "written through the start command's daemon" >"$dir/data/note"
	while IFS= read -r line; do
		case $line in
		"  "*" tar "*)
			line=${line/ DIR/ -C $dir data}
			if ! (cd "$dir" && eval "$line" >"$dir/out" 2>&1); then
				cat "$dir/out" >&2
				ran=-1
				break
			fi
			ran=$((ran + 1))
			;;
		esac
	done <<<"$out"
	if [ -f build/rmtd-start.pid ]; then
		kill "$(cat build/rmtd-start.pid)" 2>/dev/null || true
		rm -f build/rmtd-start.pid
	fi
	if [ "$ran" -ge 2 ] && grep -q 'data/note' "$dir/out"; then
		record "setup.sh start" 1 0 "$((SECONDS - t)) s; $ran printed commands ran"
	else
		record "setup.sh start" 0 1 "the printed commands did not write and list an archive"
	fi
	rm -rf "$dir"
}

step_test() {
	local start=$SECONDS t
	step_deps

	t=$SECONDS
	if step_build; then
		record "build (build/)" 1 0 "$((SECONDS - t)) s"
		meson_tests "meson test build/ (all)" build
	else
		record "build (build/)" 0 1 "build failed"
	fi

	t=$SECONDS
	log "build-asan: -Db_sanitize=address,undefined"
	# Without LTO: the sanitizers check the same code, and the build is quicker.
	if meson_configure build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lto=false &&
		ninja -C build-asan; then
		record "build (build-asan/)" 1 0 "$((SECONDS - t)) s"
		meson_tests "ASan+UBSan unit" build-asan --suite unit
		# The interop tests drive rmtd with real clients and hostile input; they are
		# cheap, so they run against the sanitized server too.
		if [ -x build-asan/rmtd/rmtd ]; then
			meson_tests "ASan+UBSan interop" build-asan --suite interop
			# The attack suite: hostile clients against the sanitized server (bounded
			# by its meson timeout).
			meson_tests "ASan+UBSan security" build-asan --suite security
		fi
	else
		record "build (build-asan/)" 0 1 "build failed"
	fi

	# Threads under ThreadSanitizer: the daemon's (the loop, each drive's) and
	# rmt-connect's pipelined relay. A data race ends the program at once
	# (halt_on_error), and the test with it. (Criterion does not run under TSan.)
	t=$SECONDS
	log "build-tsan: -Db_sanitize=thread (the daemon and pipeline tests)"
	if meson_configure build-tsan -Dwerror=true -Db_sanitize=thread -Db_lto=false &&
		ninja -C build-tsan rmtd/rmtd rmtd/rmtd-fault rmtd/rmtctl rmtd/rmt-vtape librmt/rmt-connect \
			librmt/librmt-preload.so tests/interop/shim_calls tests/interop/without_openat2; then
		record "build (build-tsan/)" 1 0 "$((SECONDS - t)) s"
		TSAN_OPTIONS=halt_on_error=1:abort_on_error=1 \
			meson_tests "TSan daemon, pipeline" build-tsan --no-rebuild --suite interop daemon pipeline
	else
		record "build (build-tsan/)" 0 1 "build failed"
	fi

	step_fuzz
	step_lint
	step_start_check

	echo
	log "summary ($((SECONDS - start)) s)"
	printf '  %s\n' "${SUMMARY[@]}"
	echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
	[ "$TOTAL_FAILED" -eq 0 ]
}

START_PORT=${RMTD_PORT:-5400}

# start_daemon SPOOL: (re)start the TCP daemon on loopback, in the foreground
# mode (-d) under setsid so that its pid is ours to stop; log and pid in build/.
start_daemon() {
	local spool=$1 pidfile=$ROOT/build/rmtd-start.pid logfile=$ROOT/build/rmtd-start.log pid
	if [ -f "$pidfile" ]; then
		pid=$(cat "$pidfile")
		if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$ROOT/build/rmtd/rmtd" ]; then
			log "start: stopping the daemon started before (pid $pid) to serve the current build"
			kill "$pid" 2>/dev/null || true
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.2
			done
		fi
		rm -f "$pidfile"
	fi
	setsid "$ROOT/build/rmtd/rmtd" -d --listen "127.0.0.1:$START_PORT" --allow "$spool" \
		</dev/null >>"$logfile" 2>&1 &
	pid=$!
	echo "$pid" >"$pidfile"
	# it answers V with A2 once it listens
	local answer=
	for _ in $(seq 1 25); do
		answer=$(python3 - "$START_PORT" 2>/dev/null <<'PYEOF' || true
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=2)
s.sendall(b'V\n')
print(s.recv(16).decode().strip())
PYEOF
		)
		[ "$answer" = A2 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if [ "$answer" != A2 ]; then
		tail -n 5 "$logfile" >&2
		echo "setup.sh: the TCP daemon did not come up on 127.0.0.1:$START_PORT" >&2
		return 1
	fi
	log "start: TCP daemon on 127.0.0.1:$START_PORT (pid $pid, log $logfile; stop: kill $pid)"
}

step_start() {
	step_deps
	step_build
	local spool=$ROOT/spool target
	mkdir -p "$spool"
	if [ -x build/rmtd/rmt-vtape ]; then
		target=$spool/tape0.tap
		if [ ! -e "$target" ]; then
			build/rmtd/rmt-vtape create "$target"
			log "start: created a blank virtual tape $target"
		fi
	else
		target=$spool/archive.tar
	fi
	[ -x build/rmtd/rmtd ] || {
		echo "setup.sh: build/rmtd/rmtd was not built" >&2
		return 1
	}
	# rmtd in stdio mode is started by the client, one process per connection,
	# through the rsh shim: check that it answers before telling how to use it.
	local answer
	answer=$(printf 'V\n' | timeout 10 build/rmtd/rmtd --stdio --allow "$spool" 2>/dev/null || true)
	[ "$answer" = "A2" ] || {
		echo "setup.sh: rmtd --stdio did not answer V with A2 (got '$answer')" >&2
		return 1
	}
	log "start: rmtd serves $spool (stdio mode, started by the client through the rsh shim)"
	start_daemon "$spool"
	local name=$target shim=$ROOT/tests/interop/rsh-shim
	# NAME.tap.rewind is the rewinding device of NAME.tap (like /dev/st0 and
	# /dev/nst0): each tar starts at the beginning of the tape.
	[ "${target%.tap}" != "$target" ] && name=$target.rewind
	echo
	echo "Write a directory to it with GNU tar:"
	echo "  RMTD_SHIM_ARGS=\"--allow $spool\" tar --rsh-command=$shim -cf localhost:$name DIR"
	echo "List it:"
	echo "  RMTD_SHIM_ARGS=\"--allow $spool\" tar --rsh-command=$shim -tvf localhost:$name"
	if [ "$name" != "$target" ]; then
		echo "(localhost:$target without .rewind keeps its position, like /dev/nst0:"
		echo " archives go one after the other; position with mt-gnu --rsh-command=$shim -f localhost:$target rewind|fsf N)"
	fi
}

case ${1:-} in
deps) step_deps ;;
build)
	step_build
	;;
test) step_test ;;
start) step_start ;;
*)
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
