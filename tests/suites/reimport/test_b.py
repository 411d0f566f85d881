"""File B imports fine once, then hangs on every later import: the second
worker must leave it out, and still run file C."""
import os
import time

MARK = os.environ.get("MTEST_E2E_MARK")
if MARK and os.path.exists(MARK):
    time.sleep(1000)
if MARK:
    open(MARK, "w").close()


def test_b1():
    pass
