#!/bin/bash
# run-doc.sh DOC WORKDIR - one document's examples, in a new mount and pid
# namespace (guest.sh starts it so): a private copy of /etc, empty /srv and /run,
# then the document's "before" hook, its examples in order, its "after" hook.
# Any failing command fails the document (set -e, pipefail), as a user would
# stop at the first command that does not work.
doc=$1 work=$2
. "$STAGE/lib.sh"

cp -a /etc "/tmp/etc-$doc"
mount --bind "/tmp/etc-$doc" /etc
cp -a /var/lib/dpkg/alternatives "/tmp/alternatives-$doc"
mount --bind "/tmp/alternatives-$doc" /var/lib/dpkg/alternatives
mount -t tmpfs tmpfs /srv
mount -t tmpfs tmpfs /run
mkdir -p /srv/tapes /srv/spool
cd "$work" || fatal "no $work"
# A section 5 page's example is its file: /etc/<name> (rmtd.conf.5 -> /etc/rmtd.conf).
for f in "$work"/*; do
	case $(basename "$f") in
	examples.sh | example.c | list.txt | log) ;;
	*) cp "$f" "/etc/$(basename "$f")" && say "installed /etc/$(basename "$f") from $doc" ;;
	esac
done

set -eo pipefail
hook=$STAGE/pages/$doc
if [ -f "$hook.before.sh" ]; then
	say "$doc: setting up what the page takes for granted ($(basename "$hook").before.sh)"
	. "$hook.before.sh"
fi
. "$work/examples.sh"
if [ -f "$hook.after.sh" ]; then
	say "$doc: checking what the page says happened ($(basename "$hook").after.sh)"
	. "$hook.after.sh"
fi
say "$doc: all examples ran"
