#!/bin/bash
# pipeline.sh - classic against pipelined rmt-connect, through delay_relay.py.
#
#   tests/bench/pipeline.sh [-b BUILD_DIR] [SIZE_MIB [RATE_MB_S]]
#
# One run, not a test: prints figures and whether they meet the goals.
# tar -b 20 (10 KiB records) of one file of random data goes to a virtual tape
# in rmtd, through the relay at 1, 10 and 50 ms round trip (one-way delay half
# of it) with its rate capped at RATE_MB_S (default 20): classic (one record
# per round trip, on a smaller share of the data so that it ends in seconds)
# and pipelined (all SIZE_MIB, default 64). Goals: pipelined >= 10x classic at
# 10 ms and >= 80 % of the capped rate. Then loopback without the relay: tar
# through the pipelined connector against local `tar -cf - | cat`, goal
# <= 1.3x. The load average before and after is printed: the machine may be
# shared. Two more figures say what bounds the rest: the share of the cap the
# relay's own link gives a raw TCP stream (raw_link.py), and the CPU time rmtd
# spends on the loopback run (all of it on the server's side of the socket),
# and tar's own CPU time through the connector and tar with an rsh-command that
# answers at once and keeps nothing, the floors of that ratio.
# LOOPBACK_ONLY=1 runs only the loopback part; LOOP_REPEAT=N sets its rounds.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=$(cd "$HERE/../.." && pwd)
BUILD=$SOURCE/build
if [ "${1:-}" = -b ]; then
	BUILD=$(cd "$2" && pwd)
	shift 2
fi
SIZE_MIB=${1:-64}
RATE_MB=${2:-20}
RATE=$((RATE_MB * 1000 * 1000))
CONNECT=$BUILD/librmt/rmt-connect
RMTD=$BUILD/rmtd/rmtd
VTAPE=$BUILD/rmtd/rmt-vtape
RELAY=$SOURCE/tests/interop/delay_relay.py

# tmpfs when there is one: the drive should not be the disk.
WORK=$(mktemp -d "${TMPDIR:-$([ -d /dev/shm ] && echo /dev/shm || echo /tmp)}/rmt-pipeline-bench.XXXXXX")
PIDS=""
finish() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap finish EXIT

free_port() {
	PYTHONPATH=$HERE/../interop python3 -c 'from rmtclient import free_port; print(free_port())'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
mkdir "$WORK/spool" "$WORK/src"
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$WORK/src/data"
PORT=$(free_port)
"$RMTD" -d --control none --listen "127.0.0.1:$PORT" --allow "$WORK/spool" >"$WORK/server.log" 2>&1 &
RMTD_PID=$!
PIDS="$PIDS $RMTD_PID"
sleep 0.5

start_relay() { # start_relay DELAY_MS: sets RELAY_PORT
	local file=$WORK/port.$RANDOM
	python3 "$RELAY" --target "127.0.0.1:$PORT" --delay "$1" --rate "$RATE" \
		--port-file "$file" >/dev/null 2>>"$WORK/relay.log" &
	PIDS="$PIDS $!"
	while [ ! -s "$file" ]; do sleep 0.05; done
	RELAY_PORT=$(cat "$file")
}

# timed PORT PIPELINE MIB: seconds for tar to write MIB of the data to a fresh tape.
timed() {
	local tape=$WORK/spool/t$RANDOM.tap t0 t1
	"$VTAPE" create "$tape" >/dev/null
	head -c $(($3 * 1024 * 1024)) "$WORK/src/data" >"$WORK/part"
	t0=$(date +%s.%N)
	RMT_PORT=$1 RMT_PIPELINE=$2 RMT_CONNECT_CONFIG=/dev/null \
		tar --rsh-command="$CONNECT" -b 20 -cf "localhost:$tape" -C "$WORK" part
	t1=$(date +%s.%N)
	rm -f "$tape" "$tape".*
	echo "$t1 - $t0" | bc
}

rate() { echo "scale=2; $1 / $2" | bc; } # rate MIB SECONDS

if [ -z "${LOOPBACK_ONLY:-}" ]; then
printf '%-8s %-22s %-24s %-8s %-20s %s\n' RTT classic pipelined ratio "of the ${RATE_MB} MB/s cap" \
	"raw stream, of the cap"
for rtt in 1 10 50; do
	start_relay "$(echo "scale=1; $rtt / 2" | bc)"
	# Classic moves one 10 KiB record per round trip: a share that takes seconds.
	classic_mib=$(( (200 / rtt) > 0 ? 200 / rtt : 1 ))
	[ "$classic_mib" -gt "$SIZE_MIB" ] && classic_mib=$SIZE_MIB
	c=$(timed "$RELAY_PORT" 0 "$classic_mib")
	p=$(timed "$RELAY_PORT" 1 "$SIZE_MIB")
	cr=$(rate "$classic_mib" "$c")
	pr=$(rate "$SIZE_MIB" "$p")
	raw=$(python3 "$HERE/raw_link.py" "$RELAY" "$(echo "scale=1; $rtt / 2" | bc)" "$RATE" \
		"$SIZE_MIB")
	printf '%-8s %-22s %-24s %-8s %-20s %s %%\n' "${rtt}ms" "$cr MiB/s (${classic_mib} MiB)" \
		"$pr MiB/s (${SIZE_MIB} MiB)" "$(echo "scale=1; $pr / $cr" | bc)x" \
		"$(echo "scale=0; 100 * $pr * 1048576 / $RATE" | bc) %" "$raw"
done
fi

# Loopback, no relay, LOOP_REPEAT rounds interleaved (default 5): local tar | cat;
# tar through the pipelined connector to rmtd (a virtual tape) and to the built-in
# reference server (rmtbench sink --mode splice, a plain file: the fewest system
# calls any rmt server can make); classic to rmtd. Medians [min-max]. The
# reference shows how much of the distance to local `tar | cat` any server would
# leave: the connector, the socket and the third process are the same for both.
REF=$BUILD/tests/bench/rmtbench
REF_PORT=$(free_port)
"$REF" sink --listen "127.0.0.1:$REF_PORT" --mode splice >/dev/null 2>"$WORK/ref.log" &
PIDS="$PIDS $!"
sleep 0.3
server_cpu() { awk '{print $14 + $15}' "/proc/$RMTD_PID/stat"; } # clock ticks
seconds_of() { # seconds_of COMMAND...: wall seconds the command took
	local t0 t1
	t0=$(date +%s.%N)
	"$@"
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc
}
local_run() { tar -b 20 -cf - -C "$WORK/src" data | cat >/dev/null; }
# The same data stored as a tape stores it, one write per 10 KiB record, into a file
# on the same file system as the tape, with no rmt, socket or server: what keeping
# the records costs by itself.
store_run() {
	tar -b 20 -cf - -C "$WORK/src" data | dd of="$WORK/spool/stored" bs=10240 status=none
	rm -f "$WORK/spool/stored"
}
# The other route item 2 of the pipelining issue names: tar opens a local name that
# librmt's LD_PRELOAD shim maps to the tape, so tar runs no rmt client of its own.
shim_run() { # shim_run PORT TARGET
	LD_PRELOAD=$BUILD/librmt/librmt-preload.so RMT_PIPELINE=1 \
		RMT_DEVICES="/dev/rmt-bench=rmt://127.0.0.1:$1$2" \
		tar -b 20 -cf /dev/rmt-bench -C "$WORK/src" data
}
# tar's rmt client talking to a program that answers every request at once and
# keeps nothing (rmtbench serve, sink mode, on the pipes tar gives its rsh
# command): no socket, no server, no store. No rsh-command route can be faster.
NULL_RSH=$WORK/null-rsh
printf '#!/bin/sh\nexec "%s" serve\n' "$REF" >"$NULL_RSH"
chmod +x "$NULL_RSH"
null_run() { tar --rsh-command="$NULL_RSH" -b 20 -cf "localhost:/dev/null" -C "$WORK/src" data; }
connector_run() { # connector_run PORT PIPELINE TARGET
	RMT_PORT=$1 RMT_PIPELINE=$2 RMT_CONNECT_CONFIG=/dev/null \
		tar --rsh-command="$CONNECT" -b 20 -cf "localhost:$3" -C "$WORK/src" data
}
# tar's own CPU time, its children left out (perf stat --no-inherit), in seconds:
# through the connector it runs its rmt client (per record a W header and the
# data written, the reply read a byte at a time, SIGPIPE set and reset), which
# no connector or server can make cheaper. Against the local pipeline's wall
# time it is the floor of the ratio for every rsh-command route.
tar_cpu() { # tar_cpu PORT TARGET
	RMT_PORT=$1 RMT_PIPELINE=1 RMT_CONNECT_CONFIG=/dev/null perf stat --no-inherit -x, \
		-e task-clock tar --rsh-command="$CONNECT" -b 20 -cf "localhost:$2" -C "$WORK/src" data \
		2>&1 >/dev/null | awk -F, '/task-clock/ {printf "%.3f\n", $1 / 1000}'
}
# The same through the shim, which runs inside tar: what tar and librmt cost together.
shim_cpu() { # shim_cpu PORT TARGET
	LD_PRELOAD=$BUILD/librmt/librmt-preload.so RMT_PIPELINE=1 \
		RMT_DEVICES="/dev/rmt-bench=rmt://127.0.0.1:$1$2" perf stat --no-inherit -x, \
		-e task-clock tar -b 20 -cf /dev/rmt-bench -C "$WORK/src" data \
		2>&1 >/dev/null | awk -F, '/task-clock/ {printf "%.3f\n", $1 / 1000}'
}
local_cpu() { # tar's own CPU time in the local pipeline
	perf stat --no-inherit -x, -e task-clock -o "$WORK/local.stat" \
		tar -b 20 -cf - -C "$WORK/src" data | cat >/dev/null
	awk -F, '/task-clock/ {printf "%.3f\n", $1 / 1000}' "$WORK/local.stat"
}
summary() { # summary VALUES...: median [min-max]
	printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f s [%.3f-%.3f]", m, v[1], v[NR] }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
	print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
tape=$WORK/spool/loop.tap
"$VTAPE" create "$tape" >/dev/null
local_t=() piped_t=() ref_t=() classic_t=() cpu_t=() tar_t=() shim_t=() store_t=() null_t=()
shim_cpu_t=() local_cpu_t=()
have_perf=false
perf stat --no-inherit -e task-clock true >/dev/null 2>&1 && have_perf=true
for _ in $(seq "${LOOP_REPEAT:-5}"); do
	local_t+=("$(seconds_of local_run)")
	store_t+=("$(seconds_of store_run)")
	null_t+=("$(seconds_of null_run)")
	cpu0=$(server_cpu)
	piped_t+=("$(seconds_of connector_run "$PORT" 1 "$tape.rewind")")
	cpu1=$(server_cpu)
	cpu_t+=("$(echo "scale=3; ($cpu1 - $cpu0) / $(getconf CLK_TCK)" | bc)")
	ref_t+=("$(seconds_of connector_run "$REF_PORT" 1 "$WORK/ref.file")")
	classic_t+=("$(seconds_of connector_run "$PORT" 0 "$tape.rewind")")
	shim_t+=("$(seconds_of shim_run "$PORT" "$tape.rewind")")
	if $have_perf; then
		tar_t+=("$(tar_cpu "$PORT" "$tape.rewind")")
		shim_cpu_t+=("$(shim_cpu "$PORT" "$tape.rewind")")
		local_cpu_t+=("$(local_cpu)")
	fi
done
local_m=$(median "${local_t[@]}")
ratio() { echo "scale=2; $(median "$@") / $local_m" | bc; }
echo "loopback, ${SIZE_MIB} MiB, ${#local_t[@]} rounds interleaved, medians [min-max]:"
echo "  local tar | cat                        $(summary "${local_t[@]}")"
echo "  local, stored a record per write       $(summary "${store_t[@]}") $(ratio "${store_t[@]}")x  (dd bs=10240 to the tape's file system)"
echo "  rsh-command answering, keeping nothing $(summary "${null_t[@]}") $(ratio "${null_t[@]}")x  (the floor of every rsh-command route)"
echo "  pipelined connector, rmtd (vtape)      $(summary "${piped_t[@]}") $(ratio "${piped_t[@]}")x  (goal <= 1.3x)"
echo "  pipelined connector, reference server  $(summary "${ref_t[@]}") $(ratio "${ref_t[@]}")x"
echo "  classic connector, rmtd (vtape)        $(summary "${classic_t[@]}") $(ratio "${classic_t[@]}")x"
echo "  pipelined shim (LD_PRELOAD), rmtd      $(summary "${shim_t[@]}") $(ratio "${shim_t[@]}")x  ($(echo "scale=2; $(median "${shim_t[@]}") / $(median "${store_t[@]}")" | bc)x the stored run)"
echo "  rmtd's CPU time per pipelined run      $(summary "${cpu_t[@]}")"
if $have_perf; then
	echo "  tar's own CPU time, pipelined connector $(summary "${tar_t[@]}") $(ratio "${tar_t[@]}")x  (the floor of the ratio)"
	echo "  tar's own CPU time, shim               $(summary "${shim_cpu_t[@]}") $(ratio "${shim_cpu_t[@]}")x  (tar and librmt)"
	echo "  tar's own CPU time, local tar | cat    $(summary "${local_cpu_t[@]}") $(ratio "${local_cpu_t[@]}")x"
else
	echo "  tar's own CPU time: not measured (needs perf, from linux-perf)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
