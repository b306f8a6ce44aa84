#!/bin/bash
# tests/realtape/changer.sh - rmtd's tape library on a real SCSI medium changer
# (meson test realtape-changer): in the realtape VM, tgtd emulates an SMC
# changer beside its SSC drive (changer-setup.sh), the kernel's ch driver makes
# it /dev/sch0, and guest-changer.sh runs one scripted sequence of rmtctl and
# client operations on rmtd's virtual library and on that changer. Every line
# of the two results must agree: inventories with barcodes, loads, refusals
# and their errno, tar through the drive, mt offline loading the next
# cartridge, MTLOAD 0x10000+slot, unload, move, export, import, and the
# cartridge database.
#
# ch.ko is not in the rig's module list: the guest kernel's own module is taken
# from the rig's cache and loaded with insmod. Environment as run.sh's.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RMTD_SOURCE_DIR=${RMTD_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
RMTD_BUILD_DIR=${RMTD_BUILD_DIR:-$RMTD_SOURCE_DIR/build}
RIG=$HERE/rig
export REALTAPE_CACHE=${REALTAPE_CACHE:-/var/cache/realtape-rmtd}
# The same package set as run.sh's: the rig's cache is keyed on it.
export REALTAPE_EXTRA_PACKAGES="dump libevent-2.1-7 libevent-core-2.1-7 libevent-pthreads-2.1-7 libevent-openssl-2.1-7 libbsd0 libjansson4 libssl3 libasan8 libubsan1"
fail() {
	printf '[realtape-changer] FAIL: %s\n' "$*" >&2
	exit 1
}
say() { printf '[realtape-changer] %s\n' "$*"; }

[ -x "$RIG/build.sh" ] && [ -x "$RIG/run.sh" ] || fail "the realtape rig is missing: $RIG"
[ "$(id -u)" -eq 0 ] || fail "must run as root (the rig's build.sh and run.sh)"
for f in rmtd rmtctl rmt-vtape; do
	[ -x "$RMTD_BUILD_DIR/rmtd/$f" ] || fail "$f is not built"
done
mkdir -p "$REALTAPE_CACHE" || fail "cannot create $REALTAPE_CACHE"
(
	flock 8 || exit 1
	"$RIG/build.sh" >"$REALTAPE_CACHE/.rmtd-changer-build.log" 2>&1
) 8>"$REALTAPE_CACHE.rmtd-lock" || {
	tail -n 30 "$REALTAPE_CACHE/.rmtd-changer-build.log" >&2
	fail "building the realtape rig failed"
}
CH_KO=$(find "$REALTAPE_CACHE/kernel/root/lib/modules" -name ch.ko | head -n 1)
[ -n "$CH_KO" ] || fail "the guest kernel has no ch.ko in $REALTAPE_CACHE/kernel"

STAGE=$RMTD_BUILD_DIR/tests/realtape/stage-changer
rm -rf "$STAGE"
mkdir -p "$STAGE/build/rmtd" "$STAGE/out" || fail "cannot create $STAGE"
STAGE=$(cd "$STAGE" && pwd -P)
cp "$RMTD_BUILD_DIR"/rmtd/{rmtd,rmtctl,rmt-vtape} "$STAGE/" || fail "cannot stage rmtd"
cp "$STAGE/rmtd" "$STAGE/build/rmtd/rmtd"
cp "$CH_KO" "$STAGE/ch.ko"
cp "$HERE/changer-setup.sh" "$HERE/guest-changer.sh" "$RMTD_SOURCE_DIR/tests/interop/rsh-shim" \
	"$STAGE/" || fail "cannot stage the scripts"
chmod +x "$STAGE"/*.sh "$STAGE/rsh-shim"

say "booting the VM (changer $(basename "$CH_KO") from $(basename "$(dirname "$(dirname "$(dirname "$(dirname "$CH_KO")")")")"))"
rc=0
"$RIG/run.sh" --share "$STAGE" --timeout 600 -- bash "$STAGE/guest-changer.sh" "$STAGE" \
	>"$STAGE/out/vm.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	tail -n 40 "$STAGE/out/vm.log" >&2
	fail "the VM run failed (exit $rc; $STAGE/out/vm.log)"
fi
for side in virtual sch; do
	[ -s "$STAGE/out/$side.txt" ] || fail "no result from the $side side"
	grep -qE 'AddressSanitizer|runtime error:|Segmentation fault' "$STAGE/out/$side.log" &&
		fail "rmtd crashed on the $side side: $STAGE/out/$side.log"
done
# The sequence must have done what it says, not only the same on both sides.
grep -qx 'hello.txt' "$STAGE/out/sch.txt" || fail "tar -t through the changer's drive: $(cat "$STAGE/out/sch.txt")"
grep -qx 'drive    0  B00003  from slot 3  \[rdrv\]' "$STAGE/out/sch.txt" ||
	fail "mt offline did not load B00003 from the changer: $(cat "$STAGE/out/sch.txt")"
if ! diff -u "$STAGE/out/virtual.txt" "$STAGE/out/sch.txt" >"$STAGE/out/diff"; then
	cat "$STAGE/out/diff" >&2
	fail "the virtual library and the SCSI changer disagree (above)"
fi
say "virtual library and /dev/sch0 agree on all $(grep -c '^\$ ' "$STAGE/out/sch.txt") operations"
