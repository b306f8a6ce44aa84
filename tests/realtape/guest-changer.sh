#!/bin/bash
# guest-changer.sh - inside the realtape VM: one scripted sequence of library
# operations (inventory, load, refusals, tar through the drive, mt offline,
# MTLOAD 0x10000+slot, unload, move, export, import) run twice, on rmtd's
# virtual library and on the emulated SCSI changer (/dev/sch0 through ch, its
# drive /dev/nst0 through st), each result in OUT/virtual.txt and OUT/sch.txt.
#
#   guest-changer.sh STAGE    (STAGE holds rmtd, rmtctl, rmt-vtape, ch.ko,
#                              changer-setup.sh, rsh-shim; results go to STAGE/out)
set -u
STAGE=$1
OUT=$STAGE/out
mkdir -p "$OUT"
fail() { echo "guest-changer: $*" >&2; exit 1; }
BARCODES="B00001 B00002 B00003"
"$STAGE/changer-setup.sh" "$STAGE/ch.ko" /tmp/media 4 1 $BARCODES || fail "changer setup"

# run_side NAME CONFIG-LINES: rmtd as a daemon with a control socket, the sequence.
run_side() {
	local side=$1 conf=/tmp/$1.conf work=/tmp/$1 pid rc
	mkdir -p "$work/state" "$work/data"
	printf '%s\n' "state-directory $work/state" "$2" "$3" \
		"allow * drive rdrv read-write create truncate settings" >"$conf"
	"$STAGE/rmtd" -d -f "$conf" --listen 127.0.0.1:$((5400 + ${#side})) \
		--control "$work/ctl.sock" --control-mode 0600 >"$OUT/$side.log" 2>&1 &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		"$STAGE/rmtctl" -s "$work/ctl.sock" status >/dev/null 2>&1 && break
		sleep 0.05
	done
	export RMTD_SHIM_ARGS="-f $conf" RMTD_BUILD_DIR=$STAGE/build RMTD_SHIM_LOG=$OUT/$side.shim.log
	echo "hello from the $side side" | sed 's/ the .* side//' >"$work/data/hello.txt"
	sequence "$work" >"$OUT/$side.txt" 2>&1
	rc=$?
	kill "$pid"
	wait "$pid" 2>/dev/null
	return $rc
}

sequence() {
	local work=$1 shim=$STAGE/rsh-shim
	ctl() {
		echo "\$ rmtctl $*"
		"$STAGE/rmtctl" -s "$work/ctl.sock" "$@" 2>&1 | sed '/^Library /d'
		echo "exit ${PIPESTATUS[0]}"
	}
	rmt() { # an rmt request sequence straight to rmtd --stdio
		echo "\$ rmt $(printf '%s' "$1" | tr '\n' ' ')"
		printf '%s' "$1" | "$shim" localhost /etc/rmt | tr '\n' ' '
		echo
	}
	ctl inventory
	ctl load B00002 rdrv
	ctl load B00001 rdrv
	ctl move robot slot:1 slot:3
	ctl export B00002
	echo "\$ tar -c hello.txt"
	tar --rsh-command="$shim" -cf localhost:rdrv -C "$work/data" hello.txt 2>&1
	echo "exit $?"
	echo "\$ mt offline"
	mt-gnu --rsh-command="$shim" -f localhost:rdrv offline 2>&1
	echo "exit $?"
	ctl inventory
	rmt $'Ordrv\n0\nI30\n65538\nC\n'
	ctl inventory
	echo "\$ tar -t"
	tar --rsh-command="$shim" -tf localhost:rdrv 2>&1
	echo "exit $?"
	ctl unload rdrv
	ctl move robot slot:1 slot:4
	ctl move robot slot:9 slot:1
	ctl export B00003
	ctl export B00001
	ctl import robot
	ctl inventory
	ctl cartridges B00002 | sed 's/ bytes, .*//'
}

mkdir -p /tmp/vlib
for b in $BARCODES; do "$STAGE/rmt-vtape" create --capacity 64M "/tmp/vlib/$b.tap" >/dev/null; done
run_side virtual "library robot virtual /tmp/vlib slots 4 portals 1" "library robot drive 0 rdrv" ||
	fail "virtual side"
run_side sch "library robot changer /dev/sch0" "library robot drive 0 rdrv /dev/nst0" ||
	fail "sch side"
echo "guest-changer: both sides ran"
