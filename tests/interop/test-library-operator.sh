#!/bin/bash
# test-library-operator.sh - GNU tar -M against the daemon's library when the
# autoloader runs out: `mt offline` finds no usable cartridge, the drive stays
# empty, the -F script waits for the operator, the operator makes a cartridge
# writable and loads it (rmtctl), and the archive goes on. The cartridge
# database records that the first volume continues on the operator's
# cartridge, its catalog lists the file written there, and tar -x -M with
# `mt offline` follows that order back.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools python3 tar mt-gnu cmp
[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER set: classic servers have no libraries"; exit 0; }
require_server
CONNECT=$RMTD_BUILD_DIR/librmt/rmt-connect
[ -x "$CONNECT" ] || fail "rmt-connect is not built: $CONNECT"
library_work --capacity 2M --early-warning 256K -- B1 B2
mkdir -p "$WORK/out"
head -c 3000000 /dev/urandom >"$WORK/big.bin"
cat >"$WORK/rmtd.conf" <<CONF
state-directory $STATE
library lib0 virtual $LIB slots 4
library lib0 drive 0 lib0d0
allow * drive lib0d0 read-write create truncate settings
CONF
DAEMON_PID=
OPERATOR_PID=
stop_all() {
	[ -z "$OPERATOR_PID" ] || kill "$OPERATOR_PID" 2>/dev/null || true
	stop_daemon
}
trap 'rc=$?; stop_all; (exit $rc); cleanup_work' EXIT
start_library_daemon
export RMT_PORT=$PORT
ctl() { "$RMTCTL" -s "$SOCK" "$@" >"$WORK/ctl.out" 2>"$WORK/ctl.err" || fail "rmtctl $*: $(cat "$WORK/ctl.err")"; }
# The -F script: the autoloader's step, then (as a site's script would) wait
# until the library has a cartridge in the drive.
cat >"$WORK/next.sh" <<SCRIPT
#!/bin/sh
mt-gnu --rsh-command="$CONNECT" -f 127.0.0.1:lib0d0 offline || exit 2
for i in \$(seq 1 300); do
	"$RMTCTL" -s "$SOCK" inventory | grep -q "^drive    0  [A-Z]" && exit 0
	sleep 0.2
done
exit 3
SCRIPT
chmod +x "$WORK/next.sh"

check "tar -M: the autoloader runs out after B1, the operator loads B2, the archive goes on"
ctl readonly B2 on
ctl load B1 lib0d0
# The operator: when the log says nothing followed B1, make B2 writable and load it.
(
	for i in $(seq 1 600); do
		if grep -q "drive 0: B1 unloaded, no next cartridge" "$WORK/server.log"; then
			"$RMTCTL" -s "$SOCK" readonly B2 off && "$RMTCTL" -s "$SOCK" load B2 lib0d0
			exit
		fi
		sleep 0.1
	done
) >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!
must_succeed "tar -c -M" tar --rsh-command="$CONNECT" -c -M -F "$WORK/next.sh" \
	-f 127.0.0.1:lib0d0 -C "$WORK" big.bin
wait "$OPERATOR_PID" || true
OPERATOR_PID=
grep -q "loaded B2 into lib0d0" "$WORK/operator.log" || fail "the operator did not load B2: $(cat "$WORK/operator.log")"
grep -qx "continues B1 0 B2 0" "$STATE/library/lib0" || fail "no B1 -> B2: $(cat "$STATE/library/lib0")"
ctl catalog B1
grep -q "^Cartridge B1 file 0 continues on cartridge B2 file 0: load B2 next (drive 0)$" "$WORK/ctl.out" ||
	fail "catalog B1: $(cat "$WORK/ctl.out")"
# B2's catalog is saved as tar's last session lets the cartridge go.
for i in $(seq 1 50); do
	"$RMTCTL" -s "$SOCK" catalog --json B2 >"$WORK/ctl.out" 2>/dev/null && python3 -c '
import json, sys
files = json.load(open(sys.argv[1]))["files"]
assert len(files) == 1 and files[0]["file"] == 0 and files[0]["bytes"] > 0 and files[0]["complete"], files
' "$WORK/ctl.out" 2>/dev/null && break
	[ "$i" -lt 50 ] || fail "B2's catalog: $(cat "$WORK/ctl.out")"
	sleep 0.1
done
ok

check "tar -x -M with 'mt offline' reads B1, then B2, back"
ctl unload lib0d0
ctl load B1 lib0d0
must_succeed "tar -x -M" tar --rsh-command="$CONNECT" -x -M -F "$WORK/next.sh" \
	-f 127.0.0.1:lib0d0 -C "$WORK/out"
cmp "$WORK/big.bin" "$WORK/out/big.bin" || fail "big.bin differs"
ok

check "rmtd ended cleanly (no sanitizer report in its log)"
stop_all
check_server_log "$WORK/server.log"
ok
