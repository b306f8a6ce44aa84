#!/bin/bash
# test-tls-thread.sh - TLS sessions served on their drive's thread.
#
# rmtd listens with TLS only; GNU tar reaches it through rmt-connect --tls.
# Once a session has its device open, the drive's thread serves it with its SSL
# object (the debug log says so for each drive). tar -c writes an archive that
# is byte for byte the one tar makes locally, and tar -t lists it. `rmtctl
# kill` of a TLS session while tar streams ends it at a record boundary with
# E125: tar fails with the daemon's error, the file holds whole records only,
# the session is gone and the drive is free for the next client at once. A
# client reading 1 MiB records slowly over TLS gets every byte while its drive's
# thread waits for it, and other drives are served meanwhile.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools tar python3 openssl timeout stat cmp
[ -z "${RMT_SERVER:-}" ] || {
	say "RMT_SERVER set: classic servers have no TLS listener; nothing to compare"
	exit 0
}
require_server
RMTCTL=$RMTD_BUILD_DIR/rmtd/rmtctl
CONNECT=$RMTD_BUILD_DIR/librmt/rmt-connect
[ -x "$RMTCTL" ] || fail "rmtctl is not built: $RMTCTL missing"
[ -x "$CONNECT" ] || fail "rmt-connect is not built: $CONNECT missing"
make_work
# A Unix socket path must fit in 108 bytes.
[ "${#WORK}" -le 80 ] || fail "work directory path too long for a Unix socket: $WORK (set TMPDIR shorter)"

SPOOL=$WORK/spool
SOCK=$WORK/control.sock
mkdir -p "$SPOOL" "$WORK/tls" "$WORK/src"
DAEMON_PID=
trap 'rc=$?; stop_daemon; (exit $rc); cleanup_work' EXIT

# A CA, the server's certificate (localhost, 127.0.0.1) and a client's.
(
	cd "$WORK/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=test-ca -keyout ca.key -out ca.crt
	for who in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
			-keyout "$who.key" -out "$who.csr"
	done
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile san.ext -out server.crt
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-out client.crt
	chmod 600 ./*.key
) >"$WORK/openssl.log" 2>&1 || {
	cat "$WORK/openssl.log" >&2
	fail "openssl could not make test certificates"
}

ctl() { "$RMTCTL" -s "$SOCK" "$@"; }

start_daemon() {
	local conf=$WORK/rmtd.conf
	PORT=$(free_port)
	{
		printf 'listen 127.0.0.1:%s tls\n' "$PORT"
		printf 'tls certificate %s/tls/server.crt\ntls key %s/tls/server.key\ntls ca %s/tls/ca.crt\n' \
			"$WORK" "$WORK" "$WORK"
		printf 'spool %s\nallow * path %s/* read-write create truncate\n' "$SPOOL" "$SPOOL"
	} >"$conf"
	chmod 600 "$conf"
	# -vv: the debug log says when a drive's thread takes a session.
	"$RMTD" -d -vv -f "$conf" --control "$SOCK" --control-mode 0600 >>"$WORK/server.log" 2>&1 &
	DAEMON_PID=$!
	control_answers || fail "rmtd with a TLS listener did not start (see $WORK/server.log)"
}


TLS_ENV=(env RMT_CONNECT_CONFIG=/dev/null RMT_TLS=1 RMT_TLS_CA="$WORK/tls/ca.crt"
	RMT_TLS_CERT="$WORK/tls/client.crt" RMT_TLS_KEY="$WORK/tls/client.key"
	RMT_TLS_SERVER_NAME=localhost)

start_daemon
say "rmtd with TLS on 127.0.0.1:$PORT, control socket $SOCK"
head -c 3000000 /dev/urandom >"$WORK/src/random.bin"
printf 'small\n' >"$WORK/src/small.txt"
seq 1 20000 >"$WORK/src/numbers.txt"

check "tar -c and -t over TLS: served on the drive's thread, the archive is tar's own"
(cd "$WORK" && must_succeed "tar -c over TLS" "${TLS_ENV[@]}" RMT_PORT="$PORT" \
	tar -c -b 20 --rsh-command="$CONNECT" -f "localhost:$SPOOL/a.tar" src)
(cd "$WORK" && tar -c -b 20 -f "$WORK/local.tar" src)
cmp "$WORK/local.tar" "$SPOOL/a.tar" || fail "the archive written over TLS differs from tar's own"
must_succeed "tar -t over TLS" "${TLS_ENV[@]}" RMT_PORT="$PORT" \
	tar -t -b 20 --rsh-command="$CONNECT" -f "localhost:$SPOOL/a.tar"
(cd "$WORK" && tar -tf local.tar) | diff - "$WORK/client.out" >&2 || fail "tar -t over TLS lists another archive"
grep -q "TLS from 127.0.0.1:[0-9]*: TLSv1.3" "$WORK/server.log" || fail "no TLS session in the log"
[ "$(grep -c "served on the thread of $SPOOL/a.tar" "$WORK/server.log")" -ge 2 ] ||
	fail "the TLS sessions were not served on the drive's thread"
ok

check "a slow TLS reader of 1 MiB records on its drive's thread gets every byte; other drives go on"
head -c $((4 * 1048576)) /dev/urandom >"$SPOOL/big.dat"
python3 - "$PORT" "$WORK/tls" "$SPOOL" <<'PYEOF' >"$WORK/slow.out" || fail "see above"
import os, socket, ssl, sys, threading, time
port, pki, spool = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(cafile=pki + "/ca.crt")
context.load_cert_chain(pki + "/client.crt", pki + "/client.key")
def connect(receive_buffer=None):
    sock = socket.socket()
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(30)
    return context.wrap_socket(sock, server_hostname="localhost")
def line(sock, buffer):
    while b"\n" not in buffer[0]:
        chunk = sock.recv(65536)
        assert chunk, "the server closed"
        buffer[0] += chunk
    head, buffer[0] = buffer[0].split(b"\n", 1)
    return head
def ask(sock, buffer, request):
    sock.sendall(request)
    reply = line(sock, buffer)
    assert reply.startswith(b"A"), (request[:20], reply, line(sock, buffer))
    return int(reply[1:])
slow = connect(4096)
buffer = [b""]
assert ask(slow, buffer, b"O%s/big.dat\n0\n" % spool.encode()) == 0
slow.sendall(b"R1048576\n" * 4)  # four records asked for at once, then read slowly
delays = []
def other_drive():
    fast, fbuffer = connect(), [b""]
    ask(fast, fbuffer, b"O%s/other.dat\n577 O_WRONLY|O_CREAT|O_TRUNC\n" % spool.encode())
    for i in range(50):
        began = time.time()
        assert ask(fast, fbuffer, b"W10240\n" + bytes([i]) * 10240) == 10240
        delays.append(time.time() - began)
    ask(fast, fbuffer, b"C\n")
    fast.close()
time.sleep(0.5)  # the server's replies are stuck behind the slow reader by now
thread = threading.Thread(target=other_drive)
thread.start()
got = b""
expected = open(spool + "/big.dat", "rb").read()
for record in range(4):
    n = int(line(slow, buffer)[1:])
    assert n == 1048576, n
    data = buffer[0][:n]
    buffer[0] = buffer[0][n:]
    while len(data) < n:
        chunk = slow.recv(min(16384, n - len(data)))
        assert chunk, "the server closed mid-record"
        data += chunk
        time.sleep(0.001)
    got += data
thread.join()
assert got == expected, "the records read slowly over TLS differ from the file"
assert ask(slow, buffer, b"C\n") == 0
assert len(delays) == 50 and max(delays) < 2, "another drive waited %.2f s" % max(delays)
assert os.path.getsize(spool + "/other.dat") == 50 * 10240
print("4 MiB read slowly, whole; the other drive's slowest write took %.3f s" % max(delays))
PYEOF
grep -q "served on the thread of $SPOOL/big.dat" "$WORK/server.log" ||
	fail "the slow reader was not served on the drive's thread"
ok "$(cat "$WORK/slow.out")"

check "rmtctl kill of a TLS session while tar streams: E125 at a record boundary, drive free"
# A slow link: what tar sends reaches rmt-connect at most THROTTLE_BPS bytes/s.
make_slow_connect
(cd "$WORK" && THROTTLE_BPS=$((300 * 1024)) RMT_PORT="$PORT" timeout -k 5 120 "${TLS_ENV[@]}" \
	tar -c -b 20 --rsh-command="$WORK/slow-connect" -f "localhost:$SPOOL/b.tar" src \
	>"$WORK/writer.out" 2>"$WORK/writer.err") &
WRITER=$!
wait_for 20 "any(s['operation'] == 'Write' and s['bytes_written'] >= 102400 for s in d['sessions'])" ||
	fail "no TLS session writing b.tar appeared"
WRITER_ID=$(json_get '[s["id"] for s in d["sessions"] if s["operation"] == "Write"][0]' <"$WORK/last.json")
grep -q "session $WRITER_ID: served on the thread of $SPOOL/b.tar" "$WORK/server.log" ||
	fail "the writer is not served on the drive's thread"
rc=0
ctl kill --wait 20 "$WRITER_ID" >"$WORK/kill.out" 2>"$WORK/kill.err" || rc=$?
[ "$rc" -eq 0 ] || fail "rmtctl kill: exit $rc: $(cat "$WORK/kill.out" "$WORK/kill.err")"
tail -n 1 "$WORK/kill.out" | grep -qx "Session $WRITER_ID: ended" || fail "kill output: $(cat "$WORK/kill.out")"
rc=0
wait "$WRITER" || rc=$?
[ "$rc" -ne 0 ] || fail "tar exited 0 although its session was killed"
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "tar hung after the kill"
# tar shows the errno of the reply: E125.
grep -q "Cannot write: Operation canceled" "$WORK/writer.err" ||
	fail "tar did not get the daemon's E125: $(cat "$WORK/writer.err")"
grep -q "session $WRITER_ID: ended (aborted by the operator" "$WORK/server.log" ||
	fail "the server log does not say why the session ended"
size=$(stat -c %s "$SPOOL/b.tar")
[ $((size % 10240)) -eq 0 ] && [ "$size" -gt 0 ] || fail "b.tar holds a cut record: $size bytes"
wait_for 10 "not d['sessions'] and all(x['holder'] is None for x in d['drives'])" ||
	fail "a session or a held drive is left after the kill"
# The drive is free: the next TLS client writes b.tar whole.
(cd "$WORK" && must_succeed "tar -c over TLS after the kill" "${TLS_ENV[@]}" RMT_PORT="$PORT" \
	tar -c -b 20 --rsh-command="$CONNECT" -f "localhost:$SPOOL/b.tar" src)
cmp "$WORK/local.tar" "$SPOOL/b.tar" || fail "the archive written after the kill differs"
ok "tar exit $rc, b.tar had $size bytes of whole records"

check_server_log
