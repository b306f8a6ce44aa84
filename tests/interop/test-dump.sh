#!/bin/bash
# test-dump.sh - Linux dump/restore 0.4b47 (unmodified) with RSH=rsh-shim.
#
# An ext2 image made with mke2fs -d is dumped at level 0 to localhost:path, a file
# is added with debugfs, and a level 1 follows (dumpdates in a private -D file).
# dump closes the archive and then reopens it O_RDONLY and closes again on the
# same connection ("wait for rewind"): a server that ends the session after C makes
# dump print "Lost connection" and exit 3 although the dump was complete. Then
# restore -t and restore -r (level 0, then level 1 on top) must give back the tree.
# dump runs through tests/interop/rundump.sh (a private mount namespace),
# which needs root.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools dump restore mke2fs debugfs unshare python3 diff timeout mt-gnu
require_server
[ "$(id -u)" -eq 0 ] || fail "dump needs root (rundump.sh uses unshare -m): run as root"
make_work

SRC=$WORK/src
SPOOL=$WORK/spool
mkdir -p "$SPOOL"
shim_allow "$SPOOL"
export RSH=$RSH_SHIM

say "building the source tree and the ext2 image"
python3 - "$SRC" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(99)
os.makedirs(root)
for d in range(5):
    sub = os.path.join(root, 'dir%d' % d, 'inner')
    os.makedirs(sub)
    for f in range(12):
        with open(os.path.join(sub, 'file%02d' % f), 'wb') as fh:
            fh.write(rng.randbytes(rng.choice([0, 1, 1023, 1024, 1025, rng.randrange(0, 40000)])))
with open(os.path.join(root, 'big.bin'), 'wb') as fh:
    fh.write(rng.randbytes(2 * 1024 * 1024 + 333))
with open(os.path.join(root, 'name with spaces'), 'w') as fh:
    fh.write('spaces\n')
with open(os.path.join(root, 'utf8-\u00fc\u00f1\u00ee'), 'w') as fh:
    fh.write('utf8\n')
os.symlink('big.bin', os.path.join(root, 'link'))
os.makedirs(os.path.join(root, 'empty'))
PYEOF
IMG=$WORK/fs.ext2
mke2fs -q -t ext2 -b 1024 -d "$SRC" -F "$IMG" 16M >"$WORK/mke2fs.log" 2>&1 ||
	{ cat "$WORK/mke2fs.log" >&2; fail "mke2fs -d failed"; }
# dump's dates have one-second resolution and level 1 takes every inode changed
# in or after the level 0 second: keep the image's inodes out of that second.
sleep 1
DUMPDATES=$WORK/dumpdates

run_dump() { # run_dump LEVEL ARCHIVE
	local level=$1 archive=$2 rc=0
	check "dump -$level to localhost:$archive (RSH=rsh-shim)"
	run_client "$WORK/dump.out" "$WORK/dump.err" \
		sh "$RUNDUMP" dump "-$level" -u -D "$DUMPDATES" -f "localhost:$archive" "$IMG" || rc=$?
	cat "$WORK/dump.out" "$WORK/dump.err" >"$WORK/dump.log"
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "$WORK/dump.log" >&2
		fail "dump -$level: exit status $rc"
	fi
	if grep -q -i 'lost connection' "$WORK/dump.log"; then
		tail -n 20 "$WORK/dump.log" >&2
		fail "dump -$level: 'Lost connection' (the server ended the session at C; dump reopens on it)"
	fi
	grep -q 'DUMP IS DONE' "$WORK/dump.log" || fail "dump -$level: no 'DUMP IS DONE'"
	[ -s "$archive" ] || fail "dump -$level: archive is empty"
	check_server_log
	ok "$(stat -c %s "$archive") bytes"
}

restore_list() { # restore_list ARCHIVE: the paths restore -t shows, sorted
	must_succeed "restore -t" restore -t -f "localhost:$1"
	sed -n 's/^ *[0-9][0-9]*\t//p' "$WORK/client.out" | LC_ALL=C sort
}

compare_restored() { # compare_restored WHAT EXPECTED_TREE RESTORED_TREE
	check "$1: restored tree equals the source (diff -r)"
	if ! diff -r --no-dereference -x lost+found -x restoresymtable "$2" "$3" >"$WORK/diff.out" 2>&1; then
		head -n 20 "$WORK/diff.out" >&2
		fail "$1: restored tree differs from the source"
	fi
	ok
}

L0=$SPOOL/level0.dump
L1=$SPOOL/level1.dump
run_dump 0 "$L0"

check "restore -t lists every file of the level 0 dump"
restore_list "$L0" >"$WORK/l0.list"
(cd "$SRC" && find .) | LC_ALL=C sort >"$WORK/src.list"
grep -v -e '^\./lost+found$' "$WORK/l0.list" >"$WORK/l0.filtered"
if ! diff "$WORK/src.list" "$WORK/l0.filtered" >"$WORK/diff.out"; then
	head -n 20 "$WORK/diff.out" >&2
	fail "restore -t listing differs from the source tree"
fi
ok "$(wc -l <"$WORK/l0.list") entries"

check "restore -r of level 0 into an empty directory"
mkdir "$WORK/restored"
(cd "$WORK/restored" && must_succeed "restore -r level 0" restore -r -f "localhost:$L0")
ok
compare_restored "level 0" "$SRC" "$WORK/restored"

# Level 1: add a file with debugfs (ctime after the level 0 date).
sleep 1
printf 'added after the level 0 dump\n' >"$WORK/added.txt"
debugfs -w -R "write $WORK/added.txt added.txt" "$IMG" >/dev/null 2>&1 || fail "debugfs write failed"
cp "$WORK/added.txt" "$SRC/added.txt"
run_dump 1 "$L1"

check "restore -t of level 1 shows the added file"
restore_list "$L1" >"$WORK/l1.list"
grep -q -x './added.txt' "$WORK/l1.list" || { cat "$WORK/l1.list" >&2; fail "level 1 lacks added.txt"; }
grep -q -x './big.bin' "$WORK/l1.list" && fail "level 1 contains big.bin, which did not change"
ok

check "restore -r of level 1 on top of level 0"
(cd "$WORK/restored" && must_succeed "restore -r level 1" restore -r -f "localhost:$L1")
ok
compare_restored "level 0 + 1" "$SRC" "$WORK/restored"

check "dumpdates recorded both levels"
grep -q " 0 " "$DUMPDATES" && grep -q " 1 " "$DUMPDATES" || { cat "$DUMPDATES" >&2; fail "dumpdates incomplete"; }
ok
check_server_log

# The same level 0 onto a virtual tape: dump writes records, closes (filemark) and
# reopens on the same connection; after mt rewind, restore reads it back.
if have_vtape; then
	TAPE=$SPOOL/dump.tap
	new_vtape "$TAPE"
	run_dump 0 "$TAPE"
	check "vtape: mt rewind, then restore -r of the level 0 from the tape"
	must_succeed "mt rewind" mt-gnu --rsh-command="$RSH_SHIM" -f "localhost:$TAPE" rewind
	mkdir "$WORK/restored-tape"
	(cd "$WORK/restored-tape" && must_succeed "restore -r from vtape" restore -r -f "localhost:$TAPE")
	ok
	compare_restored "vtape level 0" "$SRC" "$WORK/restored-tape"
fi
