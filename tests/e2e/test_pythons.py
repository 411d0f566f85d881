"""Python stacks of other interpreters (issue 11): a deadlock captured
under CPython 3.11, 3.12 and 3.13 from pyenv's builds, with Debian's
pytest on their path. 3.11 is read with its known offsets, 3.13 through
the _Py_DebugOffsets it publishes; 3.12 has neither, and its bundle must
say so: its own faulthandler, asked by a signal, gives the tracebacks."""

import glob
import re

import pytest

from conftest import expected

PYENV = "/root/.pyenv/versions"
DIST = "/usr/lib/python3/dist-packages"


def interpreter(minor):
    found = sorted(glob.glob("%s/3.%d.*/bin/python3" % (PYENV, minor)))
    if not found:
        pytest.skip("no pyenv build of CPython 3.%d here" % minor)
    return found[-1]


@pytest.mark.parametrize("minor", [11, 12, 13])
def test_deadlock_stacks(mtest, minor):
    py = interpreter(minor)
    run = mtest("deadlock", "--deadlock-after", "1", "--python", py,
                env={"PYTHONPATH": DIST})
    assert run.verdicts == expected("deadlock"), run.stderr
    abba = run.bundle("test_deadlock.py::test_abba")
    assert "python:    3.%d." % minor in abba
    assert "Native:" in abba and "__futex" in abba
    if minor == 12:
        # Not read from outside: the worker's faulthandler speaks instead.
        assert ("# Python stacks: Python 3.12 is not read from outside (3.11 and 3.13 only); "
                "the worker's faulthandler gave its tracebacks, below") in abba, abba[:3000]
        assert re.search(r'File ".*test_deadlock.py", line 20 in test_abba', abba), abba[:3000]
        assert re.search(r'File ".*test_deadlock.py", line 14 in take_b_then_a', abba)
        return
    assert re.search(r'File ".*test_deadlock.py", line 20, in test_abba', abba), abba[:3000]
    assert re.search(r'File ".*test_deadlock.py", line 14, in take_b_then_a', abba), abba[:3000]
    assert "from the worker's faulthandler" not in abba  # read from outside
