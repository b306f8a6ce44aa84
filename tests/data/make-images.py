#!/usr/bin/env python3
"""make-images.py SRC OUT [STAMP] - the tape-image fixtures of the unit tests.

Copies the tool-made samples of SRC (tests/data) into OUT and writes, next to
them, the images no Debian tool here can write: one logical tape in three
container formats, and a SIMH image with the format's odd corners.

The logical tape: file 0 = level0.dump as two 10240-byte records, a tape mark,
file 1 = gnu-label.tar as one 10240-byte record, two tape marks.

  sample.tap   SIMH: u32 LE length, data (padded to even), the length again;
               0 = tape mark; ends with the end-of-medium word ff ff ff ff
  sample.aws   AWS: 6-byte chunk headers (this length, previous length,
               flags 0xa0 = whole record, 0x40 = tape mark), no end marker
  sample.ssc   tgt's ssc image: 48-byte big-endian block headers in a doubly
               linked list, a 1104-byte MAM after the BOT header, an EOD
               header at the end; header checksum = CRC-32C (Castagnoli, as iSCSI
               uses it) of bytes 4..47, little endian (tgt writes host order)
  odd.tap      SIMH: a 5-byte record (padded), a record flagged bad
               (0x80000004), an erase-gap word, a tape mark, end of medium

doc/vtape-format.md describes the SIMH and sidecar formats rmtd itself uses.
"""
import os
import shutil
import struct
import sys

RECORD = 10240


def logical_tape(src):
    dump = open(os.path.join(src, "level0.dump"), "rb").read()
    tar = open(os.path.join(src, "gnu-label.tar"), "rb").read()
    assert len(dump) == 2 * RECORD and len(tar) == RECORD
    # None is a tape mark.
    return [dump[:RECORD], dump[RECORD:], None, tar, None, None]


def simh(objects):
    out = bytearray()
    for o in objects:
        if o is None:
            out += struct.pack("<I", 0)
        else:
            pad = b"\0" if len(o) & 1 else b""
            out += struct.pack("<I", len(o)) + o + pad + struct.pack("<I", len(o))
    return bytes(out + struct.pack("<I", 0xFFFFFFFF))


def aws(objects):
    out = bytearray()
    previous = 0
    for o in objects:
        if o is None:
            out += struct.pack("<HHBB", 0, previous, 0x40, 0)
            previous = 0
        else:
            out += struct.pack("<HHBB", len(o), previous, 0xA0, 0) + o
            previous = len(o)
    return bytes(out)


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


SSC_DATA, SSC_BOT, SSC_EOD, SSC_FILEMARK = 0x02, 0x10, 0x20, 0x40
SSC_HEADER = 48
SSC_MAM = 1104


def ssc_header(size, block_size, kind, number, prev, curr, next_):
    body = struct.pack(">IIIQQQQ", size, block_size, kind, number, prev, curr, next_)
    return struct.pack("<I", crc32c(body)) + body


def ssc(objects, capacity_mib=8):
    capacity = capacity_mib << 20
    # MAM: format version 2, remaining and maximum capacity in bytes (big endian).
    mam = bytearray(SSC_MAM)
    struct.pack_into(">I", mam, 0, 2)
    struct.pack_into(">QQ", mam, 8, capacity, capacity)
    first = SSC_HEADER + SSC_MAM
    out = bytearray(ssc_header(0, capacity_mib, SSC_BOT, 0, 0, 0, first)) + mam
    prev, number = 0, 0
    for o in objects:
        curr = len(out)
        number += 1
        if o is None:
            out += ssc_header(0, 0, SSC_FILEMARK, number, prev, curr, curr + SSC_HEADER)
        else:
            out += ssc_header(len(o), len(o), SSC_DATA, number, prev, curr,
                              curr + SSC_HEADER + len(o)) + o
        prev = curr
    curr = len(out)
    out += ssc_header(0, 0, SSC_EOD, number + 1, prev, curr, curr)
    return bytes(out)


def odd_tap():
    return (struct.pack("<I", 5) + b"abcde\0" + struct.pack("<I", 5)
            + struct.pack("<I", 0x80000004) + b"bad!" + struct.pack("<I", 0x80000004)
            + struct.pack("<I", 0xFFFFFFFE) + struct.pack("<I", 0)
            + struct.pack("<I", 0xFFFFFFFF))


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if name.endswith((".dump", ".tar", ".cpio", ".ssc")):
            shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
    tape = logical_tape(src)
    for name, data in (("sample.tap", simh(tape)), ("sample.aws", aws(tape)),
                       ("sample.ssc", ssc(tape)), ("odd.tap", odd_tap())):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    if len(sys.argv) > 3:  # meson's record that OUT is up to date
        open(sys.argv[3], "w").close()


if __name__ == "__main__":
    main()
