#!/usr/bin/env python3
"""attacks.py - the attack suite: what classic rmt lets anyone do, tried on rmtd.

Each case asserts a clear error, a live server afterwards, and that nothing was
written where it must not be. Usage: attacks.py RMTD [CASE...]
"""
import os
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from rmtclient import O_CREAT, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, Rmt, RmtError, free_port  # noqa: E402

RMTD = None
CASES = []


def case(function):
    CASES.append(function)
    return function


def expect_error(action, errno, text=None):
    try:
        action()
    except RmtError as error:
        assert error.errno == errno, "got %s, expected E%d" % (error, errno)
        assert text is None or text in error.text, "reason %r lacks %r" % (error.text, text)
        return error
    raise AssertionError("expected E%d, the request succeeded" % errno)


STARTED = []  # every rmtd a test started, killed when the test ends however it ends


class Daemon:
    def __init__(self, directory, config=None, *options, nofile=None):
        self.directory = directory
        self.port = free_port()
        self.log_path = os.path.join(directory, "rmtd-%d.log" % self.port)
        self.log = open(self.log_path, "w")
        argv = [RMTD, "-d", "-v", "--control", "none", "--listen", "127.0.0.1:%d" % self.port]
        if config is not None:
            path = os.path.join(directory, "rmtd.conf")
            with open(path, "w") as f:
                f.write(config)
            os.chmod(path, 0o644)
            argv += ["-f", path]
        argv += list(options)
        def limits():
            if nofile is not None:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                        preexec_fn=limits)
        STARTED.append(self.process)
        deadline = time.time() + 10
        while "listening on" not in open(self.log_path).read():
            assert time.time() < deadline and self.process.poll() is None, \
                "rmtd did not start:\n" + open(self.log_path).read()
            time.sleep(0.02)

    def connect(self):
        return Rmt.connect(self.port)

    def alive(self):
        rmt = self.connect()
        assert rmt.version() == 2, "the server no longer answers"
        rmt.close_transport()

    def logged(self, text):
        return text in open(self.log_path).read()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0
        self.log.close()


def stdio(directory, *options):
    return Rmt.spawn([RMTD, "--stdio", "-d"] + list(options), stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------- paths


@case
def paths_outside_the_rules(directory):
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    daemon = Daemon(directory, None, "--allow", spool)
    rmt = daemon.connect()
    for path in ["/etc/shadow", "/etc/passwd", "/root/.ssh/authorized_keys", "/proc/self/mem",
                 "/dev/sda", "/dev/mem", "/", spool + "2/x", "/tmp/x"]:
        expect_error(lambda: rmt.open(path, O_RDONLY), 13)
    for path in ["/etc/cron.d/evil", "/tmp/planted"]:
        expect_error(lambda: rmt.open(path, O_WRONLY | O_CREAT | O_TRUNC), 13)
        assert not os.path.exists(path), "%s was created" % path
    assert daemon.logged('open "/etc/shadow" O_RDONLY by 127.0.0.1 from 127.0.0.1:')
    assert daemon.logged("refused: outside the allowed directories")
    daemon.alive()
    daemon.stop()


@case
def dot_dot_in_every_position(directory):
    spool = os.path.join(directory, "spool")
    os.makedirs(spool + "/sub")
    daemon = Daemon(directory, None, "--allow", spool)
    rmt = daemon.connect()
    for path in ["..", "../x", "../../etc/passwd", "sub/../x", "sub/..", spool + "/..",
                 spool + "/../rmtd.conf", spool + "/sub/../../x", spool + "/./../x",
                 spool + "//..//x", "/" + spool.lstrip("/") + "/sub/../sub/x"]:
        expect_error(lambda: rmt.open(path, O_WRONLY | O_CREAT), 13, "'..'")
    assert sorted(os.listdir(spool)) == ["sub"], "nothing was created"
    daemon.alive()
    daemon.stop()


@case
def symlinks_never_lead_out(directory):
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    outside = os.path.join(directory, "outside")
    with open(outside, "w") as f:
        f.write("secret\n")
    os.symlink(outside, spool + "/link")
    os.symlink("/etc", spool + "/etc")
    os.symlink(os.path.join(directory, "created-outside"), spool + "/dangling")
    daemon = Daemon(directory, None, "--allow", spool)
    rmt = daemon.connect()
    expect_error(lambda: rmt.open(spool + "/link", O_RDONLY), 13)
    expect_error(lambda: rmt.open(spool + "/etc/passwd", O_RDONLY), 13)
    expect_error(lambda: rmt.open(spool + "/link", O_WRONLY | O_TRUNC), 13)
    expect_error(lambda: rmt.open(spool + "/dangling", O_WRONLY | O_CREAT), 13)
    assert open(outside).read() == "secret\n", "the target was not touched"
    assert not os.path.exists(os.path.join(directory, "created-outside"))
    daemon.alive()
    daemon.stop()


@case
def symlink_swapped_in_between_check_and_open(directory):
    """A name that flips between a file and a symlink out: never followed."""
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    secret = os.path.join(directory, "secret")
    with open(secret, "wb") as f:
        f.write(b"SECRET" * 10)
    daemon = Daemon(directory, None, "--allow", spool)
    name = spool + "/race"
    stop = threading.Event()

    def flipper():
        while not stop.is_set():
            for make in (lambda: open(name + ".tmp", "wb").write(b"harmless"),
                         lambda: os.symlink(secret, name + ".tmp")):
                try:
                    make()
                    os.rename(name + ".tmp", name)
                except OSError:
                    pass

    thread = threading.Thread(target=flipper)
    thread.start()
    while not os.path.lexists(name):  # the race starts once the name exists
        time.sleep(0.001)
    rmt = daemon.connect()
    opened = refused = 0
    try:
        for _ in range(500):
            try:
                rmt.open(name, O_RDONLY)
            except RmtError as error:
                assert error.errno in (13, 2), error
                refused += 1
                continue
            opened += 1
            data = rmt.read(100)
            assert b"SECRET" not in data, "read through a swapped-in symlink"
            rmt.close()
    finally:
        stop.set()
        thread.join()
    assert opened > 0 and refused > 0, "the race was exercised (%d/%d)" % (opened, refused)
    daemon.alive()
    daemon.stop()


# ---------------------------------------------------------------- flags and rules


def ruled(directory):
    spool = os.path.join(directory, "spool")
    archive = os.path.join(directory, "archive")
    os.mkdir(spool)
    os.mkdir(archive)
    with open(spool + "/existing.tar", "wb") as f:
        f.write(b"x" * 1000)
    with open(spool + "/readonly.tar", "wb") as f:
        f.write(b"r" * 1000)
    config = """
spool %s
spool %s
identity local peer 127.0.0.1
allow local path %s/readonly.tar read-only
allow local path %s/*.tar read-write
allow local path %s/* write-once create
""" % (spool, archive, spool, spool, archive)
    return Daemon(directory, config), spool, archive


@case
def create_and_truncate_only_where_allowed(directory):
    daemon, spool, _ = ruled(directory)
    rmt = daemon.connect()
    expect_error(lambda: rmt.open(spool + "/new.tar", O_WRONLY | O_CREAT), 13, "creating")
    expect_error(lambda: rmt.open(spool + "/existing.tar", O_WRONLY | O_TRUNC), 13, "truncat")
    assert not os.path.exists(spool + "/new.tar")
    assert os.path.getsize(spool + "/existing.tar") == 1000
    # Numeric flags alone come from other OSes' clients: masked to the access mode.
    rmt.send(b"O%s/existing.tar\n577\n" % spool.encode())
    assert rmt.reply() == 0, "577 is opened as O_WRONLY"
    rmt.close()
    assert os.path.getsize(spool + "/existing.tar") == 1000, "577 did not truncate"
    rmt.send(b"O%s/fresh.tar\n577\n" % spool.encode())
    expect_error(rmt.reply, 2)
    assert not os.path.exists(spool + "/fresh.tar"), "577 did not create"
    daemon.alive()
    daemon.stop()


@case
def read_only_and_write_once_rules(directory):
    daemon, spool, archive = ruled(directory)
    rmt = daemon.connect()
    expect_error(lambda: rmt.open(spool + "/readonly.tar", O_WRONLY), 13, "read-only")
    expect_error(lambda: rmt.open(spool + "/readonly.tar", O_RDWR), 13, "read-only")
    rmt.open(spool + "/readonly.tar", O_RDONLY)
    rmt.close()
    rmt.open(archive + "/monday.tar", O_WRONLY | O_CREAT)
    assert rmt.write(b"once") == 4
    rmt.close()
    expect_error(lambda: rmt.open(archive + "/monday.tar", O_WRONLY), 13, "write-once")
    expect_error(lambda: rmt.open(archive + "/monday.tar", O_WRONLY | O_CREAT), 17)
    rmt.open(archive + "/monday.tar", O_RDONLY)
    assert rmt.read(100) == b"once"
    rmt.close()
    with open(archive + "/monday.tar", "rb") as f:
        assert f.read() == b"once", "the write-once archive is unchanged"
    daemon.alive()
    daemon.stop()


@case
def spools_serve_files_with_one_link_only(directory):
    spool = os.path.join(directory, "spool")
    os.makedirs(spool + "/sub")
    secret = os.path.join(directory, "secret")
    with open(secret, "wb") as f:
        f.write(b"SECRET")
    os.link(secret, spool + "/linked")
    os.mknod(spool + "/zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero's numbers
    os.mkfifo(spool + "/fifo")  # opened, it would hold the drive until some process writes
    tape = os.path.join(directory, "elsewhere.tap")
    with open(tape, "wb") as f:
        f.write(b"\xff\xff\xff\xff")  # a blank tape's end-of-medium mark
    os.link(tape, spool + "/linked.tap")
    with open(spool + "/plain", "wb") as f:
        f.write(b"plain")
    daemon = Daemon(directory, None, "--allow", spool)
    rmt = daemon.connect()
    for name, flags in (("linked", O_RDONLY), ("linked", O_WRONLY | O_TRUNC), ("zero", O_RDONLY),
                        ("fifo", O_RDONLY), ("fifo", O_WRONLY), ("linked.tap", O_RDWR)):
        began = time.time()
        expect_error(lambda: rmt.open(spool + "/" + name, flags), 13)
        assert time.time() - began < 5, "%s refused at once" % name
    assert open(secret, "rb").read() == b"SECRET", "the other link was not truncated"
    assert daemon.logged("file with more than one hard link) inside an allowed directory; not served")
    assert daemon.logged("a virtual tape with more than one hard link inside an allowed directory")
    rmt.open(spool + "/plain", O_RDONLY)
    assert rmt.read(100) == b"plain"
    rmt.close()
    # No descriptor without data, no file without a name: whatever the numbers say.
    for name, extra in (("plain", 0o10000000), ("sub", 0o20200000)):  # O_PATH, O_TMPFILE
        rmt.send(b"O%s/%s\n%d O_RDWR|%d\n" % (spool.encode(), name.encode(), 2 | extra, extra))
        expect_error(rmt.reply, 22, "O_PATH and O_TMPFILE")
    assert sorted(os.listdir(spool + "/sub")) == []
    daemon.alive()
    daemon.stop()


@case
def no_debug_file_argument(directory):
    victim = os.path.join(directory, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    for argv in ([RMTD, "--stdio", victim], ["rmt", victim]):
        process = subprocess.Popen(argv, executable=RMTD, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, _ = process.communicate(b"V\n", timeout=30)
        assert out == b"A2\n", out
        assert open(victim).read() == "precious\n", "the argument was opened"
    created = os.path.join(directory, "created")
    process = subprocess.Popen([RMTD, "--stdio", created], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process.communicate(b"", timeout=30)
    assert not os.path.exists(created)


# ---------------------------------------------------------------- resources


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@case
def counts_up_to_two_to_the_63(directory):
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    daemon = Daemon(directory, None, "--allow", spool)
    rmt = daemon.connect()
    rmt.open(spool + "/f", O_RDWR | O_CREAT)
    before = rss_kib(daemon.process.pid)
    for count in [2**24, 2**31, 2**32, 2**63 - 1, 2**63, 2**64 - 1]:
        rmt.send(b"R%d\n" % count)
        expect_error(rmt.reply, 12)
    # A W announces its data; the server swallows it without storing it. Announce 2^63-1
    # bytes, send a little, and leave: nothing may have been allocated for it.
    rmt.send(b"W%d\n" % (2**63 - 1) + b"z" * 65536)
    time.sleep(0.2)
    rmt.sock.close()
    assert rss_kib(daemon.process.pid) - before < 4096, "memory followed the counts"
    rmt = daemon.connect()
    rmt.open(spool + "/f", O_RDWR)
    rmt.send(b"R-1\n")
    expect_error(rmt.reply, 22)
    rmt.send(b"W-5\n")
    expect_error(rmt.reply, 22)
    assert rmt.write(b"still in step") == 13
    daemon.alive()
    daemon.stop()


@case
def thousands_of_connections_from_one_peer(directory):
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    daemon = Daemon(directory, None, "--max-per-peer", "100", "--max-sessions", "5000")
    held, refused = [], 0
    for _ in range(2000):
        try:
            rmt = daemon.connect()
        except OSError:
            refused += 1
            continue
        held.append(rmt)
    answered = 0
    for rmt in held:
        try:
            if rmt.version() == 2:
                answered += 1
        except RmtError as error:
            assert error.errno == 16 and "your address" in error.text, error
            refused += 1
        except (EOFError, OSError):
            refused += 1
    assert answered == 100, "exactly the per-peer limit is served, got %d" % answered
    assert refused >= 1900
    for rmt in held:
        rmt.close_transport()
    time.sleep(0.5)
    daemon.alive()
    daemon.stop()


@case
def out_of_file_descriptors(directory):
    """More connections than descriptors: clear refusals, no crash, served again later."""
    daemon = Daemon(directory, None, "--max-per-peer", "1000", "--max-sessions", "5000",
                    nofile=64)
    held = []
    for _ in range(150):
        held.append(socket.create_connection(("127.0.0.1", daemon.port), timeout=10))
    time.sleep(1.0)
    refused = 0
    for sock in held:
        sock.settimeout(0.05)
        try:
            answer = sock.recv(200)
        except socket.timeout:
            continue  # accepted and waiting for a request
        except OSError:
            answer = b""
        assert answer.startswith(b"E16\n") and b"file descriptors" in answer, answer
        refused += 1
    assert daemon.process.poll() is None, "rmtd died when it ran out of descriptors"
    assert 0 < refused < len(held), "%d of %d refused" % (refused, len(held))
    assert daemon.logged("refusing new connections until sessions end")
    for sock in held:
        sock.close()
    time.sleep(1.5)
    for _ in range(3):
        daemon.alive()
    daemon.stop()


@case
def first_request_split_across_the_timeout_check(directory):
    """A request begun right after connecting is timed from then, not from 1970."""
    daemon = Daemon(directory, None, "--request-timeout", "3")
    for _ in range(2):
        rmt = daemon.connect()
        rmt.send(b"V")
        time.sleep(1.5)  # at least one sweep sees the half request
        rmt.send(b"2\n")
        assert rmt.reply() == 2, "the split first request was answered"
        rmt.close_transport()
    assert not daemon.logged("request not complete")
    daemon.stop()


@case
def plaintext_listens_on_loopback_only(directory):
    port = free_port()
    # The command line obeys the rule the file does, judged on the resolved address.
    for address in ("0.0.0.0:%d" % port, "[::]:%d" % port):
        try:
            run = subprocess.run([RMTD, "-d", "--control", "none", "--listen", address],
                                 capture_output=True, text=True, timeout=5)
        except subprocess.TimeoutExpired:
            raise AssertionError("rmtd served plaintext on %s" % address)
        assert run.returncode != 0, "rmtd served plaintext on %s" % address
        assert "which is not a loopback address" in run.stderr, run.stderr
    config = os.path.join(directory, "rmtd.conf")
    for address, loopback in (("127.evil.example:%d" % port, False),
                              ("0.0.0.0:%d" % port, False), ("[::ffff:10.0.0.1]:%d" % port, False),
                              ("127.1:%d" % port, True), ("[::1]:%d" % port, True),
                              ("[::ffff:127.0.0.1]:%d" % port, True),
                              ("localhost:%d" % port, True)):
        with open(config, "w") as f:
            f.write("listen %s\n" % address)
        os.chmod(config, 0o644)
        check = subprocess.run([RMTD, "-n", "-f", config], capture_output=True, text=True)
        assert (check.returncode == 0) == loopback, "%s: %s" % (address, check.stderr)
        if not loopback:
            assert "plaintext on" in check.stderr, check.stderr
    daemon = Daemon(directory, None, "--listen", "localhost:%d" % free_port())
    daemon.alive()
    daemon.stop()


@case
def one_byte_a_minute(directory):
    daemon = Daemon(directory, None, "--request-timeout", "2")
    slow = daemon.connect()
    began = time.time()
    try:
        for byte in b"O/etc/passwd\n0\n":
            slow.send(bytes([byte]))
            time.sleep(0.5)
        raise AssertionError("the trickle was never cut off")
    except (OSError, EOFError):
        pass
    assert time.time() - began < 8
    assert daemon.logged("request not complete after")
    daemon.alive()
    daemon.stop()


# ---------------------------------------------------------------- TLS


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def issue_certificate(directory, name, subject, ca="ca", days="30", utf8=False):
    """A client key and certificate signed by ca, subject in openssl's /A=b/C=d form."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "%s/%s.key" % (directory, name), "-out", "%s/%s.csr" % (directory, name),
            "-subj", subject, *(["-utf8"] if utf8 else []))
    openssl("x509", "-req", "-in", "%s/%s.csr" % (directory, name), "-CA",
            "%s/%s.crt" % (directory, ca), "-CAkey", "%s/%s.key" % (directory, ca),
            "-CAcreateserial", "-out", "%s/%s.crt" % (directory, name), "-days", days)


def make_pki(directory):
    for ca in ("ca", "otherca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "%s/%s.key" % (directory, ca), "-out", "%s/%s.crt" % (directory, ca),
                "-days", "30", "-subj", "/CN=%s" % ca)
    for name, ca, days in (("server", "ca", "30"), ("client", "ca", "30"),
                           ("stranger", "otherca", "30"), ("expired", "ca", "0")):
        issue_certificate(directory, name, "/CN=%s.example.org" % name, ca, days)
    time.sleep(1.1)  # the expired one is now past its end


def tls_daemon(directory, identity='identity client subject "CN=client.example.org"',
               extra="", pki=None):
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    if pki is None:
        make_pki(directory)
    port = free_port()
    config = """
listen 127.0.0.1:%d tls
tls certificate %s/server.crt
tls key %s/server.key
tls ca %s/ca.crt
spool %s
%s
allow client path %s/* read-write create
%s""" % (port, pki or directory, pki or directory, pki or directory, spool, identity, spool,
       extra)
    daemon = Daemon(directory, config)
    daemon.tls_port = port
    return daemon, spool


def tls_connect(directory, port, certificate=None):
    context = ssl.create_default_context(cafile=directory + "/ca.crt")
    context.check_hostname = False
    if certificate:
        context.load_cert_chain("%s/%s.crt" % (directory, certificate),
                                "%s/%s.key" % (directory, certificate))
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
    return Rmt(sock)


@case
def tls_clients_must_prove_who_they_are(directory):
    daemon, spool = tls_daemon(directory)
    good = tls_connect(directory, daemon.tls_port, "client")
    good.open(spool + "/ok.tar", O_WRONLY | O_CREAT)
    assert good.write(b"fine") == 4
    good.close()
    for certificate, reason in ((None, "peer did not return a certificate"),
                                ("stranger", "certificate verify failed"),
                                ("expired", "certificate verify failed")):
        try:
            rmt = tls_connect(directory, daemon.tls_port, certificate)
            rmt.open(spool + "/%s.tar" % certificate, O_WRONLY | O_CREAT)
            raise AssertionError("%s was served" % certificate)
        except (ssl.SSLError, OSError, EOFError):
            pass
        assert not os.path.exists(spool + "/%s.tar" % certificate)
    deadline = time.time() + 10  # the server logs after the client has seen the alert
    while open(daemon.log_path).read().count("TLS handshake with 127.0.0.1") < 3:
        assert time.time() < deadline, open(daemon.log_path).read()
        time.sleep(0.05)
    log = open(daemon.log_path).read()
    assert "peer did not return a certificate" in log
    daemon.stop()


@case
def a_tls_handshake_that_never_comes_is_cut_off(directory):
    """A connection to a TLS listener that sends nothing, or half a ClientHello, holds
    its slot only until the request timeout: then it is closed and logged."""
    daemon, spool = tls_daemon(directory, extra="limit request-timeout 2\n")
    silent = socket.create_connection(("127.0.0.1", daemon.tls_port), timeout=10)
    half = socket.create_connection(("127.0.0.1", daemon.tls_port), timeout=10)
    half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello begun
    began = time.time()
    for sock in (silent, half):
        try:
            assert sock.recv(4096) == b"", "the server sent something instead of closing"
        except ConnectionResetError:
            pass
        sock.close()
    assert 1.5 < time.time() - began < 8, "cut off after %.1f s" % (time.time() - began)
    deadline = time.time() + 5
    while open(daemon.log_path).read().count("timed out") < 2:
        assert time.time() < deadline, open(daemon.log_path).read()
        time.sleep(0.05)
    assert daemon.logged("TLS handshake with 127.0.0.1")
    good = tls_connect(directory, daemon.tls_port, "client")  # and the listener still serves
    assert good.version() == 2
    good.close_transport()
    daemon.stop()


def served(directory, port, certificate, spool):
    """Did the daemon let this certificate create a file?"""
    try:
        rmt = tls_connect(directory, port, certificate)
        rmt.open(spool + "/%s.tar" % certificate, O_WRONLY | O_CREAT)
        rmt.close()
        return True
    except RmtError as error:
        assert error.errno == 13, error
        return False


@case
def subject_patterns_match_whole_components(directory):
    # The first pattern is rmtd.conf(5)'s; the second globs one component's value.
    daemon, spool = tls_daemon(directory, """
identity client subject "CN=backup.example.org,O=Example"
identity client subject CN=*.example.org,OU=Backup,O=Example
""")
    certificates = {
        "good": ("/O=Example/CN=backup.example.org", True),
        "globbed": ("/O=Example/OU=Backup/CN=host7.example.org", True),
        # one CN whose value holds ",CN=backup.example.org"
        "comma": ("/O=Example/CN=evil,CN=backup.example.org", False),
        "glued": ("/O=Example/CN=xCN=backup.example.org", False),
        "evilcorp": ("/CN=backup.example.org/O=EvilCorp", False),
        "extra": ("/O=Example/CN=backup.example.org/DC=evil", False),
        # '*' reaching across components: "CN=evil,OU=Backup,CN=a.example.org,..."
        "across": ("/O=Example/OU=Backup/CN=a.example.org/OU=Backup/CN=evil", False),
    }
    for name, (subject, _) in certificates.items():
        issue_certificate(directory, name, subject)
    for name, (subject, expected) in certificates.items():
        assert served(directory, daemon.tls_port, name, spool) == expected, \
            "%s (%s) %s" % (name, subject, "refused" if expected else "was served")
        assert os.path.exists(spool + "/%s.tar" % name) == expected
    daemon.stop()
    # The pattern the manual used to show is refused, with the reason.
    config = os.path.join(directory, "old.conf")
    with open(config, "w") as f:
        f.write('identity backup subject "*CN=backup.example.org"\n')
    check = subprocess.run([RMTD, "-n", "-f", config], capture_output=True, text=True)
    assert check.returncode != 0 and "TYPE=VALUE" in check.stderr, check


@case
def fingerprints_in_openssl_form(directory):
    make_pki(directory)
    printed = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                              directory + "/client.crt"], capture_output=True, text=True,
                             check=True).stdout.strip()
    colons = printed.split("=", 1)[1]  # "AB:CD:..."
    assert len(colons) == 95, printed
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    port = free_port()
    daemon = Daemon(directory, """
listen 127.0.0.1:%d tls
tls certificate %s/server.crt
tls key %s/server.key
tls ca %s/ca.crt
spool %s
identity pinned fingerprint %s
identity plain fingerprint sha256:%s
allow pinned path %s/pinned* read-write create
allow plain path %s/plain* read-write create
""" % (port, directory, directory, directory, spool, colons,
       colons.replace(":", "").lower(), spool, spool))
    for name in ("pinned", "plain"):
        rmt = tls_connect(directory, port, "client")
        rmt.open(spool + "/%s.tar" % name, O_WRONLY | O_CREAT)
        rmt.close()
    rmt = tls_connect(directory, port, "server")  # signed by the CA, another fingerprint
    expect_error(lambda: rmt.open(spool + "/pinned.tar", O_RDONLY), 13)
    daemon.stop()


def certificate_authority(directory):
    """An openssl ca setup over make_pki's CA, to revoke certificates and issue CRLs."""
    with open(directory + "/ca.cnf", "w") as f:
        f.write("[ca]\ndefault_ca = own\n[own]\ndatabase = %s/index.txt\n"
                "crlnumber = %s/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n"
                "certificate = %s/ca.crt\nprivate_key = %s/ca.key\n"
                % (directory, directory, directory, directory))
    open(directory + "/index.txt", "w").close()
    with open(directory + "/crlnumber", "w") as f:
        f.write("01\n")


def publish_crl(directory):
    """A new CRL, renamed into place the way a deployment tool would."""
    openssl("ca", "-config", directory + "/ca.cnf", "-gencrl", "-out", directory + "/crl.new")
    os.rename(directory + "/crl.new", directory + "/crl.pem")


def wait_for_log(daemon, text, count):
    deadline = time.time() + 10
    while open(daemon.log_path).read().count(text) < count:
        assert time.time() < deadline, "no %r in the log:\n%s" % (text, open(daemon.log_path).read())
        time.sleep(0.05)


@case
def sighup_reloads_the_crl(directory):
    tls_directory = os.path.join(directory, "pki")
    os.mkdir(tls_directory)
    make_pki(tls_directory)
    certificate_authority(tls_directory)
    issue_certificate(tls_directory, "other", "/CN=other.example.org")
    publish_crl(tls_directory)
    daemon, spool = tls_daemon(directory, "identity client subject CN=*.example.org",
                               "tls crl %s/crl.pem\n" % tls_directory, tls_directory)
    for name in ("client", "other"):
        assert served(tls_directory, daemon.tls_port, name, spool), name
    openssl("ca", "-config", tls_directory + "/ca.cnf", "-revoke", tls_directory + "/client.crt")
    publish_crl(tls_directory)
    daemon.process.send_signal(signal.SIGHUP)
    wait_for_log(daemon, "SIGHUP: configuration reloaded", 1)
    try:
        served(tls_directory, daemon.tls_port, "client", spool)
        raise AssertionError("a revoked certificate was served after SIGHUP")
    except (ssl.SSLError, OSError, EOFError):
        pass
    wait_for_log(daemon, "certificate revoked", 1)
    assert served(tls_directory, daemon.tls_port, "other", spool), "other is still good"
    # A CRL that does not load: the reload is refused, the context in use stays.
    with open(tls_directory + "/crl.pem", "w") as f:
        f.write("-----BEGIN X509 CRL-----\nnot a CRL\n-----END X509 CRL-----\n")
    daemon.process.send_signal(signal.SIGHUP)
    wait_for_log(daemon, "SIGHUP: configuration not reloaded, TLS: %s/crl.pem" % tls_directory, 1)
    assert served(tls_directory, daemon.tls_port, "other", spool)
    try:
        served(tls_directory, daemon.tls_port, "client", spool)
        raise AssertionError("the revocation was forgotten by a failed reload")
    except (ssl.SSLError, OSError, EOFError):
        pass
    assert daemon.process.poll() is None
    daemon.stop()


@case
def plaintext_to_a_tls_port(directory):
    daemon, spool = tls_daemon(directory)
    plain = Rmt.connect(daemon.tls_port)
    answered = False
    try:
        plain.send(b"O%s/plain.tar\n65 O_WRONLY|O_CREAT\nW5\nhello" % spool.encode())
        plain.reply()
        answered = True
    except (EOFError, OSError, AssertionError):
        pass
    assert not answered, "plaintext was answered on a TLS port"
    assert not os.path.exists(spool + "/plain.tar")
    assert daemon.logged("TLS handshake with")
    good = tls_connect(directory, daemon.tls_port, "client")
    assert good.version() == 2
    daemon.stop()


@case
def truncated_tls_stream_gets_no_acknowledgement(directory):
    daemon, spool = tls_daemon(directory)
    rmt = tls_connect(directory, daemon.tls_port, "client")
    rmt.open(spool + "/cut.tar", O_WRONLY | O_CREAT)
    assert rmt.write(b"a" * 1000) == 1000
    rmt.send(b"W5000\n" + b"b" * 2000)
    time.sleep(0.2)
    raw = rmt.sock.detach()  # drop the TCP connection under the TLS session, no TLS close
    socket.socket(fileno=raw).close()
    time.sleep(0.5)
    assert os.path.getsize(spool + "/cut.tar") == 1000, "only the acknowledged record"
    daemon.stop()


# ---------------------------------------------------------------- audit


def assert_log_is_clean(path):
    """Every byte of the log is printable ASCII or the newline that ends a line."""
    log = open(path, "rb").read()
    raw = sorted(set(b for b in log if b != 10 and not 0x20 <= b < 0x7f))
    assert not raw, "raw bytes %s reached the log:\n%r" % (raw, log[-600:])
    return log


@case
def client_strings_are_escaped_in_the_log(directory):
    spool = os.path.join(directory, "spool")
    os.mkdir(spool)
    daemon = Daemon(directory, None, "--allow", spool)
    rmt = daemon.connect()
    rmt.send(b"O/etc/\x1b[31mred\x07\n0\n")
    expect_error(rmt.reply, 13)
    # A served name: carriage return, a forged line, C1 CSI and a right-to-left override.
    name = b"%s/ok\rrmtd: session 9: forged\x9b2J\xe2\x80\xaerat.tar" % spool.encode()
    rmt.send(b"O%s\n66 O_RDWR|O_CREAT\n" % name)
    assert rmt.reply() == 0
    rmt.close()
    rmt.send(b"\x1b\n")  # a garbage command letter
    expect_error(rmt.reply, 22)
    log = assert_log_is_clean(daemon.log_path)
    assert b"\\033[31mred\\007" in log, log[-400:]
    assert b"ok\\rrmtd: session 9: forged\\233" in log, log[-400:]
    assert b"\\342\\200\\256rat.tar" in log, log[-400:]
    assert b"garbage command \"\\033\"" in log, log[-400:]
    daemon.stop()


@case
def ssh_original_command_is_escaped_in_the_log(directory):
    log_path = os.path.join(directory, "stdio.log")
    forged = "rmt\nrmtd: session 1: open /etc/shadow O_RDONLY by root\x1b]0;owned\x07"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([RMTD, "--stdio", "-d", "-v"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=log,
                                   env=dict(os.environ, SSH_ORIGINAL_COMMAND=forged))
        out, _ = process.communicate(b"V2\n", timeout=30)
    assert out == b"A2\n", out
    log = assert_log_is_clean(log_path)
    assert b'ssh asked for "rmt\\nrmtd: session 1: open /etc/shadow' in log, log
    assert not any(line.startswith(b"rmtd: session 1: open") for line in log.split(b"\n")), \
        "a forged line reached the log"


@case
def certificate_subjects_are_escaped_in_the_log(directory):
    daemon, spool = tls_daemon(directory, 'identity client subject "CN=*"')
    # U+0085 (a C1 control, NEL) and U+202E (right-to-left override) in a UTF8String.
    issue_certificate(directory, "bidi", "/CN=ok\u0085forged\u202egro.elpmaxe", utf8=True)
    rmt = tls_connect(directory, daemon.tls_port, "bidi")
    rmt.open(spool + "/bidi.tar", O_WRONLY | O_CREAT)
    rmt.close()
    log = assert_log_is_clean(daemon.log_path)
    assert b"CN=ok\\302\\205forged\\342\\200\\256gro.elpmaxe" in log, log[-600:]
    daemon.stop()


def main():
    global RMTD
    RMTD = os.path.abspath(sys.argv[1])
    cases.run(CASES, STARTED, "rmtd-attack-", sys.argv[2:])


if __name__ == "__main__":
    main()
