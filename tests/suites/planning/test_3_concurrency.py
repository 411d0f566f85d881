"""Tier 2."""
import time

import pytest


@pytest.mark.concurrency
def test_threads():
    time.sleep(0.2)
