#!/usr/bin/env python3
"""test-extract.py - extract.py on made-up documents: what is an example, what
is output, prompts and continuations, mdoc escapes, directives, C programs and
section 5 files. Fast and without the VM, so a change that makes the extractor
miss examples fails here first."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

README = """# Title

```sh
plain one
plain two \\
    continued
```

```text
not an example
```

<!-- docs-test: ci -->
```sh
./contrib/setup.sh test
```
"""

PAGE1 = """.Dd x
.Dt TOOL 1
.Sh DESCRIPTION
.Bd -literal
described elsewhere
.Ed
.\\" docs-test: output
.Bd -literal
what it prints
.Ed
.\\" docs-test: output
.Dl Printed
.Sh EXAMPLES
.Dl $ tool \\-v \\(aqx\\(aq
.\\" docs-test: interrupt 2
.Dl $ tool --watch
.Bd -literal -offset indent
$ first arg \\e
    more
output line
client$ second
# as root
.Ed
.Bd -literal -offset indent
#include <stdio.h>
int main(void) { return 0; }
.Ed
.\\" docs-test: file /etc/tool.conf
.Bd -literal -offset indent
host vault
	tls
.Ed
.Sh SEE ALSO
.Dl not an example either
"""

PAGE5 = """.Dd x
.Dt TOOL.CONF 5
.Sh DESCRIPTION
.Bd -literal
fragment
.Ed
.Sh EXAMPLES
.Bd -literal -offset indent
key "value\\e"
.Ed
"""


def main():
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, 'src'), os.path.join(d, 'out')
        os.makedirs(os.path.join(src, 'man'))
        open(os.path.join(src, 'README.md'), 'w').write(README)
        open(os.path.join(src, 'man', 'tool.1'), 'w').write(PAGE1)
        open(os.path.join(src, 'man', 'tool.conf.5'), 'w').write(PAGE5)
        open(os.path.join(src, 'man', 'meson.build'), 'w').write('# not a page\n')
        subprocess.run([sys.executable, os.path.join(HERE, 'extract.py'), src, out], check=True,
                       stdout=subprocess.DEVNULL)
        docs = open(os.path.join(out, 'docs.txt')).read().split()
        assert docs == ['README.md', 'tool.1', 'tool.conf.5'], docs

        readme = open(os.path.join(out, 'README.md', 'examples.sh')).read()
        assert 'plain one\nplain two \\\n    continued\n' in readme, readme
        assert 'not an example' not in readme, readme
        assert 'setup.sh' not in readme, 'a ci block is not run here'
        listing = open(os.path.join(out, 'README.md', 'list.txt')).read()
        assert 'run by CI itself' in listing, listing

        page = open(os.path.join(out, 'tool.1', 'examples.sh')).read()
        lines = page.split('\n')
        assert "tool -v 'x'" in lines, page
        assert "example_interrupt 2 'tool --watch'" in lines, page
        assert 'first arg \\' in lines and '    more' in lines, page
        assert 'second' in lines and 'as root' in lines, page
        assert 'described elsewhere' in lines, 'a block outside EXAMPLES is an example too'
        assert 'not an example either' in lines, page
        assert 'output line' not in page and 'what it prints' not in page, page
        assert 'Printed' not in page, page
        assert "cat >'/etc/tool.conf' <<'DOCS_TEST_EOF'\nhost vault\n\ttls\nDOCS_TEST_EOF" in page, page
        c = open(os.path.join(out, 'tool.1', 'example.c')).read()
        assert c.startswith('#include <stdio.h>\n'), c

        conf = open(os.path.join(out, 'tool.conf.5', 'tool.conf')).read()
        assert conf == 'key "value\\"\n', conf

        # An unknown directive is an error, not a silently skipped example.
        open(os.path.join(src, 'man', 'tool.1'), 'w').write(
            PAGE1.replace('interrupt 2', 'frobnicate'))
        r = subprocess.run([sys.executable, os.path.join(HERE, 'extract.py'), src, out],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert r.returncode != 0 and 'unknown docs-test directive' in r.stderr, r.stderr
    print('extract.py: ok')


if __name__ == '__main__':
    main()
