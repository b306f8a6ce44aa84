# tests/docs/lib.sh - helpers for guest.sh, run-doc.sh, the extracted examples
# and the page hooks (sourced, bash).

say() { printf '[docs] %s\n' "$*"; }
fatal() {
	printf '[docs] FAIL: %s\n' "$*" >&2
	exit 1
}

# Around each example (extract.py writes these lines): a failing command inside
# stops the document through set -e, with the example named by the ERR trap.
example_begin() {
	CURRENT_EXAMPLE=$1
	say "example $1"
	trap 'printf "[docs] FAIL: %s: the command above exited %s\n" "$CURRENT_EXAMPLE" "$?" >&2' ERR
	set -x
}
example_end() {
	{ set +x; } 2>/dev/null
	trap - ERR
	say "example $1: ok"
}

# example_interrupt SECONDS COMMANDS: a command documented to run until
# interrupted must still be running after SECONDS, then end on SIGINT.
example_interrupt() {
	local rc=0
	timeout -s INT -k 5 "$1" bash -c "$2" || rc=$?
	[ "$rc" -eq 124 ] || fatal "$CURRENT_EXAMPLE: ended by itself (exit $rc) before it was interrupted"
}

# wait_for PROGRAM ARGS...: retry a check for up to 10 s.
wait_for() {
	local i
	for i in $(seq 1 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fatal "gave up waiting for: $*"
}
