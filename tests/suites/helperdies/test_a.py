"""File A: its second test kills the session's helper."""
import os
import signal
import time


def test_a1_uses_helper(helper):
    assert helper.poll() is None


def test_a2_kills_helper(helper):
    os.kill(helper.pid, signal.SIGKILL)
    # Wait until it is dead (a zombie: nobody reaps it yet), without reaping.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open("/proc/%d/stat" % helper.pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)


def test_a3_needs_helper(helper):
    assert helper.poll() is None, "the session's helper is dead"
