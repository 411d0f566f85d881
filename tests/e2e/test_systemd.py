"""systemd's notify protocol (sd_notify(3)) from a run and from the LED
daemon: READY=1 once started, WATCHDOG=1 pings at half of WATCHDOG_USEC
from the loop, STOPPING=1 at the end; the workers never see the variables.
A socket of the test's own stands in for systemd."""

import json
import os
import signal
import socket
import subprocess

import pytest

from conftest import MTEST, _env, expected

from test_leds import FAKE


@pytest.fixture
def notify(tmp_path):
    """An abstract datagram socket as systemd's; returns (sock, its name)."""
    name = "mtest-e2e-notify-%d-%s" % (os.getpid(), tmp_path.name)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(30)  # a bound on every wait
    yield s, "@" + name
    s.close()


def states(sock, until):
    """The datagrams received up to and including `until`."""
    got = []
    while until not in got:
        got.append(sock.recv(4096).decode())
    return got


def test_a_run_says_ready_pings_and_stops(mtest_bg, notify):
    sock, name = notify
    # Read as systemd does, while it runs (a socket's queue holds 10).
    p, state, _ = mtest_bg("sdnotify", env={"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "100000"})
    got = states(sock, "STOPPING=1")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert got[0] == "READY=1"
    # A half-second test, pings every 50 ms: some, from the loop.
    assert got.count("WATCHDOG=1") >= 2, got
    assert set(got) == {"READY=1", "WATCHDOG=1", "STOPPING=1"}
    verdicts = {}
    for line in (state / "last-run" / "run.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["type"] == "test":
            verdicts[r["id"]] = (r["verdict"], r["reason"])
    assert verdicts == expected("sdnotify")


def test_no_pings_for_another_pid(mtest, notify):
    sock, name = notify
    r = mtest("sdnotify", env={"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "100000",
                               "WATCHDOG_PID": "1"})
    assert r.code == 0, r.stderr
    assert states(sock, "STOPPING=1") == ["READY=1", "STOPPING=1"]


def test_a_bad_socket_is_one_line_and_the_run_goes_on(mtest):
    r = mtest("sdnotify", env={"NOTIFY_SOCKET": "relative/path"})
    assert r.code == 0
    assert "mtest: NOTIFY_SOCKET: not a socket path: 'relative/path'; systemd will not " \
           "hear from this run" in r.stderr
    assert r.verdicts == expected("sdnotify")


def test_the_led_daemon_says_ready_and_pings(tmp_path, notify):
    sock, name = notify
    state = tmp_path / "state"
    state.mkdir()
    p = subprocess.Popen([MTEST, "led", "--board", str(FAKE), "--state-dir", str(state)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_env({"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "100000",
                                   "MTEST_LED_FAKE_LOG": str(tmp_path / "fake.log")}))
    try:
        assert states(sock, "READY=1") == ["READY=1"]
        assert states(sock, "WATCHDOG=1") == ["WATCHDOG=1"]
        assert states(sock, "WATCHDOG=1") == ["WATCHDOG=1"]
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert states(sock, "STOPPING=1")[-1] == "STOPPING=1"
