#!/bin/bash
# guest-differential.sh - the st half of the differential test; runs INSIDE the
# realtape VM (started by tests/realtape/run.sh), in the staging directory.
#
# Every tests/realtape/scripts/*.ops runs once, on its own fresh drive
# (/dev/nstK, rewinding twin /dev/stK), through the rmt server given in
# RT_SERVER (rmtd --stdio by default) via tapescript. Results go to out/st/.
set -u
cd "$(dirname "$0")" || exit 3
mkdir -p out/st
read -r -a server <<<"${RT_SERVER:-./rmtd/rmtd --stdio -d}"

# Every binary must run here (the guest has only the libraries build.sh installed).
for binary in ./bin/tapescript "${server[0]}"; do
	if ldd "$binary" 2>&1 | grep -q 'not found'; then
		echo "guest: $binary cannot run in the VM: missing libraries:" >&2
		ldd "$binary" | grep 'not found' >&2
		exit 3
	fi
done

# Facts about the drive that the report quotes.
{
	echo "kernel $(uname -r)"
	for f in /sys/class/scsi_tape/nst0/device/{vendor,model} /sys/class/scsi_tape/nst0/options; do
		[ -r "$f" ] && echo "$f: $(tr -s ' ' <"$f")"
	done
	[ -r /sys/module/st/parameters/buffer_kbs ] && echo "st buffer_kbs $(cat /sys/module/st/parameters/buffer_kbs)"
	[ -r /sys/module/st/parameters/max_sg_segs ] && echo "st max_sg_segs $(cat /sys/module/st/parameters/max_sg_segs)"
	mt-st -f /dev/nst0 status 2>&1
} >out/st/drive-facts.txt

index=0
for script in scripts/*.ops; do
	name=$(basename "$script" .ops)
	start=$(date +%s.%N)
	./bin/tapescript -t "/dev/nst$index" -r "/dev/st$index" -T 60 -e "out/st/$name.log" \
		"$script" -- "${server[@]}" >"out/st/$name.out" 2>"out/st/$name.err"
	echo $? >"out/st/$name.rc"
	end=$(date +%s.%N)
	awk -v n="$name" -v s="$start" -v e="$end" 'BEGIN { printf "guest: %-36s %.2fs\n", n, e - s }'
	index=$((index + 1))
done
dmesg | grep -E ' st[0-9]*:|st [0-9]' >out/st/dmesg.txt 2>/dev/null
exit 0
