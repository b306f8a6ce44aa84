#!/bin/bash
# build-deb.sh SOURCE OUT - build the Debian packages from the tree at SOURCE
# (dpkg-buildpackage -b -us -uc, lintian) in a scratch copy, and leave the
# .deb files and lintian's report in OUT.
#
# The copy keeps dpkg-buildpackage's output (written beside the source) out of
# the tree. lintian must report nothing but what debian/*lintian-overrides
# explains.
set -euo pipefail
SOURCE=$(cd "$1" && pwd -P)
OUT=$2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rmtd-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/rmtd" "$OUT"
# Tracked and new files, none of the build directories git ignores.
if git -C "$SOURCE" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$SOURCE" ls-files -z -co --exclude-standard |
		(cd "$SOURCE" && tar --null -T - -cf -) | tar -xf - -C "$WORK/rmtd"
else
	tar -C "$SOURCE" --exclude='./build*' --exclude=./obj-* -cf - . | tar -xf - -C "$WORK/rmtd"
fi
start=$SECONDS
(cd "$WORK/rmtd" && dpkg-buildpackage -b -us -uc) >"$OUT/dpkg-buildpackage.log" 2>&1 || {
	tail -n 40 "$OUT/dpkg-buildpackage.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed (log: $OUT/dpkg-buildpackage.log)" >&2
	exit 1
}
echo "build-deb.sh: dpkg-buildpackage took $((SECONDS - start)) s"
rm -f "$OUT"/*.deb
cp "$WORK"/*.deb "$OUT"/
# lintian refuses to run as root only with a warning; -I shows the info tags too.
lintian -I --pedantic --fail-on error,warning,info,pedantic "$WORK"/*.changes >"$OUT/lintian.log" 2>&1 || {
	grep -v '^running with root privileges' "$OUT/lintian.log" >&2
	echo "build-deb.sh: lintian found problems" >&2
	exit 1
}
if grep -v '^running with root privileges' "$OUT/lintian.log" | grep -q .; then
	cat "$OUT/lintian.log" >&2
	echo "build-deb.sh: lintian found problems" >&2
	exit 1
fi
echo "build-deb.sh: lintian clean; packages in $OUT"
