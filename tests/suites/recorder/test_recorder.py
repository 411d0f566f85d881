"""30 passes, then a test that signals MTEST_E2E_MARK and blocks (mtest gets killed here), then 5 more."""
import os
import time

import pytest


@pytest.mark.parametrize("n", range(30))
def test_before(n):
    pass


@pytest.mark.timeout(120)
def test_blocks():
    mark = os.environ.get("MTEST_E2E_MARK")
    if mark:
        open(mark, "w").close()
    time.sleep(60)


@pytest.mark.parametrize("n", range(5))
def test_after(n):
    pass
