#!/usr/bin/env python3
"""test_write_once.py - a write-once rule protects virtual tapes as it protects files.

A write-once rule lets a client create something new and then only read it back:
the open is made O_CREAT|O_EXCL. A virtual tape must honour O_EXCL like open(2)
on a file, or a client could append to (or, positioned at BOT, overwrite) a tape
that the rule says is finished. Usage: test_write_once.py RMTD
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from rmtclient import (MTREW, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, Rmt,  # noqa: E402
                       RmtError)
from configured import ConfiguredDaemon  # noqa: E402


def expect_error(action, errno, text=None):
    try:
        action()
    except RmtError as error:
        assert error.errno == errno, "got %s, expected E%d" % (error, errno)
        assert text is None or text in error.text, "reason %r lacks %r" % (error.text, text)
        return
    raise AssertionError("expected E%d, the request succeeded" % errno)


def image(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    rmtd = os.path.abspath(sys.argv[1])
    vtape_tool = os.path.join(os.path.dirname(rmtd), "rmt-vtape")
    directory = tempfile.mkdtemp(prefix="rmtd-write-once-")
    archive = os.path.join(directory, "archive")
    os.mkdir(archive)
    with ConfiguredDaemon(rmtd, directory,
                          "spool %s\nidentity local peer 127.0.0.1\n"
                          "allow local path %s/* write-once create\n" % (archive, archive)) as daemon:
        rmt = Rmt.connect(daemon.port)

        # A new tape: created through the rule, written, closed (its filemark).
        tape = archive + "/monday.tap"
        rmt.open(tape, O_WRONLY | O_CREAT)
        assert rmt.write(b"once" * 256) == 1024
        rmt.close()
        written = image(tape)
        assert len(written) > 1024, "the record is not on the tape"

        # Finished: neither appended to nor overwritten, whatever the flags.
        expect_error(lambda: rmt.open(tape, O_WRONLY | O_CREAT), 17)
        expect_error(lambda: rmt.open(tape, O_RDWR | O_CREAT), 17)
        expect_error(lambda: rmt.open(tape, O_WRONLY), 13, "write-once")
        expect_error(lambda: rmt.open(tape + ".rewind", O_WRONLY | O_CREAT), 17)
        assert image(tape) == written, "the write-once tape changed"

        # Read back as often as wanted.
        rmt.open(tape, O_RDONLY)
        rmt.ioctl(MTREW)
        assert rmt.read(4096) == b"once" * 256
        rmt.close()

        # A blank tape made beforehand is not "new" either: it exists.
        blank = archive + "/blank.tap"
        subprocess.run([vtape_tool, "create", blank], check=True, stdout=subprocess.DEVNULL)
        expect_error(lambda: rmt.open(blank, O_WRONLY | O_CREAT), 17)
        assert os.path.getsize(blank) == 0, "the blank tape was written"

        # The same rule on a plain file, for comparison.
        rmt.open(archive + "/monday.tar", O_WRONLY | O_CREAT)
        rmt.write(b"x" * 10)
        rmt.close()
        expect_error(lambda: rmt.open(archive + "/monday.tar", O_WRONLY | O_CREAT), 17)
        rmt.close_transport()
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(timeout=30) == 0, "rmtd did not exit cleanly"
    shutil.rmtree(directory)
    print("ok   write-once protects virtual tapes and files")


if __name__ == "__main__":
    main()
