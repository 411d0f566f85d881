#!/usr/bin/python3
"""Write a passing pytest suite of N trivial tests, for the benchmark.

usage: tools/gen-suite.py DIR [N] [FILES]"""

import sys
from pathlib import Path


def main(argv):
    out = Path(argv[1])
    count = int(argv[2]) if len(argv) > 2 else 1000
    files = int(argv[3]) if len(argv) > 3 else 20
    out.mkdir(parents=True, exist_ok=True)
    (out / "pytest.ini").write_text("[pytest]\n")
    per = count // files
    for f in range(files):
        n = per if f < files - 1 else count - per * (files - 1)
        body = ["import pytest", ""]
        for t in range(n):
            body.append("def test_%04d():\n    assert %d + 1 == %d\n" % (t, t, t + 1))
        (out / ("test_gen_%02d.py" % f)).write_text("\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
