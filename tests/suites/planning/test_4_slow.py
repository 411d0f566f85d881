"""Tier 3: slow (0.6 s each); smoke and slow together is tier 3."""
import time

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("n", range(2))
def test_slow(n):
    time.sleep(0.6)


@pytest.mark.smoke
@pytest.mark.slow
def test_smoke_but_slow():
    pass
