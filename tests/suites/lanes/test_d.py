"""File d of four: passes, a failure, and in b and d a hang."""
import time

import pytest


@pytest.mark.parametrize("n", range(5))
def test_d_pass(n):
    time.sleep(0.02)


def test_d_fails():
    assert "d" == "x"


def test_d_crashes():
    import os
    os.abort()
