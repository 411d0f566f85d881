"""Exclusive groups (docs/planning.md): two tests of one group never run on
two lanes at once. tests/suites/groups has the audio group by its marker
(test_alsa_a.py) and by the config's group.audio (test_alsa_b.py); each of
its tests holds the one card (a lock file made with O_EXCL) and fails at
once if another holds it, so an overlap cannot pass: proved from the
records' start and end times too."""

from datetime import datetime

import pytest

from conftest import MTEST, expected, _env

import subprocess

AUDIO = ["test_alsa_a.py::test_playback", "test_alsa_a.py::test_capture",
         "test_alsa_b.py::test_mixer", "test_alsa_b.py::test_loopback"]


def when(stamp):
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")


def config(tmp_path, text="group.audio = test_alsa_b*.py\n"):
    path = tmp_path / "mtest.conf"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("dist", ["file", "test"])
def test_group_never_on_two_lanes_at_once(mtest, tmp_path, dist):
    run = mtest("groups", "-j", "2", "--dist", dist, "--config", config(tmp_path),
                env={"E2E_LOCKDIR": str(tmp_path)})
    assert run.code == 0, run.stdout + run.stderr
    assert run.verdicts == expected("groups")
    spans = sorted((when(run.record(t)["start"]), when(run.record(t)["end"]), t) for t in AUDIO)
    for (_, end, a), (start, _, b) in zip(spans, spans[1:]):
        assert end <= start, "%s and %s overlap" % (a, b)
    # The plan gave the group one lane; the other lane had other work.
    assert len({run.record(t)["lane"] for t in AUDIO}) == 1
    assert len({r["lane"] for r in run.of_type("test")}) == 2
    notes = [e["text"] for e in run.of_type("event") if e["what"] == "plan"]
    assert "exclusive group, each on one lane at a time: audio (4 tests)" in notes


def test_without_the_group_the_card_is_fought_for(mtest, tmp_path):
    """The control: the same suite without its group overlaps under -j 2,
    and the fixture says so (the test above could fail)."""
    run = mtest("groups", "-j", "2", "--config", "/dev/null",
                env={"E2E_LOCKDIR": str(tmp_path), "E2E_GROUPS": "off"})
    busy = [t for t in AUDIO if run.verdicts[t][0] == "failed"]
    assert busy, run.stdout
    assert "the card is busy" in run.bundle(busy[0])


@pytest.mark.parametrize("line,error", [
    ("group. = x.py", "group.: a group's name is 1 to 63 of A-Z a-z 0-9 _ . -"),
    ("group.a b = x.py", "group.a b: a group's name is 1 to 63 of A-Z a-z 0-9 _ . -"),
    ("group.audio =", "group.audio: want file or node id patterns (tests/test_alsa*.py)"),
])
def test_bad_group_key(tmp_path, line, error):
    path = config(tmp_path, line + "\n")
    proc = subprocess.run([MTEST, "--config", path, "--state-dir", str(tmp_path / "s")],
                          capture_output=True, text=True, env=_env({}), timeout=60)
    assert proc.returncode == 4
    assert proc.stderr == "mtest: %s:1: %s\n" % (path, error)
