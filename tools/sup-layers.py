#!/usr/bin/python3
"""The supervisor's files call each other one way (docs/architecture.md):
no file of src/sup/ calls a function of a file that calls it, directly or
through others. Prints the calls between files, and fails on a cycle.

usage: tools/sup-layers.py [ROOT]"""

import collections
import re
import sys
from pathlib import Path


def definitions(files):
    """{function: file} for every non-static function defined in files."""
    out = {}
    for f in files:
        lines = f.read_text().split("\n")
        for i, line in enumerate(lines):
            if not line or line.startswith("static") or line[0] in " \t#/*}{":
                continue
            m = re.match(r"^[\w\s\*]+?\b(\w+)\(", line)
            if not m:
                continue
            for j in range(i, min(i + 6, len(lines))):
                if lines[j].startswith("{"):
                    out[m.group(1)] = f
                    break
                if lines[j].rstrip().endswith(";"):
                    break
    return out


def calls(files, defs):
    """{file: {file it calls: {functions}}}, comments left out."""
    out = collections.defaultdict(lambda: collections.defaultdict(set))
    for f in files:
        text = re.sub(r"/\*.*?\*/", "", f.read_text(), flags=re.S)
        for fn, where in defs.items():
            if where != f and re.search(r"\b%s\(" % fn, text):
                out[f][where].add(fn)
    return out


def cycle(graph):
    """A cycle of files, or None."""
    state = {}

    def visit(u, path):
        state[u] = 1
        path.append(u)
        for v in graph.get(u, ()):
            if state.get(v) == 1:
                return path[path.index(v):] + [v]
            if not state.get(v):
                found = visit(v, path)
                if found:
                    return found
        path.pop()
        state[u] = 2
        return None

    for u in list(graph):
        if not state.get(u):
            found = visit(u, [])
            if found:
                return found
    return None


def main(argv):
    root = Path(argv[1] if len(argv) > 1 else ".")
    files = sorted((root / "src" / "sup").glob("*.c"))
    graph = calls(files, definitions(files))
    for f in files:
        for g in sorted(graph.get(f, {}), key=lambda p: p.name):
            print("%-14s -> %-14s %s" % (f.name, g.name, " ".join(sorted(graph[f][g]))))
    found = cycle(graph)
    if found:
        print("sup-layers: FAIL: the calls go round: " + " -> ".join(p.name for p in found))
        return 1
    print("sup-layers: the files of src/sup/ call each other one way")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
