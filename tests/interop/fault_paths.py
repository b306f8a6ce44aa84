#!/usr/bin/env python3
"""fault_paths.py - every error path of the protocol, through the fault drive.

Each case runs the test server rmtd-fault (stdio, or the TCP daemon, whose drive's
thread serves a session with its device open) with a schedule in RMTD_FAULT that fails one device
call, sends the requests of the case, and checks:
  - the failed request gets E<errno> with the errno the device gave and its text,
    and every other request gets the answer it would get without the fault;
  - the server's log has exactly one line for each failure, naming the device;
  - the medium is consistent: the virtual tape's image reads with `rmt-vtape list`
    and holds exactly the records the case expects (every acknowledged one, whole),
    and a plain file's length is the sum of the acknowledged writes.

Usage: fault_paths.py BUILD_DIR [CASE...]   (every case when none is named)
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rmtclient import (MTBSF, MTBSR, MTEOM, MTFSF, MTFSR, MTNOP, MTOFFL, MTREW,  # noqa: E402
                       MTWEOF, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, Rmt, RmtError,
                       free_port, wait_for_port)

MTRETEN, MTERASE, MTSETBLK = 9, 13, 20
EIO, ENXIO, EACCES, ENOSPC, ESPIPE, EROFS = 5, 6, 13, 28, 29, 30
ENOMEDIUM, EMEDIUMTYPE = 123, 124

BUILD = None
CASES = []


def case(function):
    CASES.append(function)
    return function


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


# ---------------------------------------------------------------- the medium

def tape_records(tape):
    """The records of each file on a virtual tape, from rmt-vtape list (which must read it)."""
    run = subprocess.run([os.path.join(BUILD, "rmtd", "rmt-vtape"), "list", tape],
                         capture_output=True, text=True)
    expect(run.returncode == 0, "rmt-vtape list %s failed: %s" % (tape, run.stderr.strip()))
    files, current = [], None
    for line in run.stdout.splitlines():
        if line.startswith("file "):
            current = []
            files.append(current)
        m = re.match(r"\s+(\d+) x (\d+) bytes", line)
        if m:
            current.extend([int(m.group(2))] * int(m.group(1)))
    return files


def new_tape(directory, name, files=()):
    """A virtual tape holding files (lists of record sizes), written by rmtd without faults."""
    tape = os.path.join(directory, name)
    subprocess.run([os.path.join(BUILD, "rmtd", "rmt-vtape"), "create", tape], check=True,
                   stdout=subprocess.DEVNULL)
    if files:
        rmt = Rmt.spawn([os.path.join(BUILD, "rmtd", "rmtd"), "--stdio", "--allow", directory])
        rmt.open(tape, O_RDWR)
        for records in files:
            for size in records:
                rmt.write(pattern(size))
            rmt.ioctl(MTWEOF, 1)
        rmt.ioctl(MTREW, 1)  # the name is non-rewinding: the cases start at BOT
        rmt.close()
        rmt.close_transport()
    return tape


def pattern(size, seed=0):
    return bytes((i * 7 + seed) & 0xFF for i in range(size))


# ---------------------------------------------------------------- one session

class Session:
    """rmtd-fault in stdio mode with a schedule; every request and reply checked."""

    def __init__(self, directory):
        self.log_path = os.path.join(directory, "server.log")
        self.log = open(self.log_path, "w")
        # the schedule reaches the server through the environment run_stdio set
        self.rmt = Rmt.spawn([os.path.join(BUILD, "rmtd", "rmtd-fault"), "--stdio", "-d", "-v",
                              "--allow", directory], stderr=self.log)
        self.failures = []  # (errno, device) of each request that failed

    def ok(self, request, expected=None):
        """request is a callable on the client; its answer must be expected (if given)."""
        try:
            got = request(self.rmt)
        except RmtError as error:
            raise Failure("unexpected E%d %s" % (error.errno, error.text))
        if expected is not None:
            expect(got == expected, "answer %r, expected %r" % (got, expected))
        return got

    def fails(self, request, errno, device):
        try:
            got = request(self.rmt)
        except RmtError as error:
            expect(error.errno == errno, "E%d %s, expected E%d" % (error.errno, error.text, errno))
            expect(error.text == os.strerror(errno),
                   "E%d text %r, expected %r" % (errno, error.text, os.strerror(errno)))
            self.failures.append((errno, device))
            return
        raise Failure("answer %r, expected E%d" % (got, errno))

    def end(self):
        self.rmt.close_transport()
        self.log.close()
        text = open(self.log_path).read()
        for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            expect(bad not in text, "sanitizer report in the log:\n" + text)
        # One line per failure: the device's name and the error's text on it.
        for errno in sorted({e for e, _ in self.failures}):
            want = [d for e, d in self.failures if e == errno]
            lines = [line for line in text.splitlines()
                     if os.strerror(errno) in line and not line.startswith("rmtd: fault:")]
            expect(len(lines) == len(want),
                   "%d log lines for %s, expected %d:\n%s" % (len(lines), os.strerror(errno),
                                                              len(want), text))
            for line, device in zip(lines, want):
                expect(device in line, "log line %r does not name %s" % (line, device))
        # and each injected fault was logged by the drive (so a schedule that never fired
        # cannot pass as a fault the server handled)
        injected = len(re.findall(r"^rmtd: fault: ", text, re.M))
        expect(injected >= len(self.failures),
               "%d faults injected, %d failures seen:\n%s" % (injected, len(self.failures), text))


def run_stdio(directory, schedule, body):
    os.environ["RMTD_FAULT"] = schedule
    try:
        session = Session(directory)
        body(session)
        session.end()
    finally:
        os.environ.pop("RMTD_FAULT", None)


def raw(data):
    """A request sent as bytes: its reply (an int, or RmtError)."""
    def request(rmt):
        rmt.send(data)
        return rmt.reply()
    return request


def write(size, seed=0):
    return lambda rmt: rmt.write(pattern(size, seed))


def read(size):
    return lambda rmt: len(rmt.read(size))


def opener(path, flags):
    return lambda rmt: rmt.open(path, flags)


def ioctl(op, count=1):
    return lambda rmt: rmt.ioctl(op, count)


def close():
    return lambda rmt: rmt.close()


def status(rmt):
    rmt.send(b"S")
    size = rmt.reply()
    rmt.read_exact(size)
    return size


# ---------------------------------------------------------------- O and C

@case
def open_fails(d):
    tape = new_tape(d, "t.tap", [[100]])
    for errno, name in ((EIO, "EIO"), (ENOMEDIUM, "ENOMEDIUM"), (EROFS, "EROFS")):
        def body(s):
            s.fails(opener(tape, O_RDWR), errno, tape)
            # the next open reaches the tape, which is as it was
            s.ok(opener(tape, O_RDONLY), 0)
            s.ok(read(65536), 100)
            s.ok(ioctl(MTREW), 1)
            s.ok(close(), 0)
        run_stdio(d, "open#1=%s" % name, body)
        expect(tape_records(tape) == [[100]], "open %s changed the tape" % name)
    # a file is not created by an open that failed
    path = os.path.join(d, "never")
    run_stdio(d, "open#1=EACCES", lambda s: s.fails(opener(path, O_WRONLY | O_CREAT), EACCES,
                                                    path))
    expect(not os.path.exists(path), "a failed open created the file")


@case
def open_fails_after_opening(d):
    tape = new_tape(d, "t.tap", [[100]])
    run_stdio(d, "open#1=EMEDIUMTYPE@after", lambda s: (
        s.fails(opener(tape, O_RDWR), EMEDIUMTYPE, tape),
        s.ok(opener(tape, O_RDWR), 0), s.ok(ioctl(MTEOM), 1), s.ok(write(300), 300),
        s.ok(close(), 0)))
    expect(tape_records(tape) == [[100], [300]], "tape %r" % tape_records(tape))


@case
def close_fails(d):
    tape = new_tape(d, "t.tap")

    def body(s):
        s.ok(opener(tape, O_RDWR), 0)
        s.ok(write(100), 100)
        s.ok(write(200), 200)
        s.fails(close(), EIO, tape)
        # the session goes on, and the device was closed: what was acknowledged is there
        s.ok(opener(tape, O_RDONLY), 0)
        s.ok(ioctl(MTREW), 1)
        s.ok(read(65536), 100)
        s.ok(read(65536), 200)
        s.ok(read(65536), 0)
        s.ok(close(), 0)
    run_stdio(d, "close#1=EIO", body)
    expect(tape_records(tape) == [[100, 200]], "tape %r" % tape_records(tape))
    path = os.path.join(d, "file")
    run_stdio(d, "close#1=ENOSPC", lambda s: (
        s.ok(opener(path, O_WRONLY | O_CREAT), 0), s.ok(write(1000), 1000),
        s.fails(close(), ENOSPC, path)))
    expect(os.path.getsize(path) == 1000, "file of %d bytes" % os.path.getsize(path))


# ---------------------------------------------------------------- W and R

@case
def write_fails(d):
    for errno, name in ((EIO, "EIO"), (ENOSPC, "ENOSPC"), (ENXIO, "ENXIO")):
        tape = new_tape(d, "w-%s.tap" % name)

        def body(s):
            s.ok(opener(tape, O_RDWR), 0)
            s.ok(write(100), 100)
            s.fails(write(200, 1), errno, tape)
            s.ok(write(300, 2), 300)
            s.ok(close(), 0)
        run_stdio(d, "write#2=%s" % name, body)
        expect(tape_records(tape) == [[100, 300]], "tape %r" % tape_records(tape))
    path = os.path.join(d, "file")
    run_stdio(d, "write#3=ENOSPC", lambda s: (
        s.ok(opener(path, O_WRONLY | O_CREAT), 0), s.ok(write(10240), 10240),
        s.ok(write(10240), 10240), s.fails(write(10240), ENOSPC, path), s.ok(close(), 0)))
    expect(os.path.getsize(path) == 20480, "file of %d bytes" % os.path.getsize(path))


@case
def write_fails_after_writing(d):
    tape = new_tape(d, "t.tap")
    run_stdio(d, "write#2=EIO@after", lambda s: (
        s.ok(opener(tape, O_RDWR), 0), s.ok(write(100), 100), s.fails(write(200), EIO, tape),
        s.ok(close(), 0)))
    # the acknowledged record is there; the one reported failed is there whole
    expect(tape_records(tape) == [[100, 200]], "tape %r" % tape_records(tape))


@case
def write_short(d):
    tape = new_tape(d, "t.tap")
    run_stdio(d, "write#2=short:64", lambda s: (
        s.ok(opener(tape, O_RDWR), 0), s.ok(write(100), 100), s.ok(write(200), 64),
        s.ok(close(), 0)))
    expect(tape_records(tape) == [[100, 64]], "tape %r" % tape_records(tape))
    path = os.path.join(d, "file")
    run_stdio(d, "write#1=short:1000", lambda s: (
        s.ok(opener(path, O_WRONLY | O_CREAT), 0), s.ok(write(10240), 1000), s.ok(close(), 0)))
    expect(os.path.getsize(path) == 1000, "file of %d bytes" % os.path.getsize(path))


@case
def a_late_device_is_only_late(d):
    tape = new_tape(d, "t.tap")

    def body(s):
        s.ok(opener(tape, O_RDWR), 0)
        started = time.time()
        s.ok(write(100), 100)
        expect(time.time() - started >= 0.3, "the delayed write was not late")
        s.ok(close(), 0)
    run_stdio(d, "write#1=delay:300", body)
    expect(tape_records(tape) == [[100]], "tape %r" % tape_records(tape))


@case
def read_fails(d):
    tape = new_tape(d, "t.tap", [[100, 200, 300]])

    def body(s):
        s.ok(opener(tape, O_RDONLY), 0)
        s.ok(read(65536), 100)
        s.fails(read(65536), EIO, tape)
        # refused before the drive moved: the next read gets the next record
        s.ok(read(65536), 200)
        s.ok(close(), 0)
    run_stdio(d, "read#2=EIO", body)
    expect(tape_records(tape) == [[100, 200, 300]], "tape %r" % tape_records(tape))
    path = os.path.join(d, "file")
    with open(path, "wb") as f:
        f.write(pattern(5000))

    def file_body(s):
        s.ok(opener(path, O_RDONLY), 0)
        got = s.ok(lambda rmt: rmt.read(4096))
        expect(got == pattern(5000)[:10], "short read gave %d bytes" % len(got))
        s.fails(read(4096), EIO, path)
        s.ok(read(8192), 4990)
        s.ok(close(), 0)
    run_stdio(d, "read#1=short:10;read#2=EIO", file_body)


# ---------------------------------------------------------------- I, i, L, S, s

# Native op (after open the tape is at BOT of a two-file tape, the op with a count).
TAPE_OPS = [("MTWEOF", MTWEOF, 1), ("MTFSF", MTFSF, 1), ("MTBSF", MTBSF, 1),
            ("MTFSR", MTFSR, 1), ("MTBSR", MTBSR, 1), ("MTREW", MTREW, 1),
            ("MTOFFL", MTOFFL, 1), ("MTNOP", MTNOP, 1), ("MTEOM", MTEOM, 1),
            ("MTERASE", MTERASE, 1), ("MTRETEN", MTRETEN, 1), ("MTSETBLK", MTSETBLK, 512)]


@case
def tape_operations_fail(d):
    files = [[100, 200], [300]]
    for name, op, count in TAPE_OPS:
        tape = new_tape(d, "%s.tap" % name, files)
        run_stdio(d, "ioctl#1=EIO", lambda s: (
            s.ok(opener(tape, O_RDWR), 0), s.fails(ioctl(op, count), EIO, tape),
            # the tape did not move: the first record is still next
            s.ok(read(65536), 100), s.ok(close(), 0)))
        expect(tape_records(tape) == files, "%s: tape %r" % (name, tape_records(tape)))


@case
def rmt_v1_and_extended_operations_fail(d):
    files = [[100], [200]]
    requests = [("I0 after I-1 (V1 MTWEOF)", b"I-1\n0\n", b"I0\n1\n"),
                ("i2 (MTRETEN)", b"", b"i2\n1\n"), ("i3 (MTERASE)", b"", b"i3\n1\n"),
                ("i4 (MTEOM)", b"", b"i4\n1\n"), ("i1005 (native MTWEOF)", b"", b"i1005\n1\n")]
    for label, prelude, request in requests:
        tape = new_tape(d, "x.tap", files)

        def body(s):
            s.ok(opener(tape, O_RDWR), 0)
            if prelude:
                s.ok(raw(prelude), 1)
            s.fails(raw(request), ENOSPC, tape)
            s.ok(read(65536), 100)
            s.ok(close(), 0)
        run_stdio(d, "ioctl#1=ENOSPC", body)
        expect(tape_records(tape) == files, "%s: tape %r" % (label, tape_records(tape)))
        os.unlink(tape)


@case
def status_fails(d):
    tape = new_tape(d, "t.tap", [[100]])
    letters = "TDERFB"

    def body(s):
        s.ok(opener(tape, O_RDONLY), 0)
        # the open asked the drive for its status once: call 1 succeeded
        s.fails(status, EIO, tape)
        for letter in letters:
            s.fails(raw(b"s" + letter.encode()), EIO, tape)
        s.ok(status, 48)
        s.ok(read(65536), 100)
        s.ok(close(), 0)
    run_stdio(d, "status#2-%d=EIO" % (2 + len(letters)), body)
    expect(tape_records(tape) == [[100]], "tape %r" % tape_records(tape))


@case
def seek_and_qfa_fail(d):
    tape = new_tape(d, "t.tap", [[100, 200]])

    def body(s):
        s.ok(opener(tape, O_RDONLY), 0)
        s.ok(read(65536), 100)
        s.fails(raw(b"L0\n10\n"), EIO, tape)  # DUMP's QFA: MTIOCPOS
        s.ok(raw(b"L0\n10\n"), 1)
        s.fails(raw(b"L0\n11\n"), EMEDIUMTYPE, tape)  # MTSEEK
        s.ok(read(65536), 200)
        s.ok(close(), 0)
    run_stdio(d, "position#1=EIO;locate#1=EMEDIUMTYPE", body)
    expect(tape_records(tape) == [[100, 200]], "tape %r" % tape_records(tape))
    path = os.path.join(d, "file")

    def file_body(s):
        s.ok(opener(path, O_RDWR | O_CREAT), 0)
        s.ok(write(1000), 1000)
        s.fails(raw(b"L0\n0\n"), ESPIPE, path)
        s.ok(write(24), 24)
        s.ok(raw(b"L0\n0\n"), 0)
        s.ok(read(4096), 1024)
        s.ok(close(), 0)
    run_stdio(d, "seek#1=ESPIPE", file_body)
    expect(os.path.getsize(path) == 1024, "file of %d bytes" % os.path.getsize(path))


# ---------------------------------------------------------------- the daemon's thread

@case
def large_records_on_the_drive_thread(d):
    """In the daemon, a session with its device open is served on the drive's thread:
    a failed device call there is answered like any other, at any record size."""
    tape = new_tape(d, "t.tap")
    port = free_port()
    log_path = os.path.join(d, "daemon.log")
    log = open(log_path, "w")
    env = dict(os.environ, RMTD_FAULT="write#2=EIO;read#2=ENXIO")
    daemon = subprocess.Popen([os.path.join(BUILD, "rmtd", "rmtd-fault"), "-d", "--control",
                               "none", "--listen", "127.0.0.1:%d" % port, "--allow", d],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port)
        rmt = Rmt.connect(port)
        big = pattern(1 << 20)
        expect(rmt.open(tape, O_RDWR) == 0, "open")
        expect(rmt.write(big) == len(big), "first record")
        try:
            rmt.write(big)
            raise Failure("the second record was acknowledged")
        except RmtError as error:
            expect(error.errno == EIO and error.text == os.strerror(EIO), str(error))
        expect(rmt.write(big[:70000]) == 70000, "third record")
        expect(rmt.ioctl(MTREW, 1) == 1, "rewind")
        expect(rmt.read(1 << 20) == big, "first record read back")
        try:
            rmt.read(1 << 20)
            raise Failure("the failed read returned data")
        except RmtError as error:
            expect(error.errno == ENXIO, str(error))
        expect(rmt.read(1 << 20) == big[:70000], "third record read back")
        expect(rmt.close() == 0, "close")
        rmt.close_transport()
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
        log.close()
    text = open(log_path).read()
    for errno in (EIO, ENXIO):
        lines = [line for line in text.splitlines() if os.strerror(errno) in line]
        expect(len(lines) == 1 and tape in lines[0],
               "log lines for %s: %r" % (os.strerror(errno), lines))
    expect(tape_records(tape) == [[1 << 20, 70000]], "tape %r" % tape_records(tape))


def control(path, line):
    """One request on rmtd's control socket; the whole reply."""
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)
    sock.sendall(line.encode() + b"\n")
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    return data.decode()


def expect_killed_while_stuck(stuck, socket_path, session_id, log_path):
    """rmtctl kill of a session whose write never returns: its client gets E125 and is
    let go within the grace (1 s) and a second, and the drive is named abandoned."""
    began = time.time()
    expect(control(socket_path, "kill " + session_id).startswith("OK "), "kill accepted")
    stuck.sock.settimeout(10)
    try:
        stuck.reply()
        raise Failure("the stuck record was acknowledged")
    except RmtError as error:
        expect(error.errno == 125 and "aborted by the operator" in error.text, str(error))
    try:
        line = stuck.read_line()
        raise Failure("the stuck session went on: %r" % line)
    except (EOFError, OSError):
        pass
    took = time.time() - began
    expect(took < 4, "the client was let go %.1f s after the kill (grace 1 s)" % took)
    expect("abandoned" in open(log_path).read(), "the drive is named abandoned")


@case
def kill_and_sigterm_reach_a_drive_thread_stuck_in_a_write(d):
    """A session is served on its drive's thread while its device is open. When the
    device call there never returns, rmtctl kill still lets the client go within the
    stop grace (its drive named abandoned), other drives go on, and SIGTERM ends
    rmtd within twice the grace."""
    stuck_file = os.path.join(d, "stuck.dat")
    other_file = os.path.join(d, "other.dat")
    socket_path = os.path.join(d, "control")
    port = free_port()
    log_path = os.path.join(d, "daemon.log")
    log = open(log_path, "w")
    env = dict(os.environ, RMTD_FAULT="write#2=hang")
    daemon = subprocess.Popen([os.path.join(BUILD, "rmtd", "rmtd-fault"), "-d", "-v",
                               "--control", socket_path, "--stop-grace", "1",
                               "--listen", "127.0.0.1:%d" % port, "--allow", d],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port)
        stuck = Rmt.connect(port)
        expect(stuck.open(stuck_file, O_RDWR | O_CREAT) == 0, "open")
        expect(stuck.write(pattern(10240)) == 10240, "first record")
        stuck.send(b"W10240\n" + pattern(10240, 1))  # its write never returns
        time.sleep(0.3)
        ids = re.findall(r"session (\d+): open %s" % re.escape(stuck_file),
                         open(log_path).read())
        expect(len(ids) == 1, "the stuck session's id in the log")
        other = Rmt.connect(port)
        expect(other.open(other_file, O_RDWR | O_CREAT) == 0, "another drive opens")
        expect(other.write(pattern(100)) == 100, "and writes while one hangs")
        expect_killed_while_stuck(stuck, socket_path, ids[0], log_path)
        expect(other.write(pattern(100)) == 100, "the other drive still writes")
        began = time.time()
        daemon.terminate()
        code = daemon.wait(timeout=10)
        took = time.time() - began
        expect(code == 0 and took < 4, "SIGTERM: exit %s after %.1f s" % (code, took))
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
    expect(os.path.getsize(stuck_file) == 10240, "only the acknowledged record")


def make_tls_files(d):
    """A CA, a server certificate for 127.0.0.1 and a client's; the paths by name."""
    def openssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *key, "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.crt")
    with open(os.path.join(d, "san.ext"), "w") as ext:
        ext.write("subjectAltName=IP:127.0.0.1\n")
    for who in ("server", "client"):
        openssl("req", *key, "-subj", "/CN=" + who, "-keyout", who + ".key", "-out", who + ".csr")
        openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", who + ".crt",
                *(["-extfile", "san.ext"] if who == "server" else []))
    return {name: os.path.join(d, name) for name in
            ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")}


@case
def kill_reaches_a_tls_session_stuck_on_its_drive_thread(d):
    """A TLS session goes to its drive's thread with its SSL object. When the device
    call there never returns, rmtctl kill lets the client go within the stop grace:
    the loop takes the SSL object (the thread is in no SSL call) for a last E125 of
    its own record, and the drive is named abandoned."""
    import ssl
    files = make_tls_files(d)
    stuck_file = os.path.join(d, "stuck.dat")
    socket_path = os.path.join(d, "control")
    port = free_port()
    conf = os.path.join(d, "rmtd.conf")
    with open(conf, "w") as out:
        out.write("listen 127.0.0.1:%d tls\n" % port)
        out.write("tls certificate %s\ntls key %s\ntls ca %s\n"
                  % (files["server.crt"], files["server.key"], files["ca.crt"]))
    os.chmod(conf, 0o600)
    log_path = os.path.join(d, "daemon.log")
    log = open(log_path, "w")
    env = dict(os.environ, RMTD_FAULT="write#2=hang")
    daemon = subprocess.Popen([os.path.join(BUILD, "rmtd", "rmtd-fault"), "-d", "-vv", "-f", conf,
                               "--allow", d, "--control", socket_path, "--stop-grace", "1"],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port)
        context = ssl.create_default_context(cafile=files["ca.crt"])
        context.load_cert_chain(files["client.crt"], files["client.key"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        stuck = Rmt(context.wrap_socket(raw, server_hostname="127.0.0.1"))
        expect(stuck.open(stuck_file, O_RDWR | O_CREAT) == 0, "open")
        expect(stuck.write(pattern(10240)) == 10240, "first record")
        stuck.send(b"W10240\n" + pattern(10240, 1))  # its write never returns
        time.sleep(0.3)
        text = open(log_path).read()
        ids = re.findall(r"session (\d+): open %s" % re.escape(stuck_file), text)
        expect(len(ids) == 1, "the stuck session's id in the log")
        expect("session %s: served on the thread of %s" % (ids[0], stuck_file) in text,
               "the TLS session is served on its drive's thread")
        expect_killed_while_stuck(stuck, socket_path, ids[0], log_path)
        began = time.time()
        daemon.terminate()
        code = daemon.wait(timeout=10)
        took = time.time() - began
        expect(code == 0 and took < 4, "SIGTERM: exit %s after %.1f s" % (code, took))
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
    expect(os.path.getsize(stuck_file) == 10240, "only the acknowledged record")


@case
def a_bad_schedule_stops_the_server(d):
    run = subprocess.run([os.path.join(BUILD, "rmtd", "rmtd-fault"), "--stdio"],
                         input=b"", capture_output=True,
                         env=dict(os.environ, RMTD_FAULT="write#0=EIO"))
    expect(run.returncode == 2 and b"RMTD_FAULT: rule 1" in run.stderr,
           "exit %d, stderr %r" % (run.returncode, run.stderr))


def main():
    global BUILD
    BUILD = os.path.abspath(sys.argv[1])
    wanted = sys.argv[2:]
    failed = 0
    for function in CASES:
        if wanted and function.__name__ not in wanted:
            continue
        directory = os.path.realpath(tempfile.mkdtemp(prefix="rmtd-fault-"))
        started = time.time()
        try:
            function(directory)
            print("[fault-paths] %s ... ok (%.1f s)" % (function.__name__, time.time() - started))
        except Exception as error:  # noqa: BLE001 - every failure is reported the same way
            failed += 1
            print("[fault-paths] %s ... FAIL: %s: %s" % (function.__name__,
                                                         type(error).__name__, error))
        finally:
            if os.environ.get("RMTD_KEEP_TMP"):
                print("[fault-paths] kept %s" % directory)
            else:
                shutil.rmtree(directory, ignore_errors=True)
    print("[fault-paths] %s" % ("FAIL (%d)" % failed if failed else "PASS"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
