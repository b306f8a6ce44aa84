#!/bin/bash
# test-vectors.sh - byte-level request/reply vectors for clients that are not
# installed here (star, xfsdump, BSD dump, GNU tar >= 1.35) and for the session
# rules of doc/protocol.md sections 1 and 2. Exact request bytes are piped into
# `rmtd --stdio --allow DIR`; the whole output must equal the expected bytes.
#
# Expected replies come from doc/protocol.md section 2 (rmtd's choices): V -> A2,
# v -> A1, I-1 -> A1
# and V1 op numbering for the rest of the session, O -> A0, C keeps the session
# open, no unprompted A0 at EOF, unknown letter -> E22 "Garbage command" with the
# rest of its line skipped, whitespace between commands skipped, I -> A<count>
# (A0 when negative), an ioctl on a plain file -> E25 (ENOTTY), device errors as
# E<errno>\n<strerror>\n. Where the spec leaves an error text open, @TEXT@ stands
# for it (see lib.sh).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools python3 od cmp timeout
require_server
make_work

D=$WORK/d
mkdir "$D"
digits 100 >"$D/f100"
printf 'abcdef' >"$D/f6"
A=(-- --allow "$D")

E25='E25\nInappropriate ioctl for device\n'
E9='E9\nBad file descriptor\n'
E2='E2\nNo such file or directory\n'
GARBAGE='E22\nGarbage command\n'

# ---------------------------------------------------------------- star (Schily librmt)
# O with access mode + symbolic flags, then I-1 right after O and before every
# ioctl and status; s<letter> without newline; L offset first; one connection
# for several opens (volume changes).
probe "star: O, I-1, W, I-1 + V1 ioctl, I-1 + sE sT, L, R, C, reopen on the same session" \
	"O$D/star.dat\n2 O_RDWR|O_CREAT\nI-1\n0\nW5\nhelloI-1\n0\nI5\n1\nI-1\n0\nsEsTL0\n0\nR10\nC\nO$D/star.dat\n0 O_RDONLY\nI-1\n0\nR3\nC\n" \
	"A0\nA1\nA5\nA1\n${E25}A1\n${E25}${E25}A0\nA5\nhelloA0\nA0\nA1\nA3\nhelA0\n" "${A[@]}"
expect_exit_zero
cmp -s "$D/star.dat" <(printf hello) || fail "star.dat does not hold 'hello'"

probe "star: i (extended ioctl) after I-1: RETEN/EOM reach the device (E25 on a file), ERASE on a read-only open is E13 before it, CACHE/NOCACHE/NBSF are E22" \
	"O$D/f100\n0 O_RDONLY\nI-1\n0\ni2\n1\ni3\n1\ni4\n1\ni0\n1\ni1\n1\ni5\n1\ni6\n1\nC\n" \
	"A0\nA1\n${E25}E13\n@TEXT@\n${E25}E22\n@TEXT@\nE22\n@TEXT@\nE22\n@TEXT@\nE22\n@TEXT@\nA0\n" "${A[@]}"

probe "star: i ERASE on a read-write open reaches the device (E25 on a file)" \
	"O$D/f100\n2 O_RDWR\nI-1\n0\ni3\n1\nC\n" \
	"A0\nA1\n${E25}A0\n" "${A[@]}"

probe "star: s f and s b (Solaris-only fields) are E22, not Linux gstat" \
	"O$D/f100\n0 O_RDONLY\nI-1\n0\nsfsbC\n" \
	"A0\nA1\nE22\n@TEXT@\nE22\n@TEXT@\nA0\n" "${A[@]}"

# ---------------------------------------------------------------- xfsdump librmt
# O with numeric-only flags, then V2 (must be answered A2), S without newline.
probe "xfsdump: numeric O, V2 -> A2, bare S, I, R, C" \
	"O$D/f100\n0\nV2\nSI6\n1\nR10\nC\n" \
	"A0\nA2\n${E25}${E25}A10\n0123456789A0\n" "${A[@]}"

probe "xfsdump: numeric-only flags are masked to the access mode (65 = WRONLY|CREAT does not create)" \
	"O$D/xfs.new\n65\nV2\n" \
	"${E2}A2\n" "${A[@]}"
[ ! -e "$D/xfs.new" ] || fail "numeric-only O_CREAT created a file"

# ---------------------------------------------------------------- BSD dump / FreeBSD rmt clients
# Numeric-only O in the client's own bits (FreeBSD O_WRONLY|O_CREAT|O_TRUNC = 1537),
# S followed by a newline, L offset first.
cp "$D/f100" "$D/bsd.dat"
probe "BSD: O 1537 (masked to O_WRONLY, no truncation), S\\n, W, L tell, C" \
	"O$D/bsd.dat\n1537\nS\nW3\nabcL0\n1\nC\n" \
	"A0\n${E25}A3\nA3\nA0\n" "${A[@]}"
cmp -s "$D/bsd.dat" <(printf abc; digits 100 | tail -c 97) || fail "bsd.dat: numeric TRUNC was honoured or the write went wrong"

probe "BSD: O 1537 on a missing file does not create it" \
	"O$D/bsd.new\n1537\nC\n" \
	"${E2}${E9}" "${A[@]}"
[ ! -e "$D/bsd.new" ] || fail "numeric-only flags created a file"

# ---------------------------------------------------------------- GNU tar >= 1.35 (paxutils 2023+)
# L whence first; S\n.
probe "GNU-2023: L<whence>\\n<offset>\\n (tell, set, tell, end), S\\n" \
	"O$D/f100\n0 O_RDONLY\nL1\n0\nL0\n50\nR5\nL1\n0\nL2\n-10\nS\nC\n" \
	"A0\nA0\nA50\nA5\n01234A55\nA90\n${E25}A0\n" "${A[@]}"

# ---------------------------------------------------------------- GNU tar 1.34, cpio 2.13
probe "GNU-2018: L<offset>\\n<whence>\\n (tell after reading, set, end)" \
	"O$D/f100\n0 O_RDONLY\nR10\nL0\n1\nL20\n0\nR3\nL-10\n2\nC\n" \
	"A0\nA10\n0123456789A10\nA20\nA3\n012A90\nA0\n" "${A[@]}"

probe "GNU: symbolic flags win over the number, O_ prefix optional (WRONLY|CREAT|TRUNC creates)" \
	"O$D/gnu.new\n577 O_WRONLY|O_CREAT|O_TRUNC\nW2\nokC\nO$D/gnu2.new\nWRONLY|CREAT\nC\n" \
	"A0\nA2\nA0\nA0\nA0\n" "${A[@]}"
cmp -s "$D/gnu.new" <(printf ok) || fail "gnu.new does not hold 'ok'"
[ -e "$D/gnu2.new" ] || fail "WRONLY|CREAT without O_ prefixes did not create the file"

# ---------------------------------------------------------------- L: both orders (doc/protocol.md 2.3)
probe "L rule (d): 2/1 after the session showed offset-first reads offset 2, whence CUR" \
	"O$D/f100\n0\nL50\n0\nL2\n1\nC\n" \
	"A0\nA50\nA52\nA0\n" "${A[@]}"
probe "L rule (d): 2/1 after the session showed whence-first reads whence END, offset 1" \
	"O$D/f100\n0\nL0\n50\nL2\n1\nC\n" \
	"A0\nA50\nA101\nA0\n" "${A[@]}"
probe "L rule (d): 2/1 in a fresh session takes the BSD order (offset 2, CUR)" \
	"O$D/f100\n0\nL2\n1\nC\n" \
	"A0\nA2\nA0\n" "${A[@]}"
probe "L rule (a): symbolic whence in either position" \
	"O$D/f100\n0\nLSEEK_END\n-10\nL-20\nSEEK_END\nLCUR\n0\nL0\nCUR\nLSET\n7\nC\n" \
	"A0\nA90\nA80\nA80\nA80\nA7\nA0\n" "${A[@]}"
probe "L: 64-bit offsets" \
	"O$D/f100\n0\nL0\n5000000000\nL1\n0\nC\n" \
	"A0\nA5000000000\nA5000000000\nA0\n" "${A[@]}"

# ---------------------------------------------------------------- session rules
probe "V and v with no device open: A2 and A1" \
	"V\nv\nVanything\nv9\n" \
	"A2\nA1\nA2\nA1\n" "${A[@]}"
expect_exit_zero

probe "C keeps the session open: O C O R C" \
	"O$D/f6\n0\nC\nO$D/f6\n0\nR10\nC\n" \
	"A0\nA0\nA0\nA6\nabcdefA0\n" "${A[@]}"
expect_exit_zero

probe "O while open closes the old device and opens the new one" \
	"O$D/f100\n0\nO$D/f6\n0\nR10\nC\n" \
	"A0\nA0\nA6\nabcdefA0\n" "${A[@]}"

probe "no unprompted A0 at EOF with a device still open" \
	"O$D/f6\n0 O_RDONLY\nR2\n" \
	"A0\nA2\nab" "${A[@]}"
expect_exit_zero

probe "whitespace between commands is skipped (\\n \\r space tab)" \
	"\n\r\n \t O$D/f6\n0\n\n\nR2\n \r\n\tS\n\nC\n\n" \
	"A0\nA2\nab${E25}A0\n" "${A[@]}"
expect_exit_zero

probe "unknown letter: E22 Garbage command, rest of its line skipped, session goes on" \
	"Xjunk here O$D/f6\nV\n?\nv\n" \
	"${GARBAGE}A2\n${GARBAGE}A1\n" "${A[@]}"
expect_exit_zero

probe "O is answered A0, not with a descriptor number" \
	"O$D/f6\n0\nO$D/f100\n0\nC\n" \
	"A0\nA0\nA0\n" "${A[@]}"

probe "I-1 answers A1 (also repeated), plain-file ioctls are E25 in both numberings" \
	"O$D/f100\n2\nI6\n1\nI-1\n0\nI-1\n0\nI5\n1\nI0\n1\nC\n" \
	"A0\n${E25}A1\nA1\n${E25}${E25}A0\n" "${A[@]}"

probe "V1 WEOF on a read-only open is refused before the device (E13), REW is not" \
	"O$D/f100\n0\nI-1\n0\nI0\n1\nI5\n1\nC\n" \
	"A0\nA1\nE13\n@TEXT@\n${E25}A0\n" "${A[@]}"

probe "V1 numbering: ops above 10 are refused with E22 after I-1" \
	"O$D/f100\n0\nI-1\n0\nI11\n1\nV\n" \
	"A0\nA1\nE22\n@TEXT@\nA2\n" "${A[@]}"

probe "R at end of file answers A0; a short read answers what was read" \
	"O$D/f6\n0\nR100\nR100\nC\n" \
	"A0\nA6\nabcdefA0\nA0\n" "${A[@]}"

probe "device not open: R, W (data swallowed), L, I, S, C answer E9" \
	"R10\nW3\nabcL0\n0\nI6\n1\nSC\nV\n" \
	"${E9}${E9}${E9}${E9}${E9}${E9}A2\n" "${A[@]}"

# ---------------------------------------------------------------- paths
probe "a path outside the allowed directories is refused with E13 (and nothing is opened)" \
	"O/etc/passwd\n0\nR5\nO$D/../f100\n0\nR5\nV\n" \
	"E13\n@TEXT@\n${E9}E13\n@TEXT@\n${E9}A2\n" "${A[@]}"

long=$(printf 'n%.0s' $(seq 1 200))
printf 'long' >"$D/$long"
probe "a 200-byte file name (beyond the classic 63-byte limit) works" \
	"O$D/$long\n0\nR10\nC\n" \
	"A0\nA4\nlongA0\n" "${A[@]}"

if [ -z "${RMT_SERVER:-}" ]; then
	mkdir -p "$WORK/bin"
	ln -s "$RMTD" "$WORK/bin/rmt"
	check "started as 'rmt -c /etc/rmt' (login shell): stdio mode, -c skipped"
	printf 'V\nv\n' >"$WORK/rmt.in"
	printf 'A2\nA1\n' >"$WORK/rmt.expected"
	SERVER_RC=0
	cat "$WORK/rmt.in" | timeout -k 2 10 "$WORK/bin/rmt" -c /etc/rmt >"$WORK/rmt.out" 2>"$WORK/rmt.err" || SERVER_RC=$?
	check_server_log "$WORK/rmt.err"
	expect_output "rmt -c" "$WORK/rmt.out" "$WORK/rmt.expected"
	expect_exit_zero
	ok
fi

# ---------------------------------------------------------------- virtual tape
if have_vtape; then
	new_vtape "$D/t.tap"
	probe "vtape: W, I5 (native WEOF) -> A1, W, I6 (native REW) -> A1, R R R (record, filemark, record)" \
		"O$D/t.tap\n2 O_RDWR\nW5\nhelloI5\n1\nW3\nabcI6\n1\nR100\nR100\nR100\nC\n" \
		"A0\nA5\nA1\nA3\nA1\nA5\nhelloA0\nA3\nabcA0\n" "${A[@]}"
	# NAME.tap is the non-rewinding drive: the position survives the session, like nst.
	probe "vtape: the position survives the session (non-rewinding); I-1 switches to V1: I5 is then REW" \
		"O$D/t.tap\n2 O_RDWR\nR100\nI-1\n0\nI5\n1\nR100\nC\n" \
		"A0\nA0\nA1\nA1\nA5\nhelloA0\n" "${A[@]}"
	probe "vtape: I replies A<count>, and A0 for a negative count (MTNOP)" \
		"O$D/t.tap\n0\nI8\n7\nI8\n-3\nC\n" \
		"A0\nA7\nA0\nA0\n" "${A[@]}"
	# struct mtget on LP64: mt_fileno at byte 40, mt_blkno at 44 (int, little endian)
	probe "vtape: S (bare and with \\n) is the native 48-byte mtget (fileno, blkno); sT sF sB numbers; sf sb sx E22" \
		"O$D/t.tap\n0\nI6\n1\nSR100\nS\nI1\n1\nsTsFsBsfsbsxC\n" \
		"A0\nA1\nA48\n@BYTES:40@\x00\x00\x00\x00\x00\x00\x00\x00A5\nhelloA48\n@BYTES:40@\x00\x00\x00\x00\x01\x00\x00\x00A1\nA@NUM@\nA1\nA0\nE22\n@TEXT@\nE22\n@TEXT@\nE22\n@TEXT@\nA0\n" "${A[@]}"
fi
