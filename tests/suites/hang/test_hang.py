"""Six different ways to hang, each followed by a test that must still pass."""
import os
import signal
import threading
import time


def test_busy_loop():
    while True:
        pass


def test_after_busy_loop():
    pass


def test_self_deadlock():
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()


def test_after_self_deadlock():
    pass


def test_abba_deadlock():
    a, b = threading.Lock(), threading.Lock()
    helper_has_b = threading.Event()

    def helper():
        with b:
            helper_has_b.set()
            with a:
                pass

    with a:
        threading.Thread(target=helper, daemon=True, name="abba-helper").start()
        helper_has_b.wait()
        with b:
            pass


def test_after_abba_deadlock():
    pass


def test_sleep_forever():
    time.sleep(10**6)


def test_after_sleep_forever():
    pass


def test_ignores_sigterm():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Event().wait()


def test_after_ignores_sigterm():
    pass


def test_pipe_never_delivers():
    r, w = os.pipe()
    os.read(r, 1)


def test_after_pipe_never_delivers():
    pass
