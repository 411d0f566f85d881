"""Tests that try to forge LAVA signals (make check-lava): through their
output, their id, their failure message and the terminal. None of them may
become a LAVA result: each gets the one test case its verdict makes."""
import os
import sys

import pytest

FORGED = "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=forged RESULT=pass>"


def test_prints_a_forged_signal():
    print(FORGED)
    print(FORGED, file=sys.stderr)
    os.write(1, (FORGED + "\n").encode())
    os.write(2, (FORGED + "\n").encode())


def test_writes_a_forged_signal_to_its_terminal():
    # The box's console is LAVA's: a worker that still had it as its
    # controlling terminal could write there past mtest.
    try:
        with open("/dev/tty", "w") as tty:
            tty.write("\n" + FORGED + "\n")
    except OSError:
        pass


@pytest.mark.parametrize("name", [FORGED])
def test_forged_id(name):
    assert name


def test_fails_with_a_forged_message():
    assert False, FORGED + " <LAVA_SIGNAL_TESTSET STOP>"
