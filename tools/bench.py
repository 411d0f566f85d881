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


def wall(argv, cwd, env=None, cpu=None):
    """Wall time of a command; its CPU time (user + sys of all its
    processes) goes into `cpu` when given."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return took


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
    cpu = {name: [] for name in runs}
    for _ in range(rounds):  # interleaved, so that drift hits all alike
        for name, argv in runs.items():
            times[name].append(wall(argv, suite, env, cpu[name]))
    med = {name: statistics.median(t) for name, t in times.items()}
    mcpu = {name: statistics.median(t) for name, t in cpu.items()}
    print("1,000 passing tests, %d rounds (interleaved); wall time, and CPU time of "
          "all processes:" % rounds)
    for name, t in med.items():
        print("  %-12s median %6.3f s (min %.3f, max %.3f)   CPU %6.3f s"
              % (name, t, min(times[name]), max(times[name]), mcpu[name]))
    print("  mtest / pytest       = %.3f by median, %.3f by best run   (goal: at most 1.03)"
          % (med["mtest"] / med["pytest"], min(times["mtest"]) / min(times["pytest"])))
    print("  mtest / pytest -n 2  = %.3f" % (med["mtest"] / med["pytest -n 2"]))


THREADS_TEST = """
import threading, time

def test_threads():
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, name="t%%d" %% i) for i in range(%d)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()
"""


def captures(mtest, rounds, work):
    """Stack capture of a worker with 8, 32 and 128 threads (--capture-after)."""
    import re
    print("stack capture (median of %d; goal for 32 threads: worker stopped <= 50 ms, "
          "whole capture <= 200 ms):" % rounds)
    for n in (8, 32, 128):
        suite = work / ("threads%d" % n)
        suite.mkdir()
        (suite / "pytest.ini").write_text("[pytest]\n")
        (suite / "test_threads.py").write_text(THREADS_TEST % (n - 1))
        stopped, whole = [], []
        for _ in range(rounds):
            state = work / ("state%d" % n)
            subprocess.run([mtest, "--state-dir", str(state), "--capture-after", "0.6",
                            "--progress", "quiet"], cwd=suite, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, MTEST_CONFIG="/dev/null"), check=False)
            for path in (state / "last-run" / "captures").glob("*.txt"):
                m = re.search(r"worker stopped ([0-9.]+) s, whole capture ([0-9.]+) s",
                              path.read_text())
                if m:
                    stopped.append(float(m.group(1)) * 1000)
                    whole.append(float(m.group(2)) * 1000)
        if stopped:
            print("  %3d threads: worker stopped %6.1f ms, whole capture %6.1f ms"
                  % (n, statistics.median(stopped), statistics.median(whole)))


def deadlock_latency(mtest, rounds, work):
    """From the start of a test that deadlocks at once to its verdict."""
    import json
    lat = []
    for _ in range(rounds):
        state = work / "dl"
        subprocess.run([mtest, "--state-dir", str(state), "--deadlock-after", "1",
                        "--progress", "quiet", "test_deadlock.py::test_abba"],
                       cwd=ROOT / "tests" / "suites" / "deadlock", stdout=subprocess.DEVNULL,
                       env=dict(os.environ, MTEST_CONFIG="/dev/null"), check=False)
        for line in (state / "last-run" / "run.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r["type"] == "test" and r["verdict"] == "hung":
                lat.append(r["duration"])
    if lat:
        print("deadlock verdict latency (AB/BA, --deadlock-after 1): median %.2f s "
              "(min %.2f, max %.2f)" % (statistics.median(lat), min(lat), max(lat)))


def crash_handler_cost(mtest, rounds):
    """What preloading mtest_crash.so adds to each worker's start."""
    so = Path(mtest).parent / "mtest_crash.so"
    if not so.exists():
        return
    plain, preloaded = [], []
    for _ in range(rounds * 4):
        plain.append(wall([PYTHON, "-c", "pass"], "/"))
        preloaded.append(wall([PYTHON, "-c", "pass"], "/",
                              dict(os.environ, LD_PRELOAD=str(so), MTEST_EVENT_FD="3",
                                   MTEST_TOKEN="x")))
    print("crash handler: python start %.1f ms plain, %.1f ms with it preloaded (median)"
          % (statistics.median(plain) * 1000, statistics.median(preloaded) * 1000))


def main(argv):
    mtest = os.path.abspath(argv[1] if len(argv) > 1 else "build/mtest")
    rounds = int(argv[2]) if len(argv) > 2 else 11
    with tempfile.TemporaryDirectory(prefix="mtest-bench-") as tmp:
        overhead(mtest, rounds, Path(tmp))
        print()
        captures(mtest, 5, Path(tmp))
        deadlock_latency(mtest, 5, Path(tmp))
        crash_handler_cost(mtest, 5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
