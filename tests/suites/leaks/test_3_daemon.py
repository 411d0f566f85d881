"""A daemon started with setsid() and a double fork."""
import os


def test_leaks_a_daemon():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "1000"])
        os._exit(0)
    os.waitpid(pid, 0)


def test_after_the_daemon():
    pass
