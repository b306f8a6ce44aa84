#!/usr/bin/env python3
"""test_readonly_ops.py - a read-only identity changes nothing about a drive.

Tries every tape operation that outlives a session (block size, density,
compression, driver options, load and unload, lock, partitions, reset) and
every one that writes the medium, as a read-only identity on a virtual tape:
each is refused (EPERM for settings, EACCES for writes) with one log line, and
the tape's image and .meta are byte for byte what they were. A rule that says
`settings` grants them. Usage: test_readonly_ops.py RMTD
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from rmtclient import O_RDONLY, O_RDWR, Rmt, RmtError, free_port  # noqa: E402

EPERM, EACCES = 1, 13
# Native Linux MTIOCTOP numbers (linux/mtio.h) and a count that changes something.
SETTINGS = {
    "MTRESET": (0, 1),
    "MTOFFL": (7, 1),
    "MTSETBLK": (20, 512),
    "MTSETDENSITY": (21, 0x44),
    "MTSETDRVBUFFER": (24, 0x10000000 | 0x2),  # MT_ST_BOOLEANS | MT_ST_TWO_FM
    "MTLOCK": (28, 1),
    "MTUNLOCK": (29, 1),
    "MTLOAD": (30, 1),
    "MTUNLOAD": (31, 1),
    "MTCOMPRESSION": (32, 1),
    "MTSETPART": (33, 1),
    "unknown op 40": (40, 1),
}
# MTMKPART reformats the cartridge: it is a write (and a setting), refused as a write.
WRITES = {"MTWEOF": (5, 1), "MTERASE": (13, 1), "MTWSM": (27, 1), "MTMKPART": (34, 1),
          "MTWEOFI": (35, 1)}
RMT_EXT_NATIVE_BASE = 1000
STARTED = []  # every rmtd started, killed at the end however the test ends


def expect_error(action, errno, what=""):
    try:
        action()
    except RmtError as error:
        assert error.errno == errno, "%s: got %s, expected E%d" % (what, error, errno)
        return error
    raise AssertionError("%s: expected E%d, the request succeeded" % (what, errno))


class Daemon:
    def __init__(self, directory, config):
        self.port = free_port()
        self.log_path = os.path.join(directory, "rmtd-%d.log" % self.port)
        self.log = open(self.log_path, "w")
        path = os.path.join(directory, "rmtd.conf")
        with open(path, "w") as f:
            f.write(config)
        os.chmod(path, 0o644)
        self.process = subprocess.Popen(
            [RMTD, "-d", "-v", "--control", "none", "--listen", "127.0.0.1:%d" % self.port,
             "-f", path], stdout=self.log, stderr=subprocess.STDOUT)
        STARTED.append(self.process)
        deadline = time.time() + 10
        while "listening on" not in open(self.log_path).read():
            assert time.time() < deadline and self.process.poll() is None, \
                "rmtd did not start:\n" + open(self.log_path).read()
            time.sleep(0.02)

    def connect(self, source="127.0.0.1"):
        return Rmt(socket.create_connection(("127.0.0.1", self.port), timeout=30,
                                            source_address=(source, 0)))

    def log_text(self):
        return open(self.log_path).read()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, "rmtd did not exit cleanly"
        self.log.close()


def snapshot(tape):
    files = {}
    for suffix in ("", ".meta"):
        with open(tape + suffix, "rb") as f:
            files[suffix] = f.read()
    return files


def extended(rmt, op, count):
    rmt.send(b"i%d\n%d\n" % (RMT_EXT_NATIVE_BASE + op, count))
    return rmt.reply()


def run(directory):
    tapes = os.path.join(directory, "tapes")
    os.mkdir(tapes)
    tape = os.path.join(tapes, "vt0.tap")
    subprocess.run([os.path.join(os.path.dirname(RMTD), "rmt-vtape"), "create", tape],
                   check=True)
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    with open(os.path.join(spool, "plain.dat"), "wb") as f:
        f.write(b"p" * 100)
    config = """
drive vt0 %s
spool %s
identity reader peer 127.0.0.1
identity writer peer 127.0.0.2
identity operator peer 127.0.0.3
allow reader drive vt0 read-only
allow reader path %s/* read-only
allow writer drive vt0 read-write
allow operator drive vt0 read-only settings
""" % (tape, spool, spool)
    daemon = Daemon(directory, config)

    # Put something on the tape first, so an erase or a filemark would show.
    rmt = daemon.connect("127.0.0.2")
    rmt.open("vt0", O_RDWR)
    assert rmt.write(b"BACKUP-1" * 64) == 512
    assert rmt.ioctl(6, 1) == 1, "MTREW"
    rmt.close()
    before = snapshot(tape)

    rmt = daemon.connect("127.0.0.1")
    rmt.open("vt0", O_RDONLY)
    for name, (op, count) in SETTINGS.items():
        expect_error(lambda: rmt.ioctl(op, count), EPERM, name)
        expect_error(lambda: extended(rmt, op, count), EPERM, "i " + name)
    for name, (op, count) in WRITES.items():
        expect_error(lambda: rmt.ioctl(op, count), EACCES, name)
        expect_error(lambda: extended(rmt, op, count), EACCES, "i " + name)
    assert rmt.ioctl(6, 1) == 1, "MTREW at the beginning moves nothing"
    rmt.close()
    # Standard numbering after I-1: offline is 6, a filemark 0.
    rmt.open("vt0", O_RDONLY)
    assert rmt.ioctl(-1, 0) == 1
    expect_error(lambda: rmt.ioctl(6, 1), EPERM)
    expect_error(lambda: rmt.ioctl(0, 1), EACCES)
    rmt.close()
    # On a plain file the rules answer before the backend would (ENOTTY).
    rmt.open(spool + "/plain.dat", O_RDONLY)
    expect_error(lambda: extended(rmt, 20, 512), EPERM)
    rmt.close()
    rmt.close_transport()
    after = snapshot(tape)
    assert after[".meta"] == before[".meta"], "the .meta changed:\n%s\n---\n%s" % (
        before[".meta"].decode(errors="replace"), after[".meta"].decode(errors="replace"))
    assert after[""] == before[""], "the image changed"
    log = daemon.log_text()
    assert "MTSETBLK 512 on %s by 127.0.0.1 from 127.0.0.1" % tape in log, log[-2000:]
    assert "refused: changing drive settings is not allowed for you" in log
    assert "MTWEOF 1 on %s by 127.0.0.1 from 127.0.0.1" % tape in log
    assert "refused: the device is open read-only" in log

    # Moving the tape and reading are what read-only is for.
    rmt = daemon.connect("127.0.0.1")
    rmt.open("vt0", O_RDONLY)
    assert rmt.read(4096) == b"BACKUP-1" * 64
    assert rmt.ioctl(6, 1) == 1, "MTREW"
    rmt.close()
    rmt.close_transport()
    before = snapshot(tape)

    # A writer without `settings` writes, but leaves the drive's settings alone.
    rmt = daemon.connect("127.0.0.2")
    rmt.open("vt0", O_RDWR)
    expect_error(lambda: rmt.ioctl(20, 512), EPERM)
    expect_error(lambda: rmt.ioctl(31, 1), EPERM)
    rmt.close()
    rmt.close_transport()
    assert snapshot(tape)[".meta"] == before[".meta"], "the writer changed a setting"

    # The grant works, and the .meta shows it (so the comparisons above can fail).
    rmt = daemon.connect("127.0.0.3")
    rmt.open("vt0", O_RDONLY)
    assert rmt.ioctl(20, 512) == 512
    expect_error(lambda: rmt.ioctl(5, 1), EACCES)
    rmt.close()
    rmt.close_transport()
    assert snapshot(tape)[".meta"] != before[".meta"], "MTSETBLK granted left no trace"
    assert snapshot(tape)[""] == before[""]

    rmt = daemon.connect("127.0.0.1")
    assert rmt.version() == 2, "the server still answers"
    rmt.close_transport()
    daemon.stop()


def main():
    global RMTD
    RMTD = os.path.abspath(sys.argv[1])
    directory = tempfile.mkdtemp(prefix="rmtd-readonly-")
    try:
        run(directory)
    except Exception:
        for name in os.listdir(directory):
            if name.endswith(".log"):
                print("---- %s" % name)
                print("".join(open(os.path.join(directory, name)).readlines()[-20:]))
        raise
    finally:
        for process in STARTED:
            if process.poll() is None:
                process.kill()
                process.wait()
        subprocess.run(["rm", "-rf", directory], check=False)
    print("ok   read-only identities change no drive setting")


if __name__ == "__main__":
    main()
