#!/bin/bash
# build-vm.sh - build (once) the Debian 12 system the systemd test boots:
# debootstrap's minbase with systemd, packed as one uncompressed initramfs
# (no disk, no kernel modules: the kernel unpacks it into a tmpfs root and
# starts systemd as PID 1), and Debian's stock kernel taken out of its package
# with dpkg -x.
#
#   build-vm.sh           prints the cache directory when it is up to date
#
# Environment:
#   RMTD_VM_CACHE   where the result is kept (default /var/cache/rmtd-tests/vm)
#   RMTD_VM_MIRROR  Debian mirror (default: the first of this machine's apt sources)
#   RMTD_VM_FORCE=1 build again
#
# The result is rebuilt only when this script changes. Needs root (debootstrap).
set -euo pipefail
CACHE=${RMTD_VM_CACHE:-/var/cache/rmtd-tests/vm}
SUITE=bookworm
# What rmtd's packages depend on (the guest has no network: dpkg -i must find
# them installed), dbus for systemctl and systemd-analyze, and the test's tools.
PACKAGES=systemd,dbus,procps,openssl,libevent-core-2.1-7,libevent-pthreads-2.1-7,libevent-openssl-2.1-7,libbsd0,libjansson4,libssl3

say() { printf '[build-vm %4ss] %s\n' "$SECONDS" "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 1
}
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap)"
export PATH=$PATH:/usr/sbin:/sbin

mirror() {
	{ cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
		sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
	{ cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } |
		awk '$1=="deb"{print ($2 ~ /^\[/) ? $3 : $2}'
}
MIRROR=${RMTD_VM_MIRROR:-$(mirror | grep -v -e '-security' | head -n 1 || true)}
[ -n "$MIRROR" ] || die "no Debian mirror in the apt sources; set RMTD_VM_MIRROR"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
STAMP=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
if [ "${RMTD_VM_FORCE:-0}" != 1 ] && [ -f "$CACHE/done-$STAMP" ]; then
	echo "$CACHE"
	exit 0
fi
rm -rf "${CACHE:?}"/* 

# ---------------------------------------------------------------- kernel
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$KPKG" ]; then
	apt-get update -q >/dev/null
	KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
fi
[ -n "$KPKG" ] || die "cannot resolve linux-image-amd64"
say "kernel: $KPKG"
mkdir -p "$CACHE/kernel"
(cd "$CACHE/kernel" && apt-get download -q "$KPKG" >/dev/null) || die "apt-get download $KPKG"
dpkg -x "$CACHE"/kernel/*.deb "$CACHE/kernel/root"
cp "$CACHE"/kernel/root/boot/vmlinuz-* "$CACHE/vmlinuz"
# The uncompressed ELF image boots through QEMU's PVH entry point, skipping
# the decompression that takes seconds under TCG.
off=$(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$CACHE/vmlinuz" | head -1 | cut -d: -f1 || true)
if [ -n "$off" ]; then
	tail -c +$((off + 1)) "$CACHE/vmlinuz" | xz -dc --single-stream >"$CACHE/vmlinux" 2>/dev/null || true
	[ "$(head -c 4 "$CACHE/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] || rm -f "$CACHE/vmlinux"
fi
rm -rf "$CACHE/kernel"

# ---------------------------------------------------------------- root
ROOT=$CACHE/root
say "debootstrap $SUITE minbase + $PACKAGES from $MIRROR"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" \
	>"$CACHE/debootstrap.log" 2>&1 || {
	tail -n 30 "$CACHE/debootstrap.log" >&2
	die "debootstrap failed (log: $CACHE/debootstrap.log)"
}
say "trimming and configuring"
rm -rf "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/locale/* "$ROOT"/usr/share/info/* \
	"$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
find "$ROOT"/usr/share/man -type f -delete
echo rmtd-vm >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\trmtd-vm\n' >"$ROOT/etc/hosts"
: >"$ROOT/etc/fstab"
: >"$ROOT/etc/machine-id"
# A quiet, quick boot: no logins, no periodic jobs.
for unit in serial-getty@ttyS0.service getty@tty1.service apt-daily.timer \
	apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
	systemd-timesyncd.service systemd-networkd.service; do
	ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
done
# The test is a unit the payload brings (run-vm-test.sh).
ln -s /etc/systemd/system/rmtd-vm-test.service \
	"$ROOT/etc/systemd/system/multi-user.target.wants/rmtd-vm-test.service" 2>/dev/null ||
	{ mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants" &&
		ln -s /etc/systemd/system/rmtd-vm-test.service \
			"$ROOT/etc/systemd/system/multi-user.target.wants/rmtd-vm-test.service"; }
say "packing the initramfs"
(cd "$ROOT" && find . -xdev | cpio -o -H newc -R 0:0 --quiet) >"$CACHE/root.cpio.tmp"
mv "$CACHE/root.cpio.tmp" "$CACHE/root.cpio"
rm -rf "$ROOT"
touch "$CACHE/done-$STAMP"
say "done: $(du -sh "$CACHE/root.cpio" | cut -f1) initramfs"
echo "$CACHE"
