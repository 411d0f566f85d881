"""Ordinary tests in a later file: they run in the same worker."""


def test_later_one():
    pass


def test_later_two():
    pass
