#!/bin/bash
# test-library-control.sh - rmtctl on a virtual tape library in a running rmtd:
# inventory, load, unload, move, import, export, readonly and cartridges, as
# text and --json, one log line each; the refusals (load into a busy drive,
# move to a full slot, export a loaded cartridge, unknown cartridge) with their
# error; a session on an empty drive waits as "[operator wait]" until
# `rmtctl load`, then writes; the database survives a restart of rmtd.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools python3
[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER set: classic servers have no libraries"; exit 0; }
require_server
library_work --capacity 2M -- A1 A2 A3
cat >"$WORK/rmtd.conf" <<CONF
state-directory $STATE
library lib0 virtual $LIB slots 4 portals 1
library lib0 drive 0 lib0d0
library lib0 drive 1 lib0d1
allow * drive lib0d0 read-write create truncate settings
allow * drive lib0d1 read-write create truncate settings
CONF
DAEMON_PID=
trap 'rc=$?; stop_daemon; (exit $rc); cleanup_work' EXIT
ctl() { "$RMTCTL" -s "$SOCK" "$@" >"$WORK/ctl.out" 2>"$WORK/ctl.err"; }
must() { ctl "$@" || fail "rmtctl $*: $(cat "$WORK/ctl.err")"; }
refused() { # refused ERRNO rmtctl-args...
	local errno=$1
	shift
	! ctl "$@" || fail "rmtctl $* was not refused: $(cat "$WORK/ctl.out")"
	grep -q "$errno" "$WORK/ctl.err" || fail "rmtctl $*: expected $errno: $(cat "$WORK/ctl.err")"
}
logged() { grep -q "$1" "$WORK/server.log" || fail "not in the log: $1"; }
start_library_daemon

check "inventory: three cartridges in slots 1-3, drives and portal empty"
must inventory
grep -q "^slot     1  A1$" "$WORK/ctl.out" || fail "$(cat "$WORK/ctl.out")"
grep -q "^slot     3  A3$" "$WORK/ctl.out" || fail "$(cat "$WORK/ctl.out")"
grep -q "^drive    0  (empty)  \[lib0d0\]$" "$WORK/ctl.out" || fail "$(cat "$WORK/ctl.out")"
logged "library lib0: inventory (by uid"
must inventory --json lib0
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=[x for x in d["elements"] if x["barcode"]]; assert [x["barcode"] for x in e]==["A1","A2","A3"], e' "$WORK/ctl.out" ||
	fail "inventory --json: $(cat "$WORK/ctl.out")"
ok

check "load A2 into lib0d0; inventory, drives and status show its cartridge and slot"
must load A2 lib0d0
logged "library lib0: load A2 into drive 0 (by uid"
must inventory
grep -q "^drive    0  A2  from slot 2  \[lib0d0\]$" "$WORK/ctl.out" || fail "$(cat "$WORK/ctl.out")"
must drives
grep -q "^Drive lib0d0 (.*, cartridge A2 from slot 2" "$WORK/ctl.out" || fail "drives: $(cat "$WORK/ctl.out")"
grep -q "^Drive lib0d1 (.*, no cartridge loaded" "$WORK/ctl.out" || fail "drives: $(cat "$WORK/ctl.out")"
must status --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); x=[v for v in d["drives"] if v.get("alias")=="lib0d0"][0]; assert x["library_cartridge"]=="A2" and x["library_slot"]==2, x' "$WORK/ctl.out" ||
	fail "status --json: $(cat "$WORK/ctl.out")"
ok

check "refusals: load into a busy drive, move to a full slot, export a loaded cartridge"
refused EBUSY load A1 lib0d0
logged "load A1 into drive 0 refused"
refused EEXIST move lib0 slot:1 slot:3
refused EBUSY export A2
refused ENOENT load Z9 lib0d1
refused ENOENT move lib0 slot:4 slot:2
refused EINVAL move lib0 slot:1 slot:9
refused ENOENT unload lib0d1
ok

check "move, export, import, unload back to the home slot"
must move lib0 slot:1 slot:4
must export A3
must inventory --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[0]; p=[x for x in d["elements"] if x["element"]=="portal"]; assert p[0]["barcode"]=="A3", p' "$WORK/ctl.out" ||
	fail "A3 is not in the portal: $(cat "$WORK/ctl.out")"
refused ENOSPC export A1
must import lib0
must unload lib0d0
must inventory
grep -q "^slot     2  A2$" "$WORK/ctl.out" || fail "A2 not back in slot 2: $(cat "$WORK/ctl.out")"
grep -q "^slot     1  A3$" "$WORK/ctl.out" || fail "A3 not imported to slot 1: $(cat "$WORK/ctl.out")"
logged "library lib0: export A3 to portal 1"
logged "library lib0: import A3 from portal 1 to slot 1"
ok

check "a session on an empty drive waits as [operator wait] until rmtctl load"
python3 - "$PORT" "$RMTCTL" "$SOCK" <<'PY' || fail "operator wait"
import subprocess, sys, time
import os
sys.path.insert(0, os.environ["RMTD_SOURCE_DIR"] + "/tests/interop")
from rmtclient import Rmt, RmtError, O_RDWR
port, rmtctl, sock = int(sys.argv[1]), sys.argv[2], sys.argv[3]
r = Rmt.connect(port)
r.open("lib0d1", O_RDWR)
try:
    r.write(b"x" * 10240)
    sys.exit("a write on an empty drive succeeded")
except RmtError as e:
    assert e.errno == 123, e  # ENOMEDIUM
status = subprocess.run([rmtctl, "-s", sock, "status"], capture_output=True, text=True).stdout
assert "[operator wait]" in status, status
subprocess.run([rmtctl, "-s", sock, "load", "slot:4", "lib0d1"], check=True, capture_output=True)
r.write(b"y" * 10240)
status = subprocess.run([rmtctl, "-s", sock, "status"], capture_output=True, text=True).stdout
assert "[operator wait]" not in status, status
# the drive is in use: its cartridge stays put
out = subprocess.run([rmtctl, "-s", sock, "unload", "lib0d1"], capture_output=True, text=True)
assert out.returncode != 0 and "EBUSY" in out.stderr, out
r.close()
PY
# The catalog is saved on the drive's thread as the session lets the cartridge go.
for i in $(seq 1 50); do
	ctl catalog --json A1 && python3 -c '
import json, sys
files = json.load(open(sys.argv[1]))["files"]
assert [(f["file"], f["bytes"], f["records"]) for f in files] == [(0, 10240, 1)], files
' "$WORK/ctl.out" 2>/dev/null && break
	[ "$i" -lt 50 ] || fail "the file written after [operator wait] is not in A1's catalog: $(cat "$WORK/ctl.out" "$WORK/ctl.err")"
	sleep 0.1
done
ok

check "readonly on: a write is refused with EROFS; cartridges shows it"
must readonly A2 on
logged "cartridge A2 read-only on"
must load A2 lib0d0
python3 - "$PORT" <<'PY' || fail "EROFS"
import os, sys
sys.path.insert(0, os.environ["RMTD_SOURCE_DIR"] + "/tests/interop")
from rmtclient import Rmt, RmtError, O_RDWR
r = Rmt.connect(int(sys.argv[1]))
r.open("lib0d0", O_RDWR)
try:
    r.write(b"z" * 512)
    sys.exit("a write on a read-only cartridge succeeded")
except RmtError as e:
    assert e.errno == 30, e  # EROFS
r.close()
PY
must cartridges A2
grep -q "^A2: drive 0, read-only," "$WORK/ctl.out" || fail "$(cat "$WORK/ctl.out")"
must cartridges --json A1
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["cartridges"][0]; assert c["cartridge"]=="A1" and c["readonly"] is False, c' "$WORK/ctl.out" ||
	fail "cartridges --json: $(cat "$WORK/ctl.out")"
refused ENOENT readonly Z9 on
must readonly A2 off
ok

check "mt offline on a written drive: the next cartridge comes, rmtctl catalog says which follows"
python3 - "$PORT" <<'PY' || fail "mt offline"
import os, sys
sys.path.insert(0, os.environ["RMTD_SOURCE_DIR"] + "/tests/interop")
from rmtclient import Rmt, O_RDWR, MTOFFL
r = Rmt.connect(int(sys.argv[1]))
r.open("lib0d1", O_RDWR)
r.ioctl(MTOFFL, 1)
r.close()
PY
must inventory
grep -q "^drive    1  A3  from slot 1  \[lib0d1\]$" "$WORK/ctl.out" || fail "A3 was not loaded next: $(cat "$WORK/ctl.out")"
grep -q "^slot     4  A1$" "$WORK/ctl.out" || fail "A1 is not back in slot 4: $(cat "$WORK/ctl.out")"
logged "library lib0: drive 1: A1 unloaded, A3 loaded from slot 1"
must catalog A1
grep -q "^Cartridge A1 file 0 continues on cartridge A3 file 0: load A3 next (drive 1)$" "$WORK/ctl.out" ||
	fail "catalog A1: $(cat "$WORK/ctl.out")"
grep -q "^cartridge $LIB/A1.tap" "$WORK/ctl.out" || fail "catalog A1 is not A1's image's: $(cat "$WORK/ctl.out")"
must catalog A3
grep -q "^Cartridge A3 continues on no other cartridge$" "$WORK/ctl.out" || fail "catalog A3: $(cat "$WORK/ctl.out")"
must cartridges A1
grep -q "^  A1 file 0 continues on cartridge A3 file 0$" "$WORK/ctl.out" || fail "cartridges A1: $(cat "$WORK/ctl.out")"
must cartridges --json A1
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["cartridges"][0]; assert c["location"]=="slot 4" and c["block_sizes"]==[10240] and c["continues"]=={"file":0,"on":"A3","on_file":0}, c' "$WORK/ctl.out" ||
	fail "cartridges --json A1: $(cat "$WORK/ctl.out")"
ok

check "the database survives a restart of rmtd"
stop_daemon
start_library_daemon
must inventory
grep -q "^drive    1  A3  from slot 1  \[lib0d1\]$" "$WORK/ctl.out" || fail "$(cat "$WORK/ctl.out")"
must cartridges A1
grep -q "^A1: slot 4, full 0 times, 10240 bytes, 1 files, .* block sizes 10240$" "$WORK/ctl.out" || fail "$(cat "$WORK/ctl.out")"
grep -q "^  A1 file 0 continues on cartridge A3 file 0$" "$WORK/ctl.out" || fail "$(cat "$WORK/ctl.out")"
ok

check "a change answered is on disk: rmtd killed (SIGKILL) right after an unload keeps it"
must unload lib0d1
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
rm -f "$SOCK"
start_library_daemon
must inventory
grep -q "^drive    1  (empty)  \[lib0d1\]$" "$WORK/ctl.out" || fail "the unload was lost: $(cat "$WORK/ctl.out")"
grep -q "^slot     1  A3$" "$WORK/ctl.out" || fail "A3 is not in slot 1: $(cat "$WORK/ctl.out")"
ok

check "mt offline with no usable cartridge left: [operator wait], rmtctl load, the archive goes on and the order is kept"
must load A3 lib0d1
must readonly A1 on
must readonly A2 on
python3 - "$PORT" "$RMTCTL" "$SOCK" <<'PY' || fail "continuing after [operator wait]"
import os, subprocess, sys
sys.path.insert(0, os.environ["RMTD_SOURCE_DIR"] + "/tests/interop")
from rmtclient import Rmt, RmtError, O_RDWR, MTOFFL
port, rmtctl, sock = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctl = lambda *a: subprocess.run([rmtctl, "-s", sock] + list(a), check=True, capture_output=True)
r = Rmt.connect(port)
r.open("lib0d1", O_RDWR)
r.write(b"3" * 10240)
r.ioctl(MTOFFL, 1)  # A3 goes back; A1 and A2 are read-only: nothing follows
try:
    r.write(b"x" * 10240)
    sys.exit("a write on the emptied drive succeeded")
except RmtError as e:
    assert e.errno == 123, e  # ENOMEDIUM: [operator wait]
ctl("readonly", "A1", "off")
ctl("load", "A1", "lib0d1")
r.write(b"1" * 10240)
r.write(b"1" * 10240)
r.close()
PY
logged "library lib0: drive 1: A3 unloaded, no next cartridge"
must cartridges A3
grep -q "^A3: slot 1, full 0 times, 10240 bytes, 1 files," "$WORK/ctl.out" || fail "cartridges A3: $(cat "$WORK/ctl.out")"
grep -q "^  A3 file 0 continues on cartridge A1 file 0$" "$WORK/ctl.out" || fail "cartridges A3: $(cat "$WORK/ctl.out")"
for i in $(seq 1 50); do
	ctl catalog --json A1 && python3 -c '
import json, sys
files = json.load(open(sys.argv[1]))["files"]
assert [(f["file"], f["bytes"], f["records"]) for f in files] == [(0, 20480, 2)], files
' "$WORK/ctl.out" 2>/dev/null && break
	[ "$i" -lt 50 ] || fail "A1's catalog after [operator wait]: $(cat "$WORK/ctl.out" "$WORK/ctl.err")"
	sleep 0.1
done
must catalog --json A3
python3 -c '
import json, sys
files = json.load(open(sys.argv[1]))["files"]
assert [(f["file"], f["bytes"], f["records"], f["complete"]) for f in files] == [(0, 10240, 1, True)], files
' "$WORK/ctl.out" || fail "A3's file did not end at the unload: $(cat "$WORK/ctl.out")"
must readonly A2 off
ok

check "rmtd ended cleanly (no sanitizer report in its log)"
stop_daemon
check_server_log "$WORK/server.log"
ok
