"""Collected last. Its import signals the harness via MTEST_E2E_MARK and
blocks, the first time only: the run is stopped during its collection, and
its resume collects at once."""
import os
import time

_mark = os.environ.get("MTEST_E2E_MARK")
if _mark and not os.path.exists(_mark):
    open(_mark, "w").close()
    time.sleep(60)


def test_z():
    pass
