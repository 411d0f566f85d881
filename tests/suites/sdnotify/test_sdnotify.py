"""Run under systemd's notify protocol (tests/e2e/test_systemd.py): the
tests must not see its variables, and the run lasts long enough for the
watchdog pings to be heard."""
import os
import time


def test_systemd_variables_are_not_ours():
    for var in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        assert var not in os.environ, var


def test_half_a_second():
    time.sleep(0.5)
