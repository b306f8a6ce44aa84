# rmtctl(8): a running rmtd with its default control socket, where session 12
# is writing to a drive (sessions 1 to 11 came and went).
rmtd --listen 127.0.0.1:5400 --allow /srv/tapes
rmt-vtape create /srv/tapes/s12.tap
for i in $(seq 1 11); do rmt-connect tapehost </dev/null; done
{
	printf 'O/srv/tapes/s12.tap\n2\nW10240\n'
	head -c 10240 /dev/zero
	sleep 300
} | rmt-connect tapehost >/dev/null 2>&1 &
wait_for sh -c 'rmtctl session 12 | grep -q "Write"'
# Session 13 opened the tape drive and has been idle since.
{
	printf 'O/dev/nst0\n0\n'
	sleep 300
} | rmt-connect tapehost >/dev/null 2>&1 &
wait_for sh -c 'rmtctl session 13 | grep -q "/dev/nst0"'
