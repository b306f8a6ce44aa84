# The program wrote backup.tar as the second file; the shim's tar wrote its
# archive there again and listed it: the tape now reads back as the page says.
mt -f /dev/nst0 rewind
mt -f /dev/nst0 fsf 1
tar -tzf /dev/nst0 | grep -qx 'home/alice/notes.txt' || fatal "the archive is not the second file"
