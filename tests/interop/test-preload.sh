#!/bin/bash
# test-preload.sh - unmodified programs on a remote tape through librmt-preload.so.
#
# rmtd listens on loopback TCP with a virtual tape; RMT_DEVICES maps a local name
# to it (rmt://127.0.0.1:PORT/...), and dd, mt-st (Debian's local-only mt),
# GNU tar --force-local (with and without -z) and cpio run on that name as if
# it were a local tape drive. The shells' fork+exec hand-over (gzip writing to a
# descriptor its shell opened) is covered, and so are rmt-connect as tar's and
# mt-gnu's rsh and the shim's cost on descriptors it does not own. shim_calls
# (shim_calls.c) makes the interposed calls none of these programs makes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools dd mt-st tar cpio gzip dash python3 cmp diff openssl
[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER is set: this test needs rmtd itself"; }
[ -x "$RMTD" ] || fail "rmtd is not built: $RMTD"
PRELOAD=$RMTD_BUILD_DIR/librmt/librmt-preload.so
CONNECT=$RMTD_BUILD_DIR/librmt/rmt-connect
VTAPE_TOOL=$RMTD_BUILD_DIR/rmtd/rmt-vtape
[ -f "$PRELOAD" ] || fail "librmt-preload.so is not built: $PRELOAD"
[ -x "$CONNECT" ] || fail "rmt-connect is not built: $CONNECT"
[ -x "$VTAPE_TOOL" ] || fail "rmt-vtape is not built: $VTAPE_TOOL"
make_work
CLIENT_TIMEOUT=60

shim_environment "$PRELOAD"

# ------------------------------------------------------------------ rmtd on loopback
RMTD_PID=
TLS_PID=
stop_rmtd() {
	local pid
	for pid in "$RMTD_PID" "$TLS_PID"; do
		if [ -n "$pid" ]; then
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	RMTD_PID=
	TLS_PID=
}
finish() {
	local rc=$?
	stop_rmtd
	return "$rc"
}
trap 'finish; cleanup_work' EXIT

port_open() {
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null
}

start_rmtd() {
	local tries
	for tries in 1 2 3; do
		PORT=$(free_port)
		# rmtd's sandbox (Landlock, seccomp) keeps LeakSanitizer from reading
		# /proc at exit; leaks are the daemon tests' business, errors stay on.
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			"$RMTD" -d --listen "127.0.0.1:$PORT" --allow "$WORK/spool" --control none \
			--drive-wait 20 >>"$WORK/server.log" 2>&1 &
		RMTD_PID=$!
		for _ in $(seq 1 100); do
			if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$PORT" 2>/dev/null; then
				return 0
			fi
			kill -0 "$RMTD_PID" 2>/dev/null || break
			sleep 0.05
		done
		stop_rmtd
	done
	fail "rmtd did not start listening (see $WORK/server.log)"
}

mkdir -p "$WORK/spool" "$WORK/src/sub"
start_rmtd
say "rmtd listening on 127.0.0.1:$PORT (pid $RMTD_PID)"

# The local name: /dev/nst0, the usual tape device, unless this machine has a real one.
if [ -e /dev/nst0 ]; then
	LOCAL=$WORK/dev-nst0
else
	LOCAL=/dev/nst0
fi
TAPE=$WORK/spool/vt0.tap
"$VTAPE_TOOL" create "$TAPE" >/dev/null || fail "rmt-vtape create failed"
export RMT_DEVICES="$LOCAL=rmt://127.0.0.1:$PORT$TAPE"
export RMT_VERBOSE=1

# The environment every shimmed client gets (RMT_DEVICES is exported).

# A shim that failed to load would make these create a regular local file.
check_no_local_file() {
	if [ "$LOCAL" = /dev/nst0 ] && [ -e /dev/nst0 ]; then
		rm -f /dev/nst0
		fail "a local /dev/nst0 appeared: the program bypassed the shim"
	fi
}

run_remote() {
	local what=$1
	shift
	must_succeed "$what" "${SHIM[@]}" "$@"
	check_no_local_file
}

mt_status() {
	run_remote "mt-st status" mt-st -f "$LOCAL" status
	cp "$WORK/client.out" "$WORK/status.out"
}

expect_position() {
	local file=$1 block=$2
	mt_status
	grep -q "File number=$file, block number=$block," "$WORK/status.out" || {
		cat "$WORK/status.out" >&2
		fail "mt-st status: expected file $file, block $block"
	}
}

# ------------------------------------------------------------------ dd
head -c 30720 /dev/urandom >"$WORK/a.dat" # 3 records of 10240
head -c 15000 /dev/urandom >"$WORK/b.dat" # one of 10240, one of 4760

check "mt-st status on the blank remote tape: file 0, block 0, BOT"
expect_position 0 0
grep -q 'BOT' "$WORK/status.out" || { cat "$WORK/status.out" >&2; fail "no BOT bit"; }
grep -q 'SCSI 2 tape drive' "$WORK/status.out" || fail "mt_type did not come through"
ok

check "dd writes file 0 (3 records) to the remote tape"
run_remote "dd write" "${DD[@]}" if="$WORK/a.dat" of="$LOCAL" bs=10240
grep -q '^3+0 records out' "$WORK/client.err" || { cat "$WORK/client.err" >&2; fail "dd record count"; }
ok

check "closing after writing left a filemark: file 1, block 0"
expect_position 1 0
ok

check "dd writes file 1 (a full and a short record)"
run_remote "dd write" "${DD[@]}" if="$WORK/b.dat" of="$LOCAL" bs=10240
expect_position 2 0
ok

check "mt-st weof writes an empty file 2"
run_remote "mt-st weof" mt-st -f "$LOCAL" weof
expect_position 3 0
ok

check "the image holds exactly what was written (rmt-vtape list)"
"$VTAPE_TOOL" list "$TAPE" >"$WORK/list.out" || fail "rmt-vtape list"
grep -q 'file 0: 3 records, 30720 bytes' "$WORK/list.out" &&
	grep -q 'file 1: 2 records, 15000 bytes' "$WORK/list.out" &&
	grep -q 'file 2: 0 records' "$WORK/list.out" || { cat "$WORK/list.out" >&2; fail "image content"; }
ok

check "mt-st rewind: file 0, block 0"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
expect_position 0 0
ok

check "dd reads file 0 back byte for byte (stops at the filemark)"
run_remote "dd read" "${DD[@]}" if="$LOCAL" of="$WORK/a.back" bs=10240
cmp "$WORK/a.dat" "$WORK/a.back" || fail "file 0 differs"
expect_position 1 0
ok

check "mt-st rewind, fsf 1: file 1, block 0; dd reads file 1 back"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
run_remote "mt-st fsf" mt-st -f "$LOCAL" fsf 1
expect_position 1 0
run_remote "dd read" "${DD[@]}" if="$LOCAL" of="$WORK/b.back" bs=10240
cmp "$WORK/b.dat" "$WORK/b.back" || fail "file 1 differs"
ok

check "mt-st fsr 2 inside file 0: block number 2, and tell (MTIOCPOS) agrees"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
run_remote "mt-st fsr" mt-st -f "$LOCAL" fsr 2
expect_position 0 2
run_remote "mt-st tell" mt-st -f "$LOCAL" tell
grep -q 'At block 2\.' "$WORK/client.out" || { cat "$WORK/client.out" >&2; fail "tell"; }
ok

check "mt-st eod (MTEOM): after the last filemark, file 3"
run_remote "mt-st eod" mt-st -f "$LOCAL" eod
mt_status
grep -q 'File number=3,' "$WORK/status.out" || { cat "$WORK/status.out" >&2; fail "eod position"; }
ok

check "mt-st seek 4 / tell (MTSEEK through the QFA seek)"
run_remote "mt-st seek" mt-st -f "$LOCAL" seek 4
run_remote "mt-st tell" mt-st -f "$LOCAL" tell
grep -q 'At block 4\.' "$WORK/client.out" || { cat "$WORK/client.out" >&2; fail "seek/tell"; }
ok

check "RMT_NEGOTIATE=classic: Linux-only operations (mt-st setblk) reach the server"
run_remote "mt-st setblk" env RMT_NEGOTIATE=classic mt-st -f "$LOCAL" setblk 1024
mt_status
grep -q 'Tape block size 1024 bytes' "$WORK/status.out" || { cat "$WORK/status.out" >&2; fail "setblk"; }
run_remote "mt-st setblk 0" env RMT_NEGOTIATE=classic mt-st -f "$LOCAL" setblk 0
ok

check "without it, setblk goes as rmtd's i<1000+op> after the V1 probe"
run_remote "mt-st setblk 512" mt-st -f "$LOCAL" setblk 512
mt_status
grep -q 'Tape block size 512 bytes' "$WORK/status.out" || { cat "$WORK/status.out" >&2; fail "setblk 512"; }
run_remote "mt-st setblk 0" mt-st -f "$LOCAL" setblk 0
mt_status
grep -q 'Tape block size 0 bytes' "$WORK/status.out" || { cat "$WORK/status.out" >&2; fail "setblk 0"; }
ok

# ------------------------------------------------------------------ tar
printf 'first file\n' >"$WORK/src/one.txt"
head -c 200000 /dev/urandom >"$WORK/src/sub/random.bin"
seq 1 20000 >"$WORK/src/sub/numbers.txt"
(cd "$WORK" && tar -cf - src | tar -tf -) | sort >"$WORK/expected.list"

tar_round_trip() {
	local z=$1 label=$2
	run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
	(cd "$WORK" && run_remote "tar -c$z" tar --force-local -c${z}f "$LOCAL" src)
	run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
	run_remote "tar -t$z" tar --force-local -t${z}f "$LOCAL"
	sort "$WORK/client.out" >"$WORK/got.list"
	diff "$WORK/expected.list" "$WORK/got.list" >&2 || fail "$label: tar -t lists other files"
	rm -rf "$WORK/x"
	mkdir "$WORK/x"
	run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
	(cd "$WORK/x" && run_remote "tar -x$z" tar --force-local -x${z}f "$LOCAL")
	diff -r "$WORK/src" "$WORK/x/src" >&2 || fail "$label: extracted tree differs"
}

check "tar --force-local -cf / -tf / -xf on the remote tape"
TAPE=$WORK/spool/vt1.tap
"$VTAPE_TOOL" create "$TAPE" >/dev/null
export RMT_DEVICES="$LOCAL=rmt://127.0.0.1:$PORT$TAPE"
tar_round_trip "" "tar"
"$VTAPE_TOOL" list "$TAPE" | grep -q 'x 10240 bytes' || fail "tar records are not 10240 bytes"
ok

check "tar --force-local -czf / -tzf / -xzf (gzip in a child process)"
tar_round_trip "z" "tar -z"
ok

# ------------------------------------------------------------------ cpio
check "cpio -o -F / -i -F on the remote tape"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
(cd "$WORK" && find src | sort >"$WORK/cpio.list" &&
	run_remote "cpio -o" sh -c "cpio -o -H newc -F '$LOCAL' < '$WORK/cpio.list'")
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
rm -rf "$WORK/y"
mkdir "$WORK/y"
(cd "$WORK/y" && run_remote "cpio -i" cpio -id -F "$LOCAL")
diff -r "$WORK/src" "$WORK/y/src" >&2 || fail "cpio: extracted tree differs"
ok

check "cpio through shell redirections (bash opens, cpio inherits across exec)"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
(cd "$WORK" && run_remote "cpio -o >" bash -c "cpio -o -H newc < '$WORK/cpio.list' > '$LOCAL'")
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
rm -rf "$WORK/y"
mkdir "$WORK/y"
(cd "$WORK/y" && run_remote "cpio -i <" bash -c "cpio -id < '$LOCAL'")
diff -r "$WORK/src" "$WORK/y/src" >&2 || fail "cpio via redirections: extracted tree differs"
ok

# ------------------------------------------------------------------ fork and exec
check "gzip writes to a descriptor dash opened (vfork + exec), gzip -d reads it back"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
run_remote "dash gzip" dash -c "gzip -c < '$WORK/src/sub/random.bin' > '$LOCAL'; echo done"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
run_remote "bash gzip -d" bash -c "exec 3<'$LOCAL'; gzip -dc <&3 > '$WORK/random.back'; exec 3<&-"
cmp "$WORK/src/sub/random.bin" "$WORK/random.back" || fail "gzip round trip through inherited fds"
ok

# Each way a program starts another with an environment of its own: the shim puts
# the mapping (RMT_PRELOAD_FDS) into it, and the new program writes to the tape
# on the descriptor it inherited, then the first closes it.
check "posix_spawn, posix_spawnp, execve and fexecve with an environment of their own pass the tape on"
head -c 3000 "$WORK/a.dat" >"$WORK/3k.dat"
for way in posix_spawn posix_spawnp execve fexecve; do
	run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
	run_remote "$way" python3 -c 'import os, sys
name, source, way = sys.argv[1:]
fd = os.open(name, os.O_WRONLY)
os.dup2(fd, 5)  # inheritable, as the shell would make it
os.close(fd)
env = {k: v for k, v in os.environ.items() if k in ("LD_PRELOAD", "PATH", "ASAN_OPTIONS")}
argv = ["sh", "-c", "cat %s >&5" % source]
if way == "posix_spawn":
    pid = os.posix_spawn("/bin/sh", argv, env)
elif way == "posix_spawnp":
    pid = os.posix_spawnp("sh", argv, env)
else:
    pid = os.fork()
    if pid == 0:
        try:
            program = "/bin/sh" if way == "execve" else os.open("/bin/sh", os.O_RDONLY)
            os.execve(program, argv, env)  # fexecve when given a descriptor
        finally:
            os._exit(127)
_, status = os.waitpid(pid, 0)
assert status == 0, "%s: the child exited with %#x" % (way, status)
os.close(5)' "$LOCAL" "$WORK/3k.dat" "$way"
	run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
	run_remote "dd read" "${DD[@]}" if="$LOCAL" of="$WORK/spawn.back" bs=10240
	cmp "$WORK/3k.dat" "$WORK/spawn.back" || fail "$way: the record written by the new program differs"
done
ok

check "dup, dup2 and fcntl(F_DUPFD) copies of a remote descriptor keep working"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
head -c 4096 "$WORK/a.dat" >"$WORK/4k.dat"
run_remote "dup chain" bash -c "exec 5>'$LOCAL'; exec 6>&5; exec 5>&-; cat '$WORK/4k.dat' >&6; exec 6>&-"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
run_remote "dd read" "${DD[@]}" if="$LOCAL" of="$WORK/dup.back" bs=10240
cmp "$WORK/4k.dat" "$WORK/dup.back" || fail "data written through a dup differs"
ok

check "stdio writes (bash's echo) fail with EBADF instead of corrupting the stream"
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
rc=0
run_client "$WORK/out" "$WORK/err" "${SHIM[@]}" bash -c \
	"exec 6>'$LOCAL'; echo not a record >&6; e=\$?; cat '$WORK/4k.dat' >&6 || exit 9; exit \$e" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'Bad file descriptor' "$WORK/err" || {
	cat "$WORK/err" >&2
	fail "echo to a remote descriptor: exit $rc"
}
run_remote "mt-st rewind" mt-st -f "$LOCAL" rewind
run_remote "dd read" "${DD[@]}" if="$LOCAL" of="$WORK/echo.back" bs=10240
cmp "$WORK/4k.dat" "$WORK/echo.back" || fail "the record after the refused echo differs"
ok

check "stat and fstat see a character device"
run_remote "stat" stat -c '%F' "$LOCAL"
grep -q 'character special file' "$WORK/client.out" || { cat "$WORK/client.out" >&2; fail "stat"; }
run_remote "fstat" python3 -c 'import os, stat, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print(stat.S_ISCHR(os.fstat(fd).st_mode))
os.close(fd)' "$LOCAL"
grep -q True "$WORK/client.out" || { cat "$WORK/client.out" >&2; fail "fstat"; }
ok

check "the calls no program here makes: open variants, readv/writev, __read_chk, pread, dup3, close_range"
"$VTAPE_TOOL" create "$WORK/spool/calls.tap" >/dev/null || fail "rmt-vtape create failed"
rc=0
run_client "$WORK/calls.out" "$WORK/calls.err" "${SHIM[@]}" \
	RMT_DEVICES="$LOCAL=rmt://127.0.0.1:$PORT$WORK/spool/calls.tap" "$SHIM_CALLS" "$LOCAL" || rc=$?
[ "$rc" -eq 0 ] || { cat "$WORK/calls.out" "$WORK/calls.err" >&2; fail "shim_calls: exit $rc"; }
check_no_local_file
"$VTAPE_TOOL" list "$WORK/spool/calls.tap" | grep -q '^file 0: 2 records' ||
	fail "the tape does not hold writev's and write's records: $("$VTAPE_TOOL" list "$WORK/spool/calls.tap")"
ok "$(grep -c '^ok' "$WORK/calls.out") groups of calls"

# ------------------------------------------------------------------ errors
check "a remote error reaches the program as the server's errno"
rc=0
run_client "$WORK/out" "$WORK/err" "${SHIM[@]}" RMT_DEVICES="$LOCAL=rmt://127.0.0.1:$PORT/etc/shadow" "${DD[@]}" if="$LOCAL" of=/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "rmtd let a client read /etc/shadow"
grep -E -q 'Permission denied|No such file|Operation not permitted' "$WORK/err" || {
	cat "$WORK/err" >&2
	fail "the refusal did not come through as an errno"
}
check_no_local_file
ok

check "a dead server is EIO for the program, not a hang"
rc=0
run_client "$WORK/out" "$WORK/err" "${SHIM[@]}" RMT_DEVICES="$LOCAL=rmt://127.0.0.1:1/x" "${DD[@]}" if="$LOCAL" of=/dev/null || rc=$?
[ "$rc" -ne 0 ] && grep -q 'Connection refused' "$WORK/err" || { cat "$WORK/err" >&2; fail "refused"; }
ok

# ------------------------------------------------------------------ untouched descriptors
check "paths and descriptors not in RMT_DEVICES are untouched"
run_remote "local dd" "${DD[@]}" if="$WORK/a.dat" of="$WORK/local.copy" bs=4096
cmp "$WORK/a.dat" "$WORK/local.copy" || fail "local copy through the shim differs"
ok

# dd with 1-byte blocks: 300k read+write pairs; the shim's fast path is one load
# and one branch per call. Interleaved runs, best of five each, so that load from
# other tests hits both sides alike.
dd_seconds() {
	{ TIMEFORMAT=%R; time "$@" dd if=/dev/zero of=/dev/null bs=1 count=300000 2>/dev/null; } 2>&1 | tail -n 1
}
if [ -z "$SHIM_ASAN_RUNTIME" ]; then
	check "the shim costs nothing measurable on other descriptors (300k read+write pairs)"
	plain=
	shimmed=
	for _ in 1 2 3 4 5; do
		plain="$plain $(dd_seconds env)"
		shimmed="$shimmed $(dd_seconds env LD_PRELOAD="$PRELOAD" RMT_DEVICES="$LOCAL=rmt://127.0.0.1:$PORT$TAPE")"
	done
	read -r best_plain best_shimmed < <(python3 -c 'import sys
p = min(map(float, sys.argv[1].split())); s = min(map(float, sys.argv[2].split()))
print(p, s)' "$plain" "$shimmed")
	python3 -c 'import sys; p, s = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if s <= p * 1.3 + 0.03 else 1)' \
		"$best_plain" "$best_shimmed" || fail "300k dd calls: ${best_plain}s plain, ${best_shimmed}s with the shim"
	ok "${best_plain}s plain, ${best_shimmed}s with the shim"
fi

# ------------------------------------------------------------------ TLS
# A CA, the server's certificate (localhost, 127.0.0.1), a client certificate,
# and a client certificate from another CA that rmtd must refuse.
make_certificates() {
	local d=$WORK/tls who
	mkdir -p "$d"
	(
		cd "$d"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj /CN=test-ca -keyout ca.key -out ca.crt
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj /CN=other-ca -keyout ca2.key -out ca2.crt
		for who in server client stranger; do
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
				-keyout "$who.key" -out "$who.csr"
		done
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile san.ext -out server.crt
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-out client.crt
		openssl x509 -req -in stranger.csr -CA ca2.crt -CAkey ca2.key -CAcreateserial -days 2 \
			-out stranger.crt
		chmod 600 ./*.key
	) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log" >&2; fail "openssl could not make test certificates"; }
}

start_tls_rmtd() {
	local conf=$WORK/tls/rmtd.conf
	TLS_PORT=$(free_port)
	{
		printf 'listen 127.0.0.1:%s tls\n' "$TLS_PORT"
		printf 'tls certificate %s/tls/server.crt\ntls key %s/tls/server.key\ntls ca %s/tls/ca.crt\n' \
			"$WORK" "$WORK" "$WORK"
		printf 'spool %s/spool\nallow * path %s/spool/* read-write create truncate\n' "$WORK" "$WORK"
	} >"$conf"
	chmod 600 "$conf"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$RMTD" -d -f "$conf" --control none >>"$WORK/server.log" 2>&1 &
	TLS_PID=$!
	for _ in $(seq 1 100); do
		port_open "$TLS_PORT" && return 0
		kill -0 "$TLS_PID" 2>/dev/null || break
		sleep 0.05
	done
	fail "rmtd with a TLS listener did not start (see $WORK/server.log)"
}

make_certificates
start_tls_rmtd
say "rmtd listening with TLS on 127.0.0.1:$TLS_PORT (pid $TLS_PID)"
TLS_ENV=(RMT_TLS_CA="$WORK/tls/ca.crt" RMT_TLS_CERT="$WORK/tls/client.crt" RMT_TLS_KEY="$WORK/tls/client.key"
	RMT_DEVICES="$LOCAL=rmts://127.0.0.1:$TLS_PORT$WORK/spool/tls.dat")

check "dd to and from a remote file over TLS (rmts://, client certificate)"
run_remote "dd write over TLS" env "${TLS_ENV[@]}" "${DD[@]}" if="$WORK/b.dat" of="$LOCAL" bs=10240
cmp "$WORK/b.dat" "$WORK/spool/tls.dat" || fail "the file written over TLS differs"
run_remote "dd read over TLS" env "${TLS_ENV[@]}" "${DD[@]}" if="$LOCAL" of="$WORK/tls.back" bs=10240
cmp "$WORK/b.dat" "$WORK/tls.back" || fail "the file read over TLS differs"
ok

check "tar --force-local -czf / -tzf over TLS"
(cd "$WORK" && run_remote "tar -cz over TLS" env "${TLS_ENV[@]}" tar --force-local -czf "$LOCAL" src)
run_remote "tar -tz over TLS" env "${TLS_ENV[@]}" tar --force-local -tzf "$LOCAL"
sort "$WORK/client.out" | diff "$WORK/expected.list" - >&2 || fail "tar -tz over TLS"
ok

check "a certificate from another CA is refused, and the program sees an error"
rc=0
run_client "$WORK/out" "$WORK/err" "${SHIM[@]}" "${TLS_ENV[@]}" RMT_TLS_CERT="$WORK/tls/stranger.crt" \
	RMT_TLS_KEY="$WORK/tls/stranger.key" "${DD[@]}" if="$LOCAL" of=/dev/null || rc=$?
# TLS 1.3 judges the client certificate after the client's side of the handshake:
# the client reads either the server's alert or a connection already reset.
[ "$rc" -ne 0 ] && grep -E -q 'unknown ca|closed the connection|Connection reset' "$WORK/err" ||
	{ cat "$WORK/err" >&2; fail "stranger: exit $rc"; }
grep -q 'TLS handshake with .* failed' "$WORK/server.log" || fail "rmtd did not refuse the handshake"
ok

check "an admin's TLS mistakes are named: CA or key files missing, TLS to a plaintext port"
for mistake in "RMT_TLS_CA=$WORK/tls/no-such-ca.crt:cannot load the CA certificates" \
	"RMT_TLS_KEY=$WORK/tls/no-such.key:cannot load the client key" \
	"RMT_DEVICES=$LOCAL=rmts://127.0.0.1:$PORT$WORK/spool/tls.dat:is that port a TLS listener?"; do
	setting=${mistake%:*}
	rc=0
	run_client "$WORK/out" "$WORK/err" "${SHIM[@]}" "${TLS_ENV[@]}" "$setting" \
		"${DD[@]}" if="$LOCAL" of=/dev/null || rc=$?
	[ "$rc" -ne 0 ] && grep -q "${mistake##*:}" "$WORK/err" ||
		{ cat "$WORK/err" >&2; fail "$setting: exit $rc, not '${mistake##*:}'"; }
	check_no_local_file
done
ok

check "a server certificate the client's CA did not sign is refused"
rc=0
run_client "$WORK/out" "$WORK/err" "${SHIM[@]}" "${TLS_ENV[@]}" RMT_TLS_CA="$WORK/tls/ca2.crt" \
	"${DD[@]}" if="$LOCAL" of=/dev/null || rc=$?
[ "$rc" -ne 0 ] && grep -q "the server's certificate" "$WORK/err" || { cat "$WORK/err" >&2; fail "wrong CA: exit $rc"; }
ok

check "a TLS session cannot follow exec: the inheriting program gets EBADF, not a broken stream"
rc=0
run_client "$WORK/out" "$WORK/err" "${SHIM[@]}" "${TLS_ENV[@]}" bash -c "gzip -c < '$WORK/b.dat' > '$LOCAL'" || rc=$?
[ "$rc" -ne 0 ] && grep -q 'Bad file descriptor' "$WORK/err" || { cat "$WORK/err" >&2; fail "exec over TLS: exit $rc"; }
ok

# ------------------------------------------------------------------ rmt-connect
check "tar --rsh-command=rmt-connect -cf / -tf host:file (RMT_PORT)"
(cd "$WORK" && must_succeed "tar -c via rmt-connect" env RMT_PORT="$PORT" \
	tar --rsh-command="$CONNECT" -cf "localhost:$WORK/spool/c.tar" src)
must_succeed "tar -t via rmt-connect" env RMT_PORT="$PORT" \
	tar --rsh-command="$CONNECT" -tf "localhost:$WORK/spool/c.tar"
sort "$WORK/client.out" | diff "$WORK/expected.list" - >&2 || fail "tar -t via rmt-connect"
cmp -s <(cd "$WORK" && tar -cf - src | tar -tvf -) <(tar -tvf "$WORK/spool/c.tar") ||
	fail "the archive written through rmt-connect differs from a local one"
ok

check "mt-gnu --rsh-command=rmt-connect rewinds the virtual tape"
must_succeed "mt-gnu fsf" env RMT_PORT="$PORT" mt-gnu --rsh-command="$CONNECT" -f "localhost:$WORK/spool/vt0.tap" fsf 1
ok

check "rmt-connect moves bytes from a regular file (no splice) and half-closes"
printf 'O%s\n0 O_RDONLY\nR5\nC\n' "$WORK/spool/c.tar" >"$WORK/requests"
run_client "$WORK/out" "$WORK/err" env RMT_PORT="$PORT" "$CONNECT" -l nobody localhost -l nobody /etc/rmt <"$WORK/requests" ||
	{ cat "$WORK/err" >&2; fail "rmt-connect exit status"; }
head -c 3 "$WORK/out" | grep -q '^A0' && grep -a -q '^A5' "$WORK/out" || { od -c "$WORK/out" | head >&2; fail "replies"; }
ok

# Pipelined over TLS: through a relay that delays each way by 5 ms, tar's
# writes are answered at once and its reads read ahead over the TLS session.
check "rmt-connect --tls --pipeline: tar -c and -t pipelined over TLS, faster than classic"
TLS_CONNECT=(env RMT_CONNECT_CONFIG=/dev/null "${TLS_ENV[@]}" RMT_TLS_SERVER_NAME=localhost)
python3 "$INTEROP_DIR/delay_relay.py" --target "127.0.0.1:$TLS_PORT" --delay 5 \
	--port-file "$WORK/tls-relay.port" >/dev/null 2>"$WORK/tls-relay.log" &
TLS_RELAY_PID=$!
for _ in $(seq 1 100); do
	[ -s "$WORK/tls-relay.port" ] && break
	sleep 0.05
done
TLS_RELAY=$(cat "$WORK/tls-relay.port")
mkdir -p "$WORK/tls-src"
head -c 2000000 /dev/urandom >"$WORK/tls-src/random.bin"
cp -a "$WORK/src" "$WORK/tls-src/"
(cd "$WORK" && tar -cf - tls-src | tar -tf -) | sort >"$WORK/tls-expected.list"
tar_over_tls() { # tar_over_tls PIPELINE TAR-ARGS...: one tar through rmt-connect --tls
	local pipeline=$1
	shift
	(cd "$WORK" && must_succeed "tar over TLS (RMT_PIPELINE=$pipeline)" "${TLS_CONNECT[@]}" \
		RMT_PORT="$TLS_RELAY" RMT_PIPELINE="$pipeline" RMT_TLS=1 \
		tar --rsh-command="$CONNECT" -b 20 "$@")
}
t0=$(date +%s.%N)
tar_over_tls 0 -cf "localhost:$WORK/spool/tls-classic.tar" tls-src
t1=$(date +%s.%N)
tar_over_tls 1 -cf "localhost:$WORK/spool/tls-piped.tar" tls-src
t2=$(date +%s.%N)
grep -q 'classic request and reply' "$WORK/client.err" &&
	fail "rmt-connect did not pipeline over TLS: $(cat "$WORK/client.err")"
cmp -s "$WORK/spool/tls-classic.tar" "$WORK/spool/tls-piped.tar" ||
	fail "the archive written pipelined over TLS differs from the classic one"
python3 -c 'import sys; a,b,c=map(float,sys.argv[1:]); sys.exit(0 if (c-b)*3 < (b-a) else 1)' \
	"$t0" "$t1" "$t2" || fail "writing: classic $(echo "$t1 - $t0" | bc) s, pipelined $(echo "$t2 - $t1" | bc) s"
t3=$(date +%s.%N)
tar_over_tls 0 -tf "localhost:$WORK/spool/tls-piped.tar"
t4=$(date +%s.%N)
tar_over_tls 1 -tf "localhost:$WORK/spool/tls-piped.tar"
t5=$(date +%s.%N)
sort "$WORK/client.out" | diff "$WORK/tls-expected.list" - >&2 || fail "tar -t pipelined over TLS"
python3 -c 'import sys; a,b,c=map(float,sys.argv[1:]); sys.exit(0 if (c-b)*3 < (b-a) else 1)' \
	"$t3" "$t4" "$t5" || fail "reading: classic $(echo "$t4 - $t3" | bc) s, pipelined $(echo "$t5 - $t4" | bc) s"
kill "$TLS_RELAY_PID" 2>/dev/null || true
wait "$TLS_RELAY_PID" 2>/dev/null || true
ok "write classic $(echo "$t1 - $t0" | bc) s, pipelined $(echo "$t2 - $t1" | bc) s; read $(echo "$t4 - $t3" | bc) s, $(echo "$t5 - $t4" | bc) s"

check "rmt-connect without a server: clear message, exit 255"
rc=0
run_client "$WORK/out" "$WORK/err" "$CONNECT" -p 1 127.0.0.1 /etc/rmt </dev/null || rc=$?
[ "$rc" -eq 255 ] && grep -q 'cannot connect to 127.0.0.1 port 1: Connection refused' "$WORK/err" ||
	{ cat "$WORK/err" >&2; fail "exit $rc"; }
ok

check_server_log
stop_rmtd
check_server_log
