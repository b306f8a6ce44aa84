#!/bin/bash
# tests/data/make-samples.sh OUT - make the tool-written samples of tests/data again,
# with the real programs (GNU tar, GNU cpio, Linux dump, tgtimg), into OUT.
#
# The files in tests/data were made this way on Debian 12 (tar 1.34, cpio 2.13,
# dump 0.4b47, tgt 1.0.85) and are kept because the unit tests check the values
# they hold (dates, labels, sizes): a new run gives other dates. Needs root (dump
# runs in a private mount namespace, tests/interop/rundump.sh); tgtimg-empty.ssc
# only where tgt is installed (the realtape VM has it).
set -euo pipefail
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNDUMP=$HERE/../interop/rundump.sh
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"

# The source tree: two files and a link, also as a 1 MiB ext2 image for dump.
mkdir -p src/sub
printf 'hello tape\n' >src/hello.txt
printf 'second file\n' >src/sub/b.txt
ln -s hello.txt src/link
mke2fs -q -t ext2 -b 1024 -d src -F img.ext2 1M

# dump: level 0 with and without a label, a two-volume dump, then level 1 after
# adding a file (-D keeps the host's /var/lib/dumpdates as it is).
sh "$RUNDUMP" dump -0 -u -D "$W/dumpdates" -L mylabel -f "$OUT/level0.dump" "$W/img.ext2"
sh "$RUNDUMP" dump -0 -D "$W/dumpdates.none" -f "$OUT/nolabel.dump" "$W/img.ext2"
sh "$RUNDUMP" dump -0 -D "$W/dumpdates.mv" -L mvlabel -M -B 12 -f "$W/mvdump" "$W/img.ext2"
cp mvdump001 "$OUT/mvdump-vol1.dump"
printf 'new\n' >new.txt
debugfs -w -R "write new.txt new.txt" img.ext2 >/dev/null
sh "$RUNDUMP" dump -1 -u -D "$W/dumpdates" -L incr1 -f "$OUT/level1.dump" "$W/img.ext2"

# tar: a GNU volume label, plain ustar, a pax label, a two-volume archive.
cd src
tar --format=gnu -c --label=MYVOL-001 -f "$OUT/gnu-label.tar" hello.txt sub
tar --format=ustar -c -f "$OUT/ustar.tar" hello.txt
tar --format=posix --label=PAXVOL -c -f "$OUT/pax-label.tar" hello.txt
head -c 20000 /dev/urandom >big.bin
# Two 12 KiB volumes hold the 20000 bytes: tar asks for no third.
tar --format=gnu -c -M -L 12 --label=MVSET -f "$OUT/mv1.tar" -f "$OUT/mv2.tar" big.bin </dev/null
rm big.bin

# cpio: the four formats GNU cpio writes.
for f in newc crc odc bin; do
	printf 'hello.txt\nsub/b.txt\n' | cpio -o --quiet -H "$f" >"$OUT/cpio-$f.cpio"
done
cd ..

# An empty tgt tape image, the byte layout make-images.py follows.
if command -v tgtimg >/dev/null; then
	tgtimg --op new --device-type tape --barcode=TGT001 --size=8 --type=data \
		--file="$OUT/tgtimg-empty.ssc" >/dev/null
fi
echo "make-samples.sh: samples in $OUT"
