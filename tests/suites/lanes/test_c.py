"""File c of four: passes, a failure, and in b and d a hang."""
import time

import pytest


@pytest.mark.parametrize("n", range(5))
def test_c_pass(n):
    time.sleep(0.02)


def test_c_fails():
    assert "c" == "x"
