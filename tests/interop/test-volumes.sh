#!/bin/bash
# test-volumes.sh - real clients on virtual tapes, as on a drive:
#  - three tar archives separated by filemarks, each found with mt fsf, listed and
#    extracted; a fourth appended after mt eom;
#  - dump level 0 and level 1 as files 0 and 1 of one tape; restore from the second;
#  - a tar archive and a dump spanning two small virtual tapes: the end of medium is
#    reached (early warning, ENOSPC), the client goes on with the next volume, and
#    everything comes back byte for byte.
. "$(dirname "$0")/lib.sh"

require_server
require_tools tar mt-gnu dump restore mke2fs debugfs python3 setsid
make_work
VTAPE=$RMTD_BUILD_DIR/rmtd/rmt-vtape
[ -x "$VTAPE" ] || fail "rmt-vtape is not built"
mkdir -p "$WORK/spool" "$WORK/out"
shim_allow "$WORK/spool"
S=$WORK/spool
T=localhost:$S
mt() { must_succeed "mt-gnu $*" mt-gnu --rsh-command="$RSH_SHIM" -f "$T/files.tap" "$@"; }
mktree() { mkdir -p "$1/sub"; for i in $(seq 1 30); do echo "$1 $i" >"$1/f$i"; done
	head -c 200000 /dev/urandom >"$1/sub/blob"; }

for n in 1 2 3 4; do mktree "$WORK/tree$n"; done

check "three tar archives on one tape, separated by filemarks"
for n in 1 2 3; do
	must_succeed "tar -c tree$n" tar --rsh-command="$RSH_SHIM" -cf "$T/files.tap" -C "$WORK" "tree$n"
done
ok
for n in 1 2 3; do
	check "mt rewind, mt fsf $((n - 1)), tar -t and -x of archive $n"
	mt rewind
	[ "$n" -gt 1 ] && mt fsf $((n - 1))
	must_succeed "tar -t" tar --rsh-command="$RSH_SHIM" -tf "$T/files.tap"
	grep -q "^tree$n/f7$" "$WORK/client.out" || fail "archive $n lists $(head -1 "$WORK/client.out")"
	mt rewind
	[ "$n" -gt 1 ] && mt fsf $((n - 1))
	rm -rf "$WORK/out/tree$n"
	must_succeed "tar -x" tar --rsh-command="$RSH_SHIM" -xf "$T/files.tap" -C "$WORK/out"
	diff -r "$WORK/tree$n" "$WORK/out/tree$n" || fail "archive $n differs"
	ok
done
check "mt eom, then a fourth archive appended behind the third"
mt eom
must_succeed "tar -c tree4" tar --rsh-command="$RSH_SHIM" -cf "$T/files.tap" -C "$WORK" tree4
mt rewind
mt fsf 3
must_succeed "tar -x tree4" tar --rsh-command="$RSH_SHIM" -xf "$T/files.tap" -C "$WORK/out"
diff -r "$WORK/tree4" "$WORK/out/tree4" || fail "archive 4 differs"
"$VTAPE" list "$S/files.tap" | grep -c filemark | grep -qx 4 || fail "expected 4 filemarks"
ok

check "dump level 0 and level 1 as the first two files of one tape"
mke2fs -q -t ext2 -b 1024 -d "$WORK/tree1" -F "$WORK/fs.img" 8M
sleep 1.1 # dump compares inode times with its dates to the second
RSH=$RSH_SHIM must_succeed "dump -0" "$RUNDUMP" \
	dump -0 -u -D "$WORK/dumpdates" -f "$T/dumps.tap" "$WORK/fs.img"
echo "added later" >"$WORK/added.txt"
sleep 1.1
debugfs -w -R "write $WORK/added.txt added.txt" "$WORK/fs.img" >/dev/null 2>&1
RSH=$RSH_SHIM must_succeed "dump -1" "$RUNDUMP" \
	dump -1 -u -D "$WORK/dumpdates" -f "$T/dumps.tap" "$WORK/fs.img"
ok
check "restore -t from file 1 (the level 1 dump) shows only what changed"
must_succeed "mt rewind" mt-gnu --rsh-command="$RSH_SHIM" -f "$T/dumps.tap" rewind
must_succeed "mt fsf 1" mt-gnu --rsh-command="$RSH_SHIM" -f "$T/dumps.tap" fsf 1
RSH=$RSH_SHIM must_succeed "restore -t" restore -t -f "$T/dumps.tap"
grep -q "added.txt" "$WORK/client.out" || fail "level 1 lacks added.txt"
! grep -q "f7$" "$WORK/client.out" || fail "level 1 holds unchanged files"
ok

check "tar -M spans two 2 MiB virtual tapes and extracts byte for byte"
"$VTAPE" create --capacity 2M --early-warning 256K "$S/mv1.tap" >/dev/null
"$VTAPE" create --capacity 2M --early-warning 256K "$S/mv2.tap" >/dev/null
head -c 3000000 /dev/urandom >"$WORK/big.bin"
must_succeed "tar -c -M" tar --rsh-command="$RSH_SHIM" -c -M -f "$T/mv1.tap.rewind" \
	-f "$T/mv2.tap.rewind" -C "$WORK" big.bin
[ "$("$VTAPE" list "$S/mv2.tap" | grep -c 'x 10240')" -ge 1 ] || fail "nothing on the second tape"
must_succeed "tar -x -M" tar --rsh-command="$RSH_SHIM" -x -M -f "$T/mv1.tap.rewind" \
	-f "$T/mv2.tap.rewind" -C "$WORK/out"
cmp "$WORK/big.bin" "$WORK/out/big.bin" || fail "big.bin differs"
ok

# The operator's job at the end of a volume: unload the full cartridge, load the
# next one, behind the same drive name (dump keeps one connection for all volumes).
cat >"$WORK/swap.sh" <<EOF
#!/bin/sh
cd "$S" || exit 2
[ -e blank.tap ] || exit 2 # no cartridge left: dump aborts
n=\$(ls volume*.tap 2>/dev/null | wc -l)
for s in "" .idx .meta; do mv "drive.tap\$s" "volume\$((n + 1)).tap\$s" 2>/dev/null; done
for s in "" .idx .meta; do mv "blank.tap\$s" "drive.tap\$s" 2>/dev/null; done
exit 0
EOF
chmod +x "$WORK/swap.sh"

check "dump spans two 12 MiB virtual tapes (end of tape script changes cartridges)"
cp -r "$WORK/tree1" "$WORK/big-tree"
head -c 14000000 /dev/urandom >"$WORK/big-tree/large" # two volumes of about 11 MB
mke2fs -q -t ext2 -b 1024 -d "$WORK/big-tree" -F "$WORK/big.img" 40M
"$VTAPE" create --capacity 12M --early-warning 1M "$S/drive.tap" >/dev/null
"$VTAPE" create --capacity 12M --early-warning 1M "$S/blank.tap" >/dev/null
RSH=$RSH_SHIM must_succeed "dump -0 over two volumes" setsid \
	"$RUNDUMP" dump -0 -a -F "$WORK/swap.sh" \
	-f "$T/drive.tap.rewind" "$WORK/big.img"
grep -q "Volume 1 completed" "$WORK/client.err" "$WORK/client.out" ||
	fail "dump never reached the end of the first volume"
[ -e "$S/volume1.tap" ] || fail "the first volume was not unloaded"
[ ! -e "$S/volume2.tap" ] && [ ! -e "$S/blank.tap" ] || fail "expected exactly two volumes"
ok

check "restore -r over both volumes gives the tree back"
for s in "" .idx .meta; do mv "$S/drive.tap$s" "$S/volume2.tap$s"; mv "$S/volume1.tap$s" "$S/drive.tap$s"; done
mkdir "$WORK/restored"
RSH=$RSH_SHIM python3 - "$S" "$WORK/restored" "$T/drive.tap.rewind" <<'PY' || fail "restore over two volumes"
import os, select, subprocess, sys, time
spool, target, device = sys.argv[1:]
p = subprocess.Popen(["setsid", "restore", "-r", "-f", device], cwd=target, stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
out, swapped, deadline = b"", False, time.time() + 120
while p.poll() is None and time.time() < deadline:
    if select.select([p.stdout], [], [], 0.5)[0]:
        out += os.read(p.stdout.fileno(), 4096)
        if b"Mount tape volume 2" in out and not swapped:
            for s in ("", ".idx", ".meta"):   # the operator changes the cartridge
                os.rename(os.path.join(spool, "drive.tap" + s), os.path.join(spool, "volume1.tap" + s))
                os.rename(os.path.join(spool, "volume2.tap" + s), os.path.join(spool, "drive.tap" + s))
            swapped = True
            p.stdin.write(b"\n")
            p.stdin.flush()
if p.poll() is None:
    p.kill()
    sys.exit("restore hung:\n" + out.decode(errors="replace")[-500:])
sys.exit(0 if swapped and p.returncode == 0 else "restore: %s\n%s" % (p.returncode, out.decode(errors="replace")[-500:]))
PY
rm -rf "$WORK/restored/lost+found" "$WORK/restored/restoresymtable"
diff -r "$WORK/big-tree" "$WORK/restored" || fail "the restored tree differs"
ok
