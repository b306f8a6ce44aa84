# The archive tar wrote to the vault over TLS, with no option on its command
# line, is on the vault's tape; without the configuration file the vault is
# not reached in plaintext.
mt-gnu --rsh-command=/usr/bin/rmt-connect -f vault:vt0 rewind
tar --rsh-command=/usr/bin/rmt-connect -tf vault:vt0 >/root/vault/listing
grep -q '^home/' /root/vault/listing || fatal "the vault's vt0 does not hold the archive"
mv /etc/rmt-connect.conf /etc/rmt-connect.conf.off
if tar --rsh-command=/usr/bin/rmt-connect -tf vault:vt0 >/dev/null 2>&1; then
	fatal "the vault answered a client without TLS"
fi
mv /etc/rmt-connect.conf.off /etc/rmt-connect.conf
