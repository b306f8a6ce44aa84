#!/bin/bash
# test-library-processes.sh - one library, two kinds of rmtd process on the
# same state directory: the daemon, and rmtd --stdio as ssh starts it for each
# client. A drive is open in one process at a time: the second one's open is
# refused with EBUSY and a log line naming the drive; a cartridge in a drive
# another process has open is not moved (rmtctl unload: EBUSY). A library
# operation waits while another process holds the database's lock
# (NAME.lock), then goes on: nothing is refused or lost for it; the daemon's
# event loop does not wait with it (rmtctl drives, status, and a catalog
# waiting on its own thread).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools python3
[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER set: classic servers have no libraries"; exit 0; }
require_server
library_work --capacity 2M -- A1 A2 A3
cat >"$WORK/rmtd.conf" <<CONF
state-directory $STATE
library lib0 virtual $LIB slots 4
library lib0 drive 0 lib0d0
library lib0 drive 1 lib0d1
allow * drive lib0d0 read-write create truncate settings
allow * drive lib0d1 read-write create truncate settings
CONF
export RMTD_SHIM_ARGS="-d -f $WORK/rmtd.conf" # -d: the log to stderr, into stdio.log
export RMTD_SHIM_LOG=$WORK/stdio.log
: >"$RMTD_SHIM_LOG"
DAEMON_PID=
trap 'rc=$?; stop_daemon; (exit $rc); cleanup_work' EXIT
start_library_daemon
export PORT RMTCTL SOCK RSH_SHIM WORK STATE

check "an empty drive the daemon has open: rmtd --stdio's open is refused with EBUSY"
python3 - <<'PY' || fail "second open of lib0d1"
import os, sys
sys.path.insert(0, os.environ["RMTD_SOURCE_DIR"] + "/tests/interop")
from rmtclient import Rmt, RmtError, O_RDWR
daemon = Rmt.connect(int(os.environ["PORT"]))
daemon.open("lib0d1", O_RDWR)  # empty: the session waits for a cartridge
stdio = Rmt.spawn([os.environ["RSH_SHIM"], "localhost", "/etc/rmt"])
try:
    stdio.open("lib0d1", O_RDWR)
    sys.exit("rmtd --stdio opened a drive the daemon has open")
except RmtError as e:
    assert e.errno == 16, e
stdio.close_transport()
daemon.close()
# closed in the daemon: the drive is free for the other process
stdio = Rmt.spawn([os.environ["RSH_SHIM"], "localhost", "/etc/rmt"])
stdio.open("lib0d1", O_RDWR)
stdio.close()
stdio.close_transport()
PY
grep -q "library lib0: drive 1 (lib0d1) is open in another rmtd process" "$WORK/stdio.log" ||
	fail "no log line for the refusal: $(cat "$WORK/stdio.log")"
ok

check "a cartridge in a drive rmtd --stdio has open stays put: rmtctl unload is EBUSY"
"$RMTCTL" -s "$SOCK" load A1 lib0d0 >/dev/null || fail "load A1"
python3 - <<'PY' || fail "unload of a drive open in another process"
import os, subprocess, sys
sys.path.insert(0, os.environ["RMTD_SOURCE_DIR"] + "/tests/interop")
from rmtclient import Rmt, O_RDWR
stdio = Rmt.spawn([os.environ["RSH_SHIM"], "localhost", "/etc/rmt"])
stdio.open("lib0d0", O_RDWR)
stdio.write(b"x" * 10240)
out = subprocess.run([os.environ["RMTCTL"], "-s", os.environ["SOCK"], "unload", "lib0d0"],
                     capture_output=True, text=True)
assert out.returncode != 0 and "EBUSY" in out.stderr, out
stdio.write(b"y" * 10240)
stdio.close()
stdio.close_transport()
out = subprocess.run([os.environ["RMTCTL"], "-s", os.environ["SOCK"], "unload", "lib0d0"],
                     capture_output=True, text=True)
assert out.returncode == 0, out
PY
grep -q "library lib0: unload A1 from drive 0 to slot 1 refused (by uid .*): another rmtd process has the drive open" \
	"$WORK/server.log" || fail "no log line for the refused unload: $(tail -5 "$WORK/server.log")"
ok

check "a library operation waits while another process holds the database's lock, then goes on"
python3 - <<'PY' || fail "waiting for NAME.lock"
import fcntl, os, subprocess, sys, time
sys.path.insert(0, os.environ["RMTD_SOURCE_DIR"] + "/tests/interop")
from rmtclient import Rmt, O_RDWR
daemon = Rmt.connect(int(os.environ["PORT"]))
daemon.open("lib0d0", O_RDWR)  # a daemon session on the library's other drive
lock = open(os.path.join(os.environ["STATE"], "library", "lib0.lock"), "r+")
fcntl.flock(lock, fcntl.LOCK_EX)
# MTLOAD 0x10000 + 2: load slot 2 (A2) into lib0d1, in an rmtd --stdio
load = subprocess.Popen([os.environ["RSH_SHIM"], "localhost", "/etc/rmt"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
load.stdin.write(b"Olib0d1\n0\nI30\n%d\nC\n" % (0x10000 + 2))
load.stdin.close()
time.sleep(1.5)
assert load.poll() is None, "the load did not wait for the lock: %r" % load.stdout.read()
# The daemon's event loop does not wait for it: rmtctl drives and status answer at once.
status = subprocess.run([os.environ["RMTCTL"], "-s", os.environ["SOCK"], "drives"],
                        capture_output=True, text=True, timeout=10)
assert status.returncode == 0 and "Drive lib0d1" in status.stdout, status
# rmtctl catalog of a library's cartridge waits for the lock on a thread of its own
catalog = subprocess.Popen([os.environ["RMTCTL"], "-s", os.environ["SOCK"], "catalog", "A1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(0.5)
status = subprocess.run([os.environ["RMTCTL"], "-s", os.environ["SOCK"], "status"],
                        capture_output=True, text=True, timeout=10)
assert status.returncode == 0 and "no cartridge loaded" in status.stdout, status
fcntl.flock(lock, fcntl.LOCK_UN)
out = load.stdout.read()
assert load.wait(timeout=30) == 0 and out.split(b"\n")[:3] == [b"A0", b"A%d" % (0x10000 + 2), b"A0"], out
daemon.close()
out, err = catalog.communicate(timeout=30)
assert catalog.returncode == 0 and "Cartridge A1 continues on no other cartridge" in out, (out, err)
PY
"$RMTCTL" -s "$SOCK" inventory >"$WORK/inventory" || fail "inventory"
grep -q "^drive    1  A2  from slot 2  \[lib0d1\]$" "$WORK/inventory" || fail "A2 not loaded: $(cat "$WORK/inventory")"
grep -q "^slot     1  A1$" "$WORK/inventory" || fail "A1 not back: $(cat "$WORK/inventory")"
ok

check "rmtd ended cleanly (no sanitizer report in its logs)"
stop_daemon
check_server_log "$WORK/server.log"
check_server_log "$WORK/stdio.log"
ok
