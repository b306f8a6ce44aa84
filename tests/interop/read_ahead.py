"""read_ahead.py - rmt-connect's reading ahead answers every request as a
classic client's drive would.

  read_ahead.py CONNECT SPOOL DAEMON_PORT PORT

Writes, straight to the daemon, a virtual tape of two files (records numbered
in their bytes; the ninth flagged bad, so reading it fails) and a plain file;
then runs one script of requests twice through rmt-connect on PORT (a delay
relay), classic and pipelined, and fails unless both transcripts are the same:
the same records, the filemark at the same read, the error at the read that
met it (not earlier), and the drive left where the last read left it (QFA
position on the tape, offset on the file) before a tape operation, a seek, a
status and a close.
"""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rmtclient import Rmt, RmtError, MTWEOF, MTFSF, MTREW, O_RDONLY, O_RDWR, O_CREAT  # noqa: E402

RECORD = 10240


def record(file_number, index):
    stamp = b"file %d record %d " % (file_number, index)
    return (stamp * (RECORD // len(stamp) + 1))[:RECORD]


def build(spool, port):
    rmt = Rmt.connect(port)
    rmt.open(spool + "/ahead.tap", O_RDWR)
    for file_number, count in ((0, 20), (1, 6)):
        for i in range(count):
            rmt.write(record(file_number, i))
        rmt.ioctl(MTWEOF, 1)
    rmt.close()
    # SIMH: a length word before and after each record; its top bit flags it bad.
    with open(spool + "/ahead.tap", "r+b") as tape:
        for offset in (8 * (RECORD + 8), 8 * (RECORD + 8) + 4 + RECORD):
            tape.seek(offset)
            tape.write(struct.pack("<I", RECORD | 0x80000000))
    if os.path.exists(spool + "/ahead.tap.idx"):
        os.unlink(spool + "/ahead.tap.idx")
    rmt.open(spool + "/ahead.dat", O_RDWR | O_CREAT)
    for i in range(9):
        rmt.write(record(2, i)[:4096])
    rmt.close()
    rmt.close_transport()


def step(transcript, what, call):
    try:
        result = call()
        if isinstance(result, bytes):
            result = "%d bytes %r" % (len(result), result[:24])
        transcript.append("%s -> %s" % (what, result))
    except RmtError as error:
        transcript.append("%s -> E%d" % (what, error.errno))


def script(rmt, spool):
    t = []
    step(t, "open tape", lambda: rmt.open(spool + "/ahead.tap", O_RDONLY))
    step(t, "rewind", lambda: rmt.ioctl(MTREW, 1))
    for i in range(3):
        step(t, "read", lambda: rmt.read(RECORD))
    step(t, "position", rmt.tell)  # three records read, not the window's
    for i in range(19):  # the rest of file 0, the filemark, then file 1
        step(t, "read", lambda: rmt.read(RECORD))
    for i in range(2):
        step(t, "read", lambda: rmt.read(RECORD))
    step(t, "position", rmt.tell)
    step(t, "status", lambda: len(rmt.read_status()))
    for i in range(2):
        step(t, "read", lambda: rmt.read(RECORD))
    step(t, "rewind", lambda: rmt.ioctl(MTREW, 1))
    for i in range(4):
        step(t, "read", lambda: rmt.read(RECORD))
    step(t, "forward a file", lambda: rmt.ioctl(MTFSF, 1))
    for i in range(2):
        step(t, "read", lambda: rmt.read(RECORD))
    step(t, "position", rmt.tell)
    for i in range(2):
        step(t, "read 512", lambda: rmt.read(512))  # another size: given back first
    step(t, "position", rmt.tell)
    step(t, "close", rmt.close)
    step(t, "open file", lambda: rmt.open(spool + "/ahead.dat", O_RDONLY))
    for i in range(3):
        step(t, "read", lambda: rmt.read(4096))
    step(t, "offset", lambda: rmt.seek_current())
    for i in range(8):  # to the end of the file, and past it
        step(t, "read", lambda: rmt.read(4096))
    step(t, "offset", lambda: rmt.seek_current())
    step(t, "close", rmt.close)
    return t


def run(connect, port, pipelined, spool):
    env = dict(os.environ, RMT_PORT=str(port), RMT_PIPELINE="1" if pipelined else "0",
               RMT_CONNECT_CONFIG="/dev/null")
    process = subprocess.Popen([connect, "localhost"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    rmt = Rmt(process=process)
    transcript = script(rmt, spool)
    process.stdin.close()
    err = process.stderr.read().decode(errors="replace")
    process.wait(timeout=30)
    return transcript, err


def main():
    connect, spool, daemon_port, port = sys.argv[1:5]
    # Two more methods on the test client: S (binary status) and a relative tell.
    Rmt.read_status = lambda self: (self.send(b"S"), self.read_exact(self.reply()))[1]
    Rmt.seek_current = lambda self: (self.send(b"LSEEK_CUR\n0\n"), self.reply())[1]
    build(spool, int(daemon_port))
    classic, classic_err = run(connect, int(port), False, spool)
    piped, piped_err = run(connect, int(port), True, spool)
    if "classic request and reply" in piped_err:
        sys.exit("rmt-connect did not pipeline: " + piped_err)
    # Three reads, then a position: the reads ahead met the bad ninth record unasked.
    if "a read ahead met an error the program did not ask for" not in piped_err:
        sys.exit("rmt-connect did not read ahead: " + piped_err)
    if classic != piped:
        for a, b in zip(classic, piped):
            print("%s %-40s | %s" % (" " if a == b else "!", a, b))
        sys.exit("the pipelined transcript differs from the classic one\n" + piped_err)
    print("\n".join(piped))
    sys.stderr.write(piped_err)


if __name__ == "__main__":
    main()
