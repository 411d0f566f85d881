"""Quarantine (issue 9): a flaky test enters on its third bad result in
five runs and leaves after three passes in a row; while in, its failure
leaves the exit code at 0 and is reported apart; pins by hand."""

import json
import signal
import subprocess

from conftest import MTEST, _env

FLAKY = "test_flaky.py::test_flaky"


def quarantine(state, *args):
    return subprocess.run([MTEST, "--quarantine", "--state-dir", str(state), *args],
                          capture_output=True, text=True, env=_env(None), timeout=60)


def entry(state):
    lines = (state / "quarantine.json").read_text().splitlines()
    assert lines[0] == '{"v":1,"tests":[' and lines[-1] == "{}]}"
    for line in lines[1:-1]:
        e = json.loads(line.rstrip(","))
        if e["id"] == FLAKY:
            return e
    return None


def test_enters_on_third_bad_in_five_and_leaves_after_three_passes(mtest):
    # Runs 1-4: fail, pass, fail, fail. Quarantine is decided at the end
    # of a run, for the next ones: run 4 still fails the run.
    for k, outcome in enumerate(["fail", "pass", "fail", "fail"]):
        run = mtest("flaky", env={"FLAKY": outcome})
        assert run.code == (1 if outcome == "fail" else 0), (k, run.stderr)
        assert "quarantined" not in run.record(FLAKY)
    assert entry(run.state)["in"] is True
    assert entry(run.state)["h"] == "FPFF"
    assert "enters quarantine" in run.stdout

    # Run 5: in quarantine; its failure is reported apart, exit 0.
    run = mtest("flaky", env={"FLAKY": "fail"})
    assert run.code == 0, run.stderr
    rec = run.record(FLAKY)
    assert rec["verdict"] == "failed" and rec["quarantined"] is True
    assert run.of_type("run_end")[0]["exit"] == 0
    report = run.report()
    assert report.returncode == 0
    assert "## quarantined (1; 1 bad" in report.stdout
    assert "- %s: failed" % FLAKY in report.stdout
    assert "## failed" not in report.stdout
    listing = quarantine(run.state)
    assert listing.returncode == 0
    assert "in         FPFFF %s" % FLAKY in listing.stdout

    # Runs 6-8: three passes; still quarantined until the third is in.
    for k in range(3):
        run = mtest("flaky")
        assert run.code == 0
        assert run.record(FLAKY).get("quarantined") is True
    assert entry(run.state)["in"] is False
    assert "leaves quarantine" in run.stdout

    # Run 9: out again, a failure fails the run.
    run = mtest("flaky", env={"FLAKY": "fail"})
    assert run.code == 1
    assert "quarantined" not in run.record(FLAKY)


def test_pins_by_hand(mtest):
    run = mtest("flaky")
    assert run.code == 0
    pin = quarantine(run.state, "in", FLAKY)
    assert pin.returncode == 0, pin.stderr
    assert "pinned in" in pin.stdout
    run = mtest("flaky", env={"FLAKY": "fail"})
    assert run.code == 0 and run.record(FLAKY)["quarantined"] is True
    assert quarantine(run.state, "out", FLAKY).returncode == 0
    run = mtest("flaky", env={"FLAKY": "fail"})
    assert run.code == 1 and "quarantined" not in run.record(FLAKY)
    # Pinned out, it stays out even with 3 failures in 5...
    for _ in range(3):
        assert mtest("flaky", env={"FLAKY": "fail"}).code == 1
    # ...and back to the rule, it is in at once (its last 5 say so).
    assert quarantine(run.state, "auto", FLAKY).returncode == 0
    run = mtest("flaky", env={"FLAKY": "fail"})
    assert run.code == 0 and run.record(FLAKY)["quarantined"] is True


def test_bad_commands(tmp_path):
    state = tmp_path / "state"
    for args, says in [(["sideways", "x"], "want nothing"),
                       (["in"], "no test id"),
                       (["in", "a\nb"], "not a test id")]:
        r = quarantine(state, *args)
        assert r.returncode == 4, (args, r.stderr)
        assert says in r.stderr and len(r.stderr.splitlines()) == 1


def test_pin_waits_for_a_running_run(mtest_bg, tmp_path):
    """A run writes quarantine.json at its end: a pin during it would be
    lost, so it is refused with the busy code."""
    from conftest import wait_for
    proc, state, mark = mtest_bg("interrupt")
    wait_for(lambda: (state / "lock").exists() and mark.exists(), what="the run to start")
    r = quarantine(state, "in", "x.py::t")
    assert r.returncode == 7 and "another run is in progress" in r.stderr
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 2
