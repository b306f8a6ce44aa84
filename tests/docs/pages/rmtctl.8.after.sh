# The kill ended session 12.
if rmtctl session 12 >/dev/null 2>&1; then fatal "session 12 is still there"; fi
