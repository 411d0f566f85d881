"""File a of four: passes, a failure, and in b and d a hang."""
import time

import pytest


@pytest.mark.parametrize("n", range(5))
def test_a_pass(n):
    time.sleep(0.02)


def test_a_fails():
    assert "a" == "x"
