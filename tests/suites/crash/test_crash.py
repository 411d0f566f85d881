"""Five ways for the worker process to die mid-test, each followed by a test that must pass."""
import ctypes
import os
import signal

import pytest


def test_segfault():
    print("LAST LINE BEFORE CRASH", flush=True)
    ctypes.string_at(0)


def test_after_segfault():
    pass


def test_abort():
    os.abort()


def test_after_abort():
    pass


def test_exit_3():
    os._exit(3)


def test_after_exit_3():
    pass


def test_sigkill():
    os.kill(os.getpid(), signal.SIGKILL)


def test_after_sigkill():
    pass


def test_pytest_exit():
    pytest.exit("stop here", returncode=7)


def test_after_pytest_exit():
    pass
