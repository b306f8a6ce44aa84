#!/bin/bash
# test-mt.sh - mt-gnu (cpio 2.13, unmodified) through the rsh shim.
#
# Against a remote plain file every tape operation must end with a clear error
# (the MTIOCTOP fails with ENOTTY, E25) or success, never a hang, and must leave
# the file untouched. mt-gnu opens, sends one I<native op>\n<count>\n and exits 2
# with "rmtioctl failed: ..." on an E reply, without sending C.
# `status` sends I8 (MTNOP) and then a bare S (no newline); mt-gnu 2.13 then
# compares the reply size with sizeof(struct mtop) instead of struct mtget, so
# against any server that answers S it fails with EOVERFLOW (doc/protocol.md 2.8).
# On a virtual tape (when rmtd has one) the operations must succeed, and status
# must show exactly that client bug: the S was answered at once (no deadlock).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools mt-gnu timeout sha256sum
require_server
make_work
CLIENT_TIMEOUT=20

SPOOL=$WORK/spool
mkdir -p "$SPOOL"
shim_allow "$SPOOL"
MT=(mt-gnu --rsh-command="$RSH_SHIM")

PLAIN=$SPOOL/plain.dat
head -c 30000 /dev/urandom >"$PLAIN"
sum_before=$(sha256sum <"$PLAIN")

# op -> the I request mt-gnu sends (native Linux numbers); all fail with E25 on a file.
ops=(fsf bsf fsr bsr weof eof rewind offline rewoffl eject retension eom erase bsfm fsfm asf seek status)
for op in "${ops[@]}"; do
	check "mt-gnu $op on a remote plain file fails cleanly with ENOTTY"
	rc=0
	run_client "$WORK/out" "$WORK/err" "${MT[@]}" -f "localhost:$PLAIN" "$op" || rc=$?
	[ "$rc" -eq 2 ] || { cat "$WORK/err" >&2; fail "mt-gnu $op: exit status $rc, expected 2"; }
	grep -q "localhost:$PLAIN: rmtioctl failed: Inappropriate ioctl for device" "$WORK/err" || {
		cat "$WORK/err" >&2
		fail "mt-gnu $op: stderr lacks 'rmtioctl failed: Inappropriate ioctl for device'"
	}
	check_server_log
	ok
done

check "mt-gnu fsf 3 (explicit count) on a plain file fails cleanly"
rc=0
run_client "$WORK/out" "$WORK/err" "${MT[@]}" -f "localhost:$PLAIN" fsf 3 || rc=$?
[ "$rc" -eq 2 ] && grep -q 'rmtioctl failed: Inappropriate ioctl for device' "$WORK/err" ||
	{ cat "$WORK/err" >&2; fail "mt-gnu fsf 3: exit $rc"; }
ok

check "the plain file is unchanged after every operation (weof, erase, ...)"
[ "$(sha256sum <"$PLAIN")" = "$sum_before" ] || fail "an mt operation modified the plain file"
ok

check "mt-gnu on a missing remote file reports the open error"
rc=0
run_client "$WORK/out" "$WORK/err" "${MT[@]}" -f "localhost:$SPOOL/missing" rewind || rc=$?
[ "$rc" -ne 0 ] || fail "mt-gnu on a missing file succeeded"
grep -q 'No such file or directory' "$WORK/err" || { cat "$WORK/err" >&2; fail "no ENOENT message"; }
ok "exit $rc: $(head -n 1 "$WORK/err")"

if [ -z "${RMT_SERVER:-}" ]; then
	check "mt-gnu on a path outside the allowed directory is refused (E13)"
	rc=0
	run_client "$WORK/out" "$WORK/err" "${MT[@]}" -f "localhost:$WORK/outside" weof || rc=$?
	[ "$rc" -ne 0 ] || fail "mt-gnu weof outside the allowed directory succeeded"
	grep -q 'Permission denied' "$WORK/err" || { cat "$WORK/err" >&2; fail "no EACCES message"; }
	[ ! -e "$WORK/outside" ] || fail "a file was created outside the allowed directory"
	ok "exit $rc"
fi

if have_vtape; then
	TAPE=$SPOOL/tape0.tap
	new_vtape "$TAPE"
	# Operations a blank tape accepts: write two filemarks, then move around them.
	for cmd in "weof 2" "rewind" "fsf 1" "bsf 1" "eom" "rewind" "fsf 2" "rewind" "retension" "erase"; do
		check "mt-gnu $cmd on a virtual tape succeeds"
		# shellcheck disable=SC2086
		must_succeed "mt-gnu $cmd" "${MT[@]}" -f "localhost:$TAPE" $cmd
		ok
	done
	check "mt-gnu fsf 5 past the end of a blank tape fails with a message"
	rc=0
	run_client "$WORK/out" "$WORK/err" "${MT[@]}" -f "localhost:$TAPE" fsf 5 || rc=$?
	[ "$rc" -eq 2 ] && grep -q 'rmtioctl failed: ' "$WORK/err" ||
		{ cat "$WORK/err" >&2; fail "mt-gnu fsf 5: exit $rc"; }
	ok "$(head -n 1 "$WORK/err")"

	check "mt-gnu status: S answered at once, then mt-gnu 2.13's size check fails (EOVERFLOW)"
	rc=0
	start=$(date +%s)
	run_client "$WORK/out" "$WORK/err" "${MT[@]}" -f "localhost:$TAPE" status || rc=$?
	elapsed=$(($(date +%s) - start))
	[ "$rc" -eq 2 ] || { cat "$WORK/err" >&2; fail "mt-gnu status: exit $rc, expected 2"; }
	grep -q "localhost:$TAPE: rmtioctl failed: Value too large for defined data type" "$WORK/err" || {
		cat "$WORK/err" >&2
		fail "mt-gnu status: expected 'rmtioctl failed: Value too large for defined data type'"
	}
	[ "$elapsed" -le 5 ] || fail "mt-gnu status took ${elapsed}s: the bare S was not answered at once"
	ok "${elapsed}s"

	check "mt-gnu offline on a virtual tape succeeds"
	must_succeed "mt-gnu offline" "${MT[@]}" -f "localhost:$TAPE" offline
	ok
	check_server_log
fi
