"""Interruption, a killed mtest, exit codes and bad input."""

import json
import os
import signal
import subprocess

import pytest

from conftest import MTEST, SUITES, expected, kill_leftovers, leftovers, wait_for


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_mid_test_interrupts(mtest_bg, sig):
    proc, state, mark = mtest_bg("interrupt")
    wait_for(mark.exists, what="the blocking test to start")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, out + err
    records = [json.loads(line) for line in
               (state / "last-run" / "run.jsonl").read_text().splitlines()]
    verdicts = {r["id"]: (r["verdict"], r["reason"]) for r in records if r["type"] == "test"}
    assert verdicts == expected("interrupt")
    assert (state / "last-run" / "summary.md").read_text().count("INTERRUPTED") == 1
    pid = records[0]["pid"]
    left = leftovers(pid)
    kill_leftovers(left)
    assert left == []


def blocker_recorded(state, mark):
    """Wait until the blocking test runs, as mtest knows it, not only the
    worker: its start record comes after every earlier verdict in the
    worker's stream."""
    wait_for(mark.exists, what="the blocking test to start")
    journal = state / "last-run" / "run.jsonl"
    wait_for(lambda: any('"type":"start"' in l and '"id":"test_recorder.py::test_blocks"' in l
                         for l in journal.read_text().splitlines()),
             what="mtest to record the blocker's start")
    return journal


def test_kill_9_leaves_a_readable_journal(mtest_bg):
    proc, state, mark = mtest_bg("recorder")
    journal = blocker_recorded(state, mark)
    proc.kill()
    proc.communicate(timeout=60)
    lines = journal.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line parses
    passed = [r for r in records if r["type"] == "test" and r["verdict"] == "passed"]
    assert len(passed) == 30  # every verdict known before the kill
    assert not any(r["type"] == "run_end" for r in records)
    report = subprocess.run([MTEST, "--report", "--state-dir", str(state)],
                            capture_output=True, text=True, timeout=60)
    assert "INCOMPLETE: 6 of 36 tests have no verdict" in report.stdout
    assert report.returncode == 6
    # The worker dies with mtest (PR_SET_PDEATHSIG: SIGKILL when its parent
    # goes); the blocking test started no process of its own, so nothing of
    # the run is left once the kernel has delivered it.
    pid = records[0]["pid"]
    try:
        wait_for(lambda: leftovers(pid) == [], bound=30,
                 what="the worker to die with mtest (PR_SET_PDEATHSIG)")
    finally:
        kill_leftovers(leftovers(pid))


def test_report_in_progress(mtest_bg):
    proc, state, mark = mtest_bg("recorder")
    blocker_recorded(state, mark)  # the worker's mark alone: 25/36 once (check-debian)
    report = subprocess.run([MTEST, "--report", "--state-dir", str(state)],
                            capture_output=True, text=True, timeout=60)
    assert "in progress (pid %d, 30/36)" % proc.pid in report.stdout
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)


def test_exit_codes(mtest):
    assert mtest("allpass").code == 0
    assert mtest("basic").code == 1
    assert mtest("empty").code == 5
    run = mtest("allpass", "--max-tests", "2")
    assert run.code == 6
    assert sorted(v for v, _ in run.verdicts.values()) == ["not_run", "passed", "passed"]
    assert "over a limit" in [r for _, r in run.verdicts.values()]
    assert "--max-tests" in (run.last / "summary.md").read_text()


def test_run_timeout_leaves_the_rest_not_run(mtest):
    run = mtest("interrupt", "--run-timeout", "2")
    assert run.code == 6
    assert run.verdicts["test_a.py::test_first"] == ("passed", "")
    assert run.verdicts["test_b.py::test_blocks"] == ("not_run", "run timeout")
    assert run.verdicts["test_c.py::test_after"] == ("not_run", "run timeout")


def test_usage_errors_are_one_line(tmp_path):
    def run(*args, cwd=SUITES / "allpass"):
        return subprocess.run([MTEST, "--state-dir", str(tmp_path / "s"), *args], cwd=cwd,
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, MTEST_CONFIG="/dev/null"))

    for args in (["--bogus"], ["--timeout", "soon"], ["--", "-x"], ["--", "--pdb"],
                 ["--max-tests", "0"]):
        r = run(*args)
        assert r.returncode == 4, args
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("mtest: "), r.stderr

    nopytest = tmp_path / "python-without-pytest"
    nopytest.write_text("#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n")
    nopytest.chmod(0o755)
    r = run("--python", str(nopytest))
    assert r.returncode == 4
    assert "cannot run pytest" in r.stderr and "pytest" in r.stderr.splitlines()[0]
    assert r.stderr.count("\n") == 1

    r = run("--python", str(tmp_path / "nothing-here"))
    assert r.returncode == 4 and "No such file" in r.stderr

    suite = tmp_path / "badini"
    suite.mkdir()
    (suite / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n")
    (suite / "test_x.py").write_text("def test_x(): pass\n")
    r = run(cwd=suite)
    assert r.returncode == 4
    assert "refused its arguments" in r.stderr and "--no-such-option" in r.stderr


def test_report_finds_nothing(tmp_path):
    r = subprocess.run([MTEST, "--report"], cwd=tmp_path, capture_output=True, text=True,
                       env=dict(os.environ, HOME=str(tmp_path), MTEST_CONFIG="/dev/null"),
                       timeout=60)
    assert r.returncode == 4
    assert r.stderr.startswith("mtest: no run to report; looked in ")
    assert r.stderr.count("\n") == 1


def test_dead_stdout_does_not_end_the_run(tmp_path):
    """A closed pipe on stdout (a dropped SSH session): EPIPE, and on."""
    state = tmp_path / "state"
    proc = subprocess.Popen([MTEST, "--state-dir", str(state), "--progress", "plain"],
                            cwd=SUITES / "allpass", stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL,
                            env=dict(os.environ, MTEST_CONFIG="/dev/null"))
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert "3 collected: 3 passed" in (state / "last-run" / "summary.md").read_text()


def test_pytest_usage_errors_after_start_are_one_line(tmp_path):
    def run(*args):
        return subprocess.run([MTEST, "--state-dir", str(tmp_path / "s"), *args],
                              cwd=SUITES / "allpass", capture_output=True, text=True,
                              timeout=60, env=dict(os.environ, MTEST_CONFIG="/dev/null"))

    r = run("test_nope.py")
    assert r.returncode == 4 and r.stderr.count("\n") == 1
    assert "not found" in r.stderr and "test_nope.py" in r.stderr


def test_kill_grace_zero_lets_workers_exit(mtest):
    run = mtest("allpass", "--kill-grace", "0")
    assert run.code == 0
    assert [e for e in run.of_type("event") if "did not exit" in e["text"]] == []
