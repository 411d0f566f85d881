"""Hostile state: what a killed mtest, a full disk, a test that cleans up
after itself and a test that kills a session helper leave in mtest's state
and records. Each test is a regression test for a defect seen in the field.

Every mtest here runs in a session of its own (start_new_session), with a
bound; on timeout the whole session is killed. Waiting is on events (a
record in run.jsonl, a mark file, a process ending), never on a sleep."""

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import MTEST, SUITES, Run, _env, expected, kill_leftovers, leftovers, wait_for

BOUND = 90  # seconds, for any one subprocess


# ---------------------------------------------------------------- helpers

def _stat_fields(pid):
    """/proc/PID/stat after the command name: state, ppid, pgrp, session, ..."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def kill_session(sid):
    """SIGKILL every process of session `sid` (mtest, its workers and
    whatever they started that did not leave the session)."""
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


def run_to_end(suite, argv, state, env=None, timeout=BOUND):
    """Run `argv` in tests/suites/<suite> to its end, in a session of its
    own; on timeout, kill the session and fail."""
    proc = subprocess.Popen(argv, cwd=SUITES / suite, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(env),
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_session(proc.pid)
        kill_leftovers(leftovers(proc.pid))
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        pytest.fail("%s did not end within %d s" % (" ".join(argv), timeout))
    run = Run(proc, state, out, err)
    run.popen_pid = proc.pid
    return run


def start_bg(suite, argv, log, env=None):
    """Start `argv` in the background in a session of its own; output to
    files (nobody reads a pipe while it runs)."""
    with open(str(log) + ".out", "w") as out, open(str(log) + ".err", "w") as err:
        return subprocess.Popen(argv, cwd=SUITES / suite, stdout=out, stderr=err,
                                env=_env(env), start_new_session=True)


def _first_record(path):
    try:
        with open(path, "rb") as f:
            line = f.readline()
        return json.loads(line) if line.endswith(b"\n") else None
    except (OSError, ValueError):
        return None


def journal_of(state, pid, layout_only=False):
    """The run.jsonl whose run_start names mtest `pid`: in runs/*/ (one
    folder per run), or, unless layout_only, in last-run/."""
    candidates = sorted(Path(state).glob("runs/*/run.jsonl"))
    if not layout_only:
        candidates.append(Path(state) / "last-run" / "run.jsonl")
    for path in candidates:
        first = _first_record(path)
        if first and first.get("type") == "run_start" and first.get("pid") == pid:
            return path
    return None


def complete_records(path):
    """The records of a journal being written: whole lines that parse."""
    out = []
    try:
        data = Path(path).read_bytes()
    except OSError:
        return out
    for line in data.split(b"\n")[:-1]:
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def records_of(run):
    """The records of `run` (found by its pid, not through last-run/, which
    a run that failed at start-up may leave pointing at an earlier one)."""
    path = journal_of(run.state, run.popen_pid)
    assert path is not None, "no run.jsonl with run_start pid %d (exit: %s); stderr: %s" % (
        run.popen_pid, _died(run.code), run.stderr[-500:])
    return complete_records(path)


def verdicts_of(records):
    out = {}
    for r in records:
        if r["type"] == "test":
            assert r["id"] not in out, "two verdicts for " + r["id"]
            out[r["id"]] = (r["verdict"], r["reason"])
    return out


def bad_lines(path):
    """What is wrong with a journal, line by line: [] when every line is a
    whole JSON record (and the file ends with a newline)."""
    data = Path(path).read_bytes()
    problems = []
    if data and not data.endswith(b"\n"):
        problems.append("no newline at the end: a half record (%r)" % data[-80:])
    for n, line in enumerate(data.split(b"\n")[:-1] if data.endswith(b"\n")
                             else data.split(b"\n"), 1):
        try:
            json.loads(line)
        except ValueError:
            problems.append("line %d is not JSON: %r" % (n, line[:80]))
    return problems


def _has_option(name):
    # The binary before the runs/<stamp>-<pid>/ layout has no --keep: the
    # kill -9 loop leaves it out there, so that it fails on what matters
    # (death at start-up, leftovers), not on a usage error. A binary with the
    # new layout and no --keep fails the loop's last check (default keep 10
    # of 20 runs).
    out = subprocess.run([MTEST, "--help"], capture_output=True, text=True, timeout=30,
                         env=_env(None))
    return name in out.stdout + out.stderr


def end_all(*mtest_pids):
    """Kill what the runs of these mtest pids left, and wait until it is gone."""
    def gone():
        alive = [p for pid in mtest_pids for p in leftovers(pid)]
        kill_leftovers(alive)
        return not alive
    wait_for(gone, 10, "the leftovers of mtest %s to die" % (mtest_pids,))


def _signame(code):
    try:
        return signal.Signals(-code).name
    except ValueError:
        return "signal %d" % -code


def _died(code):
    return "died by %s" % _signame(code) if code < 0 else "exit %d" % code


# ------------------------------------------------------ 1. kill -9 loop

# When mtest is killed: right after it starts (before any record), after k
# test records (k = 1..8), and while the blocking test runs.
KILL_AT = ["start"] + list(range(1, 9)) + ["blocking"]


def _settled(pid):
    """The killed run's workers are gone (PR_SET_PDEATHSIG) and what its
    tests detached has become what it will be (sleep, not setsid, not the
    middle child of a double fork)."""
    return all(_comm(p) == "sleep" for p in leftovers(pid))


def _check_after_kill(run, killed, left, state, at, seen_journal):
    """What is wrong with the run that follows a kill -9 of mtest `killed`,
    which left `left` ({pid: program}) alive."""
    what = "run after kill -9 at %s of mtest %d" % (at, killed)
    problems = []
    if run.code != 0:
        problems.append("%s: %s, not the suite's exit 0; stderr: %s"
                        % (what, _died(run.code), run.stderr.strip()[-300:]))
    journal = journal_of(state, run.popen_pid)
    records = complete_records(journal) if journal else None
    if records is None:
        problems.append("%s: no run.jsonl with run_start pid %d" % (what, run.popen_pid))
    else:
        got = verdicts_of(records)
        if run.code >= 0 and got != expected("hostile_detached"):
            problems.append("%s: verdicts %s" % (what, got))
        if left:
            texts = [r["text"] for r in records
                     if r["type"] == "event" and r.get("what") == "leftovers"
                     and "left by an earlier mtest run" in r.get("text", "")]
            names = sorted(set(left.values()))
            if not any(all(n in t for n in names) for t in texts):
                problems.append("%s: no leftovers event naming %s (left alive: %s); "
                                "leftovers events: %s" % (what, names, left, texts))
    alive = leftovers(killed)
    if alive:
        problems.append("%s: processes of the killed run still alive: %s"
                        % (what, [(p, _comm(p)) for p in alive]))
    mine = leftovers(run.popen_pid)
    if mine:
        problems.append("%s: processes of the run itself still alive: %s"
                        % (what, [(p, _comm(p)) for p in mine]))
    journal = journal_of(state, killed, layout_only=True)
    if journal is None:
        if seen_journal:
            problems.append("%s: the killed run's records are gone (no runs/*/run.jsonl "
                            "with run_start pid %d)" % (what, killed))
    else:
        problems += ["%s: killed run's %s: %s" % (what, journal, p) for p in bad_lines(journal)]
    return problems


def test_kill_9_loop_leftovers_are_killed_and_records_kept(tmp_path):
    state = tmp_path / "state"
    keep = ["--keep", "100"] if _has_option("--keep") else []
    killed, fresh, problems, journals = [], [], [], {}
    staged = 0
    try:
        for i, at in enumerate(KILL_AT):
            mark = tmp_path / ("mark%d" % i)
            bg = start_bg("hostile_detached", _argv(state, *keep), tmp_path / ("bg%d" % i),
                          env={"MTEST_E2E_MARK": str(mark)})
            killed.append(bg.pid)
            try:
                if at == "blocking":
                    wait_for(lambda: mark.exists() or bg.poll() is not None, 30,
                             "the blocking test of mtest %d" % bg.pid)
                elif at != "start":
                    def recorded(k=at, pid=bg.pid):
                        path = journal_of(state, pid)
                        return bg.poll() is not None or path is not None and sum(
                            r["type"] == "test" for r in complete_records(path)) >= k
                    wait_for(recorded, 30, "%d test records of mtest %d" % (at, bg.pid))
                if bg.poll() is not None:
                    # It ended before its instant: that is a failure of its
                    # own (on the same state directory, after clean-up).
                    problems.append("mtest %d, to be killed at %s, ended first: %s; stderr: %s"
                                    % (bg.pid, at, _died(bg.returncode), Path(
                                        str(tmp_path / ("bg%d" % i)) + ".err").read_text()[-300:]))
                    kill_session(bg.pid)
                    end_all(bg.pid)
                    continue
                os.kill(bg.pid, signal.SIGKILL)  # mtest only, not its workers
                bg.wait(timeout=10)
                seen = journal_of(state, bg.pid) is not None
                wait_for(lambda pid=bg.pid: _settled(pid), 10,
                         "the workers of killed mtest %d to die (PR_SET_PDEATHSIG)" % bg.pid)
            except BaseException:
                kill_session(bg.pid)
                raise
            left = {p: _comm(p) for p in leftovers(bg.pid)}
            staged += bool(left)
            run = run_to_end("hostile_detached",
                             _argv(state, *keep, "--", "-k", "not blocks"), state)
            fresh.append(run.popen_pid)
            if seen:
                journals[bg.pid] = at
            problems += _check_after_kill(run, bg.pid, left, state, at, seen)
            # Each kill on its own: what this run failed to end must not
            # make the next iteration fail too.
            end_all(bg.pid, run.popen_pid)
        # Every killed run that had begun its records still has them, at
        # the end of the loop too (--keep 100: nothing is old enough to go).
        for pid, at in journals.items():
            if journal_of(state, pid, layout_only=True) is None:
                problems.append("at the end: the records of mtest %d (killed at %s) are gone"
                                % (pid, at))
    finally:
        for pid in killed + fresh:
            kill_leftovers(leftovers(pid))
    assert not problems, "\n".join(problems)
    # The loop staged what it is about: detached children outliving mtest.
    assert staged >= 7, "only %d of %d kills left detached children" % (staged, len(KILL_AT))


# --------------------------------------------------------- 2. full disk

WRITE_FAILED = re.compile(r"(cannot|could not|failed to) (write|add|create|open|rename)"
                          r"|writing .* failed")


def mount_namespace():
    """unshare's argv for a private mount namespace where a tmpfs can be
    mounted: -rm (a user namespace of its own) for anyone; plain -m for
    root, also in a chroot (make check-debian), where the kernel refuses
    user namespaces (EPERM)."""
    why = []
    for argv in (["unshare", "-rm"], ["unshare", "-m"]):
        r = subprocess.run(argv + ["true"], capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            return argv
        why.append("%s: %s" % (" ".join(argv), r.stderr.strip()))
    pytest.skip("no private mount namespace here (%s)" % "; ".join(why))


def test_full_disk_records_stay_whole_and_the_run_goes_on(tmp_path):
    unshare = mount_namespace()
    disk, copy = tmp_path / "disk", tmp_path / "copy"
    disk.mkdir()
    # A 256 KiB tmpfs in a private mount namespace; mtest's state directory
    # on it; a copy of it taken out before the namespace goes away.
    script = ('disk=$1 copy=$2; shift 2; '
              'mount -t tmpfs -o size=256k tmpfs "$disk" || exit 99; '
              '"$@"; rc=$?; cp -a "$disk" "$copy" || exit 98; exit $rc')
    argv = [*unshare, "sh", "-c", script, "sh", str(disk), str(copy),
            *_argv(disk / "state")]
    run = run_to_end("hostile_enospc", argv, copy / "state")
    assert run.code not in (98, 99), "the tmpfs set-up failed: " + run.stderr
    state = copy / "state"
    journals = {p.resolve() for p in state.glob("runs/*/run.jsonl")}
    if (state / "last-run" / "run.jsonl").exists():
        journals.add((state / "last-run" / "run.jsonl").resolve())
    assert len(journals) == 1, "want one run.jsonl, found %s" % journals
    (journal,) = journals
    said = run.stdout + run.stderr
    problems = []

    # The disk filled, and mtest said so.
    if "No space left on device" not in said:
        problems.append("mtest never says 'No space left on device'")
    # Every record is whole: no half record at the end.
    problems += ["run.jsonl: " + p for p in bad_lines(journal)]
    records = complete_records(journal)
    if not records or records[0]["type"] != "run_start":
        problems.append("run.jsonl does not begin with run_start")
    # Whatever mtest says about a write it could not do names the real
    # error (errno not clobbered by what it did next).
    events = "\n".join(r.get("text", "") for r in records if r["type"] == "event")
    lines = (said + "\n" + events).splitlines()
    problems += ["says %r" % line[:300] for line in lines
                 if "No such file or directory" in line][:3]
    problems += ["says %r" % line[:300] for line in lines
                 if WRITE_FAILED.search(line) and "No space left on device" not in line
                 and "No such file or directory" not in line][:3]
    # The exit code is the one its summary names.
    named = re.findall(r"\(exit (\d+)\)", run.stdout)
    if run.code < 0:
        problems.append("mtest " + _died(run.code))
    if not named:
        problems.append("no exit line in the summary")
    elif run.code != int(named[-1]):
        problems.append("the summary says exit %s, mtest exits %d" % (named[-1], run.code))
    # The run went on to its end: every test has its verdict, in the
    # progress lines or in the records that fit.
    want = {nodeid: v for nodeid, (v, _) in expected("hostile_enospc").items()}
    got = {r["id"]: r["verdict"] for r in records if r["type"] == "test"}
    for line in run.stdout.splitlines():
        m = re.match(r"(passed|failed|error|skipped|xfailed|xpassed|hung|crashed|not_run)"
                     r" +(\S+)", line)
        if m:
            got.setdefault(m.group(2), m.group(1))
    if got != want:
        problems.append("verdicts: missing %s, wrong %s" % (
            sorted(set(want) - set(got)),
            {k: v for k, v in got.items() if want.get(k) != v}))
    if "41 collected: 1 passed, 40 failed" not in run.stdout:
        problems.append("no '41 collected: 1 passed, 40 failed' in the summary")
    assert not problems, "\n".join(problems) + "\n--- stdout tail:\n" + run.stdout[-1500:]


# ---------------------------------- 3. leaks blamed on an innocent test

def test_cleaned_up_children_are_no_ones_leak(tmp_path):
    state = tmp_path / "state"
    problems = []
    for attempt in range(1, 4):
        run = run_to_end("hostile_leakblame", _argv(state), state)
        try:
            what = "run %d" % attempt
            records = records_of(run)
            of_type = lambda kind: [r for r in records if r["type"] == kind]  # noqa: E731
            if run.code != 0 or verdicts_of(records) != expected("hostile_leakblame"):
                problems.append("%s: %s, verdicts %s" % (what, _died(run.code),
                                                         verdicts_of(records)))
            problems += ["%s: leak of %s: %s" % (what, r["id"], r["text"])
                         for r in of_type("leak")]
            problems += ["%s: dirty: %s" % (what, r["cause"]) for r in of_type("dirty")]
            problems += ["%s: %s started %s" % (what, r["id"], r["started"])
                         for r in of_type("test") if r["started"] != "clean"]
            workers = {r["worker"] for r in of_type("test")}
            if workers != {1}:
                problems.append("%s: workers %s" % (what, workers))
        finally:
            kill_leftovers(leftovers(run.popen_pid))
    assert not problems, "\n".join(problems)


# ------------------------- 4. a session helper killed and reaped by a test

HELPER_DIED = re.compile(r"session helper live_gui \(sleep 3600, pid \d+\) died"
                         r"( \([A-Za-z0-9 ]+\))? while test_h\.py::test_a2_kills_gui was running")


def test_helper_killed_and_reaped_by_a_test_is_named_with_its_test(tmp_path):
    state = tmp_path / "state"
    problems = []
    for attempt in range(1, 4):
        run = run_to_end("hostile_helperkill", _argv(state), state)
        try:
            what = "run %d" % attempt
            records = records_of(run)
            if run.code != 0 or verdicts_of(records) != expected("hostile_helperkill"):
                problems.append("%s: %s, verdicts %s" % (what, _died(run.code),
                                                         verdicts_of(records)))
            causes = [r["cause"] for r in records if r["type"] == "dirty"]
            if len(causes) != 1 or not HELPER_DIED.fullmatch(causes[0]):
                problems.append("%s: dirty records %s" % (what, causes))
        finally:
            kill_leftovers(leftovers(run.popen_pid))
    assert not problems, "\n".join(problems)
