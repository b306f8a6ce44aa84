# rmt-vtape(1): the client reaches tapehost with rsh; tapehost's rmt is rmtd,
# serving /srv/tapes; the client has src and doc to archive.
cat >/usr/local/sbin/rmt-srv-tapes <<'EOS'
#!/bin/sh
exec /usr/local/sbin/rmtd --stdio --allow /srv/tapes
EOS
chmod +x /usr/local/sbin/rmt-srv-tapes
ln -sf /usr/local/sbin/rmt-srv-tapes /etc/alternatives/rmt
mkdir -p src doc
printf 'int main(void) { return 0; }\n' >src/main.c
printf 'read me\n' >doc/README
