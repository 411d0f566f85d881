"""The lock ledger (issue 19): the wrappers behind it change nothing the
code under test sees, and write who holds which lock."""

import glob
import re
import subprocess

import pytest

from conftest import ROOT, SLOW

PYENV = "/root/.pyenv/versions"
DIST = "/usr/lib/python3/dist-packages"
PLUGIN = ROOT / "src" / "plugin"
DATA = ROOT / "tests" / "e2e" / "data"


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
