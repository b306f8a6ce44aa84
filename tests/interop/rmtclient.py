"""rmtclient.py - a minimal rmt protocol client for the end-to-end tests.

It speaks the protocol byte for byte over a socket or a pair of pipes, so the
tests see exactly what rmtd answers. Errors from the server raise RmtError with
the errno the server sent.
"""
import os
import random
import socket
import struct
import subprocess
import time

MTWEOF, MTFSF, MTBSF, MTFSR, MTBSR, MTREW, MTOFFL, MTNOP = 5, 1, 2, 3, 4, 6, 7, 8
MTEOM = 12

O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC = 0, 1, 2, 64, 512


class RmtError(Exception):
    def __init__(self, errno, text):
        super().__init__("E%d %s" % (errno, text))
        self.errno = errno
        self.text = text


class Rmt:
    def __init__(self, sock=None, process=None, timeout=30):
        self.sock = sock
        self.process = process
        self.buffer = b""
        if sock is not None:
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) \
                if sock.family in (socket.AF_INET, socket.AF_INET6) else None

    @classmethod
    def connect(cls, port, host="127.0.0.1", timeout=30):
        return cls(socket.create_connection((host, port), timeout=timeout), timeout=timeout)

    @classmethod
    def spawn(cls, argv, stderr=None):
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=stderr)
        return cls(process=process)

    # ---------------------------------------------------------------- bytes
    def send(self, data):
        if self.sock is not None:
            self.sock.sendall(data)
        else:
            self.process.stdin.write(data)
            self.process.stdin.flush()

    def _more(self):
        if self.sock is not None:
            chunk = self.sock.recv(1 << 20)
        else:
            chunk = os.read(self.process.stdout.fileno(), 1 << 20)
        if not chunk:
            raise EOFError("server closed the connection")
        self.buffer += chunk

    def read_line(self):
        while b"\n" not in self.buffer:
            self._more()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def read_exact(self, n):
        while len(self.buffer) < n:
            self._more()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def reply(self):
        line = self.read_line()
        if line.startswith(b"A"):
            return int(line[1:])
        if line.startswith(b"E") or line.startswith(b"F"):
            text = self.read_line()
            raise RmtError(int(line[1:]), text.decode(errors="replace"))
        raise AssertionError("malformed reply %r" % line)

    def close_transport(self):
        if self.sock is not None:
            self.sock.close()
        else:
            self.process.stdin.close()
            self.process.wait(timeout=30)

    # ---------------------------------------------------------------- requests
    def open(self, path, flags=O_RDONLY):
        names = {O_RDONLY: "O_RDONLY", O_WRONLY: "O_WRONLY", O_RDWR: "O_RDWR"}
        symbolic = names[flags & 3]
        if flags & O_CREAT:
            symbolic += "|O_CREAT"
        if flags & O_TRUNC:
            symbolic += "|O_TRUNC"
        self.send(b"O%s\n%d %s\n" % (path.encode(), flags, symbolic.encode()))
        return self.reply()

    def close(self):
        self.send(b"C\n")
        return self.reply()

    def write(self, data):
        self.send(b"W%d\n" % len(data) + data)
        return self.reply()

    def read(self, n):
        self.send(b"R%d\n" % n)
        got = self.reply()
        return self.read_exact(got)

    def ioctl(self, op, count=1):
        self.send(b"I%d\n%d\n" % (op, count))
        return self.reply()

    def tell(self):
        """QFA tape position (DUMP's L whence 10)."""
        self.send(b"L0\n10\n")
        return self.reply()

    def locate(self, block):
        self.send(b"L%d\n11\n" % block)
        return self.reply()

    def status_field(self, letter):
        self.send(b"s" + letter.encode())
        return self.reply()

    def version(self):
        self.send(b"V2\n")
        return self.reply()


def free_port():
    """A TCP port free on 127.0.0.1 now, below the kernel's ephemeral range.

    A port the kernel handed out (bind to 0) goes back to the ephemeral pool
    when it is closed, and the next outgoing connection of any test running
    alongside may take it before the server binds it. Outgoing connections
    never take a port below the range, so one chosen there stays free."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    low, high = (10000, ephemeral_low) if ephemeral_low > 11000 else (1024, ephemeral_low)
    for _ in range(200):
        port = random.randrange(low, high)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        return port
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on port %d" % port)
