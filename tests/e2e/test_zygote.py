"""Workers forked from a zygote (docs/architecture.md): the verdicts are
those of spawned workers, a zygote that cannot fork safely falls back to
spawning and says why, a killed zygote is replaced without losing a
verdict, and --isolate test gets a fresh fork per test."""

import os
import signal

import pytest

from conftest import SUITES, expected, kill_leftovers, leftovers, wait_for

# Suites whose verdicts do not depend on how workers start, with the
# arguments their own tests use: each must give its expected.tsv both ways.
BOTH_WAYS = [
    ("basic", []),
    ("hang", []),
    ("crash", []),
    ("procs", []),
    ("seedini", ["--timeout", "2"]),
    ("collect", ["--collect-timeout", "2"]),
    ("deadlock", ["--deadlock-after", "1"]),
    ("leaks", []),
    ("helperdies", []),
    ("sessionkeep", []),
    ("lanes", ["-j", "2", "--dist", "test"]),
    ("hostile_fds", []),
    ("hostile_eof", []),
    ("zygote_thread", []),
]


def roles(run):
    return [r.get("role", "spawned") for r in run.of_type("worker")]


@pytest.mark.parametrize("workers", ["fork", "spawn"])
@pytest.mark.parametrize("suite,args", BOTH_WAYS, ids=[c[0] for c in BOTH_WAYS])
def test_same_verdicts_forked_or_spawned(mtest, tmp_path, suite, args, workers):
    # (the hostile suites note each test that ran in HOSTILE_DIR)
    run = mtest(suite, *args, env={"MTEST_WORKERS": workers, "HOSTILE_DIR": str(tmp_path)})
    left = leftovers(run.pid)
    kill_leftovers(left)
    assert run.verdicts == expected(suite), run.stdout + run.stderr
    assert left == [], "processes of the run still alive"
    end = run.of_type("run_end")[0]
    if workers == "spawn":
        assert set(roles(run)) == {"spawned"} and end["forked"] == 0
    elif suite != "zygote_thread":
        # Every worker that ran a test was forked (a file that crashes or
        # hangs its collection costs a zygote, as it cost a spawned worker).
        assert roles(run)[0] == "zygote" and set(roles(run)) == {"zygote", "forked"}, roles(run)
        assert end["forked"] == end["workers"] >= 1
        if suite != "collect":
            assert roles(run).count("zygote") == 1, roles(run)


def test_a_thread_at_import_falls_back_to_spawning(mtest):
    run = mtest("zygote_thread")
    assert run.verdicts == expected("zygote_thread")
    (note,) = [e["text"] for e in run.of_type("event") if e["what"] == "zygote"]
    assert note.startswith("workers are spawned, not forked: collecting left the zygote "
                           "unsafe to fork: thread 'poller' (started at conftest.py:"), note
    assert note in run.stdout
    # The would-be zygote collected, said why, and ran nothing.
    assert roles(run) == ["zygote", "spawned"]
    assert {r["worker"] for r in run.of_type("test")} == {1}
    assert run.of_type("run_end")[0]["forked"] == 0


def test_a_killed_zygote_is_replaced_and_no_verdict_is_lost(mtest_bg):
    proc, state, mark = mtest_bg("zygote_kill")
    running = str(mark) + ".running"
    wait_for(lambda: os.path.exists(running), what="test_waits to run")
    runs = state / "last-run"
    records = lambda: [__import__("json").loads(x) for x in
                       (runs / "run.jsonl").read_text().splitlines()]
    (zygote,) = [r for r in records() if r.get("role") == "zygote"]
    os.kill(zygote["pid"], signal.SIGKILL)
    # The zygote is reaped as dead before the test is let go: the crash
    # after it needs a new worker, which only a new zygote can fork.
    wait_for(lambda: any(r["type"] == "event" and r["what"] == "zygote"
                         for r in records()), what="the zygote's death noted")
    open(mark, "w").close()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, out + err
    got = {r["id"]: (r["verdict"], r["reason"]) for r in records() if r["type"] == "test"}
    assert got == expected("zygote_kill"), out + err
    notes = [r["text"] for r in records() if r["type"] == "event" and r["what"] == "zygote"]
    assert notes == ["the zygote (pid %d) died (SIGKILL); a new one takes over"
                     % zygote["pid"]], notes
    zygotes = [r["pid"] for r in records() if r.get("role") == "zygote"]
    assert len(zygotes) == 2 and zygotes[0] == zygote["pid"], zygotes
    assert {r.get("role") for r in records() if r["type"] == "worker"} == {"zygote", "forked"}
    assert leftovers(zygote["pid"]) == []


def test_isolate_test_runs_each_test_in_a_fresh_fork(mtest):
    run = mtest("basic", "--isolate", "test")
    assert run.verdicts == expected("basic")
    tests = run.of_type("test")
    assert len({r["worker"] for r in tests}) == len(tests) == 20
    assert roles(run) == ["zygote"] + ["forked"] * 20
    assert run.of_type("run_end")[0]["forked"] == 20


def test_spawn_option_and_config_key(mtest, tmp_path):
    conf = tmp_path / "mtest.conf"
    conf.write_text("workers = spawn\n")
    for run in (mtest("allpass", "--spawn"), mtest("allpass", env={"MTEST_CONFIG": str(conf)})):
        assert run.code == 0
        assert roles(run) == ["spawned"]
    conf.write_text("workers = sometimes\n")
    run = mtest("allpass", env={"MTEST_CONFIG": str(conf)})
    assert run.code == 4
    assert run.stderr == "mtest: %s:1: workers: want fork or spawn, got 'sometimes'\n" % conf
    run = mtest("allpass", env={"MTEST_WORKERS": "maybe"})
    assert (run.code, run.stderr) == (4, "mtest: MTEST_WORKERS: want fork or spawn, got 'maybe'\n")
