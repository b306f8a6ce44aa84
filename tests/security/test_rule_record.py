#!/usr/bin/env python3
"""test_rule_record.py - an allow rule's `record SIZE` bounds each W and R.

With `allow local path SPOOL/* read-write create truncate record 64K`, a W or R
of 64 KiB passes and one byte more is refused with ENOMEM and the rule's reason,
on a plain file (where a large W would be spliced) and on a virtual tape (where
it is collected in memory); the refused record's data is read and dropped, so
the next request is answered in step, and nothing of it reaches the file or the
tape. Usage: test_rule_record.py RMTD
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from rmtclient import O_CREAT, O_RDWR, Rmt, RmtError  # noqa: E402
from configured import ConfiguredDaemon, spool_directory  # noqa: E402

ENOMEM = 12
LIMIT = 64 * 1024
WHY = "Record larger than your rule allows"


def refused(action, what):
    try:
        action()
    except RmtError as error:
        assert error.errno == ENOMEM, "%s: %s" % (what, error)
        assert WHY in error.text, "%s: %s" % (what, error.text)
        return
    raise AssertionError("%s passed the rule's record size" % what)


def bounded(port, path):
    rmt = Rmt.connect(port)
    rmt.open(path, O_RDWR | O_CREAT)
    assert rmt.write(b"a" * LIMIT) == LIMIT
    refused(lambda: rmt.write(b"b" * (LIMIT + 1)), "W %d" % (LIMIT + 1))
    refused(lambda: rmt.write(b"c" * (4 * LIMIT)), "W %d" % (4 * LIMIT))
    assert rmt.write(b"d" * 100) == 100, "the stream is out of step after a refused W"
    rmt.close()
    rmt.open(path, O_RDWR)
    refused(lambda: rmt.read(LIMIT + 1), "R %d" % (LIMIT + 1))
    first = rmt.read(LIMIT)
    assert first == b"a" * LIMIT, "R %d after a refused R: %d bytes" % (LIMIT, len(first))
    second = rmt.read(LIMIT)
    assert second == b"d" * 100, "the refused records reached the medium: %r" % second[:8]
    rmt.close()


def main():
    rmtd = os.path.abspath(sys.argv[1])
    vtape = os.path.join(os.path.dirname(rmtd), "rmt-vtape")
    with spool_directory("rmtd-rulerecord-") as (directory, spool):
        with ConfiguredDaemon(rmtd, directory,
                              "spool %s\nidentity local peer 127.0.0.1\n"
                              "allow local path %s/* read-write create truncate record 64K\n"
                              % (spool, spool)) as daemon:
            bounded(daemon.port, spool + "/plain.dat")
            assert os.path.getsize(spool + "/plain.dat") == LIMIT + 100
            subprocess.run([vtape, "create", spool + "/bounded.tap"], check=True,
                           capture_output=True)
            bounded(daemon.port, spool + "/bounded.tap.rewind")
            listing = subprocess.run([vtape, "list", spool + "/bounded.tap"],
                                     capture_output=True, text=True)
            assert listing.returncode == 0, listing.stderr
            assert listing.stdout.startswith("file 0: 2 records, %d bytes" % (LIMIT + 100)), \
                listing.stdout
            daemon.stop()
    print("ok   W and R of %d bytes pass a rule of record 64K, %d is ENOMEM, in step" %
          (LIMIT, LIMIT + 1))


if __name__ == "__main__":
    main()
