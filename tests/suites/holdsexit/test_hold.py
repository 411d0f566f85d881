"""A test that leaves a non-daemon thread running: CPython joins it at exit,
so the worker cannot end after its session; mtest kills it after the grace
and names the thread."""
import threading


def test_leaves_a_non_daemon_thread():
    stop = threading.Event()
    threading.Thread(target=stop.wait, name="NeverJoined", daemon=False).start()
