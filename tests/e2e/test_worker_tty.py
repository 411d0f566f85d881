"""Workers have no controlling terminal (issue 20: make check-lava found a
test could write a LAVA signal to /dev/tty, straight onto the LAVA console,
past mtest's own sanitised output). mtest runs here under a pseudo-terminal,
as under a LAVA test shell on a serial console."""

import os
import pty
import select
import subprocess
import sys
import time

from conftest import MTEST, SUITES, SLOW, _env, expected


def run_on_a_terminal(argv, cwd, env, bound):
    """argv with a pty as its controlling terminal and stdin/out/err;
    returns (exit code, everything written to the terminal)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True)
    os.close(slave)
    out, deadline = b"", time.monotonic() + bound
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    code = p.wait(timeout=max(1, deadline - time.monotonic()))
    return code, out.decode("utf-8", "replace")


def test_a_test_cannot_write_to_mtests_terminal(tmp_path):
    state = tmp_path / "state"
    # setsid and TIOCSCTTY: the pty becomes mtest's controlling terminal.
    argv = [sys.executable, "-c", "import fcntl, os, sys, termios; "
            "fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execv(sys.argv[1], sys.argv[1:])",
            MTEST, "--state-dir", str(state), "--lava", "--progress", "quiet"]
    code, out = run_on_a_terminal(argv, SUITES / "hostile_tty", _env(None), 120 * SLOW)
    assert code == 0, out
    assert "FORGED-THROUGH-THE-TERMINAL" not in out, out
    assert "TEST_CASE_ID=forged" not in out, out
    import json
    recs = [json.loads(l) for l in (state / "last-run" / "run.jsonl").read_text().splitlines()]
    got = {r["id"]: (r["verdict"], r["reason"]) for r in recs if r["type"] == "test"}
    assert got == expected("hostile_tty")
