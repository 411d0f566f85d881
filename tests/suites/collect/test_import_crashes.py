"""A test file whose import segfaults (ctypes null read)."""
import ctypes

ctypes.string_at(0)


def test_never():
    pass
