#!/bin/bash
# tests/realtape/run.sh - rmtd against the REAL Linux st driver (meson suite 'realtape').
#
#   run.sh differential   every scripts/*.ops through rmtd's st backend on a real
#                         /dev/nstK in the realtape VM, and through rmtd's vtape
#                         backend on a fresh NAME.tap on the host; every result line
#                         (return value, errno, data, MTIOCGET fields) must agree
#   run.sh clients        real clients (GNU tar, mt-gnu, dump/restore) and tapescript
#                         through rmtd on /dev/nst0 and /dev/st0 in the VM
#   run.sh st-only        only the st half of 'differential', printed (exploration)
#   run.sh differential-eom   as 'differential' for scripts-eom/*.ops, on 1 MB
#                         cartridges: early warning, ENOSPC and writes past it. A
#                         script's "# vtape-create: OPTIONS" line gives the options
#                         of rmt-vtape create that put the virtual tape's early
#                         warning at the same record as the rig's (see
#                         doc/st-behaviour.md)
#   run.sh st-only-eom    only the st half of 'differential-eom', printed
# With RT_SERVER=/usr/sbin/rmt-dump, st-only and clients run DUMP's rmt instead of
# rmtd inside the VM (to prove the harness; no rmtd needed).
#
# The rig (tests/realtape/rig) is built when missing: build.sh needs root and installs
# its host packages with apt. Everything that cannot be done is a FAILURE with the
# reason, never a skip. Each mode boots the VM exactly once.
#
# Environment: RMTD_BUILD_DIR, RMTD_SOURCE_DIR (set by meson),
#   TAPESCRIPT (the built tapescript), REALTAPE_CACHE (default /var/cache/realtape-rmtd:
#   our own cache, so that our guest package set never rebuilds somebody else's rig),
#   RT_SERVER (st side server command line inside the VM; default rmtd --stdio -d),
#   REALTAPE_KEEP=1 keep the staging directory's tape images.
set -u
MODE=${1:-}
case $MODE in differential | clients | st-only | differential-eom | st-only-eom) ;; *)
	echo "usage: $0 differential|clients|st-only|differential-eom|st-only-eom" >&2
	exit 2
	;;
esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RMTD_SOURCE_DIR=${RMTD_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
RMTD_BUILD_DIR=${RMTD_BUILD_DIR:-$RMTD_SOURCE_DIR/build}
RIG=$HERE/rig
export REALTAPE_CACHE=${REALTAPE_CACHE:-/var/cache/realtape-rmtd}
# rmtd's run-time libraries (and the sanitizer runtimes, for -Db_sanitize builds),
# dump/restore/rmt-dump. The order is fixed: build.sh keys its cache on this string.
export REALTAPE_EXTRA_PACKAGES="dump libevent-2.1-7 libevent-core-2.1-7 libevent-pthreads-2.1-7 libevent-openssl-2.1-7 libbsd0 libjansson4 libssl3 libasan8 libubsan1"
TAPESCRIPT=${TAPESCRIPT:-$RMTD_BUILD_DIR/tests/realtape/tapescript}
RMTD=$RMTD_BUILD_DIR/rmtd/rmtd
VTAPE_TOOL=$RMTD_BUILD_DIR/rmtd/rmt-vtape
T0=$(date +%s.%N)
# The end-of-medium modes: their own scripts on small cartridges (the rig's tgt
# tapes are sized in MB; its smallest is 1 MB).
SCRIPT_DIR=scripts TAPE_MB=1024
case $MODE in *-eom) SCRIPT_DIR=scripts-eom TAPE_MB=1 ;; esac

say() { printf '[realtape-%s %5.1fs] %s\n' "$MODE" "$(elapsed)" "$*"; }
elapsed() { awk -v s="$T0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }
fail() {
	printf '[realtape-%s] FAIL: %s\n' "$MODE" "$*" >&2
	exit 1
}

# ------------------------------------------------------------ prerequisites
{ [ -x "$RIG/build.sh" ] && [ -x "$RIG/run.sh" ]; } ||
	fail "the realtape rig is missing: $RIG/build.sh and run.sh"
[ "$(id -u)" -eq 0 ] ||
	fail "must run as root: the rig's build.sh needs root (debootstrap, mkfs, apt) and run.sh was proven as root"
[ -x "$TAPESCRIPT" ] || fail "tapescript is not built: $TAPESCRIPT (ninja -C $RMTD_BUILD_DIR)"
# RT_SERVER (a classic rmt inside the VM) replaces rmtd on the real drive: a check
# of the harness itself. The differential still needs rmtd for the vtape side.
if [ -z "${RT_SERVER:-}" ] || [ "${MODE#differential}" != "$MODE" ]; then
	[ -x "$RMTD" ] || fail "rmtd is not built: $RMTD"
fi
for tool in python3 awk flock; do
	command -v "$tool" >/dev/null 2>&1 || fail "required host tool '$tool' is missing"
done

# ------------------------------------------------------------ the rig
# build.sh installs host packages before taking its own lock; two of our tests
# starting at once on a fresh machine would race on dpkg's lock: serialise here.
mkdir -p "$REALTAPE_CACHE" || fail "cannot create $REALTAPE_CACHE"
build_log=$REALTAPE_CACHE/.rmtd-build.log
build_start=$(date +%s.%N)
(
	flock 8 || exit 1
	"$RIG/build.sh" >"$build_log.$$" 2>&1
	rc=$?
	cat "$build_log.$$" >"$build_log"
	rm -f "$build_log.$$"
	exit $rc
) 8>"$REALTAPE_CACHE.rmtd-lock"
rc=$?
if [ $rc -ne 0 ]; then
	tail -n 30 "$build_log" >&2
	fail "building the realtape rig failed (exit $rc; log $build_log)"
fi
say "rig ready in $(awk -v s="$build_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s ($(grep -o 'done: .*' "$build_log" | head -n 1))"
grep -q -- 'debootstrap' "$build_log" && say "(the rig was (re)built in this run: $(grep -c . "$build_log") log lines)"

# ------------------------------------------------------------ staging
# The VM sees one host directory (same absolute path): stage binaries, scripts
# and data there. It lives in the build directory and stays for inspection.
STAGE=$RMTD_BUILD_DIR/tests/realtape/stage-$MODE
rm -rf "$STAGE"
mkdir -p "$STAGE/bin" "$STAGE/rmtd" "$STAGE/out" || fail "cannot create $STAGE"
STAGE=$(cd "$STAGE" && pwd -P)
cp "$TAPESCRIPT" "$STAGE/bin/tapescript" || fail "cannot stage tapescript"
[ -x "$RMTD" ] && cp "$RMTD" "$STAGE/rmtd/rmtd"
cp -r "$HERE/$SCRIPT_DIR" "$STAGE/scripts"
cp "$HERE"/guest-*.sh "$STAGE/" && chmod +x "$STAGE"/guest-*.sh
cp "$RMTD_SOURCE_DIR/tests/interop/rsh-shim" "$STAGE/bin/rsh-shim" 2>/dev/null

SCRIPTS=("$STAGE"/scripts/*.ops)
[ -e "${SCRIPTS[0]}" ] || fail "no scripts in $HERE/$SCRIPT_DIR"

# boot_vm LOG DRIVES COMMAND...: one VM boot, its output in LOG, its exit
# status in LOG.rc and its wall time in LOG.seconds (it may run in the background).
boot_vm() {
	local log=$1 drives=$2 start rc=0
	shift 2
	start=$(date +%s.%N)
	"$RIG/run.sh" --share "$STAGE" --drives "$drives" --tape-mb "$TAPE_MB" --timeout 840 \
		--env "RT_SERVER=${RT_SERVER:-}" -- "$@" >"$log" 2>&1 || rc=$?
	echo "$rc" >"$log.rc"
	awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", e - s }' >"$log.seconds"
}

# vm_result LOG WHAT [shown]: fail unless the boot ran the command and it exited 0
# (the log's tail is printed on failure unless the caller has shown it already).
vm_result() {
	local log=$1 what=$2 shown=${3:-} rc
	rc=$(cat "$log.rc" 2>/dev/null || echo missing)
	say "VM boot for $what: exit $rc, $(cat "$log.seconds" 2>/dev/null)s wall (boot + run + poweroff)"
	if [ "$rc" != 0 ]; then
		[ -n "$shown" ] || tail -n 60 "$log" >&2
		if [ "$rc" = 125 ]; then
			fail "the realtape VM did not boot or set up its tape drives (run.sh exit 125; console above)"
		fi
		fail "$what failed inside the VM (exit $rc; log $log)"
	fi
}

# ------------------------------------------------------------ differential
# A blank virtual tape: with rmt-vtape when it is built, else by rmtd itself
# (the vtape backend creates a blank image on O_CREAT).
new_vtape() { # DIR LOG SCRIPT
	local dir=$1 log=$2 options
	# A script may size its cartridge: "# vtape-create: OPTIONS" (rmt-vtape create's).
	read -r -a options <<<"$(sed -n 's/^# vtape-create: //p' "$3" | head -n 1)"
	if [ ${#options[@]} -gt 0 ] && [ ! -x "$VTAPE_TOOL" ]; then
		echo "$3 sizes its tape with rmt-vtape create, which is not built: $VTAPE_TOOL"
		return 1
	fi
	if [ -x "$VTAPE_TOOL" ]; then
		"$VTAPE_TOOL" create "${options[@]}" "$dir/tape.tap" >"$log" 2>&1 && return 0
		echo "rmt-vtape create ${options[*]} $dir/tape.tap failed: $(cat "$log")"
		return 1
	fi
	# shellcheck disable=SC2016 # $TAPE is tapescript's placeholder, not ours
	printf 'open $TAPE 66 O_RDWR|O_CREAT\nexpect : A0\nclose\nexpect : A0\n' >"$dir.create.ops"
	if ! "$TAPESCRIPT" -t "$dir/tape.tap" -T 60 -e "$log.server" "$dir.create.ops" -- \
		"$RMTD" --stdio -d --allow "$dir" >"$log" 2>&1 || [ ! -e "$dir/tape.tap" ]; then
		echo "creating a blank $dir/tape.tap through rmtd (O_CREAT) failed: $(cat "$log" "$log.server")"
		return 1
	fi
}

run_vtape_side() {
	local script name dir rc
	mkdir -p "$STAGE/out/vtape"
	for script in "${SCRIPTS[@]}"; do
		name=$(basename "$script" .ops)
		dir=$STAGE/vtape/$name
		mkdir -p "$dir"
		new_vtape "$dir" "$STAGE/out/vtape/$name.create" "$script" >"$STAGE/out/vtape-failure" || return 1
		rc=0
		"$TAPESCRIPT" -t "$dir/tape.tap" -r "$dir/tape.tap.rewind" -T 60 \
			-e "$STAGE/out/vtape/$name.log" "$script" -- "$RMTD" --stdio -d --allow "$dir" \
			>"$STAGE/out/vtape/$name.out" 2>"$STAGE/out/vtape/$name.err" || rc=$?
		echo "$rc" >"$STAGE/out/vtape/$name.rc"
	done
	rm -f "$STAGE/out/vtape-failure"
	return 0
}

# compare: st and vtape results, line by line. Prints every disagreement.
compare_outputs() {
	python3 - "$STAGE" "${SCRIPTS[@]}" <<'PYEOF'
import os, re, sys
stage = sys.argv[1]
scripts = [os.path.basename(p)[:-4] for p in sys.argv[2:]]
sanitizer = re.compile(r'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|Segmentation fault')
bracket = re.compile(r'^(L\d+ ~[^:]*:) \[.*\]$')
problems = 0
disagreements = 0
def load(side, name):
    base = os.path.join(stage, 'out', side, name)
    try:
        lines = open(base + '.out').read().splitlines()
        rc = int(open(base + '.rc').read().strip() or '99')
    except OSError as e:
        return None, None, str(e)
    log = ''
    if os.path.exists(base + '.log'):
        log = open(base + '.log', errors='replace').read()
    if os.path.exists(base + '.err'):
        log += open(base + '.err', errors='replace').read()
    return lines, rc, log
def normalise(line):
    m = bracket.match(line)
    return m.group(1) + ' [not compared: limit of the emulated drive]' if m else line
for name in scripts:
    st, st_rc, st_log = load('st', name)
    vt, vt_rc, vt_log = load('vtape', name)
    if st is None or vt is None:
        print('%s: MISSING OUTPUT (%s)' % (name, st_log if st is None else vt_log))
        problems += 1
        continue
    for side, rc, lines, log in (('st', st_rc, st, st_log), ('vtape', vt_rc, vt, vt_log)):
        if rc >= 2:
            print('%s: %s side: tapescript exit %d: %s' % (name, side, rc, ' / '.join(lines[-2:])))
            problems += 1
        if sanitizer.search(log):
            print('%s: %s side: sanitizer or crash report in the server log' % (name, side))
            problems += 1
        for l in lines:
            if l.startswith('EXPECT FAILED'):
                print('%s: %s side: %s' % (name, side, l))
                problems += 1
    a = [normalise(l) for l in st]
    b = [normalise(l) for l in vt]
    diffs = []
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else '(nothing)'
        y = b[i] if i < len(b) else '(nothing)'
        if x != y:
            diffs.append((x, y))
    if diffs:
        disagreements += len(diffs)
        print('%s: %d line(s) disagree' % (name, len(diffs)))
        for x, y in diffs:
            # Show the op once, then both results.
            op_x, _, res_x = x.partition(': ')
            op_y, _, res_y = y.partition(': ')
            if op_x == op_y:
                print('  %s\n    st:    %s\n    vtape: %s' % (op_x, res_x, res_y))
            else:
                print('    st:    %s\n    vtape: %s' % (x, y))
    else:
        print('%s: %d lines agree' % (name, len(a)))
print('SUMMARY: %d scripts, %d disagreeing lines, %d other problems' % (len(scripts), disagreements, problems))
sys.exit(1 if disagreements or problems else 0)
PYEOF
}

case $MODE in
differential | st-only | differential-eom | st-only-eom)
	drives=${#SCRIPTS[@]}
	say "booting the VM with $drives drives for ${#SCRIPTS[@]} scripts (the st side)"
	boot_vm "$STAGE/out/vm.log" "$drives" ./guest-differential.sh &
	vm_pid=$!
	vtape_ok=1
	if [ "${MODE#differential}" != "$MODE" ]; then
		vt_start=$(date +%s.%N)
		run_vtape_side || vtape_ok=0
		say "vtape side done on the host in $(awk -v s="$vt_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s"
	fi
	wait "$vm_pid"
	grep '^guest:' "$STAGE/out/vm.log"
	vm_result "$STAGE/out/vm.log" "the st side"
	if [ "${MODE#st-only}" != "$MODE" ]; then
		for script in "${SCRIPTS[@]}"; do
			name=$(basename "$script" .ops)
			echo "=== $name (tapescript exit $(cat "$STAGE/out/st/$name.rc"))"
			cat "$STAGE/out/st/$name.out"
		done
		say "done in $(elapsed)s"
		exit 0
	fi
	[ "$vtape_ok" = 1 ] || fail "the vtape side could not run: $(cat "$STAGE/out/vtape-failure")"
	rc=0
	compare_outputs || rc=$?
	say "outputs: $STAGE/out/st and $STAGE/out/vtape; whole test $(elapsed)s"
	[ "$rc" -eq 0 ] || fail "the virtual tape and the real st driver disagree (each disagreement is a vtape bug, unless the rig's README names the limit; see above)"
	say "PASS: ${#SCRIPTS[@]} scripts agree line for line"
	;;
clients)
	"$HERE/make-client-data.sh" "$STAGE/data" || fail "cannot make the client test data"
	cp "$RMTD_SOURCE_DIR/tests/interop/rundump.sh" "$STAGE/bin/rundump.sh" ||
		fail "missing tests/interop/rundump.sh"
	[ -x "$STAGE/bin/rsh-shim" ] || fail "missing tests/interop/rsh-shim"
	say "booting the VM for the client tests"
	cp "$HERE/client-checks.ops" "$STAGE/" || fail "cannot stage client-checks.ops"
	boot_vm "$STAGE/out/vm.log" 3 ./guest-clients.sh
	grep -v '^\[realtape' "$STAGE/out/vm.log" | sed 's/^/  | /'
	vm_result "$STAGE/out/vm.log" "the client tests" shown
	say "PASS: clients through rmtd on the real st driver; whole test $(elapsed)s"
	;;
esac
