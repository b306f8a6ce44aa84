#!/usr/bin/env python3
"""daemon_tests.py - the TCP daemon end to end: concurrency, drive queues, a hung
drive, SIGTERM, killed clients, connection limits, operator commands and a virtual
library's changer among pipelined requests, inetd and socket activation.

Usage: daemon_tests.py RMTD_BINARY [TEST...]   (every test when none is named)
"""
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rmtclient import (MTEOM, MTREW, MTWEOF, O_CREAT, O_RDONLY, O_RDWR, O_WRONLY, Rmt,  # noqa: E402
                       RmtError, free_port, wait_for_port)

RMTD = None
TESTS = []


def test(function):
    TESTS.append(function)
    return function


STARTED = []  # every rmtd a test started, killed when the test ends however it ends


class Daemon:
    def __init__(self, directory, *options, env=None):
        self.port = free_port()
        self.log = open(os.path.join(directory, "rmtd-%d.log" % self.port), "w")
        # No control socket: the default one may be another test's daemon's.
        argv = [RMTD, "-d", "-v", "--control", "none", "--listen", "127.0.0.1:%d" % self.port,
                "--allow", directory] + list(options)
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        STARTED.append(self.process)
        # Wait for the log line rather than connecting: a probe would use up a session.
        deadline = time.time() + 10
        while "listening on" not in open(self.log.name).read():
            assert time.time() < deadline and self.process.poll() is None, "rmtd did not start"
            time.sleep(0.02)

    def connect(self, timeout=30):
        return Rmt.connect(self.port, timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.log.close()
        return code

    def alive(self):
        return self.process.poll() is None


def record(client, number, size=10240):
    head = b"client %d record %d " % (client, number)
    return (head * (size // len(head) + 1))[:size]


@test
def concurrent_clients_on_eight_drives(directory):
    """64 clients on 8 virtual drives, each writing and verifying its own archive."""
    daemon = Daemon(directory, "--drive-wait", "120")
    errors = []

    def client(number):
        try:
            tape = "%s/drive%d.tap" % (directory, number % 8)
            rmt = daemon.connect(timeout=120)
            rmt.open(tape, O_RDWR | O_CREAT)
            rmt.ioctl(MTEOM)
            start = rmt.tell()
            for i in range(20):
                assert rmt.write(record(number, i)) == 10240
            rmt.ioctl(MTWEOF)
            assert rmt.locate(start) == start
            for i in range(20):
                assert rmt.read(65536) == record(number, i), "record %d differs" % i
            assert rmt.read(65536) == b"", "the archive ends with its filemark"
            rmt.close()
            rmt.close_transport()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append("client %d: %r" % (number, error))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert daemon.alive(), "rmtd died"
    assert not errors, "\n".join(errors)
    # Each tape holds 8 archives of 20 records: count them with a fresh session.
    rmt = daemon.connect()
    for drive in range(8):
        rmt.open("%s/drive%d.tap" % (directory, drive), O_RDONLY)
        rmt.ioctl(MTREW)
        files = 0
        while True:
            records = 0
            while rmt.read(65536):
                records += 1
            if records == 0:
                break
            assert records == 20, "drive %d file %d has %d records" % (drive, files, records)
            files += 1
        assert files == 8, "drive %d holds %d archives" % (drive, files)
        rmt.close()
    assert daemon.stop() == 0


@test
def waiting_sessions_queue_in_order_and_time_out(directory):
    daemon = Daemon(directory, "--drive-wait", "3")
    tape = directory + "/queued.tap"
    holder = daemon.connect()
    holder.open(tape, O_RDWR | O_CREAT)
    order = []

    def waiter(name, delay):
        time.sleep(delay)
        rmt = daemon.connect()
        rmt.open(tape, O_RDWR)
        order.append(name)
        time.sleep(0.2)
        rmt.close()
        rmt.close_transport()

    first = threading.Thread(target=waiter, args=("first", 0.1))
    second = threading.Thread(target=waiter, args=("second", 0.4))
    first.start()
    second.start()
    time.sleep(1)
    assert order == [], "nobody gets a held drive"
    holder.close()
    first.join(10)
    second.join(10)
    assert order == ["first", "second"], order
    holder.open(tape, O_RDWR)
    late = daemon.connect()
    began = time.time()
    try:
        late.open(tape, O_RDWR)
        raise AssertionError("a held drive was opened twice")
    except RmtError as error:
        waited = time.time() - began
        assert error.errno == 16, error
        assert 2.5 <= waited <= 10, "gave up after %.1f s, configured 3" % waited
    holder.close()
    late.open(tape, O_RDWR)  # the late session goes on and can try again
    late.close()
    assert daemon.stop() == 0
    daemon_now = Daemon(directory, "--drive-wait", "0")
    a = daemon_now.connect()
    a.open(tape, O_RDWR)
    b = daemon_now.connect()
    began = time.time()
    try:
        b.open(tape, O_RDWR)
        raise AssertionError("opened a held drive")
    except RmtError as error:
        assert error.errno == 16 and time.time() - began < 1, "EBUSY at once when so configured"
    assert daemon_now.stop() == 0


@test
def a_hung_drive_does_not_slow_the_others(directory):
    """open(2) of a FIFO with no reader blocks its worker for as long as we like."""
    fifo = directory + "/hung"
    os.mkfifo(fifo)
    daemon = Daemon(directory, "--drive", "hung=" + fifo)  # a FIFO only as a declared drive

    def latencies(rmt, count=300):
        samples = []
        for _ in range(count):
            began = time.perf_counter()
            rmt.version()
            samples.append(time.perf_counter() - began)
        samples.sort()
        return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]

    other = daemon.connect()
    other.open(directory + "/other.dat", O_RDWR | O_CREAT)
    base_median, base_p99 = latencies(other)
    hung = daemon.connect()
    hung.send(b"Ohung\n1 O_WRONLY\n")
    time.sleep(0.3)
    median, p99 = latencies(other)
    # Device calls on the other drive too, and new connections, while one is hung.
    for i in range(50):
        assert other.write(record(1, i)) == 10240
    fresh = daemon.connect()
    assert fresh.version() == 2
    print("    round trip: median %.0f us, p99 %.0f us; with a hung drive %.0f us, %.0f us"
          % (base_median * 1e6, base_p99 * 1e6, median * 1e6, p99 * 1e6))
    # A blocked loop would stop every answer; "within a few ms" is judged on the median,
    # the tail only loosely, since other tests share the machine.
    assert median < base_median + 0.003, "the loop was slowed: median %.0f us" % (median * 1e6)
    assert p99 < base_p99 + 0.050, "the loop stalled: p99 %.0f us" % (p99 * 1e6)
    # Unblock the hung open: it completes and is answered.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    assert hung.reply() == 0
    os.close(reader)
    assert daemon.stop() == 0


@test
def sigterm_finishes_records_and_writes_filemarks(directory):
    daemon = Daemon(directory)
    acknowledged = {}
    stop = threading.Event()

    def writer(number):
        rmt = daemon.connect()
        rmt.open("%s/term%d.tap" % (directory, number), O_RDWR | O_CREAT)
        count = 0
        try:
            while not stop.is_set():
                assert rmt.write(record(number, count)) == 10240
                count += 1
        except (EOFError, OSError, RmtError):
            pass
        acknowledged[number] = count

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1)
    code = daemon.stop(signal.SIGTERM, timeout=30)
    stop.set()
    for t in threads:
        t.join(30)
    assert code == 0, "SIGTERM exits 0, got %s" % code
    reader = Daemon(directory)
    rmt = reader.connect()
    for number, count in acknowledged.items():
        assert count > 0
        rmt.open("%s/term%d.tap" % (directory, number), O_RDONLY)
        rmt.ioctl(MTREW)
        got = 0
        while True:
            data = rmt.read(65536)
            if not data:
                break
            assert data == record(number, got), "record %d of writer %d" % (got, number)
            got += 1
        assert got >= count, "writer %d: %d acknowledged, %d on tape" % (number, count, got)
        assert got <= count + 1, "at most the record in flight beyond the acknowledged ones"
        # The loop ended at the filemark close wrote. After it, as st does at end of data
        # right after a filemark: one more 0, then EIO.
        assert rmt.read(65536) == b"", "end of data after the filemark reads 0 once"
        try:
            rmt.read(65536)
            raise AssertionError("expected EIO at end of data")
        except RmtError as error:
            assert error.errno == 5, error
        rmt.close()
    assert reader.stop() == 0


@test
def a_client_killed_mid_record_loses_that_record_only(directory):
    daemon = Daemon(directory)
    tape = directory + "/killed.tap"
    rmt = daemon.connect()
    rmt.open(tape, O_RDWR | O_CREAT)
    for i in range(3):
        assert rmt.write(record(7, i)) == 10240
    rmt.send(b"W10240\n" + record(7, 3)[:5000])
    time.sleep(0.2)
    rmt.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    rmt.sock.close()  # a reset, as when the client is killed
    time.sleep(0.5)
    assert daemon.alive()
    reader = daemon.connect()
    reader.open(tape, O_RDONLY)  # the drive was released
    reader.ioctl(MTREW)
    for i in range(3):
        assert reader.read(65536) == record(7, i)
    assert reader.read(65536) == b"", "then the filemark written at close"
    reader.close()
    assert daemon.stop() == 0


def small_window_reader(daemon, path):
    """A client that has path open for reading on a socket with a 16 KiB receive buffer,
    set before it connects: a large R reply does not fit at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.connect(("127.0.0.1", daemon.port))
    reader = Rmt(sock)
    reader.open(path, O_RDONLY)
    return reader


@test
def a_slow_reader_of_large_records_gets_every_byte(directory):
    # A 1 MiB R reply does not fit the socket at once; the rest goes out from the drive's
    # record buffer. Requests sent ahead must not overwrite it before it is all sent.
    # From a file the record is spliced after its header; from a virtual tape it is
    # written from memory, with the V's answer before it: three pieces, many writes.
    daemon = Daemon(directory)
    size = 1 << 20
    for path in (directory + "/large.tap.rewind", directory + "/large.img"):
        writer = daemon.connect()
        writer.open(path, O_WRONLY | O_CREAT)
        for i in range(8):
            assert writer.write(record(9, i, size)) == size
        writer.close()

        reader = small_window_reader(daemon, path)
        # All eight at once, more than the socket buffers hold, then read slowly; each V
        # is answered together with the R after it.
        reader.send((b"V\nR%d\n" % size) * 8)
        for i in range(8):
            assert reader.reply() == 2
            assert reader.reply() == size
            got = b""
            while len(got) < size:
                time.sleep(0.001)
                got += reader.read_exact(min(65536, size - len(got)))
            assert got == record(9, i, size), "record %d of %s came back corrupted" % (i, path)
        reader.close()

    path = directory + "/large.img"
    # A client that goes away with most of a record unsent: the daemon lives on.
    quitter = daemon.connect()
    quitter.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    quitter.open(path, O_RDONLY)
    quitter.send(b"R%d\n" % size)
    assert quitter.reply() == size
    quitter.read_exact(1000)
    quitter.sock.close()
    again = daemon.connect()
    again.open(path, O_RDONLY)
    assert again.read(size) == record(9, 0, size)
    again.close()
    assert daemon.stop() == 0


@test
def a_large_reply_still_going_out_when_the_session_ends_is_whole_or_cut(directory):
    # The idle timeout ends a session whose large R reply has not gone out (the client
    # reads nothing meanwhile). The record's memory is the session's and is given back
    # with it, so what has not reached the socket is dropped and the connection cut;
    # what the client gets is the record's true beginning (or all of it), never data
    # another session put in a buffer since.
    daemon = Daemon(directory, "--idle-timeout", "1")
    path = directory + "/whole.img"
    size = 4 << 20
    writer = daemon.connect()
    writer.open(path, O_WRONLY | O_CREAT)
    assert writer.write(record(8, 0, size)) == size
    writer.close()
    writer.close_transport()
    reader = small_window_reader(daemon, path)
    reader.send(b"R%d\n" % size)
    deadline = time.time() + 10
    while "session 2: ended (idle timeout)" not in log_of(daemon):
        assert time.time() < deadline, "the idle timeout did not end the session"
        time.sleep(0.1)
    # Another session takes a drive and fills a record buffer meanwhile.
    other = daemon.connect()
    other.open(directory + "/other.img", O_RDWR | O_CREAT)
    assert other.write(b"z" * size) == size
    received = b""
    reader.sock.settimeout(10)
    while True:
        chunk = reader.sock.recv(1 << 20)
        if not chunk:
            break
        received += chunk
    header = b"A%d\n" % size
    expected = header + record(8, 0, size)
    assert received == expected[: len(received)], "the reply changed under way"
    assert daemon.alive()
    assert daemon.stop() == 0


def tape_records(daemon, tape):
    """Every record of the first file of tape, then check the filemark ends it."""
    reader = daemon.connect()
    reader.open(tape, O_RDONLY)
    reader.ioctl(MTREW)
    records = []
    while True:
        data = reader.read(1 << 20)
        if not data:
            break
        records.append(data)
    reader.close()
    return records


@test
def large_records_cut_stalled_or_finished_at_sigterm(directory):
    # A session with its device open is served by the drive's thread (rmtd/serve.c):
    # the same rules hold there as on the loop.
    size = 256 * 1024
    daemon = Daemon(directory, "--request-timeout", "2")

    # A client killed mid-record loses that record only.
    cut = directory + "/cut.tap"
    rmt = daemon.connect()
    rmt.open(cut, O_RDWR | O_CREAT)
    for i in range(3):
        assert rmt.write(record(5, i, size)) == size
    rmt.send(b"W%d\n" % size + record(5, 3, size)[:100000])
    time.sleep(0.2)
    rmt.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    rmt.sock.close()
    time.sleep(0.3)
    assert tape_records(daemon, cut) == [record(5, i, size) for i in range(3)]

    # A record that stops arriving: closed at the request timeout, the loop never waits.
    stalled = directory + "/stalled.tap"
    rmt = daemon.connect()
    rmt.open(stalled, O_RDWR | O_CREAT)
    assert rmt.write(record(6, 0, size)) == size
    rmt.send(b"W%d\n" % size + record(6, 1, size)[:size // 2])
    began = time.time()
    other = daemon.connect()
    while time.time() - began < 1.5:
        assert other.version() == 2  # answered while the drive's thread waits
    try:
        rmt.read_line()
        raise AssertionError("a stalled record got an answer")
    except (EOFError, OSError):
        pass
    assert time.time() - began < 8, "closed by the request timeout"
    assert tape_records(daemon, stalled) == [record(6, 0, size)]

    # SIGTERM while a record is half sent: it is finished, answered and kept.
    finished = directory + "/finished.tap"
    rmt = daemon.connect()
    rmt.open(finished, O_RDWR | O_CREAT)
    assert rmt.write(record(7, 0, size)) == size
    rmt.send(b"W%d\n" % size + record(7, 1, size)[:1000])
    time.sleep(0.2)
    daemon.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert daemon.alive(), "the record in flight is waited for"
    rmt.send(record(7, 1, size)[1000:])
    assert rmt.reply() == size
    assert daemon.stop(timeout=30) == 0
    reader = Daemon(directory)
    assert tape_records(reader, finished) == [record(7, i, size) for i in range(2)]
    assert reader.stop() == 0


def expect_rmt_error(action, errno, text=None):
    try:
        action()
    except RmtError as error:
        assert error.errno == errno, "got %s, expected E%d" % (error, errno)
        assert text is None or text in error.text, "reason %r lacks %r" % (error.text, text)
        return error
    raise AssertionError("expected E%d, the request succeeded" % errno)


def expect_closed(rmt):
    try:
        rmt.read_line()
        raise AssertionError("the connection stayed open")
    except (EOFError, OSError):
        pass


def log_of(daemon):
    return open(daemon.log.name).read()


def control(path, line):
    """One request on rmtd's control socket; the whole reply."""
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


@test
def sigterm_ends_a_stuck_open_after_the_grace(directory):
    """open(2) of a FIFO with no reader never returns: SIGTERM still ends rmtd."""
    fifo = directory + "/stuck"
    os.mkfifo(fifo)
    daemon = Daemon(directory, "--stop-grace", "1", "--drive", "stuck=" + fifo)
    idle = daemon.connect()
    assert idle.version() == 2
    stuck = daemon.connect()
    stuck.send(b"Ostuck\n1 O_WRONLY\n")
    time.sleep(0.3)
    began = time.time()
    daemon.process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    # Between requests the client reads why as the answer to its next request.
    expect_rmt_error(idle.version, 108, "rmtd shutting down")
    expect_closed(idle)
    # The open is answered once the grace is over; the call itself is left behind.
    expect_rmt_error(stuck.reply, 108, "rmtd shutting down")
    code = daemon.process.wait(timeout=10)
    took = time.time() - began
    daemon.log.close()
    assert code == 0, "SIGTERM exits 0, got %s" % code
    assert took < 4, "exited %.1f s after SIGTERM, the grace is 1 s (twice for devices)" % took
    assert "drive %s abandoned" % fifo in log_of(daemon), log_of(daemon)[-800:]


@test
def a_state_directory_that_turns_read_only_costs_log_lines_not_tapes(directory):
    """Counters and catalogs that cannot be saved are logged, one line each naming the
    drive and the reason; the tape and its sessions do not notice."""
    state = directory + "/state"
    os.mkdir(state)
    daemon = Daemon(directory, "--state-dir", state)
    tape = directory + "/kept.tap"
    rmt = daemon.connect()
    rmt.open(tape, O_RDWR | O_CREAT)
    assert rmt.write(record(3, 0)) == 10240
    rmt.close()
    subprocess.run(["chmod", "-R", "a-w", state], check=True)
    try:
        rmt.open(tape, O_RDWR)
        assert rmt.write(record(3, 1)) == 10240
        assert rmt.close() == 0, "the close reports the tape, not the state files"
        deadline = time.time() + 10
        while "cannot save the catalog of cartridge" not in log_of(daemon):
            assert time.time() < deadline, log_of(daemon)[-1500:]
            time.sleep(0.05)
        log = log_of(daemon)
        for what in ("the drive's counters in %s: Permission denied" % state,
                     "the counters of cartridge %s in %s: Permission denied" % (tape, state),
                     "the catalog of cartridge %s in %s: Permission denied" % (tape, state)):
            assert "%s: cannot save %s" % (tape, what) in log, log[-1500:]
        assert "saving drive counters" not in log, "two lines for one failure"
    finally:
        subprocess.run(["chmod", "-R", "u+w", state], check=True)
    listing = subprocess.run([os.path.join(os.path.dirname(RMTD), "rmt-vtape"), "list", tape],
                             capture_output=True, text=True).stdout
    assert "file 0: 1 record," in listing and "file 1: 1 record," in listing, listing
    assert daemon.stop() == 0


@test
def sigterm_answers_a_client_waiting_for_a_drive(directory):
    """A client queued for a drive hears why, in reply to its open, and the holder's
    records are on the tape; rmtd exits 0."""
    daemon = Daemon(directory, "--drive-wait", "60")
    tape = directory + "/queued.tap"
    holder = daemon.connect()
    holder.open(tape, O_RDWR | O_CREAT)
    assert holder.write(record(2, 0)) == 10240
    waiter = daemon.connect()
    waiter.send(b"O%s\n2 O_RDWR\n" % tape.encode())
    deadline = time.time() + 10
    while "waiting for drive %s" % tape not in log_of(daemon):
        assert time.time() < deadline, "the second open did not wait for the drive"
        time.sleep(0.05)
    daemon.process.send_signal(signal.SIGTERM)
    expect_rmt_error(waiter.reply, 108, "rmtd shutting down")
    # A request that crosses the signal may still be served; one after the holder's
    # drive thread has looked up (a read slice, 100 ms) is answered with why.
    time.sleep(0.5)
    expect_rmt_error(lambda: holder.write(record(2, 1)), 108, "rmtd shutting down")
    assert daemon.process.wait(timeout=10) == 0, "SIGTERM exits 0"
    daemon.log.close()
    reader = Daemon(directory)
    assert tape_records(reader, tape) == [record(2, 0)], "the holder's record, then the filemark"
    assert reader.stop() == 0


@test
def sigterm_drops_stalled_records_after_the_grace(directory):
    """A half-sent record holds SIGTERM up for the grace, not the request timeout."""
    daemon = Daemon(directory, "--stop-grace", "1", "--request-timeout", "120")
    clients = []
    for name, size in (("thread", 256 * 1024), ("loop", 10240)):
        tape = "%s/%s.tap" % (directory, name)
        rmt = daemon.connect()
        rmt.open(tape, O_RDWR | O_CREAT)
        assert rmt.write(record(1, 0, size)) == size
        rmt.send(b"W%d\n" % size + record(1, 1, size)[:size // 3])
        clients.append((rmt, tape, size))
    time.sleep(0.3)
    began = time.time()
    daemon.process.send_signal(signal.SIGTERM)
    for rmt, tape, size in clients:
        expect_rmt_error(rmt.reply, 108, "rmtd shutting down")
    code = daemon.process.wait(timeout=10)
    took = time.time() - began
    daemon.log.close()
    assert code == 0 and took < 4, "exit %s after %.1f s" % (code, took)
    reader = Daemon(directory)
    for rmt, tape, size in clients:
        assert tape_records(reader, tape) == [record(1, 0, size)], \
            "%s: the whole record only, then the filemark" % tape
    assert reader.stop() == 0


@test
def kill_ends_a_session_stuck_in_open(directory):
    fifo = directory + "/stuck"
    os.mkfifo(fifo)
    socket_path = directory + "/control"
    daemon = Daemon(directory, "--stop-grace", "1", "--control", socket_path,
                    "--drive", "stuck=" + fifo)
    stuck = daemon.connect(timeout=10)
    stuck.send(b"Ostuck\n1 O_WRONLY\n")
    time.sleep(0.3)
    assert control(socket_path, "kill 1").startswith("OK "), "kill accepted"
    began = time.time()
    expect_rmt_error(stuck.reply, 125, "aborted by the operator")
    expect_closed(stuck)
    assert time.time() - began < 4, "ended within the grace"
    log = log_of(daemon)
    assert "session 1: drive %s abandoned: its open has not returned" % fifo in log, log[-800:]
    drives = control(socket_path, "drives")
    assert "abandoned to a device call that has not returned" in drives, drives
    # The daemon goes on; once the call returns, the drive is given back.
    other = daemon.connect()
    other.open(directory + "/other.dat", O_RDWR | O_CREAT)
    assert other.write(b"x" * 100) == 100
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    deadline = time.time() + 5
    while "returned; the drive is free again" not in log_of(daemon):
        assert time.time() < deadline, "the abandoned call's return was not handled"
        time.sleep(0.05)
    os.close(reader)
    drives = control(socket_path, "drives")
    assert "abandoned" not in drives, drives
    assert daemon.stop(timeout=10) == 0


@test
def hold_timeout_takes_an_idle_drive_back(directory):
    daemon = Daemon(directory, "--hold-timeout", "2", "--drive-wait", "20")
    tape = directory + "/held.tap"
    holder = daemon.connect()
    holder.open(tape, O_RDWR | O_CREAT)
    for i in range(3):
        assert holder.write(record(3, i)) == 10240
    began = time.time()
    waiter = daemon.connect()
    assert waiter.open(tape, O_RDONLY) == 0  # queued until the holder's drive is taken back
    waited = time.time() - began
    assert 1.5 < waited < 5, "the idle holder kept the drive %.1f s" % waited
    # The holder learns why on its next request; its records and filemark are there.
    expect_rmt_error(lambda: holder.write(record(3, 3)), 110, "taken back")
    waiter.ioctl(MTREW)
    for i in range(3):
        assert waiter.read(65536) == record(3, i)
    assert waiter.read(65536) == b"", "closing the taken drive wrote the filemark"
    waiter.close()
    assert "idle for" in log_of(daemon) and "taking the drive back" in log_of(daemon)
    # A session that is busy is never idle: a steady writer keeps its drive.
    holder.open(tape, O_RDWR)
    holder.ioctl(MTEOM)
    for i in range(30):
        assert holder.write(record(4, i)) == 10240
        time.sleep(0.1)
    holder.close()
    assert daemon.stop() == 0


@test
def rmtctl_release_takes_a_drive_back(directory):
    socket_path = directory + "/control"
    rmtctl = os.path.join(os.path.dirname(RMTD), "rmtctl")
    daemon = Daemon(directory, "--control", socket_path, "--drive-wait", "0")
    tape = directory + "/released.tap"
    holder = daemon.connect()
    holder.open(tape, O_RDWR | O_CREAT)
    for i in range(2):
        assert holder.write(record(5, i)) == 10240
    done = subprocess.run([rmtctl, "-s", socket_path, "release", tape], capture_output=True,
                          text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    assert "taken back from session 1" in done.stdout, done.stdout
    # rmtctl answers once the take-back has begun (rmtctl(8)); the drive is free once the
    # device is closed, which writes a filemark and syncs the tape's disk. With other tests
    # writing beside it, that took more than the 0.2 s this test once slept: wait for it.
    other = daemon.connect()
    deadline = time.time() + 10
    while True:
        try:
            assert other.open(tape, O_RDONLY) == 0
            break
        except RmtError as error:
            assert error.errno == 16 and time.time() < deadline, "not free in 10 s: %s" % error
            time.sleep(0.05)
    other.ioctl(MTREW)
    assert [other.read(65536) for _ in range(3)] == [record(5, 0), record(5, 1), b""]
    other.close()
    expect_rmt_error(lambda: holder.write(record(5, 2)), 125, "taken back by the operator")
    assert holder.version() == 2, "the session itself lives on"
    # The C is answered on the drive's thread before the loop has the drive back: until then
    # a release still finds session 2 holding it. Once status shows no holder (the drive, made
    # for this path alone, is gone from it), none does.
    deadline = time.time() + 10
    while True:
        status = subprocess.run([rmtctl, "-s", socket_path, "status"], capture_output=True,
                                text=True, timeout=10).stdout
        if "Drive %s (vtape): session" % tape not in status:
            break
        assert time.time() < deadline, "not idle in 10 s:\n" + status
        time.sleep(0.05)
    done = subprocess.run([rmtctl, "-s", socket_path, "release", tape], capture_output=True,
                          text=True, timeout=10)
    assert done.returncode == 1 and "nobody holds" in done.stderr, done
    done = subprocess.run([rmtctl, "-s", socket_path, "release", directory + "/never.tap"],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 1 and "no such drive" in done.stderr, done
    assert "control: drive %s taken back from session 1" % tape in log_of(daemon)
    assert daemon.stop() == 0


def random_request(rng, names):
    """One random request for the stall test: its bytes, and whether its reply carries data."""
    kind = rng.randrange(10)
    name = rng.choice(names).encode()
    if kind == 0:
        return b"O%s\n%d\n" % (name, O_RDWR | O_CREAT), False
    if kind == 1:
        return b"C\n", False
    if kind in (2, 3, 4):
        size = rng.choice([1, 100, 10240, 70000])
        return b"W%d\n" % size + bytes([rng.randrange(256)]) * size, False
    if kind == 5:
        return b"R%d\n" % rng.choice([10, 10240, 70000]), True
    if kind == 6:
        return b"I%d\n%d\n" % (rng.choice([0, 1, 2, 3, 4, 5]), rng.choice([1, 2])), False
    if kind == 7:
        return b"I-1\n0\n", False
    if kind == 8:
        return b"L0\n%d\n" % rng.choice([0, 1, 2]), False
    return b"S", True


def answers_to(rmt, batches):
    """Send each batch of requests at once and read its answers: each answer's bytes."""
    answers = []
    for batch in batches:
        rmt.send(b"".join(request for request, _ in batch))
        for _, with_data in batch:
            line = rmt.read_line()
            answer = line + b"\n"
            if line.startswith(b"A") and with_data:
                answer += rmt.read_exact(int(line[1:]))
            elif line.startswith((b"E", b"F")):
                answer += rmt.read_line() + b"\n"
            answers.append(answer)
    return answers


@test
def pipelined_requests_get_the_answers_they_get_one_at_a_time(directory):
    # A pipelining client's short answers are held and leave together (doc/ARCHITECTURE.md,
    # "Answers to a pipelining client"). The same random requests, sent in batches of up to
    # fifteen and one at a time, each to a fresh server on fresh tapes and a file, get the
    # same answers byte for byte, on a drive's thread (TCP) and in stdio mode.
    seed = int(os.environ.get("PIPELINE_SEED", "7"))
    results = {}
    for route in ("tcp", "stdio"):
        for way in ("one at a time", "in batches"):
            place = os.path.join(directory, "%s-%s" % (route, way.replace(" ", "-")))
            os.mkdir(place)
            rng = random.Random(seed)
            names = [place + "/p0.tap", place + "/p1.tap", place + "/p.dat"]
            requests = [random_request(rng, names) for _ in range(400)]
            if way == "one at a time":
                batches = [[request] for request in requests]
            else:
                batches, at = [], 0
                while at < len(requests):
                    size = rng.randrange(1, 16)
                    batches.append(requests[at:at + size])
                    at += size
            if route == "tcp":
                daemon = Daemon(place)
                rmt = daemon.connect()
            else:
                rmt = Rmt.spawn([RMTD, "--stdio", "--allow", place], stderr=subprocess.DEVNULL)
            results[route, way] = answers_to(rmt, batches)
            rmt.close_transport()
            if route == "tcp":
                assert daemon.stop() == 0
    for route in ("tcp", "stdio"):
        alone, batched = results[route, "one at a time"], results[route, "in batches"]
        assert len(alone) == len(batched) == 400
        for number, (expected, got) in enumerate(zip(alone, batched)):
            assert got == expected, "%s, answer %d: %r in batches, %r one at a time" % (
                route, number, got[:40], expected[:40])
    assert results["tcp", "one at a time"] == results["stdio", "one at a time"]


def pipelined_clients_beside_an_operator(daemon, names, operate):
    """Four clients send random batches of requests at once (as a pipelining client does)
    on names, while operate(rng, connections) acts as the operator every few ms, for
    STALL_SECONDS (8): every request is answered or its connection ends, never left
    waiting, and rmtd lives on. Returns rmtd's log."""
    stop = time.time() + float(os.environ.get("STALL_SECONDS", "8"))
    connections = [0]
    stalls = []
    answered = [0]

    def client(number):
        rng = random.Random(number)
        while time.time() < stop:
            rmt = daemon.connect(timeout=20)
            connections[0] += 1
            try:
                for _ in range(rng.randrange(1, 20)):
                    batch = [random_request(rng, names) for _ in range(rng.randrange(1, 8))]
                    rmt.send(b"".join(data for data, _ in batch))
                    for _, with_data in batch:
                        try:
                            count = rmt.reply()
                            if with_data:
                                rmt.read_exact(count)
                        except RmtError:
                            pass  # refused: an answer all the same
                        answered[0] += 1
            except (EOFError, ConnectionResetError, BrokenPipeError):
                pass  # killed, or ended by an error: the connection ended, which is an answer
            except socket.timeout:
                stalls.append("client %d: no reply in 20 s to %r" %
                              (number, [data[:12] for data, _ in batch]))
            except AssertionError as error:  # a reply that is none: the stream out of step
                stalls.append("client %d: %s" % (number, error))
            finally:
                rmt.close_transport()

    def operator():
        rng = random.Random(99)
        while time.time() < stop:
            time.sleep(rng.uniform(0.001, 0.05))
            operate(rng, connections[0])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=operator))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert daemon.alive(), "rmtd died"
    assert not stalls, "\n".join(stalls)
    assert answered[0] > 1000, "only %d requests answered" % answered[0]
    return log_of(daemon)


@test
def operator_commands_never_stall_pipelining_clients(directory):
    """Pipelining clients on two virtual tapes and a file; the operator releases drives
    and kills recent sessions at random."""
    socket_path = directory + "/control"
    daemon = Daemon(directory, "--control", socket_path, "--drive-wait", "2",
                    "--stop-grace", "1")
    names = [directory + "/stall%d.tap" % i for i in range(2)] + [directory + "/stall.dat"]

    def operate(rng, connections):
        if rng.random() < 0.8:
            control(socket_path, "release " + rng.choice(names))
        else:
            control(socket_path, "kill %d" % max(1, connections - rng.randrange(4)))

    log = pipelined_clients_beside_an_operator(daemon, names, operate)
    assert "taken back from session" in log and "aborted by the operator" in log, \
        "the operator's commands reached sessions"
    assert daemon.stop() == 0


@test
def library_operations_never_crash_or_stall_pipelining_clients(directory):
    """The same on a virtual library's two drives (three cartridges, four slots), the
    operator also loading, unloading and moving cartridges. Sessions switch drives and
    reopen them among pipelined requests here: before bc569a4 that let the requests after
    an open run while it was in flight, and rmtd died (SIGSEGV) in 2 of 3 such runs."""
    socket_path = directory + "/control"
    rmtctl = os.path.join(os.path.dirname(RMTD), "rmtctl")
    vtape = os.path.join(os.path.dirname(RMTD), "rmt-vtape")
    library = directory + "/lib"
    os.mkdir(library)
    os.mkdir(directory + "/state")
    for cartridge in ("A1", "A2", "A3"):
        subprocess.run([vtape, "create", "--capacity", "4M", "%s/%s.tap" % (library, cartridge)],
                       check=True, capture_output=True)
    conf = directory + "/rmtd.conf"
    with open(conf, "w") as f:
        f.write("state-directory %s/state\n"
                "library lib0 virtual %s slots 4 portals 1\n"
                "library lib0 drive 0 lib0d0\nlibrary lib0 drive 1 lib0d1\n"
                "allow * drive lib0d0 read-write create truncate settings\n"
                "allow * drive lib0d1 read-write create truncate settings\n"
                % (directory, library))
    os.chmod(conf, 0o600)
    daemon = Daemon(directory, "-f", conf, "--control", socket_path, "--drive-wait", "2",
                    "--stop-grace", "1")
    drives = ["lib0d0", "lib0d1"]
    slots = ["slot:1", "slot:2", "slot:3", "slot:4"]

    def operate(rng, connections):
        choice = rng.random()
        if choice < 0.3:
            command = ["release", rng.choice(drives)]
        elif choice < 0.55:
            command = ["load", rng.choice(["A1", "A2", "A3"] + slots), rng.choice(drives)]
        elif choice < 0.8:
            command = ["unload", rng.choice(drives)] + rng.choice([[], ["slot:4"]])
        elif choice < 0.85:
            command = ["move", "lib0", rng.choice(slots), rng.choice(slots)]
        else:
            command = ["kill", str(max(1, connections - rng.randrange(4)))]
        subprocess.run([rmtctl, "-s", socket_path] + command, capture_output=True, timeout=20)

    log = pipelined_clients_beside_an_operator(daemon, drives, operate)
    assert "library lib0: load" in log and "library lib0: unload" in log, \
        "the changer moved cartridges"
    assert daemon.stop() == 0


@test
def stdio_blocked_open_ends_at_disconnect_and_sigterm(directory):
    """rmt over ssh: the process itself waits in open(2); a gone client or SIGTERM ends it."""
    fifo = directory + "/stuck"
    os.mkfifo(fifo)
    argv = [RMTD, "--stdio", "--allow", directory, "--drive", "stuck=" + fifo]
    # The client goes away: both pipes close.
    rmt = Rmt.spawn(argv, stderr=subprocess.DEVNULL)
    STARTED.append(rmt.process)
    rmt.send(b"Ostuck\n1 O_WRONLY\n")
    time.sleep(0.3)
    began = time.time()
    rmt.process.stdin.close()
    rmt.process.stdout.close()
    assert rmt.process.wait(timeout=10) == 0
    assert time.time() - began < 4, "noticed within a few seconds"
    # SIGTERM: the open is answered with the reason, and rmtd ends.
    rmt = Rmt.spawn(argv, stderr=subprocess.DEVNULL)
    STARTED.append(rmt.process)
    rmt.send(b"Ostuck\n1 O_WRONLY\n")
    time.sleep(0.3)
    rmt.process.send_signal(signal.SIGTERM)
    expect_rmt_error(rmt.reply, 108, "rmtd shutting down")
    assert rmt.process.wait(timeout=10) == 0


@test
def thousand_idle_connections_then_a_clear_refusal(directory):
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    daemon = Daemon(directory, "--max-sessions", "1000", "--max-per-peer", "1000")
    pid = daemon.process.pid
    rss_before = rss_kib(pid)
    clients = []
    for _ in range(1000):
        rmt = daemon.connect()
        assert rmt.version() == 2
        clients.append(rmt)
    rss_after = rss_kib(pid)
    print("    resident memory: %d KiB for 1000 idle sessions (%.1f KiB each)"
          % (rss_after - rss_before, (rss_after - rss_before) / 1000))
    extra = daemon.connect()
    try:
        extra.version()
        raise AssertionError("the 1001st session was served")
    except RmtError as error:
        assert error.errno == 16 and "Too many sessions" in error.text, error
    for rmt in clients[:10]:
        rmt.close_transport()
    time.sleep(0.5)
    again = daemon.connect()
    assert again.version() == 2, "room again once sessions ended"
    assert daemon.stop() == 0


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@test
def per_peer_limit(directory):
    daemon = Daemon(directory, "--max-per-peer", "3")
    clients = [daemon.connect() for _ in range(3)]
    for rmt in clients:
        assert rmt.version() == 2
    extra = daemon.connect()
    try:
        extra.version()
        raise AssertionError("over the per-peer limit")
    except RmtError as error:
        assert error.errno == 16 and "your address" in error.text, error
    assert daemon.stop() == 0


@test
def idle_and_half_sent_requests_time_out(directory):
    daemon = Daemon(directory, "--idle-timeout", "2", "--request-timeout", "2")
    idle = daemon.connect()
    assert idle.version() == 2
    slow = daemon.connect()
    slow.send(b"O")
    began = time.time()
    for byte in b"/some/where":
        time.sleep(0.3)
        try:
            slow.send(bytes([byte]))
        except OSError:
            break
    try:
        slow.read_line()
        raise AssertionError("a trickling request got an answer")
    except (EOFError, OSError):
        pass
    assert time.time() - began < 8, "closed by the request timeout"
    time.sleep(2.5)
    try:
        idle.version()
        raise AssertionError("an idle session outlived its timeout")
    except (EOFError, OSError):
        pass
    assert daemon.stop() == 0


@test
def inetd_mode(directory):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    process = subprocess.Popen([RMTD, "--inetd", "-d", "--control", "none", "--allow", directory],
                               stdin=accepted, stdout=accepted, stderr=subprocess.DEVNULL)
    accepted.close()
    rmt = Rmt(client)
    rmt.open(directory + "/inetd.tar", O_WRONLY | O_CREAT)
    assert rmt.write(b"x" * 100) == 100
    rmt.close()
    rmt.close_transport()
    assert process.wait(timeout=30) == 0, "rmtd --inetd exits when its client leaves"
    assert os.path.getsize(directory + "/inetd.tar") == 100


@test
def systemd_socket_activation(directory):
    if shutil.which("systemd-socket-activate") is None:
        raise AssertionError("systemd-socket-activate is missing (package systemd)")
    port = free_port()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = directory + "/notify"
    notify.bind(notify_path)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    process = subprocess.Popen(["systemd-socket-activate", "-l", "127.0.0.1:%d" % port,
                                "-E", "NOTIFY_SOCKET", RMTD, "--control", "none", "--allow", directory],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port)
    clients = [Rmt.connect(port) for _ in range(3)]
    for rmt in clients:
        assert rmt.version() == 2
    notify.settimeout(10)
    assert notify.recv(100) == b"READY=1", "readiness notification"
    # Accept=no: one daemon serves every connection.
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                              text=True).stdout.split()
    assert len(set(children)) <= 1, "one rmtd for all connections"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    notify.close()


def main():
    global RMTD
    RMTD = os.path.abspath(sys.argv[1])
    chosen = sys.argv[2:]
    failed = 0
    for function in TESTS:
        if chosen and function.__name__ not in chosen:
            continue
        directory = tempfile.mkdtemp(prefix="rmtd-daemon-")
        began = time.time()
        try:
            function(directory)
            print("ok   %s (%.1f s)" % (function.__name__, time.time() - began))
            shutil.rmtree(directory, ignore_errors=True)
        except Exception as error:  # noqa: BLE001 - every failure is reported
            failed += 1
            print("FAIL %s: %s" % (function.__name__, error))
            for name in os.listdir(directory):
                if name.endswith(".log"):
                    with open(os.path.join(directory, name)) as log:
                        print("---- %s (last lines)" % name)
                        print("".join(log.readlines()[-15:]))
        finally:
            for process in STARTED:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            STARTED.clear()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
