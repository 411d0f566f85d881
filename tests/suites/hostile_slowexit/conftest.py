"""A session whose teardown is slow after a pytest.exit(): 3 s, longer
than the run's --timeout 2, as any teardown is on a slow box (both times
MTEST_E2E_SLOW under emulation)."""
import os
import time

import pytest

EXITING = []


@pytest.fixture(scope="session", autouse=True)
def slow_after_exit():
    yield
    if EXITING:
        time.sleep(3 * float(os.environ.get("MTEST_E2E_SLOW", "1")))
