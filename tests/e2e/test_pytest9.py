"""The plugin on pytest 9 (issue 11), fetched from Debian unstable by
tools/fetch-pytest9: the ordinary outcomes as on pytest 7 and 8, and core
subtests, each collected item keeping exactly one verdict with its subtests'
failures in its failure text."""

import subprocess

import pytest

from conftest import ROOT, expected

_PATH = []


def pytest9():
    if not _PATH:
        r = subprocess.run([str(ROOT / "tools" / "fetch-pytest9")], capture_output=True,
                           text=True, timeout=600)
        _PATH.append(r.stdout.strip() if r.returncode == 0 else "")
        if r.returncode != 0:
            _PATH.append(r.stderr.strip())
    if not _PATH[0]:
        pytest.skip("no pytest 9 here: " + _PATH[1])
    return {"PYTHONPATH": _PATH[0]}


def test_ordinary_outcomes(mtest):
    run = mtest("basic", env=pytest9())
    assert run.of_type("worker")[0]["pytest"].startswith("9."), run.of_type("worker")
    assert run.verdicts == expected("basic")


def test_subtests_one_verdict_per_item(mtest):
    run = mtest("subtests", env=pytest9())
    assert run.verdicts == expected("subtests")
    one = run.record("test_subtests.py::test_one_subtest_fails")
    assert one["detail"].startswith("subtest [check] (i='1'): test_subtests.py:15: "
                                    "AssertionError: subtest one fails"), one["detail"]
    both = run.bundle("test_subtests.py::test_subtest_fails_then_the_test_fails")
    assert "the first subtest fails" in both and "then the test itself" in both
