"""Dirty state: leak attribution, dead session helpers, clean restarts,
isolation and rechecks (issue 4)."""

import re

import pytest

from conftest import SUITES, expected, kill_leftovers, leftovers
from expect_verdicts import read_expected


def started(run):
    return {r["id"]: (r.get("started"), r.get("dirty_event")) for r in run.of_type("test")}


def test_dead_session_helper_restarts_the_next_file(mtest):
    run = mtest("helperdies")
    assert run.verdicts == expected("helperdies")
    (event,) = run.of_type("dirty")
    # Its fixture's name and its command line, and the test that ran.
    assert re.fullmatch(r"session helper helper \(/usr/bin/python3 -c import time; "
                        r"time\.sleep\(1000\), pid \d+\) died \(SIGKILL\) while "
                        r"test_a\.py::test_a2_kills_helper was running", event["cause"]), event
    s = started(run)
    assert s["test_a.py::test_a3_needs_helper"] == ("dirty", 1)
    assert s["test_b.py::test_b1_needs_helper"] == ("restarted", 1)
    assert s["test_b.py::test_b2_needs_helper"] == ("clean", None)
    summary = (run.last / "summary.md").read_text()
    assert summary.count("died (SIGKILL) while test_a.py::test_a2_kills_helper") == 1
    assert "1 test ran in its shadow; then a fresh worker" in summary
    assert "1 test ran in its shadow" in run.report().stdout


@pytest.mark.parametrize("mode", ["never", "test"])
def test_restart_on_dirty_modes(mtest, mode):
    run = mtest("helperdies", "--restart-on-dirty", mode)
    assert run.verdicts == read_expected(SUITES / "helperdies" / ("expected-%s.tsv" % mode))
    s = started(run)
    if mode == "never":
        for nodeid in ("test_a.py::test_a3_needs_helper", "test_b.py::test_b1_needs_helper",
                       "test_b.py::test_b2_needs_helper", "test_c.py::test_c1_needs_helper"):
            assert s[nodeid] == ("dirty", 1)
        assert {r["worker"] for r in run.of_type("test")} == {1}
    else:
        assert s["test_a.py::test_a3_needs_helper"] == ("restarted", 1)


def test_session_fixture_helpers_are_not_leaks(mtest):
    run = mtest("sessionkeep")
    assert run.verdicts == expected("sessionkeep")
    assert run.of_type("leak") == [] and run.of_type("dirty") == []
    assert {r["worker"] for r in run.of_type("test")} == {1}
    assert all(r["started"] == "clean" for r in run.of_type("test"))


def test_leaks_are_attributed_and_cleaned_up(mtest):
    run = mtest("leaks")
    left = leftovers(run.pid)
    kill_leftovers(left)
    assert run.verdicts == expected("leaks")
    leaks = {r["id"]: r["text"] for r in run.of_type("leak")}
    assert re.fullmatch(r"leaked 1 thread \(EncoderRestart\) and 1 process \(ffmpeg, pid \d+\)",
                        leaks.pop("test_1_leak.py::test_leaks_thread_and_ffmpeg"))
    assert re.fullmatch(r"leaked 1 process \(sleep, pid \d+\)",
                        leaks.pop("test_3_daemon.py::test_leaks_a_daemon"))
    assert leaks == {}
    orphans = {r["comm"]: r["id"] for r in run.of_type("orphan")}
    assert orphans["ffmpeg"] == "test_1_leak.py::test_leaks_thread_and_ffmpeg"
    assert orphans["sleep"] == "test_3_daemon.py::test_leaks_a_daemon"
    assert started(run)["test_2_next.py::test_next_file_starts_fresh"][0] == "restarted"
    assert left == [], "a leaked process outlived the run"


@pytest.mark.parametrize("what,workers", [("file", 3), ("test", 6)])
def test_isolate(mtest, what, workers):
    run = mtest("sessionkeep", "--isolate", what)
    assert run.verdicts == expected("sessionkeep")
    per = {}
    for r in run.of_type("test"):
        per.setdefault(r["worker"], set()).add(r["id"] if what == "test" else r["file"])
    assert len(per) == workers
    assert all(len(v) == 1 for v in per.values())


def test_recheck_classifies_failures(mtest):
    run = mtest("orderdep", "--recheck")
    assert run.code == 1
    assert run.verdicts == expected("orderdep")  # the original verdicts stand
    classes = {r["id"]: r["class"] for r in run.of_type("recheck_class")}
    assert classes == {"test_order.py::test_b_depends_on_pristine_global": "passes alone",
                       "test_order.py::test_c_always_fails": "fails alone"}
    attempts = sorted((r["id"], r["attempt"], r["verdict"]) for r in run.of_type("recheck"))
    assert attempts == [("test_order.py::test_b_depends_on_pristine_global", 2, "passed"),
                        ("test_order.py::test_b_depends_on_pristine_global", 3, "passed"),
                        ("test_order.py::test_c_always_fails", 2, "failed"),
                        ("test_order.py::test_c_always_fails", 3, "failed")]
    report = run.report().stdout
    assert "recheck: passes alone (order-dependent" in report
    assert "recheck: fails alone" in report


def test_worker_held_by_a_thread_is_killed_and_named(mtest):
    run = mtest("holdsexit")
    assert run.verdicts == expected("holdsexit")
    events = [r["text"] for r in run.of_type("event")]
    assert any("did not exit after its session: threads alive: NeverJoined" in e
               for e in events), events
    assert leftovers(run.pid) == []


def test_recheck_of_a_test_that_cannot_be_found_again(mtest):
    """A spawned recheck worker collects again and cannot find the test."""
    run = mtest("recheckvanish", "--recheck", "--spawn")
    assert run.code == 1
    (cls,) = run.of_type("recheck_class")
    assert cls["class"] == "not rechecked"
    assert [r["reason"] for r in run.of_type("recheck")] == ["not run alone"] * 2


def test_a_forked_recheck_finds_the_test_it_collected(mtest):
    """A recheck forked from the zygote runs the zygote's one collection."""
    run = mtest("recheckvanish", "--recheck")
    assert run.code == 1
    (cls,) = run.of_type("recheck_class")
    assert cls["class"] == "fails alone"
    assert [r["verdict"] for r in run.of_type("recheck")] == ["failed"] * 2
