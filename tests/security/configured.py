"""configured.py - rmtd as a daemon on a configuration file of a test's own.

    with spool_directory("rmtd-name-") as (directory, spool):
        with ConfiguredDaemon(rmtd, directory, "spool ...\\nallow ...\\n") as daemon:
            rmt = Rmt.connect(daemon.port)
            ...
            daemon.stop()

The daemon listens on a free loopback port with no control socket and logs to
DIRECTORY/rmtd.log; a test that fails prints the log's last lines, and the
daemon is killed at the end whatever happens.
"""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from rmtclient import free_port  # noqa: E402


@contextlib.contextmanager
def spool_directory(prefix):
    """A new directory with a spool/ in it, removed at the end: (directory, spool)."""
    directory = tempfile.mkdtemp(prefix=prefix)
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    try:
        yield directory, spool
    finally:
        shutil.rmtree(directory, ignore_errors=True)


class ConfiguredDaemon:
    def __init__(self, rmtd, directory, configuration):
        config = os.path.join(directory, "rmtd.conf")
        with open(config, "w") as f:
            f.write(configuration)
        self.port = free_port()
        self.log_path = os.path.join(directory, "rmtd.log")
        self.process = subprocess.Popen(
            [rmtd, "-d", "-v", "--control", "none", "-f", config,
             "--listen", "127.0.0.1:%d" % self.port],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path) as log:
            return log.read()

    def stop(self):
        """SIGTERM; the daemon must end cleanly."""
        self.process.terminate()
        assert self.process.wait(timeout=30) == 0, "rmtd did not exit cleanly"

    def __enter__(self):
        deadline = time.time() + 10
        while "listening on" not in self.log():
            if time.time() > deadline or self.process.poll() is not None:
                self.__exit__(AssertionError, None, None)
                raise AssertionError("rmtd did not start:\n" + self.log())
            time.sleep(0.02)
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            print("".join(self.log().splitlines(True)[-20:]))
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        return False
