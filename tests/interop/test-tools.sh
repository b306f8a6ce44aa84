#!/bin/bash
# test-tools.sh - what an installed rmtd offers beyond its programs: a manual
# page for every librmt function (`man 3 rmt_open`), bash completion for rmtd,
# rmtctl, rmt-vtape and rmt-connect where bash-completion finds it, and rmtctl
# taking fractions of a second.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -z "${RMT_SERVER:-}" ] || { say "RMT_SERVER set: nothing of a classic server to check here"; exit 0; }
require_tools meson man python3
make_work

# ------------------------------------------------------------------ installed files
ROOT=$WORK/root
check "meson install into a staging directory"
meson install -C "$RMTD_BUILD_DIR" --destdir "$ROOT" --no-rebuild --quiet >"$WORK/install.log" 2>&1 ||
	fail "meson install: $(tail -n 5 "$WORK/install.log")"
read -r PREFIX MANDIR DATADIR < <(meson introspect --buildoptions "$RMTD_BUILD_DIR" | python3 -c '
import json, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o["prefix"], o["mandir"], o["datadir"])')
MAN=$ROOT$PREFIX/$MANDIR
ok "$MAN"

check "every function of rmt/rmt.h has its manual page: man 3 NAME opens librmt(3)"
functions=$(sed -n 's/^[a-z].*[ *]\(rmt_[a-z_]*\)(.*/\1/p' "$RMTD_SOURCE_DIR/include/rmt/rmt.h" | sort -u)
[ "$(printf '%s\n' "$functions" | wc -l)" -ge 10 ] || fail "functions found in rmt.h: $functions"
for f in $functions; do
	grep -q "^\.Nm $f\( ,\)\{0,1\}$" "$RMTD_SOURCE_DIR/man/librmt.3" || fail "librmt(3) does not name $f"
	page=$(man -M "$MAN" -w 3 "$f" 2>/dev/null) || fail "man 3 $f: no page under $MAN"
	[ "$(readlink -f "$page")" = "$(readlink -f "$MAN/man3/librmt.3")" ] || fail "man 3 $f opens $page"
done
man -M "$MAN" 3 rmt_open 2>/dev/null | grep -q "rmt_open" || fail "man 3 rmt_open shows no rmt_open"
ok "$(printf '%s\n' "$functions" | wc -l) functions"

# ------------------------------------------------------------------ bash completion
COMPLETIONS=$ROOT$PREFIX/$DATADIR/bash-completion/completions
if pkg-config --exists bash-completion 2>/dev/null; then
	COMPLETIONS=$ROOT$(pkg-config --define-variable=datadir="$PREFIX/$DATADIR" \
		--variable=completionsdir bash-completion)
fi
check "completions are installed for rmtd, rmtctl, rmt-vtape and rmt-connect"
for program in rmtd rmtctl rmt-vtape rmt-connect; do
	[ -f "$COMPLETIONS/$program" ] || fail "no completion installed as $COMPLETIONS/$program"
done
ok "$COMPLETIONS"

if [ -r /usr/share/bash-completion/bash_completion ]; then
	check "bash-completion loads them on demand from the installed directory"
	XDG_DATA_DIRS=$(dirname "$(dirname "$COMPLETIONS")") bash --norc --noprofile -c '
		. /usr/share/bash-completion/bash_completion
		for p in rmtd rmtctl rmt-vtape rmt-connect; do
			__load_completion "$p" && complete -p "$p" || exit 1
		done' >"$WORK/loaded" 2>&1 || fail "not loaded: $(cat "$WORK/loaded")"
	ok
fi

# complete FILE WORD... : the candidates bash offers for the last WORD.
complete_words() {
	local file=$1
	shift
	PATH=$RMTD_BUILD_DIR/rmtd:$RMTD_BUILD_DIR/librmt:$PATH bash --norc --noprofile -c '
		file=$1; shift
		. "$file"
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		function=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		"$function" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' sh "$COMPLETIONS/$file" "$@" | sort
}
expect_completion() { # FILE "WORDS" EXPECTED...
	local file=$1 words=$2 got want
	shift 2
	read -r -a line <<<"$words"
	[[ $words == *" " ]] && line+=("")
	got=$(complete_words "$file" "${line[@]}")
	want=$(printf '%s\n' "$@" | sort)
	[ "$got" = "$want" ] || fail "completing '$words': got [$(echo $got)], expected [$(echo $want)]"
}
mkdir -p "$WORK/c/tapes"
touch "$WORK/c/tapes/a.tap" "$WORK/c/tapes/b.img" "$WORK/c/conf"
check "rmtd: options, and directories after --allow"
expect_completion rmtd "rmtd --sta" --state-dir --status-dir --status-interval
expect_completion rmtd "rmtd --allow $WORK/c/ta" "$WORK/c/tapes"
expect_completion rmtd "rmtd -f $WORK/c/co" "$WORK/c/conf"
ok
check "rmtctl: its commands, and each command's options"
expect_completion rmtctl "rmtctl s" session status
expect_completion rmtctl "rmtctl -s /nonexistent k" kill
expect_completion rmtctl "rmtctl -s /nonexistent kill --" --no-wait --wait
expect_completion rmtctl "rmtctl status --" --json --watch
ok
check "rmt-vtape: its commands, on|off, and only .tap images"
expect_completion rmt-vtape "rmt-vtape c" create
expect_completion rmt-vtape "rmt-vtape write-protect " off on
expect_completion rmt-vtape "rmt-vtape info $WORK/c/tapes/" "$WORK/c/tapes/a.tap"
expect_completion rmt-vtape "rmt-vtape create --c" --capacity
ok
check "rmt-connect: options, and the hosts rmt-connect.conf names"
expect_completion rmt-connect "rmt-connect --t" --tls
printf 'host tapehost-one tape*.example.org\n\ttls\nhost tapehost-two\n' >"$WORK/c/rmt-connect.conf"
RMT_CONNECT_CONFIG=$WORK/c/rmt-connect.conf expect_completion rmt-connect "rmt-connect tapehost-" \
	tapehost-one tapehost-two
expect_completion rmt-connect "rmt-connect --ca $WORK/c/co" "$WORK/c/conf"
ok

# ------------------------------------------------------------------ rmtctl --watch
RMTCTL=$RMTD_BUILD_DIR/rmtd/rmtctl
check "rmtctl status --watch takes fractions of a second (0.5, .5, 0,5)"
for seconds in 0.5 .5 0,5 0.25; do
	rc=0
	timeout 5 "$RMTCTL" -s "$WORK/no.sock" status --watch "$seconds" >/dev/null 2>"$WORK/err" || rc=$?
	# 2: the options were taken and the daemon was not there; 64 would be a usage error.
	[ "$rc" -eq 2 ] || fail "--watch $seconds: exit status $rc: $(cat "$WORK/err")"
done
rc=0
"$RMTCTL" -s "$WORK/no.sock" status --watch 0.01 >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" -eq 64 ] && grep -q -- "--watch: seconds from 0.1" "$WORK/err" ||
	fail "--watch 0.01: exit status $rc: $(cat "$WORK/err")"
ok
