"""Long waits that are not deadlocks: with --deadlock-after 1 each must pass
untouched, about 8 s later (longer than --likely-after, 3 s)."""
import ctypes
import queue
import subprocess
import threading
import time

WAIT = 8


def test_queue_get_with_slow_producer():
    q = queue.Queue()

    def produce():
        time.sleep(WAIT)
        q.put("frame")

    threading.Thread(target=produce, name="producer", daemon=True).start()
    assert q.get() == "frame"


def test_join_a_sleeping_thread():
    t = threading.Thread(target=time.sleep, args=(WAIT,), name="sleeper")
    t.start()
    t.join()


def test_wait_for_encoding_ffmpeg():
    proc = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
         "-i", "sine=frequency=440:duration=%d" % WAIT, "-f", "mp3", "-y", "/dev/null"],
        check=False)
    assert proc.returncode == 0


def test_event_wait_with_timeout():
    assert threading.Event().wait(timeout=WAIT) is False


def test_c_call_sleeping_with_the_gil():
    # PyDLL keeps the GIL during the call (CDLL would release it).
    assert ctypes.PyDLL(None).sleep(WAIT) == 0
