#!/bin/bash
# tests/realtape/rig/guest/guest-init.sh - stage 2 of the guest: PID 1 in the root image.
# Brings up an emulated tape drive (tgtd, bstype ssc) exported over iSCSI on
# loopback, logs the kernel initiator in so the real st driver binds it
# (/dev/st0, /dev/nst0, ...), mounts the host share (9p) and runs the job.
# Config comes from /run/realtape/config (written by run.sh on the host).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8 LC_ALL=C.UTF-8
RT=/run/realtape
. $RT/config

log() { echo "[realtape-guest $(cut -d' ' -f1 /proc/uptime)s] $*"; }
CTL=
finish() {   # finish RC [WHY]: report exit status to the host and power off
    local rc=$1
    sync
    if [ -n "$CTL" ] && [ -e "$CTL" ]; then echo "$rc ${2:-}" > "$CTL"; else echo "REALTAPE_RC=$rc ${2:-}"; fi
    log "poweroff (rc=$rc)"
    busybox poweroff -f
    sleep 10
}
fail() { log "SETUP FAILED: $*"; [ -n "$TGTD_LOG" ] && tail -20 "$TGTD_LOG"; dmesg | tail -30; finish 125 setup-failed; }

mkdir -p /dev/pts /dev/shm /run/lock /run/lock/iscsi /var/lib/realtape /scratch
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
# scratch disk (sparse, discarded after the run): /tmp and the tape images
scratch=
for d in /sys/block/vd*; do
    [ "$(cat $d/serial 2>/dev/null)" = realtape-scratch ] && scratch=/dev/${d##*/}
done
if [ -n "$scratch" ] && mount -t ext4 -o noatime "$scratch" /scratch; then :; else
    log "no scratch disk: using tmpfs (RAM) for /tmp and the tapes"
    mount -t tmpfs -o mode=0755 tmpfs /scratch
fi
mkdir -p /scratch/tmp /scratch/tapes
chmod 1777 /scratch/tmp
mount --bind /scratch/tmp /tmp
hostname realtape
ip link set lo up
log "stage 2 up"

modprobe -a virtio_console st sg iscsi_tcp 9pnet_virtio 9p || fail "modprobe"
[ -n "$VERBOSE" ] && log "modules loaded"

# ---- virtio-serial ports used to talk to the host
port() {   # port NAME -> /dev/vportXpY
    local d i=0
    while [ $i -lt 100 ]; do
        for d in /sys/class/virtio-ports/*; do
            [ -r "$d/name" ] && [ "$(cat "$d/name")" = "$1" ] && { echo "/dev/${d##*/}"; return 0; }
        done
        sleep 0.05; i=$((i+1))
    done
    return 1
}
CTL=$(port realtape.ctl) || log "no ctl port"
OUT=$(port realtape.stdout) || OUT=/dev/console
ERR=$(port realtape.stderr) || ERR=/dev/console

# ---- host share
if [ -n "$SHARE_PATH" ]; then
    mkdir -p "$SHARE_PATH"
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,access=any,cache=none share "$SHARE_PATH" \
        || fail "mount 9p share at $SHARE_PATH"
    [ -d /share ] && [ ! -L /share ] && rmdir /share 2>/dev/null
    ln -sfn "$SHARE_PATH" /share 2>/dev/null
fi

# ---- emulated tape drive(s): tgtd, SSC backing store
# tape images: fresh ones on the scratch disk, or kept ones in the host
# directory given with --tape-dir (9p tag "tapes"), created when missing
if [ -n "$TAPE_SHARE" ]; then
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,access=any,cache=none tapes /var/lib/realtape \
        || fail "mount 9p tape dir"
else
    mount --bind /scratch/tapes /var/lib/realtape
fi
TGTD_LOG=/var/log/tgtd.log
IQN=iqn.2024-01.org.realtape:tape
for ((i = 0; i < DRIVES; i++)); do
    [ -s /var/lib/realtape/tape$i.img ] && { log "reusing tape$i.img"; continue; }
    tgtimg --op new --device-type tape --barcode "REALT${i}" --size "$TAPE_MB" \
           --type data --file /var/lib/realtape/tape$i.img >/dev/null || fail "tgtimg"
done
${TGTD:-tgtd} -f >"$TGTD_LOG" 2>&1 &
for ((i = 0; i < 100; i++)); do tgtadm --op show --mode sys >/dev/null 2>&1 && break; sleep 0.05; done
tgtadm --lld iscsi --op new --mode target --tid 1 -T $IQN || fail "tgtadm new target"
for ((i = 0; i < DRIVES; i++)); do
    tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun $((i + 1)) \
           --bstype ssc --device-type tape -b /var/lib/realtape/tape$i.img || fail "tgtadm new lun $i"
done
tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL || fail "tgtadm bind"
log "${TGTD:-tgtd} ready ($DRIVES drive(s), ${TAPE_MB} MB each)"

# ---- iSCSI initiator on loopback
iscsid || fail "iscsid"
iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260 >/dev/null || fail "iscsi discovery"
[ -n "$VERBOSE" ] && log "iscsi discovery done"
iscsiadm -m node -T $IQN -p 127.0.0.1:3260 --login >/dev/null || fail "iscsi login"
[ -n "$VERBOSE" ] && log "iscsi login done"
last=$((DRIVES - 1))
for ((i = 0; i < 400; i++)); do [ -c /dev/nst$last ] && break; sleep 0.05; done
[ -c /dev/nst$last ] || fail "/dev/nst$last did not appear"
log "tape ready: $(cd /dev && echo st[0-9] nst[0-9])"
[ -n "$VERBOSE" ] && dmesg | grep -E ' st |scsi' | tail

# ---- the job
export TAPE=/dev/nst0      # mt's default device
log "running job"
if [ -n "$SHARE_PATH" ]; then cd "$SHARE_PATH"; else cd /root; fi
STDIN=/dev/null
[ -e $RT/stdin ] && STDIN=$RT/stdin
bash $RT/job.sh <"$STDIN" >"$OUT" 2>"$ERR"
rc=$?
log "job exited $rc"
finish $rc
