#!/usr/bin/env python3
"""Fails when a string of the app's interface (anything outside src/cli) has
no Korean translation in po/ko.po. Extracts the strings itself with xgettext
from po/POTFILES.in, so a new string without a translation is caught even
before anyone regenerates the template."""
import os
import re
import subprocess
import sys
import tempfile

top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')


def entries(path):
    """(msgctxt, msgid, references, translated) for each entry of a PO file."""
    text = open(path, encoding='utf-8').read()
    for block in text.split('\n\n'):
        refs = ' '.join(re.findall(r'^#: (.*)$', block, re.M)).split()
        fuzzy = re.search(r'^#,.*fuzzy', block, re.M) is not None
        fields = {}
        key = None
        for line in block.split('\n'):
            m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if m:
                key = m.group(1)
                fields[key] = m.group(2)
            elif line.startswith('"') and key:
                fields[key] += line[1:-1]
        if 'msgid' not in fields or fields['msgid'] == '':
            continue
        strs = [v for k, v in fields.items() if k.startswith('msgstr')]
        translated = not fuzzy and bool(strs) and all(s != '' for s in strs)
        yield fields.get('msgctxt'), fields['msgid'], refs, translated


with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, 'docent.pot')
    subprocess.run(['xgettext', '--from-code=UTF-8', '--add-comments',
                    '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
                    '--keyword=g_dngettext:2,3', '--keyword=ngettext:1,2',
                    '-D', top, '-f', os.path.join(top, 'po', 'POTFILES.in'), '-o', pot],
                   check=True, stderr=subprocess.DEVNULL)
    wanted = [(c, i) for c, i, refs, _ in entries(pot)
              if any(not r.startswith('src/cli/') for r in refs)]

done = {(c, i) for c, i, _, t in entries(os.path.join(top, 'po', 'ko.po')) if t}
missing = [i for c, i in wanted if (c, i) not in done]
for m in missing:
    print('untranslated in po/ko.po:', repr(m))
print(f'{len(wanted) - len(missing)} of {len(wanted)} interface strings translated')
sys.exit(1 if missing else 0)
