"""Three tests that the history knows as 0.3 s each, and that take 1 s each
when MTEST_E2E_SLOWER is set: the budget's prediction falls short, and the
clock cuts whatever runs last."""
import os
import time

import pytest


@pytest.mark.parametrize("n", range(3))
def test_long(n):
    time.sleep(1.0 if os.environ.get("MTEST_E2E_SLOWER") else 0.3)
