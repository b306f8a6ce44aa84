#!/bin/bash
# test-durability-tcp.sh - the daemon's twin of durability's rmtd's-pipe checks.
#
# Over a plain TCP connection, a session with its device open is served on its
# drive's thread, and a large W record for a plain file is spliced from the
# socket into a pipe of rmtd's own; it goes to the file only once all of it is
# there. R records go file -> pipe -> socket the same way.
# 1. Large records through rmtd's pipe are written whole, read back, and
#    counted both ways in the drive's counters, also when a record arrives in
#    small pieces.
# 2. rmtd -d killed (SIGKILL) while part of a record waits in its pipe: none of
#    that record is in the file.
# 3. A full disk (a small tmpfs): a record through rmtd's pipe that does not
#    fit is answered E28 and is not in the file; the next record is whole.
# 4. stdio over a socket (as rshd starts rmt) takes the same route.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools python3 unshare
require_server
make_work

D=$WORK/d
mkdir "$D"

# The daemon helpers every check below starts its rmtd -d with.
cat >"$WORK/daemon.py" <<'PYEOF'
import fcntl, os, signal, struct, subprocess, sys, termios, time
sys.path.insert(0, os.environ['INTEROP_DIR'])
from rmtclient import Rmt, RmtError, free_port  # noqa: F401 (used by the checks)

F_GETPIPE_SZ = 1032

def start(rmtd, allow, log, *extra):
    port = free_port()
    daemon = subprocess.Popen([rmtd, '-d', '-vv', '--control', 'none', '--listen',
                               '127.0.0.1:%d' % port, '--allow', allow] + list(extra),
                              stdout=open(log, 'wb'), stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while 'listening on' not in open(log).read():
        assert time.time() < deadline and daemon.poll() is None, 'rmtd did not start'
        time.sleep(0.02)
    return daemon, port

def stop(daemon):
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0, 'rmtd -d exit status %s' % daemon.returncode

def in_rmtds_pipe(pid):
    """Bytes waiting in rmtd's record pipe (its pipes enlarged past 256 KiB), seen through /proc."""
    most = 0
    for name in os.listdir('/proc/%d/fd' % pid):
        try:
            if not os.readlink('/proc/%d/fd/%s' % (pid, name)).startswith('pipe:'):
                continue
            fd = os.open('/proc/%d/fd/%s' % (pid, name), os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if fcntl.fcntl(fd, F_GETPIPE_SZ) >= 256 * 1024:
                waiting = struct.unpack('i', fcntl.ioctl(fd, termios.FIONREAD, b'\0' * 4))[0]
                most = max(most, waiting)
        finally:
            os.close(fd)
    return most

def wait_served_on_thread(log, count):
    """Until the count-th hand-over of a session to its drive's thread (at most 10 s)."""
    for _ in range(1000):
        if open(log).read().count('served on the thread of') >= count:
            return
        time.sleep(0.01)
    sys.exit('no session went to its drive\'s thread:\n' + open(log).read())
PYEOF
export INTEROP_DIR

# ---------------------------------------------------------------- 1. whole, read back, counted
check "daemon, large records through rmtd's pipe over TCP: whole in the file, read back, counted"
python3 - "$D" "$WORK" "$RMTD" <<'PYEOF' >"$WORK/pipe.out" 2>&1 || { cat "$WORK/pipe.out" >&2; fail "records through rmtd's pipe"; }
import os, random, sys, time
D, work, rmtd = sys.argv[1:4]
sys.path.insert(0, work)
from daemon import Rmt, start, stop, wait_served_on_thread
state = os.path.join(work, 'pipe-state')
os.mkdir(state)
path = os.path.join(D, 'piped.dat')
log = os.path.join(work, 'pipe.log')
rng = random.Random(31)
daemon, port = start(rmtd, D, log, '--state-dir', state)
client = Rmt.connect(port)
assert client.open(path, 577) == 0
wait_served_on_thread(log, 1)
records = []
for size in (1000000, 10240, 1048576, 300000, 1000000, 65536):
    record = rng.randbytes(size)
    assert client.write(record) == size, 'W%d' % size
    records.append(record)
# One that arrives in small pieces (the rest is waited for with SO_RCVLOWAT).
record = rng.randbytes(200000)
client.send(b'W200000\n')
time.sleep(0.05)
for at in range(0, len(record), 300):
    client.send(record[at:at + 300])
    time.sleep(0.002)
assert client.reply() == 200000, 'W200000 in pieces'
records.append(record)
assert client.close() == 0
data = b''.join(records)
assert open(path, 'rb').read() == data, 'the file is not the records written'
# Read back through rmtd's pipe: from the start, then from an offset inside a page.
assert client.open(path, 0) == 0
wait_served_on_thread(log, 2)
back = b''
for size in (1000000, 10240, 1048576):
    got = client.read(size)
    assert len(got) == size, 'R%d gave %d bytes' % (size, len(got))
    back += got
client.send(b'L%d\n0\n' % (len(data) - 250000))
assert client.reply() == len(data) - 250000
tail = client.read(300000)
assert len(tail) == 250000, 'R300000 near the end gave %d bytes' % len(tail)
assert back == data[:len(back)] and tail == data[-250000:], 'read back differs'
assert client.close() == 0
client.close_transport()
stop(daemon)
text = open(log).read()
# R1000000, R1048576 and R300000 (R1048576 from inside a page needs more than pipe-max-size)
assert text.count("through rmtd's pipe") >= 2, text
piped = text.count("collected in rmtd's pipe")
assert piped >= 5, 'only %d records went through rmtd\'s pipe:\n%s' % (piped, text)
counters = [f for f in os.listdir(os.path.join(state, 'drives')) if f.endswith('.counters')]
assert len(counters) == 1, counters
values = dict(l.strip().split('=', 1) for l in open(os.path.join(state, 'drives', counters[0]))
              if '=' in l and not l.startswith('#'))
assert int(values['records_written']) == len(records), values
assert int(values['bytes_written']) == len(data), values
assert int(values['records_read']) == 4, values
assert int(values['bytes_read']) == len(back) + len(tail), values
print('%d records, %d through rmtd\'s pipe, read back, counted' % (len(records), piped))
PYEOF
ok "$(tail -n 1 "$WORK/pipe.out")"

# ---------------------------------------------------------------- 2. killed mid-record
check "daemon killed while a large record waits in its pipe: none of the record is in the file"
python3 - "$D" "$WORK" "$RMTD" <<'PYEOF' >"$WORK/pipekill.out" 2>&1 || { cat "$WORK/pipekill.out" >&2; fail "a half record survived"; }
import os, random, signal, sys, time
D, work, rmtd = sys.argv[1:4]
sys.path.insert(0, work)
from daemon import Rmt, start, in_rmtds_pipe, wait_served_on_thread
rng = random.Random(32)
held = []
for round, part in enumerate((300000, 600000, 999999)):
    path = os.path.join(D, 'pipekill%d.dat' % round)
    log = os.path.join(work, 'pipekill%d.log' % round)
    daemon, port = start(rmtd, D, log)
    client = Rmt.connect(port)
    assert client.open(path, 577) == 0
    wait_served_on_thread(log, 1)
    acked = rng.randbytes(1000000)
    assert client.write(acked) == 1000000
    client.send(b'W1000000\n' + rng.randbytes(part))
    # until part of the record waits in rmtd's pipe, and no more comes for 50 ms
    last = -1
    for _ in range(400):
        waiting = in_rmtds_pipe(daemon.pid)
        if waiting > 0 and waiting == last and \
                open(log).read().count("collected in rmtd's pipe") == 2:
            break
        last = waiting
        time.sleep(0.05)
    else:
        sys.exit('round %d: rmtd did not take the record into its pipe:\n%s' % (round, open(log).read()))
    held.append(waiting)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait()
    data = open(path, 'rb').read()
    if data != acked:
        sys.exit('round %d: the file has %d bytes; 1000000 acknowledged, then %d of a record sent'
                 % (round, len(data), part))
print('3 kills with %s bytes of a record in rmtd\'s pipe: only the acknowledged record'
      % ', '.join(map(str, held)))
PYEOF
ok "$(tail -n 1 "$WORK/pipekill.out")"

# ---------------------------------------------------------------- 3. a full disk
FULL=$WORK/full
mkdir "$FULL"
check "daemon, full disk, records through rmtd's pipe: E28, the record that did not fit is not in the file"
unshare -m sh -c 'mount -t tmpfs -o size=1m tmpfs "$1" && exec python3 - "$@"' sh \
	"$FULL" "$RMTD" "$WORK" <<'PYEOF' >"$WORK/full.out" 2>&1 || { cat "$WORK/full.out" >&2; fail "full disk"; }
import os, sys
full, rmtd, work = sys.argv[1:4]
sys.path.insert(0, work)
from daemon import Rmt, RmtError, start, stop, wait_served_on_thread
size = 300000
path = os.path.join(full, 'full.dat')
log = os.path.join(work, 'full.log')
daemon, port = start(rmtd, full, log)
client = Rmt.connect(port)
assert client.open(path, 577) == 0
wait_served_on_thread(log, 1)
acked = 0
while True:
    try:
        assert client.write(bytes([acked % 251]) * size) == size
    except RmtError as e:
        answer = e
        break
    acked += 1
assert answer.errno == 28, 'a record that did not fit was answered E%d' % answer.errno
length = os.stat(path).st_size
assert length == acked * size, 'file has %d bytes, %d records of %d were acknowledged' % (
    length, acked, size)
# the next record goes where the refused one began, and has nothing of it
os.truncate(path, length - size)
assert client.write(b'n' * size) == size, 'the record after E28'
with open(path, 'rb') as fh:
    fh.seek(length)
    assert fh.read() == b'n' * size, 'the record after E28 is not as sent'
assert client.close() == 0
client.close_transport()
stop(daemon)
assert open(log).read().count("collected in rmtd's pipe") == acked + 2, open(log).read()
print('%d records acknowledged, then E%d' % (acked, answer.errno))
PYEOF
ok "$(tail -n 1 "$WORK/full.out")"

# ---------------------------------------------------------------- 4. stdio over a socket
check "stdio over a socket (as rshd starts rmt): large records through rmtd's pipe both ways"
python3 - "$D" "$WORK" "$RMTD" <<'PYEOF' >"$WORK/stdio.out" 2>&1 || { cat "$WORK/stdio.out" >&2; fail "stdio over a socket"; }
import os, random, socket, subprocess, sys
D, work, rmtd = sys.argv[1:4]
path = os.path.join(D, 'stdio.dat')
log = os.path.join(work, 'stdio.log')
ours, theirs = socket.socketpair()
server = subprocess.Popen([rmtd, '--stdio', '-d', '-vv', '--allow', D], stdin=theirs.fileno(),
                          stdout=theirs.fileno(), stderr=open(log, 'wb'))
theirs.close()
stream = ours.makefile('rwb')
def request(data):
    stream.write(data)
    stream.flush()
    return stream.readline()
record = random.Random(41).randbytes(300000)
assert request(b'O%s\n577 O_WRONLY|O_CREAT|O_TRUNC\n' % path.encode()) == b'A0\n'
assert request(b'W300000\n' + record) == b'A300000\n'
assert request(b'C\n') == b'A0\n'
assert open(path, 'rb').read() == record, 'the file is not the record written'
assert request(b'O%s\n0\n' % path.encode()) == b'A0\n'
assert request(b'R300000\n') == b'A300000\n'
assert stream.read(300000) == record, 'read back differs'
assert request(b'C\n') == b'A0\n'
ours.shutdown(socket.SHUT_WR)
assert server.wait(timeout=20) == 0
text = open(log).read()
assert "W300000 collected in rmtd's pipe" in text and "R300000 through rmtd's pipe" in text, text
print('W300000 and R300000 through rmtd\'s pipe')
PYEOF
ok "$(tail -n 1 "$WORK/stdio.out")"
