"""The other lane: busy until the daemon of test_a_daemon.py is dead (its
lane's sweep kills it), within a bound. With the /proc method it lives on
until the run's end, and this test fails after the bound."""
import os
import time

BOUND = 30 * float(os.environ.get("MTEST_E2E_SLOW", "1"))


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_waits_for_the_daemons_end():
    path = os.path.join(os.environ["CGROUP_SUITE_DIR"], "daemon.pid")
    deadline = time.monotonic() + BOUND
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "the daemon never started"
        time.sleep(0.02)
    with open(path) as f:
        daemon = int(f.read())
    while _alive(daemon):
        assert time.monotonic() < deadline, "daemon %d outlived its lane's worker" % daemon
        time.sleep(0.02)
