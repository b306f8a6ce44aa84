# rmt-connect(1): rmtd on tapehost declares the virtual tape vt0 (port 5400),
# and another rmtd answers on port 5401 with the tape drive.
rmtd --listen 127.0.0.1:5400 --allow /srv/tapes --drive vt0=/srv/tapes/vt0.tap
rmtd --listen 127.0.0.1:5401 --control none
# The vault: a third rmtd, a TLS listener on 127.0.0.2 that knows the backup
# host's certificate, with the CA and client files where the page's
# /etc/rmt-connect.conf names them.
echo "127.0.0.2 vault vault.example.org" >>/etc/hosts
VAULT=/root/vault
mkdir -p /etc/rmt-connect "$VAULT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/O=Example/CN=Example tape CA" -keyout "$VAULT/ca.key" \
	-out /etc/rmt-connect/ca.crt 2>/dev/null
vault_issue() { # NAME SUBJECT [SAN]
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
		${3:+-addext "subjectAltName=$3"} -keyout "$VAULT/$1.key" -out "$VAULT/$1.csr" 2>/dev/null
	openssl x509 -req -in "$VAULT/$1.csr" -CA /etc/rmt-connect/ca.crt -CAkey "$VAULT/ca.key" \
		-CAcreateserial -days 30 -copy_extensions copy -out "$VAULT/$1.crt" 2>/dev/null
}
vault_issue server "/O=Example/CN=vault" "DNS:vault"
vault_issue client "/O=Example/CN=backup.example.org"
cp "$VAULT/client.crt" "$VAULT/client.key" /etc/rmt-connect/
cat >"$VAULT/rmtd.conf" <<CONF
listen 127.0.0.2:5400 tls
tls certificate $VAULT/server.crt
tls key $VAULT/server.key
tls ca /etc/rmt-connect/ca.crt
drive vt0 /srv/tapes/vault0.tap
identity backup subject "CN=backup.example.org,O=Example"
allow backup drive vt0 read-write create truncate
CONF
rmt-vtape create /srv/tapes/vault0.tap
rmtd -f "$VAULT/rmtd.conf" --control none
