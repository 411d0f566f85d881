#!/usr/bin/python3
"""Write a pytest suite for the benchmark.

usage: tools/gen-suite.py DIR [N] [FILES]
       tools/gen-suite.py --tower DIR [--hangs-in-one-file]

The first form writes N trivial passing tests in FILES files. --tower writes a
suite shaped like the Retrowaves tower: 300 tests in 12 files, most sleeping
5 to 50 ms, 24 sleeping 0.2 to 1 s, four that hang until their 10 s timeout
and one that crashes its worker (SIGSEGV). The hangs sit in four files, or,
with --hangs-in-one-file, together in one class of one file (as the tower's
four 60 s timeouts do). Both layouts hold the same tests with the same
durations. DIR/expected.json gives each test's node id, its true verdict
(passed, hung, crashed) and its own duration in seconds (a hang counts its
timeout, the crash 0), for tools/bench.py."""

import json
import random
import sys
from pathlib import Path

FILES = 12
TESTS = 300
SLOW_PER_FILE = 2
TIMEOUT = 10
HANG_FILES = (1, 4, 7, 10)  # spread layout: one hang in each of these
ONE_FILE = 4                # one-file layout: all four hangs here
CRASH_FILE = 6

HEADER = "import os\nimport signal\nimport time\n\nimport pytest\n"
# {i} indents a method of the hangs' class; {self} is its argument
HANG = """
{i}@pytest.mark.timeout({timeout})
{i}def test_hang_{n}({self}):
{i}    time.sleep(3600)  # only the timeout ends it
"""
CRASH = """
def test_crash():
    os.kill(os.getpid(), signal.SIGSEGV)
"""


def trivial(out, count, files):
    (out / "pytest.ini").write_text("[pytest]\n")
    per = count // files
    for f in range(files):
        n = per if f < files - 1 else count - per * (files - 1)
        body = ["import pytest", ""]
        for t in range(n):
            body.append("def test_%04d():\n    assert %d + 1 == %d\n" % (t, t, t + 1))
        (out / ("test_gen_%02d.py" % f)).write_text("\n".join(body))


def hang(n, in_class):
    return HANG.format(i="    " if in_class else "", self="self" if in_class else "",
                       timeout=TIMEOUT, n=n)


def tower(out, one_file):
    rng = random.Random(8)  # fixed: every run measures the same suite
    normal = TESTS - len(HANG_FILES) - 1
    (out / "pytest.ini").write_text("[pytest]\n")
    expected = []
    for f in range(FILES):
        name = "test_tower_%02d.py" % f
        n = normal // FILES + (1 if f < normal % FILES else 0)
        slow = set(rng.sample(range(n), SLOW_PER_FILE))
        body = [HEADER]
        for t in range(n):
            d = rng.uniform(0.2, 1.0) if t in slow else rng.uniform(0.005, 0.05)
            body.append("\ndef test_%03d():\n    time.sleep(%.3f)\n" % (t, d))
            expected.append({"id": "%s::test_%03d" % (name, t), "verdict": "passed",
                             "seconds": round(d, 3)})
        if f == CRASH_FILE:
            body.append(CRASH)
            expected.append({"id": name + "::test_crash", "verdict": "crashed", "seconds": 0})
        if one_file and f == ONE_FILE:
            body.append("\nclass TestHangs:")
            for i in range(len(HANG_FILES)):
                body.append(hang(i, True))
                expected.append({"id": "%s::TestHangs::test_hang_%d" % (name, i),
                                 "verdict": "hung", "seconds": TIMEOUT})
        elif not one_file and f in HANG_FILES:
            i = HANG_FILES.index(f)
            body.append(hang(i, False))
            expected.append({"id": "%s::test_hang_%d" % (name, i), "verdict": "hung",
                             "seconds": TIMEOUT})
        (out / name).write_text("".join(body))
    (out / "expected.json").write_text(json.dumps({"timeout": TIMEOUT, "tests": expected},
                                                  indent=0) + "\n")


def main(argv):
    args = argv[1:]
    if not args or args[0].startswith("-") and args[0] != "--tower" or \
            (args[0] == "--tower" and len(args) < 2):
        # Never a folder named "--help".
        print(__doc__, file=sys.stderr if args[:1] != ["--help"] else sys.stdout)
        return 0 if args[:1] in (["--help"], ["-h"]) else 2
    if args[0] == "--tower":
        out = Path(args[1])
        out.mkdir(parents=True, exist_ok=True)
        tower(out, "--hangs-in-one-file" in args[2:])
        return 0
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    trivial(out, int(args[1]) if len(args) > 1 else 1000, int(args[2]) if len(args) > 2 else 20)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
