#!/usr/bin/env python3
"""test_write_buffers.py - clients that announce large records to write and stall.

A W record that cannot be spliced (to a virtual tape) is collected in its
drive's record buffer, and every session may have a drive of its own. With
`limit read-buffers 64M`, four sessions that each start a 16 MiB record and
stall fill the total: the fifth is answered ENOBUFS once its data has been read
(nothing of it written), a small record is still written, and once a holder has
finished and closed, the fifth's record is written. Usage: test_write_buffers.py RMTD
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from rmtclient import O_CREAT, O_RDWR, Rmt, RmtError  # noqa: E402
from configured import ConfiguredDaemon, spool_directory  # noqa: E402

ENOBUFS = 105
RECORD = 16 * 1024 * 1024 - 1
TOTAL_MIB = 64
HOLDERS = TOTAL_MIB // 16
STARTED = 1024 * 1024  # what each holder sends of its record before it stalls


def run(spool, port, log_path):
    holders = []
    for i in range(HOLDERS):
        rmt = Rmt.connect(port)
        rmt.open("%s/hold%d.tap" % (spool, i), O_RDWR | O_CREAT)
        rmt.send(b"W%d\n" % RECORD + b"h" * STARTED)
        holders.append(rmt)
    # Each header is handled as it arrives; give the daemon a moment for the last one.
    deadline = time.time() + 10
    while open(log_path).read().count("open %s/hold" % spool) < HOLDERS:
        assert time.time() < deadline, "the holders' opens did not all arrive"
        time.sleep(0.05)
    time.sleep(0.5)

    late = Rmt.connect(port)
    late.open(spool + "/late.tap", O_RDWR | O_CREAT)
    try:
        late.write(b"l" * RECORD)
        raise AssertionError("a large record passed the full total")
    except RmtError as error:
        assert error.errno == ENOBUFS, error
        assert "large records" in error.text, error.text
    # Small records need no share of the total.
    assert late.write(b"s" * 10240) == 10240

    # A holder finishes and closes: its drive's buffer goes, and with it its share.
    first = holders[0]
    first.send(b"h" * (RECORD - STARTED))
    assert first.reply() == RECORD
    first.close()
    assert late.write(b"l" * RECORD) == RECORD
    late.close()
    for rmt in holders[1:]:
        rmt.close_transport()
    listing = subprocess.run([os.path.join(os.path.dirname(RMTD), "rmt-vtape"), "list",
                              spool + "/late.tap"], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    assert "10240" in listing.stdout and str(RECORD) in listing.stdout, listing.stdout


def main():
    global RMTD
    RMTD = os.path.abspath(sys.argv[1])
    with spool_directory("rmtd-writebuf-") as (directory, spool):
        with ConfiguredDaemon(RMTD, directory,
                              "spool %s\nidentity local peer 127.0.0.1\n"
                              "allow local path %s/* read-write create\n"
                              "limit read-buffers %dM\n" % (spool, spool, TOTAL_MIB)) as daemon:
            run(spool, daemon.port, daemon.log_path)
            assert "refused: No buffer space available" in daemon.log()
            daemon.stop()
    print("ok   %d stalled large W records fill the total; the next is ENOBUFS" % HOLDERS)


if __name__ == "__main__":
    main()
