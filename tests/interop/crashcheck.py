"""crashcheck.py - what the crash tests compare: the records in a SIMH .tap image,
and the records a client was acknowledged (as tests/interop/ack-shim logs them).

    python3 crashcheck.py files IMAGE            one line per tape file: its record count
    python3 crashcheck.py extract IMAGE N OUT    the bytes of tape file N (its records joined)
    python3 crashcheck.py acked PREFIX           acknowledged W records per session (O..C)
    python3 crashcheck.py holds IMAGE N PREFIX [SESSION]
        tape file N begins with every record the session (default: the last) was
        acknowledged, in order, and holds at most one record more (one that was
        written but whose reply the client never saw); exits 1 with the reason if not
"""
import struct
import sys


def read_image(path):
    """[(records, ended_by_mark)] for each tape file; the last may have no mark."""
    data = open(path, 'rb').read()
    files, records, pos = [], [], 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise ValueError('torn length word at %d' % pos)
        (word,) = struct.unpack_from('<I', data, pos)
        if word == 0:
            files.append((records, True))
            records = []
            pos += 4
            continue
        if word == 0xFFFFFFFF:
            break
        length = word & 0x00FFFFFF
        end = pos + 4 + length + (length & 1)
        if end + 4 > len(data) or struct.unpack_from('<I', data, end)[0] != word:
            raise ValueError('bad record at %d' % pos)
        records.append(data[pos + 4:pos + 4 + length])
        pos = end + 4
    if records:
        files.append((records, False))
    return files


def read_acks(prefix):
    """The acknowledged records of each session, in order."""
    sessions, current, offset = [], None, 0
    data = open(prefix + '.data', 'rb').read()
    for line in open(prefix + '.lens'):
        kind = line.split()
        if kind[0] == 'O':
            current = []
            sessions.append(current)
        elif kind[0] == 'W':
            n = int(kind[1])
            if current is None:
                current = []
                sessions.append(current)
            current.append(data[offset:offset + n])
            offset += n
    return sessions


def holds(image, number, prefix, session=-1):
    files = read_image(image)
    acked = [s for s in read_acks(prefix) if s][session]
    if number >= len(files):
        return 'the image has %d tape files, no file %d' % (len(files), number)
    records = files[number][0]
    if len(records) < len(acked):
        return 'tape file %d has %d records, %d were acknowledged' % (
            number, len(records), len(acked))
    for i, record in enumerate(acked):
        if records[i] != record:
            return 'tape file %d record %d differs from the acknowledged one' % (number, i)
    if len(records) > len(acked) + 1:
        return 'tape file %d has %d records, more than the %d acknowledged and one in flight' % (
            number, len(records), len(acked))
    return None


def main(argv):
    if argv[1] == 'files':
        for records, marked in read_image(argv[2]):
            print(len(records), 'mark' if marked else 'no-mark')
    elif argv[1] == 'extract':
        records, _ = read_image(argv[2])[int(argv[3])]
        with open(argv[4], 'wb') as fh:
            for record in records:
                fh.write(record)
    elif argv[1] == 'acked':
        for session in read_acks(argv[2]):
            print(len(session), sum(len(r) for r in session))
    elif argv[1] == 'holds':
        why = holds(argv[2], int(argv[3]), argv[4], int(argv[5]) if len(argv) > 5 else -1)
        if why:
            print(why)
            return 1
    else:
        print(__doc__)
        return 64
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
