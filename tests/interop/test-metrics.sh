#!/bin/bash
# test-metrics.sh - the fleet view: rmtd.prom in the status directory and
# `rmtctl metrics`, checked by Prometheus' own `promtool check metrics` while a
# slowed GNU tar writes over TCP.
#
# While tar runs, every sample of the file and of the control socket must pass
# promtool, say the drive is open with one session, and show the written bytes
# growing; the file is replaced whole (never read half-written, mode 0644, no
# temporary file left for the collector) and, while only the counts move, at
# most every --status-interval seconds. When tar ends the file says idle at once
# and its counters equal what tar wrote; a full tape counts an end of medium;
# when rmtd stops the file goes away.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools tar python3 timeout stat promtool
[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER set: classic servers have no metrics; nothing to compare"; exit 0; }
require_server
RMTCTL=$RMTD_BUILD_DIR/rmtd/rmtctl
CONNECT=$RMTD_BUILD_DIR/librmt/rmt-connect
[ -x "$RMTCTL" ] || fail "rmtctl is not built: $RMTCTL missing"
[ -x "$CONNECT" ] || fail "rmt-connect is not built: $CONNECT missing"
make_work
[ "${#WORK}" -le 80 ] || fail "work directory path too long for a Unix socket: $WORK"

SPOOL=$WORK/spool
STATUS=$WORK/status
SOCK=$WORK/control.sock
PROM=$STATUS/rmtd.prom
INTERVAL=2
mkdir -p "$SPOOL"
DAEMON_PID=
trap 'rc=$?; stop_daemon; (exit $rc); cleanup_work' EXIT

# tar's data reaches rmt-connect at THROTTLE_BPS bytes/s: a transfer that lasts.
make_slow_connect

start_control_daemon -v --allow "$SPOOL" --status-dir "$STATUS" --status-interval "$INTERVAL"
export RMT_PORT=$PORT

# value FILE METRIC-WITH-LABELS: the sample's value, or nothing.
value() { awk -v m="$2" 'index($0, m " ") == 1 { print $NF }' "$1"; }

check "rmtd.prom exists at start, mode 0644, and passes promtool"
for i in $(seq 1 40); do [ -f "$PROM" ] && break; sleep 0.05; done
[ -f "$PROM" ] || fail "no $PROM"
[ "$(stat -c %a "$PROM")" = 644 ] || fail "mode $(stat -c %a "$PROM")"
promtool check metrics <"$PROM" >"$WORK/lint" 2>&1 || fail "promtool: $(cat "$WORK/lint")"
[ "$(value "$PROM" rmtd_sessions)" = 0 ] || fail "rmtd_sessions: $(value "$PROM" rmtd_sessions)"
ok

check "rmtctl metrics passes promtool; metrics --json is a usage error"
"$RMTCTL" -s "$SOCK" metrics >"$WORK/ctl.prom" || fail "rmtctl metrics: exit $?"
promtool check metrics <"$WORK/ctl.prom" >"$WORK/lint" 2>&1 || fail "promtool: $(cat "$WORK/lint")"
grep -q '^# TYPE rmtd_drive_written_bytes_total counter$' "$WORK/ctl.prom" || fail "no bytes counter"
rc=0; "$RMTCTL" -s "$SOCK" metrics --json >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 64 ] || fail "metrics --json: exit $rc"
ok

SRC=$WORK/src
mkdir -p "$SRC"
head -c $((1200 * 1024)) /dev/urandom >"$SRC/random.bin"
ARCHIVE=$SPOOL/a.tar
DRIVE="{drive=\"$ARCHIVE\"}"

check "while a slowed tar writes, every sample passes promtool and the bytes grow"
THROTTLE_BPS=$((200 * 1024)) timeout -k 5 60 tar -c -b 20 --rsh-command="$WORK/slow-connect" \
	-f "127.0.0.1:$ARCHIVE" -C "$WORK" src >"$WORK/tar.out" 2>"$WORK/tar.err" &
TAR_PID=$!
mkdir -p "$WORK/samples"
n=0
while kill -0 "$TAR_PID" 2>/dev/null; do
	n=$((n + 1))
	# A copy, as a collector reads it: rename(2) means the copy is one whole version.
	cp "$PROM" "$WORK/samples/$n.file"
	"$RMTCTL" -s "$SOCK" metrics >"$WORK/samples/$n.ctl" 2>>"$WORK/samples/errors" || true
	sleep 0.25
done
wait "$TAR_PID" || { cat "$WORK/tar.err" >&2; fail "tar exit status $?"; }
SIZE=$(stat -c %s "$ARCHIVE")
[ ! -s "$WORK/samples/errors" ] || fail "rmtctl metrics failed: $(head -3 "$WORK/samples/errors")"
open_file=() open_ctl=()
for i in $(seq 1 "$n"); do
	for kind in file ctl; do
		promtool check metrics <"$WORK/samples/$i.$kind" >"$WORK/lint" 2>&1 ||
			fail "sample $i ($kind) fails promtool: $(cat "$WORK/lint")"
	done
	# Counts of samples taken while the drive was open, per source.
	if [ "$(value "$WORK/samples/$i.file" "rmtd_drive_state{drive=\"$ARCHIVE\",state=\"open\"}")" = 1 ]; then
		open_file+=("$i")
	fi
	if [ "$(value "$WORK/samples/$i.ctl" "rmtd_drive_state{drive=\"$ARCHIVE\",state=\"open\"}")" = 1 ]; then
		open_ctl+=("$i")
		[ "$(value "$WORK/samples/$i.ctl" rmtd_sessions)" = 1 ] ||
			fail "sample $i: rmtd_sessions $(value "$WORK/samples/$i.ctl" rmtd_sessions) while tar runs"
	fi
done
[ "${#open_ctl[@]}" -ge 8 ] || fail "only ${#open_ctl[@]} of $n samples saw the drive open"
[ "${#open_file[@]}" -ge 4 ] || fail "only ${#open_file[@]} file samples saw the drive open"
# The written bytes never go back and grow during the transfer, in both views.
for kind in file ctl; do
	prev=0 distinct=0
	for i in $(seq 1 "$n"); do
		b=$(value "$WORK/samples/$i.$kind" "rmtd_drive_written_bytes_total$DRIVE")
		[ -n "$b" ] || continue
		[ "$b" -ge "$prev" ] || fail "$kind sample $i: bytes went back from $prev to $b"
		[ "$b" -gt "$prev" ] && distinct=$((distinct + 1))
		prev=$b
	done
	[ "$distinct" -ge 3 ] || fail "$kind: the written bytes grew only $distinct times"
done
ok "$n samples, ${#open_ctl[@]} with the drive open, $SIZE bytes"

check "while only counts move, the file is rewritten at most every $INTERVAL s"
# Between its first and last open sample the state stands still: only the interval
# decides. Distinct versions (by content) over that span are bounded by its length.
first=${open_file[0]} last=${open_file[${#open_file[@]}-1]}
versions=$(for i in $(seq "$first" "$last"); do md5sum <"$WORK/samples/$i.file"; done | uniq | wc -l)
span_ms=$(( (last - first) * 250 ))
limit=$(( span_ms / (INTERVAL * 1000) + 2 ))
[ "$versions" -le "$limit" ] || fail "$versions versions in ${span_ms} ms (at most $limit)"
[ "$versions" -ge 2 ] || fail "the file was not rewritten while tar wrote ($versions version)"
ok "$versions versions in ${span_ms} ms"

check "when tar ends the file says idle within a second, with tar's bytes and records"
sleep 1.3
promtool check metrics <"$PROM" >"$WORK/lint" 2>&1 || fail "promtool: $(cat "$WORK/lint")"
[ "$(value "$PROM" "rmtd_drive_state{drive=\"$ARCHIVE\",state=\"idle\"}")" = 1 ] ||
	fail "not idle: $(grep "rmtd_drive_state" "$PROM")"
[ "$(value "$PROM" "rmtd_drive_written_bytes_total$DRIVE")" = "$SIZE" ] ||
	fail "bytes $(value "$PROM" "rmtd_drive_written_bytes_total$DRIVE"), archive $SIZE"
[ "$(value "$PROM" "rmtd_drive_written_records_total$DRIVE")" = $((SIZE / 10240)) ] ||
	fail "records $(value "$PROM" "rmtd_drive_written_records_total$DRIVE")"
[ "$(value "$PROM" "rmtd_drive_mounts_total$DRIVE")" = 1 ] || fail "mounts"
[ "$(value "$PROM" "rmtd_drive_sessions_total$DRIVE")" = 1 ] || fail "drive sessions"
[ "$(value "$PROM" rmtd_sessions_total)" -ge 1 ] || fail "rmtd_sessions_total"
[ "$(value "$PROM" rmtd_sessions)" = 0 ] || fail "rmtd_sessions after the end"
ls -A "$STATUS" | grep -v -e '\.status$' -e '^rmtd\.prom$' >"$WORK/stray" &&
	fail "files a collector would trip on: $(cat "$WORK/stray")"
ok

check "reading it back counts read bytes and a second mount"
timeout -k 5 60 tar -t -b 20 --rsh-command="$CONNECT" -f "127.0.0.1:$ARCHIVE" >/dev/null 2>"$WORK/tar.err" ||
	fail "tar -t: $(cat "$WORK/tar.err")"
"$RMTCTL" -s "$SOCK" metrics >"$WORK/after.prom"
[ "$(value "$WORK/after.prom" "rmtd_drive_read_bytes_total$DRIVE")" -ge 10240 ] ||
	fail "read bytes: $(value "$WORK/after.prom" "rmtd_drive_read_bytes_total$DRIVE")"
[ "$(value "$WORK/after.prom" "rmtd_drive_mounts_total$DRIVE")" = 2 ] || fail "mounts after the read"
ok

check "a full virtual tape counts an end of medium, with its kind in the info metric"
SMALL=$SPOOL/small.tap
"$RMTD_BUILD_DIR/rmtd/rmt-vtape" create --capacity 100K "$SMALL" >/dev/null || fail "rmt-vtape create"
if timeout -k 5 60 tar -c -b 20 --rsh-command="$CONNECT" -f "127.0.0.1:$SMALL" -C "$WORK" src \
	>/dev/null 2>"$WORK/tar.err"; then
	fail "1.2 MB went onto a 100 KB tape"
fi
"$RMTCTL" -s "$SOCK" metrics >"$WORK/full.prom"
promtool check metrics <"$WORK/full.prom" >"$WORK/lint" 2>&1 || fail "promtool: $(cat "$WORK/lint")"
[ "$(value "$WORK/full.prom" "rmtd_drive_end_of_medium_total{drive=\"$SMALL\"}")" -ge 1 ] ||
	fail "end of medium: $(grep "$SMALL" "$WORK/full.prom")"
grep -q "^rmtd_drive_info{drive=\"$SMALL\",alias=\"\",kind=\"vtape\"," "$WORK/full.prom" ||
	fail "info: $(grep "rmtd_drive_info" "$WORK/full.prom")"
ok

check "when rmtd stops, rmtd.prom goes away (no stale drives for the collector)"
stop_daemon
[ ! -e "$PROM" ] || fail "$PROM is still there"
ok
