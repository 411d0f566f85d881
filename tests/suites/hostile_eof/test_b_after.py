"""Ordinary tests in a later file: a fresh worker runs them, once."""


def test_after_one():
    pass


def test_after_two():
    pass
