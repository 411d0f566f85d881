"""Signals the harness via MTEST_E2E_MARK and blocks, the first time only:
the run is interrupted here, and its resume passes at once."""
import os
import time


def test_blocks():
    mark = os.environ.get("MTEST_E2E_MARK")
    if mark and not os.path.exists(mark):
        open(mark, "w").close()
        time.sleep(60)
