"""The box's units and package on a box without a board (issue 20): the LED
daemon says "no board" once and stays down, nothing else starts it, and the
package's postinst does not start it until a board is set. make check-box
shows the same under a real systemd (docs/box.md)."""

import os
import subprocess
from pathlib import Path

import pytest

from conftest import MTEST, ROOT, _env

UNITS = ROOT / "tools" / "systemd"
BUILD = Path(MTEST).resolve().parent


def unit_settings(name):
    """{key: [values]} of a unit file's assignments (all sections)."""
    out = {}
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_led_daemon_without_a_board_says_so_once_and_the_unit_does_not_restart_it():
    env = _env({})
    env.pop("MTEST_BOARD", None)
    r = subprocess.run([MTEST, "led"], capture_output=True, text=True, env=env, timeout=60)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no board" in lines[0], r.stderr
    led = unit_settings("mtest-led.service")
    assert led["Restart"] == ["on-failure"]
    # The exit code the daemon gives is one systemd will not restart on.
    prevent = " ".join(led.get("RestartPreventExitStatus", [])).split()
    assert str(r.returncode) in prevent, (r.returncode, prevent)


def test_no_other_unit_pulls_in_the_led_daemon():
    # A box without LEDs leaves mtest-led.service disabled; a Wants= from the
    # nightly run or the resume would start it every night anyway.
    for name in ("mtest-nightly.service", "mtest-resume.service", "mtest-nightly.timer"):
        s = unit_settings(name)
        for key in ("Wants", "Requires", "BindsTo", "Requisite", "Upholds"):
            assert "mtest-led.service" not in " ".join(s.get(key, [])), (name, key)


@pytest.fixture(scope="module")
def postinst(tmp_path_factory):
    """The postinst of the package make deb builds."""
    if os.environ.get("MTEST_SANITIZED"):
        pytest.skip("a sanitizer build is not packaged")
    r = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT),
                        "BUILD=" + os.path.relpath(BUILD, ROOT), "deb"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    deb = Path(r.stdout.strip().splitlines()[-1])
    deb = deb if deb.is_absolute() else ROOT / deb
    ctrl = tmp_path_factory.mktemp("ctrl")
    subprocess.run(["dpkg-deb", "-e", str(deb), str(ctrl)], check=True)
    return ctrl / "postinst"


def run_postinst(postinst, tmp_path, conf, *args):
    """Runs it as dpkg would on a systemd box (DPKG_ROOT a fake root with
    /run/systemd/system and the config), with a systemctl that only logs;
    returns (its stdout, the systemctl calls)."""
    root = tmp_path / "root"
    (root / "run/systemd/system").mkdir(parents=True)
    (root / "etc/mtest").mkdir(parents=True)
    (root / "etc/mtest/mtest.conf").write_text(conf)
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "systemctl.log"
    (bin_ / "systemctl").write_text('#!/bin/sh\necho "$*" >> %s\n' % log)
    (bin_ / "systemctl").chmod(0o755)
    env = dict(os.environ, DPKG_ROOT=str(root), PATH="%s:%s" % (bin_, os.environ["PATH"]))
    r = subprocess.run(["sh", str(postinst), *args], capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    return r.stdout, calls


def test_postinst_without_a_board_leaves_the_led_daemon_off(postinst, tmp_path):
    conf = (ROOT / "tools" / "mtest.conf").read_text()  # the shipped config: no board
    out, calls = run_postinst(postinst, tmp_path, conf, "configure", "")
    assert any("enable" in c and "mtest-nightly.timer" in c for c in calls), calls
    assert not [c for c in calls if "mtest-led" in c], calls
    assert "no board" in out and "systemctl enable --now mtest-led.service" in out, out


def test_postinst_with_a_board_starts_the_led_daemon(postinst, tmp_path):
    conf = (ROOT / "tools" / "mtest.conf").read_text() + "board = gpio-sim\n"
    out, calls = run_postinst(postinst, tmp_path, conf, "configure", "")
    assert "enable mtest-led.service" in calls and "start mtest-led.service" in calls, calls
    assert "no board" not in out


def test_postinst_upgrade_restarts_only_a_running_daemon(postinst, tmp_path):
    conf = (ROOT / "tools" / "mtest.conf").read_text()
    out, calls = run_postinst(postinst, tmp_path, conf, "configure", "0.1.0")
    led = [c for c in calls if "mtest-led" in c]
    assert led == ["try-restart mtest-led.service"], calls
