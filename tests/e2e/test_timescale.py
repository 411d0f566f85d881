"""Timeouts that fit the box (docs/options.md): --timeout-scale, the config
file's timeout_scale and a board's multiply every test's timeout, the
collection timeout and the deadlock windows, and the summary says so."""

import json

from conftest import SUITES


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
