"""Signals the harness via MTEST_E2E_MARK, then blocks so it can be interrupted (SIGINT)."""
import os
import time

import pytest


@pytest.mark.timeout(120)
def test_blocks():
    mark = os.environ.get("MTEST_E2E_MARK")
    if mark:
        open(mark, "w").close()
    time.sleep(60)
