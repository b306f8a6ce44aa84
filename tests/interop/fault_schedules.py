#!/usr/bin/env python3
"""fault_schedules.py - random fault schedules under real GNU tar and dump.

Each iteration draws a schedule for the fault drive from a seeded generator (the
seed is printed, and FAULT_SEED=S replays exactly that iteration), runs an
unmodified client against rmtd-fault (in stdio mode, or the daemon for tar's
128 KiB records, which the drive's thread moves) through an rsh stand-in that
records both directions of the conversation, and checks:
  - every failure reached the program: when any request got an E reply (or a W
    an acknowledgement short of its length), the client exits non-zero and says
    so (the error's text, or tar's "Wrote only"); when none did, it succeeds and
    its archive is byte-identical to one made locally (tar) or complete (dump);
  - nothing acknowledged is lost: the medium holds every record acknowledged, in
    order, whole; the only other records are ones the device took and then
    reported as failed (@after);
  - the tape stays readable: rmt-vtape list reads the image and rmtd reads every
    record of it back;
  - the server logged one line for each E reply and no crash or sanitizer report.

Usage: fault_schedules.py BUILD_DIR
Environment: FAULT_ITERATIONS (tar runs, default 40; dump runs are a quarter of
it), FAULT_SEED (run only the iteration with this seed), RMTD_KEEP_TMP.
"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rmtclient import MTREW, O_RDONLY, Rmt, RmtError, free_port, wait_for_port  # noqa: E402

BUILD = WORK = None
# dump on an image file needs a private mount namespace (rundump.sh).
RUNDUMP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rundump.sh")
RECORD = 10240  # tar's default 20 blocks, and dump's 10 KiB records


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


# ---------------------------------------------------------------- the recorded conversation

SHIM = r"""#!/bin/sh
# rsh stand-in: rmtd-fault in stdio mode, both directions of the conversation recorded.
base=$(mktemp "$FAULT_RUN/conn.XXXXXX")
exec 2>>"$FAULT_RUN/server.log"
tee "$base.c2s" | "$FAULT_SERVER" --stdio -d --allow "$FAULT_SPOOL" | tee "$base.s2c"
: >"$base.done"
"""


DAEMON_SHIM = r"""#!/bin/sh
# rsh stand-in: a TCP connection to the rmtd-fault daemon, both directions recorded.
base=$(mktemp "$FAULT_RUN/conn.XXXXXX")
tee "$base.c2s" | "$FAULT_CONNECT" -p "$FAULT_PORT" 127.0.0.1 | tee "$base.s2c"
: >"$base.done"
"""
BIG_BLOCKING = 256  # tar -b 256: 128 KiB records, which the daemon's drive thread moves


def partial_record(requests):
    """True when what is left of the requests is a W header and less data than it counts."""
    rest = requests.data[requests.at:]
    match = re.match(rb"W(\d+)\n", rest)
    return bool(match) and len(rest) - match.end() < int(match.group(1))


class Stream:
    def __init__(self, data):
        self.data, self.at = data, 0

    def more(self):
        return self.at < len(self.data)

    def byte(self):
        expect(self.more(), "conversation ends mid-request")
        b = self.data[self.at:self.at + 1]
        self.at += 1
        return b

    def line(self):
        end = self.data.find(b"\n", self.at)
        expect(end >= 0, "conversation ends mid-line")
        text, self.at = self.data[self.at:end], end + 1
        return text

    def take(self, n):
        expect(self.at + n <= len(self.data), "conversation ends mid-record")
        chunk, self.at = self.data[self.at:self.at + n], self.at + n
        return chunk


def conversation(base):
    """[(letter, data, reply)] of one connection; reply ('A', n), ('E', errno, text), or
    None for a last request the client did not wait to see answered. A last W whose data
    stops short of its count is (b"W!", data, None): see dump_stalled_mid_record."""
    requests, replies = Stream(open(base + ".c2s", "rb").read()), Stream(
        open(base + ".s2c", "rb").read())
    pairs = []
    while requests.more():
        if partial_record(requests):
            pairs.append((b"W!", requests.data[requests.data.index(b"\n", requests.at) + 1:],
                          None))
            break
        letter = requests.byte()
        data = None
        if letter == b"\n":
            continue  # the newline some clients send after S
        if letter in b"OLIi":
            requests.line()
            requests.line()
        elif letter == b"W":
            data = requests.take(int(requests.line()))
        elif letter in b"CRVv":
            requests.line()
        elif letter == b"s":
            requests.byte()
        elif letter != b"S":
            raise Failure("unknown request %r" % letter)
        if not replies.more():
            # the client left before the answer (it gave up): the request may have run
            pairs.append((letter, data, None))
            break
        status = replies.line()
        if status.startswith(b"A"):
            n = int(status[1:])
            if letter in b"RS":
                replies.take(n)
            pairs.append((letter, data, ("A", n)))
        else:
            errno = int(status[1:])
            pairs.append((letter, data, ("E", errno, replies.line().decode(errors="replace"))))
    return pairs


def conversations():
    # The client may exit before the recorders have written the last reply: wait for them.
    deadline = time.time() + 20
    while any(not os.path.exists(os.path.join(RUN, p[:-4] + ".done"))
              for p in os.listdir(RUN) if p.endswith(".c2s")):
        expect(time.time() < deadline, "a recorded connection did not end")
        time.sleep(0.05)
    bases = sorted({p[:-4] for p in os.listdir(RUN) if p.endswith(".c2s")},
                   key=lambda p: os.stat(os.path.join(RUN, p + ".c2s")).st_mtime_ns)
    return [pair for base in bases for pair in conversation(os.path.join(RUN, base))]


# ---------------------------------------------------------------- the medium

def tape_file_records(tape):
    """Every record of the tape's first file, read back by rmtd (without faults)."""
    run = subprocess.run([os.path.join(BUILD, "rmtd", "rmt-vtape"), "list", tape],
                         capture_output=True, text=True)
    expect(run.returncode == 0, "rmt-vtape list cannot read the image: %s" % run.stderr)
    if re.match(r"file 0: 0 records", run.stdout) and "filemark" not in run.stdout:
        return []  # blank: reading it is EIO, as on st
    rmt = Rmt.spawn([os.path.join(BUILD, "rmtd", "rmtd"), "--stdio", "--allow", SPOOL],
                    stderr=subprocess.DEVNULL)
    records = []
    try:
        rmt.open(tape, O_RDONLY)
        rmt.ioctl(MTREW, 1)
        while True:
            record = rmt.read(1 << 20)
            if not record:
                break
            records.append(record)
        rmt.ioctl(MTREW, 1)  # a non-rewinding name: leave it at BOT for the next reader
        rmt.close()
    except RmtError as error:
        raise Failure("record %d of the tape cannot be read: %s" % (len(records), error))
    finally:
        rmt.close_transport()
    return records


def check_nothing_lost(writes, medium, is_tape):
    """writes: [(data, reply)]. The medium (records, or a file's bytes) must hold every
    acknowledged record in order; a failed one may be there only whole (written, then
    reported as failed). A client may send a failed record again (dump after ENOSPC), so
    whether a failed one is on the medium is decided by what follows."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * len(writes) + 100))
    memo = {}

    def piece(at, length):
        if is_tape:
            return medium[at] if at < len(medium) else None
        return medium[at:at + length]

    def step(at, length):
        return at + (1 if is_tape else length)

    def fits(i, at):
        """Can writes[i:] account for the medium from at on? Returns the first write that
        cannot (an acknowledged one missing), or None."""
        key = (i, at)
        if key in memo:
            return memo[key]
        if i == len(writes):
            result = None if at == len(medium) else ("extra", at)
        else:
            data, reply = writes[i]
            if reply is not None and reply[0] == "A":
                n = reply[1]
                here = piece(at, n)
                if here is not None and here[:n] == data[:n] and (not is_tape or len(here) == n):
                    result = fits(i + 1, step(at, n))
                else:
                    result = ("missing", i)
            else:
                result = fits(i + 1, at)
                if result is not None and piece(at, len(data)) == data:
                    taken = fits(i + 1, step(at, len(data)))
                    result = taken if taken is None or taken > result else result
        memo[key] = result
        return result

    problem = fits(0, 0)
    if problem is None:
        return
    if problem[0] == "extra":
        raise Failure("%s on the medium from %s %d on that no write put there"
                      % ("records" if is_tape else "bytes", "record" if is_tape else "offset",
                         problem[1]))
    raise Failure("acknowledged record %d (%d bytes) is not on the medium"
                  % (problem[1] + 1, writes[problem[1]][1][1]))


# ---------------------------------------------------------------- schedules

def draw_schedule(rng, calls):
    """One or two rules over the calls the client makes: {call: how many}."""
    actions = {
        "open": ["EIO", "EACCES", "ENOMEDIUM", "delay:30"],
        "close": ["EIO", "ENOSPC", "delay:30"],
        "write": ["EIO", "ENOSPC", "ENXIO", "EIO@after", "short:%d" % rng.randrange(1, RECORD),
                  "delay:20"],
        "read": ["EIO", "ENXIO", "EMEDIUMTYPE", "short:%d" % rng.randrange(1, RECORD),
                 "delay:20"],
    }
    rules = []
    for _ in range(rng.choice([1, 1, 2])):
        call = rng.choice(sorted(calls))
        which = rng.randrange(1, calls[call] + 1)
        if rng.random() < 0.15:
            which = "%d+" % which
        rules.append("%s#%s=%s" % (call, which, rng.choice(actions[call])))
    return ";".join(rules)


def run_client(argv, env, timeout=120, stalled=None):
    """Run the client in its own session; returns (rc, output, seconds). When the
    predicate stalled() holds for 3 s the client's whole session is killed and rc is
    None; after timeout s it is killed and the run fails."""
    started = time.time()
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
    stalled_since = None
    while True:
        try:
            output, _ = child.communicate(timeout=0.5)
            return child.returncode, output.decode(errors="replace"), time.time() - started
        except subprocess.TimeoutExpired:
            pass
        now = time.time()
        if stalled is not None and stalled():
            stalled_since = stalled_since or now
        else:
            stalled_since = None
        if stalled_since and now - stalled_since >= 3:
            # End the stalled client only: the server must see its end of input mid-record.
            kill_in_session(child.pid, stalled.client)
            try:
                output, _ = child.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, 9)
                output, _ = child.communicate()
                raise Failure("the server did not end after its client was killed:\n"
                              + output.decode(errors="replace"))
            return None, output.decode(errors="replace"), now - started
        if now - started > timeout:
            os.killpg(child.pid, 9)  # dump's slaves and the rsh stand-in too
            output, _ = child.communicate()
            raise Failure("%s did not end in %d s:\n%s"
                          % (argv[0], timeout, output.decode(errors="replace")))


def kill_in_session(session, command):
    """SIGKILL every process named command in the given session."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid) as stat:
                fields = stat.read()
        except OSError:
            continue
        name = fields[fields.index("(") + 1:fields.rindex(")")]
        rest = fields[fields.rindex(")") + 2:].split()
        if name == command and int(rest[3]) == session:
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass


def the_one_conversation():
    """The pairs of the one connection recorded so far; [] while there is none, more
    than one, or a request or reply is still on its way (or its recorder not started)."""
    bases = [p[:-4] for p in os.listdir(RUN) if p.endswith(".c2s")]
    if len(bases) != 1:
        return []
    try:
        return conversation(os.path.join(RUN, bases[0]))
    except (Failure, FileNotFoundError):
        return []


def dump_stalled_mid_record():
    """dump(8) writes a W's header and its data with two write(2)s, from a slave process;
    after a failed W its master kills the slaves (killall in dump/tape.c), so one can die
    between the two and leave a header whose data never comes; the master's own next
    request then waits for ever, as it would with any rmt. True when the one recorded
    connection is in that state: an E reply sent, the requests ending inside a W."""
    pairs = the_one_conversation()
    return bool(pairs) and pairs[-1][0] == b"W!" and any(
        reply is not None and reply[0] == "E" for _, _, reply in pairs)


dump_stalled_mid_record.client = "dump"


def dump_retrying_a_failed_open():
    """dump(8) waits for a tape's rewind by opening it again after its close, and
    retries every 10 s for as long as the open fails (trewind in dump/tape.c): a
    schedule that fails every later open keeps it there for ever, as a local drive
    that never comes back would. True when the one recorded connection has had its
    close answered and ends in two opens answered with an error."""
    pairs = the_one_conversation()
    closed = [i for i, (letter, _, reply) in enumerate(pairs)
              if letter == b"C" and reply is not None and reply[0] == "A"]
    tail = pairs[-2:]
    return bool(closed) and len(pairs) - closed[0] > 2 and len(tail) == 2 and all(
        letter == b"O" and reply is not None and reply[0] == "E" for letter, _, reply in tail)


def dump_stalled():
    return dump_stalled_mid_record() or dump_retrying_a_failed_open()


dump_stalled.client = "dump"


def check_reported(pairs, rc, output, program, ignored=b"", short_writes_retried=False):
    """Every E reply and short acknowledgement reached the program as an error. E replies
    to the requests in ignored are only checked to have been sent: the program does not
    look at them (dump's close). A program that retries short writes must send the rest."""
    errors = [(letter, reply) for letter, data, reply in pairs
              if reply is not None and reply[0] == "E" and letter not in ignored]
    shorts = [i for i, (letter, data, reply) in enumerate(pairs)
              if letter == b"W" and reply is not None and reply[0] == "A"
              and reply[1] < len(data)]
    if short_writes_retried:
        for i in shorts:
            rest = pairs[i][1][pairs[i][2][1]:]
            expect(i + 1 < len(pairs) and pairs[i + 1][0] == b"W" and pairs[i + 1][1] == rest,
                   "%s did not write the rest of a short write" % program)
        shorts = []
    if not errors and not shorts:
        expect(rc == 0, "%s failed (exit %d) although no request failed:\n%s"
               % (program, rc, output))
        return False
    expect(rc != 0, "%s exited 0 after %s" % (program, errors or "a short write"))
    if errors:
        text = errors[0][1][2]
        expect(text in output, "%s did not say %r:\n%s" % (program, text, output))
    else:
        expect("Wrote only" in output or "write error" in output,
               "%s did not report the short write:\n%s" % (program, output))
    return True


def check_server_log(pairs):
    text = open(os.path.join(RUN, "server.log")).read()
    for bad in ("AddressSanitizer", "runtime error:", "Segmentation fault", "LeakSanitizer"):
        expect(bad not in text, "crash or sanitizer report in the server log:\n" + text)
    # E9 answers a request made with no device open (dump closes after a failed open):
    # no device call failed, so it has no log line.
    errors = [reply for _, _, reply in pairs
              if reply is not None and reply[0] == "E" and reply[1] != 9]
    unanswered = sum(1 for _, _, reply in pairs if reply is None)
    warned = [line for line in text.splitlines()
              if re.search(r"(failed|close of .*): ", line) and "fault:" not in line]
    expect(len(errors) <= len(warned) <= len(errors) + unanswered,
           "%d E replies (%d requests unanswered) but %d log lines:\n%s"
           % (len(errors), unanswered, len(warned), text))


# ---------------------------------------------------------------- the clients

def tar_env():
    env = dict(os.environ, FAULT_RUN=RUN, FAULT_SPOOL=SPOOL,
               FAULT_SERVER=os.path.join(BUILD, "rmtd", "rmtd-fault"),
               FAULT_CONNECT=os.path.join(BUILD, "librmt", "rmt-connect"))
    return env


def tar_create(seed, target_is_tape):
    rng = random.Random(seed)
    records = os.path.getsize(LOCAL_ARCHIVE) // RECORD
    schedule = draw_schedule(rng, {"open": 1, "write": records, "close": 1})
    name = os.path.join(SPOOL, "t%d.%s" % (seed, "tap" if target_is_tape else "tar"))
    if target_is_tape:
        subprocess.run([os.path.join(BUILD, "rmtd", "rmt-vtape"), "create", name], check=True,
                       stdout=subprocess.DEVNULL)
    print("[fault-schedules] seed %d: tar -c to %s, RMTD_FAULT='%s'"
          % (seed, "a virtual tape" if target_is_tape else "a file", schedule), flush=True)
    rc, output, _ = run_client(["tar", "--rsh-command=" + SHIM_PATH, "-cf", "localhost:" + name,
                                "-C", SRC, "."], dict(tar_env(), RMTD_FAULT=schedule))
    pairs = conversations()
    failed = check_reported(pairs, rc, output, "tar -c")
    writes = [(data, reply) for letter, data, reply in pairs if letter == b"W"]
    if target_is_tape:
        medium = tape_file_records(name)
    else:
        medium = open(name, "rb").read() if os.path.exists(name) else b""
    check_nothing_lost(writes, medium, target_is_tape)
    if not failed:
        whole = b"".join(medium) if target_is_tape else medium
        expect(whole == open(LOCAL_ARCHIVE, "rb").read(),
               "the archive differs from a local tar -c")
    check_server_log(pairs)


def tar_daemon(seed):
    """tar -c -b 256 to a virtual tape in the daemon: each record goes from the socket to
    the device on the drive's thread, where the faults happen."""
    rng = random.Random(seed)
    records = os.path.getsize(LOCAL_BIG_ARCHIVE) // (BIG_BLOCKING * 512)
    schedule = draw_schedule(rng, {"open": 1, "write": records, "close": 1})
    name = os.path.join(SPOOL, "t%d.tap" % seed)
    subprocess.run([os.path.join(BUILD, "rmtd", "rmt-vtape"), "create", name], check=True,
                   stdout=subprocess.DEVNULL)
    print("[fault-schedules] seed %d: tar -c -b %d to a virtual tape in the daemon, "
          "RMTD_FAULT='%s'" % (seed, BIG_BLOCKING, schedule), flush=True)
    port = free_port()
    log = open(os.path.join(RUN, "server.log"), "w")
    daemon = subprocess.Popen([os.path.join(BUILD, "rmtd", "rmtd-fault"), "-d", "--control",
                               "none", "--listen", "127.0.0.1:%d" % port, "--allow", SPOOL],
                              stdout=log, stderr=subprocess.STDOUT,
                              env=dict(os.environ, RMTD_FAULT=schedule))
    try:
        wait_for_port(port)
        rc, output, _ = run_client(["tar", "--rsh-command=" + DAEMON_SHIM_PATH, "-b",
                                    str(BIG_BLOCKING), "-cf", "localhost:" + name, "-C", SRC,
                                    "."], dict(tar_env(), FAULT_PORT=str(port)))
        pairs = conversations()
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        log.close()
    failed = check_reported(pairs, rc, output, "tar -c -b %d" % BIG_BLOCKING)
    writes = [(data, reply) for letter, data, reply in pairs if letter == b"W"]
    medium = tape_file_records(name)
    check_nothing_lost(writes, medium, True)
    if not failed:
        expect(b"".join(medium) == open(LOCAL_BIG_ARCHIVE, "rb").read(),
               "the archive differs from a local tar -c -b %d" % BIG_BLOCKING)
    check_server_log(pairs)


def tar_extract(seed):
    rng = random.Random(seed)
    records = os.path.getsize(LOCAL_ARCHIVE) // RECORD
    schedule = draw_schedule(rng, {"open": 1, "read": records, "close": 1})
    print("[fault-schedules] seed %d: tar -x from a virtual tape, RMTD_FAULT='%s'"
          % (seed, schedule), flush=True)
    before = tape_file_records(READ_TAPE)
    out = os.path.join(RUN, "x")
    os.mkdir(out)
    rc, output, _ = run_client(["tar", "--rsh-command=" + SHIM_PATH, "-xf",
                                "localhost:" + READ_TAPE, "-C", out],
                               dict(tar_env(), RMTD_FAULT=schedule))
    pairs = conversations()
    failed = check_reported(pairs, rc, output, "tar -x")
    if not failed:
        diff = subprocess.run(["diff", "-r", SRC, out], capture_output=True, text=True)
        expect(diff.returncode == 0, "extracted tree differs:\n" + diff.stdout[:2000])
    expect(tape_file_records(READ_TAPE) == before, "reading changed the tape")
    check_server_log(pairs)
    # the next iteration reads from the start again
    rmt = Rmt.spawn([os.path.join(BUILD, "rmtd", "rmtd"), "--stdio", "--allow", SPOOL],
                    stderr=subprocess.DEVNULL)
    rmt.open(READ_TAPE, O_RDONLY)
    rmt.ioctl(MTREW, 1)
    rmt.close()
    rmt.close_transport()


def dump_run(seed):
    rng = random.Random(seed)
    schedule = draw_schedule(rng, {"open": 1, "write": DUMP_RECORDS, "close": 1})
    name = os.path.join(SPOOL, "d%d.tap" % seed)
    subprocess.run([os.path.join(BUILD, "rmtd", "rmt-vtape"), "create", name], check=True,
                   stdout=subprocess.DEVNULL)
    print("[fault-schedules] seed %d: dump -0 to a virtual tape, RMTD_FAULT='%s'"
          % (seed, schedule), flush=True)
    rc, output, _ = run_client(
        ["sh", RUNDUMP, "dump", "-0", "-f",
         "localhost:" + name, IMAGE], dict(tar_env(), RMTD_FAULT=schedule, RSH=SHIM_PATH),
        stalled=dump_stalled)
    if rc is None:
        # Killed by us in one of dump's own stalls: the failure was reported (checked
        # below); a record cut short must not reach the medium, and after a clean close
        # every record is on it.
        if dump_retrying_a_failed_open():
            print("[fault-schedules] seed %d: dump retrying an open that fails after its "
                  "close; killed" % seed, flush=True)
        else:
            print("[fault-schedules] seed %d: dump stalled inside a W after the failure "
                  "(its slave killed between header and data); killed" % seed, flush=True)
        rc = -9
    pairs = conversations()
    # dump/tape.c ignores what rmtclose() returns (as it ignores close(2) on a local
    # tape): a failed C reaches dump as E<errno> (the recorded reply) and goes no further.
    # A short write is not an error to dump: it writes the rest (dump/tape.c).
    failed = check_reported(pairs, rc, output, "dump", ignored=b"C", short_writes_retried=True)
    if failed:
        expect("DUMP IS DONE" not in output, "dump said DUMP IS DONE after a failure")
    else:
        expect("DUMP IS DONE" in output, "dump did not finish:\n" + output)
    writes = [(data, reply) for letter, data, reply in pairs if letter == b"W"]
    medium = tape_file_records(name)
    check_nothing_lost(writes, medium, True)
    if not failed:
        listing = subprocess.run(["restore", "-t", "-f", "-"], input=b"".join(medium),
                                 capture_output=True)
        expect(listing.returncode == 0 and b"./big.bin" in listing.stdout,
               "restore -t of the dump failed:\n%s" % listing.stderr.decode(errors="replace"))
    check_server_log(pairs)


# ---------------------------------------------------------------- main

def make_tree(root):
    rng = random.Random(7)
    os.makedirs(root)
    for d in range(4):
        sub = os.path.join(root, "dir%d" % d)
        os.makedirs(sub)
        for f in range(8):
            with open(os.path.join(sub, "file%d" % f), "wb") as fh:
                fh.write(rng.randbytes(rng.choice([0, 100, 10240, rng.randrange(1, 60000)])))
    with open(os.path.join(root, "big.bin"), "wb") as fh:
        fh.write(rng.randbytes(600 * 1024 + 17))


def main():
    global BUILD, WORK, RUN, SPOOL, SRC, SHIM_PATH, LOCAL_ARCHIVE, READ_TAPE, IMAGE
    global DUMP_RECORDS, DAEMON_SHIM_PATH, LOCAL_BIG_ARCHIVE
    BUILD = os.path.abspath(sys.argv[1])
    iterations = int(os.environ.get("FAULT_ITERATIONS", "40"))
    only = os.environ.get("FAULT_SEED")
    base_seed = int(os.environ.get("FAULT_BASE_SEED", str(int(time.time()))))
    WORK = os.path.realpath(tempfile.mkdtemp(prefix="rmtd-fault-schedules-"))
    SPOOL, SRC = os.path.join(WORK, "spool"), os.path.join(WORK, "src")
    os.makedirs(SPOOL)
    make_tree(SRC)
    SHIM_PATH = os.path.join(WORK, "fault-shim")
    with open(SHIM_PATH, "w") as f:
        f.write(SHIM)
    os.chmod(SHIM_PATH, 0o755)
    DAEMON_SHIM_PATH = os.path.join(WORK, "fault-daemon-shim")
    with open(DAEMON_SHIM_PATH, "w") as f:
        f.write(DAEMON_SHIM)
    os.chmod(DAEMON_SHIM_PATH, 0o755)
    LOCAL_ARCHIVE = os.path.join(WORK, "local.tar")
    subprocess.run(["tar", "-cf", LOCAL_ARCHIVE, "-C", SRC, "."], check=True)
    LOCAL_BIG_ARCHIVE = os.path.join(WORK, "local-big.tar")
    subprocess.run(["tar", "-b", str(BIG_BLOCKING), "-cf", LOCAL_BIG_ARCHIVE, "-C", SRC, "."],
                   check=True)
    # the tape tar -x reads, written without faults
    READ_TAPE = os.path.join(SPOOL, "read.tap")
    subprocess.run([os.path.join(BUILD, "rmtd", "rmt-vtape"), "create", READ_TAPE], check=True,
                   stdout=subprocess.DEVNULL)
    RUN = os.path.join(WORK, "setup")
    os.makedirs(RUN)
    rc, output, _ = run_client(["tar", "--rsh-command=" + SHIM_PATH, "-cf",
                                "localhost:" + READ_TAPE, "-C", SRC, "."],
                               dict(tar_env(), RMTD_FAULT=""))
    expect(rc == 0, "setting up the tape to read failed:\n" + output)
    rmt = Rmt.spawn([os.path.join(BUILD, "rmtd", "rmtd"), "--stdio", "--allow", SPOOL])
    rmt.open(READ_TAPE, O_RDONLY)
    rmt.ioctl(MTREW, 1)
    rmt.close()
    rmt.close_transport()
    # dump needs root (a private mount namespace) and an ext2 image of the tree
    can_dump = os.geteuid() == 0 and shutil.which("dump") and shutil.which("mke2fs")
    if can_dump:
        IMAGE = os.path.join(WORK, "fs.ext2")
        subprocess.run(["mke2fs", "-q", "-t", "ext2", "-b", "1024", "-d", SRC, "-F", IMAGE,
                        "8M"], check=True, capture_output=True)
        DUMP_RECORDS = 110  # a level 0 of that image is about 100 records of 10 KiB
    else:
        raise Failure("dump needs root and dump/mke2fs installed (contrib/setup.sh deps)")

    plan = []
    for i in range(iterations):
        seed = base_seed + i
        plan.append((seed, ["tar-tape", "tar-file", "tar-extract", "tar-daemon"][i % 4]))
    for i in range(max(1, iterations // 4)):
        plan.append((base_seed + iterations + i, "dump"))
    if only is not None:
        plan = [(int(only), os.environ.get("FAULT_KIND", "tar-tape"))]
    print("[fault-schedules] base seed %d (FAULT_BASE_SEED=%d replays the run; FAULT_SEED=S "
          "with FAULT_KIND=tar-tape|tar-file|tar-extract|tar-daemon|dump one iteration)"
          % (base_seed, base_seed), flush=True)
    failed = 0
    for seed, kind in plan:
        RUN = os.path.join(WORK, "run-%d" % seed)
        os.makedirs(RUN)
        try:
            if kind == "tar-tape":
                tar_create(seed, True)
            elif kind == "tar-file":
                tar_create(seed, False)
            elif kind == "tar-extract":
                tar_extract(seed)
            elif kind == "tar-daemon":
                tar_daemon(seed)
            else:
                dump_run(seed)
        except Exception as error:  # noqa: BLE001 - every failure is reported with its seed
            failed += 1
            print("[fault-schedules] seed %d (%s): FAIL: %s: %s\n  replay: FAULT_SEED=%d "
                  "FAULT_KIND=%s" % (seed, kind, type(error).__name__, error, seed, kind),
                  flush=True)
    if os.environ.get("RMTD_KEEP_TMP"):
        print("[fault-schedules] kept %s" % WORK)
    else:
        shutil.rmtree(WORK, ignore_errors=True)
    print("[fault-schedules] %s (%d iterations)" % ("FAIL (%d)" % failed if failed else "PASS",
                                                    len(plan)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
