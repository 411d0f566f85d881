"""A test writes the start of an event line, and no newline, to mtest's
event pipe, then passes: mtest must call that line malformed and keep every
verdict (the one in flight and the ones after)."""
import os
import sys


def test_before():
    pass


def test_writes_a_partial_line():
    ch = sys.modules["mtest_plugin"]._STATE
    os.write(ch.event_fd, b'{"partial')


def test_after_one():
    pass


def test_after_two():
    pass
