#!/bin/bash
# test-dump-eot.sh - dump -a (write until the end of the tape) over three small
# virtual tapes, with every rmt exchange written down by ack-shim:
#  - each full volume sees st's early-warning sequence: the write that crosses
#    early warning succeeds, then refusals (ENOSPC) and allowed writes alternate;
#  - each volume holds exactly the records the server acknowledged, in order;
#  - nothing is lost or misplaced: dump retries a refused record, st lets the
#    retry through, and dump still counts the record as not written, so it writes
#    it again at the start of the next volume. The next volume begins (after its
#    volume header) with exactly the refused records' blocks, and with those
#    repeats left out the volumes hold every block of the file once, in order;
#  - restore -r through rmtd gives the same tree as restore -r from the same
#    volumes copied to plain files. (restore 0.4b47 miscounts those repeats from
#    the third volume on, on real drives as here: doc/st-behaviour.md.)
#  - on cartridges without early warning (the end is the physical end, where
#    every write is refused) nothing is repeated and restore gets the tree back.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_server
require_tools dump restore mke2fs unshare python3 setsid diff
[ "$(id -u)" -eq 0 ] || fail "dump needs root (rundump.sh uses unshare -m): run as root"
make_work
VTAPE=$RMTD_BUILD_DIR/rmtd/rmt-vtape
[ -x "$VTAPE" ] || fail "rmt-vtape is not built"
S=$WORK/spool
mkdir -p "$S" "$WORK/tree" "$WORK/via-rmt" "$WORK/via-files" "$WORK/files"
shim_allow "$S"
export ACK_LOG=$WORK/ack
CAPACITY=3145728 EARLY_WARNING=262144

# A file whose 1 KiB blocks (dump's TP_BSIZE) name their own index.
for i in $(seq 1 20); do echo "small $i" >"$WORK/tree/f$i"; done
python3 -c 'import sys
with open(sys.argv[1], "wb") as f:
    for i in range(7000):
        f.write(("BLK%08d" % i).encode().ljust(1024, b"."))' "$WORK/tree/large"
mke2fs -q -t ext2 -b 1024 -d "$WORK/tree" -F "$WORK/fs.img" 20M
for v in drive blank1 blank2; do
	"$VTAPE" create --capacity "$CAPACITY" --early-warning "$EARLY_WARNING" "$S/$v.tap" >/dev/null
done
# The operator at the end of a volume: unload the full cartridge, load a blank.
cat >"$WORK/swap.sh" <<EOF
#!/bin/sh
cd "$S" || exit 2
b=\$(ls blank*.tap 2>/dev/null | head -n 1)
[ -n "\$b" ] || exit 2
n=\$(ls volume*.tap 2>/dev/null | wc -l)
for s in "" .idx .meta; do mv "drive.tap\$s" "volume\$((n + 1)).tap\$s" 2>/dev/null; done
for s in "" .idx .meta; do mv "\${b%.tap}.tap\$s" "drive.tap\$s" 2>/dev/null; done
exit 0
EOF
chmod +x "$WORK/swap.sh"

check "dump -a spans three 3 MiB virtual tapes"
RSH=$INTEROP_DIR/ack-shim must_succeed "dump -0 -a" setsid \
	"$RUNDUMP" dump -0 -a -F "$WORK/swap.sh" \
	-f "localhost:$S/drive.tap.rewind" "$WORK/fs.img"
grep -q "on 3 volume(s)" "$WORK/client.err" "$WORK/client.out" ||
	fail "expected a dump on 3 volumes: $(grep -h volume "$WORK/client.err" | tail -n 1)"
for s in "" .idx .meta; do mv "$S/drive.tap$s" "$S/volume3.tap$s" 2>/dev/null || true; done
ok

check "st's early-warning sequence, and each volume holds exactly its acknowledged records"
python3 - "$INTEROP_DIR" "$S" "$ACK_LOG" "$CAPACITY" "$EARLY_WARNING" <<'PY' || fail "see above"
import re, sys
sys.path.insert(0, sys.argv[1])
import crashcheck
spool, prefix, capacity, early = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sessions, current = [], None
for line in open(prefix + ".lens"):
    kind = line.split()[0]
    if kind == "O":
        current = []
        sessions.append(current)
    elif kind in ("W", "E"):
        current.append(line.split())
sessions = [s for s in sessions if s]
if len(sessions) != 3:
    sys.exit("%d writing sessions, expected 3" % len(sessions))
for n, events in enumerate(sessions):
    if any(e[0] == "E" and e[1] != "28" for e in events):
        sys.exit("volume %d: a write failed other than with ENOSPC: %s" % (n + 1, events))
    pattern = "".join(e[0] for e in events)
    if n < 2:
        # The record that crosses early warning is the first whose end (SIMH
        # framing: 4 + length + 4) lies past capacity - early warning.
        span = int(events[0][1]) + 8
        crossing = (capacity - early) // span + 1
        if not re.fullmatch("W{%d}(EW)+" % crossing, pattern):
            sys.exit("volume %d: writes %s, expected %d accepted, then ENOSPC and "
                     "an allowed write alternating" % (n + 1, pattern, crossing))
    elif "E" in pattern:
        sys.exit("volume 3 was not meant to fill: %s" % pattern)
    image = "%s/volume%d.tap" % (spool, n + 1)
    why = crashcheck.holds(image, 0, prefix, n)
    if why:
        sys.exit("volume %d: %s" % (n + 1, why))
    records, marked = crashcheck.read_image(image)[0]
    if len(records) != pattern.count("W") or not marked:
        sys.exit("volume %d: %d records (mark: %s), %d acknowledged" %
                 (n + 1, len(records), marked, pattern.count("W")))
PY
ok

check "the records refused at the end of a volume open the next one; no block lost or misplaced"
python3 - "$INTEROP_DIR" "$S" "$ACK_LOG" <<'PY' || fail "see above"
import struct, sys
sys.path.insert(0, sys.argv[1])
import crashcheck
spool, prefix = sys.argv[2], sys.argv[3]
sessions, current = [], None
for line in open(prefix + ".lens"):
    kind = line.split()
    if kind[0] == "O":
        current = []
        sessions.append(current)
    elif kind[0] in ("W", "E"):
        current.append(kind)
# Blocks (TP_BSIZE, 1 KiB) refused with ENOSPC per writing session, one per volume.
refused = [sum(int(e[2]) // 1024 for e in s if e[0] == "E") for s in sessions if s]
vols = []
for n in range(3):
    records, _ = crashcheck.read_image("%s/volume%d.tap" % (spool, n + 1))[0]
    data = b"".join(records)
    vols.append([data[i:i + 1024] for i in range(0, len(data), 1024)])
TS_TAPE, NFS_MAGIC = 1, 60012
stream = list(vols[0])
for n in (1, 2):
    head = vols[n][0]
    kind, volume, magic = (struct.unpack_from("<i", head, o)[0] for o in (0, 12, 24))
    if (kind, volume, magic) != (TS_TAPE, n + 1, NFS_MAGIC):
        sys.exit("volume %d does not begin with its volume header" % (n + 1))
    k = refused[n - 1]
    if k == 0 or vols[n][1:1 + k] != vols[n - 1][-k:]:
        sys.exit("volume %d does not begin with the %d blocks refused at the end of volume %d"
                 % (n + 1, k, n))
    stream += vols[n][1 + k:]
numbers = [int(b[3:11]) for b in stream if b.startswith(b"BLK")]
if numbers != list(range(7000)):
    bad = next(i for i, v in enumerate(numbers + [None]) if v != i)
    sys.exit("the file's blocks are not all there once and in order: block %d is %s"
             % (bad, numbers[bad] if bad < len(numbers) else "missing"))
PY
ok

# restore -r over the three volumes; the "operator" loads volume n when asked.
# MODE rmt: through rmtd and the drive name; MODE files: plain files.
restore_three() {
	local mode=$1 target=$2
	RSH=$RSH_SHIM timeout -k 5 120 python3 - "$mode" "$S" "$WORK/files" "$target" <<'PY'
import os, select, shutil, subprocess, sys, time
mode, spool, files, target = sys.argv[1:]
def load(n):
    if mode == "rmt":
        for s in ("", ".idx", ".meta"):
            if os.path.exists(os.path.join(spool, "volume%d.tap%s" % (n, s))):
                shutil.copy(os.path.join(spool, "volume%d.tap%s" % (n, s)),
                            os.path.join(spool, "drive.tap" + s))
    else:
        shutil.copy(os.path.join(files, "volume%d" % n), os.path.join(files, "drive"))
load(1)
device = "localhost:%s/drive.tap.rewind" % spool if mode == "rmt" else os.path.join(files, "drive")
p = subprocess.Popen(["setsid", "restore", "-r", "-y", "-f", device], cwd=target,
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
out, volume, seen = b"", 1, 0
while p.poll() is None:
    if select.select([p.stdout], [], [], 0.5)[0]:
        out += os.read(p.stdout.fileno(), 65536)
        at = out.find(b"Mount tape volume %d" % (volume + 1), seen)
        if at >= 0:
            seen, volume = at + 1, volume + 1
            load(volume)
            p.stdin.write(b"\n")
            p.stdin.flush()
out += p.stdout.read()
open(os.path.join(os.path.dirname(target), mode + ".out"), "wb").write(out)
sys.exit(0 if volume == 3 and p.returncode == 0 else "restore (%s): exit %s, %d volumes"
         % (mode, p.returncode, volume))
PY
}

check "restore -r through rmtd gives the same tree as from the volumes as plain files"
for n in 1 2 3; do
	python3 "$INTEROP_DIR/crashcheck.py" extract "$S/volume$n.tap" 0 "$WORK/files/volume$n"
done
restore_three rmt "$WORK/via-rmt" || fail "restore through rmtd: $(tail -c 300 "$WORK/rmt.out")"
restore_three files "$WORK/via-files" || fail "restore from files: $(tail -c 300 "$WORK/files.out")"
rm -f "$WORK"/via-*/restoresymtable
diff -r "$WORK/via-rmt" "$WORK/via-files" >/dev/null || fail "restore through rmtd differs from files"
for i in $(seq 1 20); do
	cmp -s "$WORK/tree/f$i" "$WORK/via-rmt/f$i" || fail "f$i differs after restore"
done
# Everything on the first two volumes comes back (restore's miscount starts at volume 3).
cmp -n $((5000 * 1024)) "$WORK/tree/large" "$WORK/via-rmt/large" ||
	fail "the first 5000 blocks of large (volumes 1 and 2) differ after restore"
ok

# Without early warning the end of a cartridge is the physical end: st refuses
# every write there (VOLUME OVERFLOW), dump's retries fail too, no record is
# repeated, and restore reads all three volumes back.
check "without early warning, dump -a over three volumes restores byte for byte"
rm -rf "${S:?}"/* "$WORK/via-rmt" && mkdir "$WORK/via-rmt"
for v in drive blank1 blank2; do
	"$VTAPE" create --capacity "$CAPACITY" --early-warning 0 "$S/$v.tap" >/dev/null
done
RSH=$RSH_SHIM must_succeed "dump -0 -a" setsid \
	"$RUNDUMP" dump -0 -a -F "$WORK/swap.sh" \
	-f "localhost:$S/drive.tap.rewind" "$WORK/fs.img"
grep -q "on 3 volume(s)" "$WORK/client.err" "$WORK/client.out" || fail "expected a dump on 3 volumes"
for s in "" .idx .meta; do mv "$S/drive.tap$s" "$S/volume3.tap$s" 2>/dev/null || true; done
restore_three rmt "$WORK/via-rmt" || fail "restore through rmtd: $(tail -c 300 "$WORK/rmt.out")"
rm -rf "$WORK/via-rmt/restoresymtable" "$WORK/via-rmt/lost+found"
diff -r "$WORK/tree" "$WORK/via-rmt" || fail "the restored tree differs"
ok
