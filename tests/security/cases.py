"""cases.py - the runner the case-list suites of tests/security share: each case
gets a fresh directory, its failure prints the last lines of every log there,
and every process it started is killed before the next one."""
import os
import subprocess
import sys
import tempfile
import time


def run(cases, started, prefix, chosen):
    """Run the cases (all, or those named in chosen); exit 1 if any failed."""
    failed = passed = 0
    for function in cases:
        if chosen and function.__name__ not in chosen:
            continue
        directory = tempfile.mkdtemp(prefix=prefix)
        began = time.time()
        try:
            function(directory)
            passed += 1
            print("ok   %s (%.1f s)" % (function.__name__, time.time() - began))
        except Exception as error:  # noqa: BLE001 - every failure is reported
            failed += 1
            print("FAIL %s: %s" % (function.__name__, error))
            for name in os.listdir(directory):
                if name.endswith(".log"):
                    print("---- %s" % name)
                    print("".join(open(os.path.join(directory, name)).readlines()[-12:]))
        finally:
            for process in started:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            started.clear()
            subprocess.run(["rm", "-rf", directory])
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
