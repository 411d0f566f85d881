"""Run history (issue 9): --keep N folders, --history's one line per run
and "failing since", --report --run N or a date; damaged state files moved
aside while the run goes on."""

import json
import re
import subprocess

from conftest import MTEST, _env

FLAKY = "test_flaky.py::test_flaky"


def cmd(state, *args):
    return subprocess.run([MTEST, "--state-dir", str(state), *args], capture_output=True,
                          text=True, env=_env(None), timeout=60)


def test_history_and_report_of_older_runs(mtest):
    first = mtest("flaky", "--keep", "3")
    assert cmd(first.state, "--quarantine", "out", FLAKY).returncode == 0  # its failures count
    codes = [mtest("flaky", "--keep", "3", env={"FLAKY": f}).code
             for f in ["pass", "fail", "fail"]]
    assert codes == [0, 1, 1]
    state = mtest("flaky", "--keep", "3", env={"FLAKY": "fail"}).state  # a fifth: 3 kept
    runs = sorted(p.name for p in (state / "runs").iterdir())
    assert len(runs) == 3

    h = cmd(state, "--history")
    assert h.returncode == 0, h.stderr
    lines = h.stdout.splitlines()
    table = [l for l in lines if re.match(r"\s+\d+  20\d\d-", l)]
    assert len(table) == 3
    assert all("exit 1" in l for l in table)  # runs 3, 4, 5: all failed
    assert "2 collected: 1 passed, 1 failed" in table[0]
    # Kept runs all failed it: failing in every kept run.
    assert "- %s: failed in all 3 kept runs that ran it" % FLAKY in h.stdout

    # One more passing run: the change is listed, dated, against the run before.
    mtest("flaky", "--keep", "3")
    h = cmd(state, "--history")
    (line,) = [l for l in h.stdout.splitlines() if l.startswith("- " + FLAKY)]
    assert re.search(r"passed since run 1 \(20\d\d-\d\d-\d\dT\d\d:\d\d; 1 run\), failed before",
                     line), line
    assert "1 test kept one good verdict" in h.stdout  # test_steady
    mtest("flaky", "--keep", "3", env={"FLAKY": "fail"})
    h = cmd(state, "--history")
    (line,) = [l for l in h.stdout.splitlines() if l.startswith("- " + FLAKY)]
    assert re.search(r"failed since run 1 \(20\d\d-\d\d-\d\dT\d\d:\d\d; 1 run\), passed before",
                     line), line

    # --report --run: N, a date, a name; the exit code is that run's.
    runs = sorted(p.name for p in (state / "runs").iterdir())
    r = cmd(state, "--report", "--run", "2")
    assert r.returncode == 0 and "passed (exit 0)" in r.stdout
    assert runs[-2] in r.stdout
    r = cmd(state, "--report", "--run", "1")
    assert r.returncode == 1 and runs[-1] in r.stdout
    day = runs[-1][:4] + "-" + runs[-1][4:6] + "-" + runs[-1][6:8]
    r = cmd(state, "--report", "--run", day)
    assert r.returncode == 1 and runs[-1] in r.stdout  # the newest of that day
    r = cmd(state, "--report", "--run", runs[0])
    assert runs[0] in r.stdout
    for bad in ["9", "0", "yesterday", "1999-01-01", "a\nb"]:
        r = cmd(state, "--report", "--run", bad)
        assert r.returncode == 4 and r.stderr.count("\n") == 1, (bad, r.stderr)


def test_history_with_nothing(tmp_path):
    r = cmd(tmp_path / "none", "--history")
    assert r.returncode == 4 and r.stderr.count("\n") == 1


def test_history_of_a_run_that_died(mtest_bg):
    proc, state, mark = mtest_bg("interrupt")
    from conftest import wait_for
    wait_for(mark.exists, what="the blocking test")
    proc.kill()
    proc.communicate(timeout=60)
    h = cmd(state, "--history")
    assert h.returncode == 0
    assert "DIED" in h.stdout and "without a verdict" in h.stdout


GARBAGE = {
    "durations.json": b"\x00\xff{not json",
    "quarantine.json": b'{"v":1,"tests":[\n{"id":"x","h":"FF',  # truncated
    "state.json": b"garbage\n",
}


def test_garbage_state_files_are_moved_aside_and_the_run_completes(mtest):
    first = mtest("flaky")
    assert first.code == 0
    state = first.state
    for name, data in GARBAGE.items():
        (state / name).write_bytes(data)
    # And a run's journal that is not one: --history and --report go on.
    (state / "runs" / "20000101T000000.000Z-1").mkdir()
    (state / "runs" / "20000101T000000.000Z-1" / "run.jsonl").write_bytes(b"\x00garbage\n{")
    run = mtest("flaky", env={"FLAKY": "fail"})
    assert run.code == 1
    assert len(run.verdicts) == 2
    for name, data in GARBAGE.items():
        if name == "state.json":
            continue  # replaced by this run; read only by --resume
        assert (state / (name + ".corrupt")).read_bytes() == data
        assert name.split(".")[0] in run.stderr
    for name in ["durations.json", "quarantine.json", "state.json"]:
        text = (state / name).read_text()
        lines = text.splitlines()
        if name == "state.json":
            json.loads(text)
        else:
            for l in lines[1:-1]:
                json.loads(l.rstrip(","))
    h = cmd(state, "--history")
    assert h.returncode == 0, h.stderr
    assert "20000101T000000" in h.stdout or "2000-01-01" in h.stdout


def test_garbage_state_json_for_resume(mtest):
    run = mtest("flaky")
    (run.state / "state.json").write_bytes(b"\x01\x02")
    r = cmd(run.state, "--resume")
    # Damaged: moved aside, and the newest run (which ended) is not resumed.
    assert r.returncode == 4 and r.stderr.count("\n") <= 2, r.stderr
    assert (run.state / "state.json.corrupt").exists()
