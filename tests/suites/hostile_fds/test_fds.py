"""Tests that close, dup2() over and reuse file descriptors 3 and 4 (where
mtest's pipes used to be), each followed by ordinary passing tests."""
import os

from conftest import hostile_dir


def test_closes_3_and_4():
    for fd in (3, 4):
        try:
            os.close(fd)
        except OSError:
            pass


def test_after_close_one():
    pass


def test_after_close_two():
    pass


def test_dup2_over_3_and_4():
    fd = os.open(os.path.join(hostile_dir(), "dup2.out"),
                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 3)
    os.dup2(fd, 4)
    if fd not in (3, 4):  # 3 is free if an earlier test closed it
        os.close(fd)
    os.write(3, b"mine\n")


def test_after_dup2_one():
    pass


def test_after_dup2_two():
    pass


def test_reuses_3():
    try:
        os.close(3)
    except OSError:
        pass
    fd = os.open(os.path.join(hostile_dir(), "reuse.out"),
                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    assert fd == 3, "fd 3 was not the lowest free descriptor"
    os.write(3, b"mine\n")


def test_after_reuse_one():
    pass


def test_after_reuse_two():
    pass
