"""Unmarked: tier 1. One fails (for --fail-fast)."""


def test_plain_passes():
    pass


def test_plain_fails():
    assert 1 == 2


def test_plain_after():
    pass
