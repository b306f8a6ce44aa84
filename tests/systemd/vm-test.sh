#!/bin/bash
# vm-test.sh - runs inside the test VM (systemd is PID 1), as the unit
# rmtd-vm-test.service: installs the packages from /payload and checks that
# rmtd deploys and runs as a Debian admin expects. One "ok - NAME" or
# "not ok - NAME" line per check, then "RMTD-VM-TEST passed=N failed=N", and
# the machine powers off.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8
P=/payload
passed=0 failed=0
ok() {
	echo "ok - $*"
	passed=$((passed + 1))
}
not_ok() {
	echo "not ok - $*"
	failed=$((failed + 1))
}
# check NAME COMMAND...: the command's output is shown when it fails.
check() {
	local name=$1
	shift
	echo "# [$(cut -d' ' -f1 /proc/uptime) s] $name"
	if "$@" >/tmp/check.out 2>&1; then
		ok "$name"
	else
		not_ok "$name"
		tail -n 25 /tmp/check.out | sed 's/^/#   /'
	fi
}
journal_since() { journalctl -q -o cat --no-pager -u rmtd.service --since "@$1"; }
finish() {
	if [ "$failed" -gt 0 ]; then
		echo "# journal of rmtd.service:"
		journalctl -q -o short-monotonic --no-pager -u rmtd.service -u rmtd.socket | tail -n 40 | sed 's/^/#   /'
	fi
	echo "RMTD-VM-TEST passed=$passed failed=$failed"
	systemctl poweroff --no-block
	exit 0
}
trap finish EXIT

echo "# the test starts at $(cut -d" " -f1 /proc/uptime) s of uptime"
echo "# $(uname -r), systemd $(systemctl --version | sed -n '1s/systemd \([0-9]*\).*/\1/p') as PID 1: $(cat /proc/1/comm)"
# tar over rmt-connect; every client run is bounded.
T=timeout
TAR="$T 60 tar --rsh-command=/usr/bin/rmt-connect"
mkdir -p /root/data/sub
head -c 300000 /dev/urandom >/root/data/random.bin
seq 1 20000 >/root/data/sub/numbers.txt
same_as_data() { # same_as_data ARCHIVE [ENV...]: extract it and compare with /root/data
	rm -rf /tmp/x && mkdir /tmp/x &&
		env "${@:2}" $TAR -xf "$1" -C /tmp/x && diff -r /root/data /tmp/x/data
}

# ------------------------------------------------------------------ installing
check "dpkg -i rmtd librmt0 rmt-client (dependencies present, maintainer scripts run)" \
	dpkg -i "$P"/librmt0_*.deb "$P"/rmtd_*.deb "$P"/rmt-client_*.deb
check "sysusers.d made the user rmtd, in the groups tape and rmtctl" \
	sh -c 'id rmtd && id -nG rmtd | grep -qw tape && id -nG rmtd | grep -qw rmtctl &&
		[ "$(getent passwd rmtd | cut -d: -f7)" = /usr/sbin/nologin ]'
check "tmpfiles.d made /var/spool/rmtd and /var/lib/rmtd for rmtd" \
	sh -c '[ "$(stat -c "%U %a" /var/spool/rmtd)" = "rmtd 750" ] &&
		[ "$(stat -c %U /var/lib/rmtd)" = rmtd ]'
check "/etc/rmtd.conf is a conffile and rmtd -n accepts it" \
	sh -c 'dpkg-query -W -f="\${Conffiles}" rmtd | grep -q "/etc/rmtd.conf " && rmtd -n'
check "rmt alternative registered at priority 40 with the rmt.8 slave" \
	sh -c 'update-alternatives --query rmt | grep -A2 "^Alternative: /usr/sbin/rmtd$" |
		grep -q "^Priority: 40$" &&
		update-alternatives --query rmt | grep -A3 "^Alternative: /usr/sbin/rmtd$" |
		grep -q "rmt.8.gz /usr/share/man/man8/rmtd.8.gz"'
check "rmt stays tar's (rmt-tar, 50) until the admin chooses rmtd" \
	sh -c '[ "$(readlink -f /usr/sbin/rmt)" = /usr/sbin/rmt-tar ]'
check "update-alternatives --set rmt /usr/sbin/rmtd: /usr/sbin/rmt and /etc/rmt are rmtd in stdio mode" \
	sh -c 'set -x; update-alternatives --set rmt /usr/sbin/rmtd &&
		[ "$(readlink -f /usr/share/man/man8/rmt.8.gz)" = /usr/share/man/man8/rmtd.8.gz ] &&
		[ "$(printf "V\n" | timeout 10 /usr/sbin/rmt)" = A2 ] &&
		[ "$(printf "V\n" | timeout 10 /etc/rmt)" = A2 ] &&
		update-alternatives --auto rmt && [ "$(readlink -f /usr/sbin/rmt)" = /usr/sbin/rmt-tar ]'

# ------------------------------------------------------------------ the shipped configuration
check "systemctl start rmtd.socket" systemctl start rmtd.socket
check "GNU tar writes over plaintext loopback through rmt-connect (shipped rmtd.conf)" \
	$TAR -cf localhost:/var/spool/rmtd/plain.tar -C /root data
check "rmtd.service runs, socket-activated, as rmtd" \
	sh -c 'systemctl is-active rmtd.service &&
		[ "$(ps -o user= -p "$(systemctl show -P MainPID rmtd.service)")" = rmtd ]'
check "GNU tar reads it back, identical" same_as_data localhost:/var/spool/rmtd/plain.tar
# systemd's filter and rmtd's own: two seccomp filters on the main thread.
check "rmtd installed its own seccomp filter under the unit's" \
	sh -c 'grep -E "^Seccomp_filters:[[:space:]]+([2-9]|[1-9][0-9])" \
		/proc/"$(systemctl show -P MainPID rmtd.service)"/status'
check "rmtd confined itself with Landlock" \
	sh -c 'journalctl -q -o cat -u rmtd.service | grep -q "landlock (ABI [0-9]*): filesystem confined"'

# ------------------------------------------------------------------ rmtctl
useradd -m -G rmtctl tapeop
useradd -m stranger
check "rmtctl status works for a member of rmtctl" runuser -u tapeop -- $T 10 rmtctl status
check "rmtctl status is refused to others" \
	sh -c 'systemctl is-active rmtd.service && ! runuser -u stranger -- timeout 10 rmtctl status'

# ------------------------------------------------------------------ TLS, with a client certificate
mkdir -p /etc/rmtd /root/tls
(
	set -e
	cd /root/tls
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=test CA" -keyout ca.key -out ca.crt
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
		-keyout server.key -out server.csr
	printf 'subjectAltName=DNS:localhost\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
		-extfile server.ext -out server.crt
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/O=Example/CN=backup.example.org" -keyout client.key -out client.csr
	openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
		-out client.crt
	install -m 0644 ca.crt server.crt /etc/rmtd/
	install -m 0640 -g rmtd server.key /etc/rmtd/
) >/tmp/openssl.log 2>&1 || { cat /tmp/openssl.log; not_ok "certificates made"; }
FINGERPRINT=$(openssl x509 -in /root/tls/client.crt -noout -fingerprint -sha256 |
	sed 's/.*=//; s/://g' | tr A-F a-f)
cat >>/etc/rmtd.conf <<CONF

# added by the test
listen 127.0.0.1:5401 tls
listen [::1]:5401 tls
tls certificate /etc/rmtd/server.crt
tls key /etc/rmtd/server.key
tls ca /etc/rmtd/ca.crt
identity backup fingerprint sha256:$FINGERPRINT
identity local peer 127.0.0.1
identity local peer ::1
allow backup path "/var/spool/rmtd/*" read-write create truncate
allow local path "/var/spool/rmtd/*" read-write create truncate
CONF
check "rmtd -n accepts the TLS configuration" rmtd -n
check "systemctl restart rmtd (new listeners)" systemctl restart rmtd.service
TLS_ENV=(RMT_TLS=1 RMT_PORT=5401 RMT_TLS_CA=/root/tls/ca.crt RMT_TLS_CERT=/root/tls/client.crt
	RMT_TLS_KEY=/root/tls/client.key)
check "GNU tar writes over TLS with a client certificate" \
	env "${TLS_ENV[@]}" $TAR -cf localhost:/var/spool/rmtd/tls.tar -C /root data
check "GNU tar reads it back over TLS, identical" same_as_data localhost:/var/spool/rmtd/tls.tar "${TLS_ENV[@]}"
check "TLS without a client certificate is refused" \
	sh -c 'systemctl is-active rmtd.service && ! env RMT_TLS=1 RMT_PORT=5401 RMT_TLS_CA=/root/tls/ca.crt '"$TAR"' -tf localhost:/var/spool/rmtd/tls.tar'
check "plaintext loopback still writes under the rules" \
	$TAR -cf localhost:/var/spool/rmtd/plain2.tar -C /root data

# ------------------------------------------------------------------ reload after an editor
sed -i 's|^allow local path "/var/spool/rmtd/\*" read-write create truncate$|allow local path "/var/spool/rmtd/*" read-only|' /etc/rmtd.conf
since=$(date +%s)
sleep 1
check "sed -i; systemctl reload rmtd" systemctl reload rmtd.service
sleep 1
check "the reload took the new file" sh -c "journalctl -q -o cat -u rmtd.service --since @$since |
	grep -v 'not reloaded' | grep -q 'configuration reloaded'"
check "after the reload, loopback may read" same_as_data localhost:/var/spool/rmtd/plain.tar
check "after the reload, loopback may no longer write" \
	sh -c "systemctl is-active rmtd.service && ! $TAR -cf localhost:/var/spool/rmtd/plain3.tar -C /root data"
check "systemctl reload refuses a broken file and rmtd keeps running" \
	sh -c 'cp /etc/rmtd.conf /root/rmtd.conf.good && echo "no such statement" >>/etc/rmtd.conf &&
		! systemctl reload rmtd.service && systemctl is-active rmtd.service &&
		cp /root/rmtd.conf.good /etc/rmtd.conf'

# ------------------------------------------------------------------ a user line
sed -i '1i user rmtd' /etc/rmtd.conf
check "with \"user rmtd\" in rmtd.conf, systemctl restart rmtd starts" \
	sh -c 'systemctl restart rmtd.service && systemctl is-active rmtd.service'
check "and serves over TLS" same_as_data localhost:/var/spool/rmtd/tls.tar "${TLS_ENV[@]}"
sed -i '1d' /etc/rmtd.conf

# ------------------------------------------------------------------ stopping, exposure
systemctl restart rmtd.service
start=$(date +%s%N)
check "systemctl stop rmtd.service rmtd.socket" systemctl stop rmtd.service rmtd.socket
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$ms" -le 10000 ]; then ok "stopped within 10 s ($ms ms)"; else not_ok "stopped within 10 s ($ms ms)"; fi
exposure=$(systemd-analyze security rmtd.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for rmtd.service: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security rmtd.service: exposure $exposure"
check "systemd-analyze security: exposure $exposure <= 2.0" \
	awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }'

# ------------------------------------------------------------------ removal
check "dpkg --purge rmtd" dpkg --purge rmtd
check "removal unregistered the alternative; /usr/sbin/rmt is tar's again" \
	sh -c 'update-alternatives --query rmt;! update-alternatives --query rmt | grep -q /usr/sbin/rmtd &&
		[ "$(readlink -f /usr/sbin/rmt)" = /usr/sbin/rmt-tar ] &&
		[ "$(readlink -f /usr/share/man/man8/rmt.8.gz)" != /usr/share/man/man8/rmtd.8.gz ]'
check "removal took the units and /etc/rmtd.conf away" \
	sh -c '! systemctl cat rmtd.service && [ ! -e /etc/rmtd.conf ]'
