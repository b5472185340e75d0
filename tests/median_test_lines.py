#!/usr/bin/env python3
"""Counts the lines of each `#[test]` fn under tests/it and prints the median and mean.

Run by hand from the repository root: `python3 tests/median_test_lines.py` (add `-v` for the
per-file figures). A test's lines run from its `#[test]` attribute to its closing brace at the
indentation of its `fn`, so blank lines and comments inside count.
"""
import pathlib
import re
import statistics
import sys

root = pathlib.Path(__file__).resolve().parent / "it"
per_file = {}
for path in sorted(root.rglob("*.rs")):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "#[test]":
            start = i
            j = i
            while not re.match(r"\s*(pub\s+)?(async\s+)?fn\s", lines[j]):
                j += 1
            indent = len(lines[j]) - len(lines[j].lstrip())
            k = j
            if not lines[j].rstrip().endswith("}"):
                k = j + 1
                while not (lines[k].startswith(" " * indent + "}") and len(lines[k]) - len(lines[k].lstrip()) == indent):
                    k += 1
            per_file.setdefault(str(path.relative_to(root.parent.parent)), []).append(k - start + 1)
            i = k + 1
        else:
            i += 1

counts = [n for ns in per_file.values() for n in ns]
if "-v" in sys.argv:
    for f, ns in per_file.items():
        print(f"{f}: {len(ns)} tests, median {statistics.median(ns)}, mean {statistics.mean(ns):.1f}")
print(f"{len(counts)} tests in tests/it: median {statistics.median(counts)} lines, mean {statistics.mean(counts):.1f}")
