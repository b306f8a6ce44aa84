# The kill ended session 12.
if rmtctl session 12 >/dev/null 2>&1; then fatal "session 12 is still there"; fi
# The release took /dev/nst0 from session 13, which lives on without it.
rmtctl session 13 >/dev/null || fatal "session 13 ended with the release"
if rmtctl session 13 | grep -q /dev/nst0; then fatal "session 13 still holds /dev/nst0"; fi
