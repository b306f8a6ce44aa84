#!/bin/bash
# test-tar.sh - GNU tar (unmodified) against the server through the rsh shim.
#
# Creates, lists and extracts a tree of several hundred files (a 20 MB random
# file, awkward names) at blocking factors 20, 128 and 2048, and checks that the
# archive written remotely is byte-identical to one written locally; then append
# (-r, the case that destroys archives with rmt-tar), verify (-W) and --seek.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools tar python3 diff cmp timeout
require_server
make_work

SRC=$WORK/src
SPOOL=$WORK/spool
mkdir -p "$SPOOL"
shim_allow "$SPOOL"
TAR=(tar --rsh-command="$RSH_SHIM")

say "building the source tree"
python3 - "$SRC" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(1234)
os.makedirs(root)
# several hundred small files in nested directories
for d in range(20):
    sub = os.path.join(root, 'dir%02d' % d, 'sub%d' % (d % 3))
    os.makedirs(sub)
    for f in range(20):
        size = rng.choice([0, 1, 511, 512, 513, rng.randrange(0, 20000)])
        with open(os.path.join(sub, 'file%03d.dat' % f), 'wb') as fh:
            fh.write(rng.randbytes(size))
awkward = [
    'with space.txt', '  leading spaces', 'trailing space ', 'new\nline',
    'tab\tname', 'back\\slash', 'glob*?[x]', '-leading-dash', '--rf', '-',
    'utf8-\u00fcn\u00efc\u00f8d\u00e9-\u65e5\u672c\u8a9e.txt', 'quote"and\'apos',
    'L' * 150, 'colon:in:name', 'percent%sname',
]
adir = os.path.join(root, 'awkward names')
os.makedirs(adir)
for i, name in enumerate(awkward):
    with open(os.path.join(adir, name), 'wb') as fh:
        fh.write(('content of file %d %r\n' % (i, name)).encode())
# a directory path far beyond 100 and 255 bytes (GNU long names)
deep = os.path.join(root, *(['deep-directory-level-%02d' % i for i in range(12)]))
os.makedirs(deep)
with open(os.path.join(deep, 'x' * 120 + '.txt'), 'wb') as fh:
    fh.write(b'deep file\n')
os.makedirs(os.path.join(root, 'empty dir'))
os.symlink('with space.txt', os.path.join(adir, 'symlink to space'))
os.symlink('/nonexistent/target', os.path.join(root, 'dangling'))
os.link(os.path.join(adir, 'with space.txt'), os.path.join(root, 'hardlink'))
os.chmod(os.path.join(root, 'dir00', 'sub0', 'file000.dat'), 0o600)
os.chmod(os.path.join(root, 'dir01', 'sub1', 'file001.dat'), 0o755)
PYEOF
head -c $((20 * 1024 * 1024)) /dev/urandom >"$SRC/big random.bin"
nfiles=$(find "$SRC" | wc -l)
say "source tree: $nfiles entries, $(du -sh "$SRC" | cut -f1)"
[ "$nfiles" -ge 400 ] || fail "source tree too small ($nfiles entries)"

# A tree's shape and metadata: type, mode, size, link target, per path.
tree_manifest() {
	(cd "$1" && find . -path ./restoresymtable -prune -o -printf '%p|%y|%m|%s|%l\n' | LC_ALL=C sort)
}
tree_manifest "$SRC" >"$WORK/src.manifest"

compare_tree() {
	local what=$1 got=$2
	check "$what: extracted tree equals the source (diff -r, modes, links)"
	diff -r --no-dereference "$SRC" "$got" >"$WORK/diff.out" 2>&1 || {
		head -n 20 "$WORK/diff.out" >&2
		fail "$what: extracted tree differs from the source"
	}
	tree_manifest "$got" >"$WORK/got.manifest"
	# directory sizes depend on the file system's history; compare everything else
	sed 's/|d|\([0-7]*\)|[0-9]*|/|d|\1||/' "$WORK/src.manifest" >"$WORK/a.m"
	sed 's/|d|\([0-7]*\)|[0-9]*|/|d|\1||/' "$WORK/got.manifest" >"$WORK/b.m"
	if ! diff "$WORK/a.m" "$WORK/b.m" >"$WORK/diff.out"; then
		head -n 20 "$WORK/diff.out" >&2
		fail "$what: metadata of the extracted tree differs"
	fi
	ok
}

for b in 20 128 2048; do
	remote=$SPOOL/archive-b$b.tar
	local_archive=$WORK/local-b$b.tar
	check "tar -b $b -c to localhost:$remote"
	must_succeed "tar -c -b $b" "${TAR[@]}" -b "$b" -cf "localhost:$remote" -C "$SRC" .
	[ -s "$remote" ] || fail "remote archive $remote is empty"
	ok "$(stat -c %s "$remote") bytes"

	check "remote archive is byte-identical to a local tar -b $b -c"
	must_succeed "local tar -c" tar -b "$b" -cf "$local_archive" -C "$SRC" .
	cmp "$local_archive" "$remote" >&2 || fail "-b $b: archive written through rmt differs from the local one"
	ok

	check "tar -b $b -t lists every member"
	must_succeed "tar -t -b $b" "${TAR[@]}" -b "$b" -tvf "localhost:$remote"
	cp "$WORK/client.out" "$WORK/remote.list"
	tar -b "$b" -tvf "$local_archive" >"$WORK/local.list"
	cmp "$WORK/local.list" "$WORK/remote.list" >&2 || {
		diff "$WORK/local.list" "$WORK/remote.list" | head >&2
		fail "-b $b: remote listing differs"
	}
	n=$(wc -l <"$WORK/remote.list")
	[ "$n" -ge 400 ] || fail "-b $b: listing has only $n lines"
	ok "$n members"

	check "tar -b $b -x from localhost:$remote"
	mkdir "$WORK/x$b"
	must_succeed "tar -x -b $b" "${TAR[@]}" -b "$b" -xf "localhost:$remote" -C "$WORK/x$b"
	ok
	compare_tree "-b $b" "$WORK/x$b"
	rm -rf "$WORK/x$b" "$local_archive"
	[ "$b" = 20 ] || rm -f "$remote"
done

# Append: tar 1.34 tries MTBSR (E25 on a file), then L0\n1\n = "tell" in BSD
# order, then an absolute L. A server that reads L0\n1\n as SEEK_SET 1 makes tar
# write over the archive's first record.
EXTRA=$WORK/extra
mkdir -p "$EXTRA/appended dir"
for i in $(seq 1 30); do
	head -c $((i * 997)) /dev/urandom >"$EXTRA/appended dir/new-$i.bin"
done
printf 'appended\n' >"$EXTRA/-appended-dash"
remote=$SPOOL/archive-b20.tar
size_before=$(stat -c %s "$remote")
check "tar -r appends to localhost:$remote"
must_succeed "tar -r" "${TAR[@]}" -b 20 -rf "localhost:$remote" -C "$EXTRA" .
ok "$size_before -> $(stat -c %s "$remote") bytes"

check "after append, the archive (read locally) lists both sets, in order"
tar -tf "$remote" >"$WORK/appended.list" 2>"$WORK/appended.err" || {
	cat "$WORK/appended.err" >&2
	fail "the appended archive is corrupt (tar -t on the file fails)"
}
(cd "$SRC" && tar -cf - . | tar -tf -) >"$WORK/expect.list"
(cd "$EXTRA" && tar -cf - . | tar -tf -) >>"$WORK/expect.list"
if ! diff "$WORK/expect.list" "$WORK/appended.list" >"$WORK/diff.out"; then
	head -n 20 "$WORK/diff.out" >&2
	fail "appended archive lists the wrong members (archive corrupted by the append)"
fi
ok "$(wc -l <"$WORK/appended.list") members"

check "after append, extracting gives the original tree plus the appended files"
mkdir "$WORK/xa"
must_succeed "tar -x appended" "${TAR[@]}" -b 20 -xf "localhost:$remote" -C "$WORK/xa"
for f in "$EXTRA"/"appended dir"/* "$EXTRA/-appended-dash"; do
	rel=${f#"$EXTRA"/}
	cmp "$f" "$WORK/xa/$rel" || fail "appended file $rel differs after extraction"
	rm -f "$WORK/xa/$rel"
done
rmdir "$WORK/xa/appended dir"
ok
compare_tree "after append" "$WORK/xa"
rm -rf "$WORK/xa"

# --seek: tar skips member data with L<offset>\n1\n (SEEK_CUR, offset first).
check "tar -t --seek lists the same members as a plain -t"
must_succeed "tar -t --seek" "${TAR[@]}" -b 20 -t --seek -vf "localhost:$remote"
cp "$WORK/client.out" "$WORK/seek.list"
tar -b 20 -tvf "$remote" >"$WORK/plain.list"
cmp "$WORK/plain.list" "$WORK/seek.list" >&2 || {
	diff "$WORK/plain.list" "$WORK/seek.list" | head >&2
	fail "--seek listing differs from the plain listing"
}
ok

check "tar -x --seek of one member after the 20 MB file"
mkdir "$WORK/xs"
must_succeed "tar -x --seek" "${TAR[@]}" -b 20 -x --seek -f "localhost:$remote" -C "$WORK/xs" "./-appended-dash"
cmp "$EXTRA/-appended-dash" "$WORK/xs/-appended-dash" || fail "member extracted with --seek differs"
ok

# Verify: tar -W writes, then tries MTBSF (E25 on a file), falls back to L0\n0\n and reads back.
for b in 20 128; do
	remote=$SPOOL/verify-b$b.tar
	check "tar -c -W -b $b (write, then verify by reading back)"
	must_succeed "tar -cW -b $b" "${TAR[@]}" -b "$b" -cWf "localhost:$remote" -C "$SRC" .
	if grep -q -i -e 'verify' -e 'differ' "$WORK/client.err"; then
		cat "$WORK/client.err" >&2
		fail "tar -W reported a verify problem"
	fi
	tar -b "$b" -cf "$WORK/local.tar" -C "$SRC" .
	cmp "$WORK/local.tar" "$remote" >&2 || fail "verified archive differs from a local one"
	rm -f "$remote" "$WORK/local.tar"
	ok
done

# Multi-volume: one connection per volume (tar closes with C and starts a new rsh).
MV=$WORK/mv
mkdir -p "$MV"
head -c $((5 * 1024 * 1024 + 123)) /dev/urandom >"$MV/five-mb.bin"
printf 'small\n' >"$MV/small.txt"
vols=(-f "localhost:$SPOOL/mv1.tar" -f "localhost:$SPOOL/mv2.tar" -f "localhost:$SPOOL/mv3.tar")
check "tar -c -M -L 2048 over three remote volumes"
must_succeed "tar -cM" "${TAR[@]}" -b 20 -c -M -L 2048 "${vols[@]}" -C "$MV" .
for v in 1 2 3; do
	[ -s "$SPOOL/mv$v.tar" ] || fail "volume mv$v.tar was not written"
done
ok "$(stat -c %s "$SPOOL/mv1.tar") + $(stat -c %s "$SPOOL/mv2.tar") + $(stat -c %s "$SPOOL/mv3.tar") bytes"
check "tar -x -M from the three remote volumes gives the files back"
mkdir "$WORK/xmv"
must_succeed "tar -xM" "${TAR[@]}" -b 20 -x -M "${vols[@]}" -C "$WORK/xmv"
if ! diff -r "$MV" "$WORK/xmv" >"$WORK/diff.out" 2>&1; then
	head -n 20 "$WORK/diff.out" >&2
	fail "multi-volume extraction differs"
fi
rm -rf "$WORK/xmv" "$MV" "$SPOOL"/mv?.tar
ok

# tar opens O_WRONLY|O_CREAT without O_TRUNC: a new archive is written over an
# existing longer file in place (this is tar's behaviour, rmtd must not add TRUNC).
check "tar -c over a longer existing file keeps its tail (no hidden O_TRUNC)"
head -c 100000 /dev/zero | tr '\0' 'Z' >"$SPOOL/over.tar"
must_succeed "tar -c over" "${TAR[@]}" -b 20 -cf "localhost:$SPOOL/over.tar" -C "$EXTRA" ./-appended-dash
[ "$(stat -c %s "$SPOOL/over.tar")" -eq 100000 ] || fail "the existing file was truncated or extended"
tail -c 10 "$SPOOL/over.tar" | grep -q '^ZZZZZZZZZZ$' || fail "the tail of the existing file was changed"
ok

# A virtual tape: two archives one after the other (NAME.tap does not rewind; tar's
# close writes the filemark), then rewind / fsf with mt-gnu and read each back.
if have_vtape; then
	TAPE=$SPOOL/tape0.tap
	new_vtape "$TAPE"
	MT=(mt-gnu --rsh-command="$RSH_SHIM" -f "localhost:$TAPE")
	check "vtape: tar -c -b 128 of the whole tree, then tar -c of a second tree after it"
	must_succeed "tar -c to vtape" "${TAR[@]}" -b 128 -cf "localhost:$TAPE" -C "$SRC" .
	must_succeed "tar -c second archive" "${TAR[@]}" -b 20 -cf "localhost:$TAPE" -C "$EXTRA" .
	ok "image $(stat -c %s "$TAPE") bytes"

	check "vtape: mt rewind, tar -x of the first archive"
	must_succeed "mt rewind" "${MT[@]}" rewind
	mkdir "$WORK/xt1"
	must_succeed "tar -x from vtape" "${TAR[@]}" -b 128 -xf "localhost:$TAPE" -C "$WORK/xt1"
	ok
	compare_tree "vtape archive 1" "$WORK/xt1"
	rm -rf "$WORK/xt1"

	check "vtape: mt rewind, mt fsf 1, tar -x of the second archive"
	must_succeed "mt rewind" "${MT[@]}" rewind
	must_succeed "mt fsf 1" "${MT[@]}" fsf 1
	mkdir "$WORK/xt2"
	must_succeed "tar -x second archive" "${TAR[@]}" -b 20 -xf "localhost:$TAPE" -C "$WORK/xt2"
	if ! diff -r "$EXTRA" "$WORK/xt2" >"$WORK/diff.out" 2>&1; then
		head -n 20 "$WORK/diff.out" >&2
		fail "second archive on the vtape differs"
	fi
	rm -rf "$WORK/xt2"
	ok

	check "vtape: the image is a valid SIMH tape (mtdump): two files of records"
	if command -v mtdump >/dev/null 2>&1; then
		mtdump "$TAPE" >"$WORK/mtdump.out" 2>&1 || true
		marks=$(grep -c 'end of tape file' "$WORK/mtdump.out" || true)
		[ "$marks" -ge 2 ] || { tail -n 20 "$WORK/mtdump.out" >&2; fail "mtdump sees $marks tape files, expected at least 2"; }
		ok "$marks tape files"
	else
		fail "mtdump (simh) is not installed"
	fi
	rm -f "$TAPE"
fi

if [ -z "${RMT_SERVER:-}" ]; then # classic servers have no access control
check "opening an archive outside the allowed directory is refused"
rc=0
run_client "$WORK/o" "$WORK/e" "${TAR[@]}" -cf "localhost:$WORK/outside.tar" -C "$EXTRA" . || rc=$?
[ "$rc" -ne 0 ] || fail "tar -c outside the allowed directory succeeded"
[ ! -e "$WORK/outside.tar" ] || fail "a file was created outside the allowed directory"
grep -q 'Cannot open' "$WORK/e" || { cat "$WORK/e" >&2; fail "tar did not report 'Cannot open'"; }
ok "tar: $(head -n 1 "$WORK/e")"

check "where openat2 answers ENOSYS (a kernel before 5.6): rmtd walks the name, tar works, a symlink is refused"
[ -x "${WITHOUT_OPENAT2:-}" ] || fail "WITHOUT_OPENAT2 is not set to the built helper"
mkdir -p "$SPOOL/old-kernel/sub"
ln -s "$WORK" "$SPOOL/old-kernel/out"
: >"$RMTD_SHIM_LOG"
RMTD_SHIM_WRAPPER=$WITHOUT_OPENAT2 RMTD_SHIM_ARGS="$RMTD_SHIM_ARGS -d" \
	run_client "$WORK/o" "$WORK/e" "${TAR[@]}" -b 20 -cf "localhost:$SPOOL/old-kernel/sub/a.tar" -C "$EXTRA" . || { cat "$WORK/e" >&2; fail "tar -c"; }
tar -b 20 -tf "$SPOOL/old-kernel/sub/a.tar" >"$WORK/local.list" || fail "the archive does not read locally"
RMTD_SHIM_WRAPPER=$WITHOUT_OPENAT2 run_client "$WORK/remote.list" "$WORK/e" "${TAR[@]}" -b 20 \
	-tf "localhost:$SPOOL/old-kernel/sub/a.tar" || { cat "$WORK/e" >&2; fail "tar -t"; }
cmp -s "$WORK/local.list" "$WORK/remote.list" || fail "tar -t through rmtd lists other members"
# A virtual tape: its image and sidecars are opened below their directory too.
RMTD_SHIM_WRAPPER=$WITHOUT_OPENAT2 run_client "$WORK/o" "$WORK/e" "${TAR[@]}" -b 20 \
	-cf "localhost:$SPOOL/old-kernel/sub/t.tap.rewind" -C "$EXTRA" . || { cat "$WORK/e" >&2; fail "tar -c to a virtual tape"; }
RMTD_SHIM_WRAPPER=$WITHOUT_OPENAT2 run_client "$WORK/remote.list" "$WORK/e" "${TAR[@]}" -b 20 \
	-tf "localhost:$SPOOL/old-kernel/sub/t.tap.rewind" || { cat "$WORK/e" >&2; fail "tar -t from a virtual tape"; }
cmp -s "$WORK/local.list" "$WORK/remote.list" || fail "the virtual tape lists other members"
[ -e "$SPOOL/old-kernel/sub/t.tap.meta" ] || fail "the virtual tape has no sidecar: $(ls "$SPOOL/old-kernel/sub")"
rc=0
RMTD_SHIM_WRAPPER=$WITHOUT_OPENAT2 run_client "$WORK/o" "$WORK/e" "${TAR[@]}" \
	-cf "localhost:$SPOOL/old-kernel/out/escaped.tar" -C "$EXTRA" . || rc=$?
[ "$rc" -ne 0 ] || fail "tar -c through a symlinked directory succeeded"
[ ! -e "$WORK/escaped.tar" ] || fail "a file was created through the symlink"
grep -q 'openat2 is not available' "$RMTD_SHIM_LOG" || fail "rmtd did not say it walks: $(cat "$RMTD_SHIM_LOG")"
ok "$(grep -c . "$WORK/local.list") members; through the symlink: $(head -n 1 "$WORK/e")"
fi

check_server_log
