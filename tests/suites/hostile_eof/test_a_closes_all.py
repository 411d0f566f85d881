"""A test that closes every descriptor from 3 up (mtest's pipes among
them, wherever they are), then sleeps: mtest sees EOF on its event pipe
while the worker lives, and must end the worker at once."""
import os
import time


def test_closes_every_fd():
    os.closerange(3, 65536)
    time.sleep(5)
