"""Work for the other lane, in no group."""
import time


def test_encode():
    time.sleep(0.3)


def test_decode():
    time.sleep(0.3)
