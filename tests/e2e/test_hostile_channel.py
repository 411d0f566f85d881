"""Hostile channel: tests and suites that attack what mtest hears and how it
hears it (its pipes closed, reused or written to by a test, a forged event,
a FIFO posing as a capture file, options that fight it, node ids that
collide, a Python that exits, a damaged run.jsonl) and the build. Each test
is a regression test for a defect seen on the binary before the fix.

Every mtest here runs in a session of its own (start_new_session), with a
bound (at most 90 s); on timeout the whole session is killed and the test
fails. Waiting is on events (a mark file, a process ending), never on a
sleep that hopes."""

import collections
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import (MTEST, ROOT, SUITES, Run, _env, expected, kill_leftovers, leftovers,
                      wait_for)

BOUND = 90  # seconds, for any one subprocess


# ---------------------------------------------------------------- helpers

def _stat_fields(pid):
    """/proc/PID/stat after the command name: state, ppid, pgrp, session, ..."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def kill_session(sid):
    """SIGKILL every process of session `sid` (mtest and its workers)."""
    for _ in range(5):
        found = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            fields = _stat_fields(int(entry))
            if fields and fields[0] != "Z" and int(fields[3]) == sid:
                found += 1
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return


def _argv(state, *args):
    return [MTEST, "--state-dir", str(state), "--kill-grace", "0.5", "--progress", "plain",
            *args]


def _reap(proc):
    kill_session(proc.pid)
    kill_leftovers(leftovers(proc.pid))
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def run_mtest(tmp_path, suite, *args, env=None, timeout=BOUND, cwd=None):
    """Run mtest to its end on tests/suites/<suite> (or in `cwd`), in a
    session of its own; on timeout, kill the session and fail."""
    state = tmp_path / "state"
    argv = _argv(state, *args)
    proc = subprocess.Popen(argv, cwd=cwd or SUITES / suite, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(env), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _reap(proc)
        pytest.fail("%s did not end within %d s" % (" ".join(argv), timeout))
    kill_leftovers(leftovers(proc.pid))
    return Run(proc, state, out, err)


@pytest.fixture
def background(tmp_path):
    """start(suite, *args) starts mtest in the background, in a session of
    its own, output to files; returns (Popen, state dir, mark file). Every
    process of the session is killed at teardown."""
    started = []

    def start(suite, *args, env=None):
        state = tmp_path / "state"
        mark = tmp_path / "mark"
        with open(tmp_path / "bg.out", "w") as out, open(tmp_path / "bg.err", "w") as err:
            proc = subprocess.Popen(_argv(state, *args), cwd=SUITES / suite,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    env=_env(dict(env or {}, MTEST_E2E_MARK=str(mark))),
                                    start_new_session=True)
        started.append(proc)
        return proc, state, mark

    yield start
    for proc in started:
        kill_session(proc.pid)
        kill_leftovers(leftovers(proc.pid))
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def events(run, what=None):
    return [r for r in run.of_type("event") if what is None or r.get("what") == what]


def ran_log(directory):
    """How many times each test noted itself in HOSTILE_DIR/ran.log."""
    path = directory / "ran.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return collections.Counter(lines)


def _why(run):
    return "exit %s\nstdout:\n%s\nstderr:\n%s" % (run.code, run.stdout[-3000:],
                                                 run.stderr[-2000:])


# ---------------------------------------------------- 1. fds 3 and 4, and EOF

def test_tests_that_close_dup2_or_reuse_fds_3_and_4_leave_the_pipes_alone(tmp_path):
    """Today: the worker loses its pipes, tests become "crashed (exit N)",
    the ones after run twice, protocol lines land in the test's file."""
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    run = run_mtest(tmp_path, "hostile_fds", env={"HOSTILE_DIR": str(hostile)})
    assert run.verdicts == expected("hostile_fds"), _why(run)
    assert {r["worker"] for r in run.of_type("test")} == {1}, _why(run)
    ran = ran_log(hostile)
    assert set(ran) == set(expected("hostile_fds")), ran
    assert [t for t, n in ran.items() if n != 1] == [], ran
    assert (hostile / "dup2.out").read_bytes() == b"mine\n"
    assert (hostile / "reuse.out").read_bytes() == b"mine\n"
    assert run.code == 0, _why(run)


def test_eof_on_the_event_pipe_ends_the_worker_at_once(tmp_path):
    """A test closes every fd from 3 up and sleeps 5 s: mtest sees EOF while
    the worker lives and ends it at once. Today: it waits the 5 s out and
    calls it "crashed (exit 1)"."""
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    run = run_mtest(tmp_path, "hostile_eof", env={"HOSTILE_DIR": str(hostile)})
    assert run.verdicts == expected("hostile_eof"), _why(run)
    crashed = run.record("test_a_closes_all.py::test_closes_every_fd")
    # An event, not the clock: mtest ended the worker itself at the EOF; had
    # it waited, the worker would have ended on its own after its 5 s sleep.
    ended = [e["text"] for e in events(run, "worker")
             if e["text"].startswith("mtest ended worker %d " % crashed["worker"])]
    assert len(ended) == 1 and ended[0].endswith("(SIGTERM): event pipe closed"), events(run)
    after = [run.record("test_b_after.py::test_after_one"),
             run.record("test_b_after.py::test_after_two")]
    assert {r["worker"] for r in after} == {crashed["worker"] + 1}, after
    ran = ran_log(hostile)
    assert set(ran) == set(expected("hostile_eof")), ran
    assert [t for t, n in ran.items() if n != 1] == [], ran
    assert run.code == 1, _why(run)


# ---------------------------------------------------- 2. a partial line

def test_a_partial_line_on_the_event_pipe_is_malformed_and_loses_nothing(tmp_path):
    """Today: the test in flight ends not_run "no progress" after two
    workers "in a row ended without a verdict"."""
    run = run_mtest(tmp_path, "hostile_partial")
    assert run.verdicts == expected("hostile_partial"), _why(run)
    assert {r["worker"] for r in run.of_type("test")} == {1}, _why(run)
    assert [r for r in run.of_type("test") if r["verdict"] == "not_run"] == []
    protocol = events(run, "protocol")
    assert len(protocol) == 1, protocol
    assert "malformed" in protocol[0]["text"], protocol
    assert [e for e in events(run) if "in a row ended without a verdict" in e["text"]] == []
    assert run.code == 0, _why(run)


# ---------------------------------------------------- 3. a forged "done"

def test_a_forged_done_line_is_rejected(tmp_path):
    """Today: the forged line is taken, the test "passes" and the run never
    ends (the worker sleeps on, mtest waits for a start that never comes)."""
    run = run_mtest(tmp_path, "hostile_forged", timeout=30)  # it ends, or fails there
    assert run.verdicts == expected("hostile_forged"), _why(run)
    rejected = [e for e in events(run, "protocol") if "rejected" in e["text"]]
    assert rejected, events(run)
    assert run.code == 1, _why(run)
    # The forged line said the test took no time; it ran to its own 2 s
    # timeout (pytest.ini), as mtest measured it.
    forger = run.record("test_a_forges.py::test_forges_its_done")
    assert forger["duration"] >= 2.0, forger


# ---------------------------------------------------- 4. a FIFO as capture file

def test_a_fifo_as_capture_file_never_freezes_mtest_sigterm(background, tmp_path):
    """Today: mtest blocks in open() of the FIFO (before any test runs) and
    ignores SIGTERM."""
    proc, state, mark = background("hostile_fifo", env={"HOSTILE_DIR": str(tmp_path)})
    wait_for(lambda: mark.exists() or proc.poll() is not None, bound=30,
             what="test_blocks to start (is mtest stuck opening the FIFO?)")
    assert proc.poll() is None, "mtest ended (exit %s) before test_blocks" % proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("mtest did not end within 15 s of SIGTERM")
    assert code == 2


def test_a_fifo_as_capture_file_never_freezes_mtest_plain_run(tmp_path):
    run = run_mtest(tmp_path, "hostile_fifo", "--", "-k", "not blocks", timeout=30,
                    env={"HOSTILE_DIR": str(tmp_path)})
    assert run.verdicts == expected("hostile_fifo"), _why(run)
    assert run.code == 0, _why(run)


# ---------------------------------------------------- 5. options that fight mtest

# Measured on the binary before the fix (a lastfailed and a stepwise cache
# naming test_fails are planted, so that --lf and --sw have something to
# act on). Already right there, and so not regressions (left out below):
#   in addopts and in PYTEST_ADDOPTS: -x, --exitfirst, --maxfail=1, --sw,
#     --stepwise, --ff, --nf, --pdb (verdicts and exit 1 as expected);
#   after "--": --setup-only, --setup-plan, --co, --collect-only, -x,
#     --exitfirst, --maxfail=1, --sw, --stepwise, --pdb (exit 4, one line).
NEUTRALISED = ["--setup-only", "--setup-plan", "--co", "--collect-only", "--lf",
               "--last-failed"]
REFUSED = ["--lf", "--last-failed", "--ff", "--nf"]


def _addopts_suite(tmp_path, addopts=None):
    suite = tmp_path / "suite"
    shutil.copytree(SUITES / "hostile_addopts", suite)
    if addopts is not None:
        (suite / "pytest.ini").write_text("[pytest]\ntimeout = 2\naddopts = %s\n" % addopts)
    cache = suite / ".pytest_cache" / "v" / "cache"
    cache.mkdir(parents=True)
    (cache / "lastfailed").write_text(json.dumps({"test_outcomes.py::test_fails": True}))
    (cache / "stepwise").write_text(json.dumps("test_outcomes.py::test_fails"))
    return suite


@pytest.mark.parametrize("opt", NEUTRALISED)
def test_fighting_option_in_addopts_is_neutralised(tmp_path, opt):
    suite = _addopts_suite(tmp_path, opt)
    run = run_mtest(tmp_path, None, cwd=suite)
    assert run.verdicts == expected("hostile_addopts"), _why(run)
    assert run.code == 1, _why(run)


@pytest.mark.parametrize("opt", NEUTRALISED)
def test_fighting_option_in_pytest_addopts_is_neutralised(tmp_path, opt):
    suite = _addopts_suite(tmp_path)
    run = run_mtest(tmp_path, None, cwd=suite, env={"PYTEST_ADDOPTS": opt})
    assert run.verdicts == expected("hostile_addopts"), _why(run)
    assert run.code == 1, _why(run)


@pytest.mark.parametrize("opt", REFUSED)
def test_fighting_option_on_the_command_line_is_refused(tmp_path, opt):
    suite = _addopts_suite(tmp_path)
    run = run_mtest(tmp_path, None, "--", opt, cwd=suite)
    assert run.code == 4, _why(run)
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("mtest: "), run.stderr


# ---------------------------------------------------- 6. duplicate node ids

def test_duplicate_node_ids_keep_every_verdict(tmp_path):
    """Today: two records of four, and "2 second verdicts were refused (a
    bug in mtest)"."""
    run = run_mtest(tmp_path, "hostile_dups", "t.py", "t.py", "--", "--keep-duplicates")
    assert run.verdicts == expected("hostile_dups"), _why(run)
    assert len(run.of_type("test")) == 4
    assert [e for e in events(run, "collection") if "duplicate" in e["text"]], events(run)
    assert events(run, "bug") == [], events(run)
    assert run.code == 1, _why(run)


def test_ids_that_collide_only_once_encoded_keep_every_verdict(tmp_path):
    """pytest 7.2.1 ids test_id[\\udcff] (a lone surrogate) and test_id[\\\\udcff]
    (the text) are one id in UTF-8 with backslashreplace. Today: one record
    (the passing one), exit 0, "1 second verdicts were refused"."""
    run = run_mtest(tmp_path, "hostile_dupids")
    assert run.verdicts == expected("hostile_dupids"), _why(run)
    assert len(run.of_type("test")) == 2
    assert events(run, "bug") == [], events(run)
    assert run.code == 1, _why(run)


# ---------------------------------------------------- 7. a Python that exits

def test_a_python_that_exits_is_a_one_line_usage_error(tmp_path):
    """Today: exit 5, "no tests", after two workers "died (exit 1)"."""
    run = run_mtest(tmp_path, "allpass", "--python", "/bin/false")
    assert run.code == 4, _why(run)
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("mtest: "), run.stderr
    assert "/bin/false" in run.stderr and "exit" in run.stderr, run.stderr


# ---------------------------------------------------- 8. a crash's last line

def test_a_crash_is_not_a_protocol_error(tmp_path):
    """Today: each SIGSEGV and abort adds "worker N wrote a line that is not
    an event of its own"."""
    run = run_mtest(tmp_path, "crash")
    assert run.verdicts == expected("crash"), _why(run)
    noise = [e["text"] for e in events(run) if "not an event" in e["text"]]
    assert noise == []


# ---------------------------------------------------- 9. a damaged run.jsonl

def _damage_first(lines):
    lines[0] = b'{"v":1,"type":"run_st'
    return 1


def _damage_middle(lines):
    lines.insert(3, b'{"v":1,"type":"te')
    return 4


def _damage_start(lines):
    """A test's start record cut short (as a power cut leaves one): --report
    takes start records without a parse, but not this one."""
    start = next(i for i, line in enumerate(lines) if b'"type":"start"' in line)
    lines[start] = lines[start][:-10]
    return start + 1


@pytest.mark.parametrize("damage", [_damage_first, _damage_middle, _damage_start],
                         ids=["run_start", "after_line_3", "a_start_cut"])
def test_report_on_a_damaged_journal_names_the_line(tmp_path, damage):
    """Today: the damage is silent, and a lost run_start prints "run of
    1970-01-01 ... (mtest pid 0 ...)"."""
    run = run_mtest(tmp_path, "allpass")
    assert run.code == 0, _why(run)
    journal = run.last / "run.jsonl"
    lines = journal.read_bytes().split(b"\n")
    lineno = damage(lines)
    journal.write_bytes(b"\n".join(lines))
    r = subprocess.run([MTEST, "--report", "--state-dir", str(run.state)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       env=_env(None), timeout=BOUND)
    names = {str(journal), str(journal.resolve())}
    named = [line for line in r.stderr.splitlines() if "run.jsonl" in line]
    assert len(named) == 1, r.stderr
    assert any(n in named[0] for n in names), (names, r.stderr)
    assert (":%d:" % lineno in named[0]) or ("line %d" % lineno in named[0]), r.stderr
    assert "3 passed" in r.stdout, r.stdout
    for wrong in ("1970-01-01", "pid 0"):
        assert wrong not in r.stdout + r.stderr, r.stdout + r.stderr


# ---------------------------------------------------- 10. the build

def test_a_header_beside_the_sources_rebuilds_its_includers(tmp_path):
    """A copy of the tree, built, then `make -n -W <a private header>`: every object
    whose source includes sup.h is rebuilt, and not the others. (Before the
    Makefile fix, nothing was rebuilt.)"""
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("Makefile", "src", "include", "tools"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tree / name, symlinks=True)
        else:
            shutil.copy2(src, tree / name)
    env = dict(os.environ, MAKEFLAGS="")
    env.pop("MFLAGS", None)
    env.pop("MAKELEVEL", None)
    # -k: a source being edited that does not compile must not hide what
    # the Makefile does with the others.
    built = subprocess.run(["make", "-k", "-j4", "build/mtest"], cwd=tree, env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=BOUND)
    obj_of = lambda c: tree / "build" / "obj" / c.relative_to(tree / "src").with_suffix(".o")
    sources = sorted((tree / "src").rglob("*.c"))
    # A private header beside the sources (not in include/), and who
    # includes it by its quoted name.
    header = next(h for h in sorted((tree / "src").rglob("*.h"))
                  if any('#include "%s"' % h.name in c.read_text(errors="replace")
                         for c in sources))
    includers = sorted(c.name for c in sources
                       if '#include "%s"' % header.name in c.read_text(errors="replace"))
    for c in sources:
        if "crash" not in c.parts and "fuzz" not in c.parts:
            assert obj_of(c).exists(), built.stderr[-3000:]
    dry = subprocess.run(["make", "-n", "-W", str(header.relative_to(tree)), "build/mtest"],
                         cwd=tree, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=BOUND)
    assert dry.returncode == 0, dry.stderr
    compiled = sorted(w.rsplit("/", 1)[-1] for line in dry.stdout.splitlines()
                      if " -c " in line for w in line.split() if w.endswith(".c"))
    assert includers and set(includers) <= set(compiled), (header, dry.stdout)
    # The copy was up to date: what does not include it is left alone.
    assert "buf.c" not in compiled, dry.stdout
