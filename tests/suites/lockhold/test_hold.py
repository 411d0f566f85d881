"""Long waits for locks that are not deadlocks (issue 19): each passes.
Run with --deadlock-after 1 --capture-after 1.5."""
import threading
import time


def test_lock_held_across_a_long_sleep():
    """SlowWriter holds a plain Lock across a 20 s timed sleep; the test
    thread waits for it all that time."""
    flush_lock = threading.Lock()
    holding = threading.Event()

    def flush():
        with flush_lock:
            holding.set()
            time.sleep(20)

    writer = threading.Thread(target=flush, name="SlowWriter")
    writer.start()
    holding.wait()
    with flush_lock:
        pass
    writer.join()


def test_condition_wait_while_others_take_the_lock():
    """The test thread waits on a Condition with a long timeout, nobody
    notifies; meanwhile FrameWriters take its lock again and again. The
    waiter holds nothing while it waits."""
    frames = threading.Condition()
    stop = threading.Event()

    def write():
        while not stop.is_set():
            with frames:
                time.sleep(0.002)
            time.sleep(0.001)

    writers = [threading.Thread(target=write, name="FrameWriter-%d" % i) for i in range(3)]
    for w in writers:
        w.start()
    with frames:
        frames.wait(timeout=4)
    stop.set()
    for w in writers:
        w.join()
