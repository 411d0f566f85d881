"""The deadlock watchdog: early, explained hang verdicts with every thread's
Python and native stacks (issue 3). Durations are compared with the
configured timeout, never with the wall clock."""

import os
import re
import subprocess

from conftest import LEDGER, MTEST, SLOW, SUITES, expected, kill_leftovers, leftovers

TIMEOUT = 30  # the deadlock and legitwait suites' pytest.ini


def test_deadlocks_end_early_and_legit_waits_pass(mtest, tmp_path):
    # The legitimate waits take ~8 s each: run them beside the deadlocks.
    legit_state = tmp_path / "legit"
    legit = subprocess.Popen([MTEST, "--state-dir", str(legit_state), "--deadlock-after", "1",
                              "--kill-grace", "0.5", "--progress", "quiet"],
                             cwd=SUITES / "legitwait", stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True,
                             env={"PATH": "/usr/bin:/bin", "MTEST_CONFIG": "/dev/null"})
    run = mtest("deadlock", "--deadlock-after", "1")
    assert run.verdicts == expected("deadlock"), run.stdout
    for r in run.of_type("test"):
        if r["verdict"] == "hung":
            assert r["duration"] < TIMEOUT / 2, r
    abba = run.bundle("test_deadlock.py::test_abba")
    assert re.search(r'Thread \d+ "MainThread" \(the test thread\): waits for a lock', abba)
    assert re.search(r'Thread \d+ "abba-helper": waits for a lock', abba)
    assert "test_deadlock.py:20" in run.record("test_deadlock.py::test_abba")["detail"]
    if LEDGER:  # the lock ledger names the locks and their holders
        assert ("MainThread waits for b (test_deadlock.py:20), held by abba-helper since "
                "test_deadlock.py:12") in abba
        assert "which waits for a (test_deadlock.py:14), held by MainThread" in abba
    else:
        assert "in take_b_then_a (test_deadlock.py:14)" in abba
    assert "Native:" in abba
    if "unwinder libunwind" in abba:
        # armhf: libunwind names the nearest exported symbol (libc's own
        # internal names are in libc6-dbg's separate files, which it does
        # not read): a libc frame is what can be asked for.
        assert re.search(r"#0 +0x[0-9a-f]+ \S+ \(libc\.so\.6\)", abba), abba[abba.index("Native:"):][:600]
    else:
        assert "__futex" in abba  # native frames, symbolised
    seed = run.record("test_deadlock.py::test_seed_picture")["detail"]
    if LEDGER:
        # Its holder exited: a certain deadlock, the holder named.
        assert seed.startswith("DEADLOCK (certain) after 1."), seed
        assert ("MainThread waits for _state_lock (test_deadlock.py:43), held by EncoderRestart "
                "since test_deadlock.py:62 (") in seed, seed
        assert re.search(r"which exited; (StartupTimeoutMonitor and FFmpegStdoutDrain|"
                         r"FFmpegStdoutDrain and StartupTimeoutMonitor) wait for it too; 10 "
                         r"other threads sleep in timed waits\.$", seed), seed
        return legit_waits_pass(legit, legit_state, run)
    assert seed.startswith("DEADLOCK (likely) after 1.")
    assert "MainThread waits for a lock in _transition_to_running (test_deadlock.py:43)" in seed
    # CPython 3.13 parks each waiter on a semaphore of its own: the futex
    # words do not tell its locks apart, and mtest does not pretend to.
    same = "wait for locks" if "python:    3.13" in run.bundle(
        "test_deadlock.py::test_seed_picture") else "wait for the same lock"
    assert re.search(r"(StartupTimeoutMonitor and FFmpegStdoutDrain|FFmpegStdoutDrain and "
                     r"StartupTimeoutMonitor) %s in _handle_failure" % same, seed), seed
    assert "10 other threads sleep in timed waits" in seed
    legit_waits_pass(legit, legit_state, run)


def legit_waits_pass(legit, legit_state, run):
    report = run.report()
    for r in run.of_type("test"):
        if r["verdict"] == "hung":
            assert r["detail"][:60] in report.stdout

    assert legit.wait(timeout=180 * SLOW) == 0, legit.stderr.read()
    from expect_verdicts import read_verdicts
    assert read_verdicts(legit_state) == expected("legitwait")
    import json
    for line in (legit_state / "last-run" / "run.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["type"] == "test":
            assert r["duration"] >= 7.5, r  # waited its ~8 s, never cut


def test_timeouts_say_what_the_test_was_doing(mtest):
    run = mtest("hang")
    busy = run.record("test_hang.py::test_busy_loop")
    assert busy["reason"] == "busy loop"
    assert "MainThread runs" in busy["detail"]
    assert run.record("test_hang.py::test_pipe_never_delivers")["detail"].startswith(
        "TIMEOUT after 2.0 s (waiting on I/O): MainThread waits on I/O in "
        "test_pipe_never_delivers")


def test_capture_of_128_threads(mtest):
    run = mtest("manythreads", "--capture-after", "1")
    assert run.verdicts == expected("manythreads")  # ran on, and passed
    record = run.record("test_many.py::test_128_threads_survive_a_capture")
    text = (run.last / record["capture"]).read_text()
    assert "# capture: 128 threads" in text
    for i in range(127):
        assert '"worker-%03d"' % i in text
    assert text.count("\nThread ") == 128
    assert len(re.findall(r"Python \(most recent call first\)", text)) == 128
    # The helper did the work: mtest's own peak memory stays small (a
    # sanitizer's shadow memory would not).
    if not os.environ.get("MTEST_SANITIZED"):
        assert run.of_type("run_end")[0]["vmhwm_kb"] < 8 * 1024


def test_crash_bundle_has_python_and_native_frames(mtest):
    run = mtest("crash")
    bundle = run.bundle("test_crash.py::test_segfault")
    assert "(crashed here)" in bundle
    assert 'in string_at' in bundle and "test_segfault" in bundle
    assert re.search(r"#\d+ +0x[0-9a-f]+ \S+\+0x[0-9a-f]+ \(libc\.so\.6\)", bundle)
    left = leftovers(run.pid)
    kill_leftovers(left)
    assert left == []
