"""Floods of output: 200 MB captured, 200 MB to the real stdout, 5 MB before a failure."""
import os

MIB = 1024 * 1024
CHUNK = b"x" * (MIB - 1) + b"\n"


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def test_200mb_captured():
    for _ in range(200):
        write_all(1, CHUNK)


def test_200mb_real_stdout(capfd):
    with capfd.disabled():
        for _ in range(200):
            write_all(1, CHUNK)


def test_5mb_then_fail():
    for _ in range(5):
        write_all(1, CHUNK)
    assert False, "failed after 5 MB of output"
