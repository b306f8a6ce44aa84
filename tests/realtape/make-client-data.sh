#!/bin/bash
# make-client-data.sh DIR - deterministic test data for the realtape client tests:
# three small trees (tar archives one, two, three) and an ext2 image of a fourth
# tree made with mke2fs -d (the dump/restore round trip).
set -eu
out=$1
mkdir -p "$out"
python3 - "$out" <<'PYEOF'
import os, random, sys
out = sys.argv[1]
rng = random.Random(4242)
for tree, files in (('one', 3), ('two', 5), ('three', 4), ('src', 40)):
    root = os.path.join(out, tree)
    for i in range(files):
        sub = os.path.join(root, 'd%d' % (i % 3))
        os.makedirs(sub, exist_ok=True)
        size = rng.choice([0, 1, 511, 512, 513, 10240, rng.randrange(1, 300000)])
        with open(os.path.join(sub, '%s-%02d.bin' % (tree, i)), 'wb') as fh:
            fh.write(rng.randbytes(size))
    with open(os.path.join(root, 'name-%s.txt' % tree), 'w') as fh:
        fh.write('archive %s\n' % tree)
big = os.path.join(out, 'src', 'big.bin')
with open(big, 'wb') as fh:
    fh.write(rng.randbytes(3 * 1024 * 1024 + 77))
os.symlink('big.bin', os.path.join(out, 'src', 'link'))
PYEOF
mke2fs -q -t ext2 -b 1024 -d "$out/src" -F "$out/fs.ext2" 16M >"$out/mke2fs.log" 2>&1 || {
	cat "$out/mke2fs.log" >&2
	exit 1
}
