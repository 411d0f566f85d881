#!/usr/bin/python3
"""make bench: mtest's costs, measured in one run against plain pytest and
pytest-xdist on the same machine. Prints medians and ratios; it asserts
nothing (timing goals are not pass/fail tests).

usage: tools/bench.py MTEST [ROUNDS [TOWER_ROUNDS]]
       tools/bench.py --restart MTEST   (the restart latency alone)
       tools/bench.py --contain MTEST   (cgroup membership against /proc alone)

ROUNDS (default 11) for the 1,000 trivial tests and the small measurements;
TOWER_ROUNDS (default 1) for the tower-shaped suites, which take tens of
seconds a run."""

import collections
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
ENV = dict(os.environ, MTEST_CONFIG="/dev/null")  # no config file of the machine
PYTEST = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def wall(argv, cwd, env=ENV, cpu=None, limit=600):
    """Wall time of a command; its CPU time (user + sys of all its
    processes) goes into `cpu` when given. The command gets its own process
    group, killed afterwards, so that nothing it left (an xdist worker, a
    sleeping test) outlives the benchmark, even when it is interrupted."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=limit)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return took


def mtest_argv(mtest, state, *opts):
    return [mtest, "--state-dir", str(state), "--progress", "quiet", *opts,
            "--", "-q", "-p", "no:cacheprovider"]


def overhead(mtest, rounds, work):
    suite = work / "gen1000"
    subprocess.run([PYTHON, str(ROOT / "tools" / "gen-suite.py"), str(suite), "1000", "20"],
                   check=True)
    runs = {
        "pytest": PYTEST,
        "pytest -n 2": PYTEST + ["-n", "2"],
        "mtest -j 1": mtest_argv(mtest, work / "state1", "-j", "1"),
        "mtest -j 2": mtest_argv(mtest, work / "state2", "-j", "2"),
    }
    times = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    for _ in range(rounds):  # interleaved, so that drift hits all alike
        for name, argv in runs.items():
            times[name].append(wall(argv, suite, cpu=cpu[name]))
    med = {name: statistics.median(t) for name, t in times.items()}
    best = {name: min(t) for name, t in times.items()}
    print("1,000 passing tests, %d rounds (interleaved); wall time, and CPU time of "
          "all processes:" % rounds)
    for name, t in med.items():
        print("  %-12s median %6.3f s (min %.3f, max %.3f)   CPU %6.3f s"
              % (name, t, best[name], max(times[name]), statistics.median(cpu[name])))
    for name, goal in (("mtest -j 1", "at most 1.03"), ("mtest -j 2", "at most 0.75")):
        print("  %s / pytest      = %.3f by median, %.3f by best run   (goal: %s)"
              % (name, med[name] / med["pytest"], best[name] / best["pytest"], goal))
    print("  mtest -j 2 / pytest -n 2 = %.3f by median"
          % (med["mtest -j 2"] / med["pytest -n 2"]))
    return times, cpu


PHASES_PLUGIN = """
import os, time
_t = {}
def pytest_configure(config): _t["configure"] = time.time()
def pytest_collection_finish(session): _t["collected"] = time.time()
def pytest_runtest_logfinish(nodeid, location): _t["last"] = time.time()
def pytest_unconfigure(config):
    with open(os.environ["BENCH_PHASES_OUT"], "w") as f:
        f.write(" ".join("%s=%.6f" % kv for kv in _t.items()))
"""


def pytest_phases(rounds, work):
    """Where plain pytest's time goes on the 1,000 trivial tests: its start
    (interpreter, imports, configure), its collection, its tests, its end.
    Lanes share the tests only: with one collection, -j N can take no less
    than start + collection + tests / N + end of pytest's time."""
    suite = work / "gen1000"
    (work / "bench_phases.py").write_text(PHASES_PLUGIN)
    out = work / "phases.txt"
    env = dict(ENV, PYTHONPATH=str(work), BENCH_PHASES_OUT=str(out))
    parts = {"start": [], "collection": [], "tests": [], "end": []}
    for _ in range(rounds):
        begin = time.time()
        wall(PYTEST + ["-p", "bench_phases"], suite, env=env)
        end = time.time()
        t = dict(kv.split("=") for kv in out.read_text().split())
        t = {k: float(v) for k, v in t.items()}
        parts["start"].append(t["configure"] - begin)
        parts["collection"].append(t["collected"] - t["configure"])
        parts["tests"].append(t["last"] - t["collected"])
        parts["end"].append(end - t["last"])
    med = {k: statistics.median(v) for k, v in parts.items()}
    total = sum(med.values())
    print("plain pytest on the 1,000 passing tests, %d rounds, medians: start %.3f s, "
          "collection %.3f s, tests %.3f s, end %.3f s" % (rounds, med["start"], med["collection"],
                                                           med["tests"], med["end"]))
    print("  with one collection, -j 2 takes at least %.3f of pytest's time (the tests "
          "halved, nothing else)" % ((total - med["tests"] / 2) / total))


def tower_suite(work, name, *flags):
    """A tower-shaped suite (tools/gen-suite.py --tower) and its expected
    verdicts and durations."""
    suite = work / name
    subprocess.run([PYTHON, str(ROOT / "tools" / "gen-suite.py"), "--tower", str(suite),
                    *flags], check=True)
    return suite, json.loads((suite / "expected.json").read_text())["tests"]


def mtest_verdicts(state):
    """{id: (verdict, "", lane)} from the run's "test" records."""
    out = {}
    for line in (state / "last-run" / "run.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("type") == "test":
            out[r["id"]] = (r["verdict"], "", r.get("lane"))
    return out


def junit_verdicts(path):
    """{id: (verdict, message, None)} from pytest's JUnit XML: a failure or an error
    is "bad", with its message; ids rebuilt from classname and name."""
    out = {}
    if not path.exists():  # the session died before writing it
        return out
    for case in ET.parse(path).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        mod = [p for p in parts if not p[:1].isupper()]  # test classes are capitalised
        cls = parts[len(mod):]
        tid = "::".join(["/".join(mod) + ".py"] + cls + [case.get("name")])
        verdict, msg = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                verdict, msg = "bad", child.tag + ": " + child.get("message", "")
            elif child.tag == "skipped" and verdict == "passed":
                verdict = "skipped"
        out[tid] = (verdict, msg, None)
    return out


def true_verdicts(expected, got):
    """How many tests got their true verdict. pytest has no hung or crashed:
    for it a failure or an error of such a test counts as true. A test never
    reported is not true."""
    n = 0
    for t in expected:
        v = got.get(t["id"], ("never reported",))[0]
        n += v == t["verdict"] or (v == "bad" and t["verdict"] != "passed")
    return n


def what_came_out(expected, got):
    """What the run said of the hangs and the crash, e.g. "hung: 4 hung;
    crashed: 1 bad (error: ... worker 'gwN' crashed)"."""
    said = []
    for kind in ("hung", "crashed"):
        c = collections.Counter()
        for t in expected:
            if t["verdict"] == kind:
                v = got.get(t["id"], ("never reported", "", None))
                # pytest's message, without what differs per test
                msg = re.sub(r"gw[0-9]+", "gwN", v[1] or "").split(" while running")[0]
                c[v[0] + (" (%s)" % msg.split("\n")[0][:60] if msg else "")] += 1
        said.append("%s: %s" % (kind, ", ".join("%d %s" % (n, v) for v, n in c.items())))
    return "; ".join(said)


def hung_by_lane(expected, got):
    """How many of the hanging tests each lane ran: "lane 1: 2, lane 2: 2"."""
    c = collections.Counter(got.get(t["id"], (None, "", None))[2]
                            for t in expected if t["verdict"] == "hung")
    return ", ".join("lane %s: %d" % (lane, n) for lane, n in sorted(c.items(), key=str)), len(c)


def tower(mtest, rounds, work):
    """The tower-shaped suite (four hangs in four files, one crash):
    mtest -j 2 against pytest-xdist -n 2 and mtest -j 1, no history."""
    suite, expected = tower_suite(work, "tower")
    limit = sum(t["seconds"] for t in expected) / 2
    # xdist with the tower's own timeout method (thread: pytest-timeout ends
    # the whole worker process) and with signal (SIGALRM fails the test).
    runs = {"mtest -j 2": ("mtest", "-j", "2"),
            "pytest -n 2 thread": ("pytest", "--timeout-method=thread"),
            "pytest -n 2 signal": ("pytest", "--timeout-method=signal"),
            "mtest -j 1": ("mtest", "-j", "1")}
    times = {name: [] for name in runs}
    trues = {name: [] for name in runs}
    said = {}
    for r in range(rounds):
        for name, (tool, *opts) in runs.items():
            out = work / ("tower-%s-%d" % (name.replace(" ", ""), r))
            if tool == "mtest":  # a fresh state directory: no history
                times[name].append(wall(mtest_argv(mtest, out, *opts), suite))
                got = mtest_verdicts(out)
            else:
                xml = out.with_suffix(".xml")
                times[name].append(wall(PYTEST + ["-n", "2", *opts, "--junitxml", str(xml)],
                                        suite))
                got = junit_verdicts(xml)
            trues[name].append(true_verdicts(expected, got))
            said[name] = what_came_out(expected, got)  # the last round's
    med = {name: statistics.median(t) for name, t in times.items()}
    print("tower-shaped suite: %d tests in 12 files, 4 hang until a 10 s timeout (in 4 "
          "files), 1 crashes; %d round(s), no history:" % (len(expected), rounds))
    print("  two-lane limit (sum of the tests' own durations, hangs at 10 s, / 2) = %.1f s"
          % limit)
    for name in runs:
        print("  %-19s median %6.1f s (min %.1f)   true verdicts %s of %d"
              % (name, med[name], min(times[name]), "/".join(map(str, trues[name])),
                 len(expected)))
        print("      %s" % said[name])
    j2 = med["mtest -j 2"]
    print("  mtest -j 2 / limit              = %.3f   (goal: at most 1.10)" % (j2 / limit))
    print("  mtest -j 2 / mtest -j 1         = %.3f   (goal: at most 0.55)"
          % (j2 / med["mtest -j 1"]))
    for name in ("pytest -n 2 thread", "pytest -n 2 signal"):
        print("  mtest -j 2 / %-18s = %.3f   (goal: below 1)" % (name, j2 / med[name]))


def hangs_in_one_file(mtest, rounds, work):
    """The same suite with the four hangs in one class of one file: a first
    run builds the history (durations.json), then -j 2 with --dist file and
    --dist test, in the same state directory."""
    suite, expected = tower_suite(work, "tower1", "--hangs-in-one-file")
    limit = sum(t["seconds"] for t in expected) / 2
    state = work / "tower1-state"
    first = wall(mtest_argv(mtest, state, "-j", "2"), suite)
    print("the same suite, the four hangs in one class of one file; history from a first "
          "run (mtest -j 2, %.1f s, hung tests by lane: %s); %d round(s):"
          % (first, hung_by_lane(expected, mtest_verdicts(state))[0], rounds))
    times = {"file": [], "test": []}
    for _ in range(rounds):
        for dist in times:
            times[dist].append(wall(mtest_argv(mtest, state, "-j", "2", "--dist", dist), suite))
            got = mtest_verdicts(state)
            lanes, nlanes = hung_by_lane(expected, got)
            print("  mtest -j 2 --dist %s: %6.1f s, / limit %.1f s = %.3f (goal: at most "
                  "1.15); true verdicts %d of %d; hung tests by lane: %s (%s)"
                  % (dist, times[dist][-1], limit, times[dist][-1] / limit,
                     true_verdicts(expected, got), len(expected), lanes,
                     "spread across lanes" if nlanes > 1 else "NOT spread: one lane"))
    if rounds > 1:
        for dist, t in times.items():
            print("  --dist %s: median %.1f s, / limit = %.3f" % (dist, statistics.median(t),
                                                                 statistics.median(t) / limit))


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
            wall([mtest, "--state-dir", str(state), "--capture-after", "0.6",
                  "--progress", "quiet"], suite)
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
    lat = []
    for _ in range(rounds):
        state = work / "dl"
        wall([mtest, "--state-dir", str(state), "--deadlock-after", "1",
              "--progress", "quiet", "test_deadlock.py::test_abba"],
             ROOT / "tests" / "suites" / "deadlock")
        for line in (state / "last-run" / "run.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r["type"] == "test" and r["verdict"] == "hung":
                lat.append(r["duration"])
    if lat:
        print("deadlock verdict latency (AB/BA, --deadlock-after 1): median %.2f s "
              "(min %.2f, max %.2f)" % (statistics.median(lat), min(lat), max(lat)))


LOCK_COSTS = r"""
import statistics, sys, threading, timeit
sys.path.insert(0, sys.argv[1])
raw = {"Lock": threading.Lock(), "RLock": threading.RLock(), "Condition": threading.Condition()}
import mtest_locks
mtest_locks.install("locks:4096,waits:1024,sites:2048")
mtest_locks.attach()
led = {"Lock": threading.Lock(), "RLock": threading.RLock(), "Condition": threading.Condition()}
assert type(led["Lock"]) is mtest_locks.Lock and type(raw["Lock"]) is not mtest_locks.Lock
n = 100000
for kind in ("Lock", "RLock", "Condition"):
    for stmt in ("x.acquire(); x.release()", "with x: pass"):
        t = {"raw": [], "ledger": []}
        for _ in range(15):  # interleaved: drift hits both alike
            for name, locks in (("raw", raw), ("ledger", led)):
                t[name].append(timeit.timeit(stmt, number=n, globals={"x": locks[kind]}) / n * 1e9)
        print("%s\t%s\t%.1f\t%.1f" % (kind, stmt, statistics.median(t["raw"]),
                                         statistics.median(t["ledger"])))
"""


def lock_costs(work):
    """The lock ledger's wrappers (src/plugin/mtest_locks.py) against
    CPython's own locks: an uncontended acquire/release pair, in one
    process, interleaved."""
    script = work / "lock_costs.py"
    script.write_text(LOCK_COSTS)
    out = subprocess.run([PYTHON, str(script), str(ROOT / "src" / "plugin")], check=True,
                         capture_output=True, text=True).stdout
    print("lock ledger: an uncontended acquire/release pair, median of 15 x 100,000 "
          "(python %s):" % subprocess.run([PYTHON, "-c", "import sys; print(sys.version.split()[0])"],
                                          capture_output=True, text=True).stdout.strip())
    for line in out.splitlines():
        kind, stmt, raw, led = line.split("\t")
        print("  %-9s %-28s CPython's %6.0f ns, with the ledger %6.0f ns (+%.0f ns, x%.1f)"
              % (kind, stmt, float(raw), float(led), float(led) - float(raw),
                 float(led) / float(raw)))


LOCK_TEST = """
import threading

def test_locks_%d():
    lock, rlock = threading.Lock(), threading.RLock()
    for _ in range(20000):
        with lock:
            with rlock:
                pass
"""


def ledger_suites(mtest, rounds, work):
    """Wall time of whole runs with the ledger and without (--no-lock-ledger),
    interleaved: the tower-shaped suite, and a suite that does nothing but
    take locks (20 tests of 20,000 Lock and RLock pairs: the worst case)."""
    tower_dir, _ = tower_suite(work, "tower-ledger")
    heavy = work / "lockheavy"
    heavy.mkdir()
    (heavy / "pytest.ini").write_text("[pytest]\n")
    (heavy / "test_locks.py").write_text("".join(LOCK_TEST % i for i in range(20)))
    print("whole runs with the lock ledger and without (--no-lock-ledger), mtest -j 2, "
          "%d round(s) interleaved:" % rounds)
    for name, suite in (("tower-shaped suite", tower_dir), ("lock-only suite", heavy)):
        times = {"on": [], "off": []}
        for r in range(rounds):
            for mode in ("on", "off"):
                flags = ["-j", "2"] + (["--no-lock-ledger"] if mode == "off" else [])
                times[mode].append(wall(mtest_argv(mtest, work / ("%s-%s-%d" % (
                    suite.name, mode, r)), *flags), suite))
        on, off = statistics.median(times["on"]), statistics.median(times["off"])
        print("  %-19s ledger on %6.2f s, off %6.2f s: on / off = %.3f%s"
              % (name, on, off, on / off,
                 "   (goal: at most 1.02)" if name.startswith("tower") else ""))


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


def records(state):
    return [json.loads(x) for x in (state / "last-run" / "run.jsonl").read_text().splitlines()]


def stamp(text):
    """Seconds of a record's UTC time stamp (2026-12-07T15:57:51.453Z)."""
    day, clock = text.rstrip("Z").split("T")
    h, m, sec = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(sec)


def restart_gaps(mtest, rounds, work, suite, name, opts, env=ENV):
    """The gaps (ms) from each test's end to the next test's start."""
    gaps = []
    for r in range(rounds):
        state = work / ("restart-%s-%d" % (name, r))
        wall(mtest_argv(mtest, state, "--isolate", "test", *opts), suite, env=env)
        recs = records(state)
        ends = {x["id"]: stamp(x["end"]) for x in recs if x["type"] == "test"}
        starts = [(stamp(x["time"]), x["id"]) for x in recs if x["type"] == "start"]
        for (_, prev), (t, _) in zip(starts, starts[1:]):
            gaps.append((t - ends[prev]) * 1000)
    return gaps


def gen20(work):
    suite = work / "gen20"
    if not suite.exists():
        subprocess.run([PYTHON, str(ROOT / "tools" / "gen-suite.py"), str(suite), "20", "1"],
                       check=True)
    return suite


def restart_latency(mtest, rounds, work):
    """A worker's end to the next test's start: --isolate test on 20
    trivial tests, forked from the zygote and with --spawn. Each gap runs
    from a test's end (its record) to the next test's start record, in
    another worker: the old worker's session end, its sweep, the new
    worker's start (a fork, or a Python with pytest and a collection)."""
    suite = gen20(work)
    print("restart latency, a worker's end to the next test's start (--isolate test, 20 "
          "trivial tests, %d rounds; goal with the zygote: at most 50 ms):" % rounds)
    for name, opts in (("forked", []), ("spawned", ["--spawn"])):
        gaps = restart_gaps(mtest, rounds, work, suite, name, opts)
        print("  %-8s median %6.1f ms (min %.1f, max %.1f, %d gaps)"
              % (name, statistics.median(gaps), min(gaps), max(gaps), len(gaps)))


def isolate_cost(mtest, rounds, work):
    """The tower-like demo (tests/demo) with --isolate test against the
    default, both forked."""
    demo = ROOT / "tests" / "demo"
    times = {"default": [], "--isolate test": []}
    for r in range(rounds):
        for name in times:
            opts = ["--isolate", "test"] if name != "default" else []
            times[name].append(wall([mtest, "--state-dir", str(work / ("demo-%d" % r)),
                                     "--progress", "quiet", "--deadlock-after", "1", *opts],
                                    demo))
    med = {k: statistics.median(v) for k, v in times.items()}
    print("tower-like demo (33 tests, a deadlock, a crash; --deadlock-after 1), %d round(s): "
          "default %.1f s, --isolate test %.1f s: %.3f (goal: at most 1.5)"
          % (rounds, med["default"], med["--isolate test"],
             med["--isolate test"] / med["default"]))


def tower_second_run(mtest, rounds, work):
    """The tower-shaped suite's second run under -j 2 (history from the
    first) against its two-lane limit."""
    suite, expected = tower_suite(work, "tower2")
    limit = sum(t["seconds"] for t in expected) / 2
    state = work / "tower2-state"
    first = wall(mtest_argv(mtest, state, "-j", "2"), suite)
    again = [wall(mtest_argv(mtest, state, "-j", "2"), suite) for _ in range(rounds)]
    med = statistics.median(again)
    print("tower-shaped suite, the second run of -j 2 (history from a first, %.1f s): "
          "median %.1f s of %d, / two-lane limit %.1f s = %.3f (goal: at most 1.03); true "
          "verdicts %d of %d" % (first, med, rounds, limit, med / limit,
                                 true_verdicts(expected, mtest_verdicts(state)), len(expected)))

def paired(times, cpu):
    """-j 1 against plain pytest as the goal states it: the median of each
    round's ratio (a round runs both, one after the other), and the CPU of
    every process of each."""
    for name in ("mtest -j 1", "mtest -j 2"):
        ratios = [t / p for t, p in zip(times[name], times["pytest"])]
        print("  %s / pytest, median of the rounds' ratios = %.3f (min %.3f, max %.3f); "
              "CPU %.3f" % (name, statistics.median(ratios), min(ratios), max(ratios),
                            statistics.median(cpu[name]) / statistics.median(cpu["pytest"])))


PEAK_SIZES = (1000, 10000, 16000)


def run_end(state):
    """The run_end record of the state directory's last run."""
    for line in (state / "last-run" / "run.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r.get("type") == "run_end":
            return r
    return {}


def peak_memory(mtest, work):
    """Peak memory (the run_end record's vmhwm_kb: VmHWM) of runs of 1,000,
    10,000 and 16,000 trivial passing tests, a first run and one with the
    history of the first (durations.json), and how much it grows per test.
    Returns the state directory of the 10,000-test run, for report_time."""
    peaks = {}
    for n in PEAK_SIZES:
        suite = work / ("peak%d" % n)
        subprocess.run([PYTHON, str(ROOT / "tools" / "gen-suite.py"), str(suite), str(n), "20"],
                       check=True)
        for r in (1, 2):
            wall(mtest_argv(mtest, work / ("peak%d-state" % n), "-j", "1"), suite, limit=1800)
            end = run_end(work / ("peak%d-state" % n))
            peaks[n, r] = end.get("vmhwm_kb", 0) if end.get("tests") == n else 0
    print("peak memory of a run (VmHWM), trivial passing tests, -j 1 (goal: at most "
          "4 MiB at 1,000 tests, at most 0.15 KiB more per further test):")
    for n in PEAK_SIZES:
        print("  %6d tests: first run %5d KiB, with history %5d KiB"
              % (n, peaks[n, 1], peaks[n, 2]))
    lo, hi = PEAK_SIZES[0], PEAK_SIZES[-1]
    for r, what in ((1, "first run"), (2, "with history")):
        if peaks[lo, r] and peaks[hi, r]:
            print("  per further test, %s: %.3f KiB (%d to %d tests)"
                  % (what, (peaks[hi, r] - peaks[lo, r]) / (hi - lo), lo, hi))
    return work / "peak10000-state"


def report_time(mtest, rounds, state):
    """mtest --report of a 10,000-test run: wall time (from this script's
    spawn to the end) and mtest's own CPU time, medians of many runs; and
    of mtest --version, the floor that any command pays to start."""
    times = {"--report": [], "--version": []}
    cpu = {name: [] for name in times}
    for _ in range(rounds):  # interleaved
        for name in times:
            argv = [mtest, "--report", "--state-dir", str(state)] if name == "--report" \
                else [mtest, "--version"]
            times[name].append(wall(argv, "/", cpu=cpu[name]) * 1000)
    print("mtest --report of a 10,000-test run, %d runs (goal: at most 5 ms):" % rounds)
    for name in times:
        print("  %-9s median %5.1f ms wall (min %.1f), %5.1f ms CPU"
              % (name, statistics.median(times[name]), min(times[name]),
                 statistics.median([c * 1000 for c in cpu[name]])))


def containment_cost(mtest, rounds, work, tests=200):
    """The per-test cost of finding a test's processes: its cgroup leaf's
    members (cgroup.procs) against the /proc scan (MTEST_CGROUP=off), on a
    suite whose every test forks and reaps a child, with --isolate test: a
    leak check (a scan) and a sweep after each test, the most a run does.
    mtest times its own scans and sweep passes (run_end's scan_us and
    sweep_us); wall time beside them."""
    suite = work / "forks"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\n")
    for f in range(10):
        (suite / ("test_f%d.py" % f)).write_text(
            "import os\n\n\n" + "".join(
                "def test_%d():\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n"
                "    os.waitpid(pid, 0)\n\n\n" % k for k in range(tests // 10)))
    nprocs = len([p for p in os.listdir("/proc") if p.isdigit()])
    modes = (("cgroup", {}), ("/proc", {"MTEST_CGROUP": "off"}))
    got = {name: collections.defaultdict(list) for name, _ in modes}
    for r in range(rounds):  # interleaved
        for name, extra in modes:
            state = work / ("contain-%s-%d" % (name.strip("/"), r))
            took = wall(mtest_argv(mtest, state, "--isolate", "test"), suite,
                        env=dict(ENV, **extra))
            start, end = [x for x in records(state) if x["type"] in ("run_start", "run_end")]
            got[name]["wall"].append(took)
            got[name]["held"].append(start["processes"].startswith("held by cgroup"))
            for key in ("scans", "scan_us", "sweeps", "sweep_us"):
                got[name][key].append(end.get(key, 0))
    print("finding a test's processes, %d tests that each fork a child, --isolate test, %d "
          "rounds, %d processes on this machine:" % (tests, rounds, nprocs))
    for name, _ in modes:
        g = got[name]
        if name == "cgroup" and not all(g["held"]):
            print("  cgroup: not measured: no cgroup v2 subtree mtest may use here")
            continue
        scans, sweeps = statistics.median(g["scans"]), statistics.median(g["sweeps"])
        scan_us, sweep_us = statistics.median(g["scan_us"]), statistics.median(g["sweep_us"])
        print("  %-7s %4d scans %6.1f us each, %3d sweep passes %6.1f us each: %5.1f us a test;"
              " wall median %.2f s" % (name, scans, scan_us / max(scans, 1), sweeps,
                                       sweep_us / max(sweeps, 1), (scan_us + sweep_us) / tests,
                                       statistics.median(g["wall"])))
    # A fork joins its lane's cgroup (a migration in the zygote's middle
    # process): the restart latency, both ways.
    for name, extra in modes:
        gaps = restart_gaps(mtest, rounds, work, gen20(work), "contain-" + name.strip("/"), [],
                            env=dict(ENV, **extra))
        print("  %-7s restart latency (forked, --isolate test) median %.1f ms (max %.1f)"
              % (name, statistics.median(gaps), max(gaps)))


def main(argv):
    if len(argv) > 2 and argv[1] == "--restart":
        # Only the restart latency (make check-arm's guests measure it).
        with tempfile.TemporaryDirectory(prefix="mtest-bench-") as tmp:
            restart_latency(os.path.abspath(argv[2]), 1, Path(tmp))
        return 0
    if len(argv) > 2 and argv[1] == "--contain":
        with tempfile.TemporaryDirectory(prefix="mtest-bench-") as tmp:
            containment_cost(os.path.abspath(argv[2]), 3, Path(tmp))
        return 0
    mtest = os.path.abspath(argv[1] if len(argv) > 1 else "build/mtest")
    rounds = int(argv[2]) if len(argv) > 2 else 11
    tower_rounds = int(argv[3]) if len(argv) > 3 else 1
    with tempfile.TemporaryDirectory(prefix="mtest-bench-") as tmp:
        times, cpu = overhead(mtest, rounds, Path(tmp))
        paired(times, cpu)
        pytest_phases(rounds, Path(tmp))
        print()
        tower(mtest, tower_rounds, Path(tmp))
        print()
        hangs_in_one_file(mtest, tower_rounds, Path(tmp))
        print()
        tower_second_run(mtest, tower_rounds, Path(tmp))
        print()
        restart_latency(mtest, 3, Path(tmp))
        isolate_cost(mtest, tower_rounds, Path(tmp))
        print()
        containment_cost(mtest, 3, Path(tmp))
        print()
        captures(mtest, 5, Path(tmp))
        deadlock_latency(mtest, 5, Path(tmp))
        crash_handler_cost(mtest, 5)
        print()
        lock_costs(Path(tmp))
        ledger_suites(mtest, max(tower_rounds, 3), Path(tmp))
        print()
        state = peak_memory(mtest, Path(tmp))
        print()
        report_time(mtest, 51, state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
