"""Signals the harness via MTEST_E2E_MARK and blocks, the first time only
(in flight when the run is interrupted); two tests after it never ran."""
import os
import time


def test_blocks():
    mark = os.environ.get("MTEST_E2E_MARK")
    if mark and not os.path.exists(mark):
        open(mark, "w").close()
        time.sleep(60)


def test_after1():
    pass


def test_after2():
    pass
