"""Failures under a rerun plugin, and a timeout marker that is not a number
JSON knows (inf)."""
import pytest


def test_always_fails():
    assert 0


def test_passes():
    pass


@pytest.mark.timeout(float("inf"))
def test_infinite_timeout_marker():
    pass


def test_after_the_marker_fails():
    assert 0
