"""Failures with big messages and a lot of output, so that a state
directory on a small disk fills partway through the run (ENOSPC scenario
in tests/e2e/test_hostile_state.py): every bundle holds the test's
captured output and its long traceback."""
import sys

import pytest


@pytest.mark.parametrize("n", range(40))
def test_fails_loudly(n):
    sys.stdout.write(("out %02d " % n + "o" * 120 + "\n") * 128)  # 16 KiB
    sys.stderr.write(("err %02d " % n + "e" * 120 + "\n") * 32)   # 4 KiB
    assert n < 0, "a long failure message %d: %s" % (n, "m" * 8000)


def test_last_passes():
    pass
