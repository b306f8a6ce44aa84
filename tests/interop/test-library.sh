#!/bin/bash
# test-library.sh - a virtual tape library as an autoloader in sequential mode:
# GNU tar -M with an -F script that runs `mt offline` writes across three small
# cartridges without a person; the cartridge database records each one full,
# its bytes, files and block size, and which cartridge each volume continues
# on.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_server
require_tools tar mt-gnu
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

check "tar -M -F 'mt offline' writes across three cartridges"
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

