#!/bin/bash
# tests/docs/test-examples.sh - every example in README.md and the manual pages,
# run as written in a throw-away Debian 12 VM with a real tape drive (the
# realtape rig in tests/realtape/rig), after a `meson install` of this build.
# See README.md in this folder for the rules and the environment.
#
# Environment: RMTD_BUILD_DIR, RMTD_SOURCE_DIR (set by meson);
#   REALTAPE_CACHE (default /var/cache/realtape-rmtd-docs: the rig with a compiler,
#   pkg-config, jq and openssl in the guest, apart from the realtape suite's).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RMTD_SOURCE_DIR=${RMTD_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
RMTD_BUILD_DIR=${RMTD_BUILD_DIR:-$RMTD_SOURCE_DIR/build}
RIG=$RMTD_SOURCE_DIR/tests/realtape/rig
export REALTAPE_CACHE=${REALTAPE_CACHE:-/var/cache/realtape-rmtd-docs}
# What the examples use besides the realtape suite's packages. Fixed order: build.sh
# keys its cache on this string.
export REALTAPE_EXTRA_PACKAGES="dump libevent-2.1-7 libevent-core-2.1-7 libevent-pthreads-2.1-7 libevent-openssl-2.1-7 libbsd0 libjansson4 libssl3 gcc libc6-dev pkg-config libssl-dev jq openssl e2fsprogs"

say() { printf '[docs-examples] %s\n' "$*"; }
fail() {
	printf '[docs-examples] FAIL: %s\n' "$*" >&2
	exit 1
}

{ [ -x "$RIG/build.sh" ] && [ -x "$RIG/run.sh" ]; } ||
	fail "the realtape rig is missing: $RIG"
[ "$(id -u)" -eq 0 ] || fail "must run as root: the rig's build.sh needs root"
for tool in python3 meson flock; do
	command -v "$tool" >/dev/null 2>&1 || fail "required host tool '$tool' is missing"
done
[ -x "$RMTD_BUILD_DIR/rmtd/rmtd" ] || fail "rmtd is not built in $RMTD_BUILD_DIR"

# ---------------------------------------------------------------- the rig
mkdir -p "$REALTAPE_CACHE" || fail "cannot create $REALTAPE_CACHE"
log=$REALTAPE_CACHE/.docs-build.log
# build.sh installs host packages before its own lock: the realtape suite's lock
# (tests/realtape/run.sh) keeps the two suites' builds from racing on dpkg's.
(
	flock 8 || exit 1
	"$RIG/build.sh" >"$log" 2>&1
) 8>/var/cache/realtape-rmtd.rmtd-lock || { tail -n 30 "$log" >&2; fail "building the realtape rig failed (log $log)"; }

# ---------------------------------------------------------------- the stage
# The VM sees this directory at the same path: the installed tree, the examples
# and the scripts that run them.
STAGE=$RMTD_BUILD_DIR/tests/docs/stage
rm -rf "$STAGE"
mkdir -p "$STAGE" || fail "cannot create $STAGE"
STAGE=$(cd "$STAGE" && pwd -P)
meson install -C "$RMTD_BUILD_DIR" --no-rebuild --quiet --destdir "$STAGE/root" >"$STAGE/install.log" 2>&1 ||
	{ cat "$STAGE/install.log" >&2; fail "meson install failed"; }
python3 "$HERE/extract.py" "$RMTD_SOURCE_DIR" "$STAGE/examples" || fail "extracting the examples failed"
# librmt(3)'s program also builds from the build tree, with meson's uninstalled
# pkg-config file: the page's command with PKG_CONFIG_PATH pointing there.
if [ -f "$STAGE/examples/librmt.3/example.c" ]; then
	(
		cd "$STAGE/examples/librmt.3" &&
			PKG_CONFIG_PATH=$RMTD_BUILD_DIR/meson-uninstalled \
				sh -c 'cc example.c $(pkg-config --cflags --libs rmt) -o build-tree-example'
	) || fail "librmt(3)'s example does not build against the build tree"
	rm -f "$STAGE/examples/librmt.3/build-tree-example"
	say "librmt(3)'s example builds against the build tree (meson-uninstalled/rmt-uninstalled.pc)"
fi
cp "$HERE/guest.sh" "$HERE/run-doc.sh" "$HERE/lib.sh" "$HERE/remote-shell" "$STAGE/"
cp -r "$HERE/pages" "$STAGE/pages"
chmod +x "$STAGE/guest.sh" "$STAGE/remote-shell"

# ---------------------------------------------------------------- the run
say "booting the VM; the examples run there"
rc=0
"$RIG/run.sh" --share "$STAGE" --drives 1 --tape-mb 256 --timeout 1100 -- ./guest.sh || rc=$?
[ "$rc" -ne 125 ] || fail "the VM did not boot or set up its tape drive"
[ "$rc" -eq 0 ] || fail "some examples do not work as documented (above)"
say "PASS"
