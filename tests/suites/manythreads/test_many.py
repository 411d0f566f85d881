"""128 named threads; mtest captures their stacks (--capture-after 1) and the
test must still be running afterwards, and pass."""
import os
import threading
import time


def test_128_threads_survive_a_capture():
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, name="worker-%03d" % i, daemon=True)
               for i in range(127)]
    for t in threads:
        t.start()
    # Long enough for mtest to sample (from 0.5 s) and capture (at 1 s);
    # under emulation (make check-arm) everything, the capture too, is later.
    # (the capture at 1 s times MTEST_E2E_SLOW; the timeout, 30 s, is not).
    slow = float(os.environ.get("MTEST_E2E_SLOW", "1"))
    deadline = time.monotonic() + 3 + 1.2 * (slow - 1)
    while time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert all(not t.is_alive() for t in threads)
    assert os.getpid() > 0
