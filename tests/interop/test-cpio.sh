#!/bin/bash
# test-cpio.sh - GNU cpio (unmodified) -o / -i / -t with -F localhost:path through
# the rsh shim, in the newc, odc, crc and bin formats. The archive written remotely
# must be byte-identical to one written locally, and extraction must give back the
# tree exactly.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools cpio python3 diff cmp timeout find
require_server
make_work

SRC=$WORK/src
SPOOL=$WORK/spool
mkdir -p "$SPOOL"
shim_allow "$SPOOL"
CPIO=(cpio --quiet --rsh-command="$RSH_SHIM")

say "building the source tree"
python3 - "$SRC" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(4321)
os.makedirs(root)
for d in range(8):
    sub = os.path.join(root, 'd%d' % d)
    os.makedirs(sub)
    for f in range(25):
        size = rng.choice([0, 1, 511, 512, 513, rng.randrange(0, 30000)])
        with open(os.path.join(sub, 'f%02d' % f), 'wb') as fh:
            fh.write(rng.randbytes(size))
for name in ['with space', '-dash', 'utf8-\u00e9\u00e8-\u65e5\u672c', 'L' * 140]:
    with open(os.path.join(root, name), 'wb') as fh:
        fh.write(name.encode() + b'\n')
with open(os.path.join(root, 'big.bin'), 'wb') as fh:
    fh.write(rng.randbytes(3 * 1024 * 1024 + 17))
os.symlink('big.bin', os.path.join(root, 'link'))
os.makedirs(os.path.join(root, 'empty'))
PYEOF
# cpio reads the member list from stdin; NUL-separated so any name works.
# No hard links: the bin and odc formats truncate inode numbers.
(cd "$SRC" && find . -print0 | LC_ALL=C sort -z) >"$WORK/list0"
say "source tree: $(tr -cd '\0' <"$WORK/list0" | wc -c) entries"

for fmt in newc odc crc bin; do
	remote=$SPOOL/archive-$fmt.cpio
	check "cpio -o -H $fmt -F localhost:$remote"
	(cd "$SRC" && must_succeed "cpio -o -H $fmt" "${CPIO[@]}" -o -0 -H "$fmt" -F "localhost:$remote" <"$WORK/list0")
	[ -s "$remote" ] || fail "$fmt: remote archive is empty"
	ok "$(stat -c %s "$remote") bytes"

	check "$fmt: remote archive is byte-identical to a local cpio -o"
	(cd "$SRC" && cpio --quiet -o -0 -H "$fmt" -F "$WORK/local.cpio" <"$WORK/list0")
	cmp "$WORK/local.cpio" "$remote" >&2 || fail "$fmt: archive written through rmt differs from the local one"
	ok

	check "$fmt: cpio -t -F localhost: lists the same members as the local archive"
	must_succeed "cpio -t $fmt" "${CPIO[@]}" -t -F "localhost:$remote"
	cpio --quiet -t -F "$WORK/local.cpio" >"$WORK/local.list"
	cmp "$WORK/local.list" "$WORK/client.out" >&2 || fail "$fmt: remote listing differs"
	ok "$(wc -l <"$WORK/client.out") members"

	check "$fmt: cpio -i -F localhost: extracts the tree exactly"
	mkdir "$WORK/x-$fmt"
	(cd "$WORK/x-$fmt" && must_succeed "cpio -i $fmt" "${CPIO[@]}" -i -d -m -F "localhost:$remote")
	if ! diff -r --no-dereference "$SRC" "$WORK/x-$fmt" >"$WORK/diff.out" 2>&1; then
		head -n 20 "$WORK/diff.out" >&2
		fail "$fmt: extracted tree differs from the source"
	fi
	ok
	rm -rf "$WORK/x-$fmt" "$WORK/local.cpio" "$remote"
done

check_server_log
