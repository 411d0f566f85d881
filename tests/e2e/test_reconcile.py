"""Resume, history and reports that never lose a verdict (issue 16): the
stores a stopped run could not write, a suite changed under a resume,
everything a resume needs in its journal, options --resume refuses, a
dangling last-run link, and records that say something true."""

import json
import os
import signal
import subprocess

import pytest

from conftest import MTEST, SUITES, _env, wait_for

BOUND = 90


def journal(state):
    path = state / "last-run" / "run.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines()]


def verdicts(records):
    out = {}
    for r in records:
        if r["type"] == "test":
            assert r["id"] not in out, "two verdicts for " + r["id"]
            out[r["id"]] = (r["verdict"], r["reason"])
    return out


def start(state, cwd, *args, env=None):
    # --resume takes no options but these: the run's own are in its journal.
    own = [] if "--resume" in args else ["--kill-grace", "0.5", "--progress", "plain"]
    return subprocess.Popen([MTEST, "--state-dir", str(state), *own, *args], cwd=cwd,
                            env=_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def run(state, cwd, *args, env=None):
    p = start(state, cwd, *args, env=env)
    out, err = p.communicate(timeout=BOUND)
    return p.returncode, out, err


def interrupted(state, suite, mark, *args, before=None, env=None):
    """Run suite until its blocker signals `mark`, call before(), SIGINT."""
    p = start(state, suite, *args, env=dict(env or {}, MTEST_E2E_MARK=str(mark)))
    try:
        wait_for(lambda: mark.exists() or p.poll() is not None, bound=BOUND,
                 what="the blocker's mark")
        assert mark.exists(), "mtest ended first: %s" % (p.communicate(),)
        if before:
            before()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=BOUND)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    return p.returncode, out, err


def store(state, name):
    lines = (state / name).read_text().splitlines()[1:-1]
    return {e["id"]: e for e in (json.loads(l.rstrip(",")) for l in lines)}


# ---- item 5: "remembered" names only the stores that were written ---------

@pytest.mark.parametrize("blocked", ["durations.json", "quarantine.json"])
def test_a_store_that_could_not_be_written_counts_at_the_resume(tmp_path, blocked):
    state, mark = tmp_path / "state", tmp_path / "mark"
    suite = SUITES / "remember"
    code, _, err = interrupted(state, suite, mark,
                               before=lambda: (state / blocked).mkdir())
    assert code == 2 and blocked in err, err
    rem = [r for r in journal(state) if r["type"] == "remembered"]
    assert all(r.get(blocked.split(".")[0]) is False for r in rem), rem
    (state / blocked).rmdir()
    code, out, err = run(state, suite, "--resume")
    assert code == 1, err
    # Each verdict counted once in each store, whichever run wrote it.
    d = store(state, "durations.json")
    assert {i: len(e["d"]) for i, e in d.items()} == {
        "test_a.py::test_pass": 1, "test_a.py::test_fail": 1, "test_b.py::test_blocks": 1}
    assert d["test_a.py::test_fail"]["bad"]
    q = store(state, "quarantine.json")
    assert q["test_a.py::test_fail"]["h"] == "F", q
    h = subprocess.run([MTEST, "--history", "--state-dir", str(state)], capture_output=True,
                       text=True, env=_env(None), timeout=BOUND)
    assert h.returncode == 0 and "3 collected" in h.stdout, h.stdout


# ---- item 9: --resume refuses what it would ignore -------------------------

@pytest.mark.parametrize("args", [["--timeout", "1"], ["-j", "2"], ["x.py"], ["--", "-k", "y"],
                                  ["--budget", "5"], ["--progress", "quiet"]])
def test_resume_refuses_other_options_and_paths(tmp_path, args):
    state, mark = tmp_path / "state", tmp_path / "mark"
    code, _, _ = interrupted(state, SUITES / "remember", mark)
    assert code == 2
    code, out, err = run(state, SUITES / "remember", "--resume", *args)
    assert code == 4 and err.count("\n") == 1 and "--resume" in err, err
    assert args[0 if args[0] != "--" else 1] in err
    st = json.loads((state / "state.json").read_text())
    assert st["status"] == "interrupted"  # nothing ran: still to resume
    code, out, err = run(state, SUITES / "remember", "--resume")
    assert code == 1, err


# ---- item 13: runs/ is the truth, last-run a convenience -------------------

def cmd(state, *args):
    return subprocess.run([MTEST, *args, "--state-dir", str(state)], capture_output=True,
                          text=True, env=_env(None), timeout=BOUND)


@pytest.mark.parametrize("link", ["dangling", "missing"])
def test_a_dangling_last_run_hides_nothing(tmp_path, link):
    state, mark = tmp_path / "state", tmp_path / "mark"
    suite = SUITES / "remember"
    assert run(state, SUITES / "allpass")[0] == 0
    code, _, _ = interrupted(state, suite, mark)
    assert code == 2

    def spoil():
        (state / "last-run").unlink()
        if link == "dangling":
            (state / "last-run").symlink_to("runs/20200101T000000.000Z-1")

    spoil()
    h = cmd(state, "--history")
    assert h.returncode == 0 and h.stdout.startswith("2 runs in"), h.stdout + h.stderr
    r = cmd(state, "--report")
    assert r.returncode == 2 and "INTERRUPTED" in r.stdout, r.stdout + r.stderr
    r = cmd(state, "--report", "--run", "2")
    assert r.returncode == 0 and "3 collected: 3 passed" in r.stdout, r.stdout + r.stderr
    # state.json names the killed run: --resume takes it.
    code, out, err = run(state, suite, "--resume")
    assert code == 1, err
    assert verdicts(journal(state))["test_b.py::test_blocks"] == ("passed", "")
    # Without state.json too: the newest in runs/.
    code, _, _ = interrupted(state, suite, tmp_path / "mark2")
    assert code == 2
    spoil()
    (state / "state.json").unlink()
    code, out, err = run(state, suite, "--resume")
    assert code == 1, err


# ---- item 15: records and reports that say something true -----------------

def test_quarantine_pin_on_a_fresh_state_directory_then_list(tmp_path):
    state = tmp_path / "state"
    p = cmd(state, "--quarantine", "in", "test_x.py::test_y")
    assert p.returncode == 0, p.stderr
    p = cmd(state, "--quarantine")
    assert p.returncode == 0 and "test_x.py::test_y" in p.stdout, p.stdout + p.stderr


def test_a_run_whose_end_did_not_reach_the_disk_is_not_said_to_have_died(tmp_path):
    # What a full disk leaves: the run_end record lost, state.json (written
    # apart) saying the run ended with exit 3.
    state = tmp_path / "state"
    assert run(state, SUITES / "allpass")[0] == 0
    path = state / "last-run" / "run.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    assert json.loads(lines[-1])["type"] == "run_end"
    path.write_text("".join(lines[:-1]))
    st = json.loads((state / "state.json").read_text())
    st["exit"] = 3
    (state / "state.json").write_text(json.dumps(st))
    r = cmd(state, "--report")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "died" not in r.stdout and "(exit 3)" in r.stdout, r.stdout
    assert "no run_end record" in r.stdout


def test_an_empty_journal_says_it_recorded_nothing(tmp_path):
    state = tmp_path / "state"
    assert run(state, SUITES / "allpass")[0] == 0
    (state / "last-run" / "run.jsonl").write_text("")
    (state / "state.json").unlink()
    r = cmd(state, "--report")
    assert "0 of 0" not in r.stdout and "recorded nothing" in r.stdout, r.stdout


# ---- items 7 and 8: the journal holds all a resume needs, never cut ---------

def ran(records):
    return {i for i, (v, _) in verdicts(records).items() if v != "not_run"}


def test_a_shard_from_bazel_is_resumed_without_its_variables(tmp_path):
    suite = SUITES / "resume_collect"
    bazel = {"TEST_TOTAL_SHARDS": "2", "TEST_SHARD_INDEX": "1"}
    want = tmp_path / "want"
    assert run(want, suite, env=bazel)[0] == 0
    shard = ran(journal(want))
    assert 0 < len(shard) < 13
    state = tmp_path / "state"
    code, _, _ = interrupted(state, suite, tmp_path / "mark", env=bazel)
    assert code == 2
    assert not [r for r in journal(state) if r["type"] == "collected"]  # stopped before
    code, out, err = run(state, suite, "--resume")  # as under systemd: no variables
    assert code == 0, err
    assert ran(journal(state)) == shard
    assert len(verdicts(journal(state))) == 13


def test_a_command_line_over_32_kib_is_kept_whole_and_resumed(tmp_path):
    suite = SUITES / "resume_collect"
    pad = []
    for k in range(1000):  # 1000 plugins blocked that do not exist: 45 KiB
        pad += ["-p", "no:mtest_pad_plugin_%04d_%s" % (k, "x" * 16)]
    expr = " and ".join("not nomatch%04d" % k for k in range(400))  # one 7 KiB argument
    args = ["--", "-k", expr, *pad]
    state = tmp_path / "state"
    code, _, err = interrupted(state, suite, tmp_path / "mark", *args)
    assert code == 2, err
    text = (state / "last-run" / "run.jsonl").read_bytes()
    assert max(len(l) for l in text.splitlines()) < 32 * 1024
    recs = journal(state)
    assert recs[1]["type"] == "argv"  # the command line goes on in argv records
    code, out, err = run(state, suite, "--resume")
    assert code == 0, err
    recs = journal(state)
    assert len(verdicts(recs)) == 13 and ran(recs) == set(verdicts(recs))
    # The resume record says the same command line, in full.
    argv, k = [], [i for i, r in enumerate(recs) if r["type"] == "resume"][-1]
    r = recs[k]
    while True:
        part = r["argv"]
        if argv and recs[k - 1].get("open"):
            argv[-1] += part.pop(0)
        argv += part
        if not r.get("more"):
            break
        k += 1
        r = recs[k]
        assert r["type"] == "argv"
    assert argv[-len(args):] == args


# ---- item 6: resume re-collects and reconciles -----------------------------

def junit_cases(path):
    import xml.etree.ElementTree as ET
    return [c.get("classname", "") + "::" + c.get("name") for c in ET.parse(path).iter("testcase")]


@pytest.mark.parametrize("change", ["rename_in_flight", "delete_in_flight_file",
                                    "delete_file_that_ran"])
def test_resume_after_the_suite_changed(tmp_path, change):
    import shutil
    suite = tmp_path / "suite"
    shutil.copytree(SUITES / "reconcile", suite)
    state, mark = tmp_path / "state", tmp_path / "mark"
    code, _, _ = interrupted(state, suite, mark)
    assert code == 2
    if change == "rename_in_flight":
        b = suite / "test_b.py"
        b.write_text(b.read_text().replace("def test_blocks(", "def test_blocks_renamed("))
        gone = {"test_b.py::test_blocks"}
    elif change == "delete_in_flight_file":
        (suite / "test_b.py").unlink()
        gone = {"test_b.py::test_blocks", "test_b.py::test_after1", "test_b.py::test_after2"}
    else:
        (suite / "test_a.py").unlink()
        gone = {"test_a.py::test_pass", "test_a.py::test_fail"}
    code, out, err = run(state, suite, "--resume", env={"MTEST_E2E_MARK": str(mark)})
    recs = journal(state)
    v = verdicts(recs)  # one verdict each, the gone ones included
    assert {r["id"] for r in recs if r["type"] == "gone"} == gone
    for i in gone:
        if v[i][0] == "not_run":
            assert v[i][1] == "no longer in the suite"
    counted = {i: x for i, x in v.items() if i not in gone}
    bad = any(x[0] == "failed" for x in counted.values())
    assert code == (1 if bad else 0), out + err
    # The resume ends: settled, state.json done, nothing left to resume.
    st = json.loads((state / "state.json").read_text())
    assert st["status"] == "done", st
    again = cmd(state, "--resume")
    assert again.returncode == 4 and "nothing to resume" in again.stderr
    # Counts agree everywhere: the summary, --report, --history, JUnit.
    (col,) = [r for r in recs if r["type"] == "collected"][-1:]
    assert col["tests"] == len(counted)
    line = "%d collected: " % len(counted)
    assert line in out and "no longer in the suite (%d" % len(gone) in out, out
    rep = cmd(state, "--report", "--junit-xml", str(tmp_path / "j.xml"))
    assert line in rep.stdout and rep.returncode == code, rep.stdout
    assert sorted(junit_cases(tmp_path / "j.xml")) == sorted(
        i.replace(".py::", "::").replace("/", ".") for i in counted) or \
        len(junit_cases(tmp_path / "j.xml")) == len(counted)
    h = cmd(state, "--history")
    assert line in h.stdout, h.stdout
    (end,) = [r for r in recs if r["type"] == "run_end"][-1:]
    assert end["tests"] == len(counted) and sum(end["counts"].values()) == len(counted)
