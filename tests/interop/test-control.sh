#!/bin/bash
# test-control.sh - rmtctl and the status files while real clients run over TCP.
#
# rmtd runs as a TCP daemon with a control socket and a status directory; GNU
# tar and dump reach it with rmt-connect. At every tar checkpoint (tar waits for
# the command it runs there, so the counts stand still) `rmtctl status` and
# `--json` must show the session writing, with exactly the bytes and records
# tar has sent so far, and, during tar --verify, all of the archive written.
# A slowed tar holds a drive while a second client queues ([drive wait]);
# `rmtctl kill` ends the writer with an error at a record boundary and the
# queued client gets the drive. Dump and tar volume labels on a virtual tape are
# recognised. The per-drive status file is rewritten while busy, then says the
# drive is idle.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools tar python3 timeout stat
[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER set: classic servers have no control socket; nothing to compare"; exit 0; }
require_server
RMTCTL=$RMTD_BUILD_DIR/rmtd/rmtctl
[ -x "$RMTCTL" ] || fail "rmtctl is not built: $RMTCTL missing"
make_work
# A Unix socket path must fit in 108 bytes.
if [ "${#WORK}" -gt 80 ]; then
	fail "work directory path too long for a Unix socket: $WORK (set TMPDIR shorter)"
fi

SPOOL=$WORK/spool
STATUS=$WORK/status
SOCK=$WORK/control.sock
STATE=$WORK/state
mkdir -p "$SPOOL"
DAEMON_PID=

trap 'rc=$?; stop_daemon; (exit $rc); cleanup_work' EXIT

# rmt-connect (librmt) when built; otherwise a relay with its command line.
CONNECT=$RMTD_BUILD_DIR/librmt/rmt-connect
if [ ! -x "$CONNECT" ]; then
	CONNECT=$WORK/py-connect
	cat >"$CONNECT" <<'EOF'
#!/usr/bin/env python3
# rsh stand-in: [-l user] host [-l user] command... -> TCP to host:$RMT_PORT
import os, socket, sys, threading
args = [a for a in sys.argv[1:]]
while args and args[0].startswith('-'):
    args = args[2:] if args[0] == '-l' else args[1:]
s = socket.create_connection((args[0], int(os.environ.get('RMT_PORT', '5400'))))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
def up():
    while True:
        data = os.read(0, 1 << 16)
        if not data:
            s.shutdown(socket.SHUT_WR)
            return
        s.sendall(data)
threading.Thread(target=up, daemon=True).start()
while True:
    data = s.recv(1 << 16)
    if not data:
        break
    os.write(1, data)
EOF
	chmod +x "$CONNECT"
fi

# A slow link: what the client sends goes through at most THROTTLE_BPS bytes/s.
make_slow_connect


start_daemon() {
	start_control_daemon -v --allow "$SPOOL" --status-dir "$STATUS" --status-interval 1 \
		--state-dir "$STATE" --drive-wait 120
	export RMT_PORT=$PORT
}

ctl() { "$RMTCTL" -s "$SOCK" "$@"; }


start_daemon
say "rmtd on 127.0.0.1:$PORT, control socket $SOCK, rmt-connect: $CONNECT"

# ---------------------------------------------------------------- idle
check "rmtctl status with nothing running says the drive is idle"
out=$(ctl status) || fail "rmtctl status: exit $?"
[ "$out" = "Drive is idle" ] || fail "got: $out"
ctl status --json >"$WORK/idle.json" || fail "rmtctl status --json: exit $?"
[ "$(json_get 'd["idle"] is True and d["sessions"] == []' <"$WORK/idle.json")" = True ] ||
	fail "idle JSON: $(cat "$WORK/idle.json")"
ok

check "rmtctl status --watch --json repeats, one JSON document per line"
# Stopped by a signal: in a sanitizer build LeakSanitizer's exit-time scan of a process
# that is being killed can hang (seen once in 20 runs), so it is not asked for here; -k
# makes sure the test goes on whatever happens.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	timeout -k 5 2.3 "$RMTCTL" -s "$SOCK" status --watch 0.5 --json >"$WORK/watch.out" 2>&1 || true
python3 - "$WORK/watch.out" <<'PYEOF' || fail "watch output: $(head -c 300 "$WORK/watch.out")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 3, lines
times = [json.loads(line)['time'] for line in lines]
assert times == sorted(times), times
PYEOF
ok

check "the control socket has the mode asked for (0600)"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "mode $(stat -c %a "$SOCK")"
ok

check "exit statuses: unknown session 1, unreachable daemon 2, usage 64"
rc=0; ctl kill 424242 >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "no such session" "$WORK/err" || fail "kill 424242: exit $rc, $(cat "$WORK/err")"
rc=0; "$RMTCTL" -s "$WORK/nonexistent.sock" status >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "missing socket: exit $rc"
rc=0; ctl frobnicate >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 64 ] || fail "unknown command: exit $rc"
rc=0; ctl kill twelve >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 64 ] || fail "kill twelve: exit $rc"
ok

check "a usage mistake: what is wrong, that command's synopsis, where the rest is"
# usage_says ERR-FILE FIRST-LINE SYNOPSIS-LINES: the mistake named first, then the
# synopsis (this many usage lines), then the pointer to --help; no option table.
usage_says() {
	[ "$(head -n 1 "$1")" = "$2" ] || fail "first line: $(head -n 1 "$1")"
	[ "$(grep -c 'rmtctl \[-s SOCKET\]' "$1")" -eq "$3" ] || fail "synopsis: $(cat "$1")"
	[ "$(tail -n 1 "$1")" = "Try 'rmtctl --help' for the options, or see rmtctl(8)." ] ||
		fail "last line: $(tail -n 1 "$1")"
	! grep -q -- '--json      one JSON' "$1" || fail "the whole help on a mistake"
}
rc=0; ctl kill twelve >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" -eq 64 ] || fail "kill twelve: exit $rc"
usage_says "$WORK/err" "rmtctl: expected a session number" 1
grep -q '^usage: rmtctl \[-s SOCKET\] kill \[--no-wait | --wait SECONDS\] SESSION$' "$WORK/err" ||
	fail "not kill's synopsis: $(cat "$WORK/err")"
rc=0; ctl status --jsno >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" -eq 64 ] || fail "status --jsno: exit $rc"
usage_says "$WORK/err" "rmtctl: unknown option --jsno" 1
rc=0; ctl frobnicate >/dev/null 2>"$WORK/err" || rc=$?
usage_says "$WORK/err" "rmtctl: unknown command frobnicate" 15
rc=0; "$RMTCTL" --frobnicate >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" -eq 64 ] || fail "--frobnicate: exit $rc"
grep -q "frobnicate" <(head -n 1 "$WORK/err") || fail "the option is not named: $(cat "$WORK/err")"
"$RMTCTL" --help >"$WORK/help.out" || fail "--help: exit $?"
grep -q -- '--json      one JSON' "$WORK/help.out" || fail "--help lacks the options"
ok

check "the control socket by hand: a request without its newline, and lines too long"
python3 - "$SOCK" <<'PYEOF' || fail "see above"
import socket, sys
def ask(data):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return reply
        reply += chunk
reply = ask(b"status")  # as echo -n status | socat - UNIX:... sends it
assert reply.startswith(b"OK ") and b"Drive is idle" in reply, reply
for data in (b"status " + b"x" * 5000 + b"\n", b"x" * 5000):
    reply = ask(data)
    assert reply.startswith(b"ERR toolong request line too long"), reply[:80]
PYEOF
ok

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	check "another user is refused (file mode, then SO_PEERCRED)"
	chmod 0711 "$WORK"
	rc=0; setpriv --reuid=65534 --regid=65534 --clear-groups "$RMTCTL" -s "$SOCK" status \
		>/dev/null 2>"$WORK/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "nobody: exit $rc: $(cat "$WORK/err")"
	# With the file mode opened up, the daemon's own check still says no.
	chmod 0666 "$SOCK"
	rc=0; setpriv --reuid=65534 --regid=65534 --clear-groups "$RMTCTL" -s "$SOCK" status \
		>/dev/null 2>"$WORK/err" || rc=$?
	[ "$rc" -eq 2 ] && grep -q "only root and the control group" "$WORK/err" ||
		fail "nobody through an open socket: exit $rc: $(cat "$WORK/err")"
	chmod 0600 "$SOCK"
	chmod 0700 "$WORK"
	grep -q "control: refused uid 65534" "$WORK/server.log" || fail "the refusal is not logged"
	ok
fi

# ---------------------------------------------------------------- tar, watched at every checkpoint
SRC=$WORK/src
mkdir -p "$SRC"
head -c $((1536 * 1024)) /dev/urandom >"$SRC/random.bin"
printf 'small file\n' >"$SRC/small.txt"
OBS=$WORK/observations
mkdir -p "$OBS"
# tar runs this at each checkpoint and waits for it: the counts cannot move meanwhile.
cat >"$WORK/observe" <<EOF
#!/bin/sh
n=\$TAR_CHECKPOINT
"$RMTCTL" -s "$SOCK" status --json >"$OBS/\$n.json" 2>>"$OBS/errors"
"$RMTCTL" -s "$SOCK" status >"$OBS/\$n.txt" 2>>"$OBS/errors"
cat "$STATUS"/*.status >"$OBS/\$n.status" 2>/dev/null
sleep 0.03
EOF
chmod +x "$WORK/observe"

check "tar -c -W over TCP, observed at every record"
run_client "$WORK/tar.out" "$WORK/tar.err" \
	tar -c -W -b 20 --checkpoint=1 --checkpoint-action=exec="$WORK/observe" \
	--rsh-command="$CONNECT" -f "127.0.0.1:$SPOOL/a.tar" -C "$WORK" src ||
	{ cat "$WORK/tar.err" >&2; fail "tar exit status $?"; }
[ ! -s "$OBS/errors" ] || fail "rmtctl failed during the run: $(head -3 "$OBS/errors")"
SIZE=$(stat -c %s "$SPOOL/a.tar")
ok "$SIZE bytes, $(ls "$OBS" | grep -c json) observations"

check "status and JSON agree with what tar sent, record for record"
python3 - "$OBS" "$SIZE" "$SPOOL/a.tar" <<'PYEOF' || fail "see above"
import glob, json, os, re, sys
obs, size, archive = sys.argv[1], int(sys.argv[2]), sys.argv[3]
record = 10240
points = sorted(int(os.path.basename(p)[:-5]) for p in glob.glob(obs + '/*.json'))
assert points and points[0] == 1, points
writing = reading = 0
rates = []
ids = set()
updated = set()
for n in points:
    d = json.load(open('%s/%d.json' % (obs, n)))
    text = open('%s/%d.txt' % (obs, n)).read()
    assert len(d['sessions']) == 1, (n, d)
    s = d['sessions'][0]
    ids.add(s['id'])
    assert s['drive'] == archive, s
    assert s['peer'].startswith('127.0.0.1:'), s
    assert s['state'] in ('', ), s
    # the text line shows the same numbers
    m = re.search(r'^Session %d:  (\w+):   (\d+) Kbytes transferred, (\d+) records' % s['id'],
                  text, re.M)
    assert m, (n, text)
    assert m.group(1) == s['operation'], (m.group(1), s)
    assert int(m.group(2)) == s['kbytes'] == (s['bytes_written'] + s['bytes_read']) // 1024, (text, s)
    assert int(m.group(3)) == s['records_written'] + s['records_read'], (text, s)
    drive = [x for x in d['drives'] if x['name'] == archive]
    assert drive and drive[0]['holder'] == s['id'] and drive[0]['waiters'] == 0, d['drives']
    if s['throughput_kbs']:
        rates.append(s['throughput_kbs'])
    st = open('%s/%d.status' % (obs, n)).read()
    if 'state: busy' in st:
        assert ('session: %d\n' % s['id']) in st, st
        updated.add(int(re.search(r'^updated_epoch: (\d+)$', st, re.M).group(1)))
    if n <= size // record:
        # checkpoint n comes before record n is written: n - 1 records are acknowledged
        assert s['operation'] in ('Open', 'Write'), s
        assert s['bytes_written'] == (n - 1) * record, (n, s)
        assert s['records_written'] == n - 1, (n, s)
        assert s['bytes_read'] == 0, s
        writing += 1
    else:
        # verifying: everything tar wrote was counted, and reading has begun
        assert s['bytes_written'] == size, (s, size)
        assert s['records_written'] == size // record, s
        assert s['bytes_read'] % record == 0 and s['bytes_read'] <= size, s
        reading += s['operation'] == 'Read'
assert len(ids) == 1, ids
assert writing >= size // record, (writing, size)
assert reading >= size // record - 1, (reading, size)
assert rates, 'no throughput was ever reported'
assert len(updated) >= 2, 'the status file was not rewritten while busy: %r' % updated
print('writes observed %d, verify reads %d, throughput up to %d KB/s, %d status rewrites'
      % (writing, reading, max(rates), len(updated)))
PYEOF
ok

check "after tar: the session is gone and the status file says the drive is idle"
for i in $(seq 1 60); do
	out=$(ctl status)
	stfile=$(ls "$STATUS"/*.status 2>/dev/null | head -n 1)
	if [ "$out" = "Drive is idle" ] && [ -n "$stfile" ] && head -n 1 "$stfile" | grep -qx "Drive is idle"; then
		break
	fi
	sleep 0.1
done
[ "$out" = "Drive is idle" ] || fail "status: $out"
head -n 1 "$stfile" | grep -qx "Drive is idle" || fail "status file: $(cat "$stfile")"
grep -qx "drive: $SPOOL/a.tar" "$stfile" || fail "status file names another drive: $(cat "$stfile")"
ls -A "$STATUS" | grep -q '^\.' && fail "a temporary file was left in $STATUS: $(ls -A "$STATUS")"
ok

check "the archive is good (tar -t)"
tar -t -f "$SPOOL/a.tar" >"$WORK/list" || fail "tar -t of the archive failed"
grep -qx 'src/random.bin' "$WORK/list" || fail "archive listing: $(cat "$WORK/list")"
ok

# ---------------------------------------------------------------- a queue, and a kill while writing
head -c $((6 * 1024 * 1024)) /dev/urandom >"$SRC/more.bin"
say "a slowed tar writes b.tar; a second client queues for the same drive"
THROTTLE_BPS=$((400 * 1024)) timeout -k 5 120 \
	tar -c -b 20 --rsh-command="$WORK/slow-connect" -f "127.0.0.1:$SPOOL/b.tar" -C "$WORK" src \
	>"$WORK/writer.out" 2>"$WORK/writer.err" &
WRITER=$!


check "the writer is shown writing b.tar, its bytes growing"
wait_for 20 "any(s['operation'] == 'Write' and s['bytes_written'] > 0 for s in d['sessions'])" ||
	fail "no writing session appeared"
WRITER_ID=$(json_get '[s["id"] for s in d["sessions"] if s["operation"] == "Write"][0]' <"$WORK/last.json")
first=$(json_get "[s['bytes_written'] for s in d['sessions'] if s['id'] == $WRITER_ID][0]" <"$WORK/last.json")
sleep 1.2
ctl status --json >"$WORK/later.json"
second=$(json_get "[s['bytes_written'] for s in d['sessions'] if s['id'] == $WRITER_ID][0]" <"$WORK/later.json")
[ "$second" -gt "$first" ] || fail "bytes did not grow: $first then $second"
ok "$first -> $second bytes"

check "throughput reflects the slow link (at most 400 KB/s, and more than 0)"
wait_for 10 "any(s['id'] == $WRITER_ID and (s['throughput_kbs'] or 0) > 0 for s in d['sessions'])" ||
	fail "no throughput for session $WRITER_ID"
rate=$(json_get "[s['throughput_kbs'] for s in d['sessions'] if s['id'] == $WRITER_ID][0]" <"$WORK/last.json")
[ "$rate" -le 520 ] || fail "throughput $rate KB/s is above what the link lets through"
ok "$rate KB/s"

python3 - "$SPOOL/b.tar" "$PORT" >"$WORK/waiter.out" 2>&1 <<'PYEOF' &
import socket, sys, time
path, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(('127.0.0.1', port))
f = s.makefile('rb')
s.sendall(b'O%s\n0 O_RDONLY\n' % path.encode())
t = time.monotonic()
line = f.readline()
print('open', line.strip().decode(), 'after %.1f s' % (time.monotonic() - t), flush=True)
if line.startswith(b'A'):
    s.sendall(b'R10240\n')
    line = f.readline()
    print('read', line.strip().decode(), flush=True)
    n = int(line[1:]) if line.startswith(b'A') else 0
    data = f.read(n)
    print('first member', data[:100].split(b'\0')[0].decode(), flush=True)
    s.sendall(b'C\n')
    print('close', f.readline().strip().decode(), flush=True)
PYEOF
WAITER=$!

check "the second client is shown as [drive wait] on the same drive"
wait_for 20 "any(s['state'] == '[drive wait]' and s['drive'] == '$SPOOL/b.tar' for s in d['sessions'])" ||
	fail "no [drive wait] session"
json_get "[x['waiters'] for x in d['drives'] if x['name'] == '$SPOOL/b.tar'][0]" <"$WORK/last.json" |
	grep -qx 1 || fail "the drive does not count its waiter: $(cat "$WORK/last.json")"
ctl status >"$WORK/wait.txt"
grep -q "^Drive $SPOOL/b.tar (file): session $WRITER_ID, device open, 1 waiting$" "$WORK/wait.txt" ||
	fail "drive line: $(cat "$WORK/wait.txt")"
grep -q "^Session [0-9]*:  Open:   \[drive wait\];  drive $SPOOL/b.tar;" "$WORK/wait.txt" ||
	fail "waiting session line: $(cat "$WORK/wait.txt")"
grep -q "^Session $WRITER_ID:  Write:   [0-9]* Kbytes transferred, [0-9]* records, [0-9]* KB/s" \
	"$WORK/wait.txt" || fail "writer line: $(cat "$WORK/wait.txt")"
# One session, for a program: the writer as JSON, and an unknown one refused.
ctl session --json "$WRITER_ID" >"$WORK/writer.json" || fail "rmtctl session --json $WRITER_ID"
json_get "d['id'] == $WRITER_ID and d['drive'] == '$SPOOL/b.tar' and d['operation'] == 'Write' and d['records_written'] > 0" \
	<"$WORK/writer.json" | grep -qx True || fail "session JSON: $(cat "$WORK/writer.json")"
rc=0; ctl session --json 424242 >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "no such session" "$WORK/err" || fail "session 424242: exit $rc, $(cat "$WORK/err")"
stfile=$(json_get "[x['status_file'] for x in d['drives'] if x['name'] == '$SPOOL/b.tar'][0]" <"$WORK/last.json")
# The monitor looks once a second and writes a change at once.
for i in $(seq 1 30); do
	grep -qx "waiting: 1" "$stfile" && break
	sleep 0.1
done
grep -qx "waiting: 1" "$stfile" || fail "status file: $(cat "$stfile")"
grep -qx "session: $WRITER_ID" "$stfile" || fail "status file: $(cat "$stfile")"
ok

check "rmtctl kill ends the writer at a record boundary"
rc=0
ctl kill --wait 20 "$WRITER_ID" >"$WORK/kill.out" 2>"$WORK/kill.err" || rc=$?
[ "$rc" -eq 0 ] || fail "rmtctl kill: exit $rc: $(cat "$WORK/kill.out" "$WORK/kill.err")"
grep -q "^Session $WRITER_ID" "$WORK/kill.out" || fail "kill output: $(cat "$WORK/kill.out")"
grep -E -q "\[abort requested\]|\[abort sent\]|: ended$" "$WORK/kill.out" ||
	fail "kill shows no abort state: $(cat "$WORK/kill.out")"
tail -n 1 "$WORK/kill.out" | grep -qx "Session $WRITER_ID: ended" || fail "kill output: $(cat "$WORK/kill.out")"
rc=0
wait "$WRITER" || rc=$?
[ "$rc" -ne 0 ] || fail "tar exited 0 although its session was killed"
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "tar hung after the kill"
grep -q -i "aborted by the operator\|canceled" "$WORK/writer.err" ||
	fail "tar did not get the daemon's error: $(cat "$WORK/writer.err")"
grep -q "session $WRITER_ID: ended (aborted by the operator" "$WORK/server.log" ||
	fail "the server log does not say why the session ended"
size=$(stat -c %s "$SPOOL/b.tar")
[ $((size % 10240)) -eq 0 ] && [ "$size" -gt 0 ] || fail "b.tar holds a cut record: $size bytes"
ok "tar exit $rc, b.tar $size bytes of whole records"

check "the queued client gets the drive once the killed session has closed it"
wait "$WAITER" || fail "waiting client failed: $(cat "$WORK/waiter.out")"
grep -q "^open A0 after" "$WORK/waiter.out" || fail "waiter: $(cat "$WORK/waiter.out")"
grep -q "^first member src/" "$WORK/waiter.out" || fail "waiter read: $(cat "$WORK/waiter.out")"
grep -q "^close A0" "$WORK/waiter.out" || fail "waiter: $(cat "$WORK/waiter.out")"
wait_for 10 "not d['sessions']" || fail "sessions left"
ok

# ---------------------------------------------------------------- labels on a virtual tape
if have_vtape; then
	check "tar with a volume label on a virtual tape: Archive, label and format shown"
	new_vtape "$SPOOL/t.tap"
	rm -f "$OBS"/*
	run_client "$WORK/tar.out" "$WORK/tar.err" \
		tar -c -b 20 -V "WEEKLY \"07\"" --checkpoint=5 --checkpoint-action=exec="$WORK/observe" \
		--rsh-command="$CONNECT" -f "127.0.0.1:$SPOOL/t.tap" -C "$WORK" src/small.txt src/random.bin ||
		{ cat "$WORK/tar.err" >&2; fail "tar to the virtual tape failed"; }
	python3 - "$OBS" <<'PYEOF' || fail "see above"
import glob, json, sys
seen = 0
for p in glob.glob(sys.argv[1] + '/*.json'):
    d = json.load(open(p))
    for s in d['sessions']:
        if s['records_written'] >= 1:
            assert s['operation'] == 'Archive', s
            assert s['format'] == 'tar', s
            assert s['label'] == 'WEEKLY "07"', s
            txt = open(p[:-5] + '.txt').read()
            assert 'volume WEEKLY "07"' in txt, txt
            seen += 1
assert seen >= 3, seen
PYEOF
	ok

	check "rmtctl catalog shows the tape's files by drive name, and lists the cartridge"
	rc=0; ctl catalog "$SPOOL/t.tap" >"$WORK/catalog.txt" 2>"$WORK/err" || rc=$?
	[ "$rc" -eq 0 ] || fail "rmtctl catalog: exit $rc: $(cat "$WORK/err")"
	grep -q 'WEEKLY "07"' "$WORK/catalog.txt" || fail "catalog: $(cat "$WORK/catalog.txt")"
	ctl catalog --json "$SPOOL/t.tap" >"$WORK/catalog.json" || fail "rmtctl catalog --json"
	json_get 'd["cartridge"]' <"$WORK/catalog.json" | grep -qx "$SPOOL/t.tap" ||
		fail "catalog JSON: $(cat "$WORK/catalog.json")"
	ctl catalog >"$WORK/catalogs.txt" || fail "rmtctl catalog (list)"
	grep -q "^Cartridge $SPOOL/t.tap: [0-9]* files\?, [0-9]* Kbytes, label WEEKLY \"07\"$" \
		"$WORK/catalogs.txt" || fail "catalog list: $(cat "$WORK/catalogs.txt")"
	rc=0; ctl catalog "$SPOOL/no-such.tap" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || fail "catalog of an unknown cartridge: exit $rc"
	ok

	check "rmtctl drives shows each drive with its persistent counters"
	ctl drives >"$WORK/drives.txt" || fail "rmtctl drives"
	grep -q "^Drive $SPOOL/t.tap (vtape): idle;  in all [1-9][0-9]* Kbytes written, " \
		"$WORK/drives.txt" || fail "drives: $(cat "$WORK/drives.txt")"
	ctl drives --json >"$WORK/drives.json" || fail "rmtctl drives --json"
	json_get "[x['counters']['bytes_written'] for x in d['drives'] if x['name'] == '$SPOOL/t.tap'][0] >= $(stat -c %s "$SRC/random.bin")" \
		<"$WORK/drives.json" | grep -qx True || fail "drives JSON: $(cat "$WORK/drives.json")"
	ok

	if [ "$(id -u)" -eq 0 ] && command -v dump >/dev/null && command -v mke2fs >/dev/null &&
		command -v unshare >/dev/null; then
		check "dump -L over TCP: Dump, label and format shown while it runs"
		mke2fs -q -t ext2 -b 1024 -d "$SRC" -F "$WORK/fs.ext2" 16M >"$WORK/mke2fs.log" 2>&1 ||
			fail "mke2fs: $(cat "$WORK/mke2fs.log")"
		new_vtape "$SPOOL/d.tap"
		: >"$WORK/dump.watch"
		(
			while :; do
				ctl status --json >>"$WORK/dump.watch" 2>/dev/null || true
				sleep 0.05
			done
		) &
		WATCHER=$!
		rc=0
		THROTTLE_BPS=$((2 * 1024 * 1024)) RSH="$WORK/slow-connect" run_client "$WORK/dump.out" \
			"$WORK/dump.err" sh "$RUNDUMP" dump -0 \
			-L rmtd-label -b 10 -D "$WORK/dumpdates" -f "127.0.0.1:$SPOOL/d.tap" "$WORK/fs.ext2" ||
			rc=$?
		kill "$WATCHER" 2>/dev/null
		wait "$WATCHER" 2>/dev/null || true
		[ "$rc" -eq 0 ] || { tail -n 5 "$WORK/dump.err" >&2; fail "dump exit status $rc"; }
		python3 - "$WORK/dump.watch" <<'PYEOF' || fail "see above"
import json, sys
seen = 0
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    for s in d['sessions']:
        if s['format'] == 'dump':
            assert s['label'] == 'rmtd-label', s
            seen += s['operation'] == 'Dump'
assert seen >= 2, 'dump seen writing %d times' % seen
print('dump observed %d times' % seen)
PYEOF
		ok
	fi
fi

check_server_log
stop_daemon
check "rmtd removes its control socket when it ends"
[ ! -e "$SOCK" ] || fail "$SOCK is still there"
ok

check "rmtctl says what is wrong when no daemon answers, or one answers badly"
rc=0
"$RMTCTL" -s "$WORK/nobody.sock" status >"$WORK/ctl.out" 2>"$WORK/ctl.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q 'is rmtd running with this --control socket' "$WORK/ctl.err" ||
	fail "no daemon: exit $rc, $(cat "$WORK/ctl.err")"
# A socket that answers each connection once with the given bytes, then closes.
for answer in '' 'HELLO' 'OK 100\nshort'; do
	rm -f "$WORK/fake.sock"
	python3 - "$WORK/fake.sock" "$answer" <<'PYEOF' &
import socket, sys
server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen(1)
client, _ = server.accept()
client.recv(4096)
client.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
client.close()
PYEOF
	fake=$!
	for _ in $(seq 1 100); do [ -S "$WORK/fake.sock" ] && break; sleep 0.05; done
	rc=0
	"$RMTCTL" -s "$WORK/fake.sock" status >"$WORK/ctl.out" 2>"$WORK/ctl.err" || rc=$?
	wait "$fake" || true
	case $answer in
	'') want='the daemon closed without answering' ;;
	HELLO) want='not a reply from rmtd' ;;
	*) want='reply cut short (5 of 100 bytes)' ;;
	esac
	[ "$rc" -ne 0 ] && grep -qF "$want" "$WORK/ctl.err" ||
		fail "answer '$answer': exit $rc, $(cat "$WORK/ctl.err"), not '$want'"
done
ok
