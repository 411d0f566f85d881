"""The lock ledger (issue 19): who holds the lock a deadlocked thread waits
for, named in the diagnosis; a cycle, a holder that exited or a holder
waiting forever is a certain deadlock, ended after --deadlock-after; a
holder that sleeps keeps it likely and the test runs on. The wrappers
behind it change nothing the code under test sees, and a run gives the same
verdicts with the ledger on and off."""

import glob
import re
import subprocess

import pytest

from conftest import LEDGER, ROOT, SLOW, SUITES, expected, read_expected

PYENV = "/root/.pyenv/versions"
DIST = "/usr/lib/python3/dist-packages"
PLUGIN = ROOT / "src" / "plugin"
DATA = ROOT / "tests" / "e2e" / "data"
DEADLOCK_AFTER = 1.0

needs_ledger = pytest.mark.ledger_only  # deselected with MTEST_E2E_LEDGER=off


def pyenv(minor):
    found = sorted(glob.glob("%s/3.%d.*/bin/python3" % (PYENV, minor)))
    if not found:
        pytest.skip("no pyenv build of CPython 3.%d here" % minor)
    return found[-1]


PYTHONS = ["debian", 11, 12, 13]


def python(which):
    return "/usr/bin/python3" if which == "debian" else pyenv(which)


# --- the wrappers ----------------------------------------------------------------

@pytest.mark.parametrize("which", PYTHONS)
def test_wrappers_keep_lock_semantics_and_write_the_table(which):
    """Holders, waits, places, RLock counts, Condition.wait letting go,
    untracked internals, a full table, a fork: tests/e2e/data/ledger_semantics.py."""
    run = subprocess.run([python(which), str(DATA / "ledger_semantics.py"), str(PLUGIN)],
                         capture_output=True, text=True, timeout=120 * SLOW)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stdout + run.stderr


@pytest.mark.parametrize("minor", [11, 12, 13])
def test_cpython_lock_tests_pass_on_the_wrappers(minor):
    """CPython's own tests of its locks (test.lock_tests: Lock, RLock,
    Condition, Semaphore, Event, Barrier), run against the wrappers."""
    py = pyenv(minor)
    if subprocess.run([py, "-c", "import test.lock_tests"], capture_output=True).returncode:
        pytest.skip("CPython 3.%d here has no test package" % minor)
    run = subprocess.run([py, str(DATA / "cpython_lock_tests.py"), str(PLUGIN)],
                         capture_output=True, text=True, timeout=300 * SLOW)
    assert run.returncode == 0, run.stderr[-3000:]
    assert re.search(r"Ran \d{3} tests", run.stderr) and "OK" in run.stderr, run.stderr[-1000:]


# --- the six shapes ------------------------------------------------------------------

def names(run, nodeid):
    return run.record(nodeid)["detail"]


@needs_ledger
@pytest.mark.parametrize("workers", ["fork", "spawn"])
def test_deadlocks_are_certain_and_name_their_holders(mtest, workers):
    """Workers forked from the zygote (each attaches a ledger of its own)
    and spawned ones alike."""
    run = mtest("locks", "--deadlock-after", "1", *(["--spawn"] if workers == "spawn" else []))
    assert run.verdicts == expected("locks"), run.stdout + run.stderr
    seed = names(run, "test_locks.py::test_seed_holder_exited")
    assert seed.startswith("DEADLOCK (certain) after 1."), seed
    assert ("MainThread waits for _state_lock (test_locks.py:33), held by EncoderRestart "
            "since test_locks.py:26 (") in seed, seed
    assert "), which exited; StartupTimeoutMonitor and FFmpegStdoutDrain wait for it too; " \
        "1 other thread sleeps in a timed wait." in seed or \
        "), which exited; FFmpegStdoutDrain and StartupTimeoutMonitor wait for it too; " \
        "1 other thread sleeps in a timed wait." in seed, seed
    cycle = names(run, "test_locks.py::test_cycle_rlock_and_condition")
    assert re.search(r"MainThread waits for registry \(test_locks.py:74\), held by Registrar "
                     r"since test_locks.py:57 \(\d+\.\d s\), which waits for frames "
                     r"\(test_locks.py:60\), held by Notifier since test_locks.py:64 "
                     r"\(\d+\.\d s\), which waits for registry \(test_locks.py:67\), held by "
                     r"Registrar: a cycle", cycle), cycle
    queue = names(run, "test_locks.py::test_holder_waits_on_queue_forever")
    assert re.search(r"MainThread waits for encoder_lock \(test_locks.py:92\), held by "
                     r"QueueConsumer since test_locks.py:86 \(\d+\.\d s\), which waits on a "
                     r"queue in consume \(test_locks.py:88\), and no other thread can act",
                     queue), queue
    rlock = names(run, "test_locks.py::test_thread_dies_holding_rlock")
    assert re.search(r"MainThread waits for registry \(test_locks.py:107\), held by "
                     r"RegistryLoader since test_locks.py:101 \(\d+\.\d s\), which exited",
                     rlock), rlock
    # Beside a busy thread (blocked on an active thread, by /proc alone).
    busy = names(run, "test_locks.py::test_cycle_beside_a_busy_thread")
    assert re.search(r"^DEADLOCK \(certain\) after 1\.\d s without progress: MainThread waits "
                     r"for output \(test_locks.py:132\), held by MixerThread since "
                     r"test_locks.py:124 \(\d+\.\d s\), which waits for mixer "
                     r"\(test_locks.py:126\), held by MainThread: a cycle; 1 other thread runs",
                     busy), busy
    # The bundle: the graph with each waiter's lock and its holder, and each
    # thread's stack with the locks it holds.
    bundle = run.bundle("test_locks.py::test_cycle_rlock_and_condition")
    assert "# wait-for: cycle (certain)" in bundle
    assert re.search(r"Wait-for graph \(the lock ledger: \d+ locks tracked, 2 held, 3 waits; "
                     r"the test thread: cycle\):", bundle), bundle[:3000]
    assert re.search(r"  Notifier waits for registry since \d+\.\d s, at \S+test_locks.py:67 "
                     r"in notifier\n    registry: an RLock at 0x[0-9a-f]+, made at "
                     r"\S+test_locks.py:52 in test_cycle_rlock_and_condition\n    held by "
                     r"Registrar \(thread \d+\) since", bundle), bundle[:3000]
    assert "frames: a Condition at 0x" in bundle
    assert re.search(r'Thread \d+ "Registrar": waits for a lock .*\n  holds registry \(an '
                     r'RLock\), taken at \S+test_locks.py:57 in registrar', bundle)
    exited = run.bundle("test_locks.py::test_seed_holder_exited")
    assert re.search(r"Locks held by threads that exited:\n  _state_lock: a Lock at 0x[0-9a-f]+,"
                     r" made at \S+test_locks.py:23 in __init__, held by EncoderRestart "
                     r"\(thread \d+\)", exited), exited[:3000]
    # Everywhere the verdict goes: --report, the summary, JUnit, LAVA.
    report = run.report().stdout
    lava = run.report("--lava").stdout
    junit = run.state / "junit.xml"
    run.report("--junit-xml", str(junit))
    for nodeid in expected("locks"):
        if run.record(nodeid)["verdict"] == "hung":
            line = run.record(nodeid)["detail"]
            assert line[:200] in report, report
            assert line[:200] in (run.last / "summary.md").read_text()
            assert line[:100] in junit.read_text().replace("&gt;", ">")
            assert line[:200] in lava, lava


@pytest.mark.parametrize("which", PYTHONS)
def test_certain_deadlocks_end_after_deadlock_after(mtest, which):
    """On 3.11 (Debian's and pyenv's), 3.12 and 3.13, each certain deadlock
    ends within --deadlock-after + 1 s of its onset. Each fixture's deadlock
    forms as its test starts (thread starts and event waits, no sleep: a
    few milliseconds), so the onset is taken as the test's start and the
    record's duration (start to verdict) is held to the bound: stricter
    than the onset itself."""
    env = {} if which == "debian" else {"PYTHONPATH": DIST}
    run = mtest("locks", "--deadlock-after", "%g" % DEADLOCK_AFTER, "--python", python(which),
                env=env)
    want = expected("locks")
    assert {k: v[0] for k, v in run.verdicts.items()} == {k: v[0] for k, v in want.items()}
    for nodeid, (verdict, reason) in want.items():
        if verdict != "hung":
            continue
        r = run.record(nodeid)
        assert r["reason"] == (reason if LEDGER else r["reason"]), r
        if r["reason"] == "deadlock (certain)":
            assert r["duration"] <= (DEADLOCK_AFTER + 1.0) * SLOW, r


@needs_ledger
def test_long_holds_and_condition_waits_are_not_deadlocks(mtest):
    """A lock held across a 20 s sleep (30 s timeout) passes, never called
    a deadlock, though the test thread waits for it all along; a thread in
    Condition.wait holds nothing while others take the lock."""
    run = mtest("lockhold", "--deadlock-after", "1", "--capture-after", "1.5")
    assert run.verdicts == expected("lockhold"), run.stdout + run.stderr
    hold = run.record("test_hold.py::test_lock_held_across_a_long_sleep")
    assert hold["duration"] >= 19.5 and not hold.get("detail"), hold
    text = (run.last / hold["capture"]).read_text()
    assert re.search(r"MainThread waits for flush_lock \(test_hold.py:21\), held by SlowWriter "
                     r"since test_hold.py:14 \(\d+\.\d s\), which sleeps in flush "
                     r"\(test_hold.py:16\)", text), text[:2000]
    assert "# wait-for: holder active\n" in text
    cond = run.record("test_hold.py::test_condition_wait_while_others_take_the_lock")
    text = (run.last / cond["capture"]).read_text()
    main = text[text.index('"MainThread" (the test thread)'):]
    main = main[:main.index("\nThread ")] if "\nThread " in main else main
    assert "holds" not in main, main
    assert not re.search(r"held by MainThread", text), text[:3000]


@pytest.mark.parametrize("which", ["debian", 11, 13])
def test_without_the_ledger_rlock_owners_are_read_from_cpython(mtest, which):
    """--no-lock-ledger: CPython keeps an RLock's owner, and mtest reads it
    from outside (3.11, 3.13): the cycle of RLocks and the RLock whose
    owner exited are still certain and named; a Lock's holder is said to
    be unknown."""
    env = {} if which == "debian" else {"PYTHONPATH": DIST}
    run = mtest("locks", "--no-lock-ledger", "--deadlock-after", "1", "--python", python(which),
                env=env)
    assert run.verdicts == read_expected(SUITES / "locks" / "expected-noledger.tsv"), run.stdout
    cycle = names(run, "test_locks.py::test_cycle_rlock_and_condition")
    assert ("MainThread waits for registry (test_locks.py:74), held by Registrar, which waits "
            "for frames (test_locks.py:60), held by Notifier, which waits for registry "
            "(test_locks.py:67), held by Registrar: a cycle") in cycle, cycle
    rlock = names(run, "test_locks.py::test_thread_dies_holding_rlock")
    assert "MainThread waits for registry (test_locks.py:107), held by a thread that exited" \
        in rlock, rlock
    busy = names(run, "test_locks.py::test_cycle_beside_a_busy_thread")
    assert ("MainThread waits for output (test_locks.py:132), held by MixerThread, which waits "
            "for mixer (test_locks.py:126), held by MainThread: a cycle") in busy, busy
    seed = names(run, "test_locks.py::test_seed_holder_exited")
    assert ("MainThread waits for a lock in _transition_to_running (test_locks.py:33), whose "
            "holder is not known (no lock ledger, and a Lock keeps no owner)") in seed, seed
    bundle = run.bundle("test_locks.py::test_cycle_rlock_and_condition")
    assert "# lock ledger: off (--no-lock-ledger or the config file)" in bundle
    assert re.search(r"Wait-for graph \(CPython's RLock owners; no lock ledger; the test thread: "
                     r"cycle\):\n  MainThread waits for registry, at \S+test_locks.py:74 in "
                     r"test_cycle_rlock_and_condition\n    registry: an RLock at 0x[0-9a-f]+\n"
                     r"    held by Registrar \(thread \d+\)\n", bundle), bundle[:3000]


# --- on and off ------------------------------------------------------------------------

ON_OFF = [
    # suite, mtest arguments, cwd
    ("deadlock", ["--deadlock-after", "1"], None),
    ("locks", ["--deadlock-after", "1"], None),
    ("lockhold", ["--deadlock-after", "1", "-j", "2", "--dist", "test"], None),
    ("demo", ["--deadlock-after", "1"], ROOT / "tests" / "demo"),
]


def expected_of(suite, cwd):
    return read_expected((cwd or SUITES / suite) / "expected.tsv")


@pytest.mark.parametrize("suite,args,cwd", ON_OFF, ids=[c[0] for c in ON_OFF])
def test_same_verdicts_with_the_ledger_off(mtest, suite, args, cwd):
    """--no-lock-ledger: the same verdicts as with the ledger, test by test,
    save where the suite's expected-noledger.tsv says otherwise (and why);
    its reasons are then those of the /proc rules and CPython's RLock
    owners alone. (make check-noledger runs every e2e test this way.)"""
    run = mtest(suite, "--no-lock-ledger", *args, cwd=cwd)
    want = expected_of(suite, cwd)
    path = (cwd or SUITES / suite) / "expected-noledger.tsv"
    off = read_expected(path) if path.exists() else want
    assert run.verdicts == off, run.stdout + run.stderr
    differ = {k for k in want if want[k][0] != off[k][0]}
    assert differ <= {"test_hold.py::test_lock_held_across_a_long_sleep"}, differ
    if suite != "lockhold":
        assert not differ
    for r in run.of_type("test"):
        if r["verdict"] == "hung":
            assert "lock ledger: off (--no-lock-ledger" in run.bundle(r["id"])
