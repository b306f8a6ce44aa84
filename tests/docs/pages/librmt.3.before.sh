# librmt(3): "Copy a local file to the second file of a remote tape": the tape
# already holds a first file, the local file exists, and rmtd serves tapehost.
mt -f /dev/nst0 rewind
tar -cf /dev/nst0 -C /etc hostname
mt -f /dev/nst0 rewind
tar -cf backup.tar -C /home alice
rmtd --listen 127.0.0.1:5400
