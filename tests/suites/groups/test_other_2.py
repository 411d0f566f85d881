"""Work for the other lane, in no group."""
import time


def test_stream():
    time.sleep(0.3)


def test_playlist():
    time.sleep(0.3)
