#!/bin/bash
# run-vm-test.sh SOURCE WORKDIR - the systemd deployment test: build
# the Debian packages from SOURCE (build-deb.sh, lintian included), boot the
# cached Debian VM (build-vm.sh) with systemd as PID 1 under QEMU, and run
# vm-test.sh there. Prints what it checked; exits 0 when every check passed.
#
# Environment: RMTD_VM_ACCEL = auto | kvm | tcg (default auto: KVM only where
# it runs stock kernels), RMTD_VM_TIMEOUT (seconds, default 900).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE=$1 WORK=$2
TIMEOUT=${RMTD_VM_TIMEOUT:-900}
T0=$SECONDS
say() { printf '# [%4ss] %s\n' "$((SECONDS - T0))" "$*"; }

[ "$(id -u)" = 0 ] || {
	echo "run-vm-test.sh: needs root (debootstrap, and dpkg-buildpackage's lintian run)" >&2
	exit 1
}
for tool in qemu-system-x86_64 debootstrap dpkg-buildpackage dh lintian cpio; do
	command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$tool" >/dev/null || {
		echo "run-vm-test.sh: $tool missing (contrib/setup.sh deps installs it)" >&2
		exit 1
	}
done

say "VM image (build-vm.sh; cached)"
CACHE=$("$HERE/build-vm.sh" | tail -n 1)
say "packages (build-deb.sh)"
rm -rf "$WORK" && mkdir -p "$WORK/debs" "$WORK/payload/payload" "$WORK/payload/etc/systemd/system"
"$HERE/build-deb.sh" "$SOURCE" "$WORK/debs"

cp "$WORK"/debs/librmt0_*.deb "$WORK"/debs/rmtd_*.deb "$WORK"/debs/rmt-client_*.deb \
	"$WORK/payload/payload/"
install -m 0755 "$HERE/vm-test.sh" "$WORK/payload/payload/vm-test.sh"
install -m 0644 "$HERE/rmtd-vm-test.service" "$WORK/payload/etc/systemd/system/"
(cd "$WORK/payload" && find . | cpio -o -H newc -R 0:0 --quiet) >"$WORK/payload.cpio"
# The kernel unpacks concatenated archives in turn: the payload lands on the root.
cat "$CACHE/root.cpio" "$WORK/payload.cpio" >"$WORK/initrd"

ACCEL=${RMTD_VM_ACCEL:-auto}
if [ "$ACCEL" = auto ]; then
	# /dev/kvm of a PVM host (kvm_pvm) runs only PVM guest kernels.
	if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then ACCEL=kvm; else ACCEL=tcg; fi
fi
case $ACCEL in
kvm) ACCEL_OPTS=(-accel kvm -cpu host) ;;
*) ACCEL_OPTS=(-accel "tcg,thread=multi,tb-size=256" -cpu max) ;;
esac
KERNEL=$CACHE/vmlinuz
[ -s "$CACHE/vmlinux" ] && KERNEL=$CACHE/vmlinux
BIOS=()
[ -r /usr/share/qemu/qboot.rom ] && BIOS=(-bios /usr/share/qemu/qboot.rom)

say "booting ($ACCEL)"
rc=0
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
	-machine pc "${ACCEL_OPTS[@]}" -m 2048 -smp 2 "${BIOS[@]}" \
	-kernel "$KERNEL" -initrd "$WORK/initrd" \
	-append "console=ttyS0 rdinit=/lib/systemd/systemd quiet loglevel=3 systemd.show_status=0 panic=-1 mitigations=off random.trust_cpu=on tsc=reliable no_timer_check" \
	-serial "file:$WORK/console.log" </dev/null || rc=$?
say "VM ended (qemu exit $rc)"
tr -d '\r' <"$WORK/console.log" >"$WORK/console.txt"
grep -E '^(ok|not ok) - |^#' "$WORK/console.txt" || true
result=$(sed -n 's/^RMTD-VM-TEST //p' "$WORK/console.txt" | tail -n 1)
if [ -z "$result" ]; then
	echo "run-vm-test.sh: the VM reported no result; its console:" >&2
	tail -n 60 "$WORK/console.txt" >&2
	exit 1
fi
say "$result"
case $result in
"passed="[1-9]*" failed=0") exit 0 ;;
*) exit 1 ;;
esac
