#!/bin/bash
# test-killed-writer.sh - a writer that dies in the middle of a record.
#
# A small writer process sends O and several W records, each waiting for its
# reply, then starts one more W and is killed (SIGKILL) in the middle of its data
# (and, in a second run, in the middle of the W line itself). The server must
# notice the EOF and exit by itself, and every acknowledged record must be in the
# file, byte for byte, with nothing of the unfinished record after it.
# With a virtual tape (when rmtd has one) the records read back must be exactly
# the acknowledged ones.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools python3 timeout cmp
require_server
make_work

D=$WORK/d
mkdir "$D"

# killed_writer TARGET MODE: run the writer against a fresh server, kill it.
# MODE: "data" (killed inside the data of a 1 MB W), "smalldata" (of a 64 KiB W),
# "header" (inside the W line), "overwrite" (like "data", but the file was opened
# without O_TRUNC over an existing longer file, as tar does).
# Leaves the acknowledged bytes in $WORK/acked and the records in $WORK/records/.
killed_writer() {
	local target=$1 mode=$2
	local -a cmd
	mapfile -t cmd < <(server_cmd --allow "$D")
	rm -rf "$WORK/records"
	mkdir "$WORK/records"
	python3 - "$target" "$mode" "$WORK" "${cmd[@]}" <<'PYEOF'
import os, random, signal, subprocess, sys, time

target, mode, work = sys.argv[1], sys.argv[2], sys.argv[3]
cmd = sys.argv[4:]
err = open(os.path.join(work, 'server.log'), 'ab')

c2s_r, c2s_w = os.pipe()
s2c_r, s2c_w = os.pipe()
ready_r, ready_w = os.pipe()
server = subprocess.Popen(cmd, stdin=c2s_r, stdout=s2c_w, stderr=err, close_fds=True)
os.close(c2s_r)
os.close(s2c_w)

sizes = [10240, 1, 65536, 3001, 512, 10240, 200000, 7]

def writer():
    os.close(ready_r)
    replies = os.fdopen(s2c_r, 'rb', buffering=0)

    def reply_line():
        line = b''
        while not line.endswith(b'\n'):
            c = replies.read(1)
            if not c:
                raise SystemExit('writer: server closed the connection')
            line += c
        return line

    def send(data):
        view = memoryview(data)
        while view:
            n = os.write(c2s_w, view)
            view = view[n:]

    rng = random.Random(7)
    # "overwrite" opens like tar (no O_TRUNC) over an existing longer file.
    flags = b'65 O_WRONLY|O_CREAT' if mode == 'overwrite' else b'577 O_WRONLY|O_CREAT|O_TRUNC'
    send(b'O%s\n%s\n' % (target.encode(), flags))
    line = reply_line()
    if line != b'A0\n':
        raise SystemExit('writer: open answered %r' % line)
    acked = open(os.path.join(work, 'acked'), 'wb')
    for i, size in enumerate(sizes):
        record = rng.randbytes(size)
        send(b'W%d\n' % size + record)
        line = reply_line()
        if line != b'A%d\n' % size:
            raise SystemExit('writer: W%d answered %r' % (size, line))
        acked.write(record)
        acked.flush()
        with open(os.path.join(work, 'records', '%02d' % i), 'wb') as fh:
            fh.write(record)
    acked.close()
    # The unfinished record.
    if mode == 'smalldata':
        send(b'W65536\n' + rng.randbytes(30000))
    elif mode in ('data', 'overwrite'):
        # large enough for rmtd to move it from the pipe to the file as it comes
        send(b'W1000000\n' + rng.randbytes(500000))
    else:
        send(b'W6553')
    time.sleep(0.3)  # let the server take what was sent
    os.write(ready_w, b'x')
    time.sleep(120)
    os._exit(0)

pid = os.fork()
if pid == 0:
    try:
        writer()
    except SystemExit as e:
        sys.stderr.write('%s\n' % e)
        os.write(ready_w, b'!')
        os._exit(1)
os.close(c2s_w)
os.close(s2c_r)
os.close(ready_w)
state = os.read(ready_r, 1)
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
if state != b'x':
    server.kill()
    sys.exit('the writer failed before the kill')
start = time.monotonic()
try:
    rc = server.wait(timeout=20)
except subprocess.TimeoutExpired:
    server.kill()
    sys.exit('the server did not exit within 20 s after the writer was killed')
print('server exited by itself after %.2f s with status %d' % (time.monotonic() - start, rc))
if rc < 0 or rc >= 128:
    sys.exit('the server died with signal/status %d' % rc)
PYEOF
}

for mode in data smalldata header overwrite; do
	target=$D/killed-$mode.dat
	if [ "$mode" = overwrite ]; then
		head -c 2000000 /dev/zero | tr '\0' 'Z' >"$target"
	fi
	check "writer killed inside the W ($mode): the server exits by itself"
	killed_writer "$target" "$mode" >"$WORK/py.out" 2>"$WORK/py.err" || {
		cat "$WORK/py.out" "$WORK/py.err" >&2
		fail "killed writer ($mode)"
	}
	check_server_log
	ok "$(cat "$WORK/py.out")"

	[ -s "$WORK/acked" ] || fail "no acknowledged data recorded"
	if [ "$mode" = overwrite ]; then
		check "the acknowledged records are in the file, and the old content after them is untouched"
		acked=$(stat -c %s "$WORK/acked")
		{
			cat "$WORK/acked"
			head -c $((2000000 - acked)) /dev/zero | tr '\0' 'Z'
		} >"$WORK/expected"
	else
		check "every acknowledged record is in the file, and nothing of the unfinished one"
		cp "$WORK/acked" "$WORK/expected"
	fi
	cmp "$WORK/expected" "$target" >&2 || fail "$target: expected $(stat -c %s "$WORK/expected") bytes (acknowledged records${acked:+ + old tail}), the file has $(stat -c %s "$target")"
	ok "$(stat -c %s "$target") bytes"
done

if have_vtape; then
	tape=$D/killed.tap
	new_vtape "$tape"
	check "vtape: writer killed inside the W data: the server exits by itself"
	killed_writer "$tape" data >"$WORK/py.out" 2>"$WORK/py.err" || {
		cat "$WORK/py.out" "$WORK/py.err" >&2
		fail "killed writer (vtape)"
	}
	check_server_log
	ok

	check "vtape: reading back gives exactly the acknowledged records, then a filemark or end of data"
	{
		printf 'O%s\n0\nI6\n1\n' "$tape" # NAME.tap keeps its position: rewind first
		for _ in "$WORK"/records/*; do printf 'R300000\n'; done
		printf 'R300000\nC\n'
	} >"$WORK/readback.in"
	{
		printf 'A0\nA1\n'
		for r in "$WORK"/records/*; do
			printf 'A%d\n' "$(stat -c %s "$r")"
			cat "$r"
		done
	} >"$WORK/readback.expected"
	cp "$WORK/readback.expected" "$WORK/readback.expected.eod"
	# after the last record: a filemark (A0, written at close after writing) or EOD
	printf 'A0\nA0\n' >>"$WORK/readback.expected"
	printf 'E5\n@TEXT@\nA0\n' >>"$WORK/readback.expected.eod"
	pipe_server "$WORK/readback.in" "$WORK/readback.out" "$WORK/readback.err" --allow "$D"
	expect_output "vtape read back" "$WORK/readback.out" "$WORK/readback.expected" "$WORK/readback.expected.eod"
	ok
fi
