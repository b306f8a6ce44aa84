# rmtd(8): "with /etc/rmt a link to rmtd on the tape host".
ln -sf /usr/local/sbin/rmtd /etc/rmt
