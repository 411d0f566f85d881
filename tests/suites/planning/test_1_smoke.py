"""Tier 0."""
import pytest


@pytest.mark.smoke
def test_smoke_a():
    pass


@pytest.mark.smoke
def test_smoke_b():
    pass
