#!/bin/bash
# test-catalog.sh - what rmtd remembers about a tape: per-drive and per-cartridge
# counters and the cartridge's catalog, made by real GNU tar and Linux dump
# writing to a virtual tape through separate rmtd processes (each rsh call is
# one), read back after every "restart".
. "$(dirname "$0")/lib.sh"

require_server
require_tools tar dump restore mke2fs python3
make_work
mkdir -p "$WORK/spool" "$WORK/state" "$WORK/src/sub"
shim_allow "$WORK/spool" "--state-dir $WORK/state"
tape=$WORK/spool/cat.tap
for i in $(seq 1 50); do echo "line $i" >"$WORK/src/f$i.txt"; done
head -c 300000 /dev/urandom >"$WORK/src/sub/blob"

check "tar --label=WEEKLY-01 writes file 0"
must_succeed "tar -c" tar --rsh-command="$RSH_SHIM" --label=WEEKLY-01 -cf "localhost:$tape" -C "$WORK" src
ok
check "tar writes file 1 behind it (the tape kept its position)"
must_succeed "tar -c" tar --rsh-command="$RSH_SHIM" -b 64 -cf "localhost:$tape" -C "$WORK" src
ok
check "dump level 0 of an ext2 image writes file 2"
mke2fs -q -t ext2 -b 1024 -d "$WORK/src" -F "$WORK/img.ext2" 4M
RSH=$RSH_SHIM must_succeed "dump" "$RUNDUMP" \
	dump -0 -L catdump -D "$WORK/dumpdates" -f "localhost:$tape" "$WORK/img.ext2"
ok

counters=$(ls "$WORK"/state/cartridges/*.counters)
catalog=$(ls "$WORK"/state/cartridges/*.catalog)
value() { sed -n "s/^$1=//p" "$2"; }

check "the cartridge's catalog lists three files with what they hold"
python3 - "$catalog" <<'PY' || fail "catalog content"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
files = {}
for entry in lines[1:]:
    if "file" in entry:
        files[entry["file"]] = entry
assert sorted(files) == [0, 1, 2], sorted(files)
assert files[0]["format"] == "tar" and files[0]["label"] == "WEEKLY-01", files[0]
assert files[0]["record_size"] == 10240 and files[0]["complete"], files[0]
assert files[1]["format"] == "tar" and files[1]["record_size"] == 32768, files[1]
assert files[2]["format"] == "dump" and files[2]["label"] == "catdump", files[2]
assert files[2]["level"] == 0 and files[2]["complete"], files[2]
PY
ok

check "counters: bytes written equal the sizes of the three files"
python3 - "$catalog" "$(value bytes_written "$counters")" <<'PY' || fail "counter mismatch"
import json, sys
entries = {}
for line in open(sys.argv[1]):
    entry = json.loads(line)
    if "file" in entry:
        entries[entry["file"]] = entry
total = sum(e["bytes"] for e in entries.values())
assert total == int(sys.argv[2]), (total, sys.argv[2])
PY
[ "$(value files_written "$counters")" = 3 ] || fail "files_written=$(value files_written "$counters"), expected 3"
[ "$(value mounts "$counters")" -ge 3 ] || fail "mounts=$(value mounts "$counters")"
ok

check "reading it back (restore -t from file 2) adds to the read counters after a restart"
before=$(value bytes_read "$counters")
RSH=$RSH_SHIM must_succeed "mt-gnu rewind" mt-gnu --rsh-command="$RSH_SHIM" -f "localhost:$tape" rewind
RSH=$RSH_SHIM must_succeed "mt-gnu fsf 2" mt-gnu --rsh-command="$RSH_SHIM" -f "localhost:$tape" fsf 2
RSH=$RSH_SHIM must_succeed "restore -t" restore -t -f "localhost:$tape"
grep -q "f1.txt" "$WORK/client.out" || fail "restore -t did not list the dump"
after=$(value bytes_read "$counters")
[ "$after" -gt "$before" ] || fail "bytes_read stayed at $before"
ok

check "the drive's counters survive too"
drive_counters=$(ls "$WORK"/state/drives/*.counters)
[ "$(value files_written "$drive_counters")" = 3 ] || fail "drive files_written"
ok

check "dump -z: the catalog keeps that the dump is compressed"
RSH=$RSH_SHIM must_succeed "dump -z" "$RUNDUMP" \
	dump -0 -z -L zdump -D "$WORK/dumpdates" -f "localhost:$WORK/spool/z.tap" "$WORK/img.ext2"
zcatalog=$(grep -l '"zdump"' "$WORK"/state/cartridges/*.catalog) || fail "no catalog names the dump -z"
python3 - "$zcatalog" <<'PY' || fail "dump -z catalog entry: $(cat "$zcatalog")"
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
dump = [e for e in entries if e.get("label") == "zdump"]
assert len(dump) == 1, dump
assert dump[0]["format"] == "dump" and dump[0]["compressed"] is True, dump[0]
assert dump[0]["compression"] == "compressed" and dump[0]["complete"], dump[0]
PY
ok
