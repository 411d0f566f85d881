"""A daemon started with setsid() and a double fork. The test returns once
the daemon runs sleep (not before its exec: a leak check on a loaded
machine could otherwise see it still as a copy of python)."""
import os
import time


def test_leaks_a_daemon():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, b"%d" % os.getpid())
            os.execvp("sleep", ["sleep", "1000"])
        os._exit(0)
    os.close(w)
    daemon = int(os.read(r, 32))
    os.close(r)
    os.waitpid(pid, 0)
    deadline = time.monotonic() + 30
    while open("/proc/%d/comm" % daemon).read().strip() != "sleep":
        assert time.monotonic() < deadline, "the daemon never ran sleep"
        time.sleep(0.005)


def test_after_the_daemon():
    pass
