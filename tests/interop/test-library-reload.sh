#!/bin/bash
# test-library-reload.sh - SIGHUP applies rmtd.conf's library statements to a
# running daemon: a library gains slots, portals and a drive keeping its
# database, a new library starts, a removed one stops; a library in use keeps
# working and a change that would take an open drive or drop a cartridge's
# slot is refused with its reason in the log.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools python3
[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER set: classic servers have no libraries"; exit 0; }
require_server
library_work --capacity 2M -- A1 A2 A3
# The second library lives below the first one's folder: a confined rmtd
# (Landlock) reaches only what it could reach when it started.
mkdir -p "$LIB/more"
"$VTAPE" create --capacity 2M "$LIB/more/B1.tap" >/dev/null
configure() { # configure LIBRARY-STATEMENT... (each declared drive gets a rule)
	{
		echo "state-directory $STATE"
		printf '%s\n' "$@"
		printf '%s\n' "$@" | awk '$3 == "drive" { print "allow * drive " $5 " read-write create truncate settings" }'
	} >"$WORK/rmtd.conf"
}
configure "library lib0 virtual $LIB slots 4 portals 1" \
	"library lib0 drive 0 lib0d0" "library lib0 drive 1 lib0d1"
DAEMON_PID=
trap 'rc=$?; stop_daemon; (exit $rc); cleanup_work' EXIT
start_library_daemon
ctl() { "$RMTCTL" -s "$SOCK" "$@" >"$WORK/ctl.out" 2>"$WORK/ctl.err"; }
must() { ctl "$@" || fail "rmtctl $*: $(cat "$WORK/ctl.err")"; }
has() { grep -q "$1" "$WORK/ctl.out" || fail "rmtctl: no \"$1\" in: $(cat "$WORK/ctl.out")"; }
logged() { grep -q "$1" "$WORK/server.log" || fail "not in the log: $1"; }
reload() {
	local before
	before=$(grep -c "SIGHUP: configuration reloaded" "$WORK/server.log" || true)
	kill -HUP "$DAEMON_PID"
	for i in $(seq 1 100); do
		[ "$(grep -c "SIGHUP: configuration reloaded" "$WORK/server.log" || true)" -gt "$before" ] && return 0
		sleep 0.05
	done
	fail "no reload: $(tail -5 "$WORK/server.log")"
}

check "a reload adds slots, a portal and a drive to lib0, and a new library lib1"
must load A2 lib0d1
configure "library lib0 virtual $LIB slots 6 portals 2" \
	"library lib0 drive 0 lib0d0" "library lib0 drive 1 lib0d1" "library lib0 drive 2 lib0d2" \
	"library lib1 virtual $LIB/more slots 2" "library lib1 drive 0 lib1d0"
reload
must inventory lib0
has "^slot     6  (empty)$"
has "^portal   2  (empty)$"
has "^drive    2  (empty)  \[lib0d2\]$"
has "^drive    1  A2  from slot 2  \[lib0d1\]$"
logged "SIGHUP: library lib0 now has 3 drives, 6 slots, 2 portals"
must inventory lib1
has "^slot     1  B1$"
logged "SIGHUP: library lib1 added"
must load A3 lib0d2
python3 - "$PORT" <<'PY' || fail "a session on the new drive lib0d2"
import os, sys
sys.path.insert(0, os.environ["RMTD_SOURCE_DIR"] + "/tests/interop")
from rmtclient import Rmt, O_RDWR
r = Rmt.connect(int(sys.argv[1]))
r.open("lib0d2", O_RDWR)
r.write(b"3" * 10240)
r.close()
PY
must cartridges A3
has "^A3: drive 2, full 0 times, 10240 bytes, 1 files,"
must unload lib0d2
ok

check "a library in use keeps working; changes that would take its open drive or a cartridge's slot are refused"
python3 - "$PORT" "$WORK" "$LIB" "$STATE" "$DAEMON_PID" <<'PY' || fail "reload with lib0d0 open"
import os, signal, subprocess, sys, time
sys.path.insert(0, os.environ["RMTD_SOURCE_DIR"] + "/tests/interop")
from rmtclient import Rmt, O_RDWR
port, work, lib, state, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
log = os.path.join(work, "server.log")

def reload(*statements):
    with open(os.path.join(work, "rmtd.conf"), "w") as f:
        f.write("state-directory %s\n" % state)
        f.write("".join(s + "\n" for s in statements))
        f.write("".join("allow * drive %s read-write create truncate settings\n" % s.split()[4]
                        for s in statements if s.split()[2] == "drive"))
    before = open(log).read().count("SIGHUP: configuration reloaded")
    os.kill(pid, signal.SIGHUP)
    for _ in range(100):
        if open(log).read().count("SIGHUP: configuration reloaded") > before:
            return
        time.sleep(0.05)
    sys.exit("no reload")

r = Rmt.connect(port)
subprocess.run([os.environ["RMTD_BUILD_DIR"] + "/rmtd/rmtctl", "-s", work + "/control.sock",
                "load", "A1", "lib0d0"], check=True, capture_output=True)
r.open("lib0d0", O_RDWR)
r.write(b"a" * 10240)
lib1 = ["library lib1 virtual %s/more slots 2" % lib, "library lib1 drive 0 lib1d0"]
reload(*lib1)
text = open(log).read()
assert "SIGHUP: library lib0 is no longer in the configuration but drive 0 is open: it keeps working" in text, text
r.write(b"b" * 10240)
reload("library lib0 virtual %s slots 6 portals 2" % lib, "library lib0 drive 0 lib0d0", *lib1)
text = open(log).read()
assert "SIGHUP: library lib0 not changed, it keeps working as it was: drive 1 (lib0d1) holds a cartridge: unload it first" in text, text
drives = ["library lib0 drive %d lib0d%d" % (d, d) for d in range(3)]
reload("library lib0 virtual %s slots 2 portals 2" % lib, *drives, *lib1)
text = open(log).read()
assert "SIGHUP: library lib0 not changed, it keeps working as it was: slot 3 holds A3" in text, text
reload("library lib0 virtual %s/more slots 6" % lib, "library lib0 drive 0 lib0d0", *lib1)
text = open(log).read()
assert "SIGHUP: library lib0 not changed, it keeps working as it was: its directory changed while drive 0 is open" in text, text
r.write(b"c" * 10240)
r.close()
PY
must inventory lib0
has "^drive    0  A1  from slot 1  \[lib0d0\]$"
has "^slot     6  (empty)$"
must cartridges A1
has "^A1: drive 0, full 0 times, 30720 bytes, 1 files,"
ok

check "once its drive is closed, a reload removes lib0"
configure "library lib1 virtual $LIB/more slots 2" "library lib1 drive 0 lib1d0"
reload
logged "SIGHUP: library lib0 removed"
! ctl inventory lib0 || fail "lib0 is still there: $(cat "$WORK/ctl.out")"
must inventory
has "^slot     1  B1$"
! grep -q "lib0" "$WORK/ctl.out" || fail "lib0 is still listed: $(cat "$WORK/ctl.out")"
ok

check "an idle library moves to another directory; one it cannot start in keeps the old"
mkdir -p "$LIB/other"
"$VTAPE" create --capacity 2M "$LIB/other/C1.tap" >/dev/null
configure "library lib1 virtual $LIB/other slots 2" "library lib1 drive 0 lib1d0"
reload
logged "SIGHUP: library lib1 started anew on $LIB/other"
must inventory lib1
has "^slot     1  C1$"
configure "library lib1 virtual $WORK/nowhere slots 2" "library lib1 drive 0 lib1d0"
reload
logged "SIGHUP: library lib1 not changed, it keeps working as it was: it cannot start on $WORK/nowhere"
must inventory lib1
has "^slot     1  C1$"
ok

check "rmtd ended cleanly (no sanitizer report in its log)"
stop_daemon
check_server_log "$WORK/server.log"
ok
