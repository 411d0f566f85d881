"""Deadlocks the watchdog must end early (run with --deadlock-after 1)."""
import threading
import time


def test_abba():
    """The test thread holds A and wants B; its helper holds B, wants A."""
    a, b = threading.Lock(), threading.Lock()
    helper_has_b = threading.Event()

    def take_b_then_a():
        with b:
            helper_has_b.set()
            with a:
                pass

    with a:
        threading.Thread(target=take_b_then_a, name="abba-helper", daemon=True).start()
        helper_has_b.wait()
        with b:
            pass


def test_self_deadlock():
    """A non-reentrant Lock taken twice by one thread."""
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()


class Supervisor:
    """The seed's picture: a state lock left held, three threads waiting for
    it, and threads leaked by earlier tests sleeping in their loops."""

    def __init__(self):
        self._state_lock = threading.Lock()

    def _handle_failure(self, why):
        with self._state_lock:
            return why

    def _transition_to_running(self):
        with self._state_lock:
            return "RUNNING"


def _leak(name):
    def loop():
        while True:
            time.sleep(0.2)
    threading.Thread(target=loop, name=name, daemon=True).start()


def test_seed_picture():
    sup = Supervisor()
    for i in range(5):
        _leak("EncoderRestart")
        _leak("StartupTimeoutMonitor")
    grabbed = threading.Event()

    def grab_and_die():
        sup._state_lock.acquire()  # and never released: its thread ends
        grabbed.set()

    threading.Thread(target=grab_and_die, name="EncoderRestart").start()
    grabbed.wait()
    for name in ("StartupTimeoutMonitor", "FFmpegStdoutDrain"):
        threading.Thread(target=sup._handle_failure, args=(name,), name=name,
                         daemon=True).start()
    sup._transition_to_running()


def test_after_the_deadlocks():
    pass
