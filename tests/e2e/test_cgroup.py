"""Containment with cgroup v2 (docs/dirt.md, "Containment"): each lane's
worker and all it starts in a cgroup leaf of their own, membership read
from cgroup.procs, a lane's leftovers ended with cgroup.kill.

These need a cgroup v2 subtree mtest may create cgroups in (here: root on
/sys/fs/cgroup/unified). Where there is none they are skipped with a
warning that names why, in pytest's warnings summary."""

import json
import os
import warnings

import pytest

from conftest import PROVED_ELSEWHERE, expected

HELD = "held by cgroup v2 in "
HEAPCHECK = os.environ.get("MTEST_HEAPCHECK_SO")


def need_cgroups(run):
    """Skip, loudly, when the run found no cgroup v2 subtree to use."""
    processes = run.of_type("run_start")[0].get("processes", "")
    if not processes.startswith(HELD):
        warnings.warn("cgroup e2e tests SKIPPED: no cgroup v2 subtree mtest may use here: "
                      + processes)
        pytest.skip("no cgroup v2 subtree mtest may use here: " + processes)
    return processes[len(HELD):].split(" ")[0]


@pytest.mark.parametrize("workers", ["fork", "spawn"])
def test_escaped_daemon_found_and_killed(mtest, tmp_path, workers):
    """A test double-forks a daemon that leaves its session and rewrites
    its environment (no MTEST_WORKER, no MTEST_RUN): under -j 2, with the
    other lane busy, /proc cannot tell whose it is (it was left alive to
    the run's end, and its leak was blamed on the other lane's test). Its
    lane's cgroup leaf holds it: it is that test's leak, and its lane's
    sweep kills it while the other lane waits for its end."""
    run = mtest("cgroup", "-j", "2", env={"CGROUP_SUITE_DIR": str(tmp_path),
                                          "MTEST_WORKERS": workers})
    cg = need_cgroups(run)
    assert run.verdicts == expected("cgroup"), run.stdout
    daemon = int((tmp_path / "daemon.pid").read_text())
    (leak,) = run.of_type("leak")
    assert leak["id"] == "test_a_daemon.py::test_daemon"
    assert [p["pid"] for p in leak["processes"]] == [daemon]
    assert any(o["pid"] == daemon and o["id"] == "test_a_daemon.py::test_daemon"
               for o in run.of_type("orphan"))
    # Killed by its own lane's sweep, not by the one at the run's end.
    (note,) = [e["text"] for e in run.of_type("event") if e["what"] == "leftovers"]
    assert note.startswith("worker ") and "sleep (pid %d)" % daemon in note, note
    # Each worker in its lane's leaf, the zygote in its own.
    worker_cg, zygote_cg = (tmp_path / "where").read_text().split("\n")[:2]
    assert cg.endswith(worker_cg.rsplit("/", 1)[0]), (cg, worker_cg)
    assert worker_cg.rsplit("/", 1)[1] in ("lane-1", "lane-2"), worker_cg
    assert zygote_cg == ("" if workers == "spawn" else worker_cg.rsplit("/", 1)[0] + "/zygote")
    # The run's cgroups are gone with it.
    assert not os.path.exists(cg), cg
    assert "Processes: held by cgroup v2 in " in run.stdout


def test_off_is_the_proc_method(mtest, tmp_path):
    """MTEST_CGROUP=off (the config's cgroup = off): processes are found
    through /proc, as before, and the summary says so once."""
    run = mtest("allpass", env={"MTEST_CGROUP": "off"})
    assert run.code == 0, run.stdout + run.stderr
    assert run.of_type("run_start")[0]["processes"] == "found through /proc (cgroup = off)"
    assert run.stdout.count("Processes: found through /proc (cgroup = off).") == 1
    assert "Processes: found through /proc (cgroup = off)." in run.report().stdout


def test_bad_cgroup_setting_is_a_usage_error(mtest, tmp_path):
    conf = tmp_path / "mtest.conf"
    conf.write_text("cgroup = somewhere\n")
    run = mtest("allpass", env={"MTEST_CONFIG": str(conf)})
    assert run.code == 4
    assert "cgroup: want auto, off or an absolute path, got 'somewhere'" in run.stderr
    run = mtest("allpass", env={"MTEST_CGROUP": "/tmp"})
    assert run.code == 0
    assert "found through /proc (/tmp is not a cgroup v2 directory)" in run.stdout


MIB = 1024  # KiB


def mem_peak(run, nodeid):
    return run.record(nodeid)["mem_peak_kib"]


def test_peak_memory_per_test(mtest, tmp_path):
    """Each test's peak memory is in its record, within 10 % of what it
    allocated (over the worker's own, test_noop's): the cgroup's
    memory.peak where the kernel resets it per test, else the high-water
    marks of the worker and its children (here, without a memory
    controller, that one). --report lists the heaviest."""
    run = mtest("memlimit", "--", "-k", "noop or peak", env={"MEMLIMIT_PEAK_MIB": "128"})
    assert run.code == 0, run.stdout + run.stderr
    grew = mem_peak(run, "test_a_mem.py::test_peak") - mem_peak(run, "test_a_mem.py::test_noop")
    assert abs(grew - 128 * MIB) <= 0.1 * 128 * MIB, grew
    report = run.report().stdout
    heavy = report.split("## heaviest tests (peak memory)\n\n", 1)[1].split("\n")
    assert heavy[0].endswith("  test_a_mem.py::test_peak"), report
    assert "heaviest" not in run.stdout  # --report's own
    # durations.json keeps each test's last peak ("m", KiB).
    history = {e["id"]: e for e in (json.loads(line.rstrip(",\n")) for line in
               (run.state / "durations.json").read_text().splitlines()[1:-1])}
    assert history["test_a_mem.py::test_peak"]["m"] == mem_peak(run, "test_a_mem.py::test_peak")


def need_memory(run):
    processes = need_cgroups(run) and run.of_type("run_start")[0]["processes"]
    if "lane memory limit" not in processes:
        warnings.warn("cgroup memory e2e tests SKIPPED: no memory controller here (make "
                      "check-cgroup runs them in a guest): " + processes)
        pytest.skip(PROVED_ELSEWHERE + "no memory controller in the cgroup v2 subtree: "
                    + processes)


def test_lane_memory_limit(mtest, tmp_path):
    """A test that allocates past its lane's limit is ended by the kernel
    in its lane's cgroup only (memory.oom.group) and its verdict says so;
    the other lane's tests pass; the next worker of its lane runs the rest."""
    conf = tmp_path / "mtest.conf"
    conf.write_text("lane_memory_max = 256M\n")
    # First whether the limit holds here: never a hog without one.
    need_memory(mtest("allpass", env={"MTEST_CONFIG": str(conf)}))
    env = {"MTEST_CONFIG": str(conf), "MEMLIMIT_PEAK_MIB": "128"}
    if HEAPCHECK:
        env.update(LD_PRELOAD=HEAPCHECK, MTEST_HEAPCHECK_OUT=str(tmp_path / "heapcheck.txt"))
    run = mtest("memlimit", "-j", "2", env=env)
    need_memory(run)
    assert run.verdicts == expected("memlimit"), run.stdout
    hog = run.record("test_a_mem.py::test_hog")
    assert hog["detail"].startswith("lane limit 256 MiB, peak "), hog
    peak = int(hog["detail"].split("peak ")[1].split(" ")[0])
    assert 200 <= peak <= 256, hog
    assert hog["mem_peak_kib"] >= 200 * MIB
    bundle = run.bundle("test_a_mem.py::test_hog")
    assert "verdict:   crashed (out of memory)\n" in bundle
    assert "detail:    lane limit 256 MiB, peak %d MiB\n" % peak in bundle
    assert "memory:    peak %d MiB (lane limit 256 MiB)\n" % peak in bundle
    grew = mem_peak(run, "test_a_mem.py::test_peak") - mem_peak(run, "test_a_mem.py::test_noop")
    assert abs(grew - 128 * MIB) <= 0.1 * 128 * MIB, grew
    assert "crashed  test_a_mem.py::test_hog (out of memory)" in run.stdout
    report = run.report().stdout
    assert "out of memory: lane limit 256 MiB, peak %d MiB" % peak in report
    heavy = report.split("## heaviest tests (peak memory)\n\n", 1)[1].split("\n")
    assert heavy[0] == "- %8s  test_a_mem.py::test_hog (crashed)" % ("%d MiB" % peak), report
    # The OOM's accounting allocates nothing either (tests/heapcheck.c).
    if HEAPCHECK:
        assert (tmp_path / "heapcheck.txt").read_text().startswith("allocations 0 ")


def test_limits_applied_or_said_once(mtest, tmp_path):
    """A limit is applied where the memory controller is, and said once
    where it is not (a run event, never a stop); with cgroups off, too."""
    conf = tmp_path / "mtest.conf"
    conf.write_text("lane_memory_max = 256M\n")
    for extra in ({}, {"MTEST_CGROUP": "off"}):
        run = mtest("allpass", env=dict(extra, MTEST_CONFIG=str(conf)))
        assert run.code == 0, run.stdout + run.stderr
        processes = run.of_type("run_start")[0]["processes"]
        said = [e["text"] for e in run.of_type("event") if e["what"] == "cgroup"]
        if "lane memory limit 256 MiB" in processes:
            assert said == []
        elif processes.startswith(HELD):
            assert len(said) == 1 and said[0].startswith("memory limits not applied: "), said
        else:
            assert said == ["limits not applied: " + processes[len("found through /proc ("):-1]]
