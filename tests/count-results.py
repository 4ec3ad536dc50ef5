#!/usr/bin/env python3
"""Counts test cases in meson's testlog.json: every TAP 'ok'/'not ok' line of
a test program, or the program itself when it prints no TAP."""
import json, os, re, sys

passed = failed = skipped = 0
try:
    lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
except OSError as e:
    print(f"cannot read test log: {e}")
    print("0 passed, 1 failed")
    sys.exit(1)
for line in lines:
    if not line.strip():
        continue
    t = json.loads(line)
    out = t.get("stdout") or ""
    oks = re.findall(r"^(not ok|ok)\b(.*)$", out, re.M)
    result = t.get("result")
    if oks:
        for status, rest in oks:
            if "# SKIP" in rest:
                skipped += 1
            elif status == "ok":
                passed += 1
            else:
                failed += 1
        # A crash after the last TAP line still fails the program.
        if result not in ("OK", "SKIP", "EXPECTEDFAIL") and not any(s == "not ok" for s, _ in oks):
            failed += 1
    elif result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result == "SKIP":
        skipped += 1
    else:
        failed += 1
# .ci/run runs the GGUF fuzzer first and passes its exit status here, so a
# crash it found is counted in the same final line.
fuzz = os.environ.get("DOCENT_FUZZ_RESULT")
if fuzz is not None:
    if fuzz == "0":
        passed += 1
    elif fuzz == "77":
        skipped += 1
        print("fuzz-gguf: skipped (no clang)")
    else:
        failed += 1
        print(f"fuzz-gguf: failed (exit {fuzz}); see the crash-* file it printed")
# Skips get their own line, so the last line is exactly "N passed, N failed".
if skipped:
    print(f"{skipped} skipped")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
