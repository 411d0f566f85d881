"""Tier 1: three tests of known length (0.3 s)."""
import time

import pytest


@pytest.mark.contract
@pytest.mark.parametrize("n", range(3))
def test_contract(n):
    time.sleep(0.3)
