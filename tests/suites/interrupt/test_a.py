"""Passes before the interruption."""


def test_first():
    pass
