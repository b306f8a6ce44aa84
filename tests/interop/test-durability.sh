#!/bin/bash
# test-durability.sh - what a crash, a full disk or a second process does to data.
#
# 1. GNU tar writes to NAME.tap through rmtd (stdio) and rmtd is killed (SIGKILL)
#    in the middle of the archive; a second tar -c to the same non-rewinding tape
#    must go after the first: the acknowledged records of the first are intact,
#    followed by a filemark, and the second archive extracts byte for byte.
# 2. rmtd is killed again and again while a large record arrives for a plain file
#    (and just after one was sent), and while 10 KiB records stream: after the next
#    open (which cuts off a record a kill tore inside write(2)) the file ends with a
#    whole record.
#    A large record spliced into rmtd's own pipe is written and counted whole,
#    also when it arrives in small pieces; rmtd killed while part of it waits
#    in that pipe leaves none of it in the file.
# 3. A plain file held by a daemon session is refused to a stdio rmt (and back).
# 4. A full disk (a small tmpfs): a record that does not fit is answered E28 and
#    is not in the file, for small records, for records of 64 KiB and more, and
#    for records that came through rmtd's pipe; the next record is whole.
# 5. --sync: every record is synced (fdatasync) before it is acknowledged; the
#    directory of a file or tape an open created is synced.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools tar python3 timeout diff mtdump unshare strace
require_server
have_vtape || fail "the durability tests need the virtual tape"
make_work

D=$WORK/d
mkdir "$D"
ACK_SHIM=$INTEROP_DIR/ack-shim
CHECK="python3 $INTEROP_DIR/crashcheck.py"
VTAPE=$RMTD_BUILD_DIR/rmtd/rmt-vtape
shim_allow "$D" -d

make_tree() { # make_tree DIR SEED MEGABYTES
	python3 - "$@" <<'PYEOF'
import os, random, sys
root, rng, total = sys.argv[1], random.Random(int(sys.argv[2])), int(sys.argv[3]) << 20
os.makedirs(root)
i = 0
while total > 0:
    n = min(total, rng.choice([0, 1, 700, 10240, 65536, 300000, 1 << 20]))
    with open(os.path.join(root, 'f%03d' % i), 'wb') as fh:
        fh.write(rng.randbytes(n))
    total -= max(n, 1)
    i += 1
PYEOF
}

# wait_acks PREFIX N: until N W records were acknowledged (at most 20 s)
wait_acks() {
	for _ in $(seq 2000); do
		[ -f "$1.lens" ] && [ "$(grep -c '^W' "$1.lens")" -ge "$2" ] && return 0
		sleep 0.01
	done
	fail "fewer than $2 records acknowledged in 20 s"
}

# ---------------------------------------------------------------- 1. vtape, tar, SIGKILL
make_tree "$WORK/src1" 1 8
make_tree "$WORK/src2" 2 1
tape=$D/t.tap
new_vtape "$tape"
check "tar -c to NAME.tap, rmtd killed (SIGKILL) after 40 acknowledged records"
export ACK_LOG=$WORK/ack1 ACK_PID=$WORK/pid1 ACK_DELAY=0.002
timeout 60 tar -c -b 20 -f "localhost:$tape" --rsh-command="$ACK_SHIM" -C "$WORK/src1" . \
	>"$WORK/tar1.out" 2>&1 &
tar_pid=$!
wait_acks "$WORK/ack1" 40
kill -KILL "$(cat "$WORK/pid1")"
rc=0
wait "$tar_pid" || rc=$?
[ "$rc" -ne 0 ] || fail "tar finished although its rmtd was killed"
ok "$(grep -c '^W' "$WORK/ack1.lens") records acknowledged"

check "a second tar -c to the same tape completes"
export ACK_LOG=$WORK/ack2 ACK_PID=$WORK/pid2 ACK_DELAY=0
must_succeed "second tar" tar -c -b 20 -f "localhost:$tape" --rsh-command="$ACK_SHIM" \
	-C "$WORK/src2" .
grep -q 'ended without closing it' "$WORK/server.log" ||
	fail "the open after the crash did not say so in the log"
ok "$(grep 'ended without closing' "$WORK/server.log" | head -n 1 | sed 's/^.*: the last/the last/')"

check "the first archive's acknowledged records are intact, then a filemark, then the second"
$CHECK files "$tape" >"$WORK/files" || fail "the image does not parse"
[ "$(wc -l <"$WORK/files")" -eq 2 ] || fail "expected 2 tape files, image has: $(tr '\n' ' ' <"$WORK/files")"
grep -q -v 'no-mark' "$WORK/files" || fail "a tape file without its filemark"
$CHECK holds "$tape" 0 "$WORK/ack1" >"$WORK/why" || fail "$(cat "$WORK/why")"
$CHECK holds "$tape" 1 "$WORK/ack2" >"$WORK/why" || fail "$(cat "$WORK/why")"
ok "$(tr '\n' ' ' <"$WORK/files")"

check "the second archive extracts byte for byte; rmt-vtape list and mtdump read the image"
$CHECK extract "$tape" 1 "$WORK/second.tar"
mkdir "$WORK/out2"
tar -x -f "$WORK/second.tar" -C "$WORK/out2" || fail "tar -x of the second archive"
diff -r "$WORK/src2" "$WORK/out2" >&2 || fail "the second archive differs from its source"
"$VTAPE" list "$tape" >"$WORK/list" 2>&1 || fail "rmt-vtape list: $(cat "$WORK/list")"
grep -q '^file 1:' "$WORK/list" || fail "rmt-vtape list shows no second file"
mtdump "$tape" >"$WORK/mtdump" 2>&1 || fail "mtdump failed"
grep -q 'end of tape file 2' "$WORK/mtdump" || fail "mtdump does not see 2 tape files"
ok
unset ACK_LOG ACK_PID ACK_DELAY

# ---------------------------------------------------------------- 2. files, killed mid-record
check "plain file, rmtd killed 12 times while a record arrives or is written: only whole records"
python3 - "$D" "$WORK" "$RMTD" <<'PYEOF' >"$WORK/kills.out" 2>&1 || { cat "$WORK/kills.out" >&2; fail "a half record survived"; }
import os, random, signal, subprocess, sys, time
D, work, rmtd = sys.argv[1:4]
rng = random.Random(12)
err = open(os.path.join(work, 'server.log'), 'ab')
cuts = 0
for round in range(12):
    path = os.path.join(D, 'killed%02d.dat' % round)
    server = subprocess.Popen([rmtd, '--stdio', '--allow', D], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=err)
    out = server.stdout

    def reply():
        line = out.readline()
        if not line.startswith(b'A'):
            sys.exit('round %d: unexpected reply %r' % (round, line))
        return int(line[1:])

    server.stdin.write(b'O%s\n577 O_WRONLY|O_CREAT|O_TRUNC\n' % path.encode())
    server.stdin.flush()
    reply()
    acked = b''
    sizes = [rng.choice([10240, 65536, 131072, 300000, 1000000]) for _ in range(rng.randrange(1, 6))]
    for size in sizes:
        record = rng.randbytes(size)
        server.stdin.write(b'W%d\n' % size + record)
        server.stdin.flush()
        if reply() != size:
            sys.exit('round %d: short acknowledgement' % round)
        acked += record
    size = rng.choice([65536, 200000, 1000000])
    last = rng.randbytes(size)
    whole = round % 3 == 2  # the whole record sent: killed while it is written, or before
    part = size if whole else rng.randrange(1, size)
    server.stdin.write(b'W%d\n' % size + last[:part])
    server.stdin.flush()
    time.sleep(rng.choice([0, 0.001, 0.02, 0.1]))
    server.send_signal(signal.SIGKILL)
    server.wait()
    # The next open finds the journal (a kill inside the write(2), where the kernel may
    # stop between pages, leaves part of the record) and cuts what the kill tore.
    reopen = subprocess.run([rmtd, '--stdio', '-d', '--allow', D], capture_output=True,
                            input=b'O%s\n0\nC\n' % path.encode())
    err.write(reopen.stderr)
    if reopen.stdout != b'A0\nA0\n':
        sys.exit('round %d: the next open answered %r' % (round, reopen.stdout))
    cuts += reopen.stderr.count(b'cut off the')
    if os.path.exists(path + '.rmtd-journal'):
        sys.exit('round %d: the journal is still there after the next open' % round)
    data = open(path, 'rb').read()
    if data != acked and not (whole and data == acked + last):
        sys.exit('round %d: file has %d bytes; acknowledged %d, then %d of a %d-byte record sent'
                 % (round, len(data), len(acked), part, size))
print('12 rounds (%d torn records cut at the next open)' % cuts)
PYEOF
ok "$(tail -n 1 "$WORK/kills.out")"

# A client that streams 60 KiB records (written with one pwrite(2) each) without
# waiting for the replies keeps rmtd inside pwrite(2) much of the time: about one
# kill in eight lands there, so 32 kills find that window almost surely. The kernel
# then leaves part of the record in the file, and the next open must cut it off.
check "plain file, rmtd killed 32 times while 60 KiB records stream: after the next open, only whole records"
python3 - "$D" "$WORK" "$RMTD" <<'PYEOF' >"$WORK/stream-kills.out" 2>&1 || { cat "$WORK/stream-kills.out" >&2; fail "a half record survived"; }
import os, random, signal, subprocess, sys, threading, time
D, work, rmtd = sys.argv[1:4]
rng = random.Random(16)
err = open(os.path.join(work, 'server.log'), 'ab')
record = bytes(range(256)) * 240
requests = (b'W%d\n' % len(record) + record) * 32
cuts = torn_before = 0


def pump(server):
    try:
        while True:
            server.stdin.write(requests)
            server.stdin.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass


def drain(server):
    while server.stdout.read(65536):
        pass


for round in range(32):
    path = os.path.join(D, 'streamed%02d.dat' % round)
    server = subprocess.Popen([rmtd, '--stdio', '--allow', D], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=err)
    server.stdin.write(b'O%s\n577 O_WRONLY|O_CREAT|O_TRUNC\n' % path.encode())
    server.stdin.flush()
    if server.stdout.readline() != b'A0\n':
        sys.exit('round %d: the open failed' % round)
    threads = [threading.Thread(target=f, args=(server,), daemon=True) for f in (pump, drain)]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.02, 0.1))
    server.send_signal(signal.SIGKILL)
    server.wait()
    for t in threads:
        t.join()
    if os.path.getsize(path) % len(record):
        torn_before += 1
    reopen = subprocess.run([rmtd, '--stdio', '-d', '--allow', D], capture_output=True,
                            input=b'O%s\n0\nC\n' % path.encode())
    err.write(reopen.stderr)
    cuts += reopen.stderr.count(b'cut off the')
    data = open(path, 'rb').read()
    if len(data) % len(record) or data != record * (len(data) // len(record)):
        sys.exit('round %d: %d bytes, not whole records of %d' % (round, len(data), len(record)))
    os.unlink(path)
if cuts != torn_before:
    sys.exit('%d files ended inside a record after the kill, %d were cut' % (torn_before, cuts))
print('32 rounds (%d kills tore a record; each was cut at the next open)' % cuts)
PYEOF
ok "$(tail -n 1 "$WORK/stream-kills.out")"

# ---------------------------------------------------------------- 2b. a record in rmtd's pipe
# A large W record for a plain file is spliced into a pipe of rmtd's own and goes
# to the file only once all of it is there (rmtd -vv says so per record).
check "plain file, large records through rmtd's pipe: whole in the file, read back, counted"
python3 - "$D" "$WORK" "$RMTD" <<'PYEOF' >"$WORK/pipe.out" 2>&1 || { cat "$WORK/pipe.out" >&2; fail "records through rmtd's pipe"; }
import os, random, subprocess, sys, time
D, work, rmtd = sys.argv[1:4]
state = os.path.join(work, 'pipe-state')
os.mkdir(state)
path = os.path.join(D, 'piped.dat')
log = os.path.join(work, 'pipe.log')
rng = random.Random(21)
server = subprocess.Popen([rmtd, '--stdio', '-d', '-vv', '--state-dir', state, '--allow', D],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(log, 'wb'))
def send(data):
    server.stdin.write(data)
    server.stdin.flush()
def reply():
    return server.stdout.readline()
send(b'O%s\n577 O_WRONLY|O_CREAT|O_TRUNC\n' % path.encode())
assert reply() == b'A0\n'
records = []
for size in (1000000, 10240, 1048576, 300000, 1000000):
    record = rng.randbytes(size)
    send(b'W%d\n' % size + record)
    assert reply() == b'A%d\n' % size, 'W%d' % size
    records.append(record)
# One that arrives in small pieces: they fill rmtd's pipe before the record does.
record = rng.randbytes(200000)
send(b'W200000\n')
time.sleep(0.05)
for at in range(0, len(record), 300):
    send(record[at:at + 300])
    time.sleep(0.002)
assert reply() == b'A200000\n', 'W200000 in pieces'
records.append(record)
send(b'C\n')
assert reply() == b'A0\n'
# Read back through rmtd's pipe: from the start, then from an offset inside a page.
data = b''.join(records)
send(b'O%s\n0\n' % path.encode())
assert reply() == b'A0\n'
back = b''
for size in (1000000, 10240, 1048576):
    send(b'R%d\n' % size)
    assert reply() == b'A%d\n' % size, 'R%d' % size
    back += server.stdout.read(size)
send(b'L%d\n0\n' % (len(data) - 250000))
assert reply() == b'A%d\n' % (len(data) - 250000)
send(b'R300000\n')
assert reply() == b'A250000\n', 'R300000 near the end'
tail = server.stdout.read(250000)
assert back == data[:len(back)] and tail == data[-250000:], 'read back differs'
send(b'C\n')
assert reply() == b'A0\n'
server.stdin.close()
assert server.wait(timeout=20) == 0
text = open(log).read()
# R1000000 and R300000 (R1048576 from inside a page needs more than pipe-max-size)
assert text.count("through rmtd's pipe") >= 2, text
piped = text.count("collected in rmtd's pipe")
assert piped >= 4, 'only %d records went through rmtd\'s pipe:\n%s' % (piped, text)
assert "full of small pieces; the record is copied" in text, text
assert open(path, 'rb').read() == b''.join(records), 'the file is not the records written'
counters = [f for f in os.listdir(os.path.join(state, 'drives')) if f.endswith('.counters')]
assert len(counters) == 1, counters
values = dict(l.strip().split('=', 1) for l in open(os.path.join(state, 'drives', counters[0]))
              if '=' in l and not l.startswith('#'))
assert int(values['records_written']) == len(records), values
assert int(values['bytes_written']) == sum(map(len, records)), values
assert int(values['records_read']) == 4, values
assert int(values['bytes_read']) == len(back) + len(tail), values
print('%d records, %d through rmtd\'s pipe, read back, counted' % (len(records), piped))
PYEOF
ok "$(tail -n 1 "$WORK/pipe.out")"

check "plain file, rmtd killed while a large record waits in its pipe: none of the record is in the file"
python3 - "$D" "$WORK" "$RMTD" <<'PYEOF' >"$WORK/pipekill.out" 2>&1 || { cat "$WORK/pipekill.out" >&2; fail "a half record survived"; }
import fcntl, os, random, signal, struct, subprocess, sys, termios, time
D, work, rmtd = sys.argv[1:4]
rng = random.Random(22)
for round, part in enumerate((300000, 600000, 999999)):
    path = os.path.join(D, 'pipekill%d.dat' % round)
    log = os.path.join(work, 'pipekill%d.log' % round)
    server = subprocess.Popen([rmtd, '--stdio', '-d', '-vv', '--allow', D], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=open(log, 'wb'))
    def send(data):
        server.stdin.write(data)
        server.stdin.flush()
    send(b'O%s\n577 O_WRONLY|O_CREAT|O_TRUNC\n' % path.encode())
    assert server.stdout.readline() == b'A0\n'
    acked = rng.randbytes(1000000)
    send(b'W1000000\n' + acked)
    assert server.stdout.readline() == b'A1000000\n'
    send(b'W1000000\n' + rng.randbytes(part))
    # until rmtd has taken all that was sent: it waits in rmtd's pipe for the rest
    for _ in range(2000):
        waiting = struct.unpack('i', fcntl.ioctl(server.stdin.fileno(), termios.FIONREAD, b'\0' * 4))[0]
        if waiting == 0 and open(log).read().count("collected in rmtd's pipe") == 2:
            break
        time.sleep(0.01)
    else:
        sys.exit('round %d: rmtd did not take the record into its pipe:\n%s' % (round, open(log).read()))
    time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.wait()
    data = open(path, 'rb').read()
    if data != acked:
        sys.exit('round %d: the file has %d bytes; 1000000 acknowledged, then %d of a record sent'
                 % (round, len(data), part))
print('3 kills with 300000, 600000 and 999999 bytes of a record in rmtd\'s pipe: only the acknowledged record')
PYEOF
ok "$(tail -n 1 "$WORK/pipekill.out")"

# ---------------------------------------------------------------- 3. one process at a time
check "a plain file held by a daemon session is refused to a stdio rmt, and the other way"
python3 - "$D" "$WORK" "$RMTD" "$INTEROP_DIR" <<'PYEOF' >"$WORK/lock.out" 2>&1 || { cat "$WORK/lock.out" >&2; fail "lock"; }
import os, subprocess, sys, time
D, work, rmtd, here = sys.argv[1:5]
sys.path.insert(0, here)
from rmtclient import O_CREAT, O_RDONLY, O_WRONLY, Rmt, RmtError, free_port
port = free_port()
log = open(os.path.join(work, 'daemon.log'), 'w')
daemon = subprocess.Popen([rmtd, '-d', '-v', '--control', 'none', '--listen',
                           '127.0.0.1:%d' % port, '--allow', D], stdout=log, stderr=subprocess.STDOUT)
try:
    deadline = time.time() + 10
    while 'listening on' not in open(log.name).read():
        assert time.time() < deadline and daemon.poll() is None, 'rmtd did not start'
        time.sleep(0.02)
    path = os.path.join(D, 'shared.dat')
    tcp = Rmt.connect(port)
    tcp.open(path, O_WRONLY | O_CREAT)
    tcp.write(b'x' * 10240)
    stdio = Rmt.spawn([rmtd, '--stdio', '--allow', D])
    try:
        stdio.open(path, O_WRONLY)
        sys.exit('the stdio rmt opened a file a daemon session is writing')
    except RmtError as e:
        print('stdio refused: E%d %s' % (e.errno, e.text))
        assert e.errno == 16 and 'another process' in e.text, e
    try:
        stdio.open(path, O_RDONLY)
        sys.exit('the stdio rmt opened for reading a file a daemon session is writing')
    except RmtError as e:
        assert e.errno == 16, e.errno
    tcp.close()
    stdio.open(path, O_WRONLY)
    other = Rmt.connect(port)
    try:
        other.open(path, O_RDONLY)
        sys.exit('the daemon opened a file a stdio rmt is writing')
    except RmtError as e:
        print('daemon refused: E%d %s' % (e.errno, e.text))
        assert e.errno == 16 and 'another process' in e.text, e
    stdio.close()
    other.open(path, O_RDONLY)
    assert other.read(20000) == b'x' * 10240
    other.close()
finally:
    daemon.terminate()
    daemon.wait(timeout=30)
PYEOF
ok "$(head -n 1 "$WORK/lock.out")"

# ---------------------------------------------------------------- 4. a full disk
FULL=$WORK/full
mkdir "$FULL"
for size in 10240 100000 400000; do
	check "full disk, records of $size bytes: E28, the record that did not fit is not in the file"
	unshare -m sh -c 'mount -t tmpfs -o size=512k tmpfs "$1" && exec python3 - "$@"' sh \
		"$FULL" "$RMTD" "$size" <<'PYEOF' >"$WORK/full.out" 2>&1 || { cat "$WORK/full.out" >&2; fail "full disk ($size)"; }
import os, subprocess, sys
full, rmtd, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
path = os.path.join(full, 'full.dat')
server = subprocess.Popen([rmtd, '--stdio', '--allow', full], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE)
def request(data):
    server.stdin.write(data)
    server.stdin.flush()
    line = server.stdout.readline()
    if line.startswith(b'E'):
        line += server.stdout.readline()
    return line
assert request(b'O%s\n577 O_WRONLY|O_CREAT|O_TRUNC\n' % path.encode()) == b'A0\n'
acked = 0
while True:
    answer = request(b'W%d\n' % size + bytes([acked % 251]) * size)
    if answer != b'A%d\n' % size:
        break
    acked += 1
assert answer.startswith(b'E28\n'), 'a record that did not fit was answered %r' % answer
length = os.stat(path).st_size
assert length == acked * size, 'file has %d bytes, %d records of %d were acknowledged' % (
    length, acked, size)
# the next record goes where the refused one began, if there is room, and has
# nothing of the refused one in it (a large one was in rmtd's pipe)
os.truncate(path, length - size)
assert request(b'W%d\n' % size + b'n' * size) == b'A%d\n' % size, 'the record after E28'
with open(path, 'rb') as fh:
    fh.seek(length)
    assert fh.read() == b'n' * size, 'the record after E28 is not as sent'
assert request(b'C\n') == b'A0\n'
print('%d records acknowledged, then %r' % (acked, answer.split(b'\n')[0]))
PYEOF
	ok "$(tail -n 1 "$WORK/full.out")"
done

# ---------------------------------------------------------------- 5. synchronous records
for target in sync.tap sync.tar; do
	check "--sync: tar -c to $target syncs every record before its reply"
	rm -f "$WORK/strace".*
	# LeakSanitizer cannot run under ptrace: leak checks off for the traced server.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		RMTD_SHIM_ARGS="--allow $D -d --sync" must_succeed "tar --sync" \
		strace -f -qq -y -e trace=fdatasync,fsync -o "$WORK/strace" \
		tar -c -b 20 -f "localhost:$D/$target" --rsh-command="$RSH_SHIM" -C "$WORK/src2" .
	records=$(( ($(du -b --apparent-size -s "$WORK/src2" | cut -f1) + 10239) / 10240 ))
	syncs=$(grep -c 'fdatasync(' "$WORK/strace" || true)
	[ "$syncs" -ge "$records" ] || fail "$syncs fdatasync calls for about $records records"
	# the new file's (or new tape's) name is made durable too: its directory is synced
	grep -q "fsync([0-9]*<$D>)" "$WORK/strace" || fail "the directory $D was not synced"
	rm -rf "$WORK/out5" && mkdir "$WORK/out5"
	if [ "$target" = sync.tap ]; then
		$CHECK extract "$D/$target" 0 "$WORK/sync-archive"
		tar -x -f "$WORK/sync-archive" -C "$WORK/out5" || fail "tar -x"
	else
		tar -x -f "$D/$target" -C "$WORK/out5" || fail "tar -x"
	fi
	diff -r "$WORK/src2" "$WORK/out5" >&2 || fail "the archive differs from its source"
	ok "$syncs fdatasync calls"
done
