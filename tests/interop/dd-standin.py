"""dd-standin.py - the open/read/write/close calls of `dd if= of= bs=` and its
record report, for sanitizer builds of the LD_PRELOAD shim: dd itself aborts
under the ASan runtime (its aligned_alloc size is not a multiple of the
alignment)."""
import os, sys
args = dict(a.split('=', 1) for a in sys.argv[1:])
bs = int(args.get('bs', '512'))
full = part = 0
try:
    src = os.open(args['if'], os.O_RDONLY) if 'if' in args else 0
    dst = os.open(args['of'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666) if 'of' in args else 1
    while True:
        data = os.read(src, bs)
        if not data:
            break
        os.write(dst, data)
        if len(data) == bs:
            full += 1
        else:
            part += 1
    failed = False
except OSError as e:
    # dd reports the records it moved after the error too
    print('dd: %s' % e.strerror, file=sys.stderr)
    failed = True
report = '%d+%d records in\n%d+%d records out' % (full, part, full, part)
if not failed:
    try:
        os.close(dst)
    except OSError as e:
        # as dd: a write reported only at close (pipelined) fails the copy
        print('dd: closing output file: %s' % e.strerror, file=sys.stderr)
        failed = True
    os.close(src)
print(report, file=sys.stderr)
sys.exit(1 if failed else 0)
