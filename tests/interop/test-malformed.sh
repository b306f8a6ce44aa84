#!/bin/bash
# test-malformed.sh - malformed and hostile input piped into `rmtd --stdio`.
#
# The probes of doc/protocol.md section 1.5 and more: bad numbers, over-long and
# NUL-carrying paths, oversized records (their data must still be swallowed),
# garbage letters, and EOF in the middle of every kind of command. After each
# probe a known-good command (V -> A2, or a read) must get its normal reply, so
# the stream is shown to be still in step; the server must never crash (under
# ASan: no report), never hang, and end with a clean exit status.
# Where doc/protocol.md leaves the exact errno or text open, alternatives are listed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

require_tools python3 od timeout
require_server
make_work

D=$WORK/d
mkdir "$D"
digits 100 >"$D/f100"
printf 'abcdef' >"$D/f6"
A=(-- --allow "$D")
M=(-- --allow "$D" --max-record 1024)

E9='E9\nBad file descriptor\n'
E2='E2\nNo such file or directory\n'
E25='E25\nInappropriate ioctl for device\n'
GARBAGE='E22\nGarbage command\n'
E22='E22\n@TEXT@\n'
E12='E12\n@TEXT@\n'
E5='E5\n@TEXT@\n'
OPEN="O$D/f100\n0\n"
OPEN6="O$D/f6\n0\n"

# ---------------------------------------------------------------- doc/protocol.md 1.5, O
probe "O numeric 577 on a missing file: masked to O_RDONLY, E2, nothing created" \
	"O$D/new\n577\nC\nV\n" "${E2}${E9}A2\n" "${A[@]}"
expect_exit_zero
[ ! -e "$D/new" ] || fail "numeric 577 created a file"

cp "$D/f100" "$D/exist"
probe "O numeric 577 on an existing file: opened, not truncated" \
	"O$D/exist\n577\nC\nV\n" "A0\nA0\nA2\n" "${A[@]}"
[ "$(stat -c %s "$D/exist")" -eq 100 ] || fail "numeric 577 truncated the file"

probe "O with an unknown symbolic flag: refused (E22) or the flag ignored; stream in step" \
	"O$D/bogus\n1 O_WRONLY|O_CREAT|O_BOGUS\nC\nV\n" \
	"${E22}${E9}A2\n" "A0\nA0\nA2\n" "${A[@]}"

probe "O with an over-long flags line (1000 bytes of junk): refused, stream in step" \
	"O$D/f6\n$(printf 'x%.0s' $(seq 1 1000))\nR2\nV\n" \
	"${E22}${E9}A2\n" "${A[@]}"

long=$(printf 'a%.0s' $(seq 1 5000))
probe "O with a 5000-byte path (> PATH_MAX): E36, flags line consumed, stream in step" \
	"O$D/$long\n0\nR2\nV\n" "E36\n@TEXT@\n${E9}A2\n" "${A[@]}"

probe "O with a NUL inside the path: refused, and the prefix is NOT opened" \
	"O$D/f6\x00junk\n0\nR2\nV\n" "E@ERRNO@\n@TEXT@\n${E9}A2\n" "${A[@]}"

probe "O with an empty path: refused, stream in step" \
	"O\n0\nR2\nV\n" "E@ERRNO@\n@TEXT@\n${E9}A2\n" "${A[@]}"

probe "O, then I-1 (doc/protocol.md 2.6)" \
	"${OPEN}I-1\n0\nV\n" "A0\nA1\nA2\n" "${A[@]}"

# ---------------------------------------------------------------- S, garbage
probe "S with no newline, then C (doc/protocol.md 2.8; plain file: E25)" \
	"${OPEN}SC\nV\n" "A0\n${E25}A0\nA2\n" "${A[@]}"
probe "S followed by a newline, then C: the newline is not a garbage command" \
	"${OPEN}S\nC\nV\n" "A0\n${E25}A0\nA2\n" "${A[@]}"

for g in 'X\n' '?\n' 'Xjunk with words\n' '0\n' '9999\n' '\x01\n' '\xff\xfe\x80 binary\n' '\x00\n' '\x00garbage\x00\n' 'e\n' 'a\n' 'A0\n' 'E5\n'; do
	probe "garbage letter '$g': E22 Garbage command, line skipped, session goes on" \
		"${OPEN6}${g}R2\nV\n" "A0\n${GARBAGE}A2\nabA2\n" "${A[@]}"
	expect_exit_zero
done
probe "garbage with a 100000-byte line: one E22, stream in step" \
	"X$(printf 'j%.0s' $(seq 1 100000))\nV\n" "${GARBAGE}A2\n" "${A[@]}"
probe "many garbage lines in a row: one E22 each" \
	"X\nY\nZ\nV\n" "${GARBAGE}${GARBAGE}${GARBAGE}A2\n" "${A[@]}"

# ---------------------------------------------------------------- W
probe "W100 then EOF after 3 data bytes: E5, no unprompted A0, clean exit" \
	"O$D/w1\n1 O_WRONLY|O_CREAT\nW100\nabc" "A0\n${E5}" "${A[@]}"
[ "$SERVER_RC" -lt 124 ] || fail "exit status $SERVER_RC"
[ ! -s "$D/w1" ] || fail "an incomplete record was written to w1"

probe "W0: a zero-length write (A0) or E22; stream in step" \
	"O$D/w2\n1 O_WRONLY|O_CREAT\nW0\nV\nW2\nokV\n" \
	"A0\nA0\nA2\nA2\nA2\n" "A0\n${E22}A2\nA2\nA2\n" "${A[@]}"

head -c 2000 /dev/urandom >"$WORK/2000"
{
	printf 'O%s\n1 O_WRONLY|O_CREAT\n' "$D/w3"
	printf 'W2000\n'
	cat "$WORK/2000"
	printf 'W3\nxyzV\nC\n'
} >"$WORK/wbig.in"
probe_file "W over --max-record 1024 with its 2000 data bytes: refused, data swallowed, next W works" \
	"$WORK/wbig.in" "A0\n${E12}A3\nA2\nA0\n" "A0\n${E22}A3\nA2\nA0\n" "${M[@]}"
cmp -s "$D/w3" <(printf xyz) || fail "w3 should hold exactly 'xyz' (the refused record must not be written)"

{
	printf 'O%s\n1 O_WRONLY|O_CREAT\n' "$D/w4"
	printf 'W1024\n'
	head -c 1024 "$WORK/2000"
	printf 'C\n'
} >"$WORK/wmax.in"
probe_file "W of exactly --max-record bytes is accepted" \
	"$WORK/wmax.in" "A0\nA1024\nA0\n" "${M[@]}"
cmp -s "$D/w4" <(head -c 1024 "$WORK/2000") || fail "w4 does not hold the 1024-byte record"

probe "W with a negative count: refused, no data taken" \
	"O$D/w5\n1 O_WRONLY|O_CREAT\nW-5\nV\n" "A0\n${E22}A2\n" "A0\n${E12}A2\n" "${A[@]}"
probe "W with a count that is not a number: E22, no data taken" \
	"O$D/w5\n1 O_WRONLY|O_CREAT\nWabc\nV\n" "A0\n${E22}A2\n" "${A[@]}"
probe "W with an empty count: E22 (or a zero-length write), stream in step" \
	"O$D/w5\n1 O_WRONLY|O_CREAT\nW\nV\n" "A0\n${E22}A2\n" "A0\nA0\nA2\n" "${A[@]}"
# A count beyond 2^64 still announces data: all that follows is swallowed as the
# refused record's data (doc/protocol.md 2.4), so the V is data and EOF comes inside it.
probe "W with a count that overflows 64 bits: refused, what follows is its data (E5 at EOF)" \
	"O$D/w5\n1 O_WRONLY|O_CREAT\nW99999999999999999999999\nV\n" "A0\n${E5}" "${A[@]}"
[ ! -s "$D/w5" ] || fail "a refused W wrote data"
probe "W on a device opened read-only: E9 from write(2), data swallowed" \
	"${OPEN6}W3\nabcV\n" "A0\n${E9}A2\n" "${A[@]}"
probe "W with no device open: E9, data swallowed" \
	"W3\nabcV\n" "${E9}A2\n" "${A[@]}"

# ---------------------------------------------------------------- R
probe "R10 with no device open: E9 (doc/protocol.md 1.5)" "R10\nV\n" "${E9}A2\n" "${A[@]}"
for r in 'R 2' 'R+2' 'R2 ' 'R02'; do
	probe "'$r': read 2 bytes or refuse with E22; stream in step" \
		"${OPEN6}$r\nR1\nV\n" "A0\nA2\nabA1\ncA2\n" "A0\n${E22}A1\naA2\n" "${A[@]}"
done
probe "R-1: refused (E22 or E12), device still usable" \
	"${OPEN6}R-1\nR2\nV\n" "A0\n${E22}A2\nabA2\n" "A0\n${E12}A2\nabA2\n" "${A[@]}"
probe "R99999999999999: E12, nothing allocated, device still usable" \
	"${OPEN6}R99999999999999\nR2\nV\n" "A0\n${E12}A2\nabA2\n" "${A[@]}"
probe "R over --max-record 1024: E12, device still usable" \
	"${OPEN6}R2000\nR2\nV\n" "A0\n${E12}A2\nabA2\n" "${M[@]}"
probe "R with 1000 digits: refused, stream in step" \
	"${OPEN6}R$(printf '1%.0s' $(seq 1 1000))\nR2\nV\n" "A0\n${E22}A2\nabA2\n" "A0\n${E12}A2\nabA2\n" "${A[@]}"
probe "R on a device opened write-only: E9" \
	"O$D/f6\n1\nR3\nV\n" "A0\n${E9}A2\n" "${A[@]}"
probe "R0: A0" "${OPEN6}R0\nR1\nV\n" "A0\nA0\nA1\naA2\n" "A0\n${E22}A1\naA2\n" "${A[@]}"

# 1000 pipelined reads: replies in order, none lost.
{
	printf 'O%s\n0\n' "$D/f100"
	for _ in $(seq 1 1000); do printf 'R1\n'; done
	printf 'C\n'
} >"$WORK/many.in"
{
	printf 'A0\n'
	digits 100 | python3 -c 'import sys; d=sys.stdin.read(); sys.stdout.write("".join("A1\n"+c for c in d) + "A0\n"*900)'
	printf 'A0\n'
} >"$WORK/many.expected"
check "1000 pipelined R1 on a 100-byte file: 100 bytes then 900 x A0, in order"
pipe_server "$WORK/many.in" "$WORK/many.out" "$WORK/many.err" --allow "$D"
expect_output "1000 pipelined reads" "$WORK/many.out" "$WORK/many.expected"
expect_exit_zero
ok

# ---------------------------------------------------------------- L
probe "L50\\n0\\n (offset first) and L0\\n50\\n (whence first) both seek to 50" \
	"${OPEN}L50\n0\nR2\nL0\n50\nR2\nV\n" "A0\nA50\nA2\n01A50\nA2\n01A2\n" "${A[@]}"
probe "L0\\n1\\n at offset 50 is 'tell' (doc/protocol.md 1.5: rmt-tar answered A1)" \
	"${OPEN}L50\n0\nL0\n1\nV\n" "A0\nA50\nA50\nA2\n" "${A[@]}"
probe "L with two invalid whence lines: E22, both lines consumed" \
	"${OPEN}L50\n60\nR2\nV\n" "A0\n${E22}A2\n01A2\n" "${A[@]}"
probe "L with junk: E22, both lines consumed" \
	"${OPEN}Lx\ny\nR2\nV\n" "A0\n${E22}A2\n01A2\n" "${A[@]}"
probe "L with an offset that overflows 64 bits: E22, stream in step" \
	"${OPEN}L99999999999999999999999\n0\nR2\nV\n" "A0\n${E22}A2\n01A2\n" "${A[@]}"
probe "L to a negative position: E22 from lseek, position unchanged" \
	"${OPEN}L-10\n0\nR2\nV\n" "A0\n${E22}A2\n01A2\n" "${A[@]}"

# ---------------------------------------------------------------- I, i, s
probe "I6x\\n1\\n: E22 Invalid operation code, count line consumed" \
	"${OPEN}I6x\n1\nV\n" "A0\n${E22}A2\n" "${A[@]}"
probe "I with a count that is not a number: E22, stream in step" \
	"${OPEN}I6\nabc\nV\n" "A0\n${E22}A2\n" "${A[@]}"
probe "I with an op that overflows int: E22, stream in step" \
	"${OPEN}I99999999999\n1\nV\n" "A0\n${E22}A2\n" "${A[@]}"
probe "I with a count that overflows int: E22, stream in step" \
	"${OPEN}I6\n99999999999\nV\n" "A0\n${E22}A2\n" "${A[@]}"
probe "I1\\n-3\\n on a plain file: E25 (the ioctl fails)" \
	"${OPEN}I1\n-3\nV\n" "A0\n${E25}A2\n" "${A[@]}"
probe "i with junk: E22, stream in step" \
	"${OPEN}ix\n1\nV\n" "A0\n${E22}A2\n" "${A[@]}"
probe "s with an unknown field letter: E22" \
	"${OPEN}sxV\n" "A0\n${E22}A2\n" "${A[@]}"
probe "s followed by a newline as its field: E22, the newline is used up" \
	"${OPEN}s\nV\n" "A0\n${E22}A2\n" "${A[@]}"

# ---------------------------------------------------------------- EOF inside every kind of command
for tail in "O$D/f6" "O$D/f6\n" "O$D/f6\n0" "C" "L0" "L0\n" "L0\n0" "W5" "R5" "I6" "I6\n" "I6\n1" \
	"i2" "i2\n" "i2\n1" "s" "V" "v" "Vjunk" "R"; do
	probe "EOF inside '$tail': the partial command is not run, nothing more is sent" \
		"${OPEN}$tail" "A0\n" "${A[@]}"
	[ "$SERVER_RC" -lt 124 ] || fail "exit status $SERVER_RC after EOF inside '$tail'"
done
for tail in "W5\n" "W5\nab"; do
	probe "EOF inside the data of '$tail': E5, nothing else" \
		"O$D/w6\n1 O_WRONLY|O_CREAT\n$tail" "A0\n${E5}" "${A[@]}"
	[ "$SERVER_RC" -lt 124 ] || fail "exit status $SERVER_RC after EOF inside W data"
done
[ ! -s "$D/w6" ] || fail "a partial record reached the file"
probe "EOF inside a garbage line: at most its E22" \
	"${OPEN}Xjunk" "A0\n" "A0\n${GARBAGE}" "${A[@]}"
probe "empty input: no output, exit 0" "" "" "${A[@]}"
expect_exit_zero
probe "only whitespace: no output, exit 0" "\n\n \r\t\n" "" "${A[@]}"
expect_exit_zero

# stdin that cannot be polled (a regular file, as in `rmtd --stdio < requests`):
# the server must serve it or refuse with a message, never hang.
if [ -z "${RMT_SERVER:-}" ]; then
check "stdin is a regular file: served or refused with a message, no hang"
printf 'V\nv\n' >"$WORK/regular.in"
rc=0
timeout -k 2 10 "$RMTD" --stdio --allow "$D" <"$WORK/regular.in" >"$WORK/regular.out" 2>"$WORK/regular.err" || rc=$?
[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "rmtd --stdio hangs when stdin is a regular file ($(head -c 200 "$WORK/regular.err"))"
[ "$rc" -lt 128 ] || fail "rmtd --stdio died with status $rc when stdin is a regular file"
check_server_log "$WORK/regular.err"
if [ "$rc" -eq 0 ]; then
	printf 'A2\nA1\n' >"$WORK/regular.expected"
	expect_output "regular-file stdin" "$WORK/regular.out" "$WORK/regular.expected"
	ok "served"
else
	[ -s "$WORK/regular.err" ] || fail "rmtd --stdio exited $rc on a regular-file stdin without a message"
	ok "refused: exit $rc, $(head -n 1 "$WORK/regular.err")"
fi
fi
