#!/bin/bash
# test-library.sh - a virtual tape library as an autoloader in sequential mode:
# GNU tar -M with an -F script that runs `mt offline` writes across three small
# cartridges without a person; the cartridge database records each one full,
# its bytes, files and block size, and which cartridge each volume continues
# on; MTLOAD 0x10000 + slot loads slot 1 again, and tar -x -M with the same
# script reads the cartridges back in the order the database recorded.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_server
require_tools tar mt-gnu cmp
make_work
VTAPE=$RMTD_BUILD_DIR/rmtd/rmt-vtape
LIB=$WORK/lib
STATE=$WORK/state
mkdir -p "$LIB" "$WORK/out"
for c in A1 A2 A3 A4; do
	"$VTAPE" create --capacity 2M --early-warning 256K "$LIB/$c.tap" >/dev/null
done
cat >"$WORK/rmtd.conf" <<CONF
state-directory $STATE
library lib0 virtual $LIB slots 6 portals 1
library lib0 drive 0 lib0d0
allow * drive lib0d0 read-write create truncate settings
CONF
export RMTD_SHIM_ARGS="-f $WORK/rmtd.conf"
export RMTD_SHIM_LOG=$WORK/server.log
: >"$RMTD_SHIM_LOG"
cat >"$WORK/next.sh" <<SCRIPT
#!/bin/sh
exec mt-gnu --rsh-command="$RSH_SHIM" -f localhost:lib0d0 offline
SCRIPT
chmod +x "$WORK/next.sh"
head -c 5000000 /dev/urandom >"$WORK/big.bin"

# MTLOAD with 0x10000 + slot, as st passes it to an HP-style loader (mt has no
# such command: the rmt request is sent as it is).
load_slot() {
	printf 'Olib0d0\n0\nI30\n%d\nC\n' $((0x10000 + $1)) | "$RSH_SHIM" localhost /etc/rmt >"$WORK/load.out" ||
		fail "load slot $1: the server failed"
	[ "$(sed -n 2p "$WORK/load.out")" = "A$((0x10000 + $1))" ] || fail "load slot $1: $(cat "$WORK/load.out")"
}

check "MTLOAD 0x10001, then tar -M -F 'mt offline' writes across three cartridges"
load_slot 1
must_succeed "tar -c -M" tar --rsh-command="$RSH_SHIM" -c -M -F "$WORK/next.sh" \
	-f localhost:lib0d0 -C "$WORK" big.bin
DB=$STATE/library/lib0
grep -qx "drive 0 A3 home 3 written 0" "$DB" || fail "A3 is not the drive's: $(cat "$DB")"
grep -q "^cartridge A1 readonly 0 full 1 times-full 1 bytes 1843200 files 1 .* block-sizes 10240$" "$DB" ||
	fail "A1's record: $(grep A1 "$DB")"
grep -qx "continues A1 0 A2 0" "$DB" || fail "no A1 -> A2: $(cat "$DB")"
grep -qx "continues A2 0 A3 0" "$DB" || fail "no A2 -> A3: $(cat "$DB")"
grep -q "^slot 4 A4$" "$DB" || fail "A4 moved: $(cat "$DB")"
ok


check "MTLOAD 0x10001 loads slot 1; tar -x -M with 'mt offline' follows A1, A2, A3"
load_slot 1
grep -qx "drive 0 A1 home 1" "$DB" || fail "A1 is not loaded: $(cat "$DB")"
grep -qx "slot 3 A3" "$DB" || fail "A3 did not go back to slot 3: $(cat "$DB")"
must_succeed "tar -x -M" tar --rsh-command="$RSH_SHIM" -x -M -F "$WORK/next.sh" \
	-f localhost:lib0d0 -C "$WORK/out"
cmp "$WORK/big.bin" "$WORK/out/big.bin" || fail "big.bin differs"
grep -qx "drive 0 A3 home 3" "$DB" || fail "the restore did not end on A3: $(cat "$DB")"
ok
