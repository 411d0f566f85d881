"""mtest --self-check's canned scenarios (src/selfcheck.c checks what mtest
made of each). Kept small and quick: about 8 s in all."""
import ctypes
import subprocess
import threading
import time


def test_pass():
    assert 1 + 1 == 2


def test_fail():
    assert 1 + 1 == 3


def test_hang():
    # No progress, no lock: mtest's --timeout ends it, with the stacks.
    while True:
        time.sleep(0.05)


def test_deadlock():
    a, b = threading.Lock(), threading.Lock()
    ready = threading.Barrier(2)

    def b_then_a():
        with b:
            ready.wait()
            with a:
                pass

    threading.Thread(target=b_then_a, name="selfcheck-helper", daemon=True).start()
    with a:
        ready.wait()
        with b:
            pass


def test_crash():
    ctypes.string_at(0)


def test_leak():
    # A child left running at the end of the test: mtest must name it
    # and kill it.
    subprocess.Popen(["sleep", "300"])


def test_after():
    assert True
