"""Nothing here leaks. Each test that starts a child ends it and reaps it
before it passes, and it keeps the child longer than mtest's leak grace
(0.5 s), so a leak check made while the test runs sees the child alive.
mtest must blame nobody: not the test (it cleaned up), and not the innocent
test before it (which started nothing). The ffmpeg tests have the tower's
shape: a short encode run to its end, and a real-time encoder stopped."""
import subprocess
import time

FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error"]


def test_a_passes_at_once():
    pass


def test_b_child_killed_and_reaped():
    p = subprocess.Popen(["sleep", "30"])
    time.sleep(0.8)
    p.kill()
    p.wait()


def test_c_trivial():
    pass


def test_d_ffmpeg_run_to_its_end():
    subprocess.run(FFMPEG + ["-f", "lavfi", "-i", "anullsrc", "-t", "0.5", "-f", "null", "-"],
                   stdin=subprocess.DEVNULL, check=True, timeout=4)


def test_e_trivial():
    pass


def test_f_ffmpeg_realtime_terminated():
    p = subprocess.Popen(FFMPEG + ["-re", "-f", "lavfi", "-i", "anullsrc", "-f", "null", "-"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        p.wait(timeout=0.8)
    except subprocess.TimeoutExpired:
        pass
    assert p.poll() is None, "ffmpeg should still be encoding"
    p.terminate()
    p.communicate(timeout=4)
