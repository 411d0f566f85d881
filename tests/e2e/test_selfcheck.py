"""mtest --self-check (issue 11): the canned scenarios through the whole
machinery; PASS on a sound install, and on a broken one a line that says
exactly what is broken."""

import os
import re
import shutil
import subprocess
from pathlib import Path

from conftest import MTEST, ROOT, SLOW, _env

from test_leds import FAKE

CHECKS = ("pass", "fail", "hang", "deadlock", "crash", "leak", "after", "sweep")


def selfcheck(*args, mtest=MTEST, env=None):
    return subprocess.run([mtest, "--self-check", *args], capture_output=True, text=True,
                          env=_env(env), timeout=180 * SLOW, cwd="/")


def oks(out):
    return {m.group(1) for m in re.finditer(r"^  ok +(\S+)", out, re.M)}


def test_passes_from_the_source_tree():
    r = selfcheck()
    assert r.returncode == 0, r.stdout + r.stderr
    assert set(CHECKS) <= oks(r.stdout), r.stdout
    assert "FAIL" not in r.stdout and r.stdout.splitlines()[-1].startswith("PASS (")
    assert "deadlock (certain)" in r.stdout and "SIGSEGV" in r.stdout


def test_no_pytest_is_named():
    """The pyenv build first on PATH has no pytest: said in one line."""
    py = shutil.which("python3", path="/root/.pyenv/shims:" + os.environ.get("PATH", ""))
    if not py or subprocess.run([py, "-c", "import pytest"], capture_output=True).returncode == 0:
        # A Python without pytest of our own making, then.
        py = "/bin/false"
    r = selfcheck("--python", py)
    assert r.returncode == 1, r.stdout
    (line,) = [l for l in r.stdout.splitlines() if l.startswith("  FAIL")]
    assert "pytest" in line and py in line, r.stdout
    assert r.stdout.splitlines()[-1].startswith("FAIL: 1 of the checks")
    kept = re.search(r"kept in (\S+)", r.stdout).group(1)
    shutil.rmtree(kept)


def test_missing_crash_handler_is_named(tmp_path):
    """A binary without its crash handler beside it: the crash check says so."""
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    shutil.copy(MTEST, prefix / "bin" / "mtest")
    shutil.copytree(ROOT / "tools" / "selfcheck", prefix / "share" / "mtest" / "selfcheck")
    r = selfcheck(mtest=str(prefix / "bin" / "mtest"))
    assert r.returncode == 1, r.stdout
    (line,) = [l for l in r.stdout.splitlines() if l.startswith("  FAIL")]
    assert line.split()[1] == "crash" and "no crash handler" in line, r.stdout
    assert {"pass", "fail", "hang", "deadlock", "leak", "sweep"} <= oks(r.stdout)
    shutil.rmtree(re.search(r"kept in (\S+)", r.stdout).group(1))


def test_missing_scenarios_are_named(tmp_path):
    r = selfcheck(env={"MTEST_SELFCHECK_DIR": str(tmp_path)})
    assert r.returncode == 1
    assert "not installed" in r.stderr and str(tmp_path) in r.stderr
    assert r.stderr.count("\n") == 1


def test_with_a_board_the_lamp_test_runs(tmp_path):
    log = tmp_path / "fake.log"
    r = selfcheck("--board", str(FAKE), env={"MTEST_LED_FAKE_LOG": str(log)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "leds" in oks(r.stdout)
    # Every LED went on at once (the lamp), as the fake chip saw it.
    levels = {}
    lit = False
    for l in log.read_text().splitlines():
        _, role, _, level, _ = l.split()
        levels[role] = int(level)
        lit = lit or all(levels.get(x) == 1 for x in ("status", "ok", "alarm"))
    assert lit, log.read_text()


def test_takes_no_paths():
    r = selfcheck("tests/suites/allpass")
    assert r.returncode == 4 and "takes no paths" in r.stderr


def test_unwritable_state_directory_is_named(tmp_path):
    """The box's state directory (here under a file) cannot be made: said,
    while the scenarios themselves still run in a directory of their own."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    r = selfcheck("--state-dir", str(blocker / "state"))
    assert r.returncode == 1, r.stdout
    (line,) = [l for l in r.stdout.splitlines() if l.startswith("  FAIL")]
    assert line.split()[1] == "state" and "not writable" in line, r.stdout
    assert set(CHECKS) <= oks(r.stdout)
    shutil.rmtree(re.search(r"kept in (\S+)", r.stdout).group(1))
