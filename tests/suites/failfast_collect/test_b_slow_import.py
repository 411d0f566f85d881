"""Collected after the broken file, slowly: the collection error's line
reaches mtest (and mtest acts on it) well before "collected" does. This
forces the order in which --fail-fast lost every verdict (issue 16)."""
import time

time.sleep(1.0)


def test_one():
    pass


def test_two():
    pass


def test_three():
    pass
