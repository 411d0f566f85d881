"""Short tests, for kill -9 and power cuts at any instant, and --resume."""
import time

import pytest


@pytest.mark.parametrize("n", range(8))
def test_r1(n):
    time.sleep(0.05)
    assert n != 3 or 1 != 2, "one failure, so that verdicts differ"
