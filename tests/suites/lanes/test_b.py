"""File b of four: passes, a failure, and in b and d a hang."""
import time

import pytest


@pytest.mark.parametrize("n", range(5))
def test_b_pass(n):
    time.sleep(0.02)


def test_b_fails():
    assert "b" == "x"


def test_b_hangs():
    time.sleep(60)
