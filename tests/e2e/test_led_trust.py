"""Nobody but root and the daemon's own user drives the LEDs, nobody can
darken them by taking the daemon's name first, and nothing in the state
directory freezes the daemon (issue 16, items 3 and 14). The LEDs are a
field engineer's only view: a false "pass" is the lie mtest exists to
prevent."""

import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (MTEST, NOBODY, RUNTIME, _env, as_nobody, needs_root,  # noqa: F401
                      open_base, popen_as_nobody, wait_for)
from test_leds import FAKE, Log, daemon, led, now_us, shows, write_state  # noqa: F401


@needs_root
def test_another_user_cannot_drive_the_leds(daemon, tmp_path):
    """On 05f578d, nobody's `show pass 3600` made root's daemon show pass
    for an hour while the last run had failures."""
    board = own_board(tmp_path)
    p, state, lg = daemon(board=board)
    write_state(state, exit=1, led="failures")
    assert shows(lg, "failures", 0)
    since = now_us()
    r = as_nobody([MTEST, "led", "--board", str(board), "--show", "pass", "--for", "3600"],
                  env=_env({}))
    assert r.returncode == 4, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and "refused: only root and uid 0 may drive the LEDs" \
        in r.stderr, r.stderr
    assert "asked" not in r.stdout
    # The LEDs keep the truth: failures, and the ok LED never lit.
    assert shows(lg, "failures", since)
    assert [v for t, v in lg.role("ok", since)] in ([], [0]), lg.role("ok", since)
    # Root still may.
    since = now_us()
    r = led("--board", str(board), "--show", "hangs", "--for", "2")
    assert r.returncode == 0 and "asked the LED daemon" in r.stdout, r.stderr
    assert shows(lg, "hangs", since)
    p.terminate()
    _, err = p.communicate(timeout=30)
    said = [l for l in err.splitlines() if "refused" in l]
    assert len(said) == 1, err
    assert "refused 'show pass 3600' from uid 65534 (pid " in said[0], said


@needs_root
def test_a_flood_of_refused_requests_is_said_once_a_second(daemon, tmp_path):
    board = own_board(tmp_path)
    p, state, lg = daemon(board=board)
    write_state(state, exit=0, led="pass")
    assert shows(lg, "pass", 0)
    t0 = time.monotonic()
    r = as_nobody(["/usr/bin/python3", "-c", FLOOD,
                   os.path.join(RUNTIME, "led-%s.sock" % board.stem)])
    assert r.returncode == 0, r.stderr
    took = time.monotonic() - t0
    assert shows(lg, "pass", now_us())
    p.terminate()
    _, err = p.communicate(timeout=30)
    said = [l for l in err.splitlines() if "refused" in l]
    assert 1 <= len(said) <= took + 2, (took, said)


FLOOD = '''import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])
for k in range(500):
    try:
        s.send(b"show pass 3600")
    except BlockingIOError:
        pass
'''


# Board files nobody can read too (tmp_path is root's alone).
BOARDS = Path(tempfile.mkdtemp(prefix="mtest-e2e-boards-"))
os.chmod(BOARDS, 0o755)
atexit.register(shutil.rmtree, str(BOARDS), True)


def own_board(tmp_path):
    """The fake chip's board under a name of this test's own: the
    abstract name of 05f578d is global, other tests' daemons hold theirs."""
    b = json.loads(FAKE.read_text())
    b["board"] = "fake-%s-%d" % (tmp_path.name[:20], os.getpid())
    path = BOARDS / (b["board"] + ".json")
    path.write_text(json.dumps(b))
    return path


def run_with_board(tmp_path, log, env=None, board=FAKE):
    state = tmp_path / "state"
    return subprocess.run([MTEST, "--state-dir", str(state), "--board", str(board),
                           "--progress", "quiet"], cwd=tmp_path / "suite", capture_output=True,
                          text=True, timeout=120,
                          env=_env(dict(env or {}, MTEST_LED_FAKE_LOG=str(log.path))))


def small_suite(tmp_path):
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_one.py").write_text("def test_one():\n    pass\n")


@needs_root
def test_the_old_name_squatted_darkens_nothing(tmp_path):
    """On 05f578d, nobody bound the daemon's abstract name first: `mtest
    led` exited 7 and every run left the LEDs to a daemon that was not
    there (dark)."""
    board = own_board(tmp_path)
    squat = popen_as_nobody(["/usr/bin/python3", "-c", SQUAT, "mtest-led/" + board.stem],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert squat.stdout.readline().strip() == "bound", squat.stderr.read()
        small_suite(tmp_path)
        lg = Log(tmp_path / "run.log")
        r = run_with_board(tmp_path, lg, board=board)
        assert r.returncode == 0, r.stderr
        assert lg.role("status"), "the run left the LEDs dark"
        assert [v for t, v in lg.role("ok")][-1] == 1  # pass, shown by the run
        dl = Log(tmp_path / "daemon.log")
        state = tmp_path / "state"
        d = subprocess.Popen([MTEST, "led", "--board", str(board), "--state-dir", str(state)],
                             stderr=subprocess.PIPE, text=True,
                             env=_env({"MTEST_LED_FAKE_LOG": str(dl.path)}))
        try:
            wait_for(lambda: d.poll() is not None or dl.role("status"), what="the daemon")
            assert d.poll() is None, d.communicate()[1]
            assert shows(dl, "pass", 0)
        finally:
            d.terminate()
            d.communicate(timeout=30)
    finally:
        squat.kill()
        squat.wait()


SQUAT = '''import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + sys.argv[1])
print("bound", flush=True)
time.sleep(120)
'''


@needs_root
def test_a_squatted_runtime_directory_is_named(open_base, tmp_path):
    """Where the daemon's socket would go, another user made the directory
    first: the daemon refuses it naming the owner, and a run still drives
    the LEDs, saying why."""
    pub = open_base / "pub"
    pub.mkdir()
    os.chmod(pub, 0o1777)
    squatted = pub / "mtest-run"
    r = as_nobody(["/usr/bin/python3", "-c", "import os; os.mkdir(%r, 0o755)" % str(squatted)])
    assert r.returncode == 0, r.stderr
    env = {"MTEST_RUNTIME_DIR": str(squatted)}
    board = own_board(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    d = subprocess.Popen([MTEST, "led", "--board", str(board), "--state-dir", str(state)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_env(dict(env, MTEST_LED_FAKE_LOG=str(tmp_path / "d.log"))))
    try:
        out, err = d.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        d.kill()
        d.communicate()
        raise AssertionError("the daemon started on a squatted runtime directory")
    assert d.returncode == 4, err
    assert err.count("\n") == 1 and "runtime directory %s: %s belongs to uid 65534" % (
        squatted, squatted) in err, err
    small_suite(tmp_path)
    lg = Log(tmp_path / "run.log")
    r = run_with_board(tmp_path, lg, env, board=board)
    assert r.returncode == 0, r.stderr
    assert "LED daemon's runtime directory %s" % squatted in r.stderr, r.stderr
    assert "this run drives the LEDs itself" in r.stderr
    assert [v for t, v in lg.role("ok")][-1] == 1
    assert not any(squatted.iterdir()), "nothing of mtest's goes into it"


def test_a_fifo_in_the_state_directory_freezes_nothing(daemon, tmp_path):
    """On 05f578d the daemon blocked for ever in open() of a state.json
    that was a FIFO, and SIGTERM (read from a signalfd in the loop) never
    ended it."""
    p, state, lg = daemon(board=own_board(tmp_path))
    write_state(state, exit=0, led="pass")
    assert shows(lg, "pass", 0)
    # state.json a FIFO: fault. The lock a FIFO while state.json says
    # running: no run holds it, so the run died (incomplete).
    for name, code in (("state.json", "fault"), ("lock", "incomplete")):
        since = now_us()
        if name == "lock":
            write_state(state, status="running", exit=-1, led="running")
        else:
            (state / name).unlink()
        os.mkfifo(state / name)
        assert shows(lg, code, since, bound=5), name
        assert p.poll() is None
        os.unlink(state / name)
        since = now_us()
        write_state(state, exit=1, led="failures")
        assert shows(lg, "failures", since), name  # it goes on
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("SIGTERM did not end the daemon")
    assert p.returncode == 0 and time.monotonic() - t0 < 5


@needs_root
def test_the_daemon_trusts_no_state_directory_another_user_controls(daemon, tmp_path):
    """A state directory below a directory anyone may write: another user
    could put a state.json there that says pass. Fault, said once."""
    shared = tmp_path / "shared"
    shared.mkdir()
    state = shared / "state"
    state.mkdir()
    write_state(state, exit=0, led="pass")
    p, state, lg = daemon(board=own_board(tmp_path), state=state)
    assert shows(lg, "pass", 0)
    since = now_us()
    os.chmod(shared, 0o777)
    assert shows(lg, "fault", since, bound=5)
    time.sleep(0)  # the daemon looks every second; the line is said once
    os.chmod(shared, 0o755)
    since = now_us()
    assert shows(lg, "pass", since)
    p.terminate()
    _, err = p.communicate(timeout=30)
    said = [l for l in err.splitlines() if "writable by others" in l]
    assert len(said) == 1 and "%s is writable by others (mode 0777)" % shared in said[0], err
