"""Tests (the passing ones take 0.1 s, so that the harness can stop mtest
between them) that start detached children outliving the worker (a setsid
program, a double-forked daemon), passes between them, and a blocker the
e2e harness kills mtest during (kill -9 loop, tests/e2e/test_hostile_state.py).
Run it with `-- -k "not blocks"` for the variant without the blocker."""
import os
import subprocess
import time

import pytest


def setsid_sleep():
    # setsid(1) calls setsid() and execs: a child in a session of its own.
    subprocess.Popen(["setsid", "sleep", "300"], stdin=subprocess.DEVNULL)


def double_fork_sleep():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # middle child: new session, fork the daemon, exit
        try:
            os.close(r)
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "300"])
            os.write(w, b"ok")
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    assert os.read(r, 2) == b"ok"
    os.close(r)


def test_01_pass():
    time.sleep(0.1)


def test_02_setsid_child():
    setsid_sleep()


def test_03_pass():
    time.sleep(0.1)


def test_04_double_fork_daemon():
    double_fork_sleep()


def test_05_pass():
    time.sleep(0.1)


def test_06_setsid_child():
    setsid_sleep()


def test_07_pass():
    time.sleep(0.1)


def test_08_double_fork_daemon():
    double_fork_sleep()


@pytest.mark.timeout(120)
def test_09_blocks():
    mark = os.environ.get("MTEST_E2E_MARK")
    if mark:
        open(mark, "w").close()
    time.sleep(60)


def test_10_after():
    pass
