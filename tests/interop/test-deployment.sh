#!/bin/bash
# test-deployment.sh - rmtd set up as its manual pages say, used by real GNU tar.
#
# The configuration is the example of rmtd.conf(5), taken from the page with
# only its paths and address moved into the work directory, served over TLS;
# tar reaches it through rmt-connect with no options, as tar runs its rsh
# command, the TLS settings coming from an rmt-connect.conf. Then: a reload
# after `sed -i` has replaced the file (a new inode), opens, refusals, kills
# and reloads in the log at the default level, rmt-connect's reason after a
# kill, `rmtd -n` checking users, groups and TLS files, and how /etc/rmtd.conf
# applies to an rmt started by ssh (stdio mode): not at all unless -f names it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER set: classic servers have no configuration file"; exit 0; }
require_server
require_tools tar mt-gnu openssl python3 unshare mount stat sed awk
RMTCTL=$RMTD_BUILD_DIR/rmtd/rmtctl
CONNECT=$RMTD_BUILD_DIR/librmt/rmt-connect
VTAPE=$RMTD_BUILD_DIR/rmtd/rmt-vtape
for program in "$RMTCTL" "$CONNECT" "$VTAPE"; do
	[ -x "$program" ] || fail "$program is not built"
done
make_work
[ "${#WORK}" -le 80 ] || fail "work directory path too long for a Unix socket: $WORK"

DAEMON_PID=
trap 'rc=$?; stop_daemon; (exit $rc); cleanup_work' EXIT


# ------------------------------------------------------------------ certificates
# A CA, the server (localhost, 127.0.0.1) and the backup host's client
# certificate, whose subject is the one the example's identity names.
mkdir -p "$WORK/etc" "$WORK/srv/tapes" "$WORK/srv/spool" "$WORK/client" "$WORK/src/sub"
(
	cd "$WORK/etc"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=test-ca -keyout ca.key -out ca.crt
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
		-keyout server.key -out server.csr
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /O=Example/CN=backup.example.org -keyout "$WORK/client/client.key" -out client.csr
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile san.ext -out server.crt
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-out "$WORK/client/client.crt"
	cp ca.crt "$WORK/client/ca.crt"
	chmod 600 ./*.key "$WORK/client/client.key"
) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log" >&2; fail "openssl could not make test certificates"; }
for i in $(seq 1 40); do echo "line $i" >"$WORK/src/f$i.txt"; done
head -c 200000 /dev/urandom >"$WORK/src/sub/blob"
(cd "$WORK" && find src | sort) >"$WORK/expected.list"

# ------------------------------------------------------------------ rmtd.conf(5)'s example
PORT=$(free_port)
CONF=$WORK/etc/rmtd.conf
SOCK=$WORK/control.sock
check "the example of rmtd.conf(5) is found in the page"
awk '/^\.Sh EXAMPLES/ { examples = 1 }
     examples && /^\.Bd -literal/ { inside = 1; next }
     inside && /^\.Ed/ { exit }
     inside { print }' "$RMTD_SOURCE_DIR/man/rmtd.conf.5" >"$WORK/example.conf"
grep -q '^listen .* tls$' "$WORK/example.conf" || fail "no TLS listener in the example: $(cat "$WORK/example.conf")"
sed -e "s#^listen [^ ]*#listen 127.0.0.1:$PORT#" -e "s#/etc/rmtd/#$WORK/etc/#g" \
	-e "s#/srv/#$WORK/srv/#g" "$WORK/example.conf" >"$CONF"
ok

for tape in $(sed -n 's/^drive [^ ]* //p' "$CONF"); do
	"$VTAPE" create "$tape" >/dev/null || fail "rmt-vtape create $tape"
done

check "rmtd -n accepts the example"
"$RMTD" -n -f "$CONF" >"$WORK/n.out" 2>&1 || fail "rmtd -n: $(cat "$WORK/n.out")"
ok

start_daemon() {
	# No -v: what is logged here is what an administrator sees by default.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$RMTD" -d -f "$CONF" --control "$SOCK" --control-mode 0600 --state-dir "$WORK/state" \
		>>"$WORK/server.log" 2>&1 &
	DAEMON_PID=$!
	control_answers || fail "rmtd did not start with the example configuration"
}
: >"$WORK/server.log"
start_daemon

# What tar's --rsh-command gets: one program name, no options.
cat >"$WORK/rmt-connect.conf" <<EOF
# the tape host of the tests
host 127.0.0.1 localhost
	tls
	port $PORT
	ca $WORK/client/ca.crt
	cert $WORK/client/client.crt
	key $WORK/client/client.key
host *
	port 1
EOF
export RMT_CONNECT_CONFIG=$WORK/rmt-connect.conf
unset RMT_PORT RMT_TLS RMT_TLS_CA RMT_TLS_CERT RMT_TLS_KEY RMT_TLS_SERVER_NAME

check "GNU tar writes drive vt0 over TLS, rmt-connect configured by rmt-connect.conf alone"
must_succeed "tar -c over TLS" tar --rsh-command="$CONNECT" -cf 127.0.0.1:vt0 -C "$WORK" src
ok
check "mt rewinds it and tar lists it back"
must_succeed "mt rewind" mt-gnu --rsh-command="$CONNECT" -f 127.0.0.1:vt0 rewind
must_succeed "tar -t over TLS" tar --rsh-command="$CONNECT" -tf 127.0.0.1:vt0
sed 's#/$##' "$WORK/client.out" | sort | diff "$WORK/expected.list" - >&2 || fail "tar -t lists something else"
ok
check "tar writes a spool file the example's path rule allows"
must_succeed "tar -c to the spool" tar --rsh-command="$CONNECT" -cf "127.0.0.1:$WORK/srv/spool/home.tar" -C "$WORK" src
[ -s "$WORK/srv/spool/home.tar" ] || fail "no spool file"
ok

check "an open is logged at the default level, with the rule that allowed it"
grep -E -q "open $WORK/srv/tapes/vt0.tap .*\(rule at line [0-9]+\)" "$WORK/server.log" ||
	fail "no open line for vt0 in the log"
ok
check "a refusal is logged at the default level"
rc=0
run_client "$WORK/out" "$WORK/err" tar --rsh-command="$CONNECT" -cf "127.0.0.1:$WORK/srv/spool/x.cpio" -C "$WORK" src || rc=$?
[ "$rc" -ne 0 ] || fail "a name no rule allows was written"
grep -q 'x.cpio.* refused: ' "$WORK/server.log" || fail "no refusal line"
ok

# ------------------------------------------------------------------ rmt-connect
check "rmt-connect --help and --version"
"$CONNECT" --help >"$WORK/help.out" || fail "--help exit status $?"
grep -q 'rmt-connect.conf' "$WORK/help.out" || fail "--help does not name the configuration file"
"$CONNECT" --version | grep -E -q '^rmt-connect [0-9]' || fail "--version"
ok
check "usage mistakes in rmt-connect and rmtd: what is wrong, the synopsis, where the rest is"
# mistake_says STATUS FIRST-LINE HINT COMMAND...: the status, the mistake named
# first, the pointer to --help last, and no option table in between.
mistake_says() {
	local status=$1 first=$2 hint=$3 rc=0
	shift 3
	"$@" </dev/null >/dev/null 2>"$WORK/err" || rc=$?
	[ "$rc" -eq "$status" ] || fail "$*: exit $rc"
	grep -q -- "$first" <(head -n 1 "$WORK/err") || fail "$*: first line $(head -n 1 "$WORK/err")"
	[ "$(tail -n 1 "$WORK/err")" = "$hint" ] || fail "$*: last line $(tail -n 1 "$WORK/err")"
	grep -q '^usage: ' "$WORK/err" || fail "$*: no synopsis"
	[ "$(wc -l <"$WORK/err")" -le 8 ] || fail "$*: $(wc -l <"$WORK/err") lines"
}
hint="Try 'rmt-connect --help' for the options, or see rmt-connect(1)."
mistake_says 255 "unrecognized option '--pipline'" "$hint" "$CONNECT" --pipline host
mistake_says 255 "rmt-connect: no host" "$hint" "$CONNECT" -p 5400
mistake_says 255 'rmt-connect: "-x" is not a host name' "$hint" "$CONNECT" -- -x
hint="Try 'rmtd --help' for the options, or see rmtd(8)."
mistake_says 64 "unrecognized option '--alow'" "$hint" "$RMTD" --alow /tmp
mistake_says 64 "rmtd: unexpected argument '$WORK/debug' (rmtd takes options only)" "$hint" \
	"$RMTD" -n --allow /tmp "$WORK/debug"
[ ! -e "$WORK/debug" ] || fail "rmtd created the debug file it was given"
ok
check "a wrong line in rmt-connect.conf is reported with its file and line"
printf 'host 127.0.0.1\n\ttsl\n' >"$WORK/bad.conf"
rc=0
RMT_CONNECT_CONFIG=$WORK/bad.conf "$CONNECT" 127.0.0.1 </dev/null >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" -eq 255 ] || fail "exit status $rc"
grep -q "bad.conf:2: " "$WORK/err" || fail "message: $(cat "$WORK/err")"
RMT_CONNECT_CONFIG=$WORK/missing.conf "$CONNECT" 127.0.0.1 </dev/null >/dev/null 2>"$WORK/err" && fail "a missing named file was ignored"
grep -q "missing.conf: No such file" "$WORK/err" || fail "message: $(cat "$WORK/err")"
ok
check "options win over the file (-p)"
rc=0
"$CONNECT" -p 1 127.0.0.1 </dev/null >/dev/null 2>"$WORK/err" || rc=$?
grep -q "port 1:" "$WORK/err" || fail "-p did not win: $(cat "$WORK/err")"
ok

# ------------------------------------------------------------------ rmtctl kill
check "rmtctl kill: logged at the default level, and rmt-connect says why it ended"
tar -cf "$WORK/one.tar" -C "$WORK" src/f1.txt
python3 - "$CONNECT" "$RMTCTL" "$SOCK" "$WORK/connect.err" "$WORK/one.tar" <<'PY' || fail "kill over TLS"
import json, os, subprocess, sys, time
connect, rmtctl, sock, errfile, record = sys.argv[1:]
record = open(record, "rb").read()[:10240]
p = subprocess.Popen([connect, "127.0.0.1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=open(errfile, "wb"), bufsize=0)
p.stdin.write(b"Ovt1\n1\n")
assert p.stdout.readline() == b"A0\n", "open vt1"
# The first record of a tar archive whose end never comes.
p.stdin.write(b"W%d\n" % len(record) + record)
assert p.stdout.readline() == b"A%d\n" % len(record), "write"
ids = []
for _ in range(100):
    status = json.loads(subprocess.run([rmtctl, "-s", sock, "status", "--json"],
                                       capture_output=True, check=True).stdout)
    ids = [s["id"] for s in status.get("sessions", [])]
    if ids:
        break
    time.sleep(0.05)
assert len(ids) == 1, status
subprocess.run([rmtctl, "-s", sock, "kill", str(ids[0])], check=True, capture_output=True)
# The next request meets the end of the session.
try:
    p.stdin.write(b"R10\n")
except BrokenPipeError:
    pass
rest = p.stdout.read()
try:
    p.stdin.close()
except BrokenPipeError:
    pass
p.wait(timeout=20)
PY
grep -q "session [0-9]* aborted by uid" "$WORK/server.log" || fail "no kill line in the log"
if grep -E -q '^rmt-connect: *$|: $' "$WORK/connect.err"; then
	fail "rmt-connect printed an empty reason: $(cat -A "$WORK/connect.err")"
fi
ok "$(head -n 1 "$WORK/connect.err")"

check "rmt-connect says why when the server resets the TLS connection"
python3 - "$CONNECT" "$WORK/etc" "$WORK/reset.err" <<'PY' || fail "reset over TLS"
import os, socket, ssl, struct, subprocess, sys, threading
connect, etc, errfile = sys.argv[1:]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.minimum_version = ssl.TLSVersion.TLSv1_3
context.load_cert_chain(etc + "/server.crt", etc + "/server.key")
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
port = listener.getsockname()[1]
def serve():
    conn, _ = listener.accept()
    tls = context.wrap_socket(conn, server_side=True)
    tls.recv(100)
    # RST, not a TLS close: what a peer that vanished looks like.
    tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()
threading.Thread(target=serve, daemon=True).start()
p = subprocess.Popen([connect, "--tls", "--ca", etc + "/ca.crt", "-p", str(port), "127.0.0.1"],
                     stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=open(errfile, "wb"), bufsize=0)
p.stdin.write(b"Ovt0\n0\n")
p.stdout.read()
p.wait(timeout=20)
assert p.returncode == 255, p.returncode
PY
grep -q . "$WORK/reset.err" || fail "rmt-connect said nothing"
if grep -E -q '^rmt-connect: *$|: $' "$WORK/reset.err"; then
	fail "rmt-connect printed an empty reason: $(cat -A "$WORK/reset.err")"
fi
ok "$(head -n 1 "$WORK/reset.err")"

check "the catalog: the archive the kill cut is not complete, the one tar ended is"
"$RMTCTL" -s "$SOCK" catalog --json vt1 >"$WORK/vt1.json" || fail "rmtctl catalog vt1"
"$RMTCTL" -s "$SOCK" catalog --json vt0 >"$WORK/vt0.json" || fail "rmtctl catalog vt0"
python3 - "$WORK/vt1.json" "$WORK/vt0.json" <<'PY' || fail "catalogs: $(cat "$WORK/vt1.json" "$WORK/vt0.json")"
import json, sys
cut = json.load(open(sys.argv[1]))["files"]
whole = json.load(open(sys.argv[2]))["files"]
assert len(cut) == 1 and cut[0]["format"] == "tar" and cut[0]["complete"] is False, cut
assert cut[0]["bytes"] == 10240, cut
assert whole[0]["format"] == "tar" and whole[0]["complete"] is True, whole
PY
ok

# ------------------------------------------------------------------ reload after sed -i
reloads() { grep -c 'SIGHUP: configuration reloaded' "$WORK/server.log" || true; }
reload_and_wait() {
	local before=$1 i
	kill -HUP "$DAEMON_PID"
	for i in $(seq 1 100); do
		[ "$(reloads)" -gt "$before" ] && return 0
		grep -q 'configuration not reloaded' "$WORK/server.log" && break
		sleep 0.05
	done
	fail "no reload after SIGHUP: $(grep 'SIGHUP' "$WORK/server.log" | tail -n 2)"
}
check "sed -i makes vt1 read-only, SIGHUP: the new file is read and in force"
inode=$(stat -c %i "$CONF")
sed -i 's/^allow backup drive vt1 .*/allow backup drive vt1 read-only/' "$CONF"
[ "$(stat -c %i "$CONF")" != "$inode" ] || fail "sed -i kept the inode; the test proves nothing"
reload_and_wait "$(reloads)"
rc=0
run_client "$WORK/out" "$WORK/err" tar --rsh-command="$CONNECT" -cf 127.0.0.1:vt1 -C "$WORK" src || rc=$?
[ "$rc" -ne 0 ] || fail "vt1 still writable after the reload"
ok
check "a second sed -i and SIGHUP make it writable again"
sed -i 's/^allow backup drive vt1 read-only$/allow backup drive vt1 read-write create truncate/' "$CONF"
reload_and_wait "$(reloads)"
must_succeed "tar -c vt1" tar --rsh-command="$CONNECT" -cf 127.0.0.1:vt1 -C "$WORK" src
ok
check "a reload is logged at the default level and no reload failed"
grep -q 'configuration not reloaded' "$WORK/server.log" && fail "a reload failed"
[ "$(reloads)" -eq 2 ] || fail "$(reloads) reloads logged, expected 2"
ok
stop_daemon

# ------------------------------------------------------------------ rmtd -n
expect_n_refuses() {
	local what=$1 pattern=$2 rc=0
	"$RMTD" -n -f "$WORK/n.conf" >"$WORK/n.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] || fail "rmtd -n accepted $what"
	grep -q "$pattern" "$WORK/n.out" || fail "rmtd -n on $what: $(cat "$WORK/n.out")"
}
check "rmtd -n refuses a user, a group or a control group that does not exist"
printf 'user nosuchuser-rmtd\n' >"$WORK/n.conf"
expect_n_refuses "user nosuchuser-rmtd" "user nosuchuser-rmtd: no such user"
printf 'group nosuchgroup-rmtd\n' >"$WORK/n.conf"
expect_n_refuses "group nosuchgroup-rmtd" "group nosuchgroup-rmtd: no such group"
printf 'control %s/c.sock group nosuchgroup-rmtd\n' "$WORK" >"$WORK/n.conf"
expect_n_refuses "control group nosuchgroup-rmtd" "control group nosuchgroup-rmtd"
ok
check "rmtd -n refuses drives that no allow rule opens, as rmtd.conf(5) says"
printf 'drive vt0 %s/srv/tapes/vt0.tap\n' "$WORK" >"$WORK/n.conf"
expect_n_refuses "a drive without rules" "no allow rule: say who may open them"
printf 'allow * drive vt0 read-write create truncate\n' >>"$WORK/n.conf"
"$RMTD" -n -f "$WORK/n.conf" >"$WORK/n.out" 2>&1 || fail "the rule rmtd.conf(5) suggests: $(cat "$WORK/n.out")"
ok
check "rmtd -n refuses TLS files that cannot be loaded"
sed "s#tls key .*#tls key $WORK/etc/missing.key#" "$CONF" >"$WORK/n.conf"
expect_n_refuses "a missing key" "missing.key"
sed "s#tls certificate .*#tls certificate $WORK/client/client.crt#" "$CONF" >"$WORK/n.conf"
expect_n_refuses "a certificate that does not match the key" "TLS"
ok

# ------------------------------------------------------------------ stdio mode and /etc/rmtd.conf
# The example file as /etc/rmtd.conf, in a mount namespace of this test only.
# Its rules name a TLS subject and an office network: were they applied to an
# ssh user's rmt, that user could open nothing.
mkdir -p "$WORK/overlay" "$WORK/ssh-spool"
cp "$CONF" "$WORK/overlay/rmtd.conf"
in_namespace=$WORK/in-namespace
cat >"$in_namespace" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c \
	'mount -t overlay overlay -o "lowerdir=$WORK/overlay:/etc" /etc && exec "\$@"' sh "\$@"
EOF
chmod +x "$in_namespace"
"$in_namespace" test -f /etc/rmtd.conf || fail "cannot place /etc/rmtd.conf in a mount namespace"
check "/etc/rmtd.conf written for the daemon does not change what ssh's rmt allows"
shim_allow "$WORK/ssh-spool"
must_succeed "tar -c through stdio mode" "$in_namespace" tar --rsh-command="$RSH_SHIM" \
	-cf "localhost:$WORK/ssh-spool/a.tar" -C "$WORK" src
[ -s "$WORK/ssh-spool/a.tar" ] || fail "nothing written"
ok
check "the daemon reads the same /etc/rmtd.conf without -f"
rc=0
"$in_namespace" "$RMTD" -n >"$WORK/n.out" 2>&1 || rc=$?
grep -q "configuration OK: /etc/rmtd.conf" "$WORK/n.out" || fail "rmtd -n: $(cat "$WORK/n.out")"
ok
check "stdio mode applies a file that -f names: its rules, not the daemon's listeners"
shim_allow "$WORK/ssh-spool" -d -f "$WORK/overlay/rmtd.conf"
rc=0
run_client "$WORK/out" "$WORK/err" tar --rsh-command="$RSH_SHIM" \
	-cf "localhost:$WORK/ssh-spool/b.tar" -C "$WORK" src || rc=$?
[ "$rc" -ne 0 ] || fail "the rules of -f were not applied"
grep -q 'refused: no rule allows' "$WORK/server.log" || fail "no refusal by rule: $(tail -n 3 "$WORK/server.log")"
ok
