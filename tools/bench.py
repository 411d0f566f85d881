#!/usr/bin/python3
"""make bench: mtest's costs, measured in one run against plain pytest and
pytest-xdist on the same machine. Prints medians and ratios; it asserts
nothing (timing goals are not pass/fail tests).

usage: tools/bench.py MTEST [ROUNDS]"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"


def wall(argv, cwd, env=None):
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def overhead(mtest, rounds, work):
    suite = work / "gen1000"
    subprocess.run([PYTHON, str(ROOT / "tools" / "gen-suite.py"), str(suite), "1000", "20"],
                   check=True)
    env = dict(os.environ, MTEST_CONFIG="/dev/null")
    runs = {
        "pytest": [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        "pytest -n 2": [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"],
        "mtest": [mtest, "--state-dir", str(work / "state"), "--progress", "quiet",
                  "--", "-q", "-p", "no:cacheprovider"],
    }
    times = {name: [] for name in runs}
    for _ in range(rounds):  # interleaved, so that drift hits all alike
        for name, argv in runs.items():
            times[name].append(wall(argv, suite, env))
    med = {name: statistics.median(t) for name, t in times.items()}
    print("1,000 passing tests, %d rounds, median wall time:" % rounds)
    for name, t in med.items():
        print("  %-12s %6.3f s   (min %.3f, max %.3f)" % (name, t, min(times[name]),
                                                      max(times[name])))
    print("  mtest / pytest       = %.3f   (goal: at most 1.03)" % (med["mtest"] / med["pytest"]))
    print("  mtest / pytest -n 2  = %.3f" % (med["mtest"] / med["pytest -n 2"]))


def main(argv):
    mtest = os.path.abspath(argv[1] if len(argv) > 1 else "build/mtest")
    rounds = int(argv[2]) if len(argv) > 2 else 7
    with tempfile.TemporaryDirectory(prefix="mtest-bench-") as tmp:
        overhead(mtest, rounds, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
