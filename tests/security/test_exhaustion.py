#!/usr/bin/env python3
"""test_exhaustion.py - what a client's names and sessions cost the daemon.

Every distinct name a client opens, existing or not, makes a drive; it must be
freed with its thread and descriptors once its last session is done with it, so
threads and descriptors stay flat however many names are opened, a low
descriptor limit keeps serving, and running out of descriptors is a clear
refusal (E24) rather than "Resource temporarily unavailable".

Usage: test_exhaustion.py RMTD [CASE...]
"""
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from rmtclient import O_RDONLY, Rmt, RmtError, free_port  # noqa: E402

RMTD = None
CASES = []
STARTED = []


def case(function):
    CASES.append(function)
    return function


class Daemon:
    def __init__(self, directory, *options, max_fds=None):
        self.port = free_port()
        self.log_path = os.path.join(directory, "rmtd-%d.log" % self.port)
        self.log = open(self.log_path, "w")
        argv = [RMTD, "-d", "-v", "--control", "none", "--listen", "127.0.0.1:%d" % self.port,
                "--allow", directory] + list(options)

        def limit():
            if max_fds is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))

        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                        preexec_fn=limit)
        STARTED.append(self.process)
        deadline = time.time() + 10
        while "listening on" not in open(self.log_path).read():
            assert time.time() < deadline and self.process.poll() is None, \
                "rmtd did not start:\n" + open(self.log_path).read()
            time.sleep(0.02)

    def connect(self):
        return Rmt.connect(self.port)

    def threads(self):
        return len(os.listdir("/proc/%d/task" % self.process.pid))

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.process.pid))

    def log_text(self):
        return open(self.log_path).read()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, "rmtd did not exit cleanly"
        self.log.close()


def settle(daemon, threads, fds, seconds=5):
    """Wait until the daemon is back to (at most) these counts; return what it has."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        now = (daemon.threads(), daemon.fds())
        if now[0] <= threads and now[1] <= fds:
            return now
        time.sleep(0.05)
    return daemon.threads(), daemon.fds()


def open_names(rmt, directory, first, count):
    """Open count distinct names, every other one missing; the answers, by errno."""
    answers = {}
    for i in range(first, first + count):
        path = "%s/name-%05d%s" % (directory, i, "" if i % 2 == 0 else ".missing")
        try:
            rmt.open(path, O_RDONLY)
            errno = 0
        except RmtError as error:
            errno = error.errno
        answers[errno] = answers.get(errno, 0) + 1
    return answers


def make_files(directory, count):
    for i in range(0, count, 2):
        with open("%s/name-%05d" % (directory, i), "wb") as f:
            f.write(b"x" * 512)


@case
def thousand_names_leave_threads_and_descriptors_flat(directory):
    make_files(directory, 1200)
    daemon = Daemon(directory)
    probe = daemon.connect()
    assert probe.version() == 2
    probe.close_transport()
    deadline = time.time() + 5
    while "session 1: ended" not in daemon.log_text() and time.time() < deadline:
        time.sleep(0.02)
    threads, fds = daemon.threads(), daemon.fds()
    # One session after another, each going through many names, some of them in parallel.
    answers = {}
    clients = [daemon.connect() for _ in range(4)]
    for round_number in range(3):
        for index, rmt in enumerate(clients):
            first = (round_number * len(clients) + index) * 100
            for errno, n in open_names(rmt, directory, first, 100).items():
                answers[errno] = answers.get(errno, 0) + n
    assert answers == {0: 600, 2: 600}, "every existing name opens, every missing one is ENOENT: %r" % answers
    assert daemon.threads() <= threads + len(clients), \
        "at most a thread per session holding a drive, not per name: %d" % daemon.threads()
    for rmt in clients:
        rmt.close_transport()
    now_threads, now_fds = settle(daemon, threads, fds)
    assert now_threads == threads, "threads %d -> %d after 1200 names" % (threads, now_threads)
    assert now_fds == fds, "descriptors %d -> %d after 1200 names" % (fds, now_fds)
    daemon.stop()


@case
def a_low_descriptor_limit_keeps_serving(directory):
    make_files(directory, 1000)
    daemon = Daemon(directory, max_fds=64)
    answers = {}
    for first in range(0, 1000, 50):
        rmt = daemon.connect()
        for errno, n in open_names(rmt, directory, first, 50).items():
            answers[errno] = answers.get(errno, 0) + n
        rmt.close_transport()
    assert answers == {0: 500, 2: 500}, "opens fail under a 64-descriptor limit: %r" % answers
    assert "Resource temporarily unavailable" not in daemon.log_text()
    daemon.stop()


@case
def running_out_of_descriptors_is_a_clear_refusal(directory):
    make_files(directory, 200)
    daemon = Daemon(directory, max_fds=64)
    held = []
    refusal = None
    # Each session holding a file costs a socket, a file and its drive's two eventfds.
    # Idle sessions (one descriptor each) steer it so that a session is accepted with
    # one descriptor left: its drive's second eventfd is what meets the limit, and
    # accept(2) itself never runs out.
    for i in range(0, 200, 2):
        free = 64 - daemon.fds()
        rmt = daemon.connect()
        held.append(rmt)
        assert rmt.version() == 2
        if free in (3, 4, 5):
            continue
        try:
            rmt.open("%s/name-%05d" % (directory, i), O_RDONLY)
        except RmtError as error:
            refusal = error
            break
    assert refusal is not None, "64 descriptors never ran out"
    assert refusal.errno == 24, "out of descriptors answers EMFILE, got %s" % refusal
    assert "file descriptors" in refusal.text, "the reason is given: %s" % refusal
    log = daemon.log_text()
    assert "Resource temporarily unavailable" not in log, log[-600:]
    lines = [line for line in log.splitlines()
             if "session" in line and ("refused" in line or "failed" in line)]
    assert len(lines) == 1, "one log line for the refusal: %r" % lines
    for rmt in held:
        rmt.close_transport()
    time.sleep(0.3)
    # The daemon serves again once descriptors are back.
    rmt = daemon.connect()
    assert rmt.open("%s/name-00000" % directory, O_RDONLY) == 0
    rmt.close_transport()
    daemon.stop()


def main():
    global RMTD
    RMTD = os.path.abspath(sys.argv[1])
    cases.run(CASES, STARTED, "rmtd-exhaustion-", sys.argv[2:])


if __name__ == "__main__":
    main()
