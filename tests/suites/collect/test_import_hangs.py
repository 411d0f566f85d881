"""A test file whose import blocks forever."""
import threading

threading.Event().wait()


def test_never():
    pass
