#!/bin/bash
# tests/realtape/rig/run.sh - boot the VM that build.sh made and run one command
# there, next to the real Linux st driver on an emulated tape drive (/dev/nst0).
#
# usage: run.sh [options] -- COMMAND [ARGS...]
#   --share DIR     host directory visible in the VM at the same absolute path
#                   (9p virtfs, read-write) and used as the working directory.
#                   Default: the current directory. --no-share: none (cwd /root).
#   --drives N      number of tape drives (default 1): /dev/nst0 .. nst(N-1)
#   --tape-mb N     capacity of each new tape in MB (default 4096). Tapes are
#                   fresh and empty every run, on a sparse scratch disk ...
#   --tape-dir DIR  ... unless DIR is given: host directory holding
#                   tape0.img, tape1.img, ... (tgt format), created when
#                   missing and KEPT, so a later run sees the same tape(s)
#   --env VAR=VAL   export VAR=VAL to the command (repeatable)
#   --mem MB        guest RAM (default 1024)      --smp N   vCPUs (default 2)
#   --timeout SEC   kill the VM after SEC seconds (default 1800)
#   --stdin         read all of run.sh's stdin now and give it to the command
#                   as its stdin (a file: not interactive, but EOF works);
#                   without it the command's stdin is /dev/null
#   --verbose       stream the VM console (kernel + setup log) to stderr
#   --stock-tgt     use Debian's unpatched tgtd (known SSC emulation bugs,
#                   see tgt-ssc-fidelity.patch) instead of the patched one
#
# The command's stdout and stderr are streamed to run.sh's stdout and stderr
# (two separate channels: their relative order is not kept; use 2>&1 inside
# the command for one ordered stream). run.sh exits with the command's exit
# status, or 125 if the VM or the tape setup failed (the console log is then
# printed to stderr).
# Environment: REALTAPE_CACHE (default /var/cache/realtape-rmtd),
#              REALTAPE_ACCEL = auto | kvm | tcg   (default auto)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${REALTAPE_CACHE:-/var/cache/realtape-rmtd}

SHARE=$PWD DRIVES=1 TAPE_MB=4096 TAPE_DIR= MEM=1024 SMP=2 TIMEOUT=1800 VERBOSE= ENVS=() TGTD=tgtd STDIN=
usage() { sed -n '2,/^set -e/p' "$0" | sed '$d;s/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
    case $1 in
        --share) SHARE=$2; shift 2 ;;
        --share=*) SHARE=${1#*=}; shift ;;
        --no-share) SHARE=; shift ;;
        --drives) DRIVES=$2; shift 2 ;;
        --tape-mb) TAPE_MB=$2; shift 2 ;;
        --tape-dir) TAPE_DIR=$2; shift 2 ;;
        --env) ENVS+=("$2"); shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --smp) SMP=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --verbose|-v) VERBOSE=1; shift ;;
        --stdin) STDIN=1; shift ;;
        --stock-tgt) TGTD=tgtd.debian; shift ;;
        -h|--help) usage 0 ;;
        --) shift; break ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || usage
for f in vmlinuz rootfs.ext4 initrd-base.cpio; do
    [ -e "$CACHE/$f" ] || { echo "run.sh: $CACHE/$f missing - run $HERE/build.sh first" >&2; exit 125; }
done
if [ -n "$SHARE" ]; then
    SHARE=$(cd "$SHARE" && pwd -P) || { echo "run.sh: no such directory: $SHARE" >&2; exit 125; }
    case $SHARE in
        /|/bin|/bin/*|/sbin|/sbin/*|/usr|/usr/*|/lib|/lib/*|/lib64|/etc|/etc/*|/dev|/dev/*|/proc|/proc/*|/sys|/sys/*|/run|/run/*|/var|/var/lib|/var/lib/realtape*)
            echo "run.sh: refusing to mount $SHARE over a system path in the guest" >&2; exit 125 ;;
    esac
fi

if [ -n "$TAPE_DIR" ]; then
    mkdir -p "$TAPE_DIR" && TAPE_DIR=$(cd "$TAPE_DIR" && pwd -P) \
        || { echo "run.sh: cannot use tape dir $TAPE_DIR" >&2; exit 125; }
fi
case $DRIVES in ''|*[!0-9]*|0) echo "run.sh: --drives needs a number >= 1" >&2; exit 125 ;; esac
case $TAPE_MB in ''|*[!0-9]*|0) echo "run.sh: --tape-mb needs a number >= 1" >&2; exit 125 ;; esac

# ---- accelerator: KVM where it is real hardware virtualisation. Under a
# PVM host (kvm_pvm module, e.g. a Firecracker sandbox) /dev/kvm exists but
# only runs PVM-enabled guest kernels: a stock kernel hangs, so use TCG.
ACCEL=${REALTAPE_ACCEL:-auto}
if [ "$ACCEL" = auto ]; then
    if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then ACCEL=kvm; else ACCEL=tcg; fi
fi
case $ACCEL in
    kvm) ACCEL_OPTS=(-accel kvm -cpu host) ;;
    tcg) ACCEL_OPTS=(-accel tcg,thread=multi,tb-size=256 -cpu max) ;;
    *) echo "run.sh: REALTAPE_ACCEL must be auto, kvm or tcg" >&2; exit 125 ;;
esac

T=$(mktemp -d /tmp/realtape-run.XXXXXX)
QPID= CAT1= CAT2= TAILPID=
release_fifos() {   # unblock a reader still waiting in open() (qemu never opened it)
    local f
    for f in "$T/out" "$T/err"; do [ -p "$f" ] && { exec 3<>"$f"; exec 3>&-; }; done
}
cleanup() {
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null
    release_fifos 2>/dev/null
    for p in $CAT1 $CAT2 $TAILPID; do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM

# ---- per-boot initramfs part: /init, guest-init.sh, config and the job
mkdir -p "$T/cpio/realtape"
install -m 0755 "$HERE/guest/init" "$T/cpio/init"
install -m 0755 "$HERE/guest/guest-init.sh" "$T/cpio/realtape/guest-init.sh"
{
    printf 'SHARE_PATH=%q\nTAPE_SHARE=%q\n' "$SHARE" "${TAPE_DIR:+1}"
    printf 'DRIVES=%q\nTAPE_MB=%q\nVERBOSE=%q\nTGTD=%q\n' "$DRIVES" "$TAPE_MB" "$VERBOSE" "$TGTD"
} > "$T/cpio/realtape/config"
{
    echo '# generated by run.sh'
    for e in ${ENVS[@]+"${ENVS[@]}"}; do printf 'export %q\n' "$e"; done
    printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$T/cpio/realtape/job.sh"
[ -n "$STDIN" ] && cat > "$T/cpio/realtape/stdin"
( cd "$T/cpio" && find . | cpio -o -H newc --quiet ) > "$T/job.cpio"
cat "$CACHE/initrd-base.cpio" "$T/job.cpio" > "$T/initrd"

# ---- output plumbing: virtio-serial ports -> FIFOs -> our stdout/stderr
mkfifo "$T/out" "$T/err"
cat "$T/out" & CAT1=$!
cat "$T/err" >&2 & CAT2=$!
: > "$T/console.log"

SHARE_OPTS=()
if [ -n "$SHARE" ]; then
    if [ "$(id -u)" = 0 ]; then SM=passthrough; else SM=none; fi
    SHARE_OPTS=(-virtfs "local,path=${SHARE//,/,,},mount_tag=share,security_model=$SM,id=share")
fi
if [ -n "$TAPE_DIR" ]; then
    if [ "$(id -u)" = 0 ]; then SM=passthrough; else SM=none; fi
    SHARE_OPTS+=(-virtfs "local,path=${TAPE_DIR//,/,,},mount_tag=tapes,security_model=$SM,id=tapes")
fi
SCRATCH_OPTS=()
[ -e "$CACHE/scratch.ext4" ] && SCRATCH_OPTS=(
    -drive "file=${CACHE//,/,,}/scratch.ext4,format=raw,if=none,id=scratch,snapshot=on,cache=unsafe"
    -device virtio-blk-pci,drive=scratch,serial=realtape-scratch)
KERNEL=$CACHE/vmlinuz
[ -s "$CACHE/vmlinux" ] && KERNEL=$CACHE/vmlinux    # PVH boot, no decompression
BIOS=()
[ -r /usr/share/qemu/qboot.rom ] && BIOS=(-bios /usr/share/qemu/qboot.rom)

START=$(date +%s.%N)
set +e
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 \
    -nodefaults -no-user-config -display none -no-reboot \
    -machine pc "${ACCEL_OPTS[@]}" -m "$MEM" -smp "$SMP" "${BIOS[@]}" \
    -kernel "$KERNEL" -initrd "$T/initrd" \
    -append "console=ttyS0 quiet loglevel=4 panic=-1 mitigations=off random.trust_cpu=on tsc=reliable no_timer_check" \
    -drive "file=${CACHE//,/,,}/rootfs.ext4,format=raw,if=none,id=root,snapshot=on,cache=unsafe" \
    -device virtio-blk-pci,drive=root,serial=realtape-root \
    "${SCRATCH_OPTS[@]}" "${SHARE_OPTS[@]}" \
    -device virtio-serial-pci,id=vser \
    -chardev "file,id=rtout,path=$T/out" -device virtserialport,chardev=rtout,name=realtape.stdout \
    -chardev "file,id=rterr,path=$T/err" -device virtserialport,chardev=rterr,name=realtape.stderr \
    -chardev "file,id=rtctl,path=$T/ctl" -device virtserialport,chardev=rtctl,name=realtape.ctl \
    -chardev "file,id=con,path=$T/console.log" -serial chardev:con \
    </dev/null &
QPID=$!
if [ -n "$VERBOSE" ]; then   # follow the console until qemu is gone
    tail -n +1 -s 0.2 -f --pid="$QPID" "$T/console.log" | tr -d '\r' >&2 & TAILPID=$!
fi
wait $QPID; QRC=$?
QPID=
set -e
release_fifos
wait $CAT1 $CAT2 2>/dev/null || true
CAT1= CAT2=
[ -n "$TAILPID" ] && { wait "$TAILPID" 2>/dev/null || true; TAILPID=; }
END=$(date +%s.%N)

STATUS=$( [ -f "$T/ctl" ] && cat "$T/ctl" || true)
[ -n "$STATUS" ] || STATUS=$(sed -n 's/.*REALTAPE_RC=//p' "$T/console.log" | tr -d '\r' | tail -1)
RC=$(echo "$STATUS" | awk '{print $1}' | tr -dc 0-9)
if [ -z "$RC" ]; then
    echo "run.sh: VM did not report an exit status (qemu rc=$QRC$( [ $QRC = 124 ] && echo ', timed out')). Console log:" >&2
    tail -n 60 "$T/console.log" | tr -d '\r' >&2
    exit 125
fi
if [[ $STATUS == *setup-failed* ]]; then
    echo "run.sh: guest setup failed (the command did not run). Console log:" >&2
    tail -n 60 "$T/console.log" | tr -d '\r' >&2
fi
if [ -n "$VERBOSE" ]; then
    awk -v a="$ACCEL" -v s="$START" -v e="$END" 'BEGIN{printf "run.sh: accel=%s wall=%.1fs (boot+setup+command+poweroff)\n", a, e-s}' >&2
fi
exit "$RC"
