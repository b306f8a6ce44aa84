# rmtd.conf(5): the example is /etc/rmtd.conf (run-doc.sh put it there). What it
# takes for granted: the certificates it names, signed by its CA, and clients
# with certificates of their own: the backup host and an office machine, which
# connects from 192.168.1.10.
TLS=/root/tls
mkdir -p /etc/rmtd "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/O=Example/CN=Example tape CA" -keyout "$TLS/ca.key" -out /etc/rmtd/ca.crt 2>/dev/null
issue() { # NAME SUBJECT [SAN]
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
		${3:+-addext "subjectAltName=$3"} -keyout "$TLS/$1.key" -out "$TLS/$1.csr" 2>/dev/null
	openssl x509 -req -in "$TLS/$1.csr" -CA /etc/rmtd/ca.crt -CAkey "$TLS/ca.key" \
		-CAcreateserial -days 30 -copy_extensions copy -out "$TLS/$1.crt" 2>/dev/null
}
issue server "/O=Example/CN=tapehost" "DNS:tapehost"
cp "$TLS/server.crt" /etc/rmtd/server.crt
cp "$TLS/server.key" /etc/rmtd/server.key
chmod 0600 /etc/rmtd/server.key
issue backup "/O=Example/CN=backup.example.org"
issue office "/O=Example/CN=office.example.org"
ip addr add 192.168.1.10/24 dev lo
