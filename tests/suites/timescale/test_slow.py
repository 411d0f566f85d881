"""A test that needs more time than its timeout gives on a slow box
(tests/e2e/test_timescale.py): hung at 1 s, passed with the timeouts
scaled; and a suite to pause (SIGTSTP) in the middle of."""
import os
import time

import pytest


@pytest.mark.timeout(1)
def test_slow_box():
    time.sleep(1.6)


def test_quick():
    pass


@pytest.mark.parametrize("n", range(3))
def test_paused(n):
    """Each takes 1.5 s of a 2 s timeout; the e2e pauses the run for 10 s
    while one runs (MTEST_E2E_MARK: its start is told)."""
    mark = os.environ.get("MTEST_E2E_MARK")
    if mark and n == 1:
        open(mark, "w").close()
    time.sleep(1.5)
