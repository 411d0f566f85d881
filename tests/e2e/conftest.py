"""Harness for the end-to-end tests: run the real mtest binary on the
fixture suites in tests/suites/ and read what it recorded.

Waiting is on events with a bound (a file appearing, a process ending),
never on a sleep that hopes."""

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "tests" / "suites"
MTEST = os.environ.get("MTEST_BIN", str(ROOT / "build" / "mtest"))
# Under emulation (make check-arm) every bound on a wait is this many times
# longer; what is asserted stays as it is.
SLOW = float(os.environ.get("MTEST_E2E_SLOW", "1"))
# MTEST_E2E_LEDGER=off (make check-noledger): every run without the lock
# ledger (--no-lock-ledger); where that changes a verdict's reason (a
# deadlock only the ledger makes certain), a suite's expected-noledger.tsv
# replaces its expected.tsv.
LEDGER = os.environ.get("MTEST_E2E_LEDGER", "on") != "off"

sys.path.insert(0, str(ROOT / "tools"))
from expect_verdicts import read_expected  # noqa: E402


def expected(suite):
    """{node id: (verdict, reason)} from a suite's expected.tsv (or, with
    the ledger off, its expected-noledger.tsv if it has one)."""
    noledger = SUITES / suite / "expected-noledger.tsv"
    if not LEDGER and noledger.exists():
        return read_expected(noledger)
    return read_expected(SUITES / suite / "expected.tsv")


class Run:
    def __init__(self, proc, state, stdout, stderr):
        self.code = proc.returncode
        self.state = state
        self.last = state / "last-run"
        self.stdout = stdout
        self.stderr = stderr

    @property
    def pid(self):
        return self.of_type("run_start")[0]["pid"]

    @property
    def records(self):
        text = (self.last / "run.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines()]

    def of_type(self, kind):
        return [r for r in self.records if r["type"] == kind]

    @property
    def verdicts(self):
        out = {}
        for r in self.of_type("test"):
            assert r["id"] not in out, "two verdicts for " + r["id"]
            out[r["id"]] = (r["verdict"], r["reason"])
        return out

    def record(self, nodeid):
        (r,) = [r for r in self.of_type("test") if r["id"] == nodeid]
        return r

    def bundle(self, nodeid):
        return (self.last / self.record(nodeid)["bundle"]).read_text()

    def report(self, *args, env=None):
        return subprocess.run([MTEST, "--report", "--state-dir", str(self.state), *args],
                              capture_output=True, text=True, env=env, timeout=60)


def _slow(args):
    """Bounds that only catch what hangs (--collect-timeout) or say when to
    look (--capture-after) grow
    under emulation; test timeouts, which verdicts are checked against, do
    not."""
    args = list(args)
    for i, a in enumerate(args[:-1]):
        if a in ("--collect-timeout", "--capture-after") and SLOW != 1:
            args[i + 1] = "%g" % (float(args[i + 1]) * SLOW)
    return args


# The LED daemons' sockets (docs/leds.md): this session's own, not the
# box's /run/mtest nor another session's (boards are named alike). 0755:
# another user (nobody, in the trust tests) may reach it.
RUNTIME = tempfile.mkdtemp(prefix="mtest-e2e-run-")
os.chmod(RUNTIME, 0o755)
atexit.register(shutil.rmtree, RUNTIME, True)


def _ledger():
    return [] if LEDGER else ["--no-lock-ledger"]


def pytest_configure(config):
    config.addinivalue_line("markers", "ledger_only: checks what only the lock ledger names "
                            "(deselected with MTEST_E2E_LEDGER=off)")


def pytest_collection_modifyitems(config, items):
    """With the ledger off, the tests of what only it names are deselected
    (not skipped: a skip would be a test that proved nothing)."""
    if LEDGER:
        return
    keep = [i for i in items if i.get_closest_marker("ledger_only") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def _env(extra):
    env = dict(os.environ)
    for var in ("MTEST_STATE_DIR", "MTEST_PYTHON", "MTEST_CONFIG", "VIRTUAL_ENV"):
        env.pop(var, None)
    env["MTEST_CONFIG"] = "/dev/null"  # no /etc/mtest/mtest.conf in tests
    env["MTEST_RUNTIME_DIR"] = RUNTIME
    env.update(extra or {})
    return env


@pytest.fixture
def mtest(tmp_path):
    """mtest(suite, *args) runs mtest to its end on tests/suites/<suite>."""

    def run(suite, *args, env=None, timeout=300, cwd=None):
        timeout *= SLOW
        state = tmp_path / "state"
        argv = [MTEST, "--state-dir", str(state), "--kill-grace", "0.5",
                "--progress", "plain", *_ledger(), *_slow(args)]
        proc = subprocess.run(argv, cwd=cwd or SUITES / suite, capture_output=True,
                              text=True, env=_env(env), timeout=timeout)
        return Run(proc, state, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def mtest_bg(tmp_path):
    """Start mtest in the background; returns (Popen, state dir, mark file)."""
    started = []

    def start(suite, *args, env=None):
        state = tmp_path / "state"
        mark = tmp_path / "mark"
        argv = [MTEST, "--state-dir", str(state), "--kill-grace", "0.5",
                "--progress", "plain", *_ledger(), *_slow(args)]
        proc = subprocess.Popen(argv, cwd=SUITES / suite, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=_env(dict(env or {}, MTEST_E2E_MARK=str(mark))))
        started.append(proc)
        return proc, state, mark

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def wait_for(predicate, bound=60.0, what="condition"):
    """Wait for an event, polling, with a bound that fails the test."""
    deadline = time.monotonic() + bound * SLOW
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting for " + what)
        time.sleep(0.02)


def leftovers(mtest_pid):
    """Processes that still carry the run tag of mtest `mtest_pid`."""
    found = []
    tag = ("MTEST_RUN=%d:" % mtest_pid).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                env = f.read()
        except OSError:
            continue
        if tag in env:
            try:
                with open("/proc/%s/stat" % entry) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                found.append(int(entry))
    return found


def kill_leftovers(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _skip_budget():
    """MTEST_E2E_SKIP_BUDGET (make e2e SKIP_BUDGET=N; 0 under STRICT, as in
    CI): how many tests may skip. Unset or empty: no budget."""
    text = os.environ.get("MTEST_E2E_SKIP_BUDGET", "")
    return int(text) if text.strip() else None


# A skip that names the CI leg which proves the test where this machine
# cannot (a guest of .ci/run's) is not counted: that leg fails on its skip.
PROVED_ELSEWHERE = "proved by make check-cgroup (.ci/run) in a guest, not here: "


def _skipped(config):
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not reporter:
        return 0
    return sum(PROVED_ELSEWHERE not in str(getattr(r, "longrepr", ""))
               for r in reporter.stats.get("skipped", []))


def pytest_terminal_summary(terminalreporter, config):
    budget = _skip_budget()
    if budget is not None and _skipped(config) > budget:
        terminalreporter.write_line(
            "SKIP BUDGET EXCEEDED: %d tests skipped, at most %d may (reasons above; "
            "docs/testing.md lists the skips CI allows)" % (_skipped(config), budget), red=True)


def pytest_sessionfinish(session, exitstatus):
    """Over the budget, the session fails: a skip is a test that proved
    nothing, and CI must not pass on it."""
    budget = _skip_budget()
    if budget is not None and _skipped(session.config) > budget and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ---- another user: nobody plays the local attacker (issue 16) ----------------

NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: another uid (nobody) "
                                "plays the attacker")


def _drop_to_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def as_nobody(argv, **kw):
    """Run argv as uid/gid 65534 (from /, which nobody may enter)."""
    kw.setdefault("cwd", "/")
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(argv, preexec_fn=_drop_to_nobody, **kw)


def popen_as_nobody(argv, **kw):
    kw.setdefault("cwd", "/")
    return subprocess.Popen(argv, preexec_fn=_drop_to_nobody, **kw)


@pytest.fixture
def open_base():
    """A folder other users can reach (tmp_path's parents are root's, 0700)."""
    base = Path(tempfile.mkdtemp(prefix="mtest-e2e-trust-", dir="/tmp"))
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)
