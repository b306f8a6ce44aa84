#!/bin/bash
# tests/realtape/rig/build.sh - build the small Debian 12 VM of the realtape tests,
# in which the real Linux st driver (/dev/nst0, /dev/st0) drives an emulated SCSI
# tape drive. Everything comes from Debian packages:
#
#   kernel     Debian's stock linux-image-amd64, unpacked with dpkg -x (never installed)
#   root       debootstrap --variant=minbase, packed into an ext4 image
#   tape drive tgtd (device-type tape, bstype ssc) built from Debian's tgt source
#              package with tgt-ssc-fidelity.patch (this folder), reached by the
#              kernel's iSCSI initiator over loopback inside the VM; Debian's own
#              tgtd stays in the guest as tgtd.debian
#
# The result lives outside the tree, in $REALTAPE_CACHE. Each step is skipped when
# its output is there and its inputs are unchanged, so a second run takes a second.
# Needs root (debootstrap, chroot, mkfs); installs the host tools it lacks with apt.
#
# Environment:
#   REALTAPE_CACHE   output folder           (default /var/cache/realtape-rmtd)
#   REALTAPE_MIRROR  Debian mirror           (default: the first URI of this machine's apt sources)
#   REALTAPE_SUITE   Debian suite            (default bookworm)
#   REALTAPE_KERNEL_PKG  kernel package      (default: what linux-image-amd64 depends on)
#   REALTAPE_EXTRA_PACKAGES  more packages for the guest, space separated
#   REALTAPE_FORCE=1 build everything again
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CACHE=${REALTAPE_CACHE:-/var/cache/realtape-rmtd}
# The mirrors are the ones this machine's apt already uses (deb822 or one-line sources).
apt_uri() {
    { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
    { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
        | awk '$1=="deb"{print ($2 ~ /^\[/) ? $3 : $2}'
}
MIRROR=${REALTAPE_MIRROR:-$(apt_uri | grep -v -e '-security' | head -n 1 || true)}
SECURITY_MIRROR=${REALTAPE_SECURITY_MIRROR:-$(apt_uri | grep -e '-security' | head -n 1 || true)}
[ -n "$MIRROR" ] || { echo "build.sh: no Debian mirror found in apt sources; set REALTAPE_MIRROR" >&2; exit 1; }
[ -n "$SECURITY_MIRROR" ] || SECURITY_MIRROR="${MIRROR%/}-security"
SUITE=${REALTAPE_SUITE:-bookworm}
EXTRA=${REALTAPE_EXTRA_PACKAGES:-}
GUEST_PKGS="tgt,open-iscsi,mt-st,sg3-utils,kmod,busybox-static,procps,iproute2,strace,cpio,file"
[ -n "$EXTRA" ] && GUEST_PKGS="$GUEST_PKGS,$(echo $EXTRA | tr ' ' ',')"
# kernel modules copied into the guest (with their dependencies)
GUEST_MODULES="st sg sd_mod iscsi_tcp scsi_debug 9p 9pnet_virtio virtio_pci virtio_blk
  virtio_console virtio_net ext4 overlay loop crc32c_generic"
# modules the initramfs needs to mount the root image
INITRD_MODULES="virtio_pci virtio_blk crc32c_generic ext4"

T0=$(date +%s)
say() { printf '[realtape-build %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, mkfs, chroot)"

# ---------------------------------------------------------------- host tools
need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have qemu-system-x86_64 || need_pkgs+=(qemu-system-x86)
have debootstrap        || need_pkgs+=(debootstrap)
have cpio               || need_pkgs+=(cpio)
have depmod             || need_pkgs+=(kmod)
have mkfs.ext4          || need_pkgs+=(e2fsprogs)
have gcc                || need_pkgs+=(gcc libc6-dev)
have make               || need_pkgs+=(make)
have patch              || need_pkgs+=(patch)
have dpkg-source        || need_pkgs+=(dpkg-dev)
have xz                 || need_pkgs+=(xz-utils)
have strip              || need_pkgs+=(binutils)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "installing host packages: ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/tmp/realtape-apt.$$ 2>&1; then
        apt-get update >/dev/null 2>&1 || true
        apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/tmp/realtape-apt.$$ 2>&1 \
            || { cat /tmp/realtape-apt.$$ >&2; die "apt-get install failed"; }
    fi
    rm -f /tmp/realtape-apt.$$
fi
export PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9 || die "cannot lock $CACHE/.build.lock"
[ "${REALTAPE_FORCE:-0}" = 1 ] && { say "REALTAPE_FORCE=1: wiping $CACHE"; find "$CACHE" -mindepth 1 -maxdepth 1 ! -name .build.lock -exec rm -rf {} +; }

# ------------------------------------------------------------------- kernel
KPKG=${REALTAPE_KERNEL_PKG:-}
if [ -z "$KPKG" ]; then
    KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    if [ -z "$KPKG" ]; then apt-get update >/dev/null 2>&1 || true
        KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); fi
    [ -n "$KPKG" ] || die "cannot resolve linux-image-amd64"
fi
if [ ! -f "$CACHE/kernel/.done-$KPKG" ]; then
    say "fetching kernel package $KPKG"
    rm -rf "$CACHE/kernel" "$CACHE/kernel.tmp"; mkdir -p "$CACHE/kernel.tmp/deb"
    ( cd "$CACHE/kernel.tmp/deb" && apt-get download "$KPKG" >/dev/null 2>&1 ) \
        || { apt-get update >/dev/null 2>&1; ( cd "$CACHE/kernel.tmp/deb" && apt-get download "$KPKG" ); } \
        || die "apt-get download $KPKG failed"
    say "extracting kernel (dpkg -x)"
    dpkg -x "$CACHE"/kernel.tmp/deb/*.deb "$CACHE/kernel.tmp/root"
    KVER=$(ls "$CACHE/kernel.tmp/root/lib/modules" | head -1)
    depmod -b "$CACHE/kernel.tmp/root" "$KVER"
    mv "$CACHE/kernel.tmp" "$CACHE/kernel"
    echo "$KVER" > "$CACHE/kernel/version"
    touch "$CACHE/kernel/.done-$KPKG"
fi
KVER=$(cat "$CACHE/kernel/version")
KROOT=$CACHE/kernel/root
ln -sf "kernel/root/boot/vmlinuz-$KVER" "$CACHE/vmlinuz"
# Uncompressed ELF vmlinux: QEMU boots it through the PVH entry point, which
# skips the in-guest xz decompression (about 2 s under TCG emulation).
if [ ! -s "$CACHE/vmlinux" ] || [ "$CACHE/kernel/.done-$KPKG" -nt "$CACHE/vmlinux" ]; then
    off=$(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$CACHE/kernel/root/boot/vmlinuz-$KVER" | head -1 | cut -d: -f1 || true)
    rm -f "$CACHE/vmlinux.tmp"
    # (tail may die of SIGPIPE once xz has its single stream: ignore status)
    [ -n "$off" ] && { tail -c +$((off + 1)) "$CACHE/kernel/root/boot/vmlinuz-$KVER" \
            | xz -dc --single-stream > "$CACHE/vmlinux.tmp" 2>/dev/null || true; }
    if [ -s "$CACHE/vmlinux.tmp" ] && [ "$(head -c 4 "$CACHE/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
        mv "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"
    else
        rm -f "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"; say "note: could not extract vmlinux; will boot the bzImage"
    fi
fi
say "kernel: $KPKG ($KVER)"

# module closure helper: prints paths relative to $KROOT
mod_closure() {
    local m
    for m in "$@"; do
        modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" 2>/dev/null \
            | awk '$1=="insmod"{print $2}'
    done | sed "s|^$KROOT/||" | awk '!seen[$0]++'
}

# ------------------------------------------------------------------- rootfs
ROOTFS_KEY="$SUITE|$MIRROR|$GUEST_PKGS|$KVER|$GUEST_MODULES|v3"
ROOTFS_SUM=$(printf '%s' "$ROOTFS_KEY" | sha256sum | cut -c1-16)
if [ ! -f "$CACHE/rootfs/.done-$ROOTFS_SUM" ]; then
    say "debootstrap $SUITE (minbase + $GUEST_PKGS) - about 1 minute"
    rm -rf "$CACHE/rootfs" "$CACHE/rootfs.tmp"
    debootstrap --variant=minbase --include="$GUEST_PKGS" "$SUITE" "$CACHE/rootfs.tmp" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 || { tail -30 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    R=$CACHE/rootfs.tmp
    say "customising rootfs"
    # kernel modules (only the closure we need) + depmod
    mkdir -p "$R/lib/modules/$KVER"
    cp "$KROOT/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$KVER/" 2>/dev/null || true
    for f in $(mod_closure $GUEST_MODULES); do
        mkdir -p "$R/$(dirname "$f")"; cp "$KROOT/$f" "$R/$f"
    done
    depmod -b "$R" "$KVER"
    # iSCSI initiator: no systemd socket activation, no NOP-outs (TCG can be slow)
    sed -i -e 's|^iscsid.startup = .*|iscsid.startup = /bin/true|' \
           -e 's|^node.conn\[0\].timeo.noop_out_interval = .*|node.conn[0].timeo.noop_out_interval = 0|' \
           -e 's|^node.conn\[0\].timeo.noop_out_timeout = .*|node.conn[0].timeo.noop_out_timeout = 0|' \
           -e 's|^node.session.timeo.replacement_timeout = .*|node.session.timeo.replacement_timeout = 15|' \
           "$R/etc/iscsi/iscsid.conf"
    echo "InitiatorName=iqn.2024-01.org.realtape:initiator" > "$R/etc/iscsi/initiatorname.iscsi"
    echo realtape > "$R/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 realtape\n' > "$R/etc/hosts"
    : > "$R/etc/fstab"
    # slim it down (docs, manpages, locales, apt lists/caches)
    rm -rf "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/* \
           "$R"/usr/share/locale/* "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/*
    mkdir -p "$R/var/lib/realtape"
    mv "$R" "$CACHE/rootfs"
    touch "$CACHE/rootfs/.done-$ROOTFS_SUM"
    rm -f "$CACHE/rootfs.ext4" "$CACHE/rootfs.ext4.key"
fi
say "rootfs: $(du -sh "$CACHE/rootfs" | cut -f1)"

# ------------------------------------------------- tgtd with the SSC patch
# The key covers the patch and tgt's version: a changed patch rebuilds tgtd.
TGT_PATCH=$HERE/tgt-ssc-fidelity.patch
TGT_VER=$(chroot "$CACHE/rootfs" dpkg-query -W -f='${Version}' tgt)
TGT_SUM=$(cat "$TGT_PATCH" | sha256sum | cut -c1-16)-$(printf '%s' "$TGT_VER" | tr -c 'A-Za-z0-9.+-' _)
if [ ! -f "$CACHE/tgt/.done-$TGT_SUM" ]; then
    say "building tgtd $TGT_VER from Debian source + $(basename "$TGT_PATCH")"
    A=$CACHE/apt-src
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
    printf 'deb-src %s %s main\ndeb-src %s %s-updates main\ndeb-src %s %s-security main\n' \
        "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SECURITY_MIRROR" "$SUITE" > "$A/sources.list"
    APTO=(-o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o APT::Sandbox::User=root)
    apt-get "${APTO[@]}" update >"$CACHE/tgt-build.log" 2>&1 || { tail "$CACHE/tgt-build.log" >&2; die "apt-get update (deb-src) failed"; }
    rm -rf "$CACHE/tgt" "$CACHE/tgt.tmp"; mkdir -p "$CACHE/tgt.tmp"
    ( cd "$CACHE/tgt.tmp" && apt-get "${APTO[@]}" source "tgt=$TGT_VER" ) >>"$CACHE/tgt-build.log" 2>&1 \
        || { tail "$CACHE/tgt-build.log" >&2; die "apt-get source tgt=$TGT_VER failed"; }
    SRC=$(find "$CACHE/tgt.tmp" -mindepth 1 -maxdepth 1 -type d -name 'tgt-*' | head -1)
    ( cd "$SRC" && patch -p1 < "$TGT_PATCH" ) >>"$CACHE/tgt-build.log" 2>&1 || { tail "$CACHE/tgt-build.log" >&2; die "patch failed"; }
    UPV=${TGT_VER#*:}; UPV=${UPV%%-*}
    make -C "$SRC/usr" -j"$(nproc)" tgtd VERSION="$UPV" EXTRAVERSION=+realtape >>"$CACHE/tgt-build.log" 2>&1 \
        || { tail -30 "$CACHE/tgt-build.log" >&2; die "tgtd build failed"; }
    mkdir -p "$CACHE/tgt.tmp/out"; cp "$SRC/usr/tgtd" "$CACHE/tgt.tmp/out/tgtd"
    strip "$CACHE/tgt.tmp/out/tgtd" 2>/dev/null || true
    rm -rf "$SRC"
    mv "$CACHE/tgt.tmp" "$CACHE/tgt"
    touch "$CACHE/tgt/.done-$TGT_SUM"
fi
R=$CACHE/rootfs
[ -e "$R/usr/sbin/tgtd.debian" ] || cp -a "$R/usr/sbin/tgtd" "$R/usr/sbin/tgtd.debian"
if ! cmp -s "$CACHE/tgt/out/tgtd" "$R/usr/sbin/tgtd"; then
    install -m 0755 "$CACHE/tgt/out/tgtd" "$R/usr/sbin/tgtd"
fi
say "tgtd: $TGT_VER + realtape patch (stock binary kept as /usr/sbin/tgtd.debian)"

# --------------------------------------------------------------- ext4 image
IMAGE_KEY="$ROOTFS_SUM|$TGT_SUM|v1"
if [ ! -f "$CACHE/rootfs.ext4" ] || [ "$(cat "$CACHE/rootfs.ext4.key" 2>/dev/null)" != "$IMAGE_KEY" ]; then
    say "making ext4 root image"
    used_mb=$(du -sm "$CACHE/rootfs" | cut -f1)
    size_mb=$(( used_mb + used_mb / 4 + 256 ))   # headroom: tape images live here
    rm -f "$CACHE/rootfs.ext4.tmp"
    mkfs.ext4 -q -F -L realtape -E root_owner=0:0 -O ^has_journal -d "$CACHE/rootfs" \
        "$CACHE/rootfs.ext4.tmp" "${size_mb}M" >/dev/null
    mv "$CACHE/rootfs.ext4.tmp" "$CACHE/rootfs.ext4"
    echo "$IMAGE_KEY" > "$CACHE/rootfs.ext4.key"
fi
say "root image: $(du -h --apparent-size "$CACHE/rootfs.ext4" | cut -f1) ($(du -h "$CACHE/rootfs.ext4" | cut -f1) on disk)"

# ------------------------------------------------------------ scratch disk
# An empty, sparse 32 GiB ext4 attached (snapshot=on) to every VM: /scratch,
# holding the tape images and /tmp. Only what a run writes takes host disk
# (in QEMU's temporary snapshot overlay, deleted when the VM exits).
if [ ! -f "$CACHE/scratch.ext4" ]; then
    say "making sparse scratch disk image"
    rm -f "$CACHE/scratch.ext4.tmp"
    truncate -s 32G "$CACHE/scratch.ext4.tmp"
    mkfs.ext4 -q -F -L rtscratch -N 1024 -m 0 -O ^has_journal \
        -E lazy_itable_init=0,lazy_journal_init=0,nodiscard,root_owner=0:0 "$CACHE/scratch.ext4.tmp" >/dev/null
    mv "$CACHE/scratch.ext4.tmp" "$CACHE/scratch.ext4"
fi

# --------------------------------------------------------- base initramfs
# busybox + the modules needed to mount the root image. The /init script
# itself is added by run.sh at every boot (a second, concatenated cpio).
INITRD_SUM=$(printf '%s' "$KVER|$INITRD_MODULES|$ROOTFS_SUM|v2" | sha256sum | cut -c1-16)
if [ ! -f "$CACHE/initrd-base.cpio" ] || [ "$(cat "$CACHE/initrd-base.sum" 2>/dev/null)" != "$INITRD_SUM" ]; then
    say "making base initramfs"
    I=$CACHE/initrd.tmp
    rm -rf "$I"; mkdir -p "$I"/{bin,dev,proc,sys,newroot,lib/modules}
    cp "$CACHE/rootfs/bin/busybox" "$I/bin/busybox"
    : > "$I/lib/modules/load-order"
    for f in $(mod_closure $INITRD_MODULES); do
        cp "$KROOT/$f" "$I/lib/modules/"
        echo "$(basename "$f")" >> "$I/lib/modules/load-order"
    done
    ( cd "$I" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet ) > "$CACHE/initrd-base.cpio.tmp"
    mv "$CACHE/initrd-base.cpio.tmp" "$CACHE/initrd-base.cpio"
    echo "$INITRD_SUM" > "$CACHE/initrd-base.sum"
    rm -rf "$I"
fi

cat > "$CACHE/build-info" <<EOF
kernel_pkg=$KPKG
kernel_version=$KVER
suite=$SUITE
guest_packages=$GUEST_PKGS
tgt=$TGT_VER (tgtd rebuilt with tgt-ssc-fidelity.patch; stock: tgtd.debian)
open_iscsi=$(chroot "$CACHE/rootfs" dpkg-query -W -f='${Version}' open-iscsi)
mt_st=$(chroot "$CACHE/rootfs" dpkg-query -W -f='${Version}' mt-st)
qemu=$(qemu-system-x86_64 --version | head -1)
EOF
say "done: $CACHE ($(du -sh "$CACHE" | cut -f1))"
