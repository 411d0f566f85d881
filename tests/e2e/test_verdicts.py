"""Each fixture suite ends with exactly the verdicts its expected.tsv lists,
the tests after every hang and crash run, and no process of the run is
left alive."""

import pytest

from conftest import SLOW, SUITES, expected, kill_leftovers, leftovers, read_expected

CASES = [
    # suite, extra mtest arguments, exit code
    ("basic", [], 1),
    ("collect", ["--collect-timeout", "2"], 1),
    ("hang", [], 1),
    ("crash", [], 1),
    ("procs", [], 0),
    ("output", [], 1),
    ("seedini", ["--timeout", "2"], 1),
    ("allpass", [], 0),
]


@pytest.mark.parametrize("suite,args,code", CASES, ids=[c[0] for c in CASES])
def test_suite_verdicts(mtest, suite, args, code):
    run = mtest(suite, *args)
    left = leftovers(run.pid)
    kill_leftovers(left)
    assert run.verdicts == expected(suite), run.stdout + run.stderr
    assert run.code == code, run.stdout + run.stderr
    assert left == [], "processes of the run still alive"
    end = run.of_type("run_end")[0]
    assert sum(end["counts"].values()) == end["tests"] + sum(
        1 for r in run.of_type("test") if r.get("kind") == "file")


def test_crash_keeps_last_line(mtest):
    run = mtest("crash")
    assert "LAST LINE BEFORE CRASH" in run.bundle("test_crash.py::test_segfault")
    assert "SIGSEGV" in run.bundle("test_crash.py::test_segfault")


def test_seed_ini_runs_unchanged(mtest):
    """The tower's addopts (--timeout=60 --timeout-method=thread) stay valid,
    but pytest-timeout never acts: mtest ends the hang and says so."""
    run = mtest("seedini", "--timeout", "2")
    hung = [r for r in run.of_type("test") if r["verdict"] == "hung"]
    assert [r["reason"] for r in hung] == ["sleeping"]
    ended = [r["text"] for r in run.of_type("event") if r["text"].startswith("mtest ended")]
    assert len(ended) == 1 and ended[0].endswith(": its test hung"), ended
    console = (run.last / "console.log").read_text(errors="replace")
    assert "Timeout +++" not in console
    assert "Stack of" not in console


def test_failure_in_report_and_bundle(mtest):
    run = mtest("basic")
    report = run.report()
    assert report.returncode == run.code == 1
    record = run.record("test_basic.py::test_fail")
    assert "assert" in record["detail"]
    assert record["detail"] in report.stdout
    bundle = run.bundle("test_basic.py::test_fail")
    assert "Traceback" in bundle or "def test_fail" in bundle
    assert record["detail"].split(": ", 1)[1] in bundle


def test_rerun_plugins_and_infinite_timeouts(mtest):
    """A rerun plugin logs each attempt; a timeout marker of inf is not JSON."""
    run = mtest("reruns")
    assert run.code == 1
    assert run.verdicts == expected("reruns")


def test_a_file_that_stops_collecting_is_left_out(mtest, tmp_path):
    """Spawned workers collect again: one that finds a file no longer
    collects leaves it out."""
    run = mtest("reimport", "--collect-timeout", "2", "--spawn",
                env={"MTEST_E2E_MARK": str(tmp_path / "imported")})
    assert run.verdicts == expected("reimport")
    assert run.code == 1


def test_forked_workers_never_collect_again(mtest, tmp_path):
    """Workers forked from the zygote run its one collection: the file that
    would hang on a second import runs in the worker after the crash."""
    run = mtest("reimport", "--collect-timeout", "2",
                env={"MTEST_E2E_MARK": str(tmp_path / "imported")})
    assert run.verdicts == read_expected(SUITES / "reimport" / "expected-fork.tsv")
    assert run.code == 1


def test_slow_teardown_after_pytest_exit_is_not_a_hang(mtest):
    """pytest.exit() ends the session; its teardown then takes 3 s, longer
    than --timeout 2 (a slow box's teardown): the test crashed by
    pytest.exit, it did not hang, and the next file runs."""
    run = mtest("hostile_slowexit", "--timeout", "%g" % (2 * SLOW))
    assert run.verdicts == expected("hostile_slowexit"), run.stdout
    assert run.record("test_a_exit.py::test_exits")["detail"] == \
        "pytest.exit: the test ends the session"


def test_durations_are_the_workers_own(mtest, tmp_path):
    """A test's duration is the worker's clock from its start to its done,
    not mtest's reading of them: the events of short tests gather before
    mtest reads them (a coalescing window), so a start read late made a
    5 ms test 3 or 4 ms long (and a trivial one 2 ms)."""
    suite = tmp_path / "suite"
    suite.mkdir()
    body = ["import time\n"]
    for k in range(12):
        body += ["def test_quick_%d_%d():\n    pass\n" % (k, i) for i in range(6)]
        body.append("def test_sleep_%d():\n    time.sleep(0.005)\n" % k)
    (suite / "test_durations.py").write_text("\n".join(body))
    run = mtest("allpass", "-j", "1", cwd=suite)
    assert run.code == 0, run.stderr
    tests = run.of_type("test")
    assert len(tests) == 12 * 7
    short = {r["id"]: r["duration"] for r in tests
             if "sleep" in r["id"] and r["duration"] < 0.005}
    assert short == {}, short
