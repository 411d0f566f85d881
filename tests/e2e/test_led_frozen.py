"""The LED daemon and a frozen run (issue 20, make check-box's scenario b): a
run stopped by SIGSTOP (or a debugger) holds the state directory's lock but
tells no verdict until it goes on, and systemd's watchdog will end it; the
LEDs say "incomplete" meanwhile, not "running", and "running" again when it
goes on."""

import fcntl
import os
import signal
import subprocess
import sys

from test_leds import daemon, now_us, shows, write_state  # noqa: F401 (a fixture)

HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX)    # a POSIX record lock, as mtest takes
os.ftruncate(fd, 0)
os.pwrite(fd, b"%d 1\\n" % os.getpid(), 0)    # as mtest writes it: PID START_US
print("held", flush=True)
time.sleep(600)
"""


def test_a_stopped_run_shows_incomplete_until_it_goes_on(daemon, tmp_path):  # noqa: F811
    p, state, lg = daemon()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(state / "lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        since = now_us()
        write_state(state, status="running", exit=-1, led="running")
        assert shows(lg, "running", since)
        os.kill(holder.pid, signal.SIGSTOP)
        since = now_us()
        assert shows(lg, "incomplete", since)
        os.kill(holder.pid, signal.SIGCONT)
        since = now_us()
        assert shows(lg, "running", since)
        assert p.poll() is None
    finally:
        holder.kill()
        holder.wait(timeout=30)
    # The lock file of a run that died names a pid that may be reused: a
    # free lock is incomplete whatever that pid is.
    since = now_us()
    assert shows(lg, "incomplete", since)


def test_lock_holder_line_is_what_a_run_writes(tmp_path):
    # The lock of a real run: "PID START_US" in it (what a second run says
    # of it, src/state/statedir.c), and free once the run ended.
    from conftest import MTEST, SUITES, _env
    state = tmp_path / "state"
    r = subprocess.run([MTEST, "--state-dir", str(state), "--progress", "quiet",
                        str(SUITES / "allpass")], capture_output=True, text=True,
                       env=_env(None), timeout=300)
    assert r.returncode == 0, r.stderr
    pid, start = (state / "lock").read_text().split()
    assert int(pid) > 1 and int(start) > 0
    fd = os.open(state / "lock", os.O_RDONLY)
    fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)   # free once the run ended
    os.close(fd)
