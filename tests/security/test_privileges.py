#!/usr/bin/env python3
"""test_privileges.py - what the daemon keeps of root once it has started.

Without a `user` line rmtd becomes the rmtd account if the host has one, else
keeps its uid with no capability at all; `user root` keeps root. With `user
nobody` the control socket is still removed at exit. Started as another user,
the daemon ends with no capabilities either. Usage: test_privileges.py RMTD
"""
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from rmtclient import O_CREAT, O_RDWR, Rmt, free_port  # noqa: E402

AS_ROOT = os.geteuid() == 0
STARTED = []  # every rmtd started, killed at the end however the test ends


def status_fields(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


class Daemon:
    def __init__(self, directory, name, config):
        self.name = name
        self.port = free_port()
        self.log_path = os.path.join(directory, name + ".log")
        self.log = open(self.log_path, "w")
        path = os.path.join(directory, name + ".conf")
        with open(path, "w") as f:
            f.write(config)
        os.chmod(path, 0o644)
        self.process = subprocess.Popen(
            [RMTD, "-d", "-v", "-f", path, "--listen", "127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT)
        STARTED.append(self.process)
        deadline = time.time() + 10
        # "listening" comes before the privileges are dropped: wait for that line.
        while "running as" not in open(self.log_path).read():
            assert time.time() < deadline and self.process.poll() is None, \
                "rmtd did not start:\n" + open(self.log_path).read()
            time.sleep(0.02)

    def capabilities(self):
        fields = status_fields(self.process.pid)
        return {key: int(fields[key][0], 16) for key in
                ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}, \
            int(fields["Uid"][1]), fields["NoNewPrivs"][0]

    def serves(self, spool):
        rmt = Rmt.connect(self.port)
        rmt.open("%s/%s.dat" % (spool, self.name), O_RDWR | O_CREAT)
        assert rmt.write(b"data") == 4
        rmt.close()
        rmt.close_transport()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, open(self.log_path).read()
        self.log.close()
        return open(self.log_path).read()


def run(directory):
    os.chmod(directory, 0o755)  # reachable by nobody
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    os.chmod(spool, 0o777)
    socket_path = os.path.join(directory, "run", "control.sock")
    base = "spool %s\nidentity local peer 127.0.0.1\n" \
           "allow local path %s/* read-write create\ncontrol %s\n" % (spool, spool, socket_path)

    # No user line: the default account, else the same uid without capabilities.
    daemon = Daemon(directory, "default", base)
    caps, uid, no_new_privs = daemon.capabilities()
    assert caps["CapEff"] == 0 and caps["CapPrm"] == 0 and caps["CapAmb"] == 0, caps
    assert caps["CapInh"] == 0, caps
    assert no_new_privs == "1"
    try:
        expected = pwd.getpwnam("rmtd").pw_uid if AS_ROOT else os.geteuid()
    except KeyError:
        expected = os.geteuid()
    assert uid == expected, "runs as uid %d, expected %d" % (uid, expected)
    if AS_ROOT:
        assert caps["CapBnd"] == 0, "the bounding set is empty too: %x" % caps["CapBnd"]
    daemon.serves(spool)
    daemon.stop()
    assert not os.path.exists(socket_path), "the control socket is removed at exit"

    if not AS_ROOT:
        return
    # `user root`: asked for, so kept.
    daemon = Daemon(directory, "root", base + "user root\n")
    caps, uid, _ = daemon.capabilities()
    assert uid == 0 and caps["CapEff"] != 0, caps
    daemon.stop()

    # `user nobody`: the directories rmtd makes are nobody's; the socket goes at exit.
    os.rmdir(os.path.dirname(socket_path))
    state, status = os.path.join(directory, "state"), os.path.join(directory, "status")
    daemon = Daemon(directory, "nobody", base + "user nobody\nstate-directory %s\n"
                    "status-directory %s\n" % (state, status))
    nobody = pwd.getpwnam("nobody").pw_uid
    caps, uid, _ = daemon.capabilities()
    assert uid == nobody and caps["CapEff"] == 0, caps
    assert os.path.exists(socket_path)
    for made in (os.path.dirname(socket_path), state, status):
        assert os.stat(made).st_uid == nobody, "%s is not nobody's" % made
    daemon.serves(spool)
    log = daemon.stop()
    assert not os.path.exists(socket_path), "the control socket was left behind:\n" + log
    assert "cannot" not in log and "Permission denied" not in log, log


def main():
    global RMTD
    RMTD = os.path.abspath(sys.argv[1])
    directory = tempfile.mkdtemp(prefix="rmtd-privileges-")
    try:
        run(directory)
    except Exception:
        for name in sorted(os.listdir(directory)):
            if name.endswith(".log"):
                print("---- %s" % name)
                print("".join(open(os.path.join(directory, name)).readlines()[-15:]))
        raise
    finally:
        for process in STARTED:
            if process.poll() is None:
                process.kill()
                process.wait()
        subprocess.run(["rm", "-rf", directory], check=False)
    print("ok   privileges: none kept unless asked for (%s)" % ("root" if AS_ROOT else "user"))


if __name__ == "__main__":
    main()
