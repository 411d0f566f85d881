"""The other lane: its tests pass, whatever the first lane's hog does."""
import time


def test_other_1():
    time.sleep(0.2)


def test_other_2():
    time.sleep(0.2)


def test_other_3():
    time.sleep(0.2)
