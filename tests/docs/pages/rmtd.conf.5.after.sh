# The example file at work: rmtd -n accepts it; rmtd started with it serves real
# GNU tar over TLS as the page says: the backup host reads and writes vt0 and vt1
# and creates tar files in the spool; the office network reads vt1 and nothing
# else; a client without a certificate gets nothing.
rmtd -n
rmtd
export RMT_TLS=1 RMT_TLS_CA=/etc/rmtd/ca.crt RMT_TLS_SERVER_NAME=tapehost
as() { # backup|office COMMAND...
	local who=$1
	shift
	RMT_TLS_CERT=$TLS/$who.crt RMT_TLS_KEY=$TLS/$who.key "$@"
}
TAR="tar --rsh-command=/usr/local/bin/rmt-connect"
MT="mt-gnu --rsh-command=/usr/local/bin/rmt-connect"
as backup $TAR -cf tapehost:vt0 /home
as backup $MT -f tapehost:vt0 rewind
as backup $TAR -tf tapehost:vt0 | grep -qx 'home/alice/notes.txt' || fatal "vt0 does not list"
as backup $TAR -cf tapehost:vt1 /etc/hostname
as backup $TAR -cf tapehost:/srv/spool/monday.tar /home
tar -tf /srv/spool/monday.tar | grep -qx 'home/alice/notes.txt' || fatal "no spool archive"
if as backup $TAR -cf tapehost:/srv/spool/monday.cpio /home 2>/dev/null; then
	fatal "the backup host created a file the spool rule does not name"
fi
# The office connects from 192.168.1.10: a peer in 192.168.1.0/24. vt1 stays
# where the backup's archive ended, like a tape: the office rewinds it first.
as office $MT -f 192.168.1.10:vt1 rewind
as office $TAR -tf 192.168.1.10:vt1 | grep -qx 'etc/hostname' || fatal "the office cannot read vt1"
if as office $TAR -cf 192.168.1.10:vt1 /home 2>/dev/null; then fatal "the office wrote vt1"; fi
if as office $TAR -tf 192.168.1.10:vt0 >/dev/null 2>&1; then fatal "the office read vt0"; fi
if RMT_TLS_CERT= RMT_TLS_KEY= $TAR -tf tapehost:vt1 >/dev/null 2>&1; then
	fatal "a client without a certificate read vt1"
fi
