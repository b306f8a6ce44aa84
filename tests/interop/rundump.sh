#!/bin/sh
# rundump.sh DUMP-ARGS... - run Linux dump(8) on a file-system image file.
#
# dump decides that a path on a mounted file system is a subtree of / and
# refuses to read an image file as a file system. In a private mount
# namespace whose /etc has an empty fstab and mtab, the image is an unlisted
# file system and dump reads it. Needs root (unshare -m). Pass absolute paths;
# for incrementals pass -D FILE so the host's /var/lib/dumpdates stays as is.
set -e
etc=$(mktemp -d)
cp -a /etc/. "$etc"/ 2>/dev/null || true
rm -f "$etc/mtab"
: >"$etc/mtab"
: >"$etc/fstab"
rc=0
unshare -m sh -c 'mount --bind "$0" /etc && shift && exec "$@"' "$etc" placeholder "$@" || rc=$?
rm -rf "$etc"
exit $rc
