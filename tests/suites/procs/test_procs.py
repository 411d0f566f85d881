"""Tests that pass but leave processes behind: a setsid daemon, a child, a real ffmpeg."""
import os
import subprocess
import time


def test_double_fork_daemon():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # middle child: new session, fork the daemon, exit
        try:
            os.close(r)
            os.setsid()
            if os.fork() == 0:  # grandchild: the daemon
                os.execv("/bin/sleep", ["sleep", "1000"])
            os.write(w, b"ok")
        finally:
            os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    assert os.read(r, 2) == b"ok" and os.waitstatus_to_exitcode(status) == 0
    os.close(r)


def test_popen_not_killed():
    proc = subprocess.Popen(["sleep", "1000"])
    assert proc.poll() is None


def test_ffmpeg_background():
    proc = subprocess.Popen(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=1000", "-f", "null", "-"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    assert proc.poll() is None, "ffmpeg should still be encoding"


def test_after():
    pass
