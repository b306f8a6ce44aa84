"""raw_link.py - what delay_relay.py's link itself delivers (the bench's ceiling).

  raw_link.py RELAY DELAY_MS RATE MIB

Starts the relay in front of a sink and sends MIB MiB through it as fast as
TCP allows; prints the rate reached as a percentage of RATE (bytes per second).
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def main():
    relay, delay, rate, mib = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(1)
    port_file = os.path.join(tempfile.mkdtemp(), "port")
    process = subprocess.Popen([sys.executable, relay, "--target", "127.0.0.1:%d" %
                                sink.getsockname()[1], "--delay", delay, "--rate", str(rate),
                                "--port-file", port_file], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    while not os.path.exists(port_file):
        time.sleep(0.05)
    received = [0]

    def drain():
        connection, _ = sink.accept()
        while True:
            data = connection.recv(1 << 20)
            if not data:
                break
            received[0] += len(data)

    thread = threading.Thread(target=drain)
    thread.start()
    sender = socket.create_connection(("127.0.0.1", int(open(port_file).read())))
    chunk = b"x" * (1 << 20)
    start = time.monotonic()
    for _ in range(mib):
        sender.sendall(chunk)
    sender.shutdown(socket.SHUT_WR)
    thread.join()
    elapsed = time.monotonic() - start
    process.kill()
    os.unlink(port_file)
    os.rmdir(os.path.dirname(port_file))
    print("%.0f" % (100 * received[0] / elapsed / rate))


if __name__ == "__main__":
    main()
