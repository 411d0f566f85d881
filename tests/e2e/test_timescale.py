"""Timeouts that fit the box (docs/options.md): --timeout-scale, the config
file's timeout_scale and a board's multiply every test's timeout, the
collection timeout and the deadlock windows, and the summary says so."""

import json
import os
import signal
import subprocess
import time

from conftest import MTEST, SLOW, SUITES, Run, _env, wait_for


def test_slow_box_hangs_unscaled(mtest):
    run = mtest("timescale", "test_slow.py::test_slow_box")
    assert run.verdicts["test_slow.py::test_slow_box"][0] == "hung"
    assert "timeouts scaled" not in run.stdout
    assert "(timeout 1.0 s)" in run.bundle("test_slow.py::test_slow_box")


def test_scaled_by_option(mtest):
    run = mtest("timescale", "test_slow.py::test_slow_box", "test_slow.py::test_quick",
                "--timeout-scale", "3", "--collect-timeout", "20", "--deadlock-after", "2")
    assert run.code == 0, run.stdout
    assert run.verdicts == {"test_slow.py::test_slow_box": ("passed", ""),
                            "test_slow.py::test_quick": ("passed", "")}
    note = ("timeouts scaled by 3 (--timeout-scale): each test's timeout, --collect-timeout "
            "60.0 s, --deadlock-after 6.0 s, --likely-after 18.0 s")
    assert note in run.stdout
    assert note in (run.last / "summary.md").read_text()
    assert run.of_type("run_start")[0]["opts"]["timeout_scale"] == 3


def test_scaled_by_config_and_board(mtest, tmp_path):
    conf = tmp_path / "mtest.conf"
    conf.write_text("timeout_scale = 2\n")
    run = mtest("timescale", "test_slow.py::test_slow_box", "--config", str(conf))
    assert run.verdicts["test_slow.py::test_slow_box"] == ("passed", "")
    assert "timeouts scaled by 2 (the config file)" in run.stdout
    board = json.loads((SUITES.parent / "board" / "fake.json").read_text())
    board["timeout_scale"] = 2.5
    path = tmp_path / "slow-board.json"
    path.write_text(json.dumps(board))
    run = mtest("timescale", "test_slow.py::test_slow_box", "--board", str(path),
                env={"MTEST_LED_FAKE_LOG": str(tmp_path / "leds.log")})
    assert "timeouts scaled by 2.5 (the board file)" in run.stdout + run.stderr


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_paused_run_has_no_hangs(tmp_path):
    """Ctrl-Z: SIGTSTP to mtest (in a process group of its own, as a
    shell's job) stops its workers and mtest itself; 10 s later SIGCONT
    goes on, and no test hangs though each has a 2 s timeout."""
    state, mark = tmp_path / "state", tmp_path / "mark"
    proc = subprocess.Popen(
        [MTEST, "--state-dir", str(state), "--progress", "plain", "--kill-grace", "0.5",
         "test_slow.py::test_paused", "test_slow.py::test_quick"],
        cwd=SUITES / "timescale", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=_env({"MTEST_E2E_MARK": str(mark)}), process_group=0)
    try:
        wait_for(mark.exists, what="test_paused[1] in flight")
        os.kill(proc.pid, signal.SIGTSTP)
        wait_for(lambda: proc_state(proc.pid) == "T", 20, "mtest stopped")
        run = Run(proc, state, "", "")
        workers = [w["pid"] for w in run.of_type("worker") if w.get("role") != "zygote"]
        assert workers and all(proc_state(p) in ("T", None) for p in workers), \
            [(p, proc_state(p)) for p in workers]
        assert any(proc_state(p) == "T" for p in workers)
        time.sleep(10)  # the pause itself, longer than any test's timeout
        os.kill(proc.pid, signal.SIGCONT)
        out, _ = proc.communicate(timeout=120 * SLOW)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    run = Run(proc, state, out, "")
    assert run.code == 0, out
    assert set(run.verdicts.values()) == {("passed", "")}, run.verdicts
    assert len(run.verdicts) == 4
    # The pause is said, and counted in no test's time.
    notes = [e["text"] for e in run.of_type("event") if e["what"] == "run"]
    paused = [n for n in notes if n.startswith("paused ") and "by SIGTSTP" in n]
    assert paused and float(paused[0].split()[1]) >= 10, notes
    assert run.record("test_slow.py::test_paused[1]")["duration"] < 5
