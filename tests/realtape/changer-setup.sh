#!/bin/bash
# changer-setup.sh - inside the realtape VM: an SMC medium changer beside the
# rig's SSC drive, seen by the kernel's ch driver as /dev/sch0.
#
#   changer-setup.sh CH_KO MEDIA_DIR SLOTS PORTALS BARCODE...
#
# tgtd (already running, target tid 1, tape drive LUN 1) gets LUN 9, a changer
# (device-type changer, bstype smc) whose data transfer element 1 is LUN 1 and
# whose cartridges are tgtimg tapes MEDIA_DIR/BARCODE, placed in slots 1.. in
# order. ch.ko (the guest kernel's, not in the rig's module list) is loaded with
# insmod, the SCSI host rescanned, and /dev/sch0 waited for.
set -u
fail() { echo "changer-setup: $*" >&2; exit 1; }
[ $# -ge 4 ] || fail "usage: changer-setup.sh CH_KO MEDIA_DIR SLOTS PORTALS BARCODE..."
CH_KO=$1 MEDIA=$2 SLOTS=$3 PORTALS=$4
shift 4
LUN=9
# SCSI element addresses: drive 1, picker 2, slots from 100, portals from 200.
mkdir -p "$MEDIA" || fail "cannot create $MEDIA"
dd if=/dev/zero of="$MEDIA/smc" bs=1k count=1 2>/dev/null || fail "smc backing store"
for barcode in "$@"; do
	tgtimg --op new --device-type tape --barcode "$barcode" --size 64 --type data \
		--file "$MEDIA/$barcode" >/dev/null || fail "tgtimg $barcode"
done
adm() { tgtadm --lld iscsi --mode logicalunit --op update --tid 1 --lun $LUN --params "$1" ||
	fail "tgtadm --params $1"; }
# The drive starts empty: the changer loads it (the rig's tape0.img goes offline).
tgtadm --lld iscsi --mode logicalunit --op update --tid 1 --lun 1 --params online=0 ||
	fail "drive offline"
tgtadm --lld iscsi --mode logicalunit --op new --tid 1 --lun $LUN -b "$MEDIA/smc" \
	--device-type changer --bstype smc || fail "tgtadm new changer lun"
adm "media_home=$MEDIA"
adm "element_type=1,start_address=2,quantity=1"
adm "element_type=4,start_address=1,quantity=1"
adm "element_type=4,address=1,tid=1,lun=1"
adm "element_type=2,start_address=100,quantity=$SLOTS"
[ "$PORTALS" -gt 0 ] && adm "element_type=3,start_address=200,quantity=$PORTALS"
slot=100
for barcode in "$@"; do
	adm "element_type=2,address=$slot,barcode=$barcode,sides=1"
	slot=$((slot + 1))
done
insmod "$CH_KO" 2>/dev/null || grep -q '^ch ' /proc/modules || fail "insmod $CH_KO"
iscsiadm -m session --rescan >/dev/null 2>&1 || true
for host in /sys/class/scsi_host/host*; do echo "- - -" >"$host/scan" 2>/dev/null; done
for ((i = 0; i < 200; i++)); do [ -c /dev/sch0 ] && break; sleep 0.05; done
[ -c /dev/sch0 ] || fail "/dev/sch0 did not appear: $(dmesg | grep -iE 'ch[ 0-9:]|changer' | tail -5)"
echo "changer-setup: /dev/sch0 ready ($SLOTS slots, $PORTALS portals, $# cartridges)"
