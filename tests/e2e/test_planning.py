"""Planning: tiers from markers, shards, the duration history, the time
budget, hang-aware order and --fail-fast (issue 8)."""

import json
import os
import re

import pytest

from conftest import SUITES

ALL = {
    "test_1_smoke.py::test_smoke_a": 0, "test_1_smoke.py::test_smoke_b": 0,
    "test_2_contract.py::test_contract[0]": 1, "test_2_contract.py::test_contract[1]": 1,
    "test_2_contract.py::test_contract[2]": 1, "test_3_concurrency.py::test_threads": 2,
    "test_4_slow.py::test_slow[0]": 3, "test_4_slow.py::test_slow[1]": 3,
    "test_4_slow.py::test_smoke_but_slow": 3, "test_5_plain.py::test_plain_passes": 1,
    "test_5_plain.py::test_plain_fails": 1, "test_5_plain.py::test_plain_after": 1,
}


def ran(run):
    return {i for i, (v, r) in run.verdicts.items() if v != "not_run"}


@pytest.mark.parametrize("tier,lo,hi", [("0", 0, 0), ("0-1", 0, 1), ("3", 3, 3), ("1-2", 1, 2)])
def test_tiers(mtest, tier, lo, hi):
    run = mtest("planning", "--tier", tier)
    want = {i for i, t in ALL.items() if lo <= t <= hi}
    assert ran(run) == want
    assert set(run.verdicts) == set(ALL)  # every collected test has its verdict
    out = {i: r for i, (v, r) in run.verdicts.items() if v == "not_run"}
    assert set(out.values()) <= {"tier"}
    failing = "test_5_plain.py::test_plain_fails" in want
    assert run.code == (1 if failing else 0)


def test_shards_cover_the_selection_exactly(mtest, tmp_path):
    seen = []
    for k in (1, 2, 3):
        run = mtest("planning", "--shard", "%d/3" % k)
        seen += sorted(ran(run))
        (tmp_path / "state").rename(tmp_path / ("shard%d" % k))
    assert sorted(seen) == sorted(ALL)
    # Bazel's variables (index from 0) are the same shard.
    a = ran(mtest("planning", "--shard", "2/3"))
    (tmp_path / "state").rename(tmp_path / "a")
    b = ran(mtest("planning", env={"TEST_TOTAL_SHARDS": "3", "TEST_SHARD_INDEX": "1",
                                   "TEST_SHARD_STATUS_FILE": str(tmp_path / "status")}))
    assert a == b
    assert (tmp_path / "status").exists()
    for bad in ("0/3", "4/3", "x"):
        r = mtest("planning", "--shard", bad)
        assert r.code == 4 and r.stderr.startswith("mtest: --shard")


def history(run):
    text = (run.state / "durations.json").read_text()
    lines = text.splitlines()
    assert lines[0].startswith('{"v":1,') and lines[-1] == "{}]}"
    return {e["id"]: e for e in (json.loads(l.rstrip(",")) for l in lines[1:-1])}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_budget_keeps_tier0_and_cuts_the_rest(mtest, jobs):
    first = mtest("planning")  # learns the durations
    took = sum(r["duration"] for r in first.of_type("test"))
    budget = 1.0
    # The tests take longer than the budget on every lane together (2.3 s
    # of sleeps): the plan must leave some out.
    assert took > budget * int(jobs), took
    run = mtest("planning", "--budget", str(budget), "-j", jobs)
    v = run.verdicts
    # Tier 0: never left out by the plan, and first on its lane. They pass,
    # or the clock stopped them at the budget (a loaded machine whose second
    # worker took the whole second to start: seen in make check-debian).
    tier0 = {i for i, t in ALL.items() if t == 0}
    for i in tier0:
        assert v[i] == ("passed", "") or (v[i] == ("not_run", "budget") and run.record(i).get(
            "detail") == "--budget's time was up"), (i, run.record(i))
    starts = run.of_type("start")
    for lane in {r["lane"] for r in starts if r["id"] in tier0}:
        ids = [r["id"] for r in starts if r["lane"] == lane]
        assert set(ids[:len(tier0 & set(ids))]) <= tier0, ids
    cut = [r for r in run.of_type("test") if r["verdict"] == "not_run"]
    assert [r for r in cut if r["reason"] != "budget"] == [], cut
    # Left out by the plan, not only stopped by the clock ("--budget's time
    # was up"), and the plan's prediction within the budget.
    planned = [r for r in cut if r.get("detail") == "not in the plan for --budget"]
    assert planned, "the plan left nothing out: %s" % cut
    note = [e["text"] for e in run.of_type("event") if e["text"].startswith("budget ")]
    assert note and "predicted" in note[0]
    predicted = float(re.search(r"predicted ([0-9.]+) s", note[0]).group(1))
    # Within the budget, unless tier 0 alone (never left out) and the
    # worker's start, as the first run measured them on a loaded machine,
    # fill it: then the plan took nothing else.
    chosen = {i for i in v if i not in {r["id"] for r in planned}}
    assert predicted <= budget or chosen <= tier0, (note[0], sorted(chosen))
    assert run.code in (0, 1)  # budget leftovers never make it incomplete


def test_budget_stops_a_test_that_runs_long(mtest):
    """No history: the plan takes the blocking test (it sleeps 60 s), and
    the clock stops the run at the budget."""
    budget = 3
    run = mtest("interrupt", "--budget", str(budget))
    end = run.of_type("run_end")[0]
    assert end.get("stopped") == "budget", end
    assert run.verdicts["test_b.py::test_blocks"] == ("not_run", "budget")
    assert run.verdicts["test_c.py::test_after"] == ("not_run", "budget")
    # A bound, not an event: the budget, the kill grace (0.5 s) and 20 s,
    # wide enough for a loaded 2-core machine; far under the 60 s the
    # blocking test would take if the clock did not stop it.
    assert end["duration"] < budget + 0.5 + 20, end
    assert run.code == 0  # budget leftovers never make it incomplete


def test_history_counts_hangs_as_lower_bounds(mtest):
    run = mtest("hang")
    h = history(run)
    hung = [r["id"] for r in run.of_type("test") if r["verdict"] == "hung"]
    for i in hung:
        assert h[i]["d"] == [] and h[i]["lb"] >= 1_000_000, h[i]
    passed = [r["id"] for r in run.of_type("test") if r["verdict"] == "passed"]
    assert all(len(h[i]["d"]) == 1 and h[i]["lb"] == 0 for i in passed)


def test_slowest_files_start_first_once_known(mtest):
    mtest("planning")
    run = mtest("planning")
    first = min(run.of_type("test"), key=lambda r: r["start"])
    assert first["file"] == "test_4_slow.py", first


def test_damaged_history_is_moved_aside(mtest, tmp_path):
    mtest("planning")
    path = tmp_path / "state" / "durations.json"
    path.write_text(path.read_text()[:100])
    run = mtest("planning")
    assert run.code == 1 and len(run.verdicts) == len(ALL)
    assert (tmp_path / "state" / "durations.json.corrupt").exists()
    assert any("durations.json" in e["text"] for e in run.of_type("event"))
    assert "moved aside" in run.stderr
    assert history(run)  # written afresh


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_fail_fast(mtest, jobs):
    run = mtest("planning", "--fail-fast", "-j", jobs, "--", "-p", "no:randomly")
    v = run.verdicts
    assert v["test_5_plain.py::test_plain_fails"] == ("failed", "AssertionError")
    assert run.code == 1
    assert {r for _, r in v.values()} <= {"", "AssertionError", "fail-fast"}
    bad = [r for r in run.of_type("test") if r["verdict"] == "failed"]
    assert len(bad) == 1
    # Nothing started after the failure's end.
    later = [r for r in run.of_type("test") if r["verdict"] != "not_run" and
             r["start"] > bad[0]["end"]]
    assert later == []


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_fail_fast_with_a_collection_error_keeps_every_verdict(mtest, jobs):
    # Issue 16, item 4: the broken file's collection_error came in before
    # "collected"; --fail-fast stopped the run there and every verdict of
    # the good file was lost ("0 collected: nothing ran"). The fixture's
    # slow import makes that order certain.
    run = mtest("failfast_collect", "--fail-fast", "-j", jobs)
    v = run.verdicts
    assert v["test_a_broken.py"][0] == "collection_error"
    good = ["test_b_slow_import.py::test_" + n for n in ("one", "two", "three")]
    assert all(i in v for i in good), v
    assert {v[i] for i in good} <= {("passed", ""), ("not_run", "fail-fast")}
    (col,) = run.of_type("collected")
    assert col["tests"] == 3 and col["collection_errors"] == 1
    assert run.code == 1
    assert "3 collected" in run.stdout, run.stdout


@pytest.mark.parametrize("how", ["shard", "bazel", "budget", "tier"])
def test_a_selection_empty_by_construction_exits_0_and_says_so(mtest, tmp_path, how):
    # Issue 16, item 10: tests were collected, none fell to this shard or
    # plan; exit 5 "no tests" failed such a shard in Bazel and CI.
    args, env = {"shard": (["--shard", "20/20"], None),
                 "bazel": ([], {"TEST_TOTAL_SHARDS": "9", "TEST_SHARD_INDEX": "8",
                                "TEST_SHARD_STATUS_FILE": str(tmp_path / "status")}),
                 "budget": (["--budget", "1ms"], None),
                 "tier": (["--tier", "0"], None)}[how]
    run = mtest("allpass", *args, env=env)
    assert run.code == 0, run.stdout + run.stderr
    assert "Tests were collected; none was selected for this run" in run.stdout
    assert "nothing selected (exit 0)" in run.stdout
    assert {v for v, _ in run.verdicts.values()} == {"not_run"} and len(run.verdicts) == 3
    rep = run.report()
    assert rep.returncode == 0 and "none was selected" in rep.stdout
    # A suite with no tests at all stays 5.
    assert mtest("empty", *args, env=env).code == 5


def test_shards_in_sequence_on_one_state_directory_cover_the_suite_once(mtest):
    # Issue 16, item 11: each shard rewrote durations.json and the next
    # was planned from another history (a file ran twice, one never).
    seen, codes = [], []
    for k in (1, 2, 3):
        run = mtest("planning", "--shard", "%d/3" % k)  # one state directory
        seen += sorted(ran(run))
        codes.append(run.code)
        assert set(run.verdicts) == set(ALL)
    assert sorted(seen) == sorted(ALL)  # each once: the failing file too
    assert sorted(codes) == [0, 0, 1]
    # And again, now that the history is full: the same split.
    again = []
    for k in (1, 2, 3):
        again += sorted(ran(mtest("planning", "--shard", "%d/3" % k)))
    assert again == seen


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_budget_runs_what_it_chose_in_value_order(mtest, jobs):
    # Issue 16, item 12: the knapsack took the recently failing test first
    # but the lane ran it last; the clock cut it and the run "passed".
    first = mtest("budgetorder")
    assert first.code == 1
    run = mtest("budgetorder", "--budget", "2.5", "-j", jobs,
                env={"MTEST_E2E_SLOWER": "1"})
    assert run.verdicts["test_z_fails.py::test_fails"] == ("failed", "AssertionError")
    assert run.code == 1
    # First on its own lane (with -j 2 the other lane's first test may
    # start a millisecond sooner or later: that order is no one's choice).
    fails = run.record("test_z_fails.py::test_fails")
    starts = [r["start"] for r in run.of_type("test")
              if "start" in r and r.get("lane") == fails["lane"]]
    assert fails["start"] == min(starts)
    # The plan says what it chose, why, in the order it runs.
    (plan,) = [r for r in run.of_type("plan") if r["part"] == 0]
    assert plan["tests"][0][:2] == ["test_z_fails.py::test_fails", "failed recently"]
    assert plan["chosen"] == 4 and plan["left_out"] == 0
    assert "Plan for --budget 2.5 s: 4 tests chosen" in run.stdout
    assert "Plan for --budget 2.5 s: 4 tests chosen" in run.report().stdout
