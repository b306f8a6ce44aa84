#!/usr/bin/env python3
"""test_read_buffers.py - clients that ask for large records and never read them.

Forty sessions each send R16777215 on a 16 MiB file and never read the reply.
With `limit read-buffers 64M` the daemon's resident memory stays under that
total plus a margin: the sessions past the total are answered ENOBUFS at once,
another client is still served, and once the holders go the memory is free for
the next large record. Usage: test_read_buffers.py RMTD
"""
import os
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from rmtclient import O_RDONLY, Rmt, RmtError  # noqa: E402
from configured import ConfiguredDaemon, spool_directory  # noqa: E402

ENOBUFS = 105
SESSIONS = 40
RECORD = 16 * 1024 * 1024 - 1
TOTAL_MIB = 64
MARGIN_MIB = 32  # threads, session input buffers, small records, allocator slack


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def first_line(sock):
    """The reply's first line only: the record behind it stays unread."""
    line = b""
    while not line.endswith(b"\n"):
        byte = sock.recv(1)
        assert byte, "the server closed the connection"
        line += byte
    return line


def run(directory, process, port):
    spool = os.path.join(directory, "spool")
    holders = []
    for i in range(SESSIONS):
        sock = socket.socket()
        # A small receive window: the record stays in the daemon, not in this kernel.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.settimeout(30)
        holders.append(sock)
        rmt = Rmt(sock)
        rmt.open("%s/big%d" % (spool, i), O_RDONLY)
    before = rss_kib(process.pid)
    answers = []
    for sock in holders:
        sock.sendall(b"R%d\n" % RECORD)
        answers.append(first_line(sock))
    time.sleep(1)
    grown = rss_kib(process.pid) - before
    served = sum(1 for a in answers if a == b"A%d\n" % RECORD)
    refused = sum(1 for a in answers if a.startswith(b"E%d\n" % ENOBUFS))
    assert served + refused == SESSIONS, "unexpected answers: %r" % sorted(set(answers))
    assert served == TOTAL_MIB // 16, "as many records as fit the total (%d)" % served
    assert grown < (TOTAL_MIB + MARGIN_MIB) * 1024, \
        "RSS grew by %d KiB for %d held records" % (grown, served)

    # Another client is served meanwhile: small records need no share of the total.
    other = Rmt.connect(port)
    assert other.version() == 2
    other.open(spool + "/small", O_RDONLY)
    assert other.read(65536) == b"s" * 65536
    try:
        other.read(1024 * 1024)
        raise AssertionError("a large record passed the full total")
    except RmtError as error:
        assert error.errno == ENOBUFS, error

    # The holders go: their memory is back, for the total and for the system.
    for sock in holders:
        sock.close()
    deadline = time.time() + 10
    while rss_kib(process.pid) - before > MARGIN_MIB * 1024:
        assert time.time() < deadline, "memory was not given back (%d KiB)" % (
            rss_kib(process.pid) - before)
        time.sleep(0.1)
    other.open("%s/big0" % spool, O_RDONLY)
    assert len(other.read(RECORD)) == 16 * 1024 * 1024 - 1
    other.close()
    other.close_transport()


def main():
    rmtd = os.path.abspath(sys.argv[1])
    with spool_directory("rmtd-readbuf-") as (directory, spool):
        for i in range(SESSIONS):
            with open("%s/big%d" % (spool, i), "wb") as f:
                f.truncate(16 * 1024 * 1024)  # sparse: reading it still fills the record
        with open(spool + "/small", "wb") as f:
            f.write(b"s" * 65536)
        with ConfiguredDaemon(rmtd, directory,
                              "spool %s\nidentity local peer 127.0.0.1\n"
                              "allow local path %s/* read-only\nlimit read-buffers %dM\n"
                              % (spool, spool, TOTAL_MIB)) as daemon:
            process, port = daemon.process, daemon.port
            run(directory, process, port)
            assert "the read buffer total is reached" in daemon.log()
            # SIGTERM while a record is going out to a slow reader: it still gets all of it.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            slow = Rmt(sock)
            slow.open(spool + "/big1", O_RDONLY)
            slow.send(b"R%d\n" % RECORD)
            assert first_line(slow.sock) == b"A%d\n" % RECORD
            time.sleep(0.3)  # the reply is queued, the session between requests
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # now read fast
            assert len(slow.read_exact(RECORD)) == RECORD, "the record went out whole"
            slow.close_transport()
            assert process.wait(timeout=30) == 0, "rmtd did not exit cleanly"
    print("ok   %d unread large records stay within the read buffer total" % SESSIONS)


if __name__ == "__main__":
    main()
