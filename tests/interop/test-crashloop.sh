#!/bin/bash
# test-crashloop.sh - rmtd killed (SIGKILL) at random points of real GNU tar and
# dump runs, to virtual tapes and to plain files, 12 times.
#
# Every client talks to rmtd through tests/interop/ack-shim, which writes down
# each W record the server acknowledged. After each kill:
#   - a plain file, once opened again (which cuts off a record the kill tore),
#     holds exactly the acknowledged bytes (and at most the one record that was
#     in flight, whole);
#   - on a virtual tape the same client then writes a complete archive to the same
#     non-rewinding NAME.tap, which must go after the killed one: the killed
#     archive's tape file begins with every acknowledged record, and ends with the
#     filemark the next open wrote.
# At the end every image reads with rmt-vtape list and simh's mtdump, and every
# complete archive (tar -x, restore -r) gives back its source byte for byte.
# RMTD_CRASHLOOP_SEED picks another random sequence (the default is fixed).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools tar dump restore mke2fs unshare python3 timeout diff mtdump
require_server
have_vtape || fail "the crash loop needs the virtual tape"
[ "$(id -u)" -eq 0 ] || fail "dump needs root (rundump.sh uses unshare -m): run as root"
make_work

D=$WORK/d
mkdir "$D"
ACK_SHIM=$INTEROP_DIR/ack-shim
CHECK="python3 $INTEROP_DIR/crashcheck.py"
VTAPE=$RMTD_BUILD_DIR/rmtd/rmt-vtape
shim_allow "$D" -d
RANDOM=${RMTD_CRASHLOOP_SEED:-1212}

say "building the source trees and the ext2 image"
python3 - "$WORK/src" <<'PYEOF'
import os, random, sys
root, rng = sys.argv[1], random.Random(1212)
for d in range(4):
    sub = os.path.join(root, 'dir%d' % d)
    os.makedirs(sub)
    for f in range(10):
        with open(os.path.join(sub, 'file%02d' % f), 'wb') as fh:
            fh.write(rng.randbytes(rng.choice([0, 1, 1023, 4096, 50000, 200000])))
with open(os.path.join(root, 'big.bin'), 'wb') as fh:
    fh.write(rng.randbytes(2 * 1024 * 1024 + 17))
os.symlink('big.bin', os.path.join(root, 'link'))
PYEOF
IMG=$WORK/fs.ext2
mke2fs -q -t ext2 -b 1024 -d "$WORK/src" -F "$IMG" 16M >"$WORK/mke2fs.log" 2>&1 ||
	{ cat "$WORK/mke2fs.log" >&2; fail "mke2fs -d failed"; }

# client KIND TARGET: one archive of the source to TARGET (rsh through ack-shim)
client() {
	case $1 in
	tar) tar -c -b "$TAR_BLOCKING" -f "localhost:$2" --rsh-command="$ACK_SHIM" -C "$WORK/src" . ;;
	dump) RSH=$ACK_SHIM sh "$RUNDUMP" dump -0 -q -D "$WORK/dumpdates" -f "localhost:$2" "$IMG" ;;
	esac
}

acked() { # acked PREFIX: W records acknowledged so far
	if [ -f "$1.lens" ]; then grep -c '^W' "$1.lens" || true; else echo 0; fi
}

# crash KIND TARGET PREFIX: start the client, kill rmtd after a random number of
# acknowledged records (and a random moment more), wait for the client.
crash() {
	local kind=$1 target=$2 prefix=$3 threshold pid
	threshold=$((RANDOM % 120))
	rm -f "$WORK/pid"
	ACK_LOG=$prefix ACK_PID=$WORK/pid ACK_DELAY=0.002 \
		timeout -k 5 60 bash -c "$(declare -f client); client $kind '$target'" \
		>"$WORK/client.out" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ "$(acked "$prefix")" -lt "$threshold" ]; do
		sleep 0.005
	done
	sleep "0.0$((RANDOM % 10))"
	if [ -s "$WORK/pid" ]; then
		kill -KILL "$(cat "$WORK/pid")" 2>/dev/null || true
	fi
	wait "$pid" || true
	KILLED_AT=$(acked "$prefix")
}

complete() { # complete KIND TARGET PREFIX: an archive that must succeed
	local rc=0
	ACK_LOG=$3 ACK_PID=$WORK/pid.complete ACK_DELAY=0 \
		run_client "$WORK/client.out" "$WORK/client.err" \
		bash -c "$(declare -f client); client $1 '$2'" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$WORK/client.out" "$WORK/client.err" >&2; fail "$1 to $2: exit status $rc"; }
	check_server_log
}

export TAR_BLOCKING=20 WORK IMG ACK_SHIM RUNDUMP INTEROP_DIR
declare -A tape_files complete_files
for kind in tar dump; do
	new_vtape "$D/$kind.tap"
	tape_files[$kind]=0
	complete_files[$kind]=""
done

for round in $(seq 0 11); do
	case $((round % 4)) in
	0) kind=tar medium=vtape ;;
	1) kind=dump medium=vtape ;;
	2) kind=tar medium=file ;;
	3) kind=dump medium=file ;;
	esac
	# tar to files alternates 10 KiB and 128 KiB records
	TAR_BLOCKING=20
	[ $((round % 8)) -eq 6 ] && TAR_BLOCKING=256
	if [ "$medium" = vtape ]; then
		tape=$D/$kind.tap
		check "round $round: $kind to $kind.tap, rmtd killed, then a complete $kind to the same tape"
		crash "$kind" "$tape" "$WORK/ack$round.crash"
		complete "$kind" "$tape" "$WORK/ack$round.done"
		before=${tape_files[$kind]}
		$CHECK files "$tape" >"$WORK/files" || fail "$tape does not parse"
		now=$(wc -l <"$WORK/files")
		grep -q 'no-mark' "$WORK/files" && fail "a tape file without its filemark: $(tr '\n' ' ' <"$WORK/files")"
		if [ "$now" -eq $((before + 2)) ]; then
			$CHECK holds "$tape" "$before" "$WORK/ack$round.crash" >"$WORK/why" ||
				fail "the killed archive: $(cat "$WORK/why")"
			done_file=$((before + 1))
		elif [ "$now" -eq $((before + 1)) ] && [ "$KILLED_AT" -eq 0 ]; then
			done_file=$before # killed before its first record reached the tape
		else
			fail "$tape had $before tape files, now $now, after a kill at $KILLED_AT records"
		fi
		$CHECK holds "$tape" "$done_file" "$WORK/ack$round.done" >"$WORK/why" ||
			fail "the complete archive: $(cat "$WORK/why")"
		tape_files[$kind]=$now
		complete_files[$kind]="${complete_files[$kind]} $done_file"
		ok "killed after $KILLED_AT records; the tape has $now files"
	else
		file=$D/$kind-$round.archive
		record=10240
		[ "$kind" = tar ] && record=$((TAR_BLOCKING * 512))
		check "round $round: $kind to a plain file ($record-byte records), rmtd killed"
		crash "$kind" "$file" "$WORK/ack$round.crash"
		# The next open cuts off a record the kill tore inside write(2) (rmtd(8)).
		if [ -e "$file" ]; then
			# shellcheck disable=SC2086 # RMTD_SHIM_ARGS is a list of arguments
			printf 'O%s\n0\nC\n' "$file" | "$RMTD" --stdio $RMTD_SHIM_ARGS >"$WORK/reopen.out" 2>>"$WORK/server.log"
			[ "$(cat "$WORK/reopen.out")" = "$(printf 'A0\nA0')" ] ||
				fail "the next open of $file answered: $(cat "$WORK/reopen.out")"
			[ ! -e "$file.rmtd-journal" ] || fail "$file.rmtd-journal is still there after the next open"
		fi
		python3 - "$file" "$WORK/ack$round.crash" <<'PYEOF' >"$WORK/why" || fail "$(cat "$WORK/why")"
import os, sys
sys.path.insert(0, os.environ['INTEROP_DIR'])
from crashcheck import read_acks
path, prefix = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read() if os.path.exists(path) else b''
sessions = [s for s in read_acks(prefix) if s] if os.path.exists(prefix + '.lens') else []
acked = b''.join(sessions[-1]) if sessions else b''
# dump reopens the archive read-only after writing it: the writing session is the first
if sessions:
    acked = b''.join(sessions[0])
if data[:len(acked)] != acked:
    sys.exit('%s: the acknowledged %d bytes are not all there (file: %d bytes)' % (
        path, len(acked), len(data)))
rest = len(data) - len(acked)
size = len(sessions[0][0]) if sessions else rest
if rest not in (0, size):
    sys.exit('%s: %d bytes after the %d acknowledged ones: not one whole record of %d' % (
        path, rest, len(acked), size))
PYEOF
		complete "$kind" "$file.complete" "$WORK/ack$round.done"
		complete_files[$kind-file]="${complete_files[$kind-file]:-} $file.complete"
		ok "killed after $KILLED_AT records; $(stat -c %s "$file" 2>/dev/null || echo 0) bytes"
	fi
done

for kind in tar dump; do
	tape=$D/$kind.tap
	check "$kind.tap reads with rmt-vtape list and mtdump (${tape_files[$kind]} tape files)"
	"$VTAPE" list "$tape" >"$WORK/list" 2>&1 || fail "rmt-vtape list: $(cat "$WORK/list")"
	[ "$(grep -c '^file ' "$WORK/list")" -eq "${tape_files[$kind]}" ] ||
		fail "rmt-vtape list shows $(grep -c '^file ' "$WORK/list") files"
	mtdump "$tape" >"$WORK/mtdump" 2>&1 || fail "mtdump failed"
	grep -q "end of tape file ${tape_files[$kind]}\$" "$WORK/mtdump" ||
		fail "mtdump does not end after ${tape_files[$kind]} tape files: $(tail -n 3 "$WORK/mtdump")"
	ok
done

# extracted TREE WHAT: the tree equals the source
extracted() {
	if ! diff -r --no-dereference -x lost+found -x restoresymtable "$WORK/src" "$1" >"$WORK/diff.out" 2>&1; then
		head -n 20 "$WORK/diff.out" >&2
		fail "$2: the extracted tree differs from the source"
	fi
}

n=0
for kind in tar dump; do
	for f in ${complete_files[$kind]}; do
		$CHECK extract "$D/$kind.tap" "$f" "$WORK/archive"
		set -- "$WORK/archive"
		n=$((n + 1))
		rm -rf "$WORK/out" && mkdir "$WORK/out"
		if [ "$kind" = tar ]; then
			tar -x -f "$WORK/archive" -C "$WORK/out" 2>"$WORK/x.err" ||
				fail "tar -x of tape file $f of tar.tap: $(tail -n 3 "$WORK/x.err")"
		else
			(cd "$WORK/out" && restore -r -f "$WORK/archive" >"$WORK/x.err" 2>&1) ||
				fail "restore -r of tape file $f of dump.tap: $(tail -n 3 "$WORK/x.err")"
		fi
		extracted "$WORK/out" "$kind.tap file $f"
	done
	for f in ${complete_files[$kind-file]:-}; do
		n=$((n + 1))
		rm -rf "$WORK/out" && mkdir "$WORK/out"
		if [ "$kind" = tar ]; then
			tar -x -f "$f" -C "$WORK/out" 2>"$WORK/x.err" || fail "tar -x of $f: $(tail -n 3 "$WORK/x.err")"
		else
			(cd "$WORK/out" && restore -r -f "$f" >"$WORK/x.err" 2>&1) ||
				fail "restore -r of $f: $(tail -n 3 "$WORK/x.err")"
		fi
		extracted "$WORK/out" "$f"
	done
done
check "every complete archive extracts byte for byte"
ok "$n archives"
