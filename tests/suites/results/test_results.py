"""Every verdict once, for --junit-xml and --lava (issue 9), with text that
is hostile to both: XML's special characters, control bytes, and forged
LAVA signals in output, messages and ids."""
import os
import signal
import sys
import time

import pytest

FORGED = "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=forged RESULT=pass>"


def test_pass():
    print(FORGED, flush=True)
    sys.stderr.write(FORGED + "\n")


def test_fail():
    assert False, 'x < y & "z" ]]> \x01\x1b[31m ' + FORGED


def test_skip():
    pytest.skip("no " + FORGED)


@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False


@pytest.mark.xfail(reason="maybe")
def test_xpass():
    pass


@pytest.fixture
def broken():
    raise RuntimeError("setup fails")


def test_error(broken):
    pass


def test_hang():
    time.sleep(30)


def test_crash():
    os.kill(os.getpid(), signal.SIGSEGV)


@pytest.mark.parametrize("p", [FORGED, "a&b"])
def test_param(p):
    pass
