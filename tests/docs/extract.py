#!/usr/bin/env python3
"""extract.py - every example in README.md and the manual pages, as files a
shell can run (tests/docs/README.md describes the rules).

    extract.py SOURCE_DIR OUT_DIR

For each document with examples, OUT_DIR/<doc>/ gets:
  examples.sh   every shell example, in document order, each command as written
                (prompts "$ ", "# ", "host$ " removed; lines of a prompted block
                without a prompt are the output shown and are not run)
  example.c     a C example (a block that starts with #include), when there is one
  <name>        for a section 5 page, its example block: the file the page is about
                (rmtd.conf.5 -> rmtd.conf); the runner puts it where the page says
  list.txt      what was found, with line numbers, for the log
Extraction is generic: every ```sh block of README.md; every .Bd -literal block
and .Dl line of man/*.[1-9] (of a section 5 page, those in EXAMPLES). A comment
just before one may say what it is or how to run it:
  README:  <!-- docs-test: interrupt SECONDS -->     mdoc:  .\\" docs-test: interrupt SECONDS
  README:  <!-- docs-test: ci -->                     (the block is what CI itself runs)
                                                      mdoc:  .\\" docs-test: output
                                                      mdoc:  .\\" docs-test: file PATH
"interrupt" sends SIGINT after SECONDS to a command documented to run until
interrupted; it must still be running then and end by the signal. "output" is
what a program prints, shown to the reader: not a command. "file PATH" is the
contents of a file the text names: it is written to PATH, as the reader would.
"""
import os
import re
import sys

PROMPT = re.compile(r'^(?:[A-Za-z][\w.-]*)?[$#] ')


def mdoc_text(line):
    """The text a reader sees in a literal line (the escapes mdoc examples use)."""
    out = line.replace('\\e', '\0').replace('\\&', '').replace('\\-', '-')
    out = out.replace('\\(aq', "'").replace('\\(dq', '"').replace('\\(ti', '~')
    return out.replace('\0', '\\')


def directive(comment):
    m = re.match(r'\s*docs-test:\s*(.*?)\s*$', comment)
    return m.group(1) if m else None


def readme_examples(path):
    examples, pending = [], None
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r'^\s*<!--(.*)-->\s*$', line)
        if m and directive(m.group(1)) is not None:
            pending = directive(m.group(1))
        elif line.strip() == '```sh':
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != '```':
                body.append(lines[i])
                i += 1
            examples.append({'line': start, 'kind': 'sh', 'text': body, 'directive': pending})
            pending = None
        elif line.strip():
            pending = None
        i += 1
    return examples


def man_examples(path, section):
    """Literal blocks and .Dl lines: in every section of a page, except in a
    section 5 page, where only EXAMPLES holds the example file (the rest are
    fragments of it); a block marked "output" shows what a program prints."""
    examples, pending, in_examples = [], None, False
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        line = lines[i]
        wanted = in_examples or section != '5'
        if line.startswith('.Sh '):
            in_examples = line.split(None, 1)[1].strip() == 'EXAMPLES'
            pending = None
        elif line.startswith('.\\"'):
            if directive(line[3:]) is not None:
                pending = directive(line[3:])
        elif line.startswith('.Dl '):
            if wanted:
                examples.append({'line': i + 1, 'kind': 'sh', 'text': [mdoc_text(line[4:])],
                                 'directive': pending})
            pending = None
        elif line.startswith('.Bd ') and '-literal' in line.split():
            start, body = i + 2, []
            i += 1
            while i < len(lines) and not lines[i].startswith('.Ed'):
                body.append(mdoc_text(lines[i]))
                i += 1
            if wanted:
                examples.append({'line': start, 'kind': 'block', 'text': body,
                                 'directive': pending})
            pending = None
        i += 1
    return examples


def commands(text):
    """The commands of a shell block: prompted lines, or every line when none is."""
    if not any(PROMPT.match(l) for l in text):
        return list(text)
    out, continuing = [], False
    for l in text:
        if continuing:
            out.append(l)
        elif PROMPT.match(l):
            out.append(PROMPT.sub('', l, count=1))
        else:
            continue  # output shown in the document
        continuing = l.endswith('\\')
    return out


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def write_doc(out_dir, doc, section, examples):
    d = os.path.join(out_dir, doc)
    os.makedirs(d, exist_ok=True)
    sh = ['# extracted from %s by tests/docs/extract.py' % doc]
    listing = []
    for n, ex in enumerate(examples, 1):
        text = ex['text']
        first = next((l for l in text if l.strip()), '')
        where = '%s:%d' % (doc, ex['line'])
        if ex['kind'] == 'block' and first.startswith('#include'):
            open(os.path.join(d, 'example.c'), 'w').write('\n'.join(text) + '\n')
            listing.append('%s  C program -> example.c' % where)
            continue
        if ex['kind'] == 'block' and section == '5':
            name = doc.rsplit('.', 1)[0]
            open(os.path.join(d, name), 'w').write('\n'.join(text) + '\n')
            listing.append('%s  %s file -> %s' % (where, doc, name))
            continue
        if ex['directive'] == 'ci':
            listing.append('%s  run by CI itself (.ci/run), not here: %s' % (where, first))
            continue
        if ex['directive'] == 'output':
            listing.append('%s  output a program prints, not a command: %s' % (where, first))
            continue
        f = re.match(r'file (/\S+)$', ex['directive'] or '')
        if f:
            listing.append('%s  file -> %s' % (where, f.group(1)))
            sh.append('example_begin %s' % shell_quote(where))
            sh.append('mkdir -p %s' % shell_quote(os.path.dirname(f.group(1))))
            sh.append("cat >%s <<'DOCS_TEST_EOF'" % shell_quote(f.group(1)))
            sh.extend(text)
            sh.append('DOCS_TEST_EOF')
            sh.append('example_end %s' % shell_quote(where))
            continue
        cmds = commands(text)
        listing.append('%s  shell, %d line(s)%s' % (where, len(cmds),
                       ', ' + ex['directive'] if ex['directive'] else ''))
        sh.append('example_begin %s' % shell_quote(where))
        m = re.match(r'interrupt (\d+(?:\.\d+)?)$', ex['directive'] or '')
        if m:
            sh.append('example_interrupt %s %s' % (m.group(1), shell_quote('\n'.join(cmds))))
        elif ex['directive']:
            sys.exit('%s: unknown docs-test directive: %s' % (where, ex['directive']))
        else:
            sh.extend(cmds)
        sh.append('example_end %s' % shell_quote(where))
    open(os.path.join(d, 'examples.sh'), 'w').write('\n'.join(sh) + '\n')
    open(os.path.join(d, 'list.txt'), 'w').write('\n'.join(listing) + '\n')
    return listing


def main():
    if len(sys.argv) != 3:
        sys.exit('usage: extract.py SOURCE_DIR OUT_DIR')
    source, out = sys.argv[1], sys.argv[2]
    docs = [('README.md', None, readme_examples(os.path.join(source, 'README.md')))]
    man = os.path.join(source, 'man')
    for name in sorted(os.listdir(man)):
        m = re.match(r'^.+\.([1-9])$', name)
        if m:
            docs.append((name, m.group(1), man_examples(os.path.join(man, name), m.group(1))))
    total = 0
    for doc, section, examples in docs:
        if examples:
            total += len(write_doc(out, doc, section, examples))
    open(os.path.join(out, 'docs.txt'), 'w').write(
        '\n'.join(doc for doc, _, ex in docs if ex) + '\n')
    print('%d examples in %d documents' % (total, sum(1 for d in docs if d[2])))


if __name__ == '__main__':
    main()
