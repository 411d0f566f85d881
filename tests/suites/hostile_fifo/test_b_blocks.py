"""Signals MTEST_E2E_MARK once in flight, then blocks: the e2e test sends
mtest SIGTERM meanwhile."""
import os
import time


def test_blocks():
    mark = os.environ.get("MTEST_E2E_MARK")
    if mark:
        with open(mark, "w") as f:
            f.write("in flight\n")
    time.sleep(30)
