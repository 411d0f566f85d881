"""Status LEDs (issue 10) on mtest's fake chip: board-file errors, the
code table in the docs, the LED daemon through every code, a state
directory deleted, replaced or filled with garbage under it, SIGHUP, runs
with and without a daemon. (The same against a real kernel: make check-hw.)"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import MTEST, ROOT, SUITES, _env, wait_for

BOARDS = ROOT / "tests" / "board"


def _own_board(src):
    """The fake board under a name of this run's own: one LED daemon per
    board name on a machine (an abstract socket), and other runs of these
    tests may share the machine; a daemon of theirs must not answer ours."""
    b = json.loads(src.read_text())
    b["board"] = "fake-e2e-%d" % os.getpid()
    path = Path(tempfile.mkdtemp(prefix="mtest-e2e-")) / "fake.json"
    path.write_text(json.dumps(b))
    atexit.register(shutil.rmtree, path.parent, True)
    return path


FAKE = _own_board(BOARDS / "fake.json")
DOCS = ROOT / "docs"

# The rhythms (src/led/codes.c), in ms, status LED, starting with "on".
RHYTHM = {
    "none": [50, 2950],
    "running": [1000, 1000],
    "quarantined": [250, 1500],
    "failures": [250, 250, 250, 1500],
    "hangs": [250, 250, 250, 250, 250, 1500],
    "incomplete": [250, 250, 250, 250, 250, 250, 250, 1500],
    "fault": [100, 100],
}
STEADY = {"pass": 1, "lamp": 1}
OTHERS = {  # (ok, alarm) levels; None: with the status LED
    "none": (0, 0), "pass": (1, 0), "running": (0, 0), "quarantined": (1, 0),
    "failures": (0, 1), "hangs": (0, 1), "incomplete": (0, 1), "fault": (0, None),
    "lamp": (1, 1),
}


def led(*args, env=None, timeout=30):
    return subprocess.run([MTEST, "led", *args], capture_output=True, text=True,
                          env=_env(env), timeout=timeout)


class Log:
    """The fake chip's log: (t_us, role, line, level, due_us) per change: t
    when the daemon made it, due when the rhythm wanted it."""

    def __init__(self, path):
        self.path = path

    def read(self):
        if not self.path.exists():
            return []
        out = []
        for l in self.path.read_text().splitlines():
            t, role, line, level, due = l.split()
            out.append((int(t), role, int(line), int(level), int(due)))
        return out

    def role(self, role, since=0):
        return [(t, v) for t, r, _, v, _ in self.read() if r == role and t >= since]

    def due(self, role, since=0):
        """(due, level) of the changes made since `since`: the rhythm as
        the daemon scheduled it, whatever the load did to when it ran."""
        return [(d, v) for t, r, _, v, d in self.read() if r == role and t >= since]

    def late(self, role, since=0):
        """The most any change since `since` was made after its due time (us)."""
        return max([t - d for t, r, _, v, d in self.read() if r == role and t >= since],
                   default=0)


# How late a change may be made: a bound, wide enough for a loaded 2-core
# machine; a daemon that missed its wake-ups would be late by whole steps
# again and again, and a stalled one by the rest of the bound.
LATE_US = 1000000


def now_us():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def steps(changes):
    """Durations (ms) between changes, with the level each held."""
    return [((b[0] - a[0]) / 1000, a[1]) for a, b in zip(changes, changes[1:])]


def matches(held, rhythm):
    """Do the held steps follow the rhythm, within 20 % (or 20 ms)? Held as
    scheduled (Log.due): an event, so the tolerance is only for rounding."""
    n = len(rhythm)
    for start in range(n):
        level = 1 if start % 2 == 0 else 0
        if held[0][1] != level:
            continue
        ok = True
        for k, (ms, lv) in enumerate(held):
            want = rhythm[(start + k) % n]
            want_level = 1 if (start + k) % 2 == 0 else 0
            if lv != want_level or abs(ms - want) > max(0.2 * want, 20):
                ok = False
                break
        if ok:
            return True
    return False


def write_state(state, **fields):
    st = {"v": 1, "run": "20261202T000000.000Z-1", "pid": 1, "since": "2026-12-02T00:00:00.000Z",
          "status": "done", "synced": 0, "exit": 0}
    st.update(fields)
    tmp = state / "state.json.tmp"
    tmp.write_text(json.dumps(st))
    os.rename(tmp, state / "state.json")


@pytest.fixture
def daemon(tmp_path):
    started = []

    def start(board=FAKE, state=None, log="fake.log"):
        state = state or tmp_path / "state"
        state.mkdir(exist_ok=True)
        lg = Log(tmp_path / log)
        p = subprocess.Popen([MTEST, "led", "--board", str(board), "--state-dir", str(state)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env({"MTEST_LED_FAKE_LOG": str(lg.path)}))
        started.append(p)

        def first_change():
            assert p.poll() is None, p.communicate()[1]  # it must not end
            return lg.role("status")
        wait_for(first_change, what="the daemon's first change")
        return p, state, lg

    yield start
    for p in started:
        if p.poll() is None:
            p.terminate()
        try:
            p.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # frozen: never left behind
            p.kill()
            p.communicate()
            raise


def shows(lg, code, since, bound=8.0):
    """Wait until the status LED has shown `code` for a full rhythm after
    `since` (us), and the ok and alarm LEDs agree; True or an error."""
    rhythm = RHYTHM.get(code)
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        ch = lg.due("status", since)
        if rhythm:
            held = steps(ch)[1:]  # the first step may be cut short
            if len(held) >= len(rhythm) + 1 and matches(held[-len(rhythm) - 1:], rhythm):
                assert lg.late("status", since) < LATE_US, (code, lg.late("status", since))
                break
        else:
            # Steady: the level (its last change, whenever it was) holds.
            every = lg.role("status")
            if every and every[-1][1] == STEADY[code] and now_us() - max(every[-1][0], since) \
                    > 400000:
                break
        time.sleep(0.05)
    else:
        raise AssertionError("status LED never showed %s: %s" % (code, steps(lg.role(
            "status", since))))
    ok, alarm = OTHERS[code]
    for role, want in (("ok", ok), ("alarm", alarm)):
        if want is None:
            continue
        last = [v for t, v in lg.role(role)]
        assert last and last[-1] == want, (code, role, last[-3:])
    return True


def test_codes_table_is_the_docs_and_the_man_page():
    table = led("--codes").stdout.splitlines()
    doc = DOCS.joinpath("leds.md").read_text().splitlines()
    start = doc.index(table[0])
    assert doc[start:start + len(table)] == table
    man = DOCS.joinpath("mtest.1").read_text()
    for row in table[2:]:
        name, rhythm, ok, alarm, meaning = [c.strip() for c in row.strip("|").split("|")]
        want = ".B %s\n%s; ok LED %s; alarm LED %s: %s\n" % (name, rhythm, ok, alarm, meaning)
        assert want in man, want
        assert name in RHYTHM or name in STEADY  # and this test knows them all
    assert len(table) - 2 == len(OTHERS)


ERRORS = {
    "bad-typo.json": "leds[0].actve_low: unknown field (did you mean active_low?)",
    "bad-top-typo.json": "led: unknown field (did you mean leds?)",
    "bad-role.json": "leds[0].role: want status, ok or alarm, got 'blinky'",
    "bad-two-status.json": "leds: want exactly one LED with role status, got 2",
    "bad-no-status.json": "leds: want exactly one LED with role status, got 0",
    "bad-line-type.json": "leds[0].line: want an offset from 0 to 1023 or a line name, got 1.5",
    "bad-no-line.json": "leds[0].line: missing",
    "bad-json.json": "not a JSON object",
    "bad-both.json": "leds[0].led: give a chip and a line, or a led",
    "bad-active-low.json": "leds[0].active_low: want true or false",
    "bad-unknown-chip.json": "leds[0].chip: no GPIO chip labelled 'no-such-chip'",
    "bad-missing-line.json": "leds[0].line: chip mtest-fake has 8 lines (0 to 7), no line 9",
    "bad-line-name.json": "leds[0].line: chip mtest-fake has no line named 'GPIO99'",
    "bad-busy-line.json": "leds[1].line: line 7 of mtest-fake is used by 'other'",
    "bad-no-led-class.json": "leds[0].led: no LED class device mtest-no-such-led",
    "bad-defaults.json": "defaults.timeout: not a duration: 'soon'",
    "bad-no-board.json": "board: missing",
    "bad-too-many.json": "leds: 9 LEDs, at most 8 (MT_LEDS_MAX)",
}


@pytest.mark.parametrize("fixture", sorted(ERRORS))
def test_board_file_errors_are_one_line_exit_4(fixture):
    path = BOARDS / fixture
    for argv in (["led", "--board", str(path), "--show", "pass", "--for", "0.1"],
                 ["--board", str(path), "--state-dir", "/nonexistent/x", str(SUITES / "allpass")]):
        r = subprocess.run([MTEST, *argv], capture_output=True, text=True, env=_env(None),
                           timeout=30)
        if argv[0] != "led" and fixture in ("bad-busy-line.json",):
            continue  # a run leaves a held line to its holder
        assert r.returncode == 4, (argv, r.stderr)
        assert r.stderr == "mtest: %s: %s" % (path, r.stderr.split(": ", 2)[2]), r.stderr
        assert ERRORS[fixture] in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_unknown_board_name():
    r = led("--board", "no-such-board", "--show", "pass")
    assert r.returncode == 4 and "no board named no-such-board" in r.stderr
    assert r.stderr.count("\n") == 1


def test_shipped_boards_parse():
    for b in (ROOT / "board").glob("*.json"):
        r = led("--board", str(b), "--show", "pass", "--for", "0.1")
        # No GPIO chips here: the parse passes, the chip is not found.
        assert r.returncode == 4 and "leds[0].chip: no GPIO chip" in r.stderr, (b, r.stderr)


def test_daemon_follows_every_code(daemon, tmp_path):
    """Nine daemons side by side (a board each), one per case, so that the
    rhythms are watched at once."""
    cases = [
        ("pass", dict(exit=0, led="pass")),
        ("failures", dict(exit=1, led="failures")),
        ("hangs", dict(exit=1, led="hangs")),
        ("quarantined", dict(exit=0, led="quarantined")),
        ("incomplete", dict(status="interrupted", exit=2, led="incomplete")),
        ("fault", dict(exit=3, led="fault")),
        ("pass", dict(exit=0)),  # an older state.json: from its exit code
        ("failures", dict(exit=1)),
        ("incomplete", dict(status="running", exit=-1, led="running")),  # died: no lock
    ]
    started = []
    for k, (code, fields) in enumerate(cases):
        board = tmp_path / ("board%d.json" % k)
        b = json.loads(FAKE.read_text())
        b["board"] = "%s-%d" % (b["board"], k)
        board.write_text(json.dumps(b))
        p, state, lg = daemon(board=board, state=tmp_path / ("state%d" % k), log="%d.log" % k)
        if k == 0:
            assert shows(lg, "none", 0)
        started.append((p, state, lg))
    since = now_us()
    for (code, fields), (p, state, lg) in zip(cases, started):
        write_state(state, **fields)
    for (code, fields), (p, state, lg) in zip(cases, started):
        assert shows(lg, code, since), (code, fields)
        assert p.poll() is None


def test_daemon_shows_a_live_run(daemon, tmp_path):
    p, state, lg = daemon()
    # A run holds the state directory's lock while it runs.
    import fcntl
    fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.lockf(fd, fcntl.LOCK_EX)  # a POSIX record lock, as mtest takes
    since = now_us()
    write_state(state, status="running", exit=-1, led="running")
    assert shows(lg, "running", since)
    since = now_us()
    os.close(fd)  # the run is gone without a word: within a second, incomplete
    assert shows(lg, "incomplete", since)


def test_daemon_survives_its_state_directory(daemon, tmp_path):
    p, state, lg = daemon()
    write_state(state, exit=0, led="pass")
    assert shows(lg, "pass", 0)
    for damage in ("delete", "garbage", "replace", "runs-only", "not-a-dir"):
        since = now_us()
        if damage == "delete":
            subprocess.run(["rm", "-rf", str(state)], check=True)
        elif damage == "garbage":
            state.mkdir(exist_ok=True)
            (state / "state.json").write_bytes(b"\x00\xffgarbage")
        elif damage == "runs-only":
            (state / "state.json").unlink()
            (state / "runs").mkdir()
        elif damage == "not-a-dir":
            subprocess.run(["rm", "-rf", str(state)], check=True)
            state.write_text("a file where the state directory was")
        if damage == "replace":
            new = tmp_path / "new"
            new.mkdir()
            write_state(new, exit=1, led="hangs")
            subprocess.run(["rm", "-rf", str(state)], check=True)
            os.rename(new, state)
            assert shows(lg, "hangs", since), damage
            continue
        assert shows(lg, "fault", since, bound=3.0), damage
        # Fault shows within a second of the damage (inotify, or the
        # daemon's look each second): when the daemon decided it, a bound
        # of a second more for a loaded 2-core machine.
        first = [d for d, v in lg.due("status", since)][0]
        assert first - since < 2000000, (damage, first - since)
        if damage == "not-a-dir":
            state.unlink()
        else:
            subprocess.run(["rm", "-rf", str(state)], check=True)
        state.mkdir()
        since = now_us()
        write_state(state, exit=0, led="pass")
        assert shows(lg, "pass", since), damage
    assert p.poll() is None


def test_sighup_reads_the_board_again(daemon, tmp_path):
    board = tmp_path / "board.json"
    board.write_text(FAKE.read_text())
    p, state, lg = daemon(board=board)
    write_state(state, exit=0, led="pass")
    assert shows(lg, "pass", 0)
    moved = json.loads(FAKE.read_text())
    moved["leds"][0]["line"] = "LED3"
    board.write_text(json.dumps(moved))
    since = now_us()
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: [l for t, r, l, v, _ in lg.read() if r == "status" and t >= since and l == 3],
             what="the status LED on line 3")
    # A bad board on SIGHUP: one line, and the old one stays.
    board.write_text("{garbage")
    p.send_signal(signal.SIGHUP)
    since = now_us()
    write_state(state, exit=1, led="failures")
    assert shows(lg, "failures", since)
    assert p.poll() is None
    p.terminate()
    _, err = p.communicate(timeout=30)
    assert "SIGHUP: %s: not a JSON object" % board in err


def test_one_daemon_per_board_and_requests(daemon):
    p, state, lg = daemon()
    write_state(state, exit=0, led="pass")
    assert shows(lg, "pass", 0)
    r = led("--board", str(FAKE), "--state-dir", str(state))
    assert r.returncode == 7 and "an LED daemon runs already" in r.stderr
    since = now_us()
    r = led("--board", str(FAKE), "--lamp-test")
    assert r.returncode == 0 and "asked the LED daemon" in r.stdout
    wait_for(lambda: lg.role("alarm", since) and lg.role("alarm")[-1][1] == 1 and
             lg.role("ok")[-1][1] == 1, what="the lamp test")
    wait_for(lambda: lg.role("alarm")[-1][1] == 0, bound=6, what="the lamp test's end")
    since = now_us()
    assert led("--board", str(FAKE), "--show", "hangs", "--for", "4").returncode == 0
    assert shows(lg, "hangs", since)
    since = now_us()
    assert shows(lg, "pass", since, bound=10)  # back to what the state says


def test_show_on_the_bench(tmp_path):
    lg = Log(tmp_path / "bench.log")
    t0 = now_us()
    r = led("--board", str(FAKE), "--show", "fault", "--for", "1.5",
            env={"MTEST_LED_FAKE_LOG": str(lg.path)})
    assert r.returncode == 0, r.stderr
    held = steps(lg.due("status"))[1:]
    assert len(held) >= 8 and matches(held, RHYTHM["fault"]), held
    assert lg.late("status") < LATE_US
    # --for 1.5: the scheduled blink spans the 1.5 s, less up to 0.5 s at
    # the end (a loaded machine); the wall clock only as a lower bound, which load
    # cannot break (an upper one is the subprocess's timeout).
    first, last = lg.due("status")[0][0], lg.due("status")[-1][0]
    assert 1.5e6 - 500000 <= last - first <= 1.5e6, (first, last)
    assert now_us() - t0 >= 1.5e6
    t1 = now_us()
    r = led("--board", str(FAKE), "--lamp-test", env={"MTEST_LED_FAKE_LOG": str(lg.path)})
    assert r.returncode == 0
    assert now_us() - t1 >= 3e6  # the lamp test's 3 s, at least
    for role in ("status", "ok", "alarm"):
        assert [v for t, v in lg.role(role, t1)] == [1], role  # on, and nothing else


def test_a_run_drives_the_leds_without_a_daemon(mtest, tmp_path):
    lg = Log(tmp_path / "run.log")
    run = mtest("basic", "--board", str(FAKE), env={"MTEST_LED_FAKE_LOG": str(lg.path)})
    assert run.code == 1
    status = lg.role("status")
    assert status[0][1] == 1  # running: the blink starts on
    assert [v for t, v in lg.role("alarm")][-1] == 1  # failures at the end
    st = json.loads((run.state / "state.json").read_text())
    assert st["led"] == "failures"


def test_a_run_leaves_the_leds_to_the_daemon(daemon, mtest, tmp_path):
    p, state, lg = daemon()
    other = Log(tmp_path / "run.log")
    since = now_us()
    run = mtest("allpass", "--board", str(FAKE), env={"MTEST_LED_FAKE_LOG": str(other.path)})
    assert run.code == 0
    assert other.read() == []  # the run never touched them
    assert json.loads((run.state / "state.json").read_text())["led"] == "pass"


HEAPCHECK = os.environ.get("MTEST_HEAPCHECK_SO")


@pytest.mark.skipif(not HEAPCHECK, reason="needs MTEST_HEAPCHECK_SO (make e2e sets it)")
def test_daemon_uses_no_heap_after_start_up(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    lg = Log(tmp_path / "heap.log")
    out = tmp_path / "heapcheck.txt"
    p = subprocess.Popen([MTEST, "led", "--board", str(FAKE), "--state-dir", str(state)],
                         stderr=subprocess.PIPE, text=True,
                         env=_env({"MTEST_LED_FAKE_LOG": str(lg.path), "LD_PRELOAD": HEAPCHECK,
                                   "MTEST_HEAPCHECK_OUT": str(out)}))
    try:
        wait_for(lambda: lg.role("status"), what="the daemon")
        since = now_us()
        write_state(state, exit=1, led="hangs")
        assert shows(lg, "hangs", since)
        subprocess.run(["rm", "-rf", str(state)], check=True)  # and a fault
        since = now_us()
        assert shows(lg, "fault", since)
        assert led("--board", str(FAKE), "--show", "pass", "--for", "1").returncode == 0
        p.send_signal(signal.SIGHUP)  # the fake chip opens without the heap
    finally:  # never left behind holding the board for the tests after
        p.terminate()
        p.communicate(timeout=30)
    assert out.read_text().startswith("allocations 0 "), out.read_text()
