#!/bin/bash
# guest.sh - runs inside the realtape VM (a throw-away Debian 12 with a real
# st tape drive at /dev/nst0): installs the build as `meson install` would, sets
# up what the documents take for granted (README.md in this folder), then runs
# every document's examples, each document in its own mount and pid namespace so
# that its daemons, /etc and /srv changes end with it.
#
#   guest.sh            (working directory: the stage test-examples.sh prepared)
set -u
STAGE=$(pwd -P)
export STAGE
. "$STAGE/lib.sh"

# ---------------------------------------------------------------- the machine
cp -a "$STAGE/root/." / || fatal "cannot install the build"
ldconfig
# Debian's package puts the programs in /usr/bin; a source install in /usr/local.
for p in rmt-connect rmt-vtape; do
	ln -sf "/usr/local/bin/$p" "/usr/bin/$p"
done
echo "127.0.0.1 tapehost" >>/etc/hosts
# As on any Debian system (dump reads it to find file systems).
[ -e /etc/mtab ] || ln -s ../proc/self/mounts /etc/mtab
# The remote shells: "host command..." runs the command here, as ssh would there.
for shell in ssh rsh; do
	install -m 0755 "$STAGE/remote-shell" "/usr/bin/$shell"
done
# What a user's /home has: a few files, one of them larger than a tape record.
mkdir -p /home/alice
printf 'notes\n' >/home/alice/notes.txt
head -c 300000 /dev/urandom >/home/alice/photo.raw
# A disk partition to dump: an ext2 file system with those files, on a loop
# device that is also /dev/sda1 (dump wants a block device, not a file).
mke2fs -q -F -t ext2 -d /home /tmp/sda1.img 4M || fatal "cannot make the file system for /dev/sda1"
modprobe loop 2>/dev/null
loop=$(losetup --find --show /tmp/sda1.img) || fatal "no loop device for /dev/sda1"
mknod /dev/sda1 b "$(printf '%d' "0x$(stat -c %t "$loop")")" "$(printf '%d' "0x$(stat -c %T "$loop")")" ||
	fatal "cannot make /dev/sda1"
mkdir -p /srv
export LANG=C.UTF-8

# ---------------------------------------------------------------- the documents
failed=0
passed=0
while read -r doc; do
	[ -n "$doc" ] || continue
	work=/tmp/docs/$doc
	mkdir -p "$work"
	cp -a "$STAGE/examples/$doc/." "$work/"
	say "$doc: $(grep -c . "$work/list.txt") example(s)"
	sed 's/^/    /' "$work/list.txt"
	# Fresh /etc (a copy), /srv and /run for each document; its processes die with it.
	rc=0
	timeout -k 10 300 unshare --mount --pid --fork --mount-proc --propagation private \
		bash "$STAGE/run-doc.sh" "$doc" "$work" >"$work/log" 2>&1 || rc=$?
	# A preload the dynamic linker cannot find is only a warning, and the program
	# then works on the local device: the example did not do what it says.
	[ "$rc" -ne 124 ] || echo "[docs] FAIL: still running after 300 s" >>"$work/log"
	if grep -q 'ld.so: object .* cannot be preloaded' "$work/log"; then
		echo "[docs] FAIL: an LD_PRELOAD library was not found (above)" >>"$work/log"
		rc=1
	fi
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		sed 's/^/    | /' "$work/log"
		say "$doc: PASS"
	else
		failed=$((failed + 1))
		sed 's/^/    | /' "$work/log"
		say "$doc: FAIL"
	fi
done <"$STAGE/examples/docs.txt"
say "$passed document(s) passed, $failed failed"
[ "$failed" -eq 0 ]
