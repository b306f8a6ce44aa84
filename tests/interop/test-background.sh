#!/bin/bash
# test-background.sh - rmtd without -d goes into the background only once it
# listens: a client started the moment the command returns connects, as the
# examples in README.md and rmtd(8) do (`rmtd --listen ...` then `tar ...`).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools tar ss timeout python3
[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER set: a classic rmt is no daemon; nothing to compare"; exit 0; }
require_server
CONNECT=$RMTD_BUILD_DIR/librmt/rmt-connect
[ -x "$CONNECT" ] || fail "rmt-connect is not built: $CONNECT missing"
make_work
mkdir -p "$WORK/tapes"
echo data >"$WORK/file"
PORTS=()
# The pid listening on 127.0.0.1:PORT (the daemon's child, not the command we ran).
listener() { ss -Hltnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2; }
stop_daemons() {
	local port pid
	for port in "${PORTS[@]}"; do
		pid=$(listener "$port")
		[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	done
}
trap 'rc=$?; stop_daemons; (exit $rc); cleanup_work' EXIT

check "five times: a connection right after rmtd returns, then tar writes its archive"
for i in 1 2 3 4 5; do
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	PORTS+=("$PORT")
	# The very next thing connects: bash's own connect(2), no program to start first.
	"$RMTD" --listen "127.0.0.1:$PORT" --allow "$WORK/tapes" --control none &&
		{ exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>"$WORK/connect.err" ||
		fail "run $i: rmtd returned but refuses connections: $(cat "$WORK/connect.err")"
	exec 3>&-
	rc=0
	RMT_PORT=$PORT timeout -k 5 30 tar --rsh-command="$CONNECT" -cf "127.0.0.1:$WORK/tapes/$i.tar" \
		-C "$WORK" file 2>"$WORK/tar.err" || rc=$?
	[ "$rc" -eq 0 ] || fail "run $i: tar exit $rc: $(cat "$WORK/tar.err")"
	[ -n "$(listener "$PORT")" ] || fail "run $i: nothing listens on $PORT after the archive was written"
	tar -tf "$WORK/tapes/$i.tar" | grep -qx file || fail "run $i: archive unreadable"
done
ok
