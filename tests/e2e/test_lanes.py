"""Lanes (-j N): the same verdict for every test as with one lane, on the
fixture suites with hangs, crashes, leaks and dirty helpers, whole files to
a lane by default, single tests with --dist test (issue 8)."""

import re

import pytest

from conftest import expected, kill_leftovers, leftovers

# suite, extra arguments
SUITES = [
    ("lanes", []),
    ("basic", []),
    ("collect", ["--collect-timeout", "2"]),
    ("crash", []),
    ("hang", []),
    ("procs", []),
    ("helperdies", []),
    ("sessionkeep", []),
    ("hostile_eof", []),
    ("hostile_leakblame", []),
    ("hostile_helperkill", []),
]


def dirt(run):
    """Leaks, dirty events and orphans, pids left out."""
    out = []
    for r in run.records:
        if r["type"] in ("leak", "dirty", "orphan"):
            text = r.get("text") or r.get("cause") or r.get("comm", "") + " " + r.get("id", "")
            out.append((r["type"], re.sub(r"pid \d+", "pid N", text)))
    return sorted(out)


@pytest.mark.parametrize("suite,args", SUITES, ids=[s for s, _ in SUITES])
def test_two_lanes_give_the_verdicts_of_one(mtest, tmp_path, suite, args):
    env = {"HOSTILE_DIR": str(tmp_path)}
    run = mtest(suite, "-j", "2", *args, env=env)
    left = leftovers(run.pid)
    kill_leftovers(left)
    assert run.verdicts == expected(suite), run.stdout + run.stderr
    assert left == [], "processes of the run still alive"
    if suite == "lanes":
        # Both lanes worked, whole files each.
        lanes = {}
        for r in run.of_type("test"):
            lanes.setdefault(r["file"], set()).add(r["lane"])
        assert {lane for v in lanes.values() for lane in v} == {1, 2}
        assert all(len(v) == 1 for v in lanes.values()), lanes


@pytest.mark.parametrize("suite,staged", [("hostile_leakblame", False),
                                          ("hostile_helperkill", True), ("helperdies", True)])
def test_dirt_is_told_the_same_with_two_lanes(mtest, tmp_path, suite, staged):
    one = mtest(suite)
    (tmp_path / "state").rename(tmp_path / "one")
    two = mtest(suite, "-j", "2")
    if staged:  # the comparison below must have something to compare
        assert dirt(one), "the suite stages dirt, and none was recorded"
    else:  # nothing leaks there: blaming anybody is the failure
        assert dirt(one) == [], dirt(one)
    assert dirt(two) == dirt(one)


def test_dist_test_spreads_a_file(mtest):
    run = mtest("lanes", "-j", "2", "--dist", "test")
    assert run.verdicts == expected("lanes")
    lanes = {}
    for r in run.of_type("test"):
        lanes.setdefault(r["file"], set()).add(r["lane"])
    assert any(len(v) == 2 for v in lanes.values()), lanes


def test_jobs_auto_and_bad_values(mtest):
    run = mtest("allpass", "-j", "auto")
    assert run.code == 0 and run.verdicts == expected("allpass")
    for bad in ("0", "99", "many"):
        r = mtest("allpass", "-j", bad)
        assert r.code == 4 and r.stderr.startswith("mtest: -j: ") and r.stderr.count("\n") == 1
    r = mtest("allpass", "--dist", "module")
    assert r.code == 4 and "--dist" in r.stderr
